"""OWASP API8, security misconfiguration: headers the app sends; CSRF on the admin."""

import pytest
from django.test import Client

from tests.accounts.factories import DEFAULT_PASSWORD
from tests.conftest import client_for


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/api/wallet/balance", "/api/auth/me", "/api/no-such-thing", "/api/schema/"]
)
def test_api_answers_carry_the_security_headers(borrower, path):
    response = client_for(borrower).get(path)

    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_error_answers_are_not_cacheable_either(api_client):
    response = api_client.get("/api/wallet/balance")

    assert response.status_code == 401
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_hsts_is_sent_over_https_in_production(borrower):
    response = client_for(borrower).get("/api/wallet/balance", secure=True)

    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


@pytest.mark.django_db
def test_plain_http_is_redirected_to_https_in_production(settings):
    settings.SECURE_SSL_REDIRECT = True

    response = Client().get("/api/auth/me")

    assert response.status_code == 301
    assert response["Location"].startswith("https://")


@pytest.mark.django_db
def test_admin_cookies_are_secure_and_http_only():
    response = Client().get("/admin/login/")

    cookie = response.cookies["csrftoken"]
    assert cookie["secure"]
    assert cookie["samesite"] == "Lax"


@pytest.mark.django_db
def test_the_admin_login_refuses_a_post_without_csrf_token(officer):
    client = Client(enforce_csrf_checks=True)

    credentials = {"username": officer.email, "password": DEFAULT_PASSWORD}
    refused = client.post("/admin/login/", credentials)

    assert refused.status_code == 403
    token = client.get("/admin/login/").cookies["csrftoken"].value
    accepted = client.post(
        "/admin/login/",
        {**credentials, "csrfmiddlewaretoken": token},
    )
    assert accepted.status_code == 302
    assert accepted.cookies["sessionid"]["httponly"]
    assert accepted.cookies["sessionid"]["secure"]


@pytest.mark.django_db
def test_a_signed_in_officers_admin_post_without_csrf_token_is_refused(officer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(officer)

    response = client.post("/admin/logout/")

    assert response.status_code == 403
    assert client.get("/admin/").status_code == 200  # still signed in: nothing happened


@pytest.mark.django_db
def test_an_admin_session_does_not_authenticate_the_api(officer):
    client = Client()
    client.force_login(officer)

    assert client.get("/admin/").status_code == 200
    assert client.get("/api/loans/admin/pending").status_code == 401
