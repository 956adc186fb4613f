import threading

import pytest
from django.db import connection

from accounts.models import User
from wallets.models import Wallet

URL = "/api/auth/register"
GOOD = {"name": "Asha Rao", "email": "asha@example.com", "password": "a-long-unusual-pass-42"}


@pytest.mark.django_db
def test_register_creates_borrower_with_wallet_and_returns_tokens(api_client):
    response = api_client.post(URL, GOOD, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["access_token"] and body["refresh_token"]
    user = User.objects.get(email="asha@example.com")
    assert body["user"] == {
        "id": user.pk,
        "name": "Asha Rao",
        "email": "asha@example.com",
        "role": "BORROWER",
    }
    assert Wallet.objects.get(user=user).balance == 0
    assert user.password.startswith("md5$") or user.password.startswith("argon2")


@pytest.mark.django_db
def test_register_ignores_role_and_staff_fields_in_the_body(api_client):
    payload = {**GOOD, "role": "ADMIN", "is_staff": True, "is_superuser": True}

    response = api_client.post(URL, payload, format="json")

    assert response.status_code == 201
    user = User.objects.get(email=GOOD["email"])
    assert (user.role, user.is_staff, user.is_superuser) == ("BORROWER", False, False)


@pytest.mark.django_db
def test_register_refuses_an_email_already_used_in_any_case(api_client):
    assert api_client.post(URL, GOOD, format="json").status_code == 201

    response = api_client.post(URL, {**GOOD, "email": "ASHA@Example.com"}, format="json")

    assert response.status_code == 400
    assert response.json()["detail"] == "A user with this email already exists."
    assert User.objects.filter(email__iexact=GOOD["email"]).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"password": "123"}, "password"),
        ({"password": "password"}, "password"),
        ({"name": ""}, "name"),
    ],
)
def test_register_names_the_bad_field(api_client, change, field):
    response = api_client.post(URL, {**GOOD, **change}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert field in body
    assert isinstance(body["detail"], str) and body["detail"].startswith(field)
    assert not User.objects.exists()


@pytest.mark.django_db
def test_register_reports_every_missing_field(api_client):
    response = api_client.post(URL, {}, format="json")

    assert response.status_code == 400
    assert {"name", "email", "password"} <= set(response.json())


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_registrations_of_one_email_make_one_user():
    """Both requests run on their own database connection, released together."""
    from rest_framework.test import APIClient

    barrier = threading.Barrier(2)
    statuses = []

    def register():
        try:
            barrier.wait()
            response = APIClient().post(URL, GOOD, format="json")
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=register) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [201, 400]
    assert User.objects.filter(email=GOOD["email"]).count() == 1
    assert Wallet.objects.count() == 1
