"""Write-off (by an officer, and by the close at the product's threshold) and recovery.

The loan of most tests, worked by hand (12 % a year is 1 % a month):

    12,000.00 over 12 months at 12 %, disbursed 2026-01-01; EMI 1,066.19
    #  due         interest                        principal   remaining
    1  2026-02-01  12,000.00 x 1 % = 120.00        946.19      11,053.81
    2  2026-03-01  11,053.81 x 1 % = 110.5381 → 110.54   955.65   10,098.16
    3  2026-04-01  10,098.16 x 1 % = 100.9816 → 100.98   965.21    9,132.95

Never paid. Late fee: 2 % of the unpaid 1,066.19 = 21.32, raised to the minimum 100.00,
charged when an installment is more than 5 grace days past due.
"""

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from ledger.models import Account, JournalEntry
from ledger.selectors import account_get_system
from loans.exceptions import (
    DecisionForbiddenError,
    LoanError,
    LoanStateError,
    RepaymentError,
    SameOfficerError,
)
from loans.models import Loan, LoanEvent, LoanRecovery, LoanWriteOff, OfficerActionRequest
from loans.services import loan_approve, loan_write_off
from tests.accounts.factories import BorrowerFactory, OfficerFactory
from tests.ledger.books import account_balance
from tests.loans.factories import LoanProductFactory, active_loan, repaid
from tests.loans.helpers import assert_books_clean
from tests.loans.servicing.helpers import close_through, reducing_emi, set_business_date
from wallets.models import Wallet
from wallets.services import wallet_deposit

D = Decimal
START = date(2026, 1, 1)


def loss_balance() -> Decimal:
    return -account_balance(account_id=account_get_system(Account.LOAN_LOSS).pk)


def recovery_income() -> Decimal:
    return account_balance(account_id=account_get_system(Account.RECOVERY_INCOME).pk)


@pytest.fixture
def product(db):
    return LoanProductFactory(write_off_days=40)


@pytest.fixture
def loan(product):
    set_business_date(START)
    made = active_loan(BorrowerFactory(), principal="12000.00", rate="12.00", product=product.code)
    assert made.emi_amount == reducing_emi("12000.00", "12.00", 12) == D("1066.19")
    return made


@pytest.mark.django_db
def test_the_close_writes_off_a_loan_the_day_it_reaches_the_threshold(loan):
    # 2026-02-01 + 40 days = 2026-03-13: closing 2026-03-12 sees 40 days past due.
    close_through(date(2026, 3, 11))
    loan.refresh_from_db()
    assert (loan.status, loan.days_past_due) == (Loan.Status.ACTIVE, 39)

    out = close_through(date(2026, 3, 12))

    loan.refresh_from_db()
    # principal 12,000.00 + interest due (#1 120.00 + #2 110.54) + fees 2 x 100.00
    assert loan.status == Loan.Status.WRITTEN_OFF
    assert (loan.written_off_amount, loan.outstanding_amount) == (D("12430.54"), D("0.00"))
    record = loan.write_off_record
    assert (record.principal, record.interest, record.fees) == (
        D("12000.00"),
        D("230.54"),
        D("200.00"),
    )
    assert (record.value_date, record.days_past_due, record.officer) == (
        date(2026, 3, 12),
        40,
        None,
    )
    assert "loans written off:        1 (12430.54)" in out
    event = loan.events.order_by("pk").last()
    assert (event.source, event.target, event.actor) == ("ACTIVE", "WRITTEN_OFF", None)
    assert loss_balance() == D("12000.00")
    entry = JournalEntry.objects.get(kind=JournalEntry.Kind.WRITE_OFF)
    legs = {p.account.code: p.amount for p in entry.postings.select_related("account")}
    assert legs == {
        "loans_receivable": D("12000.00"),
        "loan_loss": D("-12000.00"),
        "fees_receivable": D("200.00"),
        "fee_income": D("-200.00"),
    }
    assert account_balance(account_id=account_get_system(Account.FEE_INCOME).pk) == D("0.00")
    assert_books_clean()

    close_through(date(2026, 4, 10))  # a written-off loan is no longer closed: no new fees
    assert LoanWriteOff.objects.count() == 1
    assert loan.installments.get(number=3).fee_charged == D("0.00")
    assert_books_clean()


@pytest.mark.django_db
def test_products_without_a_threshold_never_write_off(db):
    set_business_date(START)
    loan = active_loan(BorrowerFactory(), principal="12000.00", rate="12.00")  # STANDARD

    close_through(date(2026, 6, 30))

    loan.refresh_from_db()
    assert loan.status == Loan.Status.ACTIVE and loan.days_past_due > 140
    assert not LoanWriteOff.objects.exists()


@pytest.mark.django_db
def test_recoveries_are_accepted_up_to_what_was_written_off(loan):
    close_through(date(2026, 3, 12))
    borrower = loan.borrower
    wallet = Wallet.objects.get(user=borrower)
    assert wallet.balance == D("12000.00")  # the disbursement, untouched
    wallet_deposit(user=borrower, amount=D("500.00"), idempotency_key="top-up")

    first = repaid(loan, "500.00", key="r1")

    assert isinstance(first, LoanRecovery)
    loan.refresh_from_db()
    assert (loan.recovered_amount, loan.outstanding_amount) == (D("500.00"), D("0.00"))
    # 12,430.54 written off - 500.00 recovered = 11,930.54 left to recover
    with pytest.raises(RepaymentError) as refused:
        repaid(loan, "11930.55", key="r2")
    assert refused.value.code == "amount_exceeds_recoverable"
    assert refused.value.extra["recoverable"] == "11930.54"
    repaid(loan, "11930.54", key="r3")
    loan.refresh_from_db()
    assert loan.recovered_amount == loan.written_off_amount == D("12430.54")
    with pytest.raises(RepaymentError):
        repaid(loan, "0.01", key="r4")
    assert recovery_income() == D("12430.54")
    assert Wallet.objects.get(user=borrower).balance == D("12500.00") - D("12430.54")
    assert loss_balance() == D("12000.00")  # the loss stays booked; recoveries are income
    assert_books_clean()


@pytest.mark.django_db
def test_an_officer_writes_off_with_a_reason_and_interest_due_only(loan):
    close_through(date(2026, 2, 14))  # business date 2026-02-15: #1 overdue, fee charged
    officer = OfficerFactory()

    record = loan_write_off(loan_id=loan.pk, officer=officer, reason="Borrower deceased")

    loan.refresh_from_db()
    # principal 12,000.00 + #1's interest 120.00 (#2 falls due 2026-03-01: not owed) + fee 100.00
    assert (record.principal, record.interest, record.fees) == (
        D("12000.00"),
        D("120.00"),
        D("100.00"),
    )
    assert loan.written_off_amount == D("12220.00")
    assert (record.officer, record.reason, record.value_date) == (
        officer,
        "Borrower deceased",
        date(2026, 2, 15),
    )
    event = LoanEvent.objects.filter(loan=loan).order_by("pk").last()
    assert (event.target, event.actor, event.reason) == (
        "WRITTEN_OFF",
        officer,
        "Borrower deceased",
    )
    assert_books_clean()


@pytest.mark.django_db
def test_partly_paid_loans_write_off_what_is_unpaid(loan):
    wallet_deposit(user=loan.borrower, amount=D("1.00"), idempotency_key="x")
    repaid(loan, "1066.19")  # installment 1 in full, on 2026-01-01
    repaid(loan, "200.00", key="second")  # #2: 110.54 interest, 89.46 principal
    set_business_date(date(2026, 3, 5))

    record = loan_write_off(loan_id=loan.pk, officer=OfficerFactory(), reason="Fraud")

    # principal 12,000.00 - 946.19 - 89.46 = 10,964.35; #2's interest is paid; no fee yet
    # (2026-03-05 is within #2's grace); #3 not yet due.
    assert (record.principal, record.interest, record.fees) == (
        D("10964.35"),
        D("0.00"),
        D("0.00"),
    )
    assert loss_balance() == D("10964.35")
    assert_books_clean()


@pytest.mark.django_db
def test_above_the_threshold_a_second_officer_confirms(db):
    set_business_date(START)
    product = LoanProductFactory()  # threshold 50,000.00
    loan = active_loan(BorrowerFactory(), principal="60000.00", rate="12.00", product=product.code)
    loan = loan_approve(loan_id=loan.pk, officer=OfficerFactory())  # a large loan: 2 officers
    maker, checker = OfficerFactory(), OfficerFactory()

    pending = loan_write_off(loan_id=loan.pk, officer=maker, reason="Absconded")

    assert isinstance(pending, OfficerActionRequest)
    assert (pending.amount, pending.status) == (D("60000.00"), "PENDING")
    loan.refresh_from_db()
    assert loan.status == Loan.Status.ACTIVE
    with pytest.raises(SameOfficerError):
        loan_write_off(loan_id=loan.pk, officer=maker, reason="Absconded")

    record = loan_write_off(loan_id=loan.pk, officer=checker, reason="Absconded")

    pending.refresh_from_db()
    assert (pending.status, pending.confirmed_by) == ("CONFIRMED", checker)
    assert (record.officer, record.confirmation) == (checker, pending)
    assert Loan.objects.get(pk=loan.pk).status == Loan.Status.WRITTEN_OFF
    with pytest.raises(LoanStateError):  # carried out: a third call is refused by state
        loan_write_off(loan_id=loan.pk, officer=OfficerFactory(), reason="Again")
    assert_books_clean()


@pytest.mark.django_db
def test_only_active_loans_are_written_off_and_refusals_change_nothing(db):
    set_business_date(START)
    closed = active_loan(BorrowerFactory(), principal="1200.00", tenure=1)
    wallet_deposit(user=closed.borrower, amount=D("12.00"), idempotency_key="k")
    repaid(closed, "1212.00")
    officer = OfficerFactory()
    entries = JournalEntry.objects.count()

    with pytest.raises(LoanStateError):
        loan_write_off(loan_id=closed.pk, officer=officer, reason="Mistake")
    with pytest.raises(LoanError) as no_reason:
        loan_write_off(loan_id=closed.pk, officer=officer, reason="  ")
    assert no_reason.value.code == "write_off_reason_required"
    with pytest.raises(DecisionForbiddenError):  # a borrower has no such permission
        loan_write_off(loan_id=closed.pk, officer=BorrowerFactory(), reason="x")

    closed.refresh_from_db()
    assert closed.status == Loan.Status.CLOSED
    assert JournalEntry.objects.count() == entries
    assert not LoanWriteOff.objects.exists()


@pytest.mark.django_db
def test_postgresql_keeps_written_off_loans_owing_nothing_and_recoveries_bounded(loan):
    close_through(date(2026, 3, 12))
    with (
        pytest.raises(IntegrityError, match="loans_loan_written_off_amounts"),
        transaction.atomic(),
    ):
        Loan.objects.filter(pk=loan.pk).update(recovered_amount=D("12430.55"))
    with (
        pytest.raises(IntegrityError, match="loans_loan_written_off_amounts"),
        transaction.atomic(),
    ):
        Loan.objects.filter(pk=loan.pk).update(outstanding_amount=D("1.00"))


@pytest.mark.django_db
def test_the_dashboard_counts_written_off_loans_apart_from_the_outstanding(loan):
    from loans.selectors import loan_portfolio_summary

    other = active_loan(BorrowerFactory(), principal="6000.00", rate="12.00", tenure=6)
    repaid(loan, "1066.19")  # installment 1: 946.19 of principal
    loan_write_off(loan_id=loan.pk, officer=OfficerFactory(), reason="Fraud")
    wallet_deposit(user=loan.borrower, amount=D("50.00"), idempotency_key="k")
    repaid(loan, "40.00", key="recovered")

    summary = loan_portfolio_summary()

    assert summary.disbursed == D("18000.00")  # 12,000.00 written off + 6,000.00 active
    assert summary.written_off_principal == D("11053.81")  # 12,000.00 - 946.19
    assert summary.outstanding_principal == D("6000.00")  # the other loan's only
    assert summary.written_off == D("11053.81")  # on 2026-01-01 nothing else was due
    assert summary.recovered == D("40.00")
    assert summary.outstanding_total == other.outstanding_amount


@pytest.mark.django_db
def test_a_loan_caught_up_past_its_threshold_is_written_off_before_a_waiver(loan):
    """The nightly close missed the loan (a failure): the first write on it catches up,
    writes it off on the day it reached 40 days past due, and the waiver is refused."""
    from loans.services import loan_fee_waive

    set_business_date(date(2026, 3, 20))  # moved on without closing this loan's days

    with pytest.raises(LoanStateError, match="WRITTEN_OFF"):
        loan_fee_waive(
            loan_id=loan.pk,
            installment_number=1,
            amount=D("100.00"),
            reason="Goodwill",
            officer=OfficerFactory(),
        )

    # The refusal rolled the catch-up back with it; the next close does the same work.
    loan.refresh_from_db()
    assert loan.status == Loan.Status.ACTIVE
    close_through(date(2026, 3, 20))
    loan.refresh_from_db()
    assert loan.status == Loan.Status.WRITTEN_OFF
    assert loan.write_off_record.value_date == date(2026, 3, 12)
    assert loan.written_off_amount == D("12430.54")  # as if the close had never missed it
    assert_books_clean()


@pytest.mark.django_db
def test_a_payment_that_catches_up_past_the_threshold_is_a_recovery(loan):
    set_business_date(date(2026, 3, 20))  # the loan's days 1 Jan to 19 Mar not yet closed

    paid = repaid(loan, "100.00", key="late")

    assert isinstance(paid, LoanRecovery)
    loan.refresh_from_db()
    assert (loan.status, loan.written_off_amount) == (Loan.Status.WRITTEN_OFF, D("12430.54"))
    assert loan.recovered_amount == D("100.00")
    assert_books_clean()


def _queries_to_close(day: date) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from ledger.selectors import account_system_id

    account_system_id.cache_clear()  # both runs read the system accounts' ids afresh
    with CaptureQueriesContext(connection) as captured:
        close_through(day)
    return len(captured)


@pytest.mark.django_db
def test_the_close_write_off_step_is_set_based(product):
    """Writing off more loans on a day costs no more queries: one statement per step."""
    set_business_date(START)
    few = [active_loan(BorrowerFactory(), product=product.code) for _ in range(2)]
    close_through(date(2026, 3, 11))
    few_queries = _queries_to_close(date(2026, 3, 12))  # both written off

    many_product = LoanProductFactory(write_off_days=40)
    set_business_date(date(2026, 6, 1))
    many = [active_loan(BorrowerFactory(), product=many_product.code) for _ in range(6)]
    close_through(date(2026, 8, 8))
    many_queries = _queries_to_close(date(2026, 8, 9))  # 1 Jul + 40 days: all six written off

    assert all(Loan.objects.get(pk=x.pk).status == "WRITTEN_OFF" for x in few + many)
    assert many_queries == few_queries
    assert_books_clean()


def _failed_checks() -> set[str]:
    import json
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    with pytest.raises(SystemExit):
        call_command("reconcile", "--json", stdout=out)
    return {c["name"] for c in json.loads(out.getvalue())["checks"] if not c["ok"]}


@pytest.mark.django_db
def test_reconcile_finds_a_recovery_recorded_without_its_money(loan):
    from django.db import connection

    close_through(date(2026, 3, 12))
    repaid(loan, "300.00", key="r")
    with connection.cursor() as cursor:  # the recovery row says more than was posted
        cursor.execute("UPDATE loans_loanrecovery SET amount = amount + 1")

    assert _failed_checks() == {"recovery_income", "loan_recovered"}


@pytest.mark.django_db
def test_reconcile_finds_a_write_off_that_disagrees_with_the_loan(loan):
    from django.db import connection

    close_through(date(2026, 3, 12))
    with connection.cursor() as cursor:  # more principal "written off" than was unpaid
        cursor.execute(
            "UPDATE loans_loanwriteoff SET principal = principal + 1, amount = amount + 1"
        )

    assert _failed_checks() == {"loan_write_offs", "loan_loss"}
