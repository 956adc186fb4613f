"""Reversals racing on real PostgreSQL connections: one thread each, released together."""

from datetime import date
from decimal import Decimal

import pytest

from ledger.models import JournalEntry
from loans.models import Repayment
from loans.reversals import loan_replayed
from tests.accounts.factories import BorrowerFactory, OfficerFactory
from tests.concurrency import run_concurrently
from tests.conftest import client_for
from tests.loans.factories import active_loan, repaid
from tests.loans.helpers import assert_books_clean
from tests.loans.servicing.helpers import close_through, set_business_date
from wallets.selectors import wallet_get_for_user
from wallets.services import wallet_deposit

D = Decimal


def _loan_with_two_payments():
    """12,000.00 at 12 % over 12 months; EMIs of 1,066.19 paid on 10 Feb and 10 Mar."""
    set_business_date(date(2026, 1, 10))
    loan = active_loan(BorrowerFactory())
    wallet_deposit(user=loan.borrower, amount=D("5000.00"), idempotency_key="in")
    close_through(date(2026, 2, 9))
    first = repaid(loan, "1066.19", key="emi-1")
    close_through(date(2026, 3, 9))
    second = repaid(loan, "1066.19", key="emi-2")
    close_through(date(2026, 3, 19))  # business date 20 Mar
    return loan, first, second


@pytest.mark.django_db(transaction=True)
def test_two_officers_reversing_the_same_payment_at_once_reverse_it_once():
    loan, first, _ = _loan_with_two_payments()
    officers = OfficerFactory.create_batch(2)
    wallet_before = wallet_get_for_user(user=loan.borrower).balance

    results = run_concurrently(
        [
            lambda o=o: client_for(o).post(
                f"/api/loans/{loan.pk}/repayments/{first.pk}/reverse",
                {"reason": "Paid in error"},
                format="json",
            )
            for o in officers
        ]
    )

    assert sorted(r.status_code for r in results) == [200, 409]
    refused = next(r for r in results if r.status_code == 409)
    assert refused.json()["code"] == "already_reversed"
    assert JournalEntry.objects.filter(kind="REVERSAL").count() == 1
    assert wallet_get_for_user(user=loan.borrower).balance == wallet_before + D("1066.19")
    assert_books_clean()


@pytest.mark.django_db(transaction=True)
def test_a_reversal_racing_a_repayment_on_the_same_loan_leaves_the_loan_as_its_replay():
    loan, first, _ = _loan_with_two_payments()
    officer = OfficerFactory()

    results = run_concurrently(
        [
            lambda: client_for(officer).post(
                f"/api/loans/{loan.pk}/repayments/{first.pk}/reverse",
                {"reason": "Paid in error"},
                format="json",
            ),
            lambda: client_for(loan.borrower).post(
                "/api/repayments/make-payment",
                {"loan_id": loan.pk, "amount": "500.00"},
                HTTP_IDEMPOTENCY_KEY="racing",
            ),
        ]
    )

    # Whichever ran first, both are carried out, one after the other (the loan's lock).
    assert [r.status_code for r in results] == [200, 201], [r.json() for r in results]
    loan.refresh_from_db()
    standing = loan.repayments.filter(status=Repayment.Status.SUCCESS)
    assert sorted(r.amount for r in standing) == [D("500.00"), D("1066.19")]
    # The loan is what its standing payments and closed days make it.
    replayed = loan_replayed(loan, closed_through=loan.closed_through)
    assert [
        (i.number, i.principal_paid, i.interest_paid, i.fee_charged, i.fee_paid, i.paid_on)
        for i in loan.installments.order_by("number")
    ] == [
        (s.number, s.principal_paid, s.interest_paid, s.fee_charged, s.fee_paid, s.paid_on)
        for s in replayed.installments.values()
    ]
    assert loan.outstanding_amount == replayed.outstanding
    # 5,000.00 + 12,000.00 lent - 1,066.19 (10 Mar) - 500.00; the reversed one came back.
    assert wallet_get_for_user(user=loan.borrower).balance == D("15433.81")
    assert_books_clean()
