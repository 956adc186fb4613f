"""The golden scenarios: each file under ``scenarios/`` played against the real API.

Each scenario opens its loan, then runs its steps in order, moving the business date by
closing days (``close_business_day``), and compares every expectation and schedule
table of the file with what the API and the database say. The books must reconcile
after every step. The expected figures are worked out by hand in the files.
"""

from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest

from tests.loans.golden.actions import ACTIONS, ScenarioRun, figure_value, open_loan
from tests.loans.golden.scenario import ScenarioFormatError, ScheduleCheck, Step, parse
from tests.loans.helpers import assert_books_clean

SCENARIOS = sorted((Path(__file__).parent / "scenarios").glob("*.md"))


def _same(expected: str, actual) -> bool:
    """Numbers compare as numbers (``1,066.19`` = ``1066.19``); anything else as text."""
    if actual is None:
        return expected.lower() in ("", "none", "null", "—", "-")
    try:
        return Decimal(expected.replace(",", "")) == Decimal(str(actual).replace(",", ""))
    except InvalidOperation:
        return expected == str(actual)


def _check_step(run: ScenarioRun, step: Step) -> list[str]:
    failures = []
    for expectation in step.expect:
        actual = figure_value(run, expectation.key)
        if expectation.op == "~":
            ok = expectation.value.lower() in str(actual).lower()
        else:
            ok = _same(expectation.value, actual)
        if not ok:
            failures.append(
                f"{expectation.key}: expected {expectation.op}{expectation.value!r}, got {actual!r}"
            )
    unchecked = "http" not in {e.key for e in step.expect}
    if run.response is not None and unchecked and run.response.status_code >= 400:
        failures.append(f"http: {run.response.status_code} {run.response.json()}")
    return failures


def _check_schedule(run: ScenarioRun, check: ScheduleCheck) -> list[str]:
    url = f"/api/loans/{run.loan_id}/schedule"
    if check.version is not None:
        url += f"/versions/{check.version}"
    response = run.borrower_client.get(url)
    if response.status_code != 200:
        return [f"{url}: {response.status_code} {response.json()}"]
    shown = response.json()
    rows = shown["installments"] if isinstance(shown, dict) else shown
    label = "schedule" if check.version is None else f"schedule version {check.version}"
    failures = []
    if len(rows) != len(check.rows):
        failures.append(f"{label}: {len(check.rows)} rows expected, {len(rows)} shown")
    for expected, actual in zip(check.rows, rows, strict=False):
        for column in check.columns:
            wanted = expected.get(column, "")
            if column in ("notes", "working") or wanted == "":
                continue
            if column not in actual:
                raise ScenarioFormatError(f"{label}: the API shows no column {column!r}")
            if not _same(wanted, actual[column]):
                failures.append(
                    f"{label} row {actual['number']} {column}: expected {wanted}, "
                    f"got {actual[column]}"
                )
    return failures


@pytest.mark.django_db
@pytest.mark.parametrize("path", SCENARIOS, ids=[path.stem for path in SCENARIOS])
def test_golden_scenario(path):
    scenario = parse(path)
    run = ScenarioRun(scenario=scenario)
    open_loan(run)
    for step in scenario.steps:
        if step.action not in ACTIONS:
            raise ScenarioFormatError(f"step {step.number}: unknown action {step.action!r}")
        run.move_to(step.day)
        run.response = ACTIONS[step.action](run, step)
        failures = _check_step(run, step)
        for check in scenario.schedules_after(step.number):
            failures += _check_schedule(run, check)
        assert not failures, f"{path.name}, step {step.number} ({step.action}, {step.day}):\n" + (
            "\n".join(failures)
        )
        assert_books_clean()


def test_every_action_is_documented():
    """README.md lists each action the runner supports."""
    readme = (Path(__file__).parent / "README.md").read_text()
    missing = [name for name in ACTIONS if f"`{name}`" not in readme]
    assert not missing, f"README.md does not document: {missing}"
