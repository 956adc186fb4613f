import pytest

from bench.scenarios import SCENARIOS, by_name

FIXTURE = {"user_id": 1, "token": "t", "loan_id": 7}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_each_scenario_requests_its_declared_endpoint(scenario):
    request = scenario.request(FIXTURE, 1)

    assert (request.method, request.path) == (scenario.method, scenario.path)
    assert scenario.ceiling in (None, "tpcb", "select")


@pytest.mark.parametrize("name", ["repayment", "deposit"])
def test_money_movements_carry_a_fresh_idempotency_key_each_time(name):
    scenario = by_name(name)

    keys = {scenario.request(FIXTURE, seq).body["idempotency_key"] for seq in range(100)}

    assert len(keys) == 100


def test_scenario_names_are_unique_and_known():
    assert len({s.name for s in SCENARIOS}) == len(SCENARIOS)
    with pytest.raises(KeyError, match="unknown scenario"):
        by_name("nope")
