"""The CSV export of the loans list, in constant memory: ``python -m bench.export``.

``make bench-export``. For each size in ``EXPORT_SIZES`` (default ``10000,100000`` loans) it
builds a database with ``bench.books.load`` (set-based SQL), then measures, each in a
fresh Python process so that peaks do not carry over:

- **streamed**: an officer exports every loan from the admin (``/admin/exports/loans/loan/``,
  Django's test client in process, the stream read to its end and thrown away), as the
  back office does it;
- **all at once**, for contrast: the same columns read into a list and written to one
  string, as an export without a server-side cursor and a stream would.

Each process reports its peak resident set size (``ru_maxrss``) after Django is set up
and warmed (an export of no rows) and after the measured export; the difference is what
the export itself needed. The table goes between the ``bench:export`` markers of
``docs/BENCHMARKS.md``. Knobs: ``BENCH_PG_URL`` (the server), ``EXPORT_DATABASE``
(``lending_export``), ``EXPORT_SIZES``.
"""

import dataclasses
import json
import os
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime

from bench import run

START = "<!-- bench:export:start -->"
END = "<!-- bench:export:end -->"
OFFICER = "officer@export.bench.example"
URL = "/admin/exports/loans/loan/"
MODES = ("streamed", "all at once")


def log(message: str) -> None:
    print(f"[export {time.strftime('%H:%M:%S')}] {message}", flush=True)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child(mode: str) -> dict:
    """Run one export in this process; return its figures."""
    import django

    django.setup()
    from django.test import Client

    from accounts.models import User

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.get(email=OFFICER))

    def streamed(query: str) -> tuple[int, int]:
        response = client.get(URL + query)
        assert response.status_code == 200, response.status_code
        lines = size = 0
        for chunk in response.streaming_content:
            lines += chunk.count(b"\n")
            size += len(chunk)
        return lines - 1, size

    def all_at_once(query: str) -> tuple[int, int]:
        import csv
        import io

        from django.contrib import admin
        from django.utils import timezone

        from lendingsite.csv_export import csv_cell
        from loans.models import Loan

        columns = admin.site.get_model_admin(Loan).export_columns
        queryset = Loan.objects.order_by("pk")
        if query:
            queryset = queryset.none()
        rows = list(queryset.values_list(*(column.lookup for column in columns)))
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([column.heading for column in columns])
        zone = timezone.get_current_timezone()
        writer.writerows(
            [csv_cell(v, c.kind, zone=zone) for v, c in zip(row, columns, strict=True)]
            for row in rows
        )
        return len(rows), len(buffer.getvalue().encode())

    export = streamed if mode == "streamed" else all_at_once
    export("?q=nobody-at-all")  # warm: imports, templates, the first queries
    before = peak_mb()
    started = time.perf_counter()
    rows, size = export("")
    return {
        "mode": mode,
        "rows": rows,
        "bytes": size,
        "seconds": time.perf_counter() - started,
        "peak_before_mb": before,
        "peak_after_mb": peak_mb(),
    }


def measure(mode: str) -> dict:
    out = subprocess.run(  # noqa: S603 (fixed argv)
        [sys.executable, "-m", "bench.export", "--child", mode],
        check=True,
        capture_output=True,
        text=True,
        cwd=run.BASE_DIR,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def render(meta: dict, results: list[dict]) -> str:
    lines = [
        f"### CSV export of the loans list, {meta['date']}",
        "",
        f"Machine: {meta['machine']}.",
        "",
        "| loans | export | time | CSV size | peak RSS, warmed | peak RSS, after | growth |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in results:
        lines.append(
            f"| {row['rows']:,} | {row['mode']} | {row['seconds']:.1f} s "
            f"| {row['bytes'] / 1e6:.1f} MB | {row['peak_before_mb']:.0f} MB "
            f"| {row['peak_after_mb']:.0f} MB "
            f"| {row['peak_after_mb'] - row['peak_before_mb']:.0f} MB |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    cfg = run.Config.from_env()
    cfg = dataclasses.replace(cfg, database=os.environ.get("EXPORT_DATABASE", "lending_export"))
    sizes = [int(n) for n in os.environ.get("EXPORT_SIZES", "10000,100000").split(",")]
    sys.path.insert(0, str(run.BASE_DIR))
    os.chdir(run.BASE_DIR)
    admin = run.Admin(cfg.server_url)
    run.configure_django(cfg)
    meta = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": ", ".join(f"{k} {v}" for k, v in run.machine_facts().items()),
    }
    results = []
    for loans in sizes:
        log(f"recreating database {cfg.database} with {loans:,} loans")
        admin.recreate(cfg.database)
        load_book(loans)
        for mode in MODES:
            row = measure(mode)
            log(
                f"{loans:,} loans, {mode}: {row['seconds']:.1f}s, peak "
                f"{row['peak_before_mb']:.0f} → {row['peak_after_mb']:.0f} MB"
            )
            results.append(row)
    admin.drop(cfg.database)
    block = render(meta, results)
    from bench.report import write_block

    write_block(cfg.doc, block, start=START, end=END)
    print(block)
    return 0


def load_book(loans: int) -> None:
    """Migrate, load the loans and their borrowers, add the officer; in a child process."""
    script = (
        "import django; django.setup()\n"
        "from django.core.management import call_command\n"
        "from django.db import connection\n"
        "from accounts.services import user_create\n"
        "from bench.books import load\n"
        "call_command('migrate', verbosity=0, interactive=False)\n"
        f"users = min({loans}, 20000)\n"
        f"load(connection, postings=2 * ({loans} // 5) + 2 * users, loans={loans}, users=users)\n"
        f"user_create(email={OFFICER!r}, name='Export Officer', role='OFFICER')\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=run.BASE_DIR)  # noqa: S603


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        print(json.dumps(child(sys.argv[2])))
        sys.exit(0)
    sys.exit(main())
