"""The scenario plug-ins, in the order they run and are reported.

To add one: a module with ``setup``, ``request`` and ``SCENARIO`` (see ``base``), listed
here. A scenario runs when it is not marked ``pending`` and its endpoint resolves.
"""

from bench.scenarios import balance, deposit, emi_quote, loan_apply, repayment
from bench.scenarios.base import Request, Scenario, SetupContext

SCENARIOS: list[Scenario] = [
    repayment.SCENARIO,
    balance.SCENARIO,
    loan_apply.SCENARIO,
    emi_quote.SCENARIO,
    deposit.SCENARIO,
]

__all__ = ["SCENARIOS", "Request", "Scenario", "SetupContext", "by_name"]


def by_name(name: str) -> Scenario:
    for scenario in SCENARIOS:
        if scenario.name == name:
            return scenario
    raise KeyError(f"unknown scenario: {name}")
