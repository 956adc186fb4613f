"""API throttling: a sliding-window counter per caller, kept in the cache (Redis).

Each caller (a signed-in user, or an anonymous client address behind the proxy) has a
counter per window of the rate (e.g. per minute). A request adds one to the current
window's counter and reads the previous window's; the caller's rate is the previous
count weighted by how much of that window still overlaps the last full window, plus the
current count. Over the limit: 429 with ``Retry-After``. That is the usual "sliding
window counter": smooth at window edges (a fixed window would let twice the limit
through around a boundary) and one cache round trip per request (one pipelined INCR,
EXPIRE and GET on Redis). DRF's own throttles keep each caller's full list of request
times and read and rewrite it on every request: two round trips and a list of up to the
limit's length unpickled and pickled each time.

Refused requests count too, so a client that keeps hammering stays refused until it
slows down. The counters are best effort: with Redis down nothing is counted and
requests pass, while nginx's per-client limit in front still holds. Rates are read at
each request from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``.
"""

import time

from django.core.cache import cache
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from lendingsite.http import client_ip

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"1200/minute"`` → ``(1200, 60)``: the number of requests and the window in seconds."""
    count, period = rate.split("/")
    return int(count), _PERIODS[period[0]]


def window_hit(key: str, *, window: int, now: float) -> tuple[int, int]:
    """Count one request in ``key``'s current window; answer (this window, the previous).

    Both counters expire two windows after they start. On Redis this is one pipelined
    round trip; on another cache backend (development) it is three calls.
    """
    current = int(now // window)
    this_key, previous_key = f"{key}:{current}", f"{key}:{current - 1}"
    get_client = getattr(getattr(cache, "client", None), "get_client", None)
    try:
        if get_client is not None:
            this_key, previous_key = cache.make_key(this_key), cache.make_key(previous_key)
            pipe = get_client(write=True).pipeline(transaction=False)
            pipe.incr(this_key)
            pipe.expire(this_key, 2 * window, nx=True)
            pipe.get(previous_key)
            now_count, _, before = pipe.execute()
            return int(now_count), int(before or 0)
        cache.add(this_key, 0, timeout=2 * window)
        return cache.incr(this_key), int(cache.get(previous_key) or 0)
    except Exception:  # the cache is down: nothing can be counted
        return 0, 0


class SlidingWindowThrottle(BaseThrottle):
    """Limit a caller to the rate of ``scope`` over any window of the rate's length."""

    scope = ""

    def ident(self, request) -> str | None:
        raise NotImplementedError

    def allow_request(self, request, view) -> bool:
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        ident = self.ident(request)
        if rate is None or ident is None:
            return True
        limit, window = parse_rate(rate)
        now = time.time()
        this_count, previous_count = window_hit(
            f"throttle:{self.scope}:{ident}", window=window, now=now
        )
        left_of_previous = 1 - (now % window) / window
        if previous_count * left_of_previous + this_count <= limit:
            return True
        # Until enough of the previous window has slid out (or, if this window alone is
        # over the limit, until it ends).
        excess = previous_count * left_of_previous + this_count - limit
        slide = excess / previous_count * window if previous_count else window
        self._wait = max(1.0, min(slide, window - now % window + window))
        return False

    def wait(self) -> float | None:
        return getattr(self, "_wait", None)


class ClientAnonRateThrottle(SlidingWindowThrottle):
    """Anonymous callers, counted per client address (behind the proxy)."""

    scope = "anon"

    def ident(self, request) -> str | None:
        if request.user is not None and request.user.is_authenticated:
            return None
        return client_ip(request)


class ClientUserRateThrottle(SlidingWindowThrottle):
    """Signed-in callers, counted per user (anonymous ones per client address)."""

    scope = "user"

    def ident(self, request) -> str | None:
        if request.user is not None and request.user.is_authenticated:
            return f"user-{request.user.pk}"
        return f"address-{client_ip(request)}"
