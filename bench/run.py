"""One benchmark run, start to finish: ``python -m bench.run`` (``make bench``).

1. Recreate the benchmark database on the machine's PostgreSQL and migrate it.
2. Run each scenario's setup through the project's services (borrowers, tokens, …).
3. Start gunicorn on a free loopback port, then, for each scenario and each concurrency,
   start the load generator as a separate process and sample the CPU time of gunicorn
   and of the PostgreSQL backends around it.
4. Stop gunicorn (always, even on failure), then run pgbench on the same server.
5. Write the results: JSON under var/bench/, a Markdown block in docs/BENCHMARKS.md
   and a PNG chart beside it.

Every knob is an environment variable (see ``Config.from_env``); each step is bounded
in time, so a run cannot hang.
"""

import importlib.metadata
import json
import os
import platform
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def default_workers() -> int:
    """The deployed default (deploy/gunicorn.conf.py): (2 x cores) + 1, 5 on 2 cores.

    Workers block while PostgreSQL answers (a repayment makes seven round trips), so
    more of them than cores keep both cores busy. See docs/BENCHMARKS.md, "gunicorn".
    """
    return 2 * (os.cpu_count() or 1) + 1


@dataclass(frozen=True)
class Config:
    server_url: str
    database: str
    pgbench_database: str
    duration: int
    warmup: int
    concurrency: tuple[int, ...]
    borrowers: int
    scenarios: tuple[str, ...]
    max_requests: int
    request_timeout: int
    workers: int
    worker_class: str
    threads: int
    pgbench_duration: int
    pgbench_scale: int
    pgbench_clients: int
    pgbench_threads: int
    label: str
    doc: Path
    chart: Path
    out_dir: Path
    redis_url: str

    @classmethod
    def from_env(cls) -> "Config":
        e = os.environ
        return cls(
            server_url=e.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432"),
            database=e.get("BENCH_DATABASE", "lending_bench"),
            pgbench_database=e.get("BENCH_PGBENCH_DATABASE", "lending_bench_pgbench"),
            duration=_env_int("BENCH_DURATION", 15),
            warmup=_env_int("BENCH_WARMUP", 2),
            concurrency=tuple(int(c) for c in e.get("BENCH_CONCURRENCY", "16,64").split(",")),
            borrowers=_env_int("BENCH_BORROWERS", 128),
            scenarios=tuple(s for s in e.get("BENCH_SCENARIOS", "").split(",") if s),
            max_requests=_env_int("BENCH_MAX_REQUESTS", 200_000),
            request_timeout=_env_int("BENCH_REQUEST_TIMEOUT", 10),
            workers=_env_int("BENCH_WORKERS", default_workers()),
            # The deployed defaults (deploy/gunicorn.conf.py), unless asked otherwise.
            worker_class=e.get("BENCH_WORKER_CLASS", "sync"),
            threads=_env_int("BENCH_THREADS", 1),
            pgbench_duration=_env_int("PGBENCH_DURATION", 30),
            pgbench_scale=_env_int("PGBENCH_SCALE", 10),
            pgbench_clients=_env_int("PGBENCH_CLIENTS", 16),
            pgbench_threads=_env_int("PGBENCH_THREADS", 2),
            label=e.get("BENCH_LABEL", ""),
            doc=Path(e.get("BENCH_DOC", BASE_DIR / "docs" / "BENCHMARKS.md")),
            chart=Path(e.get("BENCH_CHART", BASE_DIR / "docs" / "benchmarks.png")),
            out_dir=Path(e.get("BENCH_OUT_DIR", BASE_DIR / "var" / "bench")),
            redis_url=e.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/3"),
        )

    def estimate_seconds(self, runnable: int) -> int:
        load = runnable * len(self.concurrency) * (self.duration + self.warmup + 2)
        pgbench = 2 * self.pgbench_duration + 20 if self.pgbench_duration else 0
        return load + pgbench + 30


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


class Admin:
    """Autocommit connection to the server's maintenance database."""

    def __init__(self, server_url: str):
        import psycopg

        self.conn = psycopg.connect(f"{server_url.rstrip('/')}/postgres", autocommit=True)

    def recreate(self, name: str) -> None:
        from psycopg import sql

        self.conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        self.conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def drop(self, name: str) -> None:
        from psycopg import sql

        self.conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )

    def scalar(self, query: str, *params):
        return self.conn.execute(query, params).fetchone()[0]

    def backend_pids(self, database: str) -> list[int]:
        rows = self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        ).fetchall()
        return [row[0] for row in rows]


def configure_django(cfg: Config) -> None:
    """Point this process (and, through the environment, gunicorn) at the bench database.

    Everything else is as deployed (``deploy/lending.env.example``): the production
    settings, the Redis cache, JSON logs at INFO (one access line per request).
    """
    os.environ.update(
        DJANGO_SETTINGS_MODULE="lendingsite.settings",
        DATABASE_URL=f"{cfg.server_url.rstrip('/')}/{cfg.database}",
        SECRET_KEY=secrets.token_urlsafe(50),
        DEBUG="false",
        SECURE_SSL_REDIRECT="false",
        STATIC_MANIFEST="false",
        REDIS_URL=cfg.redis_url,
        LOG_LEVEL="INFO",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        # Tokens are minted once at setup and must outlive the run.
        JWT_ACCESS_MINUTES="120",
    )
    os.environ.pop("DJANGO_READ_DOT_ENV_FILE", None)
    import django

    django.setup()


def endpoint_exists(path: str) -> bool:
    from django.urls import Resolver404, resolve

    try:
        resolve(path)
    except Resolver404:
        return False
    return True


def prepare_scenarios(cfg: Config) -> tuple[list[tuple], list[dict]]:
    """Run the setup of every selected scenario; return (runnable, pending)."""
    from bench.scenarios import SCENARIOS, SetupContext

    selected = [s for s in SCENARIOS if not cfg.scenarios or s.name in cfg.scenarios]
    unknown = set(cfg.scenarios) - {s.name for s in SCENARIOS}
    if unknown:
        raise SystemExit(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    ctx = SetupContext(n_borrowers=cfg.borrowers)
    runnable, pending = [], []
    for scenario in selected:
        reason = scenario.pending
        if not reason and not endpoint_exists(scenario.path):
            reason = f"{scenario.method} {scenario.path} does not exist on this branch yet"
        if not reason:
            started = time.monotonic()
            try:
                fixtures = scenario.setup(ctx)
            except NotImplementedError as exc:
                reason = f"setup not written yet ({exc})"
            else:
                log(f"setup {scenario.name}: {len(fixtures)} fixtures "
                    f"in {time.monotonic() - started:.1f}s")  # fmt: skip
                runnable.append((scenario, fixtures))
                continue
        pending.append({"name": scenario.name, "title": scenario.title, "reason": reason})
        log(f"pending {scenario.name}: {reason}")
    return runnable, pending


def run_load(cfg: Config, server, admin: Admin, scenario, fixtures, concurrency: int) -> dict:
    from bench.server import (
        cpu_delta,
        cpu_seconds,
        reaped_children_cpu_seconds,
        server_cpu_delta,
    )

    cfg.out_dir.mkdir(parents=True, exist_ok=True)
    spec_path = cfg.out_dir / f"spec-{scenario.name}-{concurrency}.json"
    result_path = cfg.out_dir / f"result-{scenario.name}-{concurrency}.json"
    result_path.unlink(missing_ok=True)
    spec = {
        "base_url": server.base_url,
        "scenario": scenario.name,
        "fixtures": fixtures,
        "concurrency": concurrency,
        "duration": cfg.duration,
        "warmup": cfg.warmup,
        "max_requests": cfg.max_requests,
        "timeout": cfg.request_timeout,
    }
    spec_path.write_text(json.dumps(spec))

    master = server.pids()[0]
    server_before = cpu_seconds(server.pids())
    reaped_before = reaped_children_cpu_seconds(master)
    db_before = cpu_seconds(admin.backend_pids(cfg.database))
    started = time.monotonic()
    subprocess.run(  # noqa: S603 (fixed argv)
        [sys.executable, "-m", "bench.loadgen", str(spec_path), str(result_path)],
        cwd=BASE_DIR,
        check=True,
        timeout=cfg.warmup + cfg.duration + cfg.request_timeout + 60,
    )
    wall = time.monotonic() - started
    server_used = server_cpu_delta(master, server_before, reaped_before, cpu_seconds(server.pids()))
    db_used = cpu_delta(db_before, cpu_seconds(admin.backend_pids(cfg.database)))

    result = json.loads(result_path.read_text())
    answered = sum(result["statuses"].values()) or 1
    result.update(
        title=scenario.title,
        ceiling=scenario.ceiling,
        server_cpu_percent=round(100 * server_used / wall, 1),
        db_cpu_percent=round(100 * db_used / wall, 1),
        # CPU per request is what a code change moves; it is far less sensitive than
        # throughput to other work on the machine.
        server_cpu_ms_per_request=round(1000 * server_used / answered, 3),
        db_cpu_ms_per_request=round(1000 * db_used / answered, 3),
    )
    return result


def run_pgbench(cfg: Config, admin: Admin, server_major: int) -> tuple[dict, str]:
    from bench import pgbench

    if cfg.pgbench_duration <= 0:
        return {}, "not run"
    binary = pgbench.ensure_installed(server_major)
    url = urlsplit(cfg.server_url)
    server = pgbench.Server(
        url.hostname or "127.0.0.1", url.port or 5432, url.username or "postgres"
    )
    admin.recreate(cfg.pgbench_database)
    try:
        log(f"pgbench: initializing scale {cfg.pgbench_scale}")
        pgbench.initialize(binary, server, cfg.pgbench_database, scale=cfg.pgbench_scale)
        results = {}
        for script in ("tpcb", "select"):
            log(f"pgbench: {pgbench.SCRIPTS[script]} for {cfg.pgbench_duration}s")
            results[script] = pgbench.run(
                binary, server, cfg.pgbench_database, script=script,
                clients=cfg.pgbench_clients, threads=cfg.pgbench_threads,
                seconds=cfg.pgbench_duration,
            )  # fmt: skip
            log(f"pgbench {pgbench.SCRIPTS[script]}: {results[script]['tps']} tps")
    finally:
        admin.drop(cfg.pgbench_database)
    return results, pgbench.version(binary)


def machine_facts() -> dict:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return {
        "CPU": f"{os.cpu_count()} x {cpu}",
        "memory": f"{mem_kb / 1024 / 1024:.0f} GiB",
        "kernel": platform.release(),
        "load average at start": load,
    }


def package_versions() -> dict:
    names = ["Django", "djangorestframework", "djangorestframework-simplejwt", "psycopg",
             "gunicorn", "aiohttp"]  # fmt: skip
    versions = {"Python": platform.python_version()}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def view_authentication(scenarios) -> str:
    """Which authentication class each measured endpoint's view uses."""
    from django.urls import resolve

    parts = []
    for scenario in scenarios:
        view = getattr(resolve(scenario.path).func, "view_class", None)
        classes = getattr(view, "authentication_classes", None) or []
        names = ", ".join(c.__name__ for c in classes) or "none"
        parts.append(f"{scenario.name}: {names}")
    return "; ".join(parts)


def app_settings(cfg: Config, scenarios) -> dict:
    from django.conf import settings

    db = settings.DATABASES["default"]
    rest = settings.REST_FRAMEWORK
    options = db.get("OPTIONS", {})
    return {
        "gunicorn": f"{cfg.workers} workers x {cfg.threads} threads ({cfg.worker_class})",
        "CONN_MAX_AGE": db.get("CONN_MAX_AGE"),
        "CONN_HEALTH_CHECKS": db.get("CONN_HEALTH_CHECKS"),
        "prepare_threshold": options.get("prepare_threshold"),
        "pool": options.get("pool") or False,
        "authentication": view_authentication(scenarios),
        "renderer": ", ".join(c.rsplit(".", 1)[-1] for c in rest["DEFAULT_RENDERER_CLASSES"]),
        "cache": settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1],
        "throttles": ", ".join(
            f"{k} {v}" for k, v in rest.get("DEFAULT_THROTTLE_RATES", {}).items()
        ),
        "load": (
            f"aiohttp closed loop, {cfg.warmup}s warm-up + {cfg.duration}s per row, "
            f"{cfg.borrowers} borrowers"
        ),
        "pgbench": (
            f"scale {cfg.pgbench_scale}, -c {cfg.pgbench_clients} -j {cfg.pgbench_threads}, "
            f"{cfg.pgbench_duration}s"
        ),
    }


def main() -> int:
    # SIGTERM unwinds like Ctrl-C, so that gunicorn is stopped by the finally below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    cfg = Config.from_env()
    sys.path.insert(0, str(BASE_DIR))
    os.chdir(BASE_DIR)
    started_at = datetime.now(UTC)
    admin = Admin(cfg.server_url)
    server_version = admin.scalar("SHOW server_version")
    server_major = int(admin.scalar("SHOW server_version_num")) // 10000
    meta = {
        "date": started_at.strftime("%Y-%m-%d %H:%M UTC"),
        "label": cfg.label,
        "machine": machine_facts(),
    }

    log(f"recreating database {cfg.database}")
    admin.recreate(cfg.database)
    configure_django(cfg)
    from django.core.management import call_command
    from django.db import connections

    call_command("migrate", verbosity=0, interactive=False)
    runnable, pending = prepare_scenarios(cfg)
    connections.close_all()
    log(f"{len(runnable)} scenario(s) to run, about {cfg.estimate_seconds(len(runnable))}s")

    from bench.server import Gunicorn

    rows = []
    server = Gunicorn(
        env=dict(os.environ), workers=cfg.workers, worker_class=cfg.worker_class,
        threads=cfg.threads, log=cfg.out_dir / "gunicorn.log",
    )  # fmt: skip
    cfg.out_dir.mkdir(parents=True, exist_ok=True)
    try:
        server.start()
        log(f"gunicorn ready at {server.base_url} ({cfg.workers} workers x {cfg.threads})")
        for scenario, fixtures in runnable:
            for concurrency in cfg.concurrency:
                row = run_load(cfg, server, admin, scenario, fixtures, concurrency)
                log(
                    f"{scenario.name} C={concurrency}: {row['throughput']} req/s, "
                    f"p99 {row['p99_ms']} ms, errors {row['errors']}, "
                    f"load gen. CPU {row['loadgen_cpu_percent']} %, gunicorn CPU "
                    f"{row['server_cpu_ms_per_request']} ms/request"
                )
                rows.append(row)
    finally:
        server.stop()

    pgbench_results, pgbench_version = run_pgbench(cfg, admin, server_major)
    meta["versions"] = {
        **package_versions(),
        "PostgreSQL": server_version,
        "pgbench": pgbench_version,
    }
    meta["settings"] = app_settings(cfg, [scenario for scenario, _ in runnable])
    results = {"meta": meta, "pgbench": pgbench_results, "scenarios": rows, "pending": pending}

    from bench import report

    stamp = started_at.strftime("%Y%m%dT%H%M%SZ")
    (cfg.out_dir / f"results-{stamp}.json").write_text(json.dumps(results, indent=2))
    chart_name = None
    if rows:
        report.write_chart(results, cfg.chart)
        chart_name = os.path.relpath(cfg.chart, cfg.doc.parent)
    block = report.render_markdown(results, chart_name=chart_name)
    report.write_block(cfg.doc, block)
    print(block)
    log(f"wrote {cfg.doc} and {cfg.chart}; raw figures in {cfg.out_dir}/results-{stamp}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
