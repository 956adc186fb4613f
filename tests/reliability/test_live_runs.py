"""The short forms of the torture run and of the schema fuzzing, on a live gunicorn.

Each starts its own PostgreSQL cluster (never the shared one: the torture run kills
its backends) and gunicorn in a subprocess, so these tests need no Django database.
The long forms are ``make reliability``.
"""

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.reliability


def _run(module: str, *args: str, timeout: int) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_a_short_torture_run_with_crash_faults_keeps_every_invariant(tmp_path):
    out = tmp_path / "torture.json"
    seconds = os.environ.get("RELIABILITY_SECONDS", "8")

    result = _run(
        "reliability.torture",
        *("--seconds", seconds, "--clients", "16", "--faults", "short", "--json", str(out)),
        timeout=300,
    )

    assert out.exists(), result.stdout + result.stderr
    report = json.loads(out.read_text())
    assert result.returncode == 0, result.stderr[-5000:]
    figures = report["figures"]
    assert report["passed"] and not report["failures"]
    assert report["reconcile_clean"]
    assert figures["money_lost"] == "0.00"
    assert Decimal(figures["min_wallet_balance_sampled"]) >= 0
    assert Decimal(figures["min_wallet_balance_final"]) >= 0
    assert figures["balance_samples"] > 0
    assert figures["errors_outside_fault_windows"] == 0
    assert figures["phantom_entries"] == figures["refusals_that_left_a_trace"] == 0
    assert figures["money_2xx_verified_in_ledger"] > 0
    assert figures["money_refused_verified_traceless"] > 0
    assert figures["retries_same_key"] > 0 and figures["retries_different_body"] > 0
    assert figures["disbursements_answered"] > 0
    assert [fault["kind"] for fault in report["faults"]] == ["kill_worker", "terminate_backends"]
    assert all(fault["recovery_seconds"] is not None for fault in report["faults"])


def test_schemathesis_finds_no_5xx_and_no_schema_violation(tmp_path):
    out = tmp_path / "fuzz.json"
    examples = os.environ.get("RELIABILITY_FUZZ_EXAMPLES", "8")

    result = _run("reliability.fuzz", "--max-examples", examples, "--json", str(out), timeout=600)

    assert out.exists(), result.stdout + result.stderr
    report = json.loads(out.read_text())
    assert result.returncode == 0, result.stdout[-8000:]
    assert report["passed"]
    assert {run["role"] for run in report["runs"]} == {"borrower", "officer"}
    for run in report["runs"]:
        st = run["report"]
        assert st["complete"] and st["exit_code"] == 0
        assert st["operations"]["tested"] == st["operations"]["total"] >= 18
        assert st["test_cases"]["generated"] > 0
        assert st["test_cases"]["with_failures"] == st["test_cases"]["errored"] == 0
