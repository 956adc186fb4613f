"""Reversals and schedules that change length: a shorter tenure drops installments that
a reversed repayment had been allocated to (found by the replay invariant, whose runs
mix reversals with prepayments)."""

from datetime import date
from decimal import Decimal

import pytest

from loans.models import Repayment, RepaymentAllocation
from loans.reversals import repayment_reverse
from loans.services import loan_repay
from tests.accounts.factories import BorrowerFactory, OfficerFactory
from tests.loans.factories import LoanProductFactory, active_loan, repaid
from tests.loans.helpers import assert_books_clean
from tests.loans.servicing.helpers import close_through, set_business_date

D = Decimal


@pytest.mark.django_db
def test_a_shorter_tenure_drops_installments_a_reversed_repayment_was_allocated_to():
    """12,000.00 over 12 months at 12 % (EMI 1,066.19), non-performing from 1 day past
    due, so a payment pays principal first, installment after installment. On 12 Feb
    (#1 two days late) 11,500.00 is paid that way: the principal of #1 to #11 (12,000.00
    less #12's 1,055.58 = 10,944.42) and 555.58 of #12's. It is then reversed. A prepayment of
    6,066.19 reducing the tenure then settles #1 (1,066.19, no fee within its 5 grace
    days) and puts 5,000.00 on principal: 11,053.81 - 5,000.00 = 6,053.81 left at
    1,066.19 a month. Months needed: n = -ln(1 - 6,053.81 x 0.01 / 1,066.19) / ln 1.01
    = -ln(0.943220) / 0.0099503 = 5.87, so 6 installments after #1: 7 in all. #8 to
    #12 go, with the reversed payment's allocations to them (its record); it stays
    REVERSED with its parts."""
    set_business_date(date(2026, 1, 10))
    officer = OfficerFactory()
    product = LoanProductFactory(npa_days=1)
    loan = active_loan(
        BorrowerFactory(),
        officer,
        principal="12000.00",
        rate="12.00",
        tenure=12,
        product=product.code,
    )
    close_through(date(2026, 2, 11))  # business date 12 Feb: #1 is 2 days past due
    mistaken = repaid(loan, "11500.00", key="mistaken")
    assert RepaymentAllocation.objects.filter(
        repayment=mistaken, installment__number=12
    ).exists()  # down to the last installment
    repayment_reverse(loan_id=loan.pk, repayment_id=mistaken.pk, officer=officer, reason="x")

    prepaid = loan_repay(
        loan_id=loan.pk,
        borrower=loan.borrower,
        amount=D("6066.19"),
        idempotency_key="prepay",
        prepayment="REDUCE_TENURE",
    )

    assert prepaid.purpose == "REDUCE_TENURE"
    assert loan.installments.count() == 7
    mistaken.refresh_from_db()
    assert mistaken.status == Repayment.Status.REVERSED
    assert mistaken.principal_part + mistaken.interest_part + mistaken.fee_part == D("11500.00")
    assert not RepaymentAllocation.objects.filter(
        repayment=mistaken, installment__number__gt=7
    ).exists()
    assert_books_clean()
