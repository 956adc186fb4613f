"""(c) Loan applications."""

from bench.scenarios.base import Request, Scenario, SetupContext


def setup(ctx: SetupContext) -> list[dict]:
    return ctx.borrowers()


def request(fixture: dict, seq: int) -> Request:
    # Field names follow the seed design; check them against the merged API.
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
    pending="loans are not merged yet: check the body and any rule on open applications",
)
