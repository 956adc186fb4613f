from django.http import JsonResponse

from accounts.login_throttle import Refusal


def lockout_response(refusal: Refusal) -> JsonResponse:
    """Answer a login refused by the failed-login limits with JSON 429 and Retry-After."""
    response = JsonResponse(
        {
            "detail": (
                f"Too many failed login attempts for {refusal.reason}. "
                f"Try again in {refusal.retry_after} seconds."
            ),
            "code": "throttled",
            "retry_after": refusal.retry_after,
        },
        status=429,
    )
    response["Retry-After"] = str(refusal.retry_after)
    return response
