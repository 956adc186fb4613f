"""Wallet deposits with a fresh idempotency key each: the smallest money movement."""

import uuid

from bench.scenarios.base import Request, Scenario, SetupContext


def setup(ctx: SetupContext) -> list[dict]:
    return ctx.borrowers()


def request(fixture: dict, seq: int) -> Request:
    body = {"amount": "1.00", "idempotency_key": str(uuid.uuid4())}
    return Request("POST", "/api/wallet/deposit", body)


SCENARIO = Scenario(
    name="deposit",
    title="POST /api/wallet/deposit",
    method="POST",
    path="/api/wallet/deposit",
    setup=setup,
    request=request,
    ceiling="tpcb",
)
