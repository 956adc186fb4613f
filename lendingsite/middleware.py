from django.utils.cache import patch_cache_control


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
