"""Allocation orders, and repayments that follow fees, worked out by hand."""

from datetime import date
from decimal import Decimal

import pytest

from loans.allocation import (
    INSTALLMENT_FEES_INTEREST_PRINCIPAL,
    PRINCIPAL_INTEREST_FEES,
    Owed,
    Share,
    allocate,
)
from loans.models import Loan
from tests.accounts.factories import BorrowerFactory, OfficerFactory
from tests.loans.factories import active_loan, repaid
from tests.loans.helpers import assert_books_clean
from tests.loans.servicing.helpers import close_through, set_business_date
from wallets.services import wallet_deposit

D = Decimal
OWED = [
    Owed(number=1, fee=D("100.00"), interest=D("120.00"), principal=D("946.19")),
    Owed(number=2, fee=D("100.00"), interest=D("110.54"), principal=D("955.65")),
    Owed(number=3, fee=D("0.00"), interest=D("100.98"), principal=D("965.21")),
]


def test_the_standard_order_pays_each_installment_in_turn_fees_first():
    shares = allocate(amount=D("1316.19"), owed=OWED, order=INSTALLMENT_FEES_INTEREST_PRINCIPAL)

    # 100 + 120 + 946.19 = 1,166.19 clears #1; 150.00 is left: #2's fee, then 50 of interest.
    assert shares == [
        Share(1, fee=D("100.00"), interest=D("120.00"), principal=D("946.19")),
        Share(2, fee=D("100.00"), interest=D("50.00"), principal=D("0.00")),
    ]


def test_the_non_performing_order_pays_all_principal_first_then_interest_then_fees():
    shares = allocate(amount=D("3000.00"), owed=OWED, order=PRINCIPAL_INTEREST_FEES)

    # Principal 946.19 + 955.65 + 965.21 = 2,867.05; 132.95 left: #1's 120.00 interest,
    # then 12.95 of #2's; no fee is paid.
    assert shares == [
        Share(1, fee=D("0.00"), interest=D("120.00"), principal=D("946.19")),
        Share(2, fee=D("0.00"), interest=D("12.95"), principal=D("955.65")),
        Share(3, fee=D("0.00"), interest=D("0.00"), principal=D("965.21")),
    ]


def test_an_unknown_order_is_a_programming_error():
    with pytest.raises(ValueError, match="Unknown allocation order"):
        allocate(amount=D("1.00"), owed=OWED, order="LIFO")


@pytest.mark.django_db
def test_a_partial_catch_up_payment_goes_to_fees_interest_then_principal_oldest_first():
    set_business_date(date(2026, 1, 10))
    loan = active_loan(BorrowerFactory(), OfficerFactory(), principal="12000.00", tenure=12)
    first, second = loan.installments.order_by("number")[:2]
    close_through(date(2026, 3, 20))  # two installments overdue, each with its 100.00 fee
    wallet_deposit(user=loan.borrower, amount=D("2000.00"), idempotency_key="top-up")
    amount = D("100.00") + first.interest + first.principal + D("100.00") + D("50.00")

    repayment = repaid(loan, str(amount))

    assert (repayment.fee_part, repayment.interest_part, repayment.principal_part) == (
        D("200.00"),
        first.interest + D("50.00"),
        first.principal,
    )
    assert repayment.value_date == date(2026, 3, 21)
    split = list(
        repayment.allocations.order_by("installment__number").values_list(
            "installment__number", "fee", "interest", "principal"
        )
    )
    assert split == [
        (1, D("100.00"), first.interest, first.principal),
        (2, D("100.00"), D("50.00"), D("0.00")),
    ]
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.paid_on == date(2026, 3, 21)
    assert second.paid_on is None
    assert second.interest - second.interest_paid == second.interest - D("50.00")
    loan.refresh_from_db()
    # The oldest unpaid installment is now March 10th's: 11 days past due on March 21st.
    assert (loan.days_past_due, loan.delinquency_bucket) == (11, "DPD_1_30")
    assert_books_clean()


@pytest.mark.django_db
def test_a_non_performing_loan_pays_principal_first():
    set_business_date(date(2026, 1, 10))
    loan = active_loan(BorrowerFactory(), OfficerFactory(), principal="12000.00", tenure=12)
    close_through(date(2026, 5, 11))  # 91 days past due: non-performing
    loan.refresh_from_db()
    assert loan.delinquency_bucket == "DPD_91_PLUS"
    principal_due = sum(
        i.principal for i in loan.installments.filter(due_date__lt=date(2026, 5, 12))
    )
    wallet_deposit(user=loan.borrower, amount=D("5000.00"), idempotency_key="top-up")

    repayment = repaid(loan, "5000.00")

    # Principal first over every unpaid installment, oldest first: 5,000.00 is less than
    # the whole principal of the loan, so all of it is principal.
    assert (repayment.principal_part, repayment.interest_part, repayment.fee_part) == (
        D("5000.00"),
        D("0.00"),
        D("0.00"),
    )
    assert principal_due < D("5000.00")  # it reached beyond the overdue installments
    assert Loan.objects.get(pk=loan.pk).status == Loan.Status.ACTIVE
    assert_books_clean()


@pytest.mark.django_db
def test_a_repayment_on_a_loan_behind_the_business_date_follows_the_fees_it_missed():
    set_business_date(date(2026, 1, 10))
    loan = active_loan(BorrowerFactory(), OfficerFactory(), principal="12000.00", tenure=12)
    close_through(date(2026, 2, 12))
    # The night's close did not reach this loan (say it failed): the date moved on without it.
    set_business_date(date(2026, 2, 20))
    wallet_deposit(user=loan.borrower, amount=D("150.00"), idempotency_key="top-up")

    repayment = repaid(loan, "150.00")

    # The payment first closed the 13th to the 19th for the loan: the fee of the 15th is
    # charged, and the payment pays it before any interest.
    first = loan.installments.get(number=1)
    assert (first.fee_charged, first.fee_charged_on) == (D("100.00"), date(2026, 2, 15))
    assert (repayment.fee_part, repayment.interest_part) == (D("100.00"), D("50.00"))
    loan.refresh_from_db()
    assert loan.closed_through == date(2026, 2, 19)
    assert loan.days_past_due == 10
    assert_books_clean()
