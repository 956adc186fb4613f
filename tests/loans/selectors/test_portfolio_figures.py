from datetime import date, datetime
from decimal import Decimal as D

import pytest
from django.db.models import F, Sum
from django.utils import timezone

from loans.models import Installment, Loan, LoanEvent, Repayment
from loans.selectors import loan_event_list_recent, loan_flows_by_month, loan_portfolio_summary
from tests.accounts.factories import BorrowerFactory, OfficerFactory
from tests.loans.factories import active_loan, applied_loan, portfolio, repaid

# Months are calendar months in the site's time zone (TIME_ZONE).
LOCAL = timezone.get_default_timezone()


def _figures_by_status(summary):
    return {row.status: (row.count, row.principal, row.outstanding) for row in summary.by_status}


@pytest.mark.django_db
def test_an_empty_book_gives_zero_for_every_status():
    summary = loan_portfolio_summary()

    assert [row.status for row in summary.by_status] == [
        "APPLIED",
        "APPROVED",
        "REJECTED",
        "ACTIVE",
        "CLOSED",
        "WRITTEN_OFF",
    ]
    assert {row.count for row in summary.by_status} == {0}
    assert summary.disbursed == summary.outstanding_principal == D("0.00")
    assert summary.collected_principal == summary.collected_interest == D("0.00")
    assert summary.pending_count == 0


@pytest.mark.django_db
def test_loans_are_counted_and_totalled_by_status():
    loans = portfolio()
    active = loans["active"]

    summary = loan_portfolio_summary()

    assert _figures_by_status(summary) == {
        "APPLIED": (1, D("12000.00"), D("0.00")),
        "APPROVED": (1, D("250000.00"), D("0.00")),
        "REJECTED": (1, D("30000.00"), D("0.00")),
        "ACTIVE": (1, D("12000.00"), D("12000.00") + active.total_interest - D("1000.00")),
        "CLOSED": (1, D("1200.00"), D("0.00")),
        "WRITTEN_OFF": (0, D("0.00"), D("0.00")),
    }
    assert summary.pending_count == 2  # the application and the approval awaiting a checker
    assert summary.outstanding_total == active.outstanding_amount


@pytest.mark.django_db
def test_money_paid_out_collected_and_outstanding():
    portfolio()

    summary = loan_portfolio_summary()

    assert summary.disbursed == D("13200.00")  # the active and the closed loan
    assert summary.collected_principal == D("880.00") + D("1200.00")
    assert summary.collected_interest == D("120.00") + D("12.00")
    assert summary.collected == D("2212.00")
    assert summary.outstanding_principal == D("11120.00")


@pytest.mark.django_db
def test_outstanding_principal_agrees_with_the_unpaid_installments():
    portfolio()
    repaid(active_loan(BorrowerFactory(), principal="50000.00", tenure=24), "7777.77")

    unpaid = Installment.objects.filter(loan__status=Loan.Status.ACTIVE).aggregate(
        left=Sum(F("principal") - F("principal_paid"))
    )["left"]

    assert loan_portfolio_summary().outstanding_principal == unpaid


@pytest.mark.django_db
def test_summary_runs_two_queries_whatever_the_number_of_loans(django_assert_num_queries):
    portfolio()
    for _ in range(5):
        repaid(active_loan(BorrowerFactory()), "500.00")
        applied_loan(BorrowerFactory())

    with django_assert_num_queries(2):
        summary = loan_portfolio_summary()

    assert sum(row.count for row in summary.by_status) == 15


def _disbursed_on(loan: Loan, when: datetime) -> None:
    Loan.objects.filter(pk=loan.pk).update(disbursed_at=when)


def _repaid_on(repayment: Repayment, when: datetime) -> None:
    Repayment.objects.filter(pk=repayment.pk).update(created_at=when)


@pytest.mark.django_db
def test_flows_total_each_calendar_month_with_zero_for_empty_months(django_assert_num_queries):
    officer = OfficerFactory()
    january = active_loan(BorrowerFactory(), officer, principal="10000.00")
    _disbursed_on(january, datetime(2026, 1, 1, 0, 0, tzinfo=LOCAL))  # first instant
    march = active_loan(BorrowerFactory(), officer, principal="20000.00")
    _disbursed_on(march, datetime(2026, 3, 31, 23, 59, tzinfo=LOCAL))  # last minute
    before = active_loan(BorrowerFactory(), officer, principal="40000.00")
    _disbursed_on(before, datetime(2025, 10, 31, 23, 59, tzinfo=LOCAL))  # before the window
    _repaid_on(repaid(january, "150.00", "a"), datetime(2026, 2, 10, tzinfo=LOCAL))
    _repaid_on(repaid(january, "150.00", "b"), datetime(2026, 3, 10, tzinfo=LOCAL))
    _repaid_on(repaid(march, "300.00", "c"), datetime(2026, 3, 11, tzinfo=LOCAL))
    _repaid_on(repaid(march, "1.00", "d"), datetime(2026, 4, 1, tzinfo=LOCAL))  # after it
    applied_loan(BorrowerFactory())  # never disbursed

    with django_assert_num_queries(2):
        flows = loan_flows_by_month(months=5, until=date(2026, 3, 15))

    assert [(row.month, row.disbursed, row.repaid) for row in flows] == [
        (date(2025, 11, 1), D("0.00"), D("0.00")),
        (date(2025, 12, 1), D("0.00"), D("0.00")),
        (date(2026, 1, 1), D("10000.00"), D("0.00")),
        (date(2026, 2, 1), D("0.00"), D("150.00")),
        (date(2026, 3, 1), D("20000.00"), D("450.00")),
    ]
    # 10,000.00 at 1 % a month: the first 100.00 of interest, then principal.
    assert (flows[3].repaid_interest, flows[3].repaid_principal) == (D("100.00"), D("50.00"))


@pytest.mark.django_db
def test_flows_default_to_the_twelve_months_ending_this_month():
    loans = portfolio()

    flows = loan_flows_by_month()

    assert len(flows) == 12
    assert flows[-1].disbursed == D("13200.00")
    assert flows[-1].repaid == D("2212.00")
    assert sum(row.disbursed for row in flows[:-1]) == D("0.00")
    assert loans["approved"].disbursed_at is None


@pytest.mark.django_db
def test_recent_events_are_the_newest_with_loan_borrower_and_actor(django_assert_num_queries):
    loans = portfolio()

    with django_assert_num_queries(1):
        events = loan_event_list_recent(limit=4)
        shown = [(e.loan_id, e.target, e.loan.borrower.email, e.actor.email) for e in events]

    newest = LoanEvent.objects.order_by("-pk")[:4]
    assert [e.pk for e in events] == [e.pk for e in newest]
    closed = loans["closed"]
    assert shown[0] == (closed.pk, "CLOSED", closed.borrower.email, closed.borrower.email)
