"""(c) Loan applications."""

from bench.scenarios.base import Request, Scenario, SetupContext


def setup(ctx: SetupContext) -> list[dict]:
    return ctx.borrowers()


def request(fixture: dict, seq: int) -> Request:
    # Applications (APPLIED) do not count towards the open-loan limit, so a borrower
    # may file any number of them.
    body = {"principal_amount": "50000.00", "tenure_months": 12}
    return Request("POST", "/api/loans/apply", body)


SCENARIO = Scenario(
    name="loan_apply",
    title="POST /api/loans/apply",
    method="POST",
    path="/api/loans/apply",
    setup=setup,
    request=request,
    ceiling="tpcb",
)
