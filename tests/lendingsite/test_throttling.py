"""The sliding-window throttle: counts, the window's slide, Retry-After, one round trip."""

import pytest
from django.core.cache import cache

from lendingsite.throttling import parse_rate, window_hit

REDIS = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/5",
        "KEY_PREFIX": "throttle-test",
    }
}


@pytest.fixture(params=["redis", "locmem"])
def any_cache(request, settings):
    if request.param == "redis":
        settings.CACHES = REDIS
    cache.clear()
    yield request.param
    cache.clear()


@pytest.mark.parametrize(
    ("rate", "expected"),
    [
        ("1200/minute", (1200, 60)),
        ("3/second", (3, 1)),
        ("10/hour", (10, 3600)),
        ("5/day", (5, 86400)),
    ],
)
def test_rates_read_as_count_and_window(rate, expected):
    assert parse_rate(rate) == expected


def test_hits_count_in_their_window_and_the_previous_is_read(any_cache):
    # Window of 60 s; 600 = the start of window 10.
    assert window_hit("k", window=60, now=600.0) == (1, 0)
    assert window_hit("k", window=60, now=659.9) == (2, 0)
    # Window 11: its own count starts again; window 10's two are the previous.
    assert window_hit("k", window=60, now=660.0) == (1, 2)
    # Window 13: window 12 had nothing.
    assert window_hit("k", window=60, now=780.0) == (1, 0)
    # Another key is another caller.
    assert window_hit("other", window=60, now=600.0) == (1, 0)


@pytest.mark.django_db
def test_the_previous_window_weighs_by_how_much_of_it_still_overlaps(settings):
    """3/minute. Three calls at the end of one window: the next window's first call sees
    3 x (1 - 0/60) + 1 = 4 > 3, refused; half a window later, 3 x 0.5 + 1 = 2.5 ≤ 3."""
    from unittest.mock import patch

    from rest_framework.test import APIClient

    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "3/minute", "user": "1000/minute"},
    }
    cache.clear()
    client = APIClient()

    def call_at(t: float) -> int:
        with patch("lendingsite.throttling.time.time", return_value=t):
            return client.post("/api/auth/refresh", {"refresh_token": "x"}).status_code

    assert [call_at(659.0) for _ in range(3)] == [401, 401, 401]
    refused = None
    with patch("lendingsite.throttling.time.time", return_value=660.0):
        refused = client.post("/api/auth/refresh", {"refresh_token": "x"})
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    # The refused call counted: window 11 holds 1. At 700 s the call makes 2, and
    # 3 x (1 - 40/60) + 2 = 3.0 ≤ 3 passes; at 701 s, 3 x (1 - 41/60) + 3 = 3.95 > 3.
    assert call_at(700.0) == 401
    assert call_at(701.0) == 429
