"""Torture run: many concurrent clients against gunicorn while processes are killed.

Borrowers deposit, withdraw, apply and repay; officers approve and reject, several of
them racing for the same loans; clients retry with the same idempotency key (same body:
a replay; another body: 422) and send the same key twice at once. Meanwhile the fault
injector ``kill -9``s gunicorn workers, terminates PostgreSQL backends and restarts
PostgreSQL. A connection error or a 5xx is an *unknown outcome*: money requests are
retried with the same key until the answer is definite; the rest are settled from the
ledger afterwards.

Afterwards the books must reconcile, no wallet may ever have been negative, every 2xx
money answer must be in the ledger exactly once, every refusal must have left no entry,
and every client's view of its money must equal the wallet's balance.

Usage: ``python -m reliability.torture --seconds 60 --clients 64 --faults full``.
Exit status 0 when every check holds, 1 otherwise; ``--json`` writes the figures.
"""

import argparse
import http.client
import json
import random
import statistics
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from reliability.service import VAR, LiveService

# Statuses that say nothing about whether the request took effect.
UNKNOWN = None

FAULT_PLANS = {
    # (fraction of the run, fault)
    "none": [],
    "short": [(0.3, "kill_worker"), (0.65, "terminate_backends")],
    "full": [
        (0.08, "kill_worker"),
        (0.16, "terminate_backends"),
        (0.25, "kill_worker"),
        (0.33, "pg_restart_immediate"),
        (0.45, "terminate_backends"),
        (0.53, "kill_all_workers"),
        (0.64, "kill_worker"),
        (0.72, "terminate_backends"),
        (0.80, "pg_restart_fast"),
        (0.91, "kill_worker"),
    ],
}


def money(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


@dataclass
class Attempt:
    op: str
    status: int | None
    started: float
    ended: float
    error: str = ""
    # For a transport error: when this connection last did anything successfully. A
    # connection to a killed worker fails at its next use, which may come later.
    since: float | None = None


@dataclass
class MoneyOp:
    """One logical money request: all attempts share one idempotency key."""

    kind: str  # deposit | withdraw | repay
    user_id: int
    key: str
    amount: Decimal
    loan_id: int | None = None
    final_status: int | None = None
    final_body: dict | None = None
    attempts: int = 0
    saw_unknown: bool = False

    @property
    def reference(self) -> str:
        if self.kind == "repay":
            return f"repayment:{self.loan_id}:{self.key}"
        return f"{self.kind}:{self.user_id}:{self.key}"


@dataclass
class Journal:
    """Everything the clients saw, shared by all threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    attempts: list[Attempt] = field(default_factory=list)
    money_ops: list[MoneyOp] = field(default_factory=list)
    applies: list[dict] = field(default_factory=list)
    decisions: list[dict] = field(default_factory=list)
    anomalies: list[str] = field(default_factory=list)
    counters: Counter = field(default_factory=Counter)
    balances_seen: list[Decimal] = field(default_factory=list)

    def attempt(self, attempt: Attempt) -> None:
        with self.lock:
            self.attempts.append(attempt)

    def anomaly(self, text: str) -> None:
        with self.lock:
            self.anomalies.append(text)

    def count(self, name: str, n: int = 1) -> None:
        with self.lock:
            self.counters[name] += n


class Http:
    """One keep-alive connection; any transport failure is an unknown outcome."""

    def __init__(self, port: int, token: str, journal: Journal):
        self.port = port
        self.token = token
        self.journal = journal
        self.conn: http.client.HTTPConnection | None = None
        self.last_ok = 0.0

    def call(self, op: str, method: str, path: str, body: dict | None = None):
        """Return ``(status or None, json body or None, headers)``."""
        started = time.monotonic()
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                self.last_ok = started
            self.conn.request(method, path, body=payload, headers=headers)
            response = self.conn.getresponse()
            raw = response.read()
            status, response_headers = response.status, dict(response.getheaders())
            if response.will_close:
                self.close()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            ended = time.monotonic()
            self.journal.attempt(
                Attempt(op, UNKNOWN, started, ended, type(exc).__name__, since=self.last_ok)
            )
            return UNKNOWN, None, {}
        ended = self.last_ok = time.monotonic()
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            data = None
            self.journal.anomaly(f"{op}: {status} answer is not JSON: {raw[:200]!r}")
        self.journal.attempt(Attempt(op, status, started, ended))
        return status, data, response_headers

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def is_unknown(status: int | None, body: dict | None) -> bool:
    if status is None or status >= 500:
        return True
    # Another request with this key is still running (e.g. on a worker being killed).
    return status == 409 and (body or {}).get("code") == "idempotency_key_in_flight"


class Client(threading.Thread):
    def __init__(self, *, name: str, user_id: int, token: str, port: int, run: "Run"):
        super().__init__(name=name, daemon=True)
        self.user_id = user_id
        self.token = token
        self.port = port
        self.run_ = run
        self.journal = run.journal
        self.http = Http(port, token, self.journal)
        self.rng = random.Random(f"{run.seed}:{name}")
        self.serial = 0

    def running(self) -> bool:
        return time.monotonic() < self.run_.deadline

    def next_key(self) -> str:
        self.serial += 1
        return f"{self.name}-{self.serial}"


class Borrower(Client):
    """A borrower: deposits, withdrawals, applications, repayments, retries."""

    MAX_ATTEMPTS = 40

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.balance = Decimal("0.00")  # last balance the server reported
        self.loans: dict[int, dict] = {}
        self.done_ops: list[MoneyOp] = []

    def run(self) -> None:
        ops = [
            (self.deposit, 24),
            (self.withdraw, 18),
            (self.apply, 8),
            (self.repay, 18),
            (self.read, 14),
            (self.retry_same, 7),
            (self.retry_different, 5),
            (self.burst, 3),
        ]
        functions, weights = zip(*ops, strict=True)
        try:
            while self.running():
                self.rng.choices(functions, weights)[0]()
        finally:
            self.http.close()

    # --- money ----------------------------------------------------------------------
    def send_money(self, op: MoneyOp, http: Http | None = None) -> MoneyOp:
        """Send until the outcome is definite (same key every time), or give up."""
        http = http or self.http
        path, body = self._request_of(op)
        backoff = 0.05
        give_up = self.run_.deadline + self.run_.grace
        while True:
            op.attempts += 1
            status, data, _ = http.call(op.kind, "POST", path, body)
            if not is_unknown(status, data):
                break
            op.saw_unknown = True
            if op.attempts >= self.MAX_ATTEMPTS or time.monotonic() > give_up:
                status, data = UNKNOWN, None
                break
            time.sleep(backoff)
            backoff = min(backoff * 2, 1.0)
        op.final_status, op.final_body = status, data
        if status is not None and 200 <= status < 300 and data:
            balance = data.get("balance")
            if balance is not None:
                self.balance = money(balance)
                self.journal.balances_seen.append(self.balance)
        return op

    def _request_of(self, op: MoneyOp) -> tuple[str, dict]:
        if op.kind == "repay":
            return "/api/repayments/make-payment", {
                "loan_id": op.loan_id,
                "amount": str(op.amount),
                "idempotency_key": op.key,
            }
        return f"/api/wallet/{op.kind}", {"amount": str(op.amount), "idempotency_key": op.key}

    def record(self, op: MoneyOp) -> MoneyOp:
        with self.journal.lock:
            self.journal.money_ops.append(op)
        self.done_ops.append(op)
        return op

    def deposit(self) -> None:
        amount = money(self.rng.choice([self.rng.uniform(1, 500), self.rng.uniform(500, 20000)]))
        self.record(self.send_money(MoneyOp("deposit", self.user_id, self.next_key(), amount)))

    def withdraw(self) -> None:
        if self.rng.random() < 0.15 or self.balance <= 1:
            amount = self.balance + money(self.rng.uniform(1, 1000))  # more than there is
        else:
            amount = money(float(self.balance) * self.rng.uniform(0.05, 0.6))
        amount = max(amount, Decimal("0.01"))
        self.record(self.send_money(MoneyOp("withdraw", self.user_id, self.next_key(), amount)))

    def refresh_loans(self) -> None:
        status, data, _ = self.http.call("my-loans", "GET", "/api/loans/my-loans")
        if status == 200 and isinstance(data, list):
            self.loans = {loan["id"]: loan for loan in data}

    def apply(self) -> None:
        large = self.rng.random() < 0.12
        principal = self.rng.uniform(200000, 400000) if large else self.rng.uniform(1000, 60000)
        body = {
            "principal_amount": str(money(principal)),
            "tenure_months": self.rng.randint(1, 60),
            "interest_rate": str(money(self.rng.uniform(0, 50))),
            "interest_method": self.rng.choice(["REDUCING", "FLAT"]),
        }
        status, data, _ = self.http.call("apply", "POST", "/api/loans/apply", body)
        with self.journal.lock:
            self.journal.applies.append(
                {"user_id": self.user_id, "status": status, "loan_id": (data or {}).get("id")}
            )

    def repay(self) -> None:
        if self.rng.random() < 0.3 or not self.loans:
            self.refresh_loans()
        active = [loan for loan in self.loans.values() if loan["status"] == "ACTIVE"]
        if not active:
            return self.deposit()
        loan = self.rng.choice(active)
        outstanding = money(loan["outstanding_amount"])
        roll = self.rng.random()
        if roll < 0.15:
            amount = outstanding  # pay it off (may be more than the wallet holds)
        elif roll < 0.25:
            amount = outstanding + Decimal("1.00")  # more than owed: refused
        else:
            amount = money(float(outstanding) * self.rng.uniform(0.01, 0.2))
        amount = max(amount, Decimal("0.01"))
        op = MoneyOp("repay", self.user_id, self.next_key(), amount, loan_id=loan["id"])
        self.record(self.send_money(op))
        if op.final_status == 201 and op.final_body:
            loan["outstanding_amount"] = op.final_body["new_outstanding"]
            if op.final_body["loan_closed"]:
                loan["status"] = "CLOSED"

    def read(self) -> None:
        choice = self.rng.randrange(5)
        if choice == 0:
            status, data, _ = self.http.call("balance", "GET", "/api/wallet/balance")
            if status == 200 and data:
                self.balance = money(data["balance"])
                self.journal.balances_seen.append(self.balance)
        elif choice == 1:
            self.http.call("transactions", "GET", "/api/wallet/transactions?limit=20")
        elif choice == 2:
            self.refresh_loans()
        elif self.loans:
            loan_id = self.rng.choice(list(self.loans))
            path = [f"/api/loans/{loan_id}/schedule", f"/api/repayments/loan/{loan_id}"][choice % 2]
            self.http.call("loan-read", "GET", path)

    # --- idempotency ----------------------------------------------------------------
    def _definite_earlier(self) -> MoneyOp | None:
        done = [op for op in self.done_ops if op.final_status is not None]
        return self.rng.choice(done) if done else None

    def retry_same(self) -> None:
        """A retry of a finished request: the stored answer, replayed, and no money."""
        original = self._definite_earlier()
        if original is None:
            return self.deposit()
        again = MoneyOp(original.kind, self.user_id, original.key, original.amount)
        again.loan_id = original.loan_id
        self.send_money(again)
        self.journal.count("retries_same_key")
        if again.final_status is None:
            return
        if (again.final_status, again.final_body) != (original.final_status, original.final_body):
            self.journal.anomaly(
                f"replay of {original.reference} answered {again.final_status} "
                f"{again.final_body} instead of {original.final_status} {original.final_body}"
            )

    def retry_different(self) -> None:
        """The same key with another body: 422, and nothing moves."""
        original = self._definite_earlier()
        if original is None:
            return self.deposit()
        changed = MoneyOp(
            original.kind, self.user_id, original.key, original.amount + Decimal("0.01")
        )
        changed.loan_id = original.loan_id
        self.send_money(changed)
        self.journal.count("retries_different_body")
        if changed.final_status is None:
            return
        code = (changed.final_body or {}).get("code")
        if changed.final_status != 422 or code != "idempotency_key_reused":
            self.journal.anomaly(
                f"reuse of {original.reference} with another body answered "
                f"{changed.final_status} {changed.final_body}"
            )

    def burst(self) -> None:
        """The same deposit sent twice at the same moment on two connections."""
        amount = money(self.rng.uniform(1, 300))
        key = self.next_key()
        first = MoneyOp("deposit", self.user_id, key, amount)
        second = MoneyOp("deposit", self.user_id, key, amount)
        other = Http(self.port, self.token, self.journal)
        barrier = threading.Barrier(2)

        def twin():
            barrier.wait()
            self.send_money(second, http=other)

        thread = threading.Thread(target=twin, daemon=True)
        thread.start()
        barrier.wait()
        self.send_money(first)
        thread.join()
        other.close()
        self.record(first)
        self.journal.count("bursts")
        if first.final_status is None or second.final_status is None:
            return
        if first.final_status != 201 or first.final_body != second.final_body:
            self.journal.anomaly(
                f"twin deposits {key} answered {first.final_status} {first.final_body} "
                f"and {second.final_status} {second.final_body}"
            )


class Officer(Client):
    """An officer: approves most pending loans, rejects some; officers race each other."""

    def run(self) -> None:
        try:
            while self.running():
                self.decide()
                time.sleep(self.rng.uniform(0.0, 0.05))
        finally:
            self.http.close()

    def decide(self) -> None:
        status, data, _ = self.http.call("pending", "GET", "/api/loans/admin/pending")
        if status != 200 or not data:
            time.sleep(0.1)
            return
        # Half the time everybody goes for the oldest loan: officers collide.
        loan = data[0] if self.rng.random() < 0.5 else self.rng.choice(data[:20])
        approve = self.rng.random() < 0.85 or loan["status"] == "APPROVED"
        body = {"loan_id": loan["id"], "approved": approve}
        if not approve:
            body["rejection_reason"] = "Income could not be verified."
        status, data, _ = self.http.call("decision", "POST", "/api/loans/admin/approve", body)
        with self.journal.lock:
            self.journal.decisions.append(
                {
                    "officer_id": self.user_id,
                    "loan_id": loan["id"],
                    "approve": approve,
                    "status": status,
                    "result": (data or {}).get("status"),
                    "code": (data or {}).get("code"),
                }
            )


class Sampler(threading.Thread):
    """Read the smallest wallet balance every few hundred milliseconds."""

    def __init__(self, service: LiveService, stop: threading.Event, interval: float = 0.25):
        super().__init__(name="sampler", daemon=True)
        self.service = service
        self.stop_event = stop
        self.interval = interval
        self.samples = 0
        self.failures = 0
        self.min_balance: Decimal | None = None
        self.negative_seen = 0

    def run(self) -> None:
        conn = None
        while not self.stop_event.wait(self.interval):
            try:
                if conn is None:
                    conn = self.service.cluster.connect(self.service.dbname)
                low, negative = conn.execute(
                    "SELECT min(a.balance), count(*) FILTER (WHERE a.balance < 0) "
                    "FROM wallets_wallet w JOIN ledger_account a ON a.id = w.account_id"
                ).fetchone()
            except Exception:
                self.failures += 1
                if conn is not None:
                    conn.close()
                conn = None
                continue
            self.samples += 1
            self.negative_seen += negative
            if low is not None and (self.min_balance is None or low < self.min_balance):
                self.min_balance = low
        if conn is not None:
            conn.close()


class FaultInjector(threading.Thread):
    def __init__(self, run: "Run", plan: list[tuple[float, str]]):
        super().__init__(name="faults", daemon=True)
        self.run_ = run
        self.plan = plan
        self.events: list[dict] = []

    def run(self) -> None:
        service = self.run_.service
        for fraction, kind in self.plan:
            at = self.run_.started + fraction * self.run_.seconds
            time.sleep(max(0.0, at - time.monotonic()))
            event = {"kind": kind, "at": time.monotonic(), "detail": ""}
            try:
                if kind == "kill_worker":
                    workers = service.worker_pids()
                    pid = service.kill_worker(random.choice(workers) if workers else None)
                    event["detail"] = f"SIGKILL worker {pid}"
                elif kind == "kill_all_workers":
                    pids = [service.kill_worker(pid) for pid in service.worker_pids()]
                    event["detail"] = f"SIGKILL workers {pids}"
                elif kind == "terminate_backends":
                    count = service.cluster.terminate_backends(service.dbname)
                    event["detail"] = f"pg_terminate_backend x{count}"
                elif kind.startswith("pg_restart"):
                    mode = kind.removeprefix("pg_restart_")
                    took = service.cluster.restart(mode=mode)
                    event["detail"] = f"pg_ctl restart -m {mode}: down {took:.1f} s"
            except Exception as exc:  # a fault that could not be injected is a failure
                event["error"] = repr(exc)
            event["done"] = time.monotonic()
            self.events.append(event)


class Run:
    def __init__(self, *, service: LiveService, seconds: float, seed: int):
        self.service = service
        self.seconds = seconds
        self.seed = seed
        self.grace = 30.0  # how long unknown outcomes may still be retried after the end
        self.journal = Journal()
        self.started = 0.0
        self.deadline = 0.0


def create_users(borrowers: int, officers: int) -> tuple[list, list]:
    from accounts.models import User
    from accounts.services import user_create
    from accounts.tokens import token_pair_for

    made = []
    for index in range(borrowers + officers):
        role = User.Role.BORROWER if index < borrowers else User.Role.OFFICER
        # No password: the run signs its users in with tokens, sparing Argon2 the CPU.
        user = user_create(
            email=f"torture{index}@example.com", name=f"Torture {index}", password=None, role=role
        )
        made.append((user.pk, token_pair_for(user)["access_token"], role))
    return made[:borrowers], made[borrowers:]


def run_reconcile(service: LiveService) -> dict:
    result = service.manage("reconcile", "--json", check=False)
    try:
        report = json.loads(result.stdout)
    except ValueError:
        report = {"clean": False, "output": result.stdout + result.stderr}
    report["exit_code"] = result.returncode
    return report


def verify(run: Run, sampler: Sampler, faults: list[dict]) -> dict:
    """Check the clients' view against the books. Return the figures and the failures."""
    from django.db import connections

    from ledger.models import JournalEntry, Posting
    from loans.models import Loan, Repayment
    from wallets.models import Wallet

    connections.close_all()
    journal = run.journal
    failures: list[str] = [*journal.anomalies]

    ops = journal.money_ops
    definite_ok = [op for op in ops if op.final_status is not None and 200 <= op.final_status < 300]
    refused = [op for op in ops if op.final_status is not None and op.final_status >= 400]
    unresolved = [op for op in ops if op.final_status is None]

    entries = {
        entry.reference: entry
        for entry in JournalEntry.objects.filter(
            kind__in=["DEPOSIT", "WITHDRAWAL", "EMI_PAYMENT"]
        ).only("pk", "reference", "kind")
    }
    wallet_of = {w.user_id: w for w in Wallet.objects.select_related("account")}
    posted_amount = {
        (row["entry_id"], row["account_id"]): row["amount"]
        for row in Posting.objects.filter(entry__in=[e.pk for e in entries.values()]).values(
            "entry_id", "account_id", "amount"
        )
    }

    expected = defaultdict(Decimal)
    unknown_landed = 0
    for op in definite_ok:
        signed = op.amount if op.kind == "deposit" else -op.amount
        expected[op.user_id] += signed  # what the client was told happened
        entry = entries.get(op.reference)
        if entry is None:
            failures.append(f"2xx {op.kind} {op.reference} is not in the ledger")
            continue
        body = op.final_body or {}
        if op.kind == "repay":
            repayment = Repayment.objects.filter(pk=body["repayment"]["id"]).first()
            if repayment is None or repayment.entry_id != entry.pk:
                failures.append(f"2xx repayment {op.reference} has no matching repayment row")
        elif body.get("transaction_id") != entry.pk:
            failures.append(f"2xx {op.reference} answered entry {body.get('transaction_id')}")
        wallet = wallet_of[op.user_id]
        if posted_amount.get((entry.pk, wallet.account_id)) != signed:
            failures.append(f"{op.reference}: wallet posting differs from the 2xx amount")
    refused_with_trace = 0
    ok_references = {op.reference for op in definite_ok}
    for op in refused:
        # A refusal of a key that had succeeded before (a replayed answer cannot be a
        # refusal, so this does not happen) would be the only excuse for an entry.
        if op.reference in entries and op.reference not in ok_references:
            refused_with_trace += 1
            failures.append(f"refused {op.reference} ({op.final_status}) left an entry")
    for op in unresolved:
        if op.reference in entries:
            unknown_landed += 1
            expected[op.user_id] += op.amount if op.kind == "deposit" else -op.amount

    known = ok_references | {op.reference for op in unresolved}
    phantoms = [ref for ref in entries if ref not in known]
    for ref in phantoms:
        failures.append(f"ledger entry {ref} matches no 2xx or unknown request")

    disbursed = Loan.objects.filter(
        status__in=[Loan.Status.ACTIVE, Loan.Status.CLOSED]
    ).values_list("pk", "borrower_id", "principal_amount")
    for _, borrower_id, principal in disbursed:
        expected[borrower_id] += principal
    disbursement_refs = set(
        JournalEntry.objects.filter(kind="LOAN_DISBURSEMENT").values_list("reference", flat=True)
    )
    approvals_ok = [
        d for d in journal.decisions if d["status"] == 200 and d["result"] in ("ACTIVE", "CLOSED")
    ]
    for decision in approvals_ok:
        if f"disburse:{decision['loan_id']}" not in disbursement_refs:
            failures.append(f"approval 200 ACTIVE of loan {decision['loan_id']} has no entry")
    disbursement_answers = Counter(d["loan_id"] for d in approvals_ok)
    for loan_id, times in disbursement_answers.items():
        if times > 1:
            failures.append(f"loan {loan_id} was answered as disbursed {times} times")

    money_lost = Decimal("0.00")
    for user_id, wallet in wallet_of.items():
        diff = wallet.balance - expected[user_id]
        if diff:
            failures.append(
                f"user {user_id}: wallet {wallet.balance}, clients' view {expected[user_id]}"
            )
        money_lost += abs(diff)

    # Loans: each has a 2xx application, or an application with an unknown outcome.
    applied_ok = Counter(a["user_id"] for a in journal.applies if a["status"] == 201)
    applied_unknown = Counter(
        a["user_id"] for a in journal.applies if a["status"] is None or a["status"] >= 500
    )
    loans_per_user = Counter(Loan.objects.values_list("borrower_id", flat=True))
    for user_id in set(loans_per_user) | set(applied_ok):
        count = loans_per_user[user_id]
        if not applied_ok[user_id] <= count <= applied_ok[user_id] + applied_unknown[user_id]:
            failures.append(
                f"user {user_id} has {count} loans for {applied_ok[user_id]} accepted "
                f"and {applied_unknown[user_id]} unknown applications"
            )

    # Balances: sampled throughout, and at the end.
    final_min = (
        Wallet.objects.order_by("account__balance")
        .values_list("account__balance", flat=True)
        .first()
    )
    if sampler.negative_seen or (sampler.min_balance is not None and sampler.min_balance < 0):
        failures.append(f"a wallet was seen below zero (min {sampler.min_balance})")
    if final_min is not None and final_min < 0:
        failures.append(f"a wallet ends below zero ({final_min})")
    if any(balance < 0 for balance in journal.balances_seen):
        failures.append("a response reported a negative balance")

    # 5xx and connection errors: only inside a fault's window.
    attempts = sorted(journal.attempts, key=lambda a: a.ended)
    windows = []
    for event in faults:
        recovered = next(
            (
                a.ended
                for a in attempts
                if a.ended > event["done"] and a.status is not None and 200 <= a.status < 300
            ),
            None,
        )
        event["recovery_seconds"] = None if recovered is None else round(recovered - event["at"], 2)
        if recovered is None:
            failures.append(f"no successful request after fault {event['kind']}")
            recovered = event["done"] + 5
        if "error" in event:
            failures.append(f"fault {event['kind']} could not be injected: {event['error']}")
        windows.append((event["at"], recovered + 1.0))

    def caused_by_a_fault(attempt: Attempt) -> bool:
        if any(start <= attempt.ended <= end for start, end in windows):
            return True
        # A kept-alive connection to a killed worker breaks at its next use.
        return attempt.since is not None and any(
            attempt.since <= event["at"] <= attempt.ended for event in faults
        )

    server_errors = [a for a in attempts if a.status is not None and a.status >= 500]
    transport_errors = [a for a in attempts if a.status is None]
    stray = [a for a in server_errors + transport_errors if not caused_by_a_fault(a)]
    for attempt in stray[:20]:
        failures.append(
            f"{attempt.op}: {attempt.status or attempt.error} at "
            f"{attempt.ended - run.started:.1f} s, outside every fault window"
        )

    statuses = Counter(
        "error" if a.status is None else f"{a.status // 100}xx" for a in journal.attempts
    )
    durations = sorted(a.ended - a.started for a in journal.attempts if a.status is not None)
    return {
        "figures": {
            "http_requests": len(journal.attempts),
            "requests_per_second": round(len(journal.attempts) / run.seconds, 1),
            "status_classes": dict(statuses),
            "latency_ms_p50": round(statistics.median(durations) * 1000, 1) if durations else None,
            "latency_ms_p99": (
                round(durations[int(len(durations) * 0.99) - 1] * 1000, 1) if durations else None
            ),
            "money_requests": len(ops),
            "money_2xx_verified_in_ledger": len(definite_ok),
            "money_refused_verified_traceless": len(refused) - refused_with_trace,
            "money_unknown_unresolved": len(unresolved),
            "money_unknown_that_landed": unknown_landed,
            "requests_that_saw_an_unknown_outcome": sum(op.saw_unknown for op in ops),
            "refusals_by_code": dict(
                Counter((op.final_body or {}).get("code", op.final_status) for op in refused)
            ),
            "applications": len(journal.applies),
            "applications_accepted": sum(applied_ok.values()),
            "decisions": len(journal.decisions),
            "disbursements_answered": len(approvals_ok),
            "decisions_refused": dict(
                Counter(
                    d["code"]
                    for d in journal.decisions
                    if d["status"] is not None and 400 <= d["status"] < 500
                )
            ),
            "decisions_unknown": sum(
                1 for d in journal.decisions if d["status"] is None or d["status"] >= 500
            ),
            "retries_same_key": journal.counters["retries_same_key"],
            "retries_different_body": journal.counters["retries_different_body"],
            "duplicate_bursts": journal.counters["bursts"],
            "server_errors_5xx": len(server_errors),
            "server_errors_by_status": dict(Counter(str(a.status) for a in server_errors)),
            "transport_errors": len(transport_errors),
            "errors_outside_fault_windows": len(stray),
            "phantom_entries": len(phantoms),
            "refusals_that_left_a_trace": refused_with_trace,
            "money_lost": str(money_lost),
            "min_wallet_balance_sampled": (
                None if sampler.min_balance is None else str(sampler.min_balance)
            ),
            "balance_samples": sampler.samples,
            "min_wallet_balance_final": None if final_min is None else str(final_min),
            "wallets": len(wallet_of),
            "loans": sum(loans_per_user.values()),
            "loans_disbursed": len(list(disbursed)),
            "loans_closed": Loan.objects.filter(status=Loan.Status.CLOSED).count(),
        },
        "failures": failures,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--officers", type=int, default=None, help="default: clients // 8")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)  # sync workers, as deployed
    parser.add_argument("--faults", choices=sorted(FAULT_PLANS), default="full")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None, help="write the result here")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(10**6)
    officers = args.officers if args.officers is not None else max(2, args.clients // 8)
    borrowers = args.clients - officers

    extra_env = {
        # The run is many clients on one address: throttling is tested elsewhere.
        "THROTTLE_ANON_RATE": "1000000/min",
        "THROTTLE_USER_RATE": "1000000/min",
    }
    wall_started = time.time()
    service = LiveService(
        name="torture", workers=args.workers, threads=args.threads, extra_env=extra_env
    )
    setup_started = time.monotonic()
    service.start()
    try:
        service.setup_django()
        borrower_users, officer_users = create_users(borrowers, officers)
        setup_seconds = time.monotonic() - setup_started
        run = Run(service=service, seconds=args.seconds, seed=seed)
        clients = [
            Borrower(name=f"b{i}", user_id=uid, token=tok, port=service.port, run=run)
            for i, (uid, tok, _) in enumerate(borrower_users)
        ] + [
            Officer(name=f"o{i}", user_id=uid, token=tok, port=service.port, run=run)
            for i, (uid, tok, _) in enumerate(officer_users)
        ]
        stop = threading.Event()
        sampler = Sampler(service, stop)
        run.started = time.monotonic()
        run.deadline = run.started + args.seconds
        injector = FaultInjector(run, FAULT_PLANS[args.faults])
        sampler.start()
        injector.start()
        for client in clients:
            client.start()
        for client in clients:
            client.join(timeout=args.seconds + run.grace + 60)
        injector.join(timeout=120)
        load_seconds = time.monotonic() - run.started
        resumed_in = service.wait_ready(timeout=60)
        stop.set()
        sampler.join(timeout=10)
        hung = [c.name for c in clients if c.is_alive()]
        reconcile = run_reconcile(service)
        result = verify(run, sampler, injector.events)
    finally:
        service.stop()

    failures = result["failures"]
    if hung:
        failures.append(f"clients still running after the grace period: {hung}")
    if reconcile.get("exit_code") != 0 or not reconcile.get("clean"):
        failures.append(f"manage.py reconcile is not clean: {reconcile}")
    if len(injector.events) != len(FAULT_PLANS[args.faults]):
        failures.append("not every planned fault was injected")
    report = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(wall_started)),
        "settings": {
            "seconds": args.seconds,
            "clients": args.clients,
            "borrowers": borrowers,
            "officers": officers,
            "gunicorn_workers": args.workers,
            "gunicorn_threads": args.threads,
            "faults": args.faults,
            "seed": seed,
        },
        "setup_seconds": round(setup_seconds, 1),
        "load_seconds": round(load_seconds, 1),
        "service_ready_after_run_seconds": round(resumed_in, 2),
        "faults": [
            {
                "kind": e["kind"],
                "at_seconds": round(e["at"] - run.started, 1),
                "detail": e["detail"],
                "recovery_seconds": e.get("recovery_seconds"),
                **({"error": e["error"]} if "error" in e else {}),
            }
            for e in injector.events
        ],
        "reconcile_clean": bool(reconcile.get("clean")) and reconcile.get("exit_code") == 0,
        **result,
        "passed": not failures,
    }
    text = json.dumps(report, indent=2, default=str)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text)
    else:
        (VAR / "torture.json").write_text(text)
    print(text if failures else json.dumps(report["figures"], indent=2, default=str))
    if failures:
        print(f"\nFAILED: {len(failures)} problem(s)", file=sys.stderr)
        for failure in failures[:50]:
            print(f"  - {failure}", file=sys.stderr)
        return 1
    print("\ntorture run passed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
