"""The database's own ceiling, measured with pgbench on the same server."""

import re
import shutil
import subprocess
from dataclasses import dataclass

# The two built-in scripts: a small write transaction and a primary-key read.
SCRIPTS = {"tpcb": "tpcb-like", "select": "select-only"}

_PATTERNS = {
    "tps": r"^tps = ([\d.]+) \(without initial connection time\)",
    "latency_ms": r"^latency average = ([\d.]+) ms",
    "transactions": r"^number of transactions actually processed: (\d+)",
    "failed": r"^number of failed transactions: (\d+)",
}


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    user: str

    def args(self) -> list[str]:
        return ["-h", self.host, "-p", str(self.port), "-U", self.user]


def parse_output(text: str) -> dict:
    """Read the summary pgbench prints (throughput, mean latency, counts)."""
    result: dict = {}
    for key, pattern in _PATTERNS.items():
        match = re.search(pattern, text, re.MULTILINE)
        if match:
            value = match.group(1)
            result[key] = int(value) if value.isdigit() else round(float(value), 2)
    if "tps" not in result:
        raise ValueError("pgbench printed no tps line:\n" + text[-2000:])
    return result


def ensure_installed(server_major: int) -> str:
    """Path of pgbench, installed from Debian's packages if the machine lacks it."""
    found = shutil.which("pgbench")
    if found:
        return found
    # Debian ships pgbench with the server package of each major version.
    subprocess.run(["apt-get", "update", "-q"], check=True)  # noqa: S607
    subprocess.run(  # noqa: S603
        ["apt-get", "install", "-y", "-q", f"postgresql-{server_major}"],  # noqa: S607
        check=True,
        env={"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
    )
    found = shutil.which("pgbench")
    if not found:
        raise RuntimeError("pgbench is still missing after apt-get install")
    return found


def version(pgbench: str) -> str:
    out = subprocess.run([pgbench, "--version"], capture_output=True, text=True, check=True)  # noqa: S603
    return out.stdout.strip().removeprefix("pgbench ")


def initialize(pgbench: str, server: Server, database: str, *, scale: int) -> None:
    subprocess.run(  # noqa: S603
        [pgbench, *server.args(), "-i", "-q", "-s", str(scale), database],
        check=True,
        capture_output=True,
        timeout=300,
    )


def run(
    pgbench: str,
    server: Server,
    database: str,
    *,
    script: str,
    clients: int,
    threads: int,
    seconds: int,
) -> dict:
    command = [
        pgbench, *server.args(), "-b", SCRIPTS[script], "-c", str(clients), "-j", str(threads),
        "-T", str(seconds), database,
    ]  # fmt: skip
    out = subprocess.run(  # noqa: S603
        command, capture_output=True, text=True, check=True, timeout=seconds + 120
    )
    return {
        "script": SCRIPTS[script],
        "clients": clients,
        "threads": threads,
        "seconds": seconds,
        **parse_output(out.stdout),
    }
