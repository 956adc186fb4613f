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

Transactions: ``idempotent_response`` opens the request's transaction, undivided
(``lendingsite.db.undivided_transaction``): the key's lock and stored answer are read
in one statement, the operation (a money-moving service) runs without a savepoint of
its own, and the record is inserted after it: the money and its record commit
together or not at all. A business refusal rolls all of it back, and is stored in a
second transaction. Services state this in their docstrings ("runs in the caller's
transaction"). A view gets all of this by subclassing ``IdempotentApi``.
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
from lendingsite.db import insert_unless_conflict, undivided_transaction
from lendingsite.exception_handlers import domain_error_response
from lendingsite.http import REPLAYED_HEADER

# Errors of the key itself (in flight, reused with another body): answered, never stored.
IDEMPOTENCY_ERRORS = (IdempotencyKeyInFlightError, IdempotencyKeyReusedError)

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


# Returns (status, body, the journal entry or its id, or None).
Operation = Callable[[], tuple[int, dict, object | None]]

# The key's lock and its stored answer, in one statement. The snapshot is taken before
# the lock is tried, so a request holding the key that commits in between is missed:
# this one then runs too and meets the UNIQUE key when it stores its answer (409,
# everything rolled back; the retry gets the stored answer). Rare, and never a second
# movement of money.
CLAIM_SQL = """
    SELECT pg_try_advisory_xact_lock(%s), r.fingerprint, r.response_status, r.response_body
    FROM (SELECT 1) AS one
    LEFT JOIN idempotency_idempotencyrecord r
        ON r.user_id = %s AND r.endpoint = %s AND r.key = %s
"""


def _in_flight() -> IdempotencyKeyInFlightError:
    return IdempotencyKeyInFlightError(
        "A request with this idempotency key is still being processed; retry shortly.",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def _claim(*, user, endpoint: str, key: str, request_fingerprint: str) -> Response | None:
    """Take the key's lock; the stored answer to replay, or None: the operation may run."""
    with connection.cursor() as cursor:
        cursor.execute(
            CLAIM_SQL, [_advisory_lock_id(user.pk, endpoint, key), user.pk, endpoint, key]
        )
        acquired, stored_fingerprint, stored_status, stored_body = cursor.fetchone()
    if not acquired:
        raise _in_flight()
    if stored_fingerprint is None:
        return None
    if stored_fingerprint != request_fingerprint:
        raise IdempotencyKeyReusedError(
            "This idempotency key was already used with a different request body."
        )
    if isinstance(stored_body, str):  # a jsonb column read by a plain cursor
        stored_body = json.loads(stored_body)
    response = Response(stored_body, status=stored_status)
    response[REPLAYED_HEADER] = "true"
    return response


def _store(*, user, endpoint, key, request_fingerprint, status, body, entry) -> None:
    record = IdempotencyRecord(
        user=user,
        endpoint=endpoint,
        key=key,
        fingerprint=request_fingerprint,
        response_status=status,
        response_body=body,
        entry_id=getattr(entry, "pk", entry),
        created_at=timezone.now(),
    )
    # A conflict here means the advisory lock was bypassed: refuse, roll back all.
    if not insert_unless_conflict(record, conflict_columns=("user_id", "endpoint", "key")):
        raise _in_flight()


def idempotent_response(
    *, user, endpoint: str, key: str, payload: dict, operation: Operation
) -> Response:
    """Run ``operation`` at most once per (user, endpoint, key) and return its response.

    ``operation`` returns ``(status, body, entry)``. It runs in an undivided transaction
    (``lendingsite.db.undivided_transaction``: no savepoint) with the key's lock and
    the stored answer. A business refusal rolls all of it back; the refusal is then
    stored in a transaction of its own, which takes the key's lock again (a request
    with the same key may have run meanwhile: its answer is the one returned).
    """
    request_fingerprint = fingerprint(payload)
    claim = {
        "user": user,
        "endpoint": endpoint,
        "key": key,
        "request_fingerprint": request_fingerprint,
    }
    try:
        with undivided_transaction():
            replay = _claim(**claim)
            if replay is not None:
                return replay
            status, body, entry = operation()
            _store(**claim, status=status, body=body, entry=entry)
        return Response(body, status=status)
    except IDEMPOTENCY_ERRORS:
        raise
    except Exception as exc:
        refusal = domain_error_response(exc)
        if refusal is None:
            raise  # unexpected: everything rolled back, the key included
    with transaction.atomic():
        replay = _claim(**claim)
        if replay is not None:
            return replay
        _store(**claim, status=refusal.status_code, body=refusal.data, entry=None)
    return Response(refusal.data, status=refusal.status_code)


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

        Runs inside the request's transaction: a business refusal raised here rolls
        back everything it wrote, and is stored as the answer to the key.
        """
        raise NotImplementedError
