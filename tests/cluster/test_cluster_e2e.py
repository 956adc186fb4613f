"""End to end through the whole topology: nginx (TLS) → two gunicorn instances →
PgBouncer → PostgreSQL primary (+ streaming replica), and Redis.

Run with ``make test`` (or ``make test-cluster``); the tests run in file order and share
one cluster. Only loopback addresses are used.
"""

import http.client
import json
import os
import re
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest

from tests.cluster.client import (
    HTTP_PORT,
    PASSWORD,
    PGBOUNCER_PORT,
    Client,
    Load,
    new_email,
)

pytestmark = pytest.mark.cluster

OFFICER = ("officer@example.com", "officer-pass-123")


def wait_until(predicate, seconds: float, interval: float = 0.2):
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def assert_reconcile_clean(cluster, database_url: str | None = None, where: str = "primary"):
    """``manage.py reconcile`` (exit 0 only when the books balance) on the cluster's
    primary, or on another database (a restored copy)."""
    result = subprocess.run(
        [str(cluster.root / "deploy" / "local-cluster"), "manage", "reconcile", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, **({"MANAGE_DATABASE_URL": database_url} if database_url else {})},
    )
    assert result.returncode == 0, f"reconcile on the {where}:\n{result.stdout}\n{result.stderr}"
    assert json.loads(result.stdout)["clean"] is True


# --- TLS, headers, limits --------------------------------------------------------------


def test_tls_with_security_headers_and_http_redirects(cluster):
    response = cluster.client().get("/readyz")

    assert response.status == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["strict-transport-security"].startswith("max-age=")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["server"] == "nginx"  # no version
    assert len(response.headers["x-request-id"]) == 32

    plain = http.client.HTTPConnection("127.0.0.1", HTTP_PORT, timeout=10)
    plain.request("GET", "/api/auth/me")
    redirect = plain.getresponse()
    assert redirect.status == 301
    assert redirect.getheader("Location").startswith("https://")


# --- The borrower and officer journey ----------------------------------------------------
# Each step takes the journey's state, makes its requests and checks the answers. The
# loan steps (apply → officer approves → repay) go where the TODO(loans) markers are.


@dataclass
class Journey:
    cluster: object
    email: str = field(default_factory=lambda: new_email("journey"))
    borrower: Client | None = None
    officer: Client | None = None
    tokens: dict = field(default_factory=dict)
    user_id: int | None = None
    loan_id: int | None = None


def step_register(j: Journey):
    j.borrower = j.cluster.client(source_ip="127.0.0.5")
    response = j.borrower.post(
        "/api/auth/register", {"name": "Journey Borrower", "email": j.email, "password": PASSWORD}
    )
    assert response.status == 201, response.body
    body = response.json()
    assert body["user"]["role"] == "BORROWER"
    j.user_id = body["user"]["id"]


def step_login(j: Journey):
    response = j.borrower.post("/api/auth/login", {"email": j.email, "password": PASSWORD})
    assert response.status == 200, response.body
    j.tokens = response.json()
    j.borrower.token = j.tokens["access_token"]


def step_refresh(j: Journey):
    response = j.borrower.post("/api/auth/refresh", {"refresh_token": j.tokens["refresh_token"]})
    assert response.status == 200, response.body
    j.tokens = response.json()
    j.borrower.token = j.tokens["access_token"]
    spent = j.borrower.post("/api/auth/refresh", {"refresh_token": "not-a-token"})
    assert spent.status == 401


def step_me_and_empty_wallet(j: Journey):
    me = j.borrower.get("/api/auth/me")
    assert me.status == 200 and me.json()["email"] == j.email
    balance = j.borrower.get("/api/wallet/balance")
    assert balance.status == 200
    assert balance.json()["balance"] == "0.00"


def step_officer_signs_in(j: Journey):
    j.officer = j.cluster.client(source_ip="127.0.0.6")
    response = j.officer.post("/api/auth/login", {"email": OFFICER[0], "password": OFFICER[1]})
    assert response.status == 200, response.body
    assert response.json()["user"]["role"] == "OFFICER"
    j.officer.token = response.json()["access_token"]
    admin = j.cluster.client(source_ip="127.0.0.6").get("/admin/login/")
    assert admin.status == 200
    assert b"csrfmiddlewaretoken" in admin.body


def step_deposit(j: Journey):
    body = {"amount": "5000.00", "idempotency_key": f"journey-{uuid.uuid4().hex}"}
    first = j.borrower.post("/api/wallet/deposit", body)
    replay = j.borrower.post("/api/wallet/deposit", body)
    assert first.status == 201, first.body
    assert first.json()["balance"] == "5000.00"
    assert replay.status == 201
    assert replay.headers.get("idempotent-replayed") == "true"
    assert replay.json() == first.json()


def step_quote(j: Journey):
    terms = {"principal_amount": "50000.00", "tenure_months": 12, "interest_rate": "12.00"}
    first = j.borrower.post("/api/loans/calculate-emi", terms)
    again = j.borrower.post("/api/loans/calculate-emi", terms)  # from Redis this time
    assert first.status == again.status == 200
    assert first.json()["emi_amount"] == "4442.44"
    assert again.json() == first.json()


def step_apply(j: Journey):
    response = j.borrower.post(
        "/api/loans/apply",
        {"principal_amount": "50000.00", "tenure_months": 12, "interest_rate": "12.00"},
    )
    assert response.status == 201, response.body
    assert response.json()["status"] == "APPLIED"
    j.loan_id = response.json()["id"]


def step_officer_approves(j: Journey):
    pending = j.officer.get("/api/loans/admin/pending")
    assert pending.status == 200
    assert j.loan_id in [loan["id"] for loan in pending.json()]
    decision = j.officer.post("/api/loans/admin/approve", {"loan_id": j.loan_id, "approved": True})
    assert decision.status == 200, decision.body
    assert decision.json()["status"] == "ACTIVE"
    balance = j.borrower.get("/api/wallet/balance").json()["balance"]
    assert balance == "55000.00"  # the deposit plus the disbursed principal


def step_repay(j: Journey):
    body = {"loan_id": j.loan_id, "amount": "4442.44", "idempotency_key": uuid.uuid4().hex}
    paid = j.borrower.post("/api/repayments/make-payment", body)
    replay = j.borrower.post("/api/repayments/make-payment", body)
    assert paid.status == 201, paid.body
    assert paid.json()["loan_closed"] is False
    assert replay.json() == paid.json()
    assert j.borrower.get("/api/wallet/balance").json()["balance"] == "50557.56"


def step_history(j: Journey):
    loans = j.borrower.get("/api/loans/my-loans")
    assert loans.status == 200
    assert [loan["id"] for loan in loans.json()] == [j.loan_id]
    repayments = j.borrower.get(f"/api/repayments/loan/{j.loan_id}")
    assert repayments.status == 200 and len(repayments.json()) == 1
    history = j.borrower.get("/api/wallet/transactions")
    assert history.status == 200
    assert [row["amount"] for row in history.json()] == ["4442.44", "50000.00", "5000.00"]


JOURNEY = [
    step_register,
    step_login,
    step_refresh,
    step_me_and_empty_wallet,
    step_officer_signs_in,
    step_deposit,
    step_quote,
    step_apply,
    step_officer_approves,
    step_repay,
    step_history,
]


def test_borrower_and_officer_journey(cluster):
    journey = Journey(cluster)
    for step in JOURNEY:
        step(journey)
    cluster.journey = journey
    assert_reconcile_clean(cluster)


def test_the_close_of_business_run_against_the_cluster_ages_an_unpaid_loan(cluster):
    """``manage.py close_business_day`` run against the cluster as the nightly timer runs
    it (through PgBouncer) charges the late fee of a loan whose first installment went
    unpaid and ages it; the API, over TLS through nginx, shows it; a payment clears the
    fee first; the books reconcile."""
    borrower = cluster.client(source_ip="127.0.0.17")
    registered = borrower.post(
        "/api/auth/register",
        {"name": "Late Borrower", "email": new_email("late"), "password": PASSWORD},
    )
    assert registered.status == 201, registered.body
    borrower.token = registered.json()["access_token"]
    officer = cluster.client(source_ip="127.0.0.18")
    officer.token = officer.post(
        "/api/auth/login", {"email": OFFICER[0], "password": OFFICER[1]}
    ).json()["access_token"]
    terms = {"principal_amount": "12000.00", "tenure_months": 12, "interest_rate": "12.00"}
    loan_id = borrower.post("/api/loans/apply", terms).json()["id"]
    decided = officer.post("/api/loans/admin/approve", {"loan_id": loan_id, "approved": True})
    assert decided.json()["status"] == "ACTIVE", decided.body
    first = borrower.get(f"/api/loans/{loan_id}/schedule").json()[0]
    due, emi = date.fromisoformat(first["due_date"]), Decimal(first["total"])
    # The close of the 5th day after the due date is the first past the 5 grace days.
    through = due + timedelta(days=5)

    closed = cluster.run(
        "manage", "close_business_day", "--allow-future", "--date", through.isoformat()
    )

    assert re.search(r"^  failures: +0$", closed.stdout, re.M), closed.stdout
    today = (through + timedelta(days=1)).isoformat()
    assert borrower.get("/api/business-date").json() == {"business_date": today}
    loan = borrower.get(f"/api/loans/{loan_id}").json()
    percent = (emi * 2 / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
    fee = max(min(percent, Decimal("1000.00")), Decimal("100.00"))
    assert (loan["business_date"], loan["days_past_due"]) == (today, 6)
    assert loan["delinquency_bucket"] == "DPD_1_30"
    assert Decimal(loan["fees_due"]) == fee
    assert Decimal(loan["overdue_amount"]) == emi + fee
    assert Decimal(borrower.get(f"/api/loans/{loan_id}/schedule").json()[0]["fee_charged"]) == fee

    paid = borrower.post(
        "/api/repayments/make-payment",
        {"loan_id": loan_id, "amount": str(emi + fee), "idempotency_key": uuid.uuid4().hex},
    )

    assert paid.status == 201, paid.body
    assert Decimal(paid.json()["repayment"]["fee_part"]) == fee
    loan = borrower.get(f"/api/loans/{loan_id}").json()
    assert (loan["days_past_due"], loan["delinquency_bucket"], loan["fees_due"]) == (
        0,
        "CURRENT",
        "0.00",
    )
    assert_reconcile_clean(cluster)


def test_data_written_on_the_primary_is_read_back_from_the_replica(cluster):
    email = new_email("replicated")
    created = cluster.client(source_ip="127.0.0.7").post(
        "/api/auth/register", {"name": "Replicated", "email": email, "password": PASSWORD}
    )
    assert created.status == 201

    def on_replica():
        return cluster.query(
            "SELECT pg_is_in_recovery(), count(*) FROM accounts_user WHERE email = %s",
            (email,),
            port=PGBOUNCER_PORT,
            dbname="lending_replica",
        )[0]

    in_recovery, count = wait_until(lambda: on_replica()[1] == 1 and on_replica(), 10)
    assert in_recovery is True  # it is the replica that answered
    assert count == 1
    # The app's own replica alias reads it too (through PgBouncer's lending_replica).
    shell = cluster.run(
        "manage",
        "shell",
        "-c",
        "from accounts.models import User; "
        f"print(User.objects.using('replica').filter(email='{email}').count())",
        timeout=120,
    )
    assert shell.stdout.strip().splitlines()[-1] == "1"


def test_request_body_limit_answers_413_json(cluster):
    response = cluster.client(source_ip="127.0.0.8").post(
        "/api/auth/register", raw=b"x" * (300 * 1024), headers={"Content-Type": "text/plain"}
    )

    assert response.status == 413
    assert response.json()["code"] == "too_large"
    assert response.headers["x-frame-options"] == "DENY"


def test_rate_limit_answers_429_for_that_client_only(cluster):
    noisy = cluster.client(source_ip="127.0.0.9")
    quiet = cluster.client(source_ip="127.0.0.10")

    statuses = [noisy.get("/healthz").status for _ in range(150)]
    limited = noisy.get("/healthz")
    other = quiet.get("/healthz")

    assert 429 in statuses
    assert statuses[0] == 200
    assert limited.status == 429
    assert limited.json() == {
        "detail": "Too many requests. Slow down and try again shortly.",
        "code": "throttled",
    }
    assert limited.headers["retry-after"] == "1"
    assert other.status == 200


def test_metrics_and_json_logs_carry_the_request_id(cluster):
    request_id = "5e1d0c2b3a4f4e6d8c7b9a0f1e2d3c4b"
    client = cluster.client(source_ip="127.0.0.11")
    for _ in range(2):  # one per instance, whichever answers
        client.get("/readyz", headers={"X-Request-ID": request_id})

    metrics = client.get("/metrics")
    text = metrics.body.decode()

    assert metrics.status == 200
    assert "django_http_requests_latency_seconds_by_view_method_bucket" in text
    assert "django_db_execute_total" in text
    lines = []
    for log in sorted(cluster.log_dir.glob("app*.log")):
        lines += [json.loads(line) for line in log.read_text().splitlines() if request_id in line]
    assert lines, "no app log line carries the request id"
    assert all(line["request_id"] == request_id for line in lines)
    access = (cluster.log_dir / "nginx-access.log").read_text().splitlines()
    assert any(json.loads(line)["request_id"] == request_id for line in access)


# --- Failures under load ----------------------------------------------------------------


@dataclass
class Deposit:
    token: str
    user_id: int
    key: str
    amount: str
    status: int
    at: float


def money_step(deposits: list, lock: threading.Lock):
    """Load step: each worker registers a borrower, then deposits and reads its balance."""

    def step(client: Client, n: int):
        if client.token is None:
            email = new_email("load")
            response = client.post(
                "/api/auth/register", {"name": "Load", "email": email, "password": PASSWORD}
            )
            if response.status == 201:
                client.token = response.json()["access_token"]
                client.user_id = response.json()["user"]["id"]
            return "register", response.status, email
        if n % 2:
            key, amount = uuid.uuid4().hex, f"{(n % 7) + 1}.25"
            try:
                status = client.post(
                    "/api/wallet/deposit", {"amount": amount, "idempotency_key": key}
                ).status
            except (OSError, http.client.HTTPException):
                status = 0
            with lock:
                deposits.append(
                    Deposit(client.token, client.user_id, key, amount, status, time.monotonic())
                )
            return "deposit", status, key
        return "balance", client.get("/api/wallet/balance").status, ""

    return step


def settle_and_check_deposits(cluster, deposits: list[Deposit]):
    """Retry every deposit that got no 201 with its own key, then check each wallet holds
    exactly the sum of its deposits: nothing acknowledged was lost, nothing applied twice."""
    retry = cluster.client(source_ip="127.0.0.15")
    for deposit in deposits:
        if deposit.status != 201:
            retry.token = deposit.token
            again = retry.post(
                "/api/wallet/deposit", {"amount": deposit.amount, "idempotency_key": deposit.key}
            )
            assert again.status == 201, again.body
            time.sleep(0.05)
    expected: dict[int, Decimal] = {}
    tokens = {}
    for deposit in deposits:
        expected[deposit.user_id] = expected.get(deposit.user_id, Decimal(0)) + Decimal(
            deposit.amount
        )
        tokens[deposit.user_id] = deposit.token
    for user_id, total in expected.items():
        retry.token = tokens[user_id]
        balance = retry.get("/api/wallet/balance").json()["balance"]
        assert Decimal(balance) == total, f"user {user_id}: {balance} != {total}"
        time.sleep(0.05)


def test_killing_an_app_instance_under_load_loses_no_acknowledged_request(cluster):
    deposits: list[Deposit] = []
    lock = threading.Lock()

    # nginx lets one client make 20 requests a second: a pause of 0.06 s stays under it
    # even when answers are instant (on an idle machine, 0.02 s drew 429s and failed).
    with Load(cluster, money_step(deposits, lock), threads=6, seconds=12, pause=0.06) as load:
        time.sleep(3)
        cluster.run("kill", "app1")
        killed_at = time.monotonic()
        time.sleep(5)
        cluster.run("start", "app1", timeout=120)

    statuses = load.statuses()
    print("instance killed under load:", statuses, "deposits:", len(deposits))
    failed = [o for o in load.outcomes if o.status not in (200, 201)]
    after_kill = [o for o in load.outcomes if o.started > killed_at + 1]
    assert sum(1 for d in deposits if d.status == 201) > 20, statuses
    # The only failures are requests in flight on the killed instance: nginx answers 503,
    # or cuts a response whose body was still coming (status 0 here). Never a hang,
    # never a 500, and no client took such an answer for a success.
    assert all(o.status in (0, 503) for o in failed), statuses
    assert len(failed) <= 12, statuses
    assert after_kill and all(o.status in (200, 201) for o in after_kill), statuses
    settle_and_check_deposits(cluster, deposits)
    assert_reconcile_clean(cluster)


def test_graceful_restart_of_an_instance_fails_no_request(cluster):
    pid = (cluster.root / "var" / "cluster" / "run" / "app2.pid").read_text().strip()

    def read(client: Client, n: int):
        return "readyz", client.get("/readyz").status, ""

    with Load(cluster, read, threads=4, seconds=6, first_ip=40, pause=0.1) as load:
        time.sleep(1.5)
        subprocess.run(["kill", "-HUP", pid], check=True)
        time.sleep(3)

    assert load.outcomes
    assert load.statuses() == {200: len(load.outcomes)}


def test_pgbouncer_then_primary_restarts_are_survived_with_clean_503s(cluster):
    client = cluster.client(source_ip="127.0.0.12")
    journey_token = cluster.journey.borrower.token
    client.token = journey_token

    cluster.run("stop", "pgbouncer")
    down = client.get("/api/wallet/balance")
    assert down.status == 503
    assert down.json()["code"] == "service_unavailable"
    assert down.headers["retry-after"] == "5"
    cluster.run("start", "pgbouncer")
    assert wait_until(lambda: client.get("/api/wallet/balance").status == 200, 20)

    cluster.run("stop", "primary")
    down = client.get("/api/wallet/balance")
    assert down.status == 503
    assert down.json()["code"] == "service_unavailable"
    ready = client.get("/readyz")
    assert ready.status == 503
    cluster.run("start", "primary")
    assert wait_until(lambda: client.get("/api/wallet/balance").status == 200, 30)
    email = new_email("after-restart")
    registered = cluster.client(source_ip="127.0.0.13").post(
        "/api/auth/register", {"name": "After", "email": email, "password": PASSWORD}
    )
    assert registered.status == 201
    # The replica reconnects to the restarted primary and catches up.
    assert wait_until(
        lambda: (
            cluster.query(
                "SELECT count(*) FROM accounts_user WHERE email = %s",
                (email,),
                port=PGBOUNCER_PORT,
                dbname="lending_replica",
            )[0][0]
            == 1
        ),
        30,
    )


def test_service_keeps_working_while_redis_is_down(cluster):
    client = cluster.client(source_ip="127.0.0.14")
    cluster.run("stop", "redis")
    try:
        login = client.post(
            "/api/auth/login", {"email": cluster.journey.email, "password": PASSWORD}
        )
        assert login.status == 200
        client.token = login.json()["access_token"]
        assert client.get("/api/wallet/balance").status == 200
    finally:
        cluster.run("start", "redis")


def test_backup_taken_during_load_restores_into_a_consistent_copy(cluster):
    deposits: list[Deposit] = []
    lock = threading.Lock()

    step = money_step(deposits, lock)
    with Load(cluster, step, threads=4, seconds=30, first_ip=60, pause=0.02):
        time.sleep(2)
        backup_started = time.monotonic()
        backup = cluster.run("backup", timeout=300).stdout.strip().splitlines()[-1]

    restored_url = cluster.run("restore", backup, timeout=300).stdout.strip().splitlines()[-1]
    port = int(restored_url.rsplit(":", 1)[1].split("/")[0])
    try:
        before = [d for d in deposits if d.status == 201 and d.at < backup_started]
        assert before, "no deposit was acknowledged before the backup began"
        references = [f"deposit:{d.user_id}:{d.key}" for d in before]
        found = cluster.query(
            "SELECT count(*) FROM ledger_journalentry WHERE reference = ANY(%s)",
            (references,),
            port=port,
        )
        assert found[0][0] == len(references)
        assert_reconcile_clean(cluster, restored_url, where="restored copy")
    finally:
        cluster.run("stop-restored", str(port))


def test_point_in_time_recovery_stops_at_the_target(cluster):
    client = cluster.client(source_ip="127.0.0.16")
    login = client.post("/api/auth/login", {"email": cluster.journey.email, "password": PASSWORD})
    client.token = login.json()["access_token"]
    user_id = cluster.journey.user_id
    backup = cluster.run("backup", timeout=300).stdout.strip().splitlines()[-1]

    kept, lost = f"pitr-kept-{uuid.uuid4().hex}", f"pitr-lost-{uuid.uuid4().hex}"
    deposit = "/api/wallet/deposit"
    assert client.post(deposit, {"amount": "1.00", "idempotency_key": kept}).status == 201
    time.sleep(1)
    (target,) = cluster.query("SELECT now()::text")[0]
    time.sleep(1)
    assert client.post(deposit, {"amount": "2.00", "idempotency_key": lost}).status == 201
    cluster.run("archive-now")

    result = subprocess.run(
        [str(cluster.root / "deploy" / "local-cluster"), "restore", backup, "55437"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "RECOVERY_TARGET_TIME": target},
    )
    assert result.returncode == 0, result.stderr
    try:
        references = {
            row[0]
            for row in cluster.query(
                "SELECT reference FROM ledger_journalentry WHERE reference LIKE %s",
                (f"deposit:{user_id}:pitr-%",),
                port=55437,
            )
        }
        assert references == {f"deposit:{user_id}:{kept}"}
        assert_reconcile_clean(cluster, result.stdout.strip().splitlines()[-1], where="PITR copy")
    finally:
        cluster.run("stop-restored", "55437")
