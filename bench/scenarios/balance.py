"""(b) Wallet balance reads: the hottest authenticated read."""

from bench.scenarios.base import Request, Scenario, SetupContext

_REQUEST = Request("GET", "/api/wallet/balance")


def setup(ctx: SetupContext) -> list[dict]:
    return ctx.borrowers()


def request(fixture: dict, seq: int) -> Request:
    return _REQUEST


SCENARIO = Scenario(
    name="balance",
    title="GET /api/wallet/balance",
    method="GET",
    path="/api/wallet/balance",
    setup=setup,
    request=request,
    ceiling="select",
)
