"""Request rate limits for the API (OWASP API4: unrestricted resource consumption).

Unauthenticated requests are counted per client address, authenticated ones per user;
the rates are settings (``API_THROTTLE_ANON``, ``API_THROTTLE_USER``) read at each
request. Counters live in Django's cache: shared by every process when ``REDIS_URL`` is
set, per process otherwise. Failed logins have their own, stricter lockout (django-axes).
"""

from django.conf import settings
from rest_framework import throttling


class _SettingsRateMixin:
    def get_rate(self):
        return settings.API_THROTTLE_RATES.get(self.scope)


class AnonRateThrottle(_SettingsRateMixin, throttling.AnonRateThrottle):
    """Requests without a user, per client address."""


class UserRateThrottle(_SettingsRateMixin, throttling.UserRateThrottle):
    """Requests of a signed-in user, per user."""
