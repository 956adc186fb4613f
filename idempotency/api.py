"""Idempotency for every money-moving endpoint: the one contract, and its wrapper.

A client sends a key (body field ``idempotency_key`` or header ``Idempotency-Key``, at
most 255 characters) with each money-moving request. Keys belong to a user and an
endpoint. The rules, after the IETF Idempotency-Key draft, Stripe and TigerBeetle:

- first request with a key: the operation runs; its outcome (success, or a business
  refusal such as insufficient funds) is stored with a fingerprint of the request body
  in the same transaction as the money movement;
- retry with the same key and body: the stored status and body are returned with
  ``Idempotent-Replayed: true``, and no money moves;
- same key, different body: 422; key still being processed by another request: 409
  with ``Retry-After``;
- an unexpected error rolls back everything, the stored key included, so a retry runs
  again.

- scope: a key belongs to (user, endpoint); the same key on another endpoint, or sent
  by another user, is another key. The fingerprint is the SHA-256 of the validated body
  without the key, in canonical JSON (sorted keys, decimals as written);
- retention: records are kept ``IDEMPOTENCY_KEY_RETENTION_HOURS`` (72 by default, at
  least 24); ``manage.py purge_idempotency_keys`` deletes older ones.

Concurrency: a transaction-scoped advisory lock on (user, endpoint, key) detects a
request in flight without waiting for it; the UNIQUE (user, endpoint, key) constraint
is the backstop. Both work under PgBouncer's transaction pooling.

Transactions: ``idempotent_response`` opens the request's transaction. The operation
(a money-moving service) runs inside it, in a savepoint, and the record is inserted
after it in the same transaction: the money and its record commit together or not at
all. Services state this in their docstrings ("runs in the caller's transaction").
A view gets all of this by subclassing ``IdempotentApi``.
"""

import hashlib
import json
from collections.abc import Callable
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from idempotency.exceptions import (
    IdempotencyKeyError,
    IdempotencyKeyInFlightError,
    IdempotencyKeyReusedError,
)
from idempotency.models import IdempotencyRecord
from lendingsite.db import insert_unless_conflict
from lendingsite.exception_handlers import domain_error_response
from lendingsite.http import REPLAYED_HEADER

KEY_FIELD = "idempotency_key"
KEY_HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
RETRY_AFTER_SECONDS = 1

# For the schema of every money-moving endpoint.
IDEMPOTENCY_KEY_HEADER = OpenApiParameter(
    KEY_HEADER,
    str,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "The idempotency key, when it is not in the body's `idempotency_key` "
        f"(one of the two is required; at most {MAX_KEY_LENGTH} characters)."
    ),
)


def idempotency_key_from(request) -> str:
    body_key = request.data.get(KEY_FIELD) if hasattr(request.data, "get") else None
    header_key = request.headers.get(KEY_HEADER)
    if body_key is not None and header_key is not None and str(body_key) != header_key:
        raise IdempotencyKeyError(
            "The idempotency key in the body and in the Idempotency-Key header differ.",
            extra={KEY_FIELD: ["Differs from the Idempotency-Key header."]},
        )
    key = body_key if body_key is not None else header_key
    if not isinstance(key, str) or not key.strip():
        raise IdempotencyKeyError(
            "An idempotency key is required: send 'idempotency_key' in the body "
            "or an Idempotency-Key header.",
            extra={KEY_FIELD: ["This field is required."]},
        )
    if len(key) > MAX_KEY_LENGTH:
        raise IdempotencyKeyError(
            f"The idempotency key is longer than {MAX_KEY_LENGTH} characters.",
            extra={KEY_FIELD: [f"Ensure this field has no more than {MAX_KEY_LENGTH} characters."]},
        )
    return key


def _canonical(value):
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items() if k != KEY_FIELD}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if hasattr(value, "pk"):
        return value.pk
    return value


def fingerprint(payload: dict) -> str:
    canonical = json.dumps(_canonical(payload), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _advisory_lock_id(*parts) -> int:
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


# Returns (status, body, journal entry or None).
Operation = Callable[[], tuple[int, dict, object | None]]


def idempotent_response(
    *, user, endpoint: str, key: str, payload: dict, operation: Operation
) -> Response:
    """Run ``operation`` at most once per (user, endpoint, key) and return its response.

    ``operation`` returns ``(status, body, entry)``; it runs in a savepoint so that a
    business refusal rolls back its writes while the refusal itself is recorded.
    """
    request_fingerprint = fingerprint(payload)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_try_advisory_xact_lock(%s)", [_advisory_lock_id(user.pk, endpoint, key)]
            )
            (acquired,) = cursor.fetchone()
        if not acquired:
            raise IdempotencyKeyInFlightError(
                "A request with this idempotency key is still being processed; retry shortly.",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        record = IdempotencyRecord.objects.filter(user=user, endpoint=endpoint, key=key).first()
        if record is not None:
            if record.fingerprint != request_fingerprint:
                raise IdempotencyKeyReusedError(
                    "This idempotency key was already used with a different request body."
                )
            response = Response(record.response_body, status=record.response_status)
            response[REPLAYED_HEADER] = "true"
            return response

        try:
            with transaction.atomic():
                status, body, entry = operation()
        except Exception as exc:
            refusal = domain_error_response(exc)
            if refusal is None:
                raise  # unexpected: everything rolls back, the key included
            status, body, entry = refusal.status_code, refusal.data, None
        record = IdempotencyRecord(
            user=user,
            endpoint=endpoint,
            key=key,
            fingerprint=request_fingerprint,
            response_status=status,
            response_body=body,
            entry=entry,
            created_at=timezone.now(),
        )
        # A conflict here means the advisory lock was bypassed: refuse, roll back all.
        if not insert_unless_conflict(record, conflict_columns=("user_id", "endpoint", "key")):
            raise IdempotencyKeyInFlightError(
                "A request with this idempotency key is still being processed; retry shortly.",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
    return Response(body, status=status)


def optionally_idempotent_response(
    request, *, endpoint: str, payload: dict, operation: Operation
) -> Response:
    """Answer an officer's state-guarded action (a reversal): at most once per key when
    an ``Idempotency-Key`` header is sent (a retry gets the first answer), else run it
    once now in its own transaction (a second identical action is refused by the state
    it finds, 409)."""
    if request.headers.get(KEY_HEADER) is None:
        with transaction.atomic():
            status_code, body, _ = operation()
        return Response(body, status=status_code)
    return idempotent_response(
        user=request.user,
        endpoint=endpoint,
        key=idempotency_key_from(request),
        payload=payload,
        operation=operation,
    )


class IdempotentApi(APIView):
    """A money-moving POST, answered at most once per (user, ``endpoint``, key).

    Subclasses set ``endpoint`` (the key's scope) and ``InputSerializer`` (with an
    optional ``idempotency_key`` field), and implement ``perform``. The validated body
    without the key is the request's fingerprint.
    """

    endpoint = ""
    error_statuses = (409, 422)  # key in flight; key reused with another body
    InputSerializer: type[serializers.Serializer]

    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = {k: v for k, v in serializer.validated_data.items() if k != KEY_FIELD}
        key = idempotency_key_from(request)

        def operation():
            body, entry = self.perform(request, key=key, **data)
            return status.HTTP_201_CREATED, body, entry

        return idempotent_response(
            user=request.user, endpoint=self.endpoint, key=key, payload=data, operation=operation
        )

    def perform(self, request, *, key: str, **data) -> tuple[dict, object | None]:
        """Run the operation; return the response body (stored, replayed) and its entry.

        Runs inside the request's transaction, in a savepoint: a business refusal
        raised here is stored as the answer to the key, and everything it wrote is
        rolled back.
        """
        raise NotImplementedError
