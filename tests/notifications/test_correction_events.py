"""The corrections' notifications: a prepayment (with its new schedule), a foreclosure, a
reversal, a write-off (by an officer and by the close) and a recovery each write one
outbox row in their own transaction. Figures worked out by hand in each docstring."""

from datetime import date
from decimal import Decimal

import pytest

from loans.exceptions import ReversalError
from loans.reversals import repayment_reverse
from loans.services import loan_foreclose, loan_repay, loan_write_off
from notifications.models import Notification
from tests.accounts.factories import BorrowerFactory, OfficerFactory
from tests.loans.factories import LoanProductFactory, active_loan, repaid
from tests.loans.servicing.helpers import close_through, set_business_date
from wallets.services import wallet_deposit

Kind = Notification.Kind
D = Decimal
START = date(2026, 1, 10)


def rows(loan, kind=None):
    found = Notification.objects.filter(loan_id=loan.pk).order_by("id")
    return list(found.filter(kind=kind) if kind else found)


@pytest.fixture
def small_loan(db):
    """3,000.00 at 1 % a month over 3 months from 10 Jan: EMI 1,020.07; interest
    #1 30.00, #2 20.10, #3 10.10 (tests/loans/statements/test_correction_lines.py)."""
    set_business_date(START)
    return active_loan(BorrowerFactory(), principal="3000.00", rate="12.00", tenure=3)


@pytest.mark.django_db
def test_a_prepayment_is_notified_with_what_is_owed_after_the_new_schedule(small_loan):
    """1,520.07 on 10 Feb reducing the EMI: #1 1,020.07 (30.00 interest, 990.07
    principal), 500.00 principal. Left 1,509.93 over 2 months: EMI 766.31, interest
    15.10 + 7.59; owed 1,509.93 + 22.69 = 1,532.62 (not 1,540.13, before the new
    schedule)."""
    loan = small_loan
    close_through(date(2026, 2, 9))

    repayment = loan_repay(
        loan_id=loan.pk,
        borrower=loan.borrower,
        amount=D("1520.07"),
        idempotency_key="prepay",
        prepayment="REDUCE_EMI",
    )

    (received,) = rows(loan, Kind.REPAYMENT_RECEIVED)
    assert received.event_key == f"repayment_received:{repayment.pk}"
    assert received.payload == {
        "amount": "1520.07",
        "fee_part": "0.00",
        "interest_part": "30.00",
        "principal_part": "1490.07",
        "outstanding_amount": "1532.62",
        "value_date": "2026-02-10",
        "prepayment": "REDUCE_EMI",
        "emi_amount": "766.31",
        "installments_left": 2,
        "last_due_date": "2026-04-10",
    }


@pytest.mark.django_db
def test_a_foreclosure_is_one_paid_off_notification(small_loan):
    """Paid off on 25 Jan: principal 3,000.00, #1's interest accrued 30.00 x 15 / 31
    days = 14.516 -> 14.52; total 3,014.52. Waived: 30.00 - 14.52 + 20.10 + 10.10 =
    45.68."""
    loan = small_loan
    close_through(date(2026, 1, 24))
    wallet_deposit(user=loan.borrower, amount=D("14.52"), idempotency_key="top-up")

    repayment = loan_foreclose(
        loan_id=loan.pk, borrower=loan.borrower, amount=D("3014.52"), idempotency_key="off"
    )

    assert [row.kind for row in rows(loan)][-1:] == [Kind.LOAN_FORECLOSED]
    assert rows(loan, Kind.REPAYMENT_RECEIVED) == rows(loan, Kind.LOAN_CLOSED) == []
    (paid_off,) = rows(loan, Kind.LOAN_FORECLOSED)
    assert paid_off.event_key == f"loan_foreclosed:{repayment.pk}"
    assert paid_off.payload == {
        "amount": "3014.52",
        "fee_part": "0.00",
        "interest_part": "14.52",
        "principal_part": "3000.00",
        "interest_waived": "45.68",
        "principal_amount": "3000.00",
        "value_date": "2026-01-25",
    }


@pytest.mark.django_db
def test_a_reversal_is_notified_once_with_the_loan_reopened():
    """1,200.00 over one month at 12 %: 1,212.00 repays it all and closes it; reversed
    the same day, it owes 1,212.00 again and is open."""
    set_business_date(START)
    loan = active_loan(BorrowerFactory(), principal="1200.00", tenure=1)
    wallet_deposit(user=loan.borrower, amount=D("12.00"), idempotency_key="top-up")
    payment = repaid(loan, "1212.00")
    officer = OfficerFactory()

    repayment_reverse(loan_id=loan.pk, repayment_id=payment.pk, officer=officer, reason="Error")
    with pytest.raises(ReversalError):
        repayment_reverse(loan_id=loan.pk, repayment_id=payment.pk, officer=officer, reason="x")

    (reversed_,) = rows(loan, Kind.REPAYMENT_REVERSED)
    assert reversed_.event_key == f"repayment_reversed:{payment.pk}"
    assert reversed_.payload == {
        "amount": "1212.00",
        "value_date": "2026-01-10",
        "reason": "Error",
        "outstanding_amount": "1212.00",
        "reopened": True,
    }
    assert reversed_.recipient_id == loan.borrower_id


@pytest.mark.django_db
def test_a_write_off_and_a_recovery_are_notified_with_what_is_still_owed(small_loan):
    """Written off on 16 Feb: principal 3,000.00, #1's interest 30.00, #1's fee 100.00
    (2 % of 1,020.07 raised to the minimum) = 3,130.00. 500.00 recovered: 2,630.00
    still owed."""
    loan = small_loan
    close_through(date(2026, 2, 15))
    loan_write_off(loan_id=loan.pk, officer=OfficerFactory(), reason="Absconded")
    recovery = repaid(loan, "500.00", key="recovery")

    (written_off,) = rows(loan, Kind.LOAN_WRITTEN_OFF)
    assert written_off.event_key == f"loan_written_off:{loan.pk}"
    assert written_off.payload == {
        "written_off_amount": "3130.00",
        "principal": "3000.00",
        "interest": "30.00",
        "fees": "100.00",
        "value_date": "2026-02-16",
    }
    (recovered,) = rows(loan, Kind.RECOVERY_RECEIVED)
    assert recovered.event_key == f"recovery_received:{recovery.pk}"
    assert recovered.payload == {
        "amount": "500.00",
        "written_off_amount": "3130.00",
        "recovered_amount": "500.00",
        "still_owed": "2630.00",
        "value_date": "2026-02-16",
    }
    assert rows(loan, Kind.REPAYMENT_RECEIVED) == []


@pytest.mark.django_db
def test_the_close_notifies_each_loan_it_writes_off_once():
    """Writing off at 6 days past due: the close of 15 Feb (as of 16 Feb) writes off
    both loans, each with its row; closing on does not write another."""
    set_business_date(START)
    product = LoanProductFactory(write_off_days=6)
    loans = [
        active_loan(BorrowerFactory(), principal="3000.00", tenure=3, product=product.code)
        for _ in range(2)
    ]

    close_through(date(2026, 2, 15))
    close_through(date(2026, 2, 20))

    for loan in loans:
        (row,) = rows(loan, Kind.LOAN_WRITTEN_OFF)
        assert (row.business_date, row.payload["value_date"]) == (
            date(2026, 2, 15),
            "2026-02-15",
        )
        assert row.payload["written_off_amount"] == "3130.00"
