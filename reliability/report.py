"""Render ``docs/RELIABILITY.md`` from the results in ``var/reliability/``."""

import json
import xml.etree.ElementTree as ET
from collections import Counter

from reliability.service import VAR

RESULTS = VAR


def _load(name: str):
    path = RESULTS / name
    return json.loads(path.read_text()) if path.exists() else None


def _junit() -> dict[str, Counter]:
    """Per test module: how many tests ran, failed and erred."""
    path = RESULTS / "pytest.xml"
    per_module: dict[str, Counter] = {}
    if not path.exists():
        return per_module
    # Our own pytest's report, written moments ago: not untrusted input.
    for case in ET.parse(path).iter("testcase"):  # noqa: S314
        module = case.get("classname", "").rsplit(".", 1)[-1]
        counts = per_module.setdefault(module, Counter())
        counts["tests"] += 1
        if case.find("failure") is not None or case.find("error") is not None:
            counts["failed"] += 1
    return per_module


def _server_errors(schemathesis_report: dict) -> int:
    """Server errors schemathesis found (its ``not_a_server_error`` failures)."""
    return sum(
        failure.get("count", 0)
        for failure in schemathesis_report.get("failures", [])
        if failure.get("type") == "ServerError" or failure.get("code") == "ST100"
    )


def _verdict(ok: bool | None) -> str:
    return "not run" if ok is None else ("pass" if ok else "**FAIL**")


def _servicing_reached(stateful: dict) -> str:
    """What the closes of business reached (absent from reports older than them)."""
    if "days_closed" not in stateful:
        return ""
    return (
        f"; {stateful['days_closed']:,} business days closed, "
        f"{stateful['late_fees']:,} late fees, "
        f"{stateful['npa_payments']:,} payments at 91+ days past due"
    )


OWASP = [
    ("test_object_level_authorization", "API1 object-level authorization"),
    ("test_authentication", "API2 broken authentication"),
    ("test_mass_assignment", "API3 mass assignment"),
    ("test_data_exposure", "API3 excessive data exposure"),
    ("test_rate_limits", "API4 resource consumption (rate limits)"),
    ("test_headers_and_csrf", "API8 misconfiguration (headers, CSRF)"),
]


def render() -> str:
    torture = _load("torture.json")
    fuzz = _load("fuzz.json")
    stateful = _load("stateful.json")
    junit = _junit()
    machine_path = RESULTS / "machine.txt"
    machine = machine_path.read_text().strip() if machine_path.exists() else "unknown"

    rows = []
    if torture:
        f = torture["figures"]
        s = torture["settings"]
        faults = Counter(e["kind"] for e in torture["faults"])
        rows.append(
            (
                f"Torture: {s['clients']} clients ({s['borrowers']} borrowers, "
                f"{s['officers']} officers), {s['seconds']:.0f} s, gunicorn "
                f"{s['gunicorn_workers']}×{s['gunicorn_threads']} threads",
                f"{f['http_requests']:,} requests ({f['money_requests']:,} money requests, "
                f"{f['applications']} applications, {f['decisions']} decisions)",
                ", ".join(f"{n}× {k}" for k, n in faults.items()),
                f"{f['server_errors_5xx']}, while faults were in effect; "
                f"{f['errors_outside_fault_windows']} outside them",
                f["money_lost"],
                _verdict(torture["passed"]),
            )
        )
    fuzz_cases = 0
    if fuzz:
        for run in fuzz["runs"]:
            report = run.get("report", {})
            cases = report.get("test_cases", {})
            fuzz_cases += cases.get("generated", 0)
            rows.append(
                (
                    f"schemathesis as {run['role']}: every operation, every check, "
                    f"{fuzz['max_examples']} examples per operation and phase",
                    f"{cases.get('generated', 0):,} generated requests on "
                    f"{report.get('operations', {}).get('tested', 0)} operations",
                    "–",
                    str(_server_errors(report)),
                    "–",
                    _verdict(run["exit_code"] == 0),
                )
            )
    if stateful:
        module = junit.get("test_stateful", Counter())
        rows.append(
            (
                "Hypothesis state machine: deposits, withdrawals, applications, decisions "
                "by two officers, repayments, same-key retries, closes of business days "
                "(late fees, days past due), against a model",
                f"{stateful['examples']} runs, {stateful['steps']:,} steps "
                f"(up to {stateful['max_steps']} per run)" + _servicing_reached(stateful),
                "–",
                "0",
                "0.00 (API balance = model balance after every step; books reconcile)",
                _verdict(module["tests"] > 0 and not module["failed"]),
            )
        )
    bad = junit.get("test_bad_input")
    if bad:
        rows.append(
            (
                "Bad input on every endpoint (amounts, tenures, rates, ids, missing fields, "
                "malformed JSON, content types, body size)",
                f"{bad['tests']} cases",
                "–",
                "0 (each must be a 4xx with a JSON body naming the problem)",
                "0.00 (nothing posted)",
                _verdict(not bad["failed"]),
            )
        )
    for module, title in OWASP:
        counts = junit.get(module)
        if counts:
            rows.append(
                (
                    f"OWASP {title}",
                    f"{counts['tests']} tests",
                    "–",
                    "0",
                    "–",
                    _verdict(not counts["failed"]),
                )
            )

    lines = [
        "# Reliability: the service in a hostile world",
        "",
        "Generated by `make reliability` (`python -m reliability`) from its own results; do",
        "not edit by hand. The short forms of every part run in `make test` on every change",
        "(`tests/reliability/`, `tests/security/`).",
        "",
        f"Last full run: {torture['when'] if torture else 'never'}. Machine: {machine}. The",
        "machine is shared with other jobs, so throughput and latency are indicative only;",
        "the correctness figures do not depend on them.",
        "",
        "| what was tried | operations / inputs | faults injected | 5xx seen | money lost "
        "| result |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    total_inputs = fuzz_cases + (stateful["steps"] if stateful else 0)
    total_inputs += bad["tests"] if bad else 0
    lines += ["", f"Inputs fuzzed in all: {total_inputs:,}.", ""]

    if torture:
        lines += _torture_section(torture)
    lines += _findings_section()
    lines += _method_section()
    return "\n".join(lines) + "\n"


def _torture_section(torture: dict) -> list[str]:
    f = torture["figures"]
    lines = [
        "## Torture run",
        "",
        f"Seed {torture['settings']['seed']}; setup {torture['setup_seconds']} s; load "
        f"{torture['load_seconds']} s; service ready {torture['service_ready_after_run_seconds']}"
        " s after the last client stopped, without intervention.",
        "",
        "| figure | value |",
        "| --- | --- |",
    ]
    shown = [
        ("HTTP requests (attempts, retries included)", f"{f['http_requests']:,}"),
        ("requests per second", f["requests_per_second"]),
        ("status classes", ", ".join(f"{k}: {v:,}" for k, v in f["status_classes"].items())),
        ("latency p50 / p99 (ms)", f"{f['latency_ms_p50']} / {f['latency_ms_p99']}"),
        ("money requests (logical: one idempotency key each)", f"{f['money_requests']:,}"),
        (
            "… answered 2xx, each found exactly once in the ledger",
            f"{f['money_2xx_verified_in_ledger']:,}",
        ),
        (
            "… refused (4xx), each verified to have left no entry",
            f"{f['money_refused_verified_traceless']:,}",
        ),
        (
            "… that met an unknown outcome (5xx, broken connection) and were retried",
            f"{f['requests_that_saw_an_unknown_outcome']:,}",
        ),
        ("… still unknown at the end (settled from the ledger)", f["money_unknown_unresolved"]),
        ("refusals by code", ", ".join(f"{k}: {v}" for k, v in f["refusals_by_code"].items())),
        ("loan applications / accepted", f"{f['applications']} / {f['applications_accepted']}"),
        (
            "officer decisions / disbursements answered",
            f"{f['decisions']} / {f['disbursements_answered']}",
        ),
        (
            "decisions refused, by code",
            ", ".join(f"{k}: {v}" for k, v in f["decisions_refused"].items()),
        ),
        ("same key, same body (must replay the first answer)", f["retries_same_key"]),
        ("same key, other body (must be 422)", f["retries_different_body"]),
        ("same key sent twice at once (must move money once)", f["duplicate_bursts"]),
        (
            "5xx answers (by status) / broken connections",
            f"{f['server_errors_5xx']} ({_by_status(f)}) / {f['transport_errors']}",
        ),
        ("… outside a fault's window", f["errors_outside_fault_windows"]),
        ("ledger entries no client asked for", f["phantom_entries"]),
        ("refusals that left an entry", f["refusals_that_left_a_trace"]),
        ("money lost (Σ |wallet − what its client was told|)", f["money_lost"]),
        (
            "smallest wallet balance, sampled every 250 ms",
            f"{f['min_wallet_balance_sampled']} ({f['balance_samples']} samples)",
        ),
        ("smallest wallet balance at the end", f["min_wallet_balance_final"]),
        (
            "loans / disbursed / closed",
            f"{f['loans']} / {f['loans_disbursed']} / {f['loans_closed']}",
        ),
        (
            "`manage.py reconcile` afterwards",
            "clean" if torture["reconcile_clean"] else "**NOT CLEAN**",
        ),
    ]
    lines += [f"| {name} | {value} |" for name, value in shown]
    lines += [
        "",
        "Faults, in order (recovery: time from the fault to the next successful answer):",
        "",
        "| at (s) | fault | detail | recovery (s) |",
        "| --- | --- | --- | --- |",
    ]
    lines += [
        f"| {e['at_seconds']} | {e['kind']} | {e['detail']} | {e['recovery_seconds']} |"
        for e in torture["faults"]
    ]
    if torture["failures"]:
        lines += ["", "Failures:", ""] + [f"- {failure}" for failure in torture["failures"]]
    return [*lines, ""]


def _by_status(figures: dict) -> str:
    counts = figures.get("server_errors_by_status", {})
    return ", ".join(f"{status}: {n}" for status, n in sorted(counts.items())) or "none"


def _findings_section() -> list[str]:
    return [
        "## What the suite found, and what changed",
        "",
        "Each has a regression test; no money was ever lost or created.",
        "",
        "| finding | before | now | test |",
        "| --- | --- | --- | --- |",
        "| JSON nested thousands of levels deep (well under the size limit) | 500: the"
        " decoder's `RecursionError` escaped DRF's parser | 400 naming the problem"
        " (`lendingsite/parsers.py`) | `test_malformed_json_is_400_naming_the_problem` |",
        '| Inputs of the wrong JSON type: `123` for a string, `"yes"` or `1` for a'
        ' boolean, `" 12"`, `"1_000"`, `"1e1"` or other scripts\' digits for a'
        " number | accepted and converted, contrary to the schema | 400 naming the field"
        " (`lendingsite/serializers.py`) |"
        " `test_bad_input.py`, schemathesis `negative_data_rejection` |",
        "| Form-encoded bodies on every endpoint | accepted | 415, except the OAuth2 login"
        " | `test_forms_are_only_for_the_oauth2_login` |",
        "| An id beyond the 64-bit range (`loan_id`, `before`) | 404 | 400 naming the"
        " field | `test_bad_decisions_are_refused_naming_the_field` |",
        '| The schema listed only success statuses, and its decimal pattern let `""` and'
        ' `"-"` pass | schemathesis\' first run: 26 undocumented statuses | every status'
        " documented with the JSON error body; numbers as the number or string accepted"
        " | `test_schema_contract.py`, schemathesis `status_code_conformance` |",
        "| A request line over 4 KiB | gunicorn's own 414 HTML page, undocumented"
        " (schemathesis: undocumented status, schema-violating request accepted) |"
        " documented as `text/html` on every operation | schemathesis |",
        "| API answers (tokens, balances) carried no caching directive | cacheable by"
        " default | `Cache-Control: no-store` | `test_api_answers_carry_the_security_headers` |",
        "",
    ]


def _method_section() -> list[str]:
    return [
        "## How each part works",
        "",
        "- **Torture** (`reliability/torture.py`): gunicorn (sync workers) on 127.0.0.1 with",
        "  production settings, on a private PostgreSQL cluster under `var/reliability/`",
        "  (never the machine's shared server). Borrowers deposit, withdraw, apply and",
        "  repay; officers approve and reject, often racing for the same loan; clients",
        "  replay finished requests with the same key and the same or another body, and",
        "  send one key twice at once. A 5xx or a broken connection is an *unknown",
        "  outcome*: the client retries with the same key until the answer is definite.",
        "  Faults: `kill -9` of one or all gunicorn workers, `pg_terminate_backend` of every",
        "  session of the database, and PostgreSQL restarts (`-m immediate`, a crash, and",
        "  `-m fast`). Afterwards, mandatory: `manage.py reconcile` clean; every 2xx money",
        "  answer is an entry with the answered id and amount; every refusal left none; no",
        "  entry that no request explains; each wallet equals what its client was told;",
        "  each loan comes from an accepted or unknown application; no wallet below zero in",
        "  any sample or at the end; no 5xx or broken connection outside a fault's window.",
        "- **schemathesis** (`reliability/fuzz.py`, `reliability/schemathesis.toml`): the",
        "  CLI against `/api/schema/` of a live gunicorn, as a borrower and as an officer,",
        "  with every check (no 5xx; status codes, content types, headers and bodies as",
        "  documented; invalid input refused; valid input accepted or refused by a",
        "  documented business rule; authentication not ignored).",
        "- **State machine** (`tests/reliability/test_stateful.py`): Hypothesis rules for",
        "  each operation and retry and for closing business days (`close_business_day`),",
        "  a model of balance, business date and loans (installments, late fees, days past",
        "  due, fee-first allocation), the API compared with the model after every step",
        "  and `reconcile` after every run.",
        "- **OWASP API Security Top 10** (`tests/security/`) and **bad input**",
        "  (`tests/reliability/test_bad_input.py`): ordinary pytest tests on PostgreSQL.",
        "",
        "Regenerate: `make reliability` (about 10 minutes on 2 cores). The short forms",
        "(`make test`): a 16-client, 8-second torture run with one worker kill and one",
        "`pg_terminate_backend`, and schemathesis with a few examples per operation.",
    ]
