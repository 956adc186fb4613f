"""The close of business, driven as operators drive it: by moving the business date."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from ledger.models import JournalEntry
from loans.models import DelinquencyChange, Installment, Loan
from loans.services import loan_approve
from tests.accounts.factories import BorrowerFactory, OfficerFactory
from tests.concurrency import run_concurrently
from tests.loans.factories import active_loan
from tests.loans.helpers import assert_books_clean
from tests.loans.servicing.helpers import (
    business_date,
    close_through,
    late_fee,
    reducing_emi,
    set_business_date,
)

D = Decimal
START = date(2026, 1, 10)  # disbursement day: installments fall due on the 10th


@pytest.fixture
def loan(db):
    set_business_date(START)
    return active_loan(BorrowerFactory(), OfficerFactory(), principal="12000.00", tenure=12)


def _fees(loan) -> dict[int, tuple[Decimal, date]]:
    return {
        number: (fee, day)
        for number, fee, day in loan.installments.filter(fee_charged__gt=0).values_list(
            "number", "fee_charged", "fee_charged_on"
        )
    }


@pytest.mark.django_db
def test_the_schedule_starts_a_month_after_the_disbursements_business_date(loan):
    dates = list(loan.installments.order_by("number").values_list("due_date", flat=True))

    assert dates[0] == date(2026, 2, 10)
    assert dates[-1] == date(2027, 1, 10)
    assert loan.disbursed_on == START
    assert loan.closed_through == date(2026, 1, 9)


@pytest.mark.django_db
def test_missed_installments_walk_the_loan_through_every_bucket(loan):
    """DPD = business date - the oldest unpaid due date; the buckets change at 1, 31, 61, 91."""
    # (close through, business date after, days past due, bucket)
    steps = [
        (date(2026, 2, 9), date(2026, 2, 10), 0, "CURRENT"),  # due today: not yet overdue
        (date(2026, 2, 10), date(2026, 2, 11), 1, "DPD_1_30"),
        (date(2026, 2, 15), date(2026, 2, 16), 6, "DPD_1_30"),
        (date(2026, 3, 12), date(2026, 3, 13), 31, "DPD_31_60"),
        (date(2026, 4, 11), date(2026, 4, 12), 61, "DPD_61_90"),
        (date(2026, 5, 11), date(2026, 5, 12), 91, "DPD_91_PLUS"),
    ]
    for closed, today, days, bucket in steps:
        close_through(closed)
        loan.refresh_from_db()
        assert business_date() == today
        assert (loan.days_past_due, loan.delinquency_bucket) == (days, bucket), today
        assert loan.closed_through == closed
        assert_books_clean()

    history = list(
        DelinquencyChange.objects.filter(loan=loan).values_list("on", "from_bucket", "to_bucket")
    )
    assert history == [
        (date(2026, 2, 11), "CURRENT", "DPD_1_30"),
        (date(2026, 3, 13), "DPD_1_30", "DPD_31_60"),
        (date(2026, 4, 12), "DPD_31_60", "DPD_61_90"),
        (date(2026, 5, 12), "DPD_61_90", "DPD_91_PLUS"),
    ]


@pytest.mark.django_db
def test_one_late_fee_per_installment_after_the_grace_days(loan):
    emi = reducing_emi("12000.00", "12", 12)
    close_through(date(2026, 2, 14))  # DPD 5 on the 15th: within the grace days
    assert _fees(loan) == {}

    close_through(date(2026, 2, 15))  # DPD 6 on the 16th: the fee
    close_through(date(2026, 4, 30))

    # Installments due Feb 10, Mar 10 and Apr 10 are each charged once, at the close of
    # the 15th: 2 % of 1,066.19 is 21.32, so the 100.00 minimum.
    assert late_fee(emi) == D("100.00")
    assert _fees(loan) == {
        1: (D("100.00"), date(2026, 2, 15)),
        2: (D("100.00"), date(2026, 3, 15)),
        3: (D("100.00"), date(2026, 4, 15)),
    }
    loan.refresh_from_db()
    assert loan.outstanding_amount == loan.principal_amount + loan.total_interest + D("300.00")
    assert JournalEntry.objects.filter(kind="FEE_CHARGE").count() == 3
    assert_books_clean()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("principal", "tenure"),
    [("12000.00", 12), ("500000.00", 12), ("500000.00", 6)],
    ids=["minimum", "percentage", "maximum"],
)
def test_the_late_fee_is_two_percent_of_the_unpaid_installment_within_its_bounds(principal, tenure):
    set_business_date(START)
    loan = active_loan(BorrowerFactory(), OfficerFactory(), principal=principal, tenure=tenure)
    if loan.status == Loan.Status.APPROVED:  # maker-checker: a second officer disburses
        loan = loan_approve(loan_id=loan.pk, officer=OfficerFactory())
    assert loan.status == Loan.Status.ACTIVE
    first = loan.installments.get(number=1)

    close_through(date(2026, 2, 15))

    first.refresh_from_db()
    assert first.fee_charged == late_fee(first.total)
    assert_books_clean()


@pytest.mark.django_db
def test_closing_a_closed_day_again_changes_nothing(loan):
    close_through(date(2026, 2, 20))
    before = (_fees(loan), Loan.objects.get(pk=loan.pk).outstanding_amount)

    again = close_through(date(2026, 2, 20))
    earlier = close_through(date(2026, 2, 1))

    assert "already closed" in again and "already closed" in earlier
    assert (_fees(loan), Loan.objects.get(pk=loan.pk).outstanding_amount) == before
    assert business_date() == date(2026, 2, 21)
    assert JournalEntry.objects.filter(kind="FEE_CHARGE").count() == 1


@pytest.mark.django_db
def test_ten_skipped_days_are_caught_up_one_after_another(loan):
    close_through(date(2026, 2, 11))

    out = close_through(date(2026, 2, 21))

    loan.refresh_from_db()
    assert "2026-02-12 to 2026-02-21 (10 day(s))" in out
    assert business_date() == date(2026, 2, 22)
    assert (loan.closed_through, loan.days_past_due) == (date(2026, 2, 21), 12)
    assert _fees(loan) == {1: (D("100.00"), date(2026, 2, 15))}
    assert_books_clean()


@pytest.mark.django_db(transaction=True)
def test_two_closes_at_once_charge_each_fee_once():
    set_business_date(START)
    officer = OfficerFactory()
    loans = [
        active_loan(BorrowerFactory(), officer, principal="12000.00", tenure=12) for _ in range(6)
    ]

    outcomes = run_concurrently(
        [lambda: close_through(date(2026, 3, 20), "--chunk-size", "2") for _ in range(2)]
    )

    assert all(isinstance(outcome, str) for outcome in outcomes), outcomes
    assert business_date() == date(2026, 3, 21)
    for loan in loans:
        assert _fees(loan) == {
            1: (D("100.00"), date(2026, 2, 15)),
            2: (D("100.00"), date(2026, 3, 15)),
        }
    assert JournalEntry.objects.filter(kind="FEE_CHARGE").count() == 12
    assert_books_clean()


@pytest.mark.django_db(transaction=True)
def test_partitions_close_their_share_and_the_date_moves_when_both_are_done():
    set_business_date(START)
    officer = OfficerFactory()
    loans = [active_loan(BorrowerFactory(), officer) for _ in range(4)]

    run_concurrently(
        [lambda part=part: close_through(START, "--partition", f"{part}/2") for part in (1, 2)]
    )

    assert business_date() == date(2026, 1, 11)
    assert {Loan.objects.get(pk=loan.pk).closed_through for loan in loans} == {START}


@pytest.mark.django_db
def test_a_future_day_needs_allow_future(loan):
    with pytest.raises(CommandError, match="--allow-future"):
        call_command("close_business_day", "--date", "2999-01-01")

    assert business_date() == START


@pytest.mark.django_db
@pytest.mark.parametrize("bad", ["2026-13-01", "yesterday", "2026/02/01"])
def test_a_malformed_date_is_refused_and_changes_nothing(loan, bad):
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("close_business_day", "--allow-future", "--date", bad)

    assert business_date() == START


@pytest.mark.django_db
@pytest.mark.parametrize("bad", ["0/2", "3/2", "1", "a/b"])
def test_a_malformed_partition_is_refused(loan, bad):
    with pytest.raises(CommandError, match="K/N"):
        call_command(
            "close_business_day", "--allow-future", "--date", "2026-01-10", "--partition", bad
        )

    assert business_date() == START


@pytest.mark.django_db
def test_paid_installments_are_not_overdue_and_charge_no_fee(loan):
    from tests.loans.factories import repaid
    from wallets.services import wallet_deposit

    first = loan.installments.get(number=1)
    wallet_deposit(user=loan.borrower, amount=D("1000.00"), idempotency_key="top-up")
    close_through(date(2026, 2, 9))
    repaid(loan, str(first.total))
    close_through(date(2026, 2, 28))

    loan.refresh_from_db()
    first.refresh_from_db()
    assert first.paid_on == date(2026, 2, 10)
    assert (loan.days_past_due, loan.delinquency_bucket) == (0, "CURRENT")
    assert _fees(loan) == {}
    assert Installment.objects.filter(loan=loan, paid_on__isnull=False).count() == 1
    assert_books_clean()


@pytest.mark.django_db
def test_a_loan_left_behind_is_caught_up_by_the_next_run_even_with_no_day_to_close(loan):
    close_through(date(2026, 2, 20))
    # Say the loan failed on the last two nights: the date moved on without it.
    Loan.objects.filter(pk=loan.pk).update(closed_through=date(2026, 2, 18))

    out = close_through(date(2026, 2, 20))  # already closed: only the stragglers

    loan.refresh_from_db()
    assert "1 loan(s) behind the business date caught up" in out
    assert loan.closed_through == date(2026, 2, 20)
    assert business_date() == date(2026, 2, 21)
    assert_books_clean()
