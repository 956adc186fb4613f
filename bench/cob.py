"""Closing one business day for a large book: ``python -m bench.cob`` (``make bench-cob``).

Builds, with set-based SQL, a database of ``BENCH_COB_LOANS`` (default 1,000,000) active
loans of 12 interest-free monthly installments each, at every age (0 to 11 installments
already repaid, with their repayment and its journal entry), two loans per borrower, each
borrower with a wallet. The due dates are arranged around the business date D so that,
closing D (as of D + 1):

- one loan in 20 has an installment falling due on D: it becomes overdue (1 day past due);
- one loan in 20 has an installment due ``grace_days`` before D and still unpaid: it
  crosses the grace period (``grace_days + 1`` past due) and is charged a late fee;
- the other loans' next installment falls due 2 to 29 days after D: nothing happens.

So D + 1 is a quiet day: nothing falls due and no fee is charged, only the overdue loans'
days past due move on. The book is consistent by construction (disbursement and
repayment entries, wallet balances equal to their postings, installments, outstanding
amounts, days past due, buckets); ``reconcile`` must find it clean before anything is
timed. The built database serves as a template: each measurement runs on a fresh copy
(``CREATE DATABASE … TEMPLATE``).

Measured, each as a separate process running the real ``manage.py close_business_day``
with production settings (DEBUG off, ``DATABASE_URL`` to the copy):

a. the busy day D with one worker;
b. the busy day D with two workers at once (``--partition 1/2`` and ``2/2``);
c. the quiet day D + 1 with one worker (after a, on the same copy).

For each: the wall time, the peak RSS of each command process (``wait4``'s
``ru_maxrss``), its CPU time and that of its PostgreSQL backends (sampled from
``/proc``), then checks against figures computed here from how the book was built,
independently of the command: the business date moved on, every loan closed, the fees
(count and amount), the loans newly overdue, the bucket changes, ``reconcile`` clean.

Then, for scale: the bare write the design needs (lock every loan and move its
``closed_through``, in the same chunks, as plain SQL), and, on request (``BENCH_COB_WHATIF=1``), the
busy day again on a copy rebuilt with ``WHATIF_SQL``: the heap-only-update schema that
migration ``loans.0010`` made the project's own, kept to compare an older book.
Last, a profile on another copy: the time of each statement and commit of the command's
run, in process, and ``EXPLAIN (ANALYZE, BUFFERS, WAL)`` of one chunk's
statements. The block between the ``bench:cob`` markers of docs/BENCHMARKS.md is
rewritten.

Knobs (environment variables): ``BENCH_COB_LOANS`` (1,000,000), ``BENCH_COB_CHUNK_SIZE``
(the command's default), ``BENCH_COB_DATABASE`` (prefix of the databases, ``bench_cob``),
``BENCH_COB_TIMEOUT`` (seconds per command, 3,600), ``BENCH_COB_PROFILE`` (1; 0 skips
it), ``BENCH_COB_WHATIF`` (0; 1 runs it), ``BENCH_COB_KEEP`` (0; 1 keeps the databases),
``BENCH_PG_URL``, ``BENCH_DOC``.
"""

import contextlib
import dataclasses
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from bench import run

CHUNK_SIZE = 2000  # the command's default (loans.close_of_business.CHUNK_SIZE, checked in tests)

START = "<!-- bench:cob:start -->"
END = "<!-- bench:cob:end -->"

DAY = date(2026, 3, 16)  # the busy day D; D + 1 is the quiet one
INSTALLMENTS = 12
EVERY = 20  # one loan in 20 (5 %) becomes overdue, another one in 20 is charged a fee
FULL_SIZE = 1_000_000
TARGETS = {"busy_s": 60.0, "quiet_s": 10.0, "rss_mb": 300.0}
CENT = Decimal("0.01")


# --- The book ------------------------------------------------------------------------
# One row per loan n = 1..N, from which every table is written:
#   installment  the amount of each installment (100.00 to 40,000.00);
#   paid         installments already repaid (0 to 11), by one repayment;
#   first_due    the due date of the first unpaid installment: D (n % 20 = 0),
#                D - grace (n % 20 = 1), else D + 2 to D + 29.
# Python's twin of these rules is ``plan_expected``.

LOAD_SQL = """
SET session_replication_role = replica;

CREATE TEMP TABLE bench_cob_plan AS
SELECT n,
       %(loan_base)s + n AS loan_id,
       %(user_base)s + (n + 1) / 2 AS user_id,
       %(account_base)s + (n + 1) / 2 AS account_id,
       %(entry_base)s + n AS disbursement_id,
       %(entry_base)s + %(loans)s + n AS repayment_id,
       ((((n * 37) %% 400) + 1) * 100)::numeric(12, 2) AS installment,
       (n / 3) %% %(installments)s AS paid,
       %(day)s::date + CASE n %% %(every)s WHEN 0 THEN 0 WHEN 1 THEN -%(grace)s
                                       ELSE 2 + (n * 13) %% 28 END AS first_due
FROM generate_series(1, %(loans)s) AS n;

ALTER TABLE bench_cob_plan
    ADD COLUMN disbursed_on date, ADD COLUMN last_paid_due date;

UPDATE bench_cob_plan
SET disbursed_on = (first_due - (paid + 1) * interval '1 month')::date,
    last_paid_due = (first_due - interval '1 month')::date;

INSERT INTO accounts_user (id, password, is_superuser, email, name, role, is_staff, is_active,
                           date_joined)
SELECT %(user_base)s + u, '!', false, 'cob' || (%(user_base)s + u) || '@bench.example',
       'Borrower ' || u, 'BORROWER', false, true, now()
FROM generate_series(1, (%(loans)s + 1) / 2) AS u;

INSERT INTO ledger_account (id, code, name, kind, balance, created_at, updated_at)
SELECT %(account_base)s + u, 'wallet:' || (%(user_base)s + u), 'Wallet', 'LIABILITY', 0,
       now(), now()
FROM generate_series(1, (%(loans)s + 1) / 2) AS u;

INSERT INTO wallets_wallet (user_id, account_id, currency, created_at)
SELECT %(user_base)s + u, %(account_base)s + u, 'INR', now()
FROM generate_series(1, (%(loans)s + 1) / 2) AS u;

INSERT INTO ledger_journalentry (id, kind, reference, description, idempotency_key, created_at,
                                 value_date)
SELECT disbursement_id, 'LOAN_DISBURSEMENT', 'disburse:' || loan_id, 'Disbursement', '',
       disbursed_on, disbursed_on
FROM bench_cob_plan
UNION ALL
SELECT repayment_id, 'EMI_PAYMENT', 'repayment:' || loan_id || ':bench', 'Repayment', 'bench',
       last_paid_due, last_paid_due
FROM bench_cob_plan WHERE paid > 0;

-- Disbursement: the wallet is credited, loans receivable debited; a repayment reverses it.
INSERT INTO ledger_posting (entry_id, account_id, amount)
SELECT disbursement_id, account_id, installment * %(installments)s FROM bench_cob_plan
UNION ALL
SELECT disbursement_id, %(receivable)s, -installment * %(installments)s FROM bench_cob_plan
UNION ALL
SELECT repayment_id, account_id, -installment * paid FROM bench_cob_plan WHERE paid > 0
UNION ALL
SELECT repayment_id, %(receivable)s, installment * paid FROM bench_cob_plan WHERE paid > 0;

INSERT INTO loans_loan (id, borrower_id, product_id, principal_amount, tenure_months,
                        interest_rate, interest_method, maker_checker_threshold, emi_amount,
                        total_interest, outstanding_amount, status, rejection_reason,
                        created_at, updated_at, disbursed_at, disbursed_on, closed_through,
                        days_past_due, delinquency_bucket, disbursement_entry_id)
SELECT loan_id, user_id, %(product)s, installment * %(installments)s, %(installments)s, 0,
       'REDUCING', %(threshold)s, installment, 0, installment * (%(installments)s - paid),
       'ACTIVE', '', disbursed_on, now(), disbursed_on, disbursed_on, %(day)s::date - 1,
       greatest(%(day)s::date - first_due, 0),
       CASE WHEN first_due < %(day)s THEN %(late_bucket)s ELSE %(current_bucket)s END,
       disbursement_id
FROM bench_cob_plan;

-- LATERAL keeps each loan's installments together, as disbursements write them.
INSERT INTO loans_installment (loan_id, number, due_date, principal, interest, total,
                               remaining_principal, principal_paid, interest_paid,
                               fee_charged, fee_charged_on, fee_paid, fee_waived, paid_on)
SELECT p.loan_id, k, d.due_date, p.installment, 0, p.installment,
       p.installment * (%(installments)s - k),
       CASE WHEN k <= p.paid THEN p.installment ELSE 0 END, 0, 0, NULL, 0, 0,
       CASE WHEN k <= p.paid THEN d.due_date END
FROM bench_cob_plan p,
     LATERAL generate_series(1, %(installments)s) AS k,
     LATERAL (SELECT (p.first_due + (k - p.paid - 1) * interval '1 month')::date AS due_date) d;

-- Version 1 of each loan's schedule: the one it has (reconcile checks it).
INSERT INTO loans_scheduleversion
    (loan_id, number, reason, note, business_date, emi_amount, total_interest, created_at)
SELECT loan_id, 1, 'DISBURSEMENT', '', disbursed_on, installment, 0, now()
FROM bench_cob_plan;

INSERT INTO loans_scheduleversionrow
    (version_id, number, due_date, principal, interest, total, remaining_principal)
SELECT v.id, i.number, i.due_date, i.principal, i.interest, i.total, i.remaining_principal
FROM loans_scheduleversion v JOIN loans_installment i ON i.loan_id = v.loan_id;

INSERT INTO loans_repayment (loan_id, amount, principal_part, interest_part, fee_part,
                             value_date, type, status, idempotency_key, entry_id, created_at,
                             reversal_reason)
SELECT loan_id, installment * paid, installment * paid, 0, 0, last_paid_due, 'PARTIAL',
       'SUCCESS', 'bench', repayment_id, last_paid_due, ''
FROM bench_cob_plan WHERE paid > 0;

-- Each loan's one repayment, allocated to the installments it paid.
INSERT INTO loans_repaymentallocation (repayment_id, installment_id, fee, interest, principal)
SELECT r.id, i.id, i.fee_paid, i.interest_paid, i.principal_paid
FROM loans_installment i JOIN loans_repayment r ON r.loan_id = i.loan_id
WHERE i.principal_paid + i.interest_paid + i.fee_paid > 0;

UPDATE ledger_account a SET balance = s.total
FROM (SELECT account_id, sum(installment * (%(installments)s - paid)) AS total
      FROM bench_cob_plan GROUP BY account_id) s
WHERE a.id = s.account_id;

INSERT INTO ledger_businessdate (id, date, updated_at) VALUES (1, %(day)s, now())
ON CONFLICT (id) DO UPDATE SET date = EXCLUDED.date, updated_at = EXCLUDED.updated_at;

DROP TABLE bench_cob_plan;

SET session_replication_role = origin
"""

SEQUENCE_TABLES = ["accounts_user", "ledger_account", "ledger_journalentry", "loans_loan"]


def log(message: str) -> None:
    print(f"[cob {time.strftime('%H:%M:%S')}] {message}", flush=True)


@dataclasses.dataclass(frozen=True)
class Expected:
    """What closing D and then D + 1 must do, worked out from the plan in Python."""

    loans: int
    newly_overdue: int  # on D: an installment fell due on D
    fees: int  # on D: an installment crossed the grace period
    fee_amount: Decimal
    installments: int
    repayments: int


def late_fee(product, unpaid: Decimal) -> Decimal:
    """The product's late fee on an unpaid amount (computed apart from the command's SQL)."""
    if product.late_fee_kind == "FLAT":
        return product.late_fee_value
    fee = (unpaid * product.late_fee_value / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    if product.late_fee_min is not None:
        fee = max(fee, product.late_fee_min)
    if product.late_fee_max is not None:
        fee = min(fee, product.late_fee_max)
    return fee


def plan_expected(*, loans: int, product) -> Expected:
    overdue = fees = repayments = 0
    amount = Decimal("0.00")
    for n in range(1, loans + 1):
        installment = Decimal(((n * 37) % 400 + 1) * 100)
        repayments += (n // 3) % INSTALLMENTS > 0
        if n % EVERY == 0:
            overdue += 1
        elif n % EVERY == 1:
            fees += 1
            amount += late_fee(product, installment)
    return Expected(loans, overdue, fees, amount, loans * INSTALLMENTS, repayments)


def load(connection, *, loans: int, day: date = DAY) -> Expected:
    """Write the book into ``connection``'s database, next to whatever it holds."""
    from ledger.models import Account
    from ledger.selectors import account_system_id
    from loans.services import loan_product_get

    product = loan_product_get()  # the STANDARD product the loans are sold as
    with connection.cursor() as cursor:
        bases = {}
        for table, key in [
            ("accounts_user", "user_base"),
            ("ledger_account", "account_base"),
            ("ledger_journalentry", "entry_base"),
            ("loans_loan", "loan_base"),
        ]:
            cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table}")  # noqa: S608 (fixed names)
            bases[key] = cursor.fetchone()[0]
        params = {
            **bases,
            "loans": loans,
            "day": day,
            "installments": INSTALLMENTS,
            "every": EVERY,
            "grace": product.grace_days,
            "product": product.pk,
            "threshold": product.maker_checker_threshold,
            "receivable": account_system_id(Account.LOANS_RECEIVABLE),
            "late_bucket": product.bucket_for(product.grace_days),
            "current_bucket": product.bucket_for(0),
        }
        for statement in LOAD_SQL.split(";\n"):
            if statement.strip():
                cursor.execute(statement, params if "%(" in statement else None)
        for table in SEQUENCE_TABLES:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"  # noqa: S608
            )
        cursor.execute("ANALYZE")
    return plan_expected(loans=loans, product=product)


# --- What a closed day looks like -----------------------------------------------------

OBSERVE_SQL = """
    SELECT (SELECT date FROM ledger_businessdate WHERE id = 1),
           (SELECT count(*) FROM loans_loan WHERE status = 'ACTIVE'),
           (SELECT count(*) FROM loans_loan WHERE status = 'ACTIVE' AND closed_through = %(day)s),
           (SELECT count(*) FROM loans_loan WHERE status = 'ACTIVE' AND days_past_due = 1),
           (SELECT count(*) FROM loans_delinquencychange WHERE "on" = %(day)s::date + 1),
           (SELECT count(*) FROM loans_installment WHERE fee_charged_on = %(day)s),
           (SELECT coalesce(sum(fee_charged), 0) FROM loans_installment
            WHERE fee_charged_on = %(day)s),
           (SELECT count(*) FROM ledger_journalentry
            WHERE kind = 'FEE_CHARGE' AND value_date = %(day)s)
"""


def observe(connection, *, day: date) -> dict:
    """The day's effects, read from the tables (a DB-API connection: Django's or psycopg's)."""
    with connection.cursor() as cursor:
        cursor.execute(OBSERVE_SQL, {"day": day})
        row = cursor.fetchone()
    keys = ["business_date", "active", "closed", "newly_overdue", "bucket_changes", "fees",
            "fee_amount", "fee_entries"]  # fmt: skip
    return dict(zip(keys, row, strict=True))


def wanted(expected: Expected, *, day: date, busy: bool) -> dict:
    """What ``observe`` must find after closing ``day`` (busy: D; else the quiet D + 1)."""
    return {
        "business_date": day + timedelta(days=1),
        "active": expected.loans,
        "closed": expected.loans,
        "newly_overdue": expected.newly_overdue if busy else 0,
        "bucket_changes": expected.newly_overdue if busy else 0,
        "fees": expected.fees if busy else 0,
        "fee_amount": expected.fee_amount if busy else Decimal("0.00"),
        "fee_entries": expected.fees if busy else 0,
    }


def summary_figures(outputs: list[str]) -> dict:
    """The commands' own summary lines, as numbers, added up over the workers."""
    figures = {}
    for output in outputs:
        for line in output.splitlines():
            label, _, value = line.strip().partition(":")
            if label in ("loans closed (loan-days)", "newly overdue", "bucket changes", "failures"):
                figures[label] = figures.get(label, 0) + int(value.split()[0])
            elif label == "late fees charged":
                count, amount = value.split()
                fees, total = figures.get(label, (0, Decimal("0.00")))
                figures[label] = (fees + int(count), total + Decimal(amount.strip("()")))
    return figures


def check_day(connection, expected: Expected, *, day: date, busy: bool, outputs=()) -> list:
    """Differences between the closed day and the plan ([] when none).

    ``outputs``: what the workers printed; their summaries must add up to the plan too.
    """
    found, want = observe(connection, day=day), wanted(expected, day=day, busy=busy)
    problems = [f"{key}: {found[key]} != {want[key]}" for key in want if found[key] != want[key]]
    if outputs:
        told = summary_figures(outputs)
        claims = {
            "loans closed (loan-days)": want["closed"],
            "newly overdue": want["newly_overdue"],
            "bucket changes": want["bucket_changes"],
            "late fees charged": (want["fees"], want["fee_amount"]),
            "failures": 0,
        }
        for label, value in claims.items():
            if told.get(label) != value:
                problems.append(f"command said {label} = {told.get(label)}, expected {value}")
    return problems


# --- Running the command ---------------------------------------------------------------


class Server:
    """The bench's autocommit connection to the server, and its databases."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")
        self.admin = run.Admin(self.url)

    def copy(self, template: str, name: str) -> float:
        from psycopg import errors, sql

        self.admin.drop(name)
        strategy = (
            sql.SQL(" STRATEGY FILE_COPY")
            if self.admin.conn.info.server_version >= 150000
            else sql.SQL("")
        )
        started = time.perf_counter()
        for attempt in range(30):  # autovacuum may be visiting the template
            try:
                self.admin.conn.execute(
                    sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                        sql.Identifier(name), sql.Identifier(template)
                    )
                    + strategy
                )
                return time.perf_counter() - started
            except errors.ObjectInUse:
                if attempt == 29:
                    raise
                time.sleep(1)
        raise AssertionError("unreachable")

    def connect(self, name: str):
        import psycopg

        return psycopg.connect(f"{self.url}/{name}", autocommit=True)

    def backends(self, name: str) -> list[int]:
        rows = self.admin.conn.execute(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = %s AND backend_type = 'client backend'",
            (name,),
        ).fetchall()
        return [row[0] for row in rows]


def child_env(server: Server, name: str) -> dict:
    env = dict(os.environ)
    env.update(DATABASE_URL=f"{server.url}/{name}", DEBUG="false", LOG_LEVEL="WARNING")
    env.pop("EMBEDDED_DATABASE", None)
    return env


def run_commands(server: Server, name: str, argvs: list[list[str]], *, timeout: float) -> dict:
    """Start the commands at once; wait for all, sampling the database's backends' CPU.

    Returns the wall time of the whole, the CPU time of the database's client backends
    and, per process, its wall time, peak RSS (``wait4``'s ``ru_maxrss``), CPU time and
    output. A command that fails or outlives ``timeout`` stops the bench.
    """
    from bench.server import cpu_seconds

    env = child_env(server, name)
    with contextlib.ExitStack() as stack:
        started = time.perf_counter()
        procs = []
        for argv in argvs:
            out = stack.enter_context(tempfile.TemporaryFile(mode="w+"))
            proc = subprocess.Popen(  # noqa: S603 (fixed argv)
                [sys.executable, *argv], cwd=run.BASE_DIR, env=env, stdout=out,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
            procs.append({"proc": proc, "out": out, "argv": argv})
        backend_cpu: dict[int, float] = {}
        pending = list(procs)
        while pending:
            backend_cpu.update(cpu_seconds(server.backends(name)))
            for item in list(pending):
                pid, status, usage = os.wait4(item["proc"].pid, os.WNOHANG)
                if pid:
                    item["proc"].returncode = os.waitstatus_to_exitcode(status)
                    item.update(
                        wall_s=time.perf_counter() - started,
                        rss_mb=usage.ru_maxrss / 1024,
                        cpu_s=usage.ru_utime + usage.ru_stime,
                    )
                    pending.remove(item)
            if time.perf_counter() - started > timeout:
                for item in pending:
                    item["proc"].kill()
                raise SystemExit(f"timed out after {timeout:.0f}s: {pending[0]['argv']}")
            time.sleep(0.1)
        wall = time.perf_counter() - started
        results = []
        for item in procs:
            item["out"].seek(0)
            output = item["out"].read()
            if item["proc"].returncode != 0:
                raise SystemExit(f"{item['argv']} exited {item['proc'].returncode}:\n{output}")
            results.append(
                {key: item[key] for key in ("argv", "wall_s", "rss_mb", "cpu_s")}
                | {"output": output}
            )
    return {"wall_s": wall, "db_cpu_s": sum(backend_cpu.values()), "processes": results}


def close_argv(day: date, *, partition: str | None = None, chunk_size: int | None = None):
    argv = ["manage.py", "close_business_day", "--date", day.isoformat(), "--allow-future"]
    if partition:
        argv += ["--partition", partition]
    if chunk_size:
        argv += ["--chunk-size", str(chunk_size)]
    return argv


def reconcile_clean(server: Server, name: str) -> tuple[bool, float]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "manage.py", "reconcile", "--json"],
        cwd=run.BASE_DIR,
        env=child_env(server, name),
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    elapsed = time.perf_counter() - started
    return done.returncode == 0 and json.loads(done.stdout)["clean"], elapsed


def measure_close(server, name, expected, *, day, busy, label, chunk_size, timeout, parts=1):
    """Close ``day`` on the copy ``name`` with ``parts`` workers; check the outcome."""
    if parts == 1:
        argvs = [close_argv(day, chunk_size=chunk_size)]
    else:
        argvs = [close_argv(day, partition=f"{k}/{parts}", chunk_size=chunk_size)
                 for k in range(1, parts + 1)]  # fmt: skip
    log(f"{label}: closing {day} with {parts} worker(s)")
    result = run_commands(server, name, argvs, timeout=timeout)
    outputs = [p["output"] for p in result["processes"]]
    with server.connect(name) as conn:
        problems = check_day(conn, expected, day=day, busy=busy, outputs=outputs)
    clean, reconcile_s = reconcile_clean(server, name)
    if not clean:
        problems.append("reconcile found mismatches")
    result.update(label=label, parts=parts, day=day, problems=problems, reconcile_s=reconcile_s)
    rss = max(p["rss_mb"] for p in result["processes"])
    log(f"{label}: {result['wall_s']:.2f}s, peak RSS {rss:.0f} MB, checks {problems or 'ok'}")
    if problems:
        raise SystemExit(f"{label}: the closed day is not what the book says: {problems}")
    return result


# --- Two reference points: the bare write, and a schema that allows HOT updates ------

FLOOR_LOCK_SQL = """
    SELECT id FROM loans_loan WHERE status = 'ACTIVE' AND id > %s ORDER BY id LIMIT %s
    FOR NO KEY UPDATE
"""
FLOOR_UPDATE_SQL = "UPDATE loans_loan SET closed_through = closed_through + 1 WHERE id = ANY(%s)"

# Not the project's schema: what the close would cost if moving ``closed_through`` left
# every index alone (a heap-only update needs no indexed column changed and room on the
# page). Applied to a copy only.
WHATIF_SQL = [
    "DROP INDEX loans_loan_active_idx",
    "CREATE INDEX loans_loan_active_idx ON loans_loan (id) WHERE status = 'ACTIVE'",
    "ALTER TABLE loans_loan SET (fillfactor = 50)",
    "VACUUM FULL loans_loan",
    "VACUUM (ANALYZE) loans_loan",
]


def measure_floor(server: Server, name: str, *, chunk_size: int) -> float:
    """Lock every active loan and move its ``closed_through`` a day, nothing else.

    The write that closing a day must make for each loan, in the same chunks and
    transactions as the command, as bare SQL from this process.
    """
    with server.connect(name) as conn:
        conn.autocommit = False
        started, after = time.perf_counter(), 0
        while True:
            ids = [row[0] for row in conn.execute(FLOOR_LOCK_SQL, (after, chunk_size))]
            if not ids:
                break
            conn.execute(FLOOR_UPDATE_SQL, (ids,))
            conn.commit()
            after = ids[-1]
        return time.perf_counter() - started


def vacuum(server: Server, name: str) -> None:
    """What autovacuum would do between two days (it is off on some servers)."""
    with server.connect(name) as conn:
        conn.execute("VACUUM (ANALYZE)")


# --- The profile: statements timed in process, EXPLAIN of one chunk -------------------

IDS_LITERAL = re.compile(r"'\{[0-9,]+\}'")
ORM_TABLE = re.compile(
    r'^\s*(SELECT|INSERT|UPDATE|DELETE)\b.*?(?:FROM|INTO|UPDATE)\s+"(\w+)"', re.S
)


def orm_label(sql: str) -> str:
    """A short name for a statement the ORM wrote: its verb and first table."""
    match = ORM_TABLE.match(sql)
    return f"{match[1]} {match[2]} (ORM)" if match else " ".join(sql.split()[:3])


def profile_child(days: list[date], out_path: str, chunk_size: int | None) -> None:
    """Close ``days`` in this process, timing each statement and commit; EXPLAIN one chunk."""
    import resource

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from loans import close_of_business as cob

    chunk = chunk_size or cob.CHUNK_SIZE
    explains = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id), max(id) FROM loans_loan WHERE status = 'ACTIVE'")
        low, high = cursor.fetchone()
        cursor.execute(
            cob.CHUNK_SQL, {"after": (low + high) // 2, "high": high, "day": days[0], "size": chunk}
        )
        ids = [row[0] for row in cursor.fetchall()]
    params = {"ids": ids, "day": days[0], "as_of": days[0] + timedelta(days=1), "closed": days[0]}
    with transaction.atomic(), connection.cursor() as cursor:  # rolled back: the day stays open
        for name in ("LOCK_SQL", "CHARGE_FEES_SQL", "DELINQUENCY_SQL"):
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, WAL) " + getattr(cob, name), params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            explains[name] = IDS_LITERAL.sub(f"'{{…{len(ids)} ids…}}'", plan)
        transaction.set_rollback(True)

    names = {getattr(cob, n): n for n in dir(cob) if n.endswith("_SQL")}
    timings: dict[str, list] = {}

    def account(label, seconds):
        entry = timings.setdefault(label, [0, 0.0])
        entry[0] += 1
        entry[1] += seconds

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            account(names.get(sql) or orm_label(sql), time.perf_counter() - started)

    connection.ensure_connection()
    commit = connection._commit

    def timed_commit():
        started = time.perf_counter()
        try:
            return commit()
        finally:
            account("COMMIT (deferred triggers)", time.perf_counter() - started)

    connection._commit = timed_commit
    per_day = []
    with connection.execute_wrapper(timed):
        for number, day in enumerate(days):
            if number:  # as autovacuum would between two days (untimed)
                with connection.cursor() as cursor:
                    cursor.execute("VACUUM (ANALYZE)")
            before = {k: tuple(v) for k, v in timings.items()}
            started = time.perf_counter()
            call_command("close_business_day", "--date", day.isoformat(), "--allow-future",
                         "--chunk-size", str(chunk), stdout=io.StringIO())  # fmt: skip
            wall = time.perf_counter() - started
            statements = {
                k: (v[0] - before.get(k, (0, 0.0))[0], v[1] - before.get(k, (0, 0.0))[1])
                for k, v in timings.items()
            }
            per_day.append({"day": day.isoformat(), "wall_s": wall, "statements": statements})
    usage = resource.getrusage(resource.RUSAGE_SELF)
    Path(out_path).write_text(
        json.dumps(
            {
                "days": per_day,
                "explains": explains,
                "chunk_loans": len(ids),
                "cpu_s": usage.ru_utime + usage.ru_stime,
            }
        )
    )


def measure_profile(server, name, *, days, chunk_size, timeout) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        argv = ["-m", "bench.cob", "--profile", out.name, *(d.isoformat() for d in days)]
        if chunk_size:
            argv += ["--chunk-size", str(chunk_size)]
        result = run_commands(server, name, [argv], timeout=timeout)
        profile = json.loads(Path(out.name).read_text())
    profile.update(wall_s=result["wall_s"], db_cpu_s=result["db_cpu_s"])
    return profile


# --- The report ----------------------------------------------------------------------


def _verdict(ok: bool, sample: bool) -> str:
    if sample:
        return "not judged (sample)"
    return "yes" if ok else "**no**"


def _run_row(result: dict, loans: int) -> str:
    processes = result["processes"]
    label = result["label"]
    if len(processes) > 1:
        label += " (each: " + ", ".join(f"{p['wall_s']:.1f}" for p in processes) + " s)"
    rss = " / ".join(f"{p['rss_mb']:.0f}" for p in processes)
    return (
        f"| {label} | {result['wall_s']:.2f} | {1e6 * result['wall_s'] / loans:.1f} | "
        f"{sum(p['cpu_s'] for p in processes):.2f} | {result['db_cpu_s']:.2f} | {rss} |"
    )


def render(meta, book, runs, profile=None, *, floor_s=None, whatif=None) -> str:
    """The Markdown block of one run (``runs``: busy, pair and quiet ``measure_close``)."""
    loans = book["loans"]
    sample = loans < FULL_SIZE
    busy, pair, quiet = runs["busy"], runs["pair"], runs["quiet"]
    title = f"### Close of business, {meta['date']}"
    if sample:
        title += f" — a sample at {loans:,} loans, not the measurement"
    lines = [
        title,
        "",
        f"Machine: {meta['machine']}.",
        "",
        f"Book: {loans:,} active loans, {book['installments']:,} installments, "
        f"{book['repayments']:,} repayments, {book['entries']:,} journal entries, "
        f"{book['postings']:,} postings, {book['size_mb']:,.0f} MB; built in "
        f"{book['load_s']:.0f} s with set-based SQL, `reconcile` clean. Chunks of "
        f"{meta['chunk_size']:,} loans. Busy day {busy['day']}: {book['newly_overdue']:,} "
        f"loans become overdue, {book['fees']:,} are charged a late fee "
        f"({book['fee_amount']:,.2f} in all). Quiet day {quiet['day']}: nothing falls due.",
        "",
    ]
    if sample:
        lines += [
            f"At {loans:,} loans the figures show that the pipeline works and how the cost "
            f"grows, nothing more: the targets are for {FULL_SIZE:,} loans on a quiet machine "
            "(`make bench-cob`).",
            "",
        ]
    lines += [
        "| run | wall s | ms per 1,000 loans | command CPU s | PostgreSQL CPU s | peak RSS MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        *(_run_row(result, loans) for result in (busy, pair, quiet)),
    ]
    if whatif:
        lines.append(_run_row(whatif, loans))
    if floor_s is not None:
        lines.append(
            f"| bare write, busy day's state: lock each loan and move its `closed_through`, "
            f"same chunks, plain SQL | {floor_s:.2f} | {1e6 * floor_s / loans:.1f} | | | |"
        )
    rss = max(p["rss_mb"] for r in (busy, pair, quiet) for p in r["processes"])
    lines += [
        "",
        "Each run is checked against the plan of the book, not against the command's "
        "summary: business date moved on, every loan closed, fees (count, amount, journal "
        "entries), loans newly overdue, bucket changes, `reconcile` clean. Wall time includes "
        "the command's start (Python and Django, 1 to 3 s); PostgreSQL CPU is that of the "
        "command's backends, sampled every 0.1 s. The quiet day runs on the busy day's copy "
        "after a `VACUUM (ANALYZE)`, as autovacuum would between two days.",
        "",
        "| target | measured | met |",
        "| --- | ---: | --- |",
        f"| busy day, 1 worker: ≤ {TARGETS['busy_s']:.0f} s | {busy['wall_s']:.1f} s | "
        f"{_verdict(busy['wall_s'] <= TARGETS['busy_s'], sample)} |",
        f"| quiet day: ≤ {TARGETS['quiet_s']:.0f} s | {quiet['wall_s']:.1f} s | "
        f"{_verdict(quiet['wall_s'] <= TARGETS['quiet_s'], sample)} |",
        f"| peak RSS of each command: ≤ {TARGETS['rss_mb']:.0f} MB | {rss:.0f} MB | "
        f"{_verdict(rss <= TARGETS['rss_mb'], False)} |",
        f"| busy day: 2 workers faster than 1 | {pair['wall_s']:.1f} s vs "
        f"{busy['wall_s']:.1f} s | {_verdict(pair['wall_s'] < busy['wall_s'], sample)} |",
    ]
    if whatif:
        lines += [
            "",
            "The HOT-able schema row is not the project's schema: on a copy, "
            "`loans_loan_active_idx` without `INCLUDE (closed_through)` and `loans_loan` at "
            "fillfactor 50, so that moving `closed_through` is a heap-only update (no index "
            "touched) where the page has room.",
        ]
    if profile:
        lines += render_profile(profile)
    return "\n".join(lines) + "\n"


def render_profile(profile: dict) -> list[str]:
    lines = [
        "",
        "Where the time goes (profile): both days closed again on a fresh copy, in one "
        "process, with each SQL statement and each commit timed around the driver's call "
        "(PostgreSQL's work plus the round trip); the rest is Python. That run: "
        f"{profile['wall_s']:.1f} s in all, command CPU {profile['cpu_s']:.1f} s, PostgreSQL "
        f"CPU {profile['db_cpu_s']:.1f} s (EXPLAIN included).",
        "",
    ]
    for day in profile["days"]:
        wall = day["wall_s"]
        statements = sorted(day["statements"].items(), key=lambda kv: -kv[1][1])
        shown = [(name, c, s) for name, (c, s) in statements if c and s >= 0.005 * wall]
        other = [(c, s) for name, (c, s) in statements if c and s < 0.005 * wall]
        lines += [
            f"| {day['day']}, {wall:.2f} s: statement | calls | s | % |",
            "| --- | ---: | ---: | ---: |",
            *(f"| `{name}` | {c:,} | {s:.2f} | {100 * s / wall:.0f} |" for name, c, s in shown),
        ]
        if other:
            calls, seconds = sum(c for c, _ in other), sum(s for _, s in other)
            lines.append(
                f"| other statements | {calls:,} | {seconds:.2f} | {100 * seconds / wall:.0f} |"
            )
        rest = wall - sum(s for _, (c, s) in statements)
        lines += [f"| Python (the rest) | | {rest:.2f} | {100 * rest / wall:.0f} |", ""]
    lines += [
        f"`EXPLAIN (ANALYZE, BUFFERS, WAL)` of one chunk's statements ({profile['chunk_loans']:,} "
        "loans from the middle of the book, busy day, rolled back):",
        "",
    ]
    for name, plan in profile["explains"].items():
        lines += [f"<details><summary>{name}</summary>", "", "```", plan, "```", "</details>", ""]
    return lines


@dataclasses.dataclass(frozen=True)
class Knobs:
    loans: int
    chunk_size: int | None
    prefix: str
    timeout: float
    profile: bool
    whatif: bool
    keep: bool

    @classmethod
    def from_env(cls) -> "Knobs":
        e = os.environ
        return cls(
            loans=int(e.get("BENCH_COB_LOANS", FULL_SIZE)),
            chunk_size=int(e["BENCH_COB_CHUNK_SIZE"]) if e.get("BENCH_COB_CHUNK_SIZE") else None,
            prefix=e.get("BENCH_COB_DATABASE", "bench_cob"),
            timeout=float(e.get("BENCH_COB_TIMEOUT", 3600)),
            profile=e.get("BENCH_COB_PROFILE", "1") != "0",
            whatif=e.get("BENCH_COB_WHATIF", "0") == "1",
            keep=e.get("BENCH_COB_KEEP", "0") == "1",
        )


def build_template(cfg, knobs: Knobs, server: Server, name: str) -> tuple[Expected, dict]:
    """Create, migrate and fill the template database; check that it reconciles."""
    log(f"recreating database {name}")
    server.admin.recreate(name)
    run.configure_django(dataclasses.replace(cfg, database=name))
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    log(f"building {knobs.loans:,} loans")
    started = time.perf_counter()
    expected = load(connection, loans=knobs.loans)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (FREEZE, ANALYZE)")
        load_s = time.perf_counter() - started
        cursor.execute(
            "SELECT (SELECT count(*) FROM ledger_journalentry),"
            " (SELECT count(*) FROM ledger_posting), pg_database_size(current_database())"
        )
        entries, postings, size = cursor.fetchone()
    log(f"built in {load_s:.0f}s ({size / 2**20:,.0f} MB); reconciling")
    out = io.StringIO()
    call_command("reconcile", "--json", stdout=out)
    if not json.loads(out.getvalue())["clean"]:
        raise SystemExit(f"the generated book does not reconcile: {out.getvalue()}")
    connection.close()  # a template must have no session
    book = {
        **dataclasses.asdict(expected),
        "entries": entries,
        "postings": postings,
        "size_mb": size / 2**20,
        "load_s": load_s,
    }
    return expected, book


def measure_all(knobs: Knobs, server: Server, template: str, expected: Expected) -> dict:
    """Every measurement, each on its own copy of the template."""
    copies = {k: f"{knobs.prefix}_{k}" for k in ("a", "b", "floor", "whatif", "profile")}
    options = {"chunk_size": knobs.chunk_size, "timeout": knobs.timeout}
    quiet_day = DAY + timedelta(days=1)
    found: dict = {"runs": {}, "whatif": None, "profile": None}

    def copy(key: str) -> str:
        log(f"copying {template} to {copies[key]} in {server.copy(template, copies[key]):.0f}s")
        return copies[key]

    def done(key: str) -> None:
        if not knobs.keep:
            server.admin.drop(copies[key])

    try:
        name = copy("a")
        found["runs"]["busy"] = measure_close(
            server, name, expected, day=DAY, busy=True, label="busy day, 1 worker", **options
        )
        vacuum(server, name)
        found["runs"]["quiet"] = measure_close(
            server, name, expected, day=quiet_day, busy=False, label="quiet day, 1 worker",
            **options,
        )  # fmt: skip
        done("a")

        name = copy("b")
        found["runs"]["pair"] = measure_close(
            server, name, expected, day=DAY, busy=True, parts=2, label="busy day, 2 workers",
            **options,
        )  # fmt: skip
        done("b")

        name = copy("floor")  # a fresh copy, as the busy day had
        found["floor_s"] = measure_floor(server, name, chunk_size=knobs.chunk_size or CHUNK_SIZE)
        log(f"bare write of every loan: {found['floor_s']:.2f}s")
        done("floor")

        if knobs.whatif:
            name = copy("whatif")
            with server.connect(name) as conn:
                for statement in WHATIF_SQL:
                    conn.execute(statement)
            found["whatif"] = measure_close(
                server, name, expected, day=DAY, busy=True,
                label="busy day, 1 worker, HOT-able schema", **options,
            )  # fmt: skip
            done("whatif")

        if knobs.profile:
            name = copy("profile")
            found["profile"] = measure_profile(server, name, days=[DAY, quiet_day], **options)
            with server.connect(name) as conn:
                problems = check_day(conn, expected, day=quiet_day, busy=False)
            if problems:
                raise SystemExit(f"the profiled run closed the days differently: {problems}")
            done("profile")
    finally:
        if not knobs.keep:
            for name in copies.values():
                server.admin.drop(name)
    return found


def main() -> int:
    if sys.argv[1:2] == ["--profile"]:  # the profile's own process (``measure_profile``)
        out_path, *days = sys.argv[2:]
        chunk = None
        if "--chunk-size" in days:
            chunk = int(days[days.index("--chunk-size") + 1])
            days = days[: days.index("--chunk-size")]
        sys.path.insert(0, str(run.BASE_DIR))
        profile_child([date.fromisoformat(d) for d in days], out_path, chunk)
        return 0

    cfg, knobs = run.Config.from_env(), Knobs.from_env()
    sys.path.insert(0, str(run.BASE_DIR))
    os.chdir(run.BASE_DIR)
    meta = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": ", ".join(f"{k} {v}" for k, v in run.machine_facts().items()),
        "chunk_size": knobs.chunk_size or CHUNK_SIZE,
    }
    server = Server(cfg.server_url)
    template = f"{knobs.prefix}_template"
    try:
        expected, book = build_template(cfg, knobs, server, template)
        found = measure_all(knobs, server, template, expected)
    finally:
        if not knobs.keep:
            server.admin.drop(template)
    block = render(
        meta, book, found["runs"], found["profile"], floor_s=found["floor_s"],
        whatif=found["whatif"],
    )  # fmt: skip
    from bench.report import write_block

    write_block(cfg.doc, block, start=START, end=END)
    print(block)
    return 0


if __name__ == "__main__":
    sys.exit(main())
