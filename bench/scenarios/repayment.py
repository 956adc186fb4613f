"""(a) Repayments on active loans, each with a fresh idempotency key."""

import uuid

from bench.scenarios.base import Request, Scenario, SetupContext

# Small enough that no loan is paid off during a run: every request is a partial
# repayment (the expensive path: lock loan and wallet, post to the ledger).
AMOUNT = "1.00"


def setup(ctx: SetupContext) -> list[dict]:
    """Give each borrower an ACTIVE loan and enough money in the wallet to repay it.

    To be written against the loans services once they are merged: for each borrower
    of ``ctx.borrowers()``, apply for a loan (e.g. 100000.00 over 12 months), approve
    and disburse it as an officer, so that the wallet holds the principal; return
    ``{"token": ..., "loan_id": ...}`` per borrower.
    """
    raise NotImplementedError("repayment setup needs the loans services")


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
    pending="loans and repayments are not merged yet: write setup(), check the body",
)
