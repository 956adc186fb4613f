"""(a) Repayments on active loans, each with a fresh idempotency key."""

import uuid

from bench.scenarios.base import Request, Scenario, SetupContext

# Small enough that no loan is paid off during a run: every request is a partial
# repayment (the expensive path: lock loan and wallet, post to the ledger).
AMOUNT = "1.00"


PRINCIPAL = "100000.00"  # below the maker-checker threshold: one approval disburses it


def setup(ctx: SetupContext) -> list[dict]:
    """Give each borrower an ACTIVE loan, its principal paid into the wallet.

    Through the services: ``loan_apply`` then ``loan_approve`` by an officer, which
    disburses at once. The wallet then holds the principal, enough for every repayment
    of a run; the loan's outstanding amount is far above what a run repays.
    """
    from decimal import Decimal

    from accounts.models import User
    from loans.services import loan_apply, loan_approve

    officer = ctx.officer()
    fixtures = []
    for borrower in ctx.borrowers():
        user = User.objects.get(pk=borrower["user_id"])
        loan = loan_apply(borrower=user, principal_amount=Decimal(PRINCIPAL), tenure_months=24)
        loan_approve(loan_id=loan.pk, officer=officer)
        fixtures.append({**borrower, "loan_id": loan.pk})
    return fixtures


def request(fixture: dict, seq: int) -> Request:
    body = {
        "loan_id": fixture["loan_id"],
        "amount": AMOUNT,
        "idempotency_key": str(uuid.uuid4()),
    }
    return Request("POST", "/api/repayments/make-payment", body)


SCENARIO = Scenario(
    name="repayment",
    title="POST /api/repayments/make-payment",
    method="POST",
    path="/api/repayments/make-payment",
    setup=setup,
    request=request,
    ceiling="tpcb",
)
