"""Races on real PostgreSQL connections: one thread per request, released together."""

from decimal import Decimal

import pytest

from ledger.models import JournalEntry
from loans.models import Loan, Repayment
from tests.accounts.factories import BorrowerFactory, OfficerFactory
from tests.concurrency import run_concurrently
from tests.conftest import client_for
from tests.loans.factories import active_loan, applied_loan
from tests.loans.helpers import assert_books_clean
from wallets.models import Wallet
from wallets.services import wallet_deposit


@pytest.mark.django_db(transaction=True)
def test_two_officers_approving_at_once_disburse_once():
    borrower = BorrowerFactory()
    loan = applied_loan(borrower)
    officers = OfficerFactory.create_batch(2)

    results = run_concurrently(
        [
            lambda o=o: client_for(o).post(
                "/api/loans/admin/approve", {"loan_id": loan.pk, "approved": True}
            )
            for o in officers
        ]
    )

    assert sorted(r.status_code for r in results) == [200, 409]
    assert JournalEntry.objects.filter(kind="LOAN_DISBURSEMENT").count() == 1
    assert Wallet.objects.get(user=borrower).balance == Decimal("12000.00")
    assert Loan.objects.get(pk=loan.pk).status == Loan.Status.ACTIVE
    assert_books_clean()


@pytest.mark.django_db(transaction=True)
def test_approvals_of_different_loans_of_one_borrower_respect_the_open_loan_limit():
    borrower = BorrowerFactory()
    loans = [applied_loan(borrower) for _ in range(4)]
    officers = OfficerFactory.create_batch(4)

    results = run_concurrently(
        [
            lambda o=o, loan=loan: client_for(o).post(
                "/api/loans/admin/approve", {"loan_id": loan.pk, "approved": True}
            )
            for o, loan in zip(officers, loans, strict=True)
        ]
    )

    assert sorted(r.status_code for r in results) == [200, 200, 400, 400]
    assert Loan.objects.filter(status=Loan.Status.ACTIVE).count() == 2
    assert_books_clean()


@pytest.mark.django_db(transaction=True)
def test_concurrent_repayments_never_overpay_the_loan_nor_empty_the_wallet_below_zero():
    borrower = BorrowerFactory()
    loan = active_loan(borrower, principal="1000.00", tenure=2, rate="12.00")
    wallet_deposit(user=borrower, amount=Decimal("2000.00"), idempotency_key="cash")
    owed = loan.outstanding_amount  # 1015.04
    share = Decimal("300.00")

    results = run_concurrently(
        [
            lambda n=n: client_for(borrower).post(
                "/api/repayments/make-payment",
                {"loan_id": loan.pk, "amount": str(share), "idempotency_key": f"race-{n}"},
            )
            for n in range(6)
        ]
    )

    statuses = sorted(r.status_code for r in results)
    accepted = statuses.count(201)
    assert accepted == int(owed // share)  # 3 fit; the others exceed what is left
    assert statuses == [201] * accepted + [400] * (6 - accepted)
    loan.refresh_from_db()
    assert loan.outstanding_amount == owed - share * accepted
    assert Repayment.objects.count() == accepted
    assert_books_clean()


@pytest.mark.django_db(transaction=True)
def test_concurrent_repayments_on_two_loans_sharing_one_wallet_stop_at_the_balance():
    borrower = BorrowerFactory()
    officer = OfficerFactory()
    loans = [
        active_loan(borrower, officer, principal="500.00", tenure=1, rate="0.00") for _ in range(2)
    ]
    wallet = Wallet.objects.get(user=borrower)
    from wallets.services import wallet_withdraw

    wallet_withdraw(
        user=borrower, amount=wallet.balance - Decimal("450.00"), idempotency_key="spend"
    )

    results = run_concurrently(
        [
            lambda n=n: client_for(borrower).post(
                "/api/repayments/make-payment",
                {"loan_id": loans[n % 2].pk, "amount": "100.00", "idempotency_key": f"k{n}"},
            )
            for n in range(8)
        ]
    )

    assert sorted(r.status_code for r in results) == [201] * 4 + [400] * 4
    assert Wallet.objects.get(user=borrower).balance == Decimal("50.00")
    assert_books_clean()
