"""OWASP API4, unrestricted resource consumption: limits that a client cannot dodge.

Anonymous throttling per client behind the proxy is in tests/lendingsite; here: forged
address headers from an untrusted peer, and per-user limits.
"""

import pytest
from rest_framework.test import APIClient

from tests.accounts.factories import BorrowerFactory
from tests.conftest import client_for


@pytest.fixture
def low_limits(settings):
    settings.TRUSTED_PROXIES = []
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "3/minute", "user": "5/minute"},
    }


def _forged(n: int) -> dict:
    address = f"203.0.113.{n}"
    return {"HTTP_X_FORWARDED_FOR": address, "HTTP_X_REAL_IP": address}


def _assert_throttled(response):
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert isinstance(response.json()["detail"], str)
    assert int(response["Retry-After"]) > 0


@pytest.mark.django_db
def test_forged_address_headers_do_not_reset_the_anonymous_count(low_limits):
    client = APIClient()
    answers = [client.post("/api/auth/register", {}, **_forged(n)).status_code for n in range(3)]

    assert answers == [400, 400, 400]
    _assert_throttled(client.post("/api/auth/register", {}, **_forged(99)))


@pytest.mark.django_db
def test_signed_in_users_are_limited_each_on_their_own(low_limits):
    first, second = client_for(BorrowerFactory()), client_for(BorrowerFactory())
    for _ in range(5):
        assert first.get("/api/wallet/balance").status_code == 200

    _assert_throttled(first.get("/api/wallet/balance"))
    assert second.get("/api/wallet/balance").status_code == 200


@pytest.mark.django_db
def test_forged_address_headers_do_not_dodge_the_login_lockout(api_client, settings):
    settings.TRUSTED_PROXIES = []
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 3
    for n in range(3):
        api_client.post(
            "/api/auth/login", {"email": f"nobody{n}@example.com", "password": "x"}, **_forged(n)
        )

    response = api_client.post(
        "/api/auth/login", {"email": "someone-else@example.com", "password": "x"}, **_forged(9)
    )

    assert response.status_code == 429
    assert response["Retry-After"]
