import base64
import json

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from accounts.authentication import user_from_claims
from accounts.models import User
from accounts.tokens import token_pair_for

BALANCE = "/api/wallet/balance"


def _client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.mark.django_db
def test_balance_read_costs_one_query_the_wallets(borrower, django_assert_num_queries):
    client = _client(token_pair_for(borrower)["access_token"])

    with django_assert_num_queries(1) as captured:
        response = client.get(BALANCE)

    assert response.status_code == 200
    assert response.json()["user_id"] == borrower.pk
    assert "wallets_wallet" in captured.captured_queries[0]["sql"]


@pytest.mark.django_db
def test_claims_user_knows_id_and_role_at_once_and_loads_the_rest(
    officer, django_assert_num_queries
):
    with django_assert_num_queries(0):
        user = user_from_claims(user_id=officer.pk, role="OFFICER")
        assert (user.pk, user.role, user.is_staff, user.is_officer) == (
            officer.pk,
            "OFFICER",
            True,
            True,
        )
        assert user.is_authenticated and isinstance(user, User) and user == officer

    with django_assert_num_queries(1):
        assert user.email == officer.email


@pytest.mark.django_db
def test_deactivated_user_reads_the_balance_until_the_token_expires_but_cannot_refresh(
    borrower,
):
    """The documented trade-off of claims authentication, and its bound."""
    tokens = token_pair_for(borrower)
    borrower.is_active = False
    borrower.save(update_fields=["is_active"])

    assert _client(tokens["access_token"]).get(BALANCE).status_code == 200
    assert _client(tokens["access_token"]).get("/api/auth/me").status_code == 401
    refresh = APIClient().post(
        "/api/auth/refresh", {"refresh_token": tokens["refresh_token"]}, format="json"
    )
    assert refresh.status_code == 401


@pytest.mark.django_db
def test_token_without_a_role_claim_is_checked_against_the_database(borrower):
    token = str(AccessToken.for_user(borrower))  # not issued by accounts.tokens: no role

    assert _client(token).get(BALANCE).status_code == 200
    borrower.is_active = False
    borrower.save(update_fields=["is_active"])
    response = _client(token).get(BALANCE)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


@pytest.mark.django_db
def test_a_role_claim_cannot_be_changed_without_the_signing_key(borrower):
    header, payload, signature = token_pair_for(borrower)["access_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["role"] = "ADMIN"

    response = _client(f"{header}.{_b64(claims)}.{signature}").get(BALANCE)

    assert response.status_code == 401


@pytest.mark.django_db
def test_an_emi_quote_runs_no_query(borrower, django_assert_num_queries):
    """Once its product is known (read from the database once, then from the cache)."""
    client = _client(token_pair_for(borrower)["access_token"])
    client.post(
        "/api/loans/calculate-emi",
        {"principal_amount": "500.00", "tenure_months": 1},
        format="json",
    )

    with django_assert_num_queries(0):
        response = client.post(
            "/api/loans/calculate-emi",
            {"principal_amount": "100000.00", "tenure_months": 12, "interest_rate": "12.00"},
            format="json",
        )

    assert response.status_code == 200
    assert response.json()["emi_amount"] == "8884.88"
