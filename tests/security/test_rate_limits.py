"""OWASP API4, unrestricted resource consumption: requests are rate limited."""

import pytest
from rest_framework.test import APIClient

from tests.accounts.factories import BorrowerFactory
from tests.conftest import client_for


@pytest.fixture
def low_limits(settings):
    settings.API_THROTTLE_RATES = {"anon": "3/min", "user": "5/min"}


def _assert_throttled(response):
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert isinstance(response.json()["detail"], str)
    assert int(response["Retry-After"]) > 0


@pytest.mark.django_db
def test_anonymous_requests_are_limited_per_address(low_limits):
    client = APIClient()
    answers = [client.post("/api/auth/register", {}).status_code for _ in range(3)]

    assert answers == [400, 400, 400]
    _assert_throttled(client.post("/api/auth/register", {}))


@pytest.mark.django_db
def test_a_forged_forwarded_for_header_does_not_reset_the_count(low_limits):
    client = APIClient()
    for n in range(3):
        client.post("/api/auth/register", {}, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")

    _assert_throttled(client.post("/api/auth/register", {}, HTTP_X_FORWARDED_FOR="198.51.100.7"))


@pytest.mark.django_db
def test_signed_in_users_are_limited_each_on_their_own(low_limits):
    first, second = client_for(BorrowerFactory()), client_for(BorrowerFactory())
    for _ in range(5):
        assert first.get("/api/wallet/balance").status_code == 200

    _assert_throttled(first.get("/api/wallet/balance"))
    assert second.get("/api/wallet/balance").status_code == 200


@pytest.mark.django_db
def test_a_forged_forwarded_for_header_does_not_dodge_the_login_lockout(api_client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for n in range(3):
        api_client.post(
            "/api/auth/login",
            {"email": f"nobody{n}@example.com", "password": "wrong"},
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}",
        )

    response = api_client.post(
        "/api/auth/login",
        {"email": "someone-else@example.com", "password": "wrong"},
        HTTP_X_FORWARDED_FOR="198.51.100.9",
    )

    assert response.status_code == 429
    assert response["Retry-After"]
