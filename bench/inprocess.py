"""Cost of one request, in process: ``python -m bench.inprocess`` (``make bench-cost``).

The HTTP run measures what a user sees, but on a machine shared with other work its
throughput moves by tens of per cent from one minute to the next. To tell whether a
code change helped, this measures what the change moves: for each runnable scenario,
the same requests are passed straight to Django's WSGI handler, one after another, and
it reports per request the queries run, the CPU time of the Django process, the CPU
time of its PostgreSQL backend and the wall time. Requests run in batches of 200: the
best batch is the cost of the code, the median shows how much the machine disturbed it.

Knobs: ``BENCH_COST_REQUESTS`` (default 2000 per scenario), ``BENCH_SCENARIOS``,
``BENCH_BORROWERS``, ``BENCH_LABEL``; ``BENCH_COST_SQL=1`` prints the statements of one
request of each scenario (to standard error); the database is recreated as for ``bench.run``.
"""

import io
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime

from bench import run
from bench.server import cpu_seconds

BATCH = 200


def _environ(method: str, path: str, body: bytes, token: str | None) -> dict:
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_HOST": "127.0.0.1",
    }
    if body:
        environ["CONTENT_TYPE"] = "application/json"
    if token:
        environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return environ


def _call(handler, scenario, fixture: dict, seq: int) -> str:
    request = scenario.request(fixture, seq)
    body = json.dumps(request.body).encode() if request.body is not None else b""
    status = []
    response = handler(
        _environ(request.method, request.path, body, fixture.get("token")),
        lambda s, headers, exc_info=None: status.append(s),
    )
    for _ in response:
        pass
    response.close()
    return status[0].split(" ", 1)[0]


def measure(scenario, fixtures: list[dict], requests: int) -> dict:
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    handler = WSGIHandler()
    statuses: dict[str, int] = {}
    # Warm up (imports, URL resolver, first connection), then count queries on a few.
    for seq in range(50):
        _call(handler, scenario, fixtures[seq % len(fixtures)], seq)
    with CaptureQueriesContext(connection) as captured:
        for seq in range(50, 60):
            _call(handler, scenario, fixtures[seq % len(fixtures)], seq)
    queries = len(captured.captured_queries) / 10
    if os.environ.get("BENCH_COST_SQL"):
        one = captured.captured_queries[: len(captured.captured_queries) // 10]
        print(f"\n{scenario.name}: the statements of one request", file=sys.stderr)
        for number, query in enumerate(one, 1):
            print(f"{number:3}. {query['sql'][:400]}", file=sys.stderr)
    connection.ensure_connection()
    backend = connection.connection.info.backend_pid

    # Batches, so that a burst of other work on the machine spoils one batch, not the
    # figure: the best batch is the cost of the code, the median what it got here.
    batch_cpu, batch_wall = [], []
    db0 = cpu_seconds([backend]).get(backend, 0.0)
    seq = 60
    for _ in range(max(1, requests // BATCH)):
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for _ in range(BATCH):
            status = _call(handler, scenario, fixtures[seq % len(fixtures)], seq)
            statuses[status] = statuses.get(status, 0) + 1
            seq += 1
        batch_cpu.append((time.process_time() - cpu0) / BATCH)
        batch_wall.append((time.perf_counter() - wall0) / BATCH)
    done = seq - 60
    same_backend = connection.connection is not None and (
        connection.connection.info.backend_pid == backend
    )
    db = cpu_seconds([backend]).get(backend, 0.0) - db0 if same_backend else None
    return {
        "scenario": scenario.name,
        "requests": done,
        "statuses": statuses,
        "queries_per_request": queries,
        "django_cpu_us": round(1e6 * min(batch_cpu)),
        "django_cpu_us_median": round(1e6 * statistics.median(batch_cpu)),
        "db_cpu_us": round(1e6 * db / done) if db is not None else None,
        "wall_us": round(1e6 * min(batch_wall)),
        "wall_us_median": round(1e6 * statistics.median(batch_wall)),
    }


def _logs_to_devnull() -> None:
    """Format every log line as deployed, but write it to /dev/null, not into the report."""
    import logging

    sink = open(os.devnull, "w")  # noqa: SIM115 - open for the life of the process
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(sink)


def main() -> int:
    cfg = run.Config.from_env()
    requests = int(os.environ.get("BENCH_COST_REQUESTS", 2000))
    os.chdir(run.BASE_DIR)
    # One backend for the whole measurement, so that its CPU time can be read.
    os.environ.setdefault("CONN_MAX_AGE", "3600")
    admin = run.Admin(cfg.server_url)
    admin.recreate(cfg.database)
    run.configure_django(cfg)
    _logs_to_devnull()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    runnable, pending = run.prepare_scenarios(cfg)
    rows = [measure(scenario, fixtures, requests) for scenario, fixtures in runnable]
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"\nCost per request, in process ({stamp}; {cfg.label or 'no label'}; "
          f"load average {os.getloadavg()[0]:.2f})\n")  # fmt: skip
    print(
        "| scenario | requests | statuses | queries | Django CPU µs | PostgreSQL CPU µs | wall µs |"
    )
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: |")
    for r in rows:
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(r["statuses"].items()))
        print(f"| {r['scenario']} | {r['requests']} | {statuses} | {r['queries_per_request']:g} "
              f"| {r['django_cpu_us']} ({r['django_cpu_us_median']}) | {r['db_cpu_us']} "
              f"| {r['wall_us']} ({r['wall_us_median']}) |")  # fmt: skip
    cfg.out_dir.mkdir(parents=True, exist_ok=True)
    out = cfg.out_dir / f"cost-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps({"label": cfg.label, "rows": rows, "pending": pending}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
