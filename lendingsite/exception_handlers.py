"""Every API error becomes a JSON response here, and only here.

The body always carries a human-readable string ``detail`` (clients show it as it is)
and a machine-readable ``code``; field errors are added under their field names.
"""

import logging

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.urls import reverse
from django.views import defaults
from django_fsm import TransitionNotAllowed
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler

from lendingsite.exceptions import ApplicationError

logger = logging.getLogger(__name__)

# The database (or PgBouncer in front of it) is unreachable, restarting or refused the
# statement for a transient reason: nothing was committed, and the client may retry.
DATABASE_UNAVAILABLE_ERRORS = (OperationalError, InterfaceError)
DATABASE_RETRY_AFTER_SECONDS = 5
DATABASE_UNAVAILABLE_BODY = {
    "detail": "The service is temporarily unavailable. Nothing was changed; try again shortly.",
    "code": "service_unavailable",
}


def _first_message(errors) -> str:
    if isinstance(errors, dict):
        for value in errors.values():
            return _first_message(value)
        return ""
    if isinstance(errors, list | tuple):
        return _first_message(errors[0]) if errors else ""
    return str(errors)


def validation_error_body(errors) -> dict:
    """Flatten DRF's error structure into ``{detail, code, <field>: [..]}``."""
    if not isinstance(errors, dict):
        return {"detail": _first_message(errors), "code": "invalid"}
    parts = []
    body: dict = {}
    for field, messages in errors.items():
        message = _first_message(messages)
        if field in ("non_field_errors", "__all__"):
            parts.append(message)
        else:
            parts.append(f"{field}: {message}")
            body[field] = messages
    return {"detail": "; ".join(parts) or "Invalid input.", "code": "invalid", **body}


def domain_error_response(exc: Exception) -> Response | None:
    """The response for a business refusal, or None when ``exc`` is not one.

    Business refusals are deterministic: the idempotency layer stores and replays them.
    """
    if isinstance(exc, ApplicationError):
        body = {"detail": exc.message, "code": exc.code, **exc.extra}
        return Response(body, status=exc.status_code, headers=exc.headers)
    if isinstance(exc, TransitionNotAllowed):
        return Response(
            {
                "detail": f"This action is not allowed in the current state: {exc}",
                "code": "conflict",
            },
            status=status.HTTP_409_CONFLICT,
        )
    return None


def api_exception_handler(exc, context):
    if isinstance(exc, DATABASE_UNAVAILABLE_ERRORS):
        logger.warning("Database unavailable: %s", exc)
        response = Response(DATABASE_UNAVAILABLE_BODY, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
        return response
    response = domain_error_response(exc)
    if response is not None:
        return response
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        return Response(
            {"detail": "Request body is too large.", "code": "too_large"},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # unexpected: handler500 answers with JSON and the error is logged

    if isinstance(exc, exceptions.ValidationError):
        response.data = validation_error_body(exc.detail)
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        response.data = {
            "detail": _first_message(detail),
            "code": codes if isinstance(codes, str) else "error",
        }
    return response


def _json_error(status_code: int, detail: str, code: str):
    return JsonResponse({"detail": detail, "code": code}, status=status_code)


# Django-level handlers (wired in urls.py) so that errors raised outside DRF views
# (unknown URLs, oversized bodies, crashes) are JSON too; under /admin/, 403 and 404 are
# the back office's HTML pages.
def bad_request(request, exception=None):
    if isinstance(exception, RequestDataTooBig):
        return _json_error(413, "Request body is too large.", "too_large")
    return _json_error(400, "Bad request.", "bad_request")


def _in_back_office(request) -> bool:
    """Tell whether the request is for the admin, whose pages are HTML for people."""
    return request.path.startswith(reverse("admin:index"))


def permission_denied(request, exception=None):
    if _in_back_office(request):
        return defaults.permission_denied(request, exception, template_name="admin/403.html")
    return _json_error(403, "You do not have permission to perform this action.", "forbidden")


def not_found(request, exception=None):
    if _in_back_office(request):
        return defaults.page_not_found(request, exception, template_name="admin/404.html")
    return _json_error(404, "Not found.", "not_found")


def server_error(request):
    return _json_error(500, "Internal server error. The operation was not applied.", "server_error")


class DatabaseUnavailableMiddleware:
    """Answer 503 (not 500) when a non-API view meets an unreachable database."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, DATABASE_UNAVAILABLE_ERRORS):
            return None
        logger.warning("Database unavailable: %s", exception)
        response = JsonResponse(DATABASE_UNAVAILABLE_BODY, status=503)
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
        return response
