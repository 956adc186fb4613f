"""Sessions, users and messages serve browsers, and only them."""

import pytest
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.test import Client
from django_otp.middleware import OTPMiddleware

from lendingsite.middleware import BROWSER_MIDDLEWARE, is_api_call
from tests.accounts.factories import BorrowerFactory
from tests.conftest import client_for


def test_the_browser_stack_holds_what_the_admin_needs_in_djangos_order():
    from django.utils.module_loading import import_string

    classes = [import_string(path) for path in BROWSER_MIDDLEWARE]
    assert classes == [
        SessionMiddleware,
        AuthenticationMiddleware,
        OTPMiddleware,
        MessageMiddleware,
    ]


@pytest.mark.parametrize(
    ("path", "api"),
    [
        ("/api/wallet/balance", True),
        ("/api/loans/calculate-emi", True),
        ("/api/docs/", False),
        ("/api/schema/", False),
        ("/admin/", False),
        ("/", False),
        ("/apix", False),
    ],
)
def test_what_counts_as_an_api_call(path, api):
    assert is_api_call(path) is api


@pytest.mark.django_db
def test_an_api_call_gets_no_session():
    response = client_for(BorrowerFactory()).get("/api/wallet/balance")

    assert response.status_code == 200
    assert "sessionid" not in response.cookies
    assert "csrftoken" not in response.cookies
    assert not hasattr(response.wsgi_request, "session")


@pytest.mark.django_db
def test_the_admin_still_has_sessions_csrf_and_frame_protection():
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/admin/login/")

    assert page.status_code == 200
    assert page["X-Frame-Options"] == "DENY"
    assert "csrftoken" in page.cookies
    # A login post without the CSRF token is refused by CSRF, before any credentials.
    refused = browser.post("/admin/login/", {"username": "x", "password": "y"})
    assert refused.status_code == 403
