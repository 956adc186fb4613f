from decimal import Decimal

from loans.models import Loan
from loans.services import loan_apply, loan_approve
from tests.accounts.factories import OfficerFactory


def applied_loan(
    borrower, principal="12000.00", tenure=12, rate="12.00", method="REDUCING"
) -> Loan:
    return loan_apply(
        borrower=borrower,
        principal_amount=Decimal(principal),
        tenure_months=tenure,
        interest_rate=Decimal(rate),
        interest_method=method,
    )


def active_loan(borrower, officer=None, **terms) -> Loan:
    loan = applied_loan(borrower, **terms)
    return loan_approve(loan_id=loan.pk, officer=officer or OfficerFactory())
