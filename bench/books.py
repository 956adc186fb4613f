"""A large book, measured in process: ``python -m bench.books`` (``make bench-books``).

Builds a database holding a book of ``BOOKS_POSTINGS`` postings (default 1,000,000) and
``BOOKS_LOANS`` loans (default 100,000), then measures:

- ``manage.py reconcile`` against the bare aggregate SQL it cannot do without (the sums
  of the postings per account and per entry, and the unpaid installments per loan),
  timed on the same data in the same run;
- the admin's loans list: statements per page and server time per page.

The data is written with set-based SQL (``generate_series``), not through the services:
a million postings through HTTP would take hours. It is consistent by construction —
balanced entries, wallet balances equal to their postings, disbursed loans with their
installment and their disbursement entry — and ``reconcile`` verifies that it is clean.
Triggers are off while loading (``session_replication_role = replica``) and on again for
the measurements.
"""

import dataclasses
import os
import statistics
import sys
import time
from datetime import UTC, datetime

from bench import run

START = "<!-- bench:books:start -->"
END = "<!-- bench:books:end -->"

LOAD_SQL = """
SET session_replication_role = replica;

INSERT INTO accounts_user (password, is_superuser, email, name, role, is_staff, is_active,
                           date_joined)
SELECT '!', false, 'b' || n || '@bench.example', 'Borrower ' || n, 'BORROWER', false, true,
       now() - (n %% 365) * interval '1 day'
FROM generate_series(1, %(users)s) AS n;

INSERT INTO ledger_account (code, name, kind, balance, created_at, updated_at)
SELECT 'wallet:' || u.id, 'Wallet of ' || u.email, 'LIABILITY', 0, now(), now()
FROM accounts_user u WHERE u.role = 'BORROWER';

INSERT INTO wallets_wallet (user_id, account_id, currency, created_at)
SELECT u.id, a.id, 'INR', now()
FROM accounts_user u JOIN ledger_account a ON a.code = 'wallet:' || u.id;

-- Deposits: one entry, two postings each.
INSERT INTO ledger_journalentry (kind, reference, description, idempotency_key, created_at,
                                 value_date)
SELECT 'DEPOSIT', 'deposit:bench:' || n, 'Deposit', 'k' || n,
       now() - (n %% 365) * interval '1 day', current_date - (n %% 365)
FROM generate_series(1, %(deposits)s) AS n;

WITH w AS (SELECT row_number() OVER (ORDER BY user_id) AS i, account_id FROM wallets_wallet),
     e AS (SELECT id, row_number() OVER (ORDER BY id) AS i
           FROM ledger_journalentry WHERE kind = 'DEPOSIT'),
     legs AS (
        SELECT e.id AS entry_id, w.account_id, ((e.i %% 997) + 1)::numeric(16, 2) AS amount
        FROM e JOIN w ON w.i = (e.i %% %(users)s) + 1
     )
INSERT INTO ledger_posting (entry_id, account_id, amount)
SELECT entry_id, account_id, amount FROM legs
UNION ALL
SELECT entry_id, (SELECT id FROM ledger_account WHERE code = 'bank'), -amount FROM legs;

-- Each deposit's business record, which reconcile checks the entry against.
INSERT INTO wallets_wallettransfer (wallet_id, kind, amount, idempotency_key, entry_id,
                                    created_at)
SELECT w.user_id, 'DEPOSIT', p.amount, e.idempotency_key, e.id, e.created_at
FROM ledger_journalentry e
JOIN ledger_posting p ON p.entry_id = e.id
JOIN wallets_wallet w ON w.account_id = p.account_id
WHERE e.kind = 'DEPOSIT';

-- Loans: pending, rejected and active (one installment, interest-free), in turn. The
-- active ones are written APPLIED, then made ACTIVE with their disbursement entry (a
-- CHECK ties the two together).
INSERT INTO loans_loan (borrower_id, principal_amount, tenure_months, interest_rate,
                        interest_method, maker_checker_threshold, emi_amount, total_interest,
                        outstanding_amount, status, rejection_reason, created_at, updated_at,
                        product_id, days_past_due, delinquency_bucket)
SELECT w.user_id, ((n %% 400) + 1) * 1000, 1, 0, 'REDUCING', 200000,
       ((n %% 400) + 1) * 1000, 0,
       CASE WHEN n %% 5 = 0 THEN ((n %% 400) + 1) * 1000 ELSE 0 END,
       CASE WHEN n %% 5 = 1 THEN 'REJECTED' ELSE 'APPLIED' END,
       CASE WHEN n %% 5 = 1 THEN 'Bench rejection' ELSE '' END,
       now() - (n %% 730) * interval '1 hour', now(),
       (SELECT id FROM loans_loanproduct WHERE code = 'STANDARD'), 0, 'CURRENT'
FROM generate_series(1, %(loans)s) AS n
JOIN (SELECT row_number() OVER (ORDER BY user_id) AS i, user_id FROM wallets_wallet) w
  ON w.i = (n %% %(users)s) + 1;

INSERT INTO loans_installment (loan_id, number, due_date, principal, interest, total,
                               remaining_principal, principal_paid, interest_paid,
                               fee_charged, fee_paid, fee_waived)
SELECT id, 1, %(today)s::date + 30, principal_amount, 0, principal_amount, 0, 0, 0, 0, 0, 0
FROM loans_loan;

INSERT INTO ledger_journalentry (kind, reference, description, idempotency_key, created_at,
                                 value_date)
SELECT 'LOAN_DISBURSEMENT', 'disburse:' || id, 'Disbursement', '', created_at, created_at::date
FROM loans_loan WHERE outstanding_amount > 0;

UPDATE loans_loan l SET status = 'ACTIVE', disbursement_entry_id = e.id,
                        disbursed_on = e.value_date, closed_through = %(today)s::date - 1
FROM ledger_journalentry e WHERE e.reference = 'disburse:' || l.id;

-- Version 1 of each disbursed loan's schedule: the one it has.
INSERT INTO loans_scheduleversion
    (loan_id, number, reason, note, business_date, emi_amount, total_interest, created_at)
SELECT id, 1, 'DISBURSEMENT', '', disbursed_on, emi_amount, total_interest, created_at
FROM loans_loan WHERE disbursement_entry_id IS NOT NULL;

INSERT INTO loans_scheduleversionrow
    (version_id, number, due_date, principal, interest, total, remaining_principal)
SELECT v.id, i.number, i.due_date, i.principal, i.interest, i.total, i.remaining_principal
FROM loans_scheduleversion v JOIN loans_installment i ON i.loan_id = v.loan_id;

INSERT INTO ledger_posting (entry_id, account_id, amount)
SELECT e.id, w.account_id, l.principal_amount
FROM loans_loan l
JOIN ledger_journalentry e ON e.reference = 'disburse:' || l.id
JOIN wallets_wallet w ON w.user_id = l.borrower_id
UNION ALL
SELECT e.id, (SELECT id FROM ledger_account WHERE code = 'loans_receivable'), -l.principal_amount
FROM loans_loan l JOIN ledger_journalentry e ON e.reference = 'disburse:' || l.id;

UPDATE ledger_account a SET balance = s.total
FROM (SELECT account_id, sum(amount) AS total FROM ledger_posting GROUP BY account_id) s
WHERE s.account_id = a.id AND a.balance IS NOT NULL;

SET session_replication_role = origin;
"""

BARE_SQL = [
    "SELECT account_id, sum(amount) FROM ledger_posting GROUP BY account_id",
    "SELECT entry_id, count(*), sum(amount) FROM ledger_posting GROUP BY entry_id",
    "SELECT loan_id, sum(total - principal_paid - interest_paid) FROM loans_installment"
    " GROUP BY loan_id",
]


def log(message: str) -> None:
    print(f"[books {time.strftime('%H:%M:%S')}] {message}", flush=True)


def _best_of(times: int, function) -> tuple[float, list[float]]:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return min(samples), samples


def load(connection, *, postings: int, loans: int, users: int) -> dict:
    from ledger.selectors import business_date_get
    from loans.services import loan_product_get

    loan_product_get()  # the STANDARD product the loans are sold as
    today = business_date_get()
    active = loans // 5
    deposits = (postings - 2 * active) // 2
    with connection.cursor() as cursor:
        started = time.perf_counter()
        params = {"users": users, "deposits": deposits, "loans": loans, "today": today}
        for statement in LOAD_SQL.split(";\n"):
            if statement.strip():
                # Unparameterised statements keep their single percent signs.
                sql = statement if "%(" in statement else statement.replace("%%", "%")
                cursor.execute(sql, params if "%(" in statement else None)
        cursor.execute("ANALYZE")
        cursor.execute("SELECT count(*) FROM ledger_posting")
        (count,) = cursor.fetchone()
    elapsed = time.perf_counter() - started
    return {"postings": count, "loans": loans, "users": users, "load_s": elapsed}


def measure_reconcile(connection) -> dict:
    import io
    import json

    from django.core.management import call_command

    def reconcile():
        out = io.StringIO()
        call_command("reconcile", "--json", stdout=out)
        return json.loads(out.getvalue())

    result = reconcile()  # warm the cache once, and check that the book is clean
    if not result["clean"]:
        raise SystemExit(f"the generated book does not reconcile: {result}")

    def bare():
        with connection.cursor() as cursor:
            for sql in BARE_SQL:
                cursor.execute(sql)
                cursor.fetchall()

    bare_best, bare_all = _best_of(3, bare)
    reconcile_best, reconcile_all = _best_of(3, reconcile)
    return {
        "bare_s": bare_best,
        "reconcile_s": reconcile_best,
        "ratio": reconcile_best / bare_best,
        "bare_samples": bare_all,
        "reconcile_samples": reconcile_all,
    }


def measure_admin_list(*, loans: int) -> list[dict]:
    from contextlib import ExitStack

    from django.db import connections
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.services import user_create

    officer = user_create(email="officer@bench.example", name="Bench Officer", role="OFFICER")
    deep_page = max(1, min(20, loans // 50))
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(officer)
    rows = []
    for label, query in [
        ("first page", ""),
        ("status = APPLIED", "?status__exact=APPLIED"),
        ("search by email", "?q=b4242%40bench.example"),
        (f"page {deep_page}", f"?p={deep_page}"),
    ]:
        url = f"/admin/loans/loan/{query}"
        response = client.get(url)  # warm
        assert response.status_code == 200, (response.status_code, response.get("Location"))
        with ExitStack() as stack:  # every alias: lists may read from the replica
            captured = [stack.enter_context(CaptureQueriesContext(c)) for c in connections.all()]
            client.get(url)
        statements = sum(len(c.captured_queries) for c in captured)
        best, samples = _best_of(5, lambda url=url: client.get(url))
        rows.append(
            {
                "page": label,
                "queries": statements,
                "best_ms": best * 1000,
                "median_ms": statistics.median(samples) * 1000,
            }
        )
    return rows


def render(meta: dict, book: dict, recon: dict, admin_rows: list[dict]) -> str:
    lines = [
        f"### Large book, {meta['date']}",
        "",
        f"Machine: {meta['machine']}.",
        f"Book: {book['postings']:,} postings, {book['loans']:,} loans, {book['users']:,} "
        f"borrowers (loaded in {book['load_s']:.0f} s with set-based SQL).",
        "",
        "| measurement | best of 3 | runs |",
        "| --- | ---: | --- |",
        f"| bare aggregate SQL (sums per account, per entry, unpaid per loan) | "
        f"{recon['bare_s']:.2f} s | {', '.join(f'{s:.2f}' for s in recon['bare_samples'])} |",
        f"| `manage.py reconcile` (all checks, one snapshot) | {recon['reconcile_s']:.2f} s | "
        f"{', '.join(f'{s:.2f}' for s in recon['reconcile_samples'])} |",
        f"| ratio (target ≤ 2.0) | **{recon['ratio']:.2f}** | |",
        "",
        "Admin loans list, as a loan officer, 50 rows a page (target: ≤ 10 statements, ≤ 300 ms):",
        "",
        "| page | statements | best ms | median ms |",
        "| --- | ---: | ---: | ---: |",
    ]
    for row in admin_rows:
        lines.append(
            f"| {row['page']} | {row['queries']} | {row['best_ms']:.0f} | {row['median_ms']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    cfg = run.Config.from_env()
    cfg = dataclasses.replace(cfg, database=os.environ.get("BOOKS_DATABASE", "lending_books"))
    postings = int(os.environ.get("BOOKS_POSTINGS", "1000000"))
    loans = int(os.environ.get("BOOKS_LOANS", "100000"))
    users = int(os.environ.get("BOOKS_USERS", "20000"))
    sys.path.insert(0, str(run.BASE_DIR))
    os.chdir(run.BASE_DIR)
    admin = run.Admin(cfg.server_url)
    log(f"recreating database {cfg.database}")
    admin.recreate(cfg.database)
    run.configure_django(cfg)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    meta = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": ", ".join(f"{k} {v}" for k, v in run.machine_facts().items()),
    }
    log(f"loading {postings:,} postings and {loans:,} loans")
    book = load(connection, postings=postings, loans=loans, users=users)
    log(f"loaded {book['postings']:,} postings in {book['load_s']:.0f}s; reconciling")
    recon = measure_reconcile(connection)
    log(f"reconcile {recon['reconcile_s']:.2f}s, bare SQL {recon['bare_s']:.2f}s")
    admin_rows = measure_admin_list(loans=loans)
    block = render(meta, book, recon, admin_rows)
    from bench.report import write_block

    write_block(cfg.doc, block, start=START, end=END)
    print(block)
    connection.close()
    admin.drop(cfg.database)
    return 0


if __name__ == "__main__":
    sys.exit(main())
