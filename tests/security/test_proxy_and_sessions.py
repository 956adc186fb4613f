"""Headers only a trusted proxy may set, and how long an officer's admin session lasts."""

import pytest
from django.test import Client

from tests.accounts.factories import OfficerFactory


@pytest.fixture
def redirecting(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.TRUSTED_PROXIES = ["127.0.0.1"]


@pytest.mark.django_db
def test_a_forged_forwarded_proto_from_an_untrusted_peer_is_ignored(redirecting):
    """Believed from anyone, the header would mark plain HTTP requests as HTTPS."""
    response = Client(REMOTE_ADDR="203.0.113.9").get(
        "/api/business-date", HTTP_X_FORWARDED_PROTO="https"
    )

    assert response.status_code == 301
    assert response["Location"].startswith("https://")


@pytest.mark.django_db
def test_the_trusted_proxys_forwarded_proto_is_believed(redirecting):
    response = Client(REMOTE_ADDR="127.0.0.1").get(
        "/api/business-date", HTTP_X_FORWARDED_PROTO="https"
    )

    assert response.status_code == 401  # served (over what the proxy says is HTTPS)


@pytest.mark.django_db
def test_an_admin_session_lasts_eight_hours_at_most(settings):
    client = Client()
    client.force_login(OfficerFactory())

    response = client.get("/admin/")

    assert response.status_code == 200
    assert settings.SESSION_COOKIE_AGE == 8 * 60 * 60
    assert client.session.get_expiry_age() <= 8 * 60 * 60
