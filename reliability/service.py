"""The service under test: gunicorn on a free loopback port, on a private cluster.

Production settings (``DEBUG=0``, a generated ``SECRET_KEY``) and the production
gunicorn configuration, except that plain HTTP is served (``SECURE_SSL_REDIRECT=false``)
and static files need no manifest.
"""

import http.client
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from reliability.cluster import PrivateCluster

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "reliability"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveService:
    """A private cluster, a fresh database, migrations, and gunicorn serving it."""

    def __init__(
        self,
        *,
        name: str,
        workers: int = 3,
        threads: int = 1,
        extra_env: dict | None = None,
    ):
        self.name = name
        self.dbname = f"rel_{name}"
        self.workers = workers
        self.threads = threads
        self.cluster = PrivateCluster(VAR / f"pg-{name}")
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.gunicorn: subprocess.Popen | None = None
        self.log_path = VAR / f"gunicorn-{name}.log"
        self.env = {
            **os.environ,
            "DATABASE_URL": self.cluster.url(self.dbname),
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DEBUG": "0",
            "SECURE_SSL_REDIRECT": "false",
            "STATIC_MANIFEST": "false",
            "LOG_LEVEL": "WARNING",
            "CONN_MAX_AGE": "60",
            "JWT_ACCESS_MINUTES": "120",
            "DJANGO_READ_DOT_ENV_FILE": "0",
            **(extra_env or {}),
        }

    # --- life cycle -----------------------------------------------------------------
    def __enter__(self) -> "LiveService":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        VAR.mkdir(parents=True, exist_ok=True)
        try:
            self.cluster.start()
            self.cluster.recreate_database(self.dbname)
            self.manage("migrate", "--noinput")
            self.start_gunicorn()
        except BaseException:
            self.stop()  # leave no server or socket directory behind
            raise

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(  # noqa: S603
            [sys.executable, str(ROOT / "manage.py"), *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        if check and result.returncode != 0:
            raise RuntimeError(
                f"manage.py {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result

    def start_gunicorn(self) -> None:
        self.log = self.log_path.open("w")
        # The production configuration (deploy/gunicorn.conf.py): sync workers, timeouts.
        # Changes: the suite's address and sizes (threads > 1 would make gunicorn run
        # gthread workers instead), and no
        # recycling of workers after N requests (a recycled worker drops its kept-alive
        # connections, which would look like a fault to clients talking to it directly;
        # in production nginx stands in front and retries on another connection).
        env = {
            **self.env,
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "GUNICORN_WORKERS": str(self.workers),
            "GUNICORN_THREADS": str(self.threads),
            "GUNICORN_LOG_LEVEL": "warning",
        }
        self.gunicorn = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--config",
                str(ROOT / "deploy" / "gunicorn.conf.py"),
                "--max-requests",
                "0",
                "--backlog",
                "512",
                "lendingsite.wsgi",
            ],
            env=env,
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.wait_ready()

    def stop(self) -> None:
        if self.gunicorn is not None and self.gunicorn.poll() is None:
            self.gunicorn.send_signal(signal.SIGTERM)
            try:
                self.gunicorn.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.gunicorn.kill()
                self.gunicorn.wait()
        if self.gunicorn is not None and not self.log.closed:
            self.log.close()
        self.cluster.cleanup()

    # --- probing --------------------------------------------------------------------
    def get(self, path: str, timeout: float = 5) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def wait_ready(self, timeout: float = 60) -> float:
        """Wait until ``/readyz`` answers 200; return the seconds waited."""
        started = time.monotonic()
        while True:
            if self.gunicorn is not None and self.gunicorn.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.log_path}")
            try:
                status, _ = self.get("/readyz", timeout=2)
                if status == 200:
                    return time.monotonic() - started
            except OSError:
                pass
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"service not ready after {timeout} s; see {self.log_path}")
            time.sleep(0.1)

    def worker_pids(self) -> list[int]:
        """The gunicorn workers: the master's children."""
        if self.gunicorn is None:
            return []
        children = Path(f"/proc/{self.gunicorn.pid}/task/{self.gunicorn.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []

    def kill_worker(self, pid: int | None = None) -> int | None:
        """``kill -9`` one worker (the master starts a new one); return its pid."""
        pids = self.worker_pids()
        if not pids:
            return None
        pid = pid or pids[0]
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return None
        return pid

    # --- Django in this process, pointed at the service's database ---------------
    def setup_django(self) -> None:
        """Configure Django in the calling process against the service's database.

        Only for a process that has not configured Django for anything else.
        """
        for key in ("DATABASE_URL", "SECRET_KEY", "DEBUG", "SECURE_SSL_REDIRECT"):
            os.environ[key] = self.env[key]
        os.environ["STATIC_MANIFEST"] = "false"
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lendingsite.settings")
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))
        import django

        django.setup()
