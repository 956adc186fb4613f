from bench.report import END, START, check_targets, render_markdown, write_block


def _row(scenario, concurrency, throughput, p99, statuses, ceiling):
    errors = sum(v for k, v in statuses.items() if not k.startswith("2"))
    return {
        "scenario": scenario,
        "title": f"title of {scenario}",
        "concurrency": concurrency,
        "requests": int(throughput * 10),
        "throughput": throughput,
        "p50_ms": 5.0,
        "p90_ms": 9.0,
        "p99_ms": p99,
        "statuses": statuses,
        "errors": errors,
        "ceiling": ceiling,
        "loadgen_cpu_percent": 12.5,
        "server_cpu_percent": 150.0,
        "db_cpu_percent": 30.0,
        "server_cpu_ms_per_request": 2.5,
        "db_cpu_ms_per_request": 0.5,
    }


RESULTS = {
    "meta": {
        "date": "2026-01-02 03:04 UTC",
        "label": "smoke",
        "machine": {"CPU": "2 x test"},
        "versions": {"Python": "3.11"},
        "settings": {"gunicorn": "3 workers"},
    },
    "pgbench": {
        "tpcb": {
            "script": "tpcb-like",
            "clients": 16,
            "threads": 2,
            "seconds": 30,
            "tps": 2000.0,
            "latency_ms": 8.0,
            "failed": 0,
        },
        "select": {
            "script": "select-only",
            "clients": 16,
            "threads": 2,
            "seconds": 30,
            "tps": 20000.0,
            "latency_ms": 0.8,
            "failed": 0,
        },
    },
    "scenarios": [
        _row("repayment", 16, 300.0, 80.0, {"201": 3000}, "tpcb"),
        _row("repayment", 64, 250.0, 400.0, {"201": 2500, "409": 2}, "tpcb"),
        _row("balance", 16, 600.0, 70.0, {"200": 6000}, "select"),
    ],
    "pending": [{"name": "emi_quote", "title": "POST /api/loans/calculate-emi", "reason": "later"}],
}


def test_targets_are_checked_against_the_same_runs_pgbench():
    checks = {(c["scenario"], c["concurrency"], c["target"]): c for c in check_targets(RESULTS)}

    ratio = checks[("repayment", 16, "throughput ≥ 11.0% of pgbench TPC-B-like")]
    assert (ratio["measured"], ratio["ok"]) == ("15.00%", True)
    hold = checks[("repayment", 64, "throughput ≥ 90% of C=16")]
    assert (hold["measured"], hold["ok"]) == ("83%", False)
    assert checks[("repayment", 64, "errors ≤ 0")]["ok"] is False
    assert checks[("repayment", 64, "p99 ≤ 500 ms")]["ok"] is True
    balance = checks[("balance", 16, "throughput ≥ 3.0% of pgbench select-only")]
    assert (balance["measured"], balance["ok"]) == ("3.00%", True)
    assert checks[("balance", 16, "p99 ≤ 50 ms")]["ok"] is False


def test_targets_needing_pgbench_are_skipped_without_it():
    checks = check_targets({**RESULTS, "pgbench": {}})

    assert not [c for c in checks if "pgbench" in c["target"]]
    assert [c for c in checks if c["target"] == "p99 ≤ 50 ms"]


def test_markdown_has_one_line_per_row_errors_by_status_and_pending():
    text = render_markdown(RESULTS, chart_name="benchmarks.png")

    assert text.startswith("### Run of 2026-01-02 03:04 UTC — smoke\n")
    assert "| title of repayment | 64 | 2,500 | 2 (409: 2) | 250.0 | 5.0 | 9.0 | 400.0 " in text
    assert "| 15.00% of TPC-B-like | 12.5 % | 150.0 % (2.50 ms) | 30.0 % (0.50 ms) |" in text
    assert "| tpcb-like | 16 | 2 | 30 | 2,000.0 | 8.00 | 0 |" in text
    assert "- POST /api/loans/calculate-emi (emi_quote): later" in text
    assert text.rstrip().endswith("![Throughput and p99 against concurrency](benchmarks.png)")


def test_block_replaces_the_previous_one_and_keeps_the_text_around(tmp_path):
    doc = tmp_path / "BENCHMARKS.md"
    doc.write_text("# Benchmarks\n\nWhy and how.\n")

    write_block(doc, "first run\n")
    write_block(doc, "second run\n")
    doc.write_text(doc.read_text() + "\n## Changes\n\nkept\n")
    write_block(doc, "third run\n")

    text = doc.read_text()
    assert text.count(START) == text.count(END) == 1
    assert "first run" not in text and "second run" not in text
    assert text.startswith("# Benchmarks\n\nWhy and how.\n\n" + START + "\nthird run\n" + END)
    assert text.endswith("## Changes\n\nkept\n")
