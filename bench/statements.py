"""A five-year loan repaid every day, and its statement timed: ``python -m bench.statements``.

``make bench-statements``. Builds, through the real services on a database of its own,
a loan of 1,50,000.00 over 60 months at 12 % and repays it from the borrower's wallet
every business day for five years: about 1,800 repayments. Each pays 97 % of a day's
share of the EMI, so the borrower runs a little behind: installments fall overdue and
are charged late fees, and now and then an officer waives a rupee of one. Each day's
repayment first closes the day before for the loan (``loan_catch_up``, the close of
business's own SQL).

Then times, in process, with production settings (DEBUG off), each the median of
``BENCH_STATEMENT_RUNS`` runs (default 7) after one warm-up:

- ``GET /api/loans/{id}/statement`` (JSON) and the same with ``?format=pdf``, through
  Django's request handling (authentication, content negotiation, rendering);
- the selector alone (``loans.statements.loan_statement``), the JSON serialization and
  the PDF layout, to show where the time goes;
- the queries of one statement.

The target is under a second for each. The block between the ``bench:statements``
markers of docs/BENCHMARKS.md is rewritten and the database dropped.

Knobs (environment variables): ``BENCH_STATEMENT_DAYS`` (1,826), ``BENCH_STATEMENT_RUNS``
(7), ``BENCH_STATEMENT_DATABASE`` (``lending_bench_statements``), ``BENCH_PG_URL``,
``BENCH_DOC``.
"""

import dataclasses
import os
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from bench import run

START = "<!-- bench:statements:start -->"
END = "<!-- bench:statements:end -->"
FIRST_DAY = date(2026, 1, 1)
TARGET_S = 1.0
SHARE = Decimal("0.97")  # of a day's share of the EMI: a borrower running a little behind


def log(message: str) -> None:
    print(f"[bench.statements] {message}", file=sys.stderr, flush=True)


@dataclasses.dataclass
class Book:
    loan_id: int
    borrower_id: int
    repayments: int
    fees: int
    waivers: int
    build_s: float


def build(*, days: int) -> Book:
    """One loan repaid daily for ``days`` business days, through the services."""
    from accounts.models import User
    from accounts.services import user_create
    from ledger.models import BusinessDate
    from loans.models import FeeWaiver, Installment, Loan
    from loans.services import loan_apply, loan_approve, loan_fee_waive, loan_repay
    from wallets.services import wallet_deposit

    started = time.perf_counter()
    BusinessDate.objects.update_or_create(pk=1, defaults={"date": FIRST_DAY})
    borrower = user_create(email="daily@example.com", name="Daily Payer")
    officer = user_create(email="officer@example.com", role=User.Role.OFFICER)
    wallet_deposit(user=borrower, amount=Decimal("100000.00"), idempotency_key="top-up")
    loan = loan_apply(
        borrower=borrower,
        principal_amount=Decimal("150000.00"),
        tenure_months=60,
        interest_rate=Decimal("12.00"),
    )
    loan = loan_approve(loan_id=loan.pk, officer=officer)
    # A month's EMI spread over the days of an average month, and a little less.
    daily = (loan.emi_amount * 12 * SHARE / Decimal(365)).quantize(Decimal("0.01"), ROUND_HALF_UP)
    repayments = 0
    for day in range(days):
        today = FIRST_DAY + timedelta(days=day)
        BusinessDate.objects.filter(pk=1).update(date=today)
        owed = Loan.objects.values_list("outstanding_amount", flat=True).get(pk=loan.pk)
        if not owed:
            break
        loan_repay(
            loan_id=loan.pk,
            borrower=borrower,
            amount=min(daily, owed),
            idempotency_key=f"day-{day}",
        )
        repayments += 1
        if day % 90 == 45:
            fee = (
                Installment.objects.filter(loan=loan, paid_on__isnull=True, fee_charged__gt=0)
                .order_by("number")
                .first()
            )
            if fee is not None and fee.fee_due > 1:
                loan_fee_waive(
                    loan_id=loan.pk,
                    installment_number=fee.number,
                    amount=Decimal("1.00"),
                    reason="Goodwill",
                    officer=officer,
                )
    fees = Installment.objects.filter(loan=loan, fee_charged__gt=0).count()
    waivers = FeeWaiver.objects.filter(installment__loan=loan).count()
    return Book(loan.pk, borrower.pk, repayments, fees, waivers, time.perf_counter() - started)


def _median(runs: int, function) -> tuple[float, object]:
    function()  # warm-up: imports, fonts, connection
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def measure(book: Book, *, runs: int) -> dict:
    """Time the statement of ``book``'s loan: over HTTP in process, and piece by piece."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from drf_orjson_renderer.renderers import ORJSONRenderer

    from accounts.models import User
    from accounts.tokens import token_pair_for
    from loans.api.serializers import LoanStatementOutputSerializer
    from loans.models import Loan
    from loans.statement_pdf import loan_statement_pdf
    from loans.statements import loan_statement

    loan = Loan.objects.get(pk=book.loan_id)
    token = token_pair_for(User.objects.get(pk=book.borrower_id))["access_token"]
    client = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {token}")
    url = f"/api/loans/{loan.pk}/statement"

    def get(query=""):
        response = client.get(url + query)
        assert response.status_code == 200, response.content[:300]
        return response

    statement = loan_statement(loan=loan)
    with CaptureQueriesContext(connection) as queries:
        loan_statement(loan=loan)
    figures = {
        "lines": len(statement.lines),
        "schedule": len(statement.schedule),
        "queries": len(queries),
    }
    figures["http_json_s"], response = _median(runs, get)
    figures["json_bytes"] = len(response.content)
    figures["http_pdf_s"], response = _median(runs, lambda: get("?format=pdf"))
    figures["pdf_bytes"] = len(response.content)
    figures["selector_s"], _ = _median(runs, lambda: loan_statement(loan=loan))
    figures["serialize_s"], _ = _median(
        runs, lambda: ORJSONRenderer().render(LoanStatementOutputSerializer(statement).data)
    )
    figures["layout_s"], _ = _median(runs, lambda: loan_statement_pdf(statement))
    return figures


def render(meta: dict, book: Book, figures: dict) -> str:
    def verdict(seconds: float) -> str:
        return "met" if seconds < TARGET_S else "**missed**"

    return "\n".join(
        [
            f"Measured {meta['date']} on {meta['machine']} (`make bench-statements`).",
            "",
            f"A loan of 1,50,000.00 over 60 months repaid every business day: "
            f"{book.repayments:,} repayments, {book.fees} late fees, {book.waivers} waivers, "
            f"{figures['lines']:,} statement lines and {figures['schedule']} installments "
            f"(built through the services in {book.build_s:.0f} s). Median of "
            f"{meta['runs']} runs after a warm-up, in process, DEBUG off.",
            "",
            "| what | time | target (1 s) |",
            "| --- | ---: | --- |",
            f"| `GET /api/loans/{{id}}/statement` (JSON, {figures['json_bytes']:,} bytes) "
            f"| {figures['http_json_s'] * 1000:.0f} ms | {verdict(figures['http_json_s'])} |",
            f"| `GET …/statement?format=pdf` ({figures['pdf_bytes']:,} bytes) "
            f"| {figures['http_pdf_s'] * 1000:.0f} ms | {verdict(figures['http_pdf_s'])} |",
            f"| of which the selector (`loan_statement`, {figures['queries']} queries) "
            f"| {figures['selector_s'] * 1000:.0f} ms | |",
            f"| the JSON serialization and rendering | {figures['serialize_s'] * 1000:.0f} ms | |",
            f"| the PDF layout (ReportLab) | {figures['layout_s'] * 1000:.0f} ms | |",
        ]
    )


def main() -> int:
    cfg = run.Config.from_env()
    database = os.environ.get("BENCH_STATEMENT_DATABASE", "lending_bench_statements")
    cfg = dataclasses.replace(cfg, database=database)
    days = int(os.environ.get("BENCH_STATEMENT_DAYS", "1826"))
    runs = int(os.environ.get("BENCH_STATEMENT_RUNS", "7"))
    sys.path.insert(0, str(run.BASE_DIR))
    os.chdir(run.BASE_DIR)
    admin = run.Admin(cfg.server_url)
    log(f"recreating database {cfg.database}")
    admin.recreate(cfg.database)
    run.configure_django(cfg)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    log(f"repaying a loan every day for {days:,} days")
    book = build(days=days)
    log(
        f"{book.repayments:,} repayments, {book.fees} fees, {book.waivers} waivers, "
        f"built in {book.build_s:.0f}s"
    )
    figures = measure(book, runs=runs)
    meta = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": ", ".join(f"{k} {v}" for k, v in run.machine_facts().items()),
        "runs": runs,
    }
    block = render(meta, book, figures)
    from bench.report import write_block

    write_block(cfg.doc, block, start=START, end=END)
    print(block)
    connection.close()
    admin.drop(cfg.database)
    return 0


if __name__ == "__main__":
    sys.exit(main())
