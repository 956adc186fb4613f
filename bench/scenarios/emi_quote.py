"""(d) EMI quotes: pure computation behind authentication, no write."""

from bench.scenarios.base import Request, Scenario, SetupContext

# A few different quotes so that no cache in front could answer them all.
_PRINCIPALS = ("25000.00", "50000.00", "100000.00", "250000.00")
_TENURES = (6, 12, 24, 36)


def setup(ctx: SetupContext) -> list[dict]:
    return ctx.borrowers()


def request(fixture: dict, seq: int) -> Request:
    body = {
        "principal_amount": _PRINCIPALS[seq % len(_PRINCIPALS)],
        "tenure_months": _TENURES[(seq // len(_PRINCIPALS)) % len(_TENURES)],
        "interest_rate": "12.00",
    }
    return Request("POST", "/api/loans/calculate-emi", body)


SCENARIO = Scenario(
    name="emi_quote",
    title="POST /api/loans/calculate-emi",
    method="POST",
    path="/api/loans/calculate-emi",
    setup=setup,
    request=request,
)
