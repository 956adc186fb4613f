"""API throttling: counters live in Django's cache (Redis when ``REDIS_URL`` is set).

The counters are best effort: when Redis is down the cache answers nothing and requests
pass, while nginx's per-client limit in front still holds. Rates are read at each
request from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``.
"""

from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from lendingsite.http import client_ip


class _LiveRatesMixin:
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_ident(self, request):
        return client_ip(request)


class ClientAnonRateThrottle(_LiveRatesMixin, AnonRateThrottle):
    """Anonymous callers, counted per client address (behind the proxy)."""


class ClientUserRateThrottle(_LiveRatesMixin, UserRateThrottle):
    """Signed-in callers, counted per user (anonymous ones per client address)."""
