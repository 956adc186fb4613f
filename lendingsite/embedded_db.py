"""An embedded PostgreSQL for development machines where no server is configured.

When ``DATABASE_URL`` is unset and ``DEBUG`` or ``EMBEDDED_DATABASE=1`` is set, settings
call :func:`embedded_database`, which starts (or joins) a real PostgreSQL 16 kept under
``var/pgdata`` with the ``pgserver`` package (a development requirement only; without
either variable, settings refuse to start rather than call this).
The server runs as a child process and stops when the last Python process using it exits.
SQLite is deliberately not an option: row locks, CHECK constraints and triggers are what
keep the money correct, and they need PostgreSQL.
"""

import logging
import warnings
from pathlib import Path
from urllib.parse import parse_qs, urlparse

DATABASE_NAME = "lendingsite"


def embedded_database(base_dir: Path) -> dict:
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR
        import pgserver  # imported lazily: production never needs it (nor installs it)

        data_dir = base_dir / "var" / "pgdata"
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        server = pgserver.get_server(data_dir, cleanup_mode="stop")
    # DATABASE_NAME is a constant of this module, not input.
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")  # noqa: S608
    if "1 row" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    # The socket directory may differ from the data directory (long paths), so ask.
    socket_dir = parse_qs(urlparse(server.get_uri()).query)["host"][0]
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": DATABASE_NAME,
        "USER": "postgres",
        "HOST": socket_dir,
    }
