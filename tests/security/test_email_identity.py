"""No registration can take over, shadow or break another account's login (issue: emails
that differ only by letters with case mappings outside ASCII)."""

import pytest
from django.db import connection
from django.test import Client

from accounts.models import User
from tests.accounts.factories import DEFAULT_PASSWORD, AdminFactory, BorrowerFactory

REGISTER = "/api/auth/register"
LOGIN = "/api/auth/login"
PASSWORD = "a-long-enough-pass-phrase"


def _register(api_client, email):
    return api_client.post(
        REGISTER, {"name": "Mallory", "email": email, "password": PASSWORD}, format="json"
    )


def _login(api_client, email, password=DEFAULT_PASSWORD):
    return api_client.post(LOGIN, {"email": email, "password": password}, format="json")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "lookalike",
    [
        "adm\u0131n@example.com",  # dotless i, U+0131: PostgreSQL's UPPER() makes it I
        "adm\u0130n@example.com",  # dotted capital I, U+0130
    ],
)
def test_a_lookalike_registration_is_refused_and_the_real_login_keeps_working(
    api_client, lookalike
):
    BorrowerFactory(email="admin@example.com")

    registered = _register(api_client, lookalike)
    login = _login(api_client, "admin@example.com")

    assert registered.status_code == 400
    assert "email" in registered.json()
    assert login.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "same_address",
    [
        "\u017fam@example.com",  # long s, U+017F, folds to s
        "\u212aate@example.com",  # Kelvin sign, U+212A, folds to k
        "SAM@EXAMPLE.COM",
        " sam@example.com ",
    ],
)
def test_an_address_that_folds_to_an_existing_one_is_taken(api_client, same_address):
    BorrowerFactory(email="sam@example.com")
    BorrowerFactory(email="kate@example.com")

    response = _register(api_client, same_address)

    assert response.status_code == 400
    assert response.json()["detail"] == "A user with this email already exists."
    assert User.objects.count() == 2


@pytest.mark.django_db
def test_a_new_address_is_stored_in_its_one_normal_form(api_client):
    response = _register(api_client, "  \u212aIRAN@Example.COM ")

    assert response.status_code == 201
    assert User.objects.get().email == "kiran@example.com"
    assert _login(api_client, "KIRAN@example.com", PASSWORD).status_code == 200


@pytest.mark.django_db
def test_a_row_from_before_the_fix_cannot_break_anyones_login(api_client):
    """Even with a lookalike row already stored, logins answer 200 or 401, never 500."""
    BorrowerFactory(email="admin@example.com")
    shadow = BorrowerFactory(email="shadow@example.com")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE accounts_user SET email = %s WHERE id = %s",
            ["adm\u0131n@example.com", shadow.pk],
        )

    assert _login(api_client, "admin@example.com").status_code == 200
    assert _login(api_client, "ADMIN@example.com").status_code == 200
    assert _login(api_client, "adm\u0131n@example.com").status_code == 200  # its own owner
    assert _login(api_client, "nobody\u0131@example.com").status_code == 401


@pytest.mark.django_db
def test_the_admin_login_uses_the_same_rule():
    AdminFactory(email="boss@example.com")
    shadow = BorrowerFactory(email="shadow@example.com")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE accounts_user SET email = %s WHERE id = %s", ["bo\u00df@example.com", shadow.pk]
        )
    client = Client()

    response = client.post(
        "/admin/login/",
        {"username": "BOSS@example.com", "password": DEFAULT_PASSWORD, "next": "/admin/"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def test_the_migration_check_finds_addresses_that_share_a_normal_form():
    from accounts.emails import email_collisions

    accounts = [
        (1, "admin@example.com"),
        (2, "ADMIN@Example.com"),
        (3, "\u017fam@example.com"),
        (4, "sam@example.com"),
        (5, "adm\u0131n@example.com"),  # a lookalike, but a different normal form
        (6, "solo@example.com"),
    ]

    assert email_collisions(accounts) == {
        "admin@example.com": [(1, "admin@example.com"), (2, "ADMIN@Example.com")],
        "sam@example.com": [(3, "\u017fam@example.com"), (4, "sam@example.com")],
    }
