"""OWASP API3 (mass assignment): fields a client may not set are ignored in every body."""

from decimal import Decimal

import pytest

from accounts.models import User
from loans.models import Loan
from tests.conftest import client_for
from tests.loans.factories import active_loan, applied_loan
from wallets.models import Wallet
from wallets.services import wallet_deposit

FORBIDDEN = {
    "role": "ADMIN",
    "is_staff": True,
    "is_superuser": True,
    "status": "CLOSED",
    "balance": "99999999.00",
    "user_id": 1,
    "borrower_id": 1,
    "borrower": 1,
    "outstanding_amount": "0.00",
    "approved_by": 1,
    "disbursed_by": 1,
    "emi_amount": "1.00",
    "total_interest": "0.00",
    "maker_checker_threshold": "999999999.00",
    "currency": "USD",
    "id": 999999,
}


@pytest.mark.django_db
def test_registration_makes_a_plain_borrower_with_an_empty_wallet(api_client):
    response = api_client.post(
        "/api/auth/register",
        {
            "name": "Eve",
            "email": "eve@example.com",
            "password": "a-long-unusual-passphrase",
            **FORBIDDEN,
        },
    )

    assert response.status_code == 201
    user = User.objects.get(email="eve@example.com")
    assert (user.role, user.is_staff, user.is_superuser) == ("BORROWER", False, False)
    assert user.pk != FORBIDDEN["id"]
    wallet = Wallet.objects.get(user=user)
    assert (wallet.balance, wallet.currency) == (Decimal("0.00"), "INR")


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/wallet/deposit", "/api/wallet/withdraw"])
def test_transfer_bodies_move_only_the_amount_on_the_callers_wallet(
    borrower, borrower_client, victim, path
):
    wallet_deposit(user=borrower, amount=Decimal("100.00"), idempotency_key="seed")
    victim_balance = Wallet.objects.get(user=victim["user"]).balance
    body = {"amount": "10.00", "idempotency_key": "k", **FORBIDDEN}
    body["user_id"] = body["borrower_id"] = victim["user"].pk

    response = borrower_client.post(path, body)

    assert response.status_code == 201, response.content
    expected = Decimal("110.00") if path.endswith("deposit") else Decimal("90.00")
    wallet = Wallet.objects.get(user=borrower)
    assert (wallet.balance, wallet.currency) == (expected, "INR")
    assert Wallet.objects.get(user=victim["user"]).balance == victim_balance


@pytest.mark.django_db
def test_an_application_takes_only_the_terms(borrower, borrower_client, victim):
    body = {"principal_amount": "10000.00", "tenure_months": 12, **FORBIDDEN}
    body["user_id"] = body["borrower_id"] = victim["user"].pk

    response = borrower_client.post("/api/loans/apply", body)

    assert response.status_code == 201, response.content
    loan = Loan.objects.get(pk=response.json()["id"])
    assert loan.borrower_id == borrower.pk
    assert loan.status == Loan.Status.APPLIED
    assert loan.outstanding_amount == Decimal("0.00")
    assert loan.approved_by_id is None
    assert loan.emi_amount == Decimal("888.49")
    assert loan.maker_checker_threshold == Decimal("200000.00")


@pytest.mark.django_db
def test_a_repayment_takes_only_loan_amount_and_key(borrower, borrower_client):
    wallet_deposit(user=borrower, amount=Decimal("500.00"), idempotency_key="seed")
    loan = active_loan(borrower, principal="1000.00", tenure=2)
    before = loan.outstanding_amount

    response = borrower_client.post(
        "/api/repayments/make-payment",
        {"loan_id": loan.pk, "amount": "100.00", "idempotency_key": "p", **FORBIDDEN},
    )

    assert response.status_code == 201, response.content
    loan.refresh_from_db()
    assert loan.outstanding_amount == before - Decimal("100.00")
    assert loan.status == Loan.Status.ACTIVE
    assert Wallet.objects.get(user=borrower).balance == Decimal("1400.00")


@pytest.mark.django_db
def test_a_decision_records_the_deciding_officer_and_the_real_figures(borrower, officer):
    loan = applied_loan(borrower, principal="10000.00", tenure=12)

    response = client_for(officer).post(
        "/api/loans/admin/approve", {"loan_id": loan.pk, "approved": True, **FORBIDDEN}
    )

    assert response.status_code == 200, response.content
    loan.refresh_from_db()
    assert loan.approved_by_id == loan.disbursed_by_id == officer.pk
    assert loan.status == Loan.Status.ACTIVE
    assert loan.outstanding_amount == loan.principal_amount + loan.total_interest
    assert Wallet.objects.get(user=borrower).balance == Decimal("10000.00")
