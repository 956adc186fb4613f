"""The close-of-business bench's book, at a tiny size: consistent, and closing as planned."""

import json
from datetime import timedelta
from decimal import Decimal
from io import StringIO
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.db import connection

from bench import cob
from loans import close_of_business
from loans.models import Installment, Loan
from tests.loans.helpers import assert_books_clean
from tests.loans.servicing.helpers import close_through


@pytest.mark.django_db
def test_the_built_book_reconciles_and_closes_its_two_days_as_planned():
    expected = cob.load(connection, loans=200)
    assert_books_clean()
    # One loan in 20 falls due on the busy day, another crosses the grace period.
    assert (expected.loans, expected.newly_overdue, expected.fees) == (200, 10, 10)
    assert Installment.objects.filter(loan__status="ACTIVE").count() == expected.installments
    assert (
        Loan.objects.filter(status="ACTIVE", closed_through=cob.DAY - timedelta(days=1)).count()
        == 200
    )

    busy = close_through(cob.DAY)
    assert cob.check_day(connection, expected, day=cob.DAY, busy=True, outputs=[busy]) == []
    assert_books_clean()

    quiet_day = cob.DAY + timedelta(days=1)
    quiet = close_through(quiet_day)
    assert cob.check_day(connection, expected, day=quiet_day, busy=False, outputs=[quiet]) == []
    assert_books_clean()


@pytest.mark.django_db
def test_a_day_that_differs_from_the_plan_is_reported():
    expected = cob.load(connection, loans=40)
    out = StringIO()
    call_command("reconcile", "--json", stdout=out)
    assert json.loads(out.getvalue())["clean"] is True

    close_through(cob.DAY)
    Loan.objects.filter(days_past_due=1).update(days_past_due=2)

    problems = cob.check_day(connection, expected, day=cob.DAY, busy=True)
    assert problems == ["newly_overdue: 0 != 2"]


def test_the_bench_knows_the_commands_chunk_size():
    assert cob.CHUNK_SIZE == close_of_business.CHUNK_SIZE


def test_the_late_fee_is_worked_out_apart_from_the_command():
    product = SimpleNamespace(
        late_fee_kind="PERCENT",
        late_fee_value=Decimal("2"),
        late_fee_min=Decimal("100.00"),
        late_fee_max=Decimal("1000.00"),
    )
    assert cob.late_fee(product, Decimal("3800.00")) == Decimal("100.00")
    assert cob.late_fee(product, Decimal("12345.00")) == Decimal("246.90")
    assert cob.late_fee(product, Decimal("60000.00")) == Decimal("1000.00")


def test_the_report_marks_a_small_run_as_a_sample():
    def result(label, wall, parts=1):
        process = {"wall_s": wall, "cpu_s": 1.0, "rss_mb": 90.0, "argv": [], "output": ""}
        return {
            "label": label,
            "wall_s": wall,
            "db_cpu_s": 2.0,
            "day": cob.DAY,
            "processes": [process] * parts,
        }

    book = {
        "loans": 20_000,
        "installments": 240_000,
        "repayments": 18_333,
        "entries": 38_333,
        "postings": 76_666,
        "size_mb": 99.0,
        "load_s": 14.0,
        "newly_overdue": 1000,
        "fees": 1000,
        "fee_amount": Decimal("420400.00"),
    }
    runs = {
        "busy": result("busy day, 1 worker", 8.0),
        "pair": result("busy day, 2 workers", 6.0, 2),
        "quiet": result("quiet day, 1 worker", 5.0),
    }
    meta = {"date": "2026-12-01 20:00 UTC", "machine": "CPU 2 x test", "chunk_size": 2000}

    block = cob.render(meta, book, runs, floor_s=1.5)

    assert "a sample at 20,000 loans, not the measurement" in block
    assert block.count("not judged (sample)") == 3
    assert "| peak RSS of each command: ≤ 300 MB | 90 MB | yes |" in block
    assert "| busy day, 2 workers (each: 6.0, 6.0 s) | 6.00 | 300.0 |" in block
