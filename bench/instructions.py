"""Instructions per request, counted by valgrind: ``python -m bench.instructions``.

CPU time per request (``bench.inprocess``) moves by tens of per cent when other work
shares the machine. Valgrind's callgrind counts the instructions the Django process
executes in user space, which do not depend on what else runs: the same code and inputs
give the same count (within a fraction of a per cent). It misses what the kernel does
for the process (socket writes and reads: the round trips to PostgreSQL and Redis), so
it complements the CPU figures rather than replacing them.

For each scenario: the bench database is recreated and migrated natively; then a child
process under ``valgrind --tool=callgrind --instr-atstart=no`` builds the scenario's
fixtures, warms up with 30 requests, switches counting on (``callgrind_control``), sends
``BENCH_INSTR_REQUESTS`` requests (default 50) through Django's WSGI handler, and
switches it off. The count divided by the requests is the figure; every answer must
have been a success.

Knobs: ``BENCH_SCENARIOS`` (default emi_quote,balance), ``BENCH_INSTR_REQUESTS``, and
those of ``bench.run`` (``BENCH_PG_URL``, ``BENCH_REDIS_URL``). Needs ``valgrind``.
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import inprocess, run

WARMUP = 30


def _child(scenario_name: str, requests: int, result: Path) -> None:
    """Runs under valgrind: fixtures, warm-up, then the counted requests."""
    cfg = run.Config.from_env()
    run.configure_django(cfg)
    inprocess._logs_to_devnull()
    from django.core.handlers.wsgi import WSGIHandler

    runnable, _ = run.prepare_scenarios(cfg)
    ((scenario, fixtures),) = [(s, f) for s, f in runnable if s.name == scenario_name]
    handler = WSGIHandler()
    pid = str(os.getpid())

    def control(*args: str) -> None:
        command = ["callgrind_control", *args, pid]  # valgrind's own tool, from PATH
        subprocess.run(command, capture_output=True, check=True)  # noqa: S603

    for seq in range(WARMUP):
        inprocess._call(handler, scenario, fixtures[seq % len(fixtures)], seq)
    statuses: dict[str, int] = {}
    control("--zero")
    control("--instr=on")
    for seq in range(WARMUP, WARMUP + requests):
        status = inprocess._call(handler, scenario, fixtures[seq % len(fixtures)], seq)
        statuses[status] = statuses.get(status, 0) + 1
    control("--instr=off")
    control(f"--dump={scenario_name}")
    result.write_text(json.dumps(statuses))


def measure(scenario_name: str, requests: int) -> dict:
    cfg = run.Config.from_env()
    run.Admin(cfg.server_url).recreate(cfg.database)
    subprocess.run(
        [sys.executable, "-c", "from bench import run; run.configure_django(run.Config.from_env());"
         "from django.core.management import call_command;"
         "call_command('migrate', verbosity=0, interactive=False)"],
        check=True,
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        env = {**os.environ, "PYTHONHASHSEED": "0", "BENCH_SCENARIOS": scenario_name}
        subprocess.run(  # noqa: S603
            [  # noqa: S607 - valgrind from PATH
                "valgrind", "--tool=callgrind", "--instr-atstart=no",
                f"--callgrind-out-file={out}/callgrind.%p",
                sys.executable, "-m", "bench.instructions", "--child", scenario_name,
                str(requests), str(out / "statuses.json"),
            ],
            env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        statuses = json.loads((out / "statuses.json").read_text())
        (dump,) = [p for p in out.glob("callgrind.*") if p.suffix == ".1"]
        totals = [line for line in dump.read_text().splitlines() if line.startswith("totals:")]
        instructions = int(totals[0].split()[1])
    return {
        "scenario": scenario_name,
        "requests": requests,
        "statuses": statuses,
        "instructions_per_request": instructions // requests,
    }


def main() -> int:
    if sys.argv[1:2] == ["--child"]:
        _child(sys.argv[2], int(sys.argv[3]), Path(sys.argv[4]))
        return 0
    os.chdir(run.BASE_DIR)
    requests = int(os.environ.get("BENCH_INSTR_REQUESTS", 50))
    names = os.environ.get("BENCH_SCENARIOS", "emi_quote,balance").split(",")
    os.environ.setdefault("BENCH_BORROWERS", "4")
    os.environ.setdefault("CONN_MAX_AGE", "3600")
    print(f"\nInstructions per request, in process ({os.environ.get('BENCH_LABEL', '')})\n")
    print("| scenario | requests | statuses | instructions per request |")
    print("| --- | ---: | --- | ---: |")
    for name in names:
        row = measure(name, requests)
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(row["statuses"].items()))
        print(
            f"| {name} | {requests} | {statuses} | {row['instructions_per_request']:,} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
