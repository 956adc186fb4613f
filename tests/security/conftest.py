from decimal import Decimal

import pytest

from loans.services import loan_repay
from tests.accounts.factories import BorrowerFactory
from tests.loans.factories import active_loan
from wallets.services import wallet_deposit


@pytest.fixture
def victim(db):
    """Another borrower with money, an active loan and a repayment on it."""
    user = BorrowerFactory(email="victim@example.com")
    wallet_deposit(user=user, amount=Decimal("5000.00"), idempotency_key="victim-deposit")
    loan = active_loan(user, principal="3000.00", tenure=3)
    repayment = loan_repay(
        loan_id=loan.pk, borrower=user, amount=Decimal("100.00"), idempotency_key="victim-pay"
    )
    return {"user": user, "loan": loan, "repayment": repayment}
