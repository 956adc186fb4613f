from decimal import Decimal

import factory

from loans.models import Loan, LoanProduct
from loans.services import loan_apply, loan_approve, loan_reject, loan_repay
from tests.accounts.factories import BorrowerFactory, OfficerFactory
from wallets.services import wallet_deposit


class LoanProductFactory(factory.django.DjangoModelFactory):
    """A product other than STANDARD (the loans of ``applied_loan`` are STANDARD)."""

    class Meta:
        model = LoanProduct

    code = factory.Sequence(lambda n: f"PRODUCT{n}")
    name = factory.LazyAttribute(lambda product: f"{product.code.title()} loan")
    max_principal = Decimal("100000.00")
    max_tenure_months = 24
    min_rate = Decimal("10.00")
    max_rate = Decimal("20.00")
    default_rate = Decimal("14.00")
    maker_checker_threshold = Decimal("50000.00")


def applied_loan(
    borrower, principal="12000.00", tenure=12, rate="12.00", method="REDUCING", product=None
) -> Loan:
    return loan_apply(
        borrower=borrower,
        principal_amount=Decimal(principal),
        tenure_months=tenure,
        interest_rate=Decimal(rate),
        interest_method=method,
        product=product,
    )


def active_loan(borrower, officer=None, **terms) -> Loan:
    loan = applied_loan(borrower, **terms)
    return loan_approve(loan_id=loan.pk, officer=officer or OfficerFactory())


def repaid(loan: Loan, amount: str, key: str = "pay"):
    """Repay ``amount`` on ``loan`` from its borrower's wallet."""
    return loan_repay(
        loan_id=loan.pk, borrower=loan.borrower, amount=Decimal(amount), idempotency_key=key
    )


def portfolio(*, officer=None) -> dict[str, Loan]:
    """One loan in every state, each with its own borrower (figures worked out in the tests).

    - applied: 12,000.00;  rejected: 30,000.00;  approved: 250,000.00 (awaiting a checker)
    - active: 12,000.00 over 12 months at 12 %, 1,000.00 repaid (120.00 of it interest)
    - closed: 1,200.00 over 1 month at 12 %, repaid in full (12.00 interest)
    """
    officer = officer or OfficerFactory()
    loans = {
        "applied": applied_loan(BorrowerFactory()),
        "rejected": loan_reject(
            loan_id=applied_loan(BorrowerFactory(), principal="30000.00").pk,
            officer=officer,
            reason="Income not shown",
        ),
        "approved": loan_approve(
            loan_id=applied_loan(BorrowerFactory(), principal="250000.00").pk, officer=officer
        ),
        "active": active_loan(BorrowerFactory(), officer),
        "closed": active_loan(BorrowerFactory(), officer, principal="1200.00", tenure=1),
    }
    repaid(loans["active"], "1000.00")
    wallet_deposit(user=loans["closed"].borrower, amount=Decimal("12.00"), idempotency_key="fee")
    repaid(loans["closed"], "1212.00")
    for loan in loans.values():
        loan.refresh_from_db()
    return loans
