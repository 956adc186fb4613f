"""OWASP API3, excessive data exposure: no hashes, no secrets, no other user's data."""

import json
import re
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from loans.services import loan_repay
from tests.accounts.factories import DEFAULT_PASSWORD
from tests.conftest import client_for
from tests.loans.factories import active_loan, applied_loan
from wallets.services import wallet_deposit

SECRET_MARKERS = re.compile(
    r'argon2|bcrypt|pbkdf2|md5\$|sha1\$|\$2[aby]\$|"password"|is_superuser|secret_key',
    re.IGNORECASE,
)


@pytest.fixture
def world(borrower, officer, victim):
    wallet_deposit(user=borrower, amount=Decimal("2000.00"), idempotency_key="d")
    loan = active_loan(borrower, principal="1000.00", tenure=2)
    loan_repay(loan_id=loan.pk, borrower=borrower, amount=Decimal("10.00"), idempotency_key="r")
    applied_loan(borrower, principal="500.00", tenure=1)
    return {"loan": loan}


def _every_answer(borrower, officer, world):
    me, staff = client_for(borrower), client_for(officer)
    loan = world["loan"].pk
    login = APIClient().post(
        "/api/auth/login", {"email": borrower.email, "password": DEFAULT_PASSWORD}
    )
    refresh = APIClient().post(
        "/api/auth/refresh", {"refresh_token": login.json()["refresh_token"]}
    )
    return {
        "register": APIClient().post(
            "/api/auth/register",
            {"name": "New", "email": "new@example.com", "password": "another-long-passphrase"},
        ),
        "login": login,
        "refresh": refresh,
        "me": me.get("/api/auth/me"),
        "balance": me.get("/api/wallet/balance"),
        "transactions": me.get("/api/wallet/transactions"),
        "deposit": me.post("/api/wallet/deposit", {"amount": "1.00", "idempotency_key": "x"}),
        "withdraw": me.post("/api/wallet/withdraw", {"amount": "1.00", "idempotency_key": "y"}),
        "my-loans": me.get("/api/loans/my-loans"),
        "loan": me.get(f"/api/loans/{loan}"),
        "schedule": me.get(f"/api/loans/{loan}/schedule"),
        "repayments": me.get(f"/api/repayments/loan/{loan}"),
        "pay": me.post(
            "/api/repayments/make-payment",
            {"loan_id": loan, "amount": "1.00", "idempotency_key": "z"},
        ),
        "emi": me.post("/api/loans/calculate-emi", {"principal_amount": "100", "tenure_months": 2}),
        "pending": staff.get("/api/loans/admin/pending"),
        "officer-me": staff.get("/api/auth/me"),
        "refused-login": APIClient().post(
            "/api/auth/login", {"email": borrower.email, "password": "wrong"}
        ),
    }


@pytest.mark.django_db
def test_no_answer_carries_a_password_hash_or_secret(borrower, officer, world):
    for name, response in _every_answer(borrower, officer, world).items():
        assert response.status_code < 500, name
        text = response.content.decode()
        assert not SECRET_MARKERS.search(text), (name, text)
        assert borrower.password not in text, name


@pytest.mark.django_db
def test_a_borrowers_answers_carry_no_other_users_data(borrower, officer, victim, world):
    answers = _every_answer(borrower, officer, world)
    del answers["pending"], answers["officer-me"]  # officers see every borrower's loans
    other = victim["user"]
    for name, response in answers.items():
        text = response.content.decode()
        assert other.email not in text, name
        assert other.name not in text, name
        for value in _user_ids(response):
            assert value != other.pk, name


def _user_ids(response):
    try:
        data = response.json()
    except (ValueError, json.JSONDecodeError):
        return []
    found = []

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "user_id":
                    found.append(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(data)
    return found


@pytest.mark.django_db
def test_an_unexpected_error_answers_without_internals(borrower, monkeypatch):
    def explode(**kwargs):
        raise RuntimeError("secret internals: password=hunter2 at /srv/app")

    monkeypatch.setattr("wallets.api.views.wallet_get_for_user", explode)
    client = client_for(borrower)
    client.raise_request_exception = False

    response = client.get("/api/wallet/balance")

    assert response.status_code == 500
    assert response.json() == {
        "detail": "Internal server error. The operation was not applied.",
        "code": "server_error",
    }
