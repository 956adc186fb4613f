"""Turn a run's results into the Markdown block of docs/BENCHMARKS.md and a PNG chart.

``render_markdown`` and ``write_block`` are pure text work (covered by the test suite);
``write_chart`` imports matplotlib, which only the benchmark's requirements install.
"""

import re
from pathlib import Path

from bench.stats import is_error

START = "<!-- bench:results:start -->"
END = "<!-- bench:results:end -->"

# Issue 16's targets for a 2-core machine (issue 7's, the balance ratio raised from 2.2 %
# to 3 %): (scenario, concurrency, check, limit).
#   ratio: throughput / pgbench tps of the scenario's ceiling script, at least limit
#   p99: p99 latency in ms, at most limit
#   errors: count of non-2xx responses and transport errors, at most limit
#   hold: throughput / throughput of the same scenario at C=16, at least limit
TARGETS = [
    ("repayment", 16, "ratio", 0.11),
    ("repayment", 16, "p99", 100),
    ("repayment", 16, "errors", 0),
    ("repayment", 64, "hold", 0.90),
    ("repayment", 64, "p99", 500),
    ("repayment", 64, "errors", 0),
    ("balance", 16, "ratio", 0.03),
    ("balance", 16, "p99", 50),
    ("balance", 16, "errors", 0),
]

_CEILING_NAMES = {"tpcb": "TPC-B-like", "select": "select-only"}


def _fmt(value, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}"


def _statuses(row: dict) -> str:
    errors = {k: v for k, v in row["statuses"].items() if is_error(k)}
    if not errors:
        return "0"
    return f"{row['errors']:,} (" + ", ".join(f"{k}: {v:,}" for k, v in errors.items()) + ")"


def _cpu(row: dict, who: str) -> str:
    percent = row.get(f"{who}_cpu_percent")
    per_request = row.get(f"{who}_cpu_ms_per_request")
    text = f"{_fmt(percent)} %"
    return text + f" ({per_request:.2f} ms)" if per_request is not None else text


def ceiling_ratio(row: dict, pgbench: dict) -> float | None:
    ceiling = pgbench.get(row.get("ceiling") or "")
    if not ceiling or not ceiling.get("tps"):
        return None
    return row["throughput"] / ceiling["tps"]


def check_targets(results: dict) -> list[dict]:
    """Evaluate every target whose scenario ran; a target needing pgbench needs it too."""
    rows = {(r["scenario"], r["concurrency"]): r for r in results["scenarios"]}
    checks = []
    for scenario, concurrency, kind, limit in TARGETS:
        row = rows.get((scenario, concurrency))
        if row is None:
            continue
        if kind == "ratio":
            measured = ceiling_ratio(row, results.get("pgbench", {}))
            if measured is None:
                continue
            ceiling = _CEILING_NAMES[row["ceiling"]]
            text = f"throughput ≥ {limit:.1%} of pgbench {ceiling}"
            shown, ok = f"{measured:.2%}", measured >= limit
        elif kind == "hold":
            base = rows.get((scenario, 16))
            if base is None or not base["throughput"]:
                continue
            measured = row["throughput"] / base["throughput"]
            text = f"throughput ≥ {limit:.0%} of C=16"
            shown, ok = f"{measured:.0%}", measured >= limit
        elif kind == "p99":
            measured = row["p99_ms"]
            text = f"p99 ≤ {limit} ms"
            shown, ok = _fmt(measured), measured is not None and measured <= limit
        else:
            measured = row["errors"]
            text = f"errors ≤ {limit}"
            shown, ok = _fmt(measured), measured <= limit
        checks.append(
            {"scenario": scenario, "concurrency": concurrency, "target": text,
             "measured": shown, "ok": ok}
        )  # fmt: skip
    return checks


def render_markdown(results: dict, *, chart_name: str | None = None) -> str:
    meta = results["meta"]
    pgbench = results.get("pgbench", {})
    lines = [f"### Run of {meta['date']}" + (f" — {meta['label']}" if meta.get("label") else "")]
    lines.append("")
    for title, values in (
        ("Machine", meta["machine"]),
        ("Versions", meta["versions"]),
        ("Settings", meta["settings"]),
    ):
        lines.append(f"- **{title}**: " + "; ".join(f"{k} {v}" for k, v in values.items()))
    lines += [
        "",
        "| scenario | C | requests | errors (by status) | req/s | p50 ms | p90 ms | p99 ms "
        "| % of pgbench | load gen. CPU | gunicorn CPU | PostgreSQL CPU |",
        "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in results["scenarios"]:
        ratio = ceiling_ratio(row, pgbench)
        ratio_text = (
            f"{ratio:.2%} of {_CEILING_NAMES[row['ceiling']]}" if ratio is not None else "-"
        )
        lines.append(
            f"| {row['title']} | {row['concurrency']} | {row['requests']:,} | {_statuses(row)} "
            f"| {_fmt(row['throughput'])} | {_fmt(row['p50_ms'])} | {_fmt(row['p90_ms'])} "
            f"| {_fmt(row['p99_ms'])} | {ratio_text} | {_fmt(row.get('loadgen_cpu_percent'))} % "
            f"| {_cpu(row, 'server')} | {_cpu(row, 'db')} |"
        )
    lines.append("")
    lines.append(
        "CPU: per cent of one core over the whole row (warm-up included); in brackets, "
        "CPU milliseconds per request."
    )
    if pgbench:
        lines += [
            "",
            "| pgbench script | clients | threads | seconds | tps | mean latency ms | failed |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for item in pgbench.values():
            lines.append(
                f"| {item['script']} | {item['clients']} | {item['threads']} | {item['seconds']} "
                f"| {_fmt(item['tps'])} | {_fmt(item.get('latency_ms'), 2)} "
                f"| {_fmt(item.get('failed'))} |"
            )
    checks = check_targets(results)
    if checks:
        lines += ["", "| target | C | goal | measured | met |", "| --- | ---: | --- | ---: | --- |"]
        for c in checks:
            verdict = "yes" if c["ok"] else "**no**"
            lines.append(
                f"| {c['scenario']} | {c['concurrency']} | {c['target']} | {c['measured']} "
                f"| {verdict} |"
            )
    if results.get("pending"):
        lines += ["", "Declared, not run:"]
        lines += [f"- {p['title']} ({p['name']}): {p['reason']}" for p in results["pending"]]
    if chart_name:
        lines += ["", f"![Throughput and p99 against concurrency]({chart_name})"]
    return "\n".join(lines) + "\n"


def write_block(path: Path, block: str, *, start: str = START, end: str = END) -> None:
    """Put ``block`` between the markers ``start`` and ``end`` of ``path``, keeping the rest."""
    text = path.read_text() if path.exists() else ""
    wrapped = f"{start}\n{block.rstrip()}\n{end}"
    if start in text and end in text:
        pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
        text = pattern.sub(lambda _: wrapped, text, count=1)
    else:
        text = (text.rstrip() + "\n\n" if text.strip() else "") + wrapped + "\n"
    path.write_text(text)


def write_chart(results: dict, path: Path) -> None:
    """Throughput and p99 against concurrency, one line per scenario, pgbench drawn in."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    fig, (ax_tps, ax_p99) = plt.subplots(1, 2, figsize=(11, 5.2))
    by_scenario: dict[str, list[dict]] = {}
    for row in results["scenarios"]:
        by_scenario.setdefault(row["title"], []).append(row)
    for title, rows in by_scenario.items():
        rows.sort(key=lambda r: r["concurrency"])
        xs = [r["concurrency"] for r in rows]
        ax_tps.plot(xs, [r["throughput"] for r in rows], marker="o", label=title)
        ax_p99.plot(xs, [r["p99_ms"] for r in rows], marker="o", label=title)
    styles = {"tpcb": ("tab:red", "--"), "select": ("tab:purple", ":")}
    for key, item in results.get("pgbench", {}).items():
        color, style = styles.get(key, ("grey", "-."))
        ax_tps.axhline(
            item["tps"], color=color, linestyle=style,
            label=f"pgbench {item['script']} (c={item['clients']})",
        )  # fmt: skip
    concurrencies = sorted({r["concurrency"] for r in results["scenarios"]})
    for ax, ylabel in ((ax_tps, "requests / s (log)"), (ax_p99, "p99 latency, ms (log)")):
        ax.set_xlabel("concurrent clients")
        ax.set_ylabel(ylabel)
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        if concurrencies:
            ax.set_xticks(concurrencies)
        ax.grid(True, which="both", alpha=0.3)
    ax_tps.set_title("Throughput")
    ax_p99.set_title("p99 latency")
    handles, labels = ax_tps.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.suptitle(f"Benchmark of {results['meta']['date']}", fontsize=10)
    fig.tight_layout(rect=(0, 0.14, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
