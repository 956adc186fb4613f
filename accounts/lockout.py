from django.conf import settings
from django.http import JsonResponse

from accounts.emails import email_normalize


def lockout_response(request, original_response=None, credentials=None, *args, **kwargs):
    """Answer a locked-out login (too many failures for an email or an IP) with JSON 429."""
    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    response = JsonResponse(
        {
            "detail": "Too many failed login attempts. Try again later.",
            "code": "throttled",
            "retry_after": seconds,
        },
        status=429,
    )
    response["Retry-After"] = str(seconds)
    return response


def login_username(request, credentials=None) -> str | None:
    """The login (email) that failed attempts are counted against, whatever its case."""
    credentials = credentials or {}
    username = credentials.get("email") or credentials.get("username")
    if username is None:
        data = getattr(request, "data", None) or request.POST
        username = data.get("email") or data.get("username")
    return email_normalize(username) if isinstance(username, str) else None
