"""A loan's statement: its lines, balances and schedule, worked out by hand (conftest)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lendingsite.exceptions import ApplicationError
from loans.models import Installment, Loan
from loans.services import loan_fee_waive
from loans.statements import loan_statement
from tests.accounts.factories import BorrowerFactory, OfficerFactory
from tests.loans.factories import active_loan, applied_loan, repaid
from tests.loans.servicing.helpers import close_through, set_business_date
from tests.loans.statements.scenario import START
from wallets.services import wallet_deposit

D = Decimal

# (date, kind, debit, credit, fees, interest, principal, balance), from the conftest table.
EXPECTED = [
    (date(2026, 1, 10), "DISBURSEMENT", "168000", "0", "0", "18000", "150000", "168000"),
    (date(2026, 2, 12), "REPAYMENT", "0", "5000", "0", "1500", "3500", "163000"),
    (date(2026, 2, 15), "LATE_FEE", "180", "0", "180", "0", "0", "163180"),
    (date(2026, 2, 21), "FEE_WAIVER", "0", "80", "80", "0", "0", "163100"),
    (date(2026, 2, 21), "REPAYMENT", "0", "10000", "100", "900", "9000", "153100"),
    (date(2026, 3, 15), "LATE_FEE", "262", "0", "262", "0", "0", "153362"),
]


def _rows(statement):
    return [
        (
            line.on,
            line.kind,
            line.debit,
            line.credit,
            line.fees,
            line.interest,
            line.principal,
            line.balance,
        )
        for line in statement.lines
    ]


def _expected(rows):
    return [(day, kind, *(D(v) for v in figures)) for day, kind, *figures in rows]


def _live_outstanding(loan) -> Decimal:
    """What the loan owes, from its installments alone (not from the loan row)."""
    total = D("0.00")
    for i in Installment.objects.filter(loan=loan):
        owed = i.principal + i.interest + i.fee_charged
        total += owed - i.principal_paid - i.interest_paid - i.fee_paid - i.fee_waived
    return total


@pytest.mark.django_db
def test_the_whole_life_of_a_loan_line_by_line(serviced_loan):
    statement = loan_statement(loan=serviced_loan)

    assert (statement.period.since, statement.period.until) == (START, date(2026, 3, 21))
    assert statement.opening_balance == D("0.00")
    assert _rows(statement) == _expected(EXPECTED)
    assert statement.closing_balance == D("153362.00")
    assert (statement.totals.debit, statement.totals.credit) == (D("168442.00"), D("15080.00"))
    assert [line.reference for line in statement.lines][:2] == [
        f"disburse:{serviced_loan.pk}",
        f"repayment:{serviced_loan.pk}:p1",
    ]


@pytest.mark.django_db
def test_opening_plus_lines_is_the_closing_balance_and_what_the_loan_owes(serviced_loan):
    statement = loan_statement(loan=serviced_loan)

    moved = sum((line.debit - line.credit for line in statement.lines), D("0"))
    assert statement.opening_balance + moved == statement.closing_balance
    assert statement.closing_balance == _live_outstanding(serviced_loan)
    assert statement.closing_balance == Loan.objects.get(pk=serviced_loan.pk).outstanding_amount


@pytest.mark.django_db
def test_a_period_opens_on_the_balance_of_the_day_before(serviced_loan):
    statement = loan_statement(loan=serviced_loan, since=date(2026, 2, 13), until=date(2026, 2, 21))

    assert statement.opening_balance == D("163000.00")
    assert _rows(statement) == _expected(EXPECTED[2:5])
    assert statement.closing_balance == D("153100.00")
    assert (statement.totals.debit, statement.totals.credit) == (D("180.00"), D("10080.00"))


@pytest.mark.django_db
def test_a_quiet_period_has_no_lines_and_keeps_its_balance(serviced_loan):
    statement = loan_statement(loan=serviced_loan, since=date(2026, 3, 1), until=date(2026, 3, 14))

    assert statement.lines == []
    assert statement.opening_balance == statement.closing_balance == D("153100.00")


@pytest.mark.django_db
def test_the_schedule_shows_each_installment_on_the_business_date(serviced_loan):
    schedule = loan_statement(loan=serviced_loan).schedule

    first, second, third = schedule[:3]
    assert len(schedule) == 12
    assert (first.status, first.paid_on, first.unpaid) == ("PAID", date(2026, 2, 21), D("0"))
    assert (first.fee_charged, first.fee_paid, first.fee_waived) == (
        D("180.00"),
        D("100.00"),
        D("80.00"),
    )
    # #2: 900.00 of its interest paid; 600.00 interest, 12,500.00 principal and the fee left.
    assert (second.status, second.paid, second.unpaid) == ("OVERDUE", D("900.00"), D("13362.00"))
    assert (third.status, third.due_date, third.unpaid) == (
        "PENDING",
        date(2026, 4, 10),
        D("14000.00"),
    )


@pytest.mark.django_db
def test_the_terms_are_the_loans(serviced_loan):
    statement = loan_statement(loan=serviced_loan)

    assert (statement.borrower_name, statement.borrower_email) == ("Asha Rao", "asha@example.com")
    assert (statement.principal_amount, statement.total_interest, statement.emi_amount) == (
        D("150000.00"),
        D("18000.00"),
        D("14000.00"),
    )
    assert (statement.interest_method, statement.tenure_months) == ("FLAT", 12)
    assert (statement.days_past_due, statement.delinquency_bucket) == (11, "DPD_1_30")


@pytest.mark.django_db
def test_a_closed_loan_closes_at_zero(db):
    set_business_date(START)
    loan = active_loan(BorrowerFactory(), OfficerFactory(), principal="1200.00", tenure=1)
    wallet_deposit(user=loan.borrower, amount=D("12.00"), idempotency_key="top-up")
    repaid(loan, "1212.00")  # 1,200.00 and a month's interest at 1 %: 12.00

    statement = loan_statement(loan=loan)

    assert [(line.kind, line.balance) for line in statement.lines] == [
        ("DISBURSEMENT", D("1212.00")),
        ("REPAYMENT", D("0.00")),
    ]
    assert statement.status == "CLOSED"
    assert statement.schedule[0].status == "PAID"


@pytest.mark.django_db
def test_a_loan_never_disbursed_has_no_statement(db):
    loan = applied_loan(BorrowerFactory())

    with pytest.raises(ApplicationError, match="once it is disbursed") as refusal:
        loan_statement(loan=loan)

    assert (refusal.value.status_code, refusal.value.code) == (409, "not_disbursed")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("since", "until", "code"),
    [
        (date(2026, 3, 1), date(2026, 2, 1), "inverted_period"),
        (None, date(2026, 1, 9), "inverted_period"),  # ends before the disbursement
        (None, date(2026, 3, 22), "period_after_business_date"),
    ],
)
def test_a_bad_period_is_refused(serviced_loan, since, until, code):
    with pytest.raises(ApplicationError) as refusal:
        loan_statement(loan=serviced_loan, since=since, until=until)

    assert (refusal.value.status_code, refusal.value.code) == (400, code)


def _queries(loan) -> int:
    with CaptureQueriesContext(connection) as queries:
        loan_statement(loan=loan)
    return len(queries)


@pytest.mark.django_db
def test_the_number_of_queries_does_not_grow_with_the_lines(db):
    set_business_date(START)
    few = active_loan(BorrowerFactory(), OfficerFactory(), principal="12000.00")
    many = active_loan(BorrowerFactory(), OfficerFactory(), principal="12000.00")
    repaid(few, "100.00", key="only")
    for day in range(40):
        repaid(many, "10.00", key=f"day-{day}")
        close_through(START + timedelta(days=day))
    close_through(date(2026, 3, 31))  # fees on both loans
    waived = Installment.objects.filter(loan=many, fee_charged__gt=0).order_by("number")[0]
    loan_fee_waive(
        loan_id=many.pk,
        installment_number=waived.number,
        amount=D("1.00"),
        reason="goodwill",
        officer=OfficerFactory(),
    )

    assert len(loan_statement(loan=many).lines) > 40
    # the snapshot (2), the loan, the business date, the installments, and one query per
    # line source that reads rows: versions, repayments, waivers, write-off, recoveries
    assert _queries(many) == _queries(few) <= 10


@pytest.mark.django_db
def test_any_two_adjoining_periods_meet_on_one_balance(serviced_loan):
    """For every day D of the loan's life: the statement from D opens where the one to
    D - 1 closed, and the two together hold every line exactly once."""
    whole = loan_statement(loan=serviced_loan)
    day = START + timedelta(days=1)
    while day <= whole.period.until:
        before = loan_statement(loan=serviced_loan, until=day - timedelta(days=1))
        after = loan_statement(loan=serviced_loan, since=day)
        assert after.opening_balance == before.closing_balance, day
        assert before.lines + after.lines == whole.lines, day
        assert after.closing_balance == whole.closing_balance
        day += timedelta(days=1)
