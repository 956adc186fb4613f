"""Logs, error tracking: one JSON object per log line, each carrying the request id.

The request id comes from the ``X-Request-ID`` header that nginx sets (or is made up when
a request arrives without one) and is kept by django-guid for the duration of the request;
the ``request_id`` log filter copies it onto every record. Sentry is switched on by
``SENTRY_DSN``.
"""

import logging
import time

from django_guid import get_guid

access_logger = logging.getLogger("lendingsite.access")


class RequestIdFilter(logging.Filter):
    """Put the current request id (or ``None`` outside a request) on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = get_guid()
        return True


class AccessLogMiddleware:
    """Log one line per request: method, path, status, duration and the caller."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.monotonic()
        response = self.get_response(request)
        user = getattr(request, "user", None)
        access_logger.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.monotonic() - started) * 1000, 1),
                "user_id": user.pk if getattr(user, "is_authenticated", False) else None,
            },
        )
        return response


def sentry_init(
    *,
    dsn: str,
    environment: str,
    traces_sample_rate: float = 0.0,
    release: str | None = None,
    transport=None,
) -> None:
    """Report unhandled errors to Sentry (no personal data: no bodies, no cookies, no IPs)."""
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        integrations=[DjangoIntegration()],
        traces_sample_rate=traces_sample_rate,
        # No user identity, no request bodies (they carry passwords and amounts).
        data_collection={"user_info": False, "http_bodies": []},
        transport=transport,
    )
