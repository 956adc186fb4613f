from django.utils.cache import patch_cache_control

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
