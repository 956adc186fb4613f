"""Run the whole hostile-world suite and rewrite ``docs/RELIABILITY.md`` from its figures.

``python -m reliability`` (``make reliability``): the full torture run (64 clients for
60 s with crash faults), schemathesis with many examples per operation, the hypothesis
state machine with many runs, and the OWASP and bad-input tests. Sizes can be changed
with ``RELIABILITY_SECONDS``, ``RELIABILITY_CLIENTS``, ``RELIABILITY_FUZZ_EXAMPLES`` and
``RELIABILITY_STATEFUL_EXAMPLES``. ``python -m reliability --report-only`` re-renders
the document from the last results in ``var/reliability/``.
"""

import argparse
import os
import subprocess
import sys
import time

from reliability.report import RESULTS, render
from reliability.service import ROOT


def _step(title: str, command: list[str], env: dict | None = None) -> int:
    print(f"\n=== {title}\n$ {' '.join(command)}", flush=True)
    started = time.monotonic()
    code = subprocess.run(command, cwd=ROOT, env=env, check=False).returncode  # noqa: S603
    print(f"=== {title}: exit {code} after {time.monotonic() - started:.0f} s", flush=True)
    return code


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    codes = {}
    if not args.report_only:
        (RESULTS / "machine.txt").write_text(_machine_conditions())
        python = sys.executable
        seconds = os.environ.get("RELIABILITY_SECONDS", "60")
        clients = os.environ.get("RELIABILITY_CLIENTS", "64")
        codes["torture"] = _step(
            "torture run",
            [
                *(python, "-m", "reliability.torture", "--seconds", seconds),
                *("--clients", clients, "--faults", "full"),
                *("--json", str(RESULTS / "torture.json")),
            ],
        )
        codes["fuzz"] = _step(
            "schemathesis",
            [
                *(python, "-m", "reliability.fuzz", "--json", str(RESULTS / "fuzz.json")),
                *("--max-examples", os.environ.get("RELIABILITY_FUZZ_EXAMPLES", "300")),
            ],
        )
        env = {
            **os.environ,
            "RELIABILITY_REPORT_DIR": str(RESULTS),
            "RELIABILITY_STATEFUL_EXAMPLES": os.environ.get("RELIABILITY_STATEFUL_EXAMPLES", "200"),
        }
        codes["tests"] = _step(
            "state machine, OWASP and bad-input tests",
            [
                *(python, "-m", "pytest", "-q", "-m", "not reliability"),
                *("tests/reliability", "tests/security"),
                *("--junitxml", str(RESULTS / "pytest.xml")),
            ],
            env=env,
        )
    document = render()
    (ROOT / "docs" / "RELIABILITY.md").write_text(document)
    print("\nwrote docs/RELIABILITY.md")
    failed = {name: code for name, code in codes.items() if code}
    if failed:
        print(f"FAILED: {failed}", file=sys.stderr)
        return 1
    return 0


def _machine_conditions() -> str:
    load = os.getloadavg()
    cores = os.cpu_count()
    with open("/proc/meminfo") as meminfo:
        total_kb = int(meminfo.readline().split()[1])
    return (
        f"{cores} cores, {total_kb // 1024 // 1024} GiB memory, load average "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1 / 5 / 15 min) when the run started"
    )


if __name__ == "__main__":
    sys.exit(main())
