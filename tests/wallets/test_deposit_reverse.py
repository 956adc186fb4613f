"""A bounced deposit: POST /api/wallet/transactions/{id}/reverse, refused then accepted."""

from datetime import date
from decimal import Decimal

import pytest

from loans.models import Loan
from tests.accounts.factories import BorrowerFactory, OfficerFactory
from tests.conftest import client_for
from tests.loans.factories import active_loan
from tests.loans.helpers import assert_books_clean
from tests.loans.servicing.helpers import set_business_date

D = Decimal


def _deposit_id(borrower_client) -> int:
    rows = borrower_client.get("/api/wallet/transactions").json()
    return next(r["id"] for r in rows if r["source"] == "DEPOSIT")


@pytest.mark.django_db
def test_a_bounced_deposit_that_paid_a_loan_is_refused_until_the_repayment_is_reversed():
    set_business_date(date(2026, 1, 10))
    officer = client_for(OfficerFactory())
    borrower = BorrowerFactory()
    # 1,200.00 for one month at 12 %: 1,212.00 to repay on 10 Feb.
    loan = active_loan(borrower, principal="1200.00", tenure=1)
    me = client_for(borrower)
    assert (
        me.post(
            "/api/wallet/withdraw", {"amount": "1200.00"}, HTTP_IDEMPOTENCY_KEY="out"
        ).status_code
        == 201
    )
    assert (
        me.post("/api/wallet/deposit", {"amount": "1212.00"}, HTTP_IDEMPOTENCY_KEY="in").status_code
        == 201
    )
    paid = me.post(
        "/api/repayments/make-payment",
        {"loan_id": loan.pk, "amount": "1212.00"},
        HTTP_IDEMPOTENCY_KEY="pay",
    )
    assert paid.json()["loan_closed"] is True
    deposit = _deposit_id(me)

    refused = officer.post(
        f"/api/wallet/transactions/{deposit}/reverse", {"reason": "Bounced"}, format="json"
    )

    # The wallet holds 0.00 of the 1,212.00: the repayment spent it.
    assert refused.status_code == 409, refused.json()
    body = refused.json()
    assert body["code"] == "deposit_spent"
    assert body["shortfall"] == "1212.00"
    assert body["repayments"] == [
        {
            "repayment_id": paid.json()["repayment"]["id"],
            "loan_id": loan.pk,
            "amount": "1212.00",
            "value_date": "2026-01-10",
        }
    ]
    assert me.get("/api/wallet/balance").json()["balance"] == "0.00"

    undone = officer.post(
        f"/api/loans/{loan.pk}/repayments/{paid.json()['repayment']['id']}/reverse",
        {"reason": "Paid with a deposit that bounced"},
        format="json",
    )
    accepted = officer.post(
        f"/api/wallet/transactions/{deposit}/reverse", {"reason": "Bounced"}, format="json"
    )
    again = officer.post(
        f"/api/wallet/transactions/{deposit}/reverse", {"reason": "Bounced"}, format="json"
    )

    assert undone.status_code == 200
    assert accepted.status_code == 200, accepted.json()
    assert (accepted.json()["amount"], accepted.json()["balance"]) == ("1212.00", "0.00")
    assert again.status_code == 409 and again.json()["code"] == "already_reversed"
    loan.refresh_from_db()
    assert (loan.status, loan.outstanding_amount) == (Loan.Status.ACTIVE, D("1212.00"))
    history = me.get("/api/wallet/transactions").json()
    assert (history[0]["source"], history[0]["type"], history[0]["amount"]) == (
        "REVERSAL",
        "DEBIT",
        "1212.00",
    )
    assert_books_clean()


@pytest.mark.django_db
def test_only_deposits_are_reversed_and_only_by_officers_allowed_to():
    borrower = BorrowerFactory()
    me = client_for(borrower)
    me.post("/api/wallet/deposit", {"amount": "50.00"}, HTTP_IDEMPOTENCY_KEY="in")
    me.post("/api/wallet/withdraw", {"amount": "10.00"}, HTTP_IDEMPOTENCY_KEY="out")
    rows = me.get("/api/wallet/transactions").json()
    withdrawal = next(r["id"] for r in rows if r["source"] == "WITHDRAWAL")
    deposit = next(r["id"] for r in rows if r["source"] == "DEPOSIT")
    officer = client_for(OfficerFactory())

    assert (
        me.post(f"/api/wallet/transactions/{deposit}/reverse", {"reason": "x"}).status_code == 403
    )
    not_deposit = officer.post(f"/api/wallet/transactions/{withdrawal}/reverse", {"reason": "x"})
    assert not_deposit.status_code == 404
    assert (
        officer.post(f"/api/wallet/transactions/{10**9}/reverse", {"reason": "x"}).status_code
        == 404
    )
    assert officer.post(f"/api/wallet/transactions/{deposit}/reverse", {}).status_code == 400
    assert me.get("/api/wallet/balance").json()["balance"] == "40.00"
