from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from ledger.exceptions import InsufficientFundsError
from ledger.models import Account, JournalEntry
from ledger.selectors import account_get_system
from loans.exceptions import (
    EligibilityError,
    LoanNotFoundError,
    LoanStateError,
    RepaymentError,
    SameOfficerError,
)
from loans.models import Loan
from loans.schedule import add_months
from loans.services import loan_approve, loan_reject, loan_repay
from tests.accounts.factories import BorrowerFactory, OfficerFactory
from tests.ledger.books import account_balance
from tests.loans.factories import active_loan, applied_loan
from tests.loans.helpers import assert_books_clean
from wallets.models import Wallet
from wallets.services import wallet_deposit

D = Decimal


def wallet_balance(user):
    return Wallet.objects.get(user=user).balance


@pytest.mark.django_db
def test_apply_stores_the_loan_and_its_full_schedule(borrower):
    loan = applied_loan(borrower, principal="100000.00", tenure=12, rate="12.00")

    assert loan.status == Loan.Status.APPLIED
    assert loan.emi_amount == D("8884.88")
    assert loan.outstanding_amount == D("0.00")  # nothing owed before disbursement
    rows = list(loan.installments.order_by("number"))
    assert len(rows) == 12
    assert sum(r.principal for r in rows) == D("100000.00")
    assert rows[-1].remaining_principal == D("0.00")


@pytest.mark.django_db
def test_flat_interest_matches_the_seed_example(borrower):
    loan = applied_loan(borrower, principal="100000.00", tenure=12, rate="12.00", method="FLAT")

    assert loan.emi_amount == D("9333.33")
    assert loan.total_interest == D("12000.00")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("terms", "code"),
    [
        ({"principal": "500000.01"}, "principal_above_maximum"),
        ({"tenure": 61}, "tenure_out_of_range"),
        ({"tenure": 0}, "tenure_out_of_range"),
        ({"rate": "50.01"}, "rate_out_of_range"),
    ],
)
def test_eligibility_rules_refuse_with_the_rule_named(borrower, terms, code):
    with pytest.raises(EligibilityError) as refused:
        applied_loan(borrower, **terms)

    assert refused.value.code == code
    assert not Loan.objects.exists()


@pytest.mark.django_db
def test_the_edges_of_the_product_are_allowed(borrower):
    applied_loan(borrower, principal="500000.00", tenure=60, rate="50.00")
    applied_loan(borrower, principal="0.01", tenure=1, rate="0.00")

    assert Loan.objects.count() == 2


@pytest.mark.django_db
def test_a_borrower_may_hold_at_most_two_open_loans(borrower):
    officer = OfficerFactory()
    active_loan(borrower, officer)
    active_loan(borrower, officer)

    with pytest.raises(EligibilityError) as refused:
        applied_loan(borrower)

    assert refused.value.code == "too_many_open_loans"


@pytest.mark.django_db
def test_the_open_loan_limit_is_checked_again_at_approval(borrower):
    officer = OfficerFactory()
    waiting = [applied_loan(borrower) for _ in range(3)]
    loan_approve(loan_id=waiting[0].pk, officer=officer)
    loan_approve(loan_id=waiting[1].pk, officer=officer)

    with pytest.raises(EligibilityError, match="already has 2"):
        loan_approve(loan_id=waiting[2].pk, officer=officer)

    waiting[2].refresh_from_db()
    assert waiting[2].status == Loan.Status.APPLIED


@pytest.mark.django_db
def test_approval_disburses_into_the_wallet_and_starts_the_schedule(borrower, officer):
    loan = applied_loan(borrower, principal="12000.00", tenure=12, rate="12.00")

    loan = loan_approve(loan_id=loan.pk, officer=officer)

    assert loan.status == Loan.Status.ACTIVE
    assert (loan.approved_by, loan.disbursed_by) == (officer, officer)
    assert wallet_balance(borrower) == D("12000.00")
    assert loan.outstanding_amount == loan.principal_amount + loan.total_interest
    receivable = account_get_system(Account.LOANS_RECEIVABLE)
    assert account_balance(account_id=receivable.pk) == D("-12000.00")
    first_due = add_months(timezone.localdate(), 1)
    dates = list(loan.installments.order_by("number").values_list("due_date", flat=True))
    assert dates[0] == first_due
    assert dates[-1] == add_months(first_due, 11)
    entry = JournalEntry.objects.get(reference=f"disburse:{loan.pk}")
    assert entry.kind == "LOAN_DISBURSEMENT"
    assert loan.disbursement_entry == entry
    assert_books_clean()


@pytest.mark.django_db
def test_maker_checker_needs_a_second_officer_for_large_loans(borrower, settings):
    maker, checker = OfficerFactory(), OfficerFactory()
    loan = applied_loan(borrower, principal="250000.00")

    first = loan_approve(loan_id=loan.pk, officer=maker)
    assert first.status == Loan.Status.APPROVED
    assert wallet_balance(borrower) == D("0.00")

    with pytest.raises(SameOfficerError):
        loan_approve(loan_id=loan.pk, officer=maker)

    second = loan_approve(loan_id=loan.pk, officer=checker)
    assert second.status == Loan.Status.ACTIVE
    assert (second.approved_by, second.disbursed_by) == (maker, checker)
    assert wallet_balance(borrower) == D("250000.00")
    assert_books_clean()


@pytest.mark.django_db
def test_the_database_refuses_one_officer_as_maker_and_checker(borrower):
    officer = OfficerFactory()
    loan = applied_loan(borrower, principal="250000.00")
    loan_approve(loan_id=loan.pk, officer=officer)

    with pytest.raises(IntegrityError, match="loans_loan_maker_checker"), transaction.atomic():
        Loan.objects.filter(pk=loan.pk).update(disbursed_by=officer)


@pytest.mark.django_db
def test_reject_needs_a_reason(borrower, officer):
    loan = applied_loan(borrower)

    with pytest.raises(LoanStateError, match="needs a reason"):
        loan_reject(loan_id=loan.pk, officer=officer, reason="   ")
    rejected = loan_reject(loan_id=loan.pk, officer=officer, reason="Income not verified")

    assert rejected.status == Loan.Status.REJECTED
    assert rejected.rejection_reason == "Income not verified"
    assert rejected.rejected_by == officer


def _loan_in(state, borrower, officer):
    if state == "APPLIED":
        return applied_loan(borrower)
    if state == "APPROVED":
        loan = applied_loan(borrower, principal="300000.00")
        return loan_approve(loan_id=loan.pk, officer=officer)
    if state == "REJECTED":
        return loan_reject(loan_id=applied_loan(borrower).pk, officer=officer, reason="no")
    loan = active_loan(borrower, officer, principal="1200.00", tenure=2, rate="0.00")
    if state == "CLOSED":
        loan_repay(loan_id=loan.pk, borrower=borrower, amount=D("1200.00"), idempotency_key="all")
    return Loan.objects.get(pk=loan.pk)


ILLEGAL = [
    ("approve", "REJECTED"),
    ("approve", "ACTIVE"),
    ("approve", "CLOSED"),
    ("reject", "APPROVED"),
    ("reject", "REJECTED"),
    ("reject", "ACTIVE"),
    ("reject", "CLOSED"),
    ("repay", "APPLIED"),
    ("repay", "APPROVED"),
    ("repay", "REJECTED"),
    ("repay", "CLOSED"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("action", "state"), ILLEGAL)
def test_illegal_transitions_are_refused_and_change_nothing(borrower, action, state):
    officer = OfficerFactory()
    loan = _loan_in(state, borrower, officer)
    before = (loan.status, loan.outstanding_amount, wallet_balance(borrower))
    entries = JournalEntry.objects.count()
    other_officer = OfficerFactory()

    with pytest.raises(LoanStateError, match=f"is {state}"):
        if action == "approve":
            loan_approve(loan_id=loan.pk, officer=other_officer)
        elif action == "reject":
            loan_reject(loan_id=loan.pk, officer=other_officer, reason="late change")
        else:
            loan_repay(loan_id=loan.pk, borrower=borrower, amount=D("1.00"), idempotency_key="x")

    loan.refresh_from_db()
    assert (loan.status, loan.outstanding_amount, wallet_balance(borrower)) == before
    assert JournalEntry.objects.count() == entries


@pytest.mark.django_db
def test_status_cannot_be_assigned_directly(borrower):
    loan = applied_loan(borrower)

    with pytest.raises(AttributeError):
        loan.status = Loan.Status.ACTIVE


@pytest.mark.django_db
def test_repayment_pays_interest_before_principal_of_the_oldest_installment(borrower, officer):
    loan = active_loan(borrower, officer, principal="100000.00", tenure=12, rate="12.00")
    first = loan.installments.get(number=1)  # interest 1000.00, principal 7884.88

    repayment = loan_repay(
        loan_id=loan.pk, borrower=borrower, amount=D("1500.00"), idempotency_key="r1"
    )

    first.refresh_from_db()
    assert (repayment.interest_part, repayment.principal_part) == (D("1000.00"), D("500.00"))
    assert (first.interest_paid, first.principal_paid) == (D("1000.00"), D("500.00"))
    assert repayment.type == "PARTIAL"
    loan.refresh_from_db()
    assert loan.outstanding_amount == D("106618.53") - D("1500.00")
    income = account_get_system(Account.INTEREST_INCOME)
    assert account_balance(account_id=income.pk) == D("1000.00")
    assert wallet_balance(borrower) == D("98500.00")
    assert_books_clean()


@pytest.mark.django_db
def test_paying_everything_closes_the_loan_with_a_full_repayment(borrower, officer):
    loan = active_loan(borrower, officer, principal="1000.00", tenure=3, rate="12.00")
    wallet_deposit(user=borrower, amount=D("100.00"), idempotency_key="top-up")
    owed = loan.outstanding_amount

    part = loan_repay(loan_id=loan.pk, borrower=borrower, amount=D("400.00"), idempotency_key="a")
    rest = loan_repay(
        loan_id=loan.pk, borrower=borrower, amount=owed - D("400.00"), idempotency_key="b"
    )

    loan.refresh_from_db()
    assert (part.type, rest.type) == ("PARTIAL", "FULL")
    assert loan.status == Loan.Status.CLOSED
    assert loan.outstanding_amount == D("0.00")
    assert all(i.paid == i.total for i in loan.installments.all())
    assert_books_clean()


@pytest.mark.django_db
def test_paying_more_than_outstanding_is_refused(borrower, officer):
    loan = active_loan(borrower, officer, principal="1000.00", tenure=2, rate="0.00")

    with pytest.raises(RepaymentError, match=r"more than the outstanding 1000\.00"):
        loan_repay(loan_id=loan.pk, borrower=borrower, amount=D("1000.01"), idempotency_key="x")


@pytest.mark.django_db
def test_repaying_without_the_money_is_refused_naming_the_shortfall(borrower, officer):
    loan = active_loan(borrower, officer, principal="1000.00", tenure=2, rate="12.00")
    wallet = Wallet.objects.get(user=borrower)
    from wallets.services import wallet_withdraw

    wallet_withdraw(user=borrower, amount=wallet.balance - D("10.00"), idempotency_key="spend")

    with pytest.raises(InsufficientFundsError, match=r"short by 40\.00"):
        loan_repay(loan_id=loan.pk, borrower=borrower, amount=D("50.00"), idempotency_key="x")

    loan.refresh_from_db()
    assert loan.outstanding_amount == loan.principal_amount + loan.total_interest


@pytest.mark.django_db
def test_nobody_repays_someone_elses_loan(borrower, officer):
    loan = active_loan(borrower, officer)
    stranger = BorrowerFactory()
    wallet_deposit(user=stranger, amount=D("100.00"), idempotency_key="d")

    with pytest.raises(LoanNotFoundError):
        loan_repay(loan_id=loan.pk, borrower=stranger, amount=D("10.00"), idempotency_key="x")

    assert wallet_balance(stranger) == D("100.00")


@pytest.mark.django_db
def test_apply_then_the_quote_dates_are_provisional(borrower):
    loan = applied_loan(borrower)

    first = loan.installments.get(number=1).due_date

    assert isinstance(first, date)
    assert first == add_months(timezone.localdate(), 1)
