"""Read-your-writes with a lagging replica: pin a client to the primary after it writes.

After a request that may have written (any method but GET, HEAD, OPTIONS, TRACE), the
user and the client address are remembered in Django's cache for ``REPLICA_PIN_SECONDS``;
while remembered, their reads go to the primary (see :mod:`lendingsite.db_router`).

The pins must be seen by every app instance, so they need a shared cache (Redis). The
cache is allowed to be down or to lose its data, so a marker key records since when the
cache has been keeping pins: while it is missing, or younger than one pin lifetime, nobody
is known to be unpinned and every read goes to the primary.
"""

import logging
import time

from django.conf import settings
from django.core.cache import cache

from lendingsite.db_router import pinned_check, replica_configured
from lendingsite.http import client_ip

logger = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
MARKER_KEY = "dbpin:since"


def _user_key(user_id) -> str:
    return f"dbpin:user:{user_id}"


def _ip_key(ip: str) -> str:
    return f"dbpin:ip:{ip}"


def _request_keys(request) -> list[str]:
    keys = [_ip_key(client_ip(request))]
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        keys.append(_user_key(user.pk))
    return keys


def client_is_pinned(request) -> bool:
    """True when this client wrote within the pin lifetime, or when that cannot be known."""
    keys = _request_keys(request)
    found = cache.get_many([MARKER_KEY, *keys])
    since = found.get(MARKER_KEY)
    if since is None or time.time() - since < settings.REPLICA_PIN_SECONDS:
        # The cache lost its pins (restart, eviction) or cannot be reached: play safe.
        cache.add(MARKER_KEY, time.time(), timeout=None)
        return True
    return any(key in found for key in keys)


def pin_client(request) -> None:
    cache.add(MARKER_KEY, time.time(), timeout=None)
    cache.set_many(dict.fromkeys(_request_keys(request), 1), timeout=settings.REPLICA_PIN_SECONDS)


class ReplicaPinningMiddleware:
    """Install the per-request pin check, and pin the client after a write."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not replica_configured():
            return self.get_response(request)

        answer: list[bool] = []

        def check() -> bool:
            # Asked lazily, at the first read that could go to the replica: by then the
            # API view has authenticated the caller, so request.user is known.
            if not answer:
                answer.append(client_is_pinned(request))
            return answer[0]

        with pinned_check(check):
            response = self.get_response(request)
        if request.method not in SAFE_METHODS:
            # Whatever the status: a failed response may still follow a committed write.
            pin_client(request)
        return response
