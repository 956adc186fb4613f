from django.utils.cache import patch_cache_control
from django.utils.module_loading import import_string

from lendingsite.http import is_trusted_proxy


def forwarded_proto_from_trusted_proxies(get_response):
    """Drop ``X-Forwarded-Proto`` unless a trusted proxy (``TRUSTED_PROXIES``) sent it.

    Django believes the header (``SECURE_PROXY_SSL_HEADER``) to decide whether a request
    came over HTTPS: from anyone else it would let plain HTTP pass for HTTPS. Runs
    before ``SecurityMiddleware``.
    """

    def middleware(request):
        if not is_trusted_proxy(request.META.get("REMOTE_ADDR", "")):
            request.META.pop("HTTP_X_FORWARDED_PROTO", None)
        return get_response(request)

    return middleware


def api_no_store(get_response):
    """Mark every API response ``Cache-Control: no-store``.

    API answers carry tokens, balances and loans: no browser or shared cache may keep
    them (OWASP API8, security misconfiguration).
    """

    def middleware(request):
        response = get_response(request)
        if request.path.startswith("/api/") and not response.has_header("Cache-Control"):
            patch_cache_control(response, no_store=True)
        return response

    return middleware


# The middleware that serves browsers (the admin, the dashboard, the API's docs): a
# bearer-token API call has no session, no Django user before DRF authenticates it (nor
# a second factor) and no messages, so on the API it is skipped. CSRF and the security
# and frame headers stay on every request (DRF's views are CSRF-exempt, which costs
# CSRF's middleware nothing).
BROWSER_MIDDLEWARE = (
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): whether this session passed the second factor.
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
)
# API paths that are pages for a browser (Swagger UI and its schema) keep it.
API_PAGES = ("/api/docs", "/api/schema")


def is_api_call(path: str) -> bool:
    return path.startswith("/api/") and not path.startswith(API_PAGES)


class BrowserMiddleware:
    """``BROWSER_MIDDLEWARE``, in that order, for every request but API calls.

    One entry in ``settings.MIDDLEWARE`` standing for the four: it builds their chain
    once, sends browser requests through it and API calls straight on (none of the four
    has a view, exception or template hook that would run outside that chain). Measured
    in docs/BENCHMARKS.md.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        chain = get_response
        for path in reversed(BROWSER_MIDDLEWARE):
            middleware = import_string(path)(chain)
            assert not hasattr(middleware, "process_view"), path
            chain = middleware
        self.browser = chain

    def __call__(self, request):
        if is_api_call(request.path_info):
            return self.get_response(request)
        return self.browser(request)
