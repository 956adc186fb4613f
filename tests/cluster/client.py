"""A small HTTPS client and load generator for the end-to-end tests (standard library only).

Every client binds its own loopback source address (127.0.0.x), so that nginx's
per-client limits can be exercised for one client while others are served.
"""

import http.client
import json
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

HTTPS_PORT = 8443
HTTP_PORT = 8080
PRIMARY_PORT = 55432
PGBOUNCER_PORT = 56432


@dataclass
class Response:
    status: int
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


class Client:
    """HTTPS to nginx from one source address, verifying the cluster's certificate."""

    def __init__(self, cert: Path, source_ip: str = "127.0.0.1", token: str | None = None):
        self.context = ssl.create_default_context(cafile=str(cert))
        self.source_ip = source_ip
        self.token = token
        self.user_id: int | None = None
        self._conn: http.client.HTTPSConnection | None = None

    def _connection(self) -> http.client.HTTPSConnection:
        if self._conn is None:
            self._conn = http.client.HTTPSConnection(
                "localhost",
                HTTPS_PORT,
                context=self.context,
                timeout=30,
                source_address=(self.source_ip, 0),
            )
        return self._conn

    def close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(self, method, path, body=None, headers=None, raw: bytes | None = None):
        all_headers = {"Accept": "application/json", **(headers or {})}
        if self.token:
            all_headers["Authorization"] = f"Bearer {self.token}"
        payload = raw
        if body is not None:
            payload = json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        conn = self._connection()
        try:
            conn.request(method, path, body=payload, headers=all_headers)
            reply = conn.getresponse()
            data = reply.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        if reply.getheader("Connection", "").lower() == "close":
            self.close()
        return Response(reply.status, {k.lower(): v for k, v in reply.getheaders()}, data)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, body=None, **kwargs):
        return self.request("POST", path, body=body, **kwargs)


@dataclass
class Cluster:
    root: Path
    secrets: dict
    run: object

    @property
    def cert(self) -> Path:
        return self.root / "var" / "cluster" / "tls" / "server.crt"

    @property
    def log_dir(self) -> Path:
        return self.root / "var" / "cluster" / "log"

    def client(self, source_ip="127.0.0.1", token=None) -> Client:
        return Client(self.cert, source_ip, token)

    def dsn(self, port=PRIMARY_PORT, dbname="lending") -> str:
        password = self.secrets["APP_DB_PASSWORD"]
        return f"host=127.0.0.1 port={port} dbname={dbname} user=lending password={password}"

    def query(self, sql, params=(), port=PRIMARY_PORT, dbname="lending"):
        with psycopg.connect(self.dsn(port, dbname), connect_timeout=5, autocommit=True) as conn:
            return conn.execute(sql, params).fetchall()


def new_email(prefix="user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


PASSWORD = "Cluster-test-pass-42"


@dataclass
class Outcome:
    kind: str
    status: int  # 0: no HTTP answer at all (connection failed)
    detail: str
    started: float
    finished: float


@dataclass
class Load:
    """Bounded load: ``threads`` workers, each from its own source address, for at most
    ``seconds`` and ``max_requests`` requests each. ``step(client, n)`` makes one request
    and returns ``(kind, status, detail)``."""

    cluster: Cluster
    step: object
    threads: int = 6
    seconds: float = 20.0
    max_requests: int = 400
    first_ip: int = 20
    pause: float = 0.0  # between requests of one worker (stay under nginx's rate)
    outcomes: list[Outcome] = field(default_factory=list)

    def __post_init__(self):
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._workers = [
            threading.Thread(target=self._work, args=(i,), daemon=True) for i in range(self.threads)
        ]

    def _work(self, index):
        client = self.cluster.client(source_ip=f"127.0.0.{self.first_ip + index}")
        deadline = time.monotonic() + self.seconds
        for n in range(self.max_requests):
            if self._stop.is_set() or time.monotonic() > deadline:
                break
            started = time.monotonic()
            try:
                kind, status, detail = self.step(client, n)
            except (OSError, http.client.HTTPException) as exc:
                kind, status, detail = "error", 0, repr(exc)
            with self._lock:
                self.outcomes.append(Outcome(kind, status, detail, started, time.monotonic()))
            time.sleep(self.pause)
        client.close()

    def __enter__(self):
        for worker in self._workers:
            worker.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=60)

    def statuses(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for outcome in self.outcomes:
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
        return counts
