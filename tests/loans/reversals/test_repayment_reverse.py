"""Reversing a repayment: the replay of the others, worked out by hand.

The loan of every test here: 12,000.00 over 12 months at 12 % a year (reducing),
disbursed on 10 January 2026. EMI 1,066.19; the first three installments
(due 10 Feb, 10 Mar, 10 Apr):

| # | interest | principal |
| 1 | 120.00   | 946.19    |
| 2 | 110.54   | 955.65    |
| 3 | 100.98   | 965.21    |

Late fee (STANDARD): 2 % of the unpaid, at least 100.00 — 100.00 on any one EMI — charged
at the close of due date + 5 days.
"""

from datetime import date
from decimal import Decimal

import pytest

from ledger.models import Account, JournalEntry
from loans.exceptions import (
    DecisionForbiddenError,
    LoanError,
    RepaymentNotFoundError,
    ReversalError,
)
from loans.models import Loan, LoanEvent, Repayment
from loans.reversals import repayment_reverse
from loans.selectors import loan_ledger_share
from loans.services import loan_write_off
from tests.accounts.factories import BorrowerFactory, OfficerFactory
from tests.loans.factories import active_loan, repaid
from tests.loans.helpers import assert_books_clean
from tests.loans.servicing.helpers import close_through, set_business_date
from wallets.selectors import wallet_get_for_user
from wallets.services import wallet_deposit

D = Decimal
EMI = "1066.19"


def _loan(officer=None):
    set_business_date(date(2026, 1, 10))
    loan = active_loan(BorrowerFactory(), officer or OfficerFactory())
    wallet_deposit(user=loan.borrower, amount=D("5000.00"), idempotency_key="salary")
    return loan


def _three_payments_on_time(loan):
    """EMIs paid on their due dates: no fee is ever charged."""
    payments = []
    for n, due in enumerate([date(2026, 2, 10), date(2026, 3, 10), date(2026, 4, 10)], 1):
        close_through(date(due.year, due.month, due.day - 1))
        payments.append(repaid(loan, EMI, key=f"emi-{n}"))
    close_through(date(2026, 4, 19))  # business date 20 April
    return payments


def _installment(loan, number):
    return loan.installments.get(number=number)


@pytest.mark.django_db
def test_reversing_the_first_of_three_payments_replays_the_other_two_with_the_fees_they_missed():
    officer = OfficerFactory()
    loan = _loan(officer)
    first, second, third = _three_payments_on_time(loan)
    loan.refresh_from_db()
    owed_before = loan.outstanding_amount
    wallet_before = wallet_get_for_user(user=loan.borrower).balance
    share_before = loan_ledger_share(loan=loan)

    reversed_ = repayment_reverse(
        loan_id=loan.pk, repayment_id=first.pk, officer=officer, reason="Paid in error"
    )

    # Without the first payment: #1 is late from 10 Feb; its fee (100.00) is charged at the
    # close of 15 Feb. The 10 Mar payment pays #1: fee 100.00, interest 120.00, principal
    # 846.19 (of 946.19). #2's fee is charged on 15 Mar. The 10 Apr payment pays #1's last
    # 100.00 of principal, then #2: fee 100.00, interest 110.54, principal 755.65 (of
    # 955.65). #3 is then unpaid past 15 Apr: its fee.
    assert reversed_.status == Repayment.Status.REVERSED
    assert reversed_.reversed_on == date(2026, 4, 20)
    second.refresh_from_db()
    third.refresh_from_db()
    assert (second.fee_part, second.interest_part, second.principal_part) == (
        D("100.00"),
        D("120.00"),
        D("846.19"),
    )
    assert (third.fee_part, third.interest_part, third.principal_part) == (
        D("100.00"),
        D("110.54"),
        D("855.65"),
    )
    assert list(
        third.allocations.values_list("installment__number", "fee", "interest", "principal")
    ) == [(1, D("0.00"), D("0.00"), D("100.00")), (2, D("100.00"), D("110.54"), D("755.65"))]
    one, two, three = (_installment(loan, n) for n in (1, 2, 3))
    assert (one.fee_charged, one.fee_charged_on, one.fee_paid, one.paid_on) == (
        D("100.00"),
        date(2026, 2, 15),
        D("100.00"),
        date(2026, 4, 10),
    )
    assert (two.fee_charged, two.fee_charged_on, two.principal_paid, two.paid_on) == (
        D("100.00"),
        date(2026, 3, 15),
        D("755.65"),
        None,
    )
    assert (three.fee_charged, three.fee_charged_on, three.principal_paid) == (
        D("100.00"),
        date(2026, 4, 15),
        D("0.00"),
    )
    loan.refresh_from_db()
    # One EMI fewer paid and three fees charged.
    assert loan.outstanding_amount == owed_before + D(EMI) + D("300.00")
    # The oldest unpaid installment (#2) fell due on 10 Mar: 41 days before 20 Apr.
    assert (loan.days_past_due, loan.delinquency_bucket) == (41, "DPD_31_60")
    assert wallet_get_for_user(user=loan.borrower).balance == wallet_before + D(EMI)

    # Books: the reversal negates the payment; the re-allocation moves the difference.
    reversal = JournalEntry.objects.get(pk=reversed_.reversal_entry_id)
    assert reversal.reverses_id == first.entry_id
    assert sorted(reversal.postings.values_list("amount", flat=True)) == sorted(
        -p for p in first.entry.postings.values_list("amount", flat=True)
    )
    legs = dict(
        JournalEntry.objects.get(pk=reversed_.reallocation_entry_id).postings.values_list(
            "account__code", "amount"
        )
    )
    # 2nd: principal 955.65 → 846.19, interest 110.54 → 120.00, fee 0 → 100.00;
    # 3rd: principal 965.21 → 855.65, interest 100.98 → 110.54, fee 0 → 100.00;
    # fees charged: 0 → 300.00.
    assert legs == {
        Account.LOANS_RECEIVABLE: D("-219.02"),
        Account.INTEREST_INCOME: D("19.02"),
        Account.FEES_RECEIVABLE: D("-100.00"),
        Account.FEE_INCOME: D("300.00"),
    }
    share = loan_ledger_share(loan=loan)
    assert share[Account.LOANS_RECEIVABLE] == share_before[Account.LOANS_RECEIVABLE] - D(
        "946.19"
    ) - D("219.02")
    assert share[Account.FEE_INCOME] == D("300.00")
    assert_books_clean()


@pytest.mark.django_db
def test_reversing_a_payment_of_a_closed_loan_reopens_it_with_an_audited_transition():
    set_business_date(date(2026, 1, 10))
    officer = OfficerFactory()
    loan = active_loan(BorrowerFactory(), officer, principal="1200.00", tenure=1)
    wallet_deposit(user=loan.borrower, amount=D("12.00"), idempotency_key="in")  # + 1,200.00 lent
    # 1,200.00 at 1 % a month for one month: 12.00 of interest, due 10 Feb.
    payment = repaid(loan, "1212.00")
    loan.refresh_from_db()
    assert loan.status == Loan.Status.CLOSED
    close_through(date(2026, 2, 20))  # business date 21 Feb; the CLOSED loan is not closed

    repayment_reverse(
        loan_id=loan.pk, repayment_id=payment.pk, officer=officer, reason="Cheque bounced"
    )

    loan.refresh_from_db()
    # Owed again since 10 Feb, a fee at the close of 15 Feb: 2 % of 1,212.00 is 24.24,
    # so the minimum, 100.00.
    assert loan.status == Loan.Status.ACTIVE
    assert loan.outstanding_amount == D("1312.00")
    assert loan.closed_at is None
    assert loan.closed_through == date(2026, 2, 20)
    assert (loan.days_past_due, loan.delinquency_bucket) == (11, "DPD_1_30")
    event = LoanEvent.objects.filter(loan=loan).latest("pk")
    assert (event.source, event.target, event.actor) == ("CLOSED", "ACTIVE", officer)
    assert "Cheque bounced" in event.reason
    assert wallet_get_for_user(user=loan.borrower).balance == D("1212.00")
    assert_books_clean()


@pytest.mark.django_db
def test_reversing_twice_is_refused_and_changes_nothing():
    officer = OfficerFactory()
    loan = _loan(officer)
    close_through(date(2026, 2, 9))
    payment = repaid(loan, EMI)
    repayment_reverse(loan_id=loan.pk, repayment_id=payment.pk, officer=officer, reason="Error")
    entries = JournalEntry.objects.count()

    with pytest.raises(ReversalError, match="already reversed") as refused:
        repayment_reverse(loan_id=loan.pk, repayment_id=payment.pk, officer=officer, reason="x")

    assert refused.value.code == "already_reversed"
    assert JournalEntry.objects.count() == entries
    assert_books_clean()


@pytest.mark.django_db
def test_refusals_name_the_problem():
    officer = OfficerFactory()
    loan = _loan(officer)
    close_through(date(2026, 2, 9))
    payment = repaid(loan, EMI)
    other = active_loan(BorrowerFactory(), officer)

    with pytest.raises(LoanError, match="reason: a reversal needs a reason"):
        repayment_reverse(loan_id=loan.pk, repayment_id=payment.pk, officer=officer, reason=" ")
    with pytest.raises(RepaymentNotFoundError, match=f"has no repayment {payment.pk}"):
        repayment_reverse(loan_id=other.pk, repayment_id=payment.pk, officer=officer, reason="x")
    with pytest.raises(DecisionForbiddenError, match="own loan"):
        repayment_reverse(
            loan_id=loan.pk, repayment_id=payment.pk, officer=loan.borrower, reason="x"
        )
    payment.refresh_from_db()
    assert payment.status == Repayment.Status.SUCCESS


@pytest.mark.django_db
def test_reversing_a_repayment_that_an_earlier_reversal_reallocated_undoes_its_current_split():
    """Found by the replay property: the reversal entry negates the first posting only."""
    officer = OfficerFactory()
    loan = _loan(officer)
    first, second, third = _three_payments_on_time(loan)
    repayment_reverse(loan_id=loan.pk, repayment_id=first.pk, officer=officer, reason="Error")

    repayment_reverse(loan_id=loan.pk, repayment_id=second.pk, officer=officer, reason="Error")

    # Only the 10 Apr payment stands: fees on #1 (15 Feb), #2 (15 Mar) and #3 (15 Apr);
    # on 10 Apr (59 days past due, performing) it pays #1's fee 100.00, interest 120.00
    # and 846.19 of principal.
    third.refresh_from_db()
    assert (third.fee_part, third.interest_part, third.principal_part) == (
        D("100.00"),
        D("120.00"),
        D("846.19"),
    )
    share = loan_ledger_share(loan=loan)
    assert share[Account.LOANS_RECEIVABLE] == D("-12000.00") + D("846.19")
    assert share[Account.INTEREST_INCOME] == D("120.00")
    assert share[Account.FEES_RECEIVABLE] == D("-300.00") + D("100.00")
    assert share[Account.FEE_INCOME] == D("300.00")
    assert share[f"wallet:{loan.borrower_id}"] == D("12000.00") - D(EMI)
    loan.refresh_from_db()
    assert loan.outstanding_amount == sum((i.unpaid for i in loan.installments.all()), D("0.00"))
    assert_books_clean()


@pytest.mark.django_db
def test_a_loan_the_replay_does_not_reproduce_is_refused_and_left_as_it_is():
    """A payment applied just after the close of its own value date (the race of
    SERVICING.md) follows a fee the replay, which puts a day's payments before its
    close, would not charge: the loan is not what its repayments make it."""
    officer = OfficerFactory()
    loan = _loan(officer)
    close_through(date(2026, 2, 9))
    on_time = repaid(loan, EMI, key="emi-1")
    close_through(date(2026, 3, 15))  # #2 (due 10 Mar) charged its fee closing 15 Mar
    set_business_date(date(2026, 3, 15))  # a payment dated 15 Mar, after that close
    late = repaid(loan, "1166.19", key="emi-2")
    set_business_date(date(2026, 3, 16))
    loan.refresh_from_db()
    owed, entries = loan.outstanding_amount, JournalEntry.objects.count()

    with pytest.raises(ReversalError, match="cannot be replayed") as refused:
        repayment_reverse(loan_id=loan.pk, repayment_id=on_time.pk, officer=officer, reason="x")

    assert refused.value.code == "not_replayable"
    loan.refresh_from_db()
    late.refresh_from_db()
    assert (loan.outstanding_amount, late.fee_part) == (owed, D("100.00"))
    assert JournalEntry.objects.count() == entries


@pytest.mark.django_db
def test_a_repayment_of_a_written_off_loan_is_not_reversed():
    officer = OfficerFactory()
    loan = _loan(officer)
    close_through(date(2026, 2, 9))
    payment = repaid(loan, EMI)
    # Unpaid principal 12,000.00 - 946.19 = 11,053.81, below STANDARD's 200,000.00: one officer.
    loan_write_off(loan_id=loan.pk, officer=officer, reason="Borrower absconded")
    entries = JournalEntry.objects.count()

    with pytest.raises(ReversalError, match="written off") as refused:
        repayment_reverse(loan_id=loan.pk, repayment_id=payment.pk, officer=officer, reason="x")

    assert refused.value.code == "written_off"
    payment.refresh_from_db()
    assert payment.status == Repayment.Status.SUCCESS
    assert JournalEntry.objects.count() == entries
