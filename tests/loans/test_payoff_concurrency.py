"""A prepayment racing an ordinary repayment on one loan, on real connections.

The loan row lock runs them one after the other, in either order. Whichever wins, the
loan must end exactly as if the two had been made one after the other in that order,
and the books must reconcile. The first test releases both at once (the order is the
database's); the second queues them on the loan's lock in a chosen order, so each order
is seen for certain.
"""

import threading
import time
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection, transaction

from ledger.selectors import SYSTEM_ACCOUNTS, account_system_id
from loans.models import Loan, Repayment
from loans.services import loan_repay
from tests.accounts.factories import BorrowerFactory, OfficerFactory
from tests.concurrency import run_concurrently
from tests.conftest import client_for
from tests.loans.factories import active_loan
from tests.loans.helpers import assert_books_clean
from tests.loans.servicing.helpers import set_business_date
from wallets.models import Wallet
from wallets.services import wallet_deposit

D = Decimal
PAYMENTS = {  # what each side pays, and the prepayment flag it sends
    "ordinary": (D("1066.19"), None),
    "prepayment": (D("3000.00"), "REDUCE_EMI"),
}
RACES = 3  # loans raced at once: the two orders both turn up across them, usually


def _funded_loan():
    # The system accounts exist before any race: after a test database's flush they
    # are re-created on first use, and two threads must not both create them.
    for code in SYSTEM_ACCOUNTS:
        account_system_id(code)
    borrower = BorrowerFactory()
    loan = active_loan(borrower, OfficerFactory(), principal="12000.00", tenure=12)
    wallet_deposit(user=borrower, amount=D("5000.00"), idempotency_key="cash")
    return loan


def _state(loan) -> tuple:
    loan.refresh_from_db()
    rows = list(
        loan.installments.order_by("number").values_list(
            "number",
            "due_date",
            "principal",
            "interest",
            "principal_paid",
            "interest_paid",
            "paid_on",
        )
    )
    versions = list(loan.schedule_versions.values_list("number", "reason", "emi_amount"))
    return (
        loan.status,
        loan.outstanding_amount,
        loan.emi_amount,
        loan.total_interest,
        rows,
        versions,
    )


def _post(loan, side: str):
    amount, prepayment = PAYMENTS[side]
    body = {"loan_id": loan.pk, "amount": str(amount), "idempotency_key": side}
    if prepayment:
        body["prepayment"] = prepayment
    return client_for(loan.borrower).post("/api/repayments/make-payment", body, format="json")


@pytest.mark.django_db(transaction=True)
def test_a_prepayment_racing_a_repayment_ends_as_one_after_the_other():
    set_business_date(date(2026, 1, 10))  # the disbursement day: nothing due yet
    loans = [_funded_loan() for _ in range(RACES)]

    results = run_concurrently(
        [lambda loan=loan, side=side: _post(loan, side) for loan in loans for side in PAYMENTS]
    )

    assert [r.status_code for r in results] == [201] * (2 * RACES), [
        getattr(r, "data", r) for r in results
    ]
    assert_books_clean()
    for loan in loans:
        order = [
            "prepayment" if r.purpose == Repayment.Purpose.REDUCE_EMI else "ordinary"
            for r in loan.repayments.order_by("pk")
        ]
        twin = _funded_loan()
        for side in order:
            amount, prepayment = PAYMENTS[side]
            loan_repay(
                loan_id=twin.pk,
                borrower=twin.borrower,
                amount=amount,
                idempotency_key=side,
                prepayment=prepayment,
            )
        assert _state(loan) == _state(twin), order
        # 12,000.00 disbursed + 5,000.00 deposited - 1,066.19 - 3,000.00, either way.
        assert Wallet.objects.get(user=loan.borrower).balance == D("12933.81")
    assert_books_clean()


def _waiting_on_locks() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def _queued_on_the_loan_lock(loan, sides) -> dict:
    """Make the payments of ``sides``, each on its own connection, queued in that order
    behind a third connection holding the loan's row lock; then release them."""
    locked, release, results = threading.Event(), threading.Event(), {}

    def holder():
        try:
            with transaction.atomic():
                Loan.objects.select_for_update().get(pk=loan.pk)
                locked.set()
                release.wait()
        finally:
            connection.close()

    def payer(side):
        try:
            results[side] = _post(loan, side)
        finally:
            connection.close()

    threads = [threading.Thread(target=holder)]
    threads[0].start()
    locked.wait()
    for queued, side in enumerate(sides, start=1):
        threads.append(threading.Thread(target=payer, args=(side,)))
        threads[-1].start()
        while _waiting_on_locks() < queued:  # wait until it queues behind the lock
            time.sleep(0.01)
    release.set()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("order", [["ordinary", "prepayment"], ["prepayment", "ordinary"]])
def test_both_orders_of_a_prepayment_and_a_repayment_end_consistent(order):
    set_business_date(date(2026, 1, 10))
    loan = _funded_loan()

    results = _queued_on_the_loan_lock(loan, order)

    assert {side: r.status_code for side, r in results.items()} == dict.fromkeys(order, 201)
    landed = [r.purpose for r in loan.repayments.order_by("pk")]
    assert landed == [PAYMENTS[side][1] or Repayment.Purpose.ORDINARY for side in order]
    twin = _funded_loan()
    for side in order:
        amount, prepayment = PAYMENTS[side]
        loan_repay(
            loan_id=twin.pk,
            borrower=twin.borrower,
            amount=amount,
            idempotency_key=side,
            prepayment=prepayment,
        )
    assert _state(loan) == _state(twin)
    loan.refresh_from_db()
    # By hand: the prepayment's 3,000.00 comes off 12,000.00 (first) or off the 11,053.81
    # left after #1 (second); re-amortised at 1 % over 12 or 11 months.
    # 9,000 x 0.01 x 1.01^12 / (1.01^12 - 1) = 799.64;
    # 8,053.81 x 0.01 x 1.01^11 / (1.01^11 - 1) = 776.82.
    assert loan.emi_amount == (D("799.64") if order[0] == "prepayment" else D("776.82"))
    assert_books_clean()
