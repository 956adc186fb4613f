"""The embedded PostgreSQL survives its users being killed at any moment.

Processes using a private embedded server (its own data directory, never the suite's) are
started in batches and killed with SIGKILL after random delays: while they start or join
the server and rewrite the list of its clients, while they query, while they exit. After
that, and after the list is found damaged as the previous package left it (empty, or cut
short), the next ``manage.py migrate`` and a ``runserver`` start as ``make run`` does,
answer, and the last of them to exit stops the server: processes killed earlier are not
waited for.
"""

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# A user of the database: joins (or starts) the server, queries, and either exits at once
# (its exit rewrites the client list) or keeps querying until it is killed.
CLIENT = """
import sys
from pathlib import Path
import psycopg
from lendingsite.embedded_db import embedded_database

settings = embedded_database(Path("."), Path(sys.argv[1]))
with psycopg.connect(dbname=settings["NAME"], user="postgres", host=settings["HOST"]) as conn:
    for _ in range(int(sys.argv[2])):
        conn.execute("SELECT count(*) FROM pg_class").fetchone()
"""


def _environment(data_dir: Path, **variables: str) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "DATABASE_REPLICA_URL", "REDIS_URL"}
    }
    env.update(
        EMBEDDED_DATABASE_DIR=str(data_dir),
        PYTHONPATH=str(ROOT),
        LOG_LEVEL="WARNING",
        **variables,
    )
    return env


def _client(data_dir: Path, queries: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", CLIENT, str(data_dir), str(queries)],
        cwd=ROOT,
        env=_environment(data_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _manage(data_dir: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=_environment(data_dir, DEBUG="1"),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        **kwargs,
    )


def _server_running(data_dir: Path) -> bool:
    pid_file = data_dir / "postmaster.pid"
    if not pid_file.exists():
        return False
    try:
        os.kill(int(pid_file.read_text().split()[0]), 0)
    except (ProcessLookupError, ValueError, IndexError):
        return False
    return True


def _stop_server(data_dir: Path) -> None:
    if not _server_running(data_dir):
        return
    os.kill(int((data_dir / "postmaster.pid").read_text().split()[0]), signal.SIGQUIT)
    deadline = time.monotonic() + 30
    while _server_running(data_dir) and time.monotonic() < deadline:
        time.sleep(0.2)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def data_dir(tmp_path):
    path = tmp_path / "pgdata"
    yield path
    _stop_server(path)


def test_killed_users_never_break_the_next_start(data_dir):
    rng = random.Random(os.environ.get("EMBEDDED_KILL_SEED", "17"))
    first = _client(data_dir, queries=1)
    assert first.wait(timeout=300) == 0, first.stderr.read().decode()

    killed = 0
    for _ in range(10):
        batch = [_client(data_dir, queries=rng.choice([0, 1, 10**6])) for _ in range(4)]
        time.sleep(rng.uniform(0.0, 1.2))
        for process in batch:
            if process.poll() is None and rng.random() < 0.8:
                process.send_signal(signal.SIGKILL)
                killed += 1
        for process in batch:
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                killed += 1
            process.wait(timeout=60)
    assert killed >= 10

    # Both ways the previous package left the list when its writer died mid-write.
    for damaged in ("", "[1234, 56"):
        (data_dir / ".handle_pids.json").write_text(damaged)
        check = _client(data_dir, queries=1)
        assert check.wait(timeout=120) == 0, check.stderr.read().decode()

    migrate = _manage(data_dir, "migrate", "--noinput")
    assert migrate.returncode == 0, migrate.stderr[-3000:]

    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=_environment(data_dir, DEBUG="1"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        # Ctrl-C must work as in a terminal, even when this run ignores SIGINT (a shell
        # ignores it in the commands it starts in the background, and children inherit it).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        status = None
        deadline = time.monotonic() + 300  # a loaded machine starts Django slowly
        while status is None and server.poll() is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as answer:
                    status = answer.status
            except OSError:
                time.sleep(0.3)
        if status != 200:
            server.kill()
            pytest.fail(f"runserver did not answer 200: {server.communicate()[1].decode()[-3000:]}")
        assert _server_running(data_dir)
    finally:
        server.send_signal(signal.SIGINT)  # as Ctrl-C after `make run`: exit handlers run
        server.wait(timeout=60)

    # The killed clients are forgotten: the last process to leave stopped the server.
    deadline = time.monotonic() + 30
    while _server_running(data_dir) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _server_running(data_dir)


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_the_client_list_reads_damage_as_empty_and_forgets_the_dead(tmp_path):
    from lendingsite.embedded_db import ClientList

    path = tmp_path / ".handle_pids.json"
    clients = ClientList(path)
    for damaged in ("", "[1234, 56", "{}", '["x"]'):
        path.write_text(damaged)
        assert clients.get_and_add(os.getpid()) == []
        assert json.loads(path.read_text()) == [os.getpid()]

    dead = _dead_pid()
    path.write_text(json.dumps([dead, os.getpid()]))
    assert clients.get_and_remove(os.getpid()) == [os.getpid()]  # the last one alive
    assert json.loads(path.read_text()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == [".handle_pids.json"]  # no temp left
