"""Start and stop the service under gunicorn; read processes' CPU time from /proc."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

DEPLOYED_CONFIG = Path(__file__).resolve().parent.parent / "deploy" / "gunicorn.conf.py"
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """One gunicorn master on 127.0.0.1, stopped by ``stop()`` (idempotent)."""

    def __init__(self, *, env: dict, workers: int, worker_class: str, threads: int, log: Path):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.workers, self.worker_class, self.threads = workers, worker_class, threads
        self.env, self.log = env, log
        self.process: subprocess.Popen | None = None

    def start(self, *, ready_timeout: float = 60.0) -> None:
        gunicorn = Path(sys.executable).with_name("gunicorn")
        # The deployed configuration file, its knobs set through its own variables; only
        # where it listens and where it logs are the benchmark's.
        command = [
            str(gunicorn),
            "lendingsite.wsgi:application",
            f"--config={DEPLOYED_CONFIG}",
            f"--bind=127.0.0.1:{self.port}",
            "--backlog=2048",
            f"--error-logfile={self.log}",
        ]
        env = {
            **self.env,
            "GUNICORN_WORKERS": str(self.workers),
            "GUNICORN_WORKER_CLASS": self.worker_class,
            "GUNICORN_THREADS": str(self.threads),
            "GUNICORN_LOG_LEVEL": "warning",
        }
        self.process = subprocess.Popen(  # noqa: S603 (fixed argv, no shell)
            command, env=env, start_new_session=True, stdin=subprocess.DEVNULL
        )
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"gunicorn exited with {self.process.returncode}; see {self.log}"
                )
            try:
                with urllib.request.urlopen(f"{self.base_url}/readyz", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.3)
        raise RuntimeError(f"gunicorn not ready after {ready_timeout:.0f}s; see {self.log}")

    def pids(self) -> list[int]:
        """The master and its workers."""
        if self.process is None:
            return []
        return [self.process.pid, *child_pids(self.process.pid)]

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the group this master leads, only
            process.wait(timeout=5)


def child_pids(parent: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields and int(fields[1]) == parent:
                children.append(int(entry.name))
    return children


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (state is index 0)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return text[text.rindex(")") + 2 :].split()


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds used so far by each live process of ``pids``."""
    times = {}
    for pid in pids:
        fields = _stat_fields(pid)
        if fields:
            times[pid] = (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
    return times


def reaped_children_cpu_seconds(pid: int) -> float:
    """CPU seconds of the children ``pid`` has waited for (its cutime + cstime)."""
    fields = _stat_fields(pid)
    return (int(fields[13]) + int(fields[14])) / _CLOCK_TICKS if fields else 0.0


def server_cpu_delta(
    master: int, before: dict[int, float], reaped_before: float, after: dict[int, float]
) -> float:
    """CPU seconds a master and its workers used between two samples.

    A worker that exits between them (``max_requests`` recycles them) is no longer in
    ``after``: its CPU is found in the master's count of its reaped children, less what
    it had already used at the first sample.
    """
    reaped = reaped_children_cpu_seconds(master) - reaped_before
    gone = sum(value for pid, value in before.items() if pid not in after and pid != master)
    return cpu_delta(before, after) + reaped - gone


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between two samples (a process born in between counts whole)."""
    return sum(value - before.get(pid, 0.0) for pid, value in after.items())
