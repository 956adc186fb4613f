"""CSV exports from the back office's lists (backoffice/exports.py, lendingsite/csv_export.py)."""

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import DataExport
from ledger.models import JournalEntry, Posting
from lendingsite.csv_export import Column, csv_cell, csv_rows_stream
from loans.models import Loan
from loans.services import loan_write_off
from tests.accounts.factories import AdminFactory, BorrowerFactory, OfficerFactory
from tests.loans.factories import active_loan, applied_loan, repaid

LOANS = reverse("admin:export", args=["loans", "loan"])
REPAYMENTS = reverse("admin:export", args=["loans", "repayment"])
ENTRIES = reverse("admin:export", args=["ledger", "journalentry"])


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def table(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def staff_without_permissions(*codenames: str):
    """A staff member outside the officers' group, holding only these permissions."""
    user = OfficerFactory()
    user.groups.clear()
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


@pytest.mark.django_db
def test_loans_export_holds_what_the_list_shows_filters_and_search_included():
    officer = OfficerFactory()
    wanted = BorrowerFactory(email="asha@example.com", name="Asha Rao")
    other = BorrowerFactory(email="bela@example.com")
    active = active_loan(wanted, officer)  # 12,000.00 at 12 % for 12 months
    applied_loan(wanted, principal="250000.00")  # same borrower, not ACTIVE
    active_loan(other, officer)  # ACTIVE, another borrower
    Loan.objects.filter(pk=active.pk).update(created_at=datetime(2026, 3, 1, 20, 0, tzinfo=UTC))

    response = signed_in(officer).get(LOANS, {"status__exact": "ACTIVE", "q": "asha"})

    rows = table(response)
    assert [row["loan_id"] for row in rows] == [str(active.pk)]
    row = rows[0]
    assert row["borrower_email"] == "asha@example.com"
    assert row["borrower_name"] == "Asha Rao"
    assert row["status"] == "ACTIVE"
    assert row["principal_amount"] == "12000.00"  # plain, two places: machine-readable
    assert row["emi_amount"] == "1066.19"  # 12,000 x 0.01 x 1.01^12 / (1.01^12 - 1)
    assert row["interest_rate_percent"] == "12.00"
    assert row["tenure_months"] == "12"
    # 20:00 UTC is 01:30 the next day in Kolkata (UTC+05:30).
    assert row["applied_at"] == "2026-03-02T01:30:00+05:30"
    assert row["disbursed_on"] == active.disbursed_on.isoformat()
    assert row["rejected_at"] == "" and row["closed_at"] == ""
    assert (row["written_off_amount"], row["recovered_amount"]) == ("0.00", "0.00")
    assert response["Content-Disposition"].startswith('attachment; filename="loans-')


@pytest.mark.django_db
def test_a_written_off_loan_exports_what_was_written_off_and_recovered():
    """12,000.00 at 12 % for 12 months (EMI 1,066.19), written off on the day it was
    disbursed: the principal, with no interest due yet and no fee. 300.00 recovered."""
    officer = OfficerFactory()
    loan = active_loan(BorrowerFactory(), officer, principal="12000.00")
    loan_write_off(loan_id=loan.pk, officer=officer, reason="Borrower absconded")
    repaid(loan, "300.00", key="recovery")

    rows = table(signed_in(officer).get(LOANS, {"status__exact": "WRITTEN_OFF"}))

    assert [(r["loan_id"], r["written_off_amount"], r["recovered_amount"]) for r in rows] == [
        (str(loan.pk), "12000.00", "300.00")
    ]
    assert rows[0]["outstanding_amount"] == "0.00"


@pytest.mark.django_db
def test_each_export_is_recorded_with_who_what_filters_and_rows():
    officer = OfficerFactory()
    for _ in range(3):
        applied_loan(BorrowerFactory())

    response = signed_in(officer).get(LOANS, {"status__exact": "APPLIED"})
    assert len(table(response)) == 3

    record = DataExport.objects.get()
    assert record.user == officer
    assert record.what == "loans.loan"
    assert record.filters == "status__exact=APPLIED"
    assert record.client_ip == "127.0.0.1"
    assert (record.row_count, record.complete) == (3, True)
    assert record.started_at <= record.finished_at


@pytest.mark.django_db
def test_an_export_cut_short_ends_with_the_rows_sent_and_not_complete():
    for _ in range(5):
        applied_loan(BorrowerFactory())
    ended = []
    stream = csv_rows_stream(
        Loan.objects.order_by("pk"),
        [Column("loan_id", "id", "number")],
        on_end=lambda rows, complete: ended.append((rows, complete)),
        chunk_rows=2,
    )
    assert next(stream) == "loan_id\r\n"
    assert next(stream).count("\r\n") == 2

    stream.close()  # the client went away: the server closes the response

    assert ended == [(2, False)]
    with connection.cursor() as cursor:  # the cursor went with its transaction
        cursor.execute("SELECT count(*) FROM pg_cursors")
        assert cursor.fetchone() == (0,)


@pytest.mark.django_db
def test_rows_come_from_a_server_side_cursor_that_ends_with_its_transaction(monkeypatch):
    """The rows are never all in memory, and the cursor is safe behind PgBouncer."""
    monkeypatch.setattr("lendingsite.csv_export.CHUNK_ROWS", 2)
    for _ in range(5):
        applied_loan(BorrowerFactory())
    response = signed_in(OfficerFactory()).get(LOANS)
    stream = response.streaming_content
    next(stream)
    next(stream)

    with connection.cursor() as cursor:
        cursor.execute("SELECT name, is_holdable FROM pg_cursors")
        open_cursors = cursor.fetchall()
    rest = b"".join(stream).decode()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_cursors")
        (left,) = cursor.fetchone()

    assert len(open_cursors) == 1
    name, holdable = open_cursors[0]
    assert name.startswith("_django_curs_")
    assert holdable is False  # lives only as long as its transaction
    assert len(rest.splitlines()) == 3  # the other three loans
    assert left == 0


@pytest.mark.django_db
def test_the_number_of_queries_does_not_grow_with_the_rows(monkeypatch):
    monkeypatch.setattr("lendingsite.csv_export.CHUNK_ROWS", 2)
    officer = OfficerFactory()
    client = signed_in(officer)
    borrower = BorrowerFactory()
    active_loan(borrower, officer)
    table(client.get(LOANS))  # warm: sessions, content types

    def queries_of_an_export() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as captured:
            rows = len(table(client.get(LOANS)))
        return rows, len(captured.captured_queries)

    few, queries_few = queries_of_an_export()
    for _ in range(7):
        applied_loan(BorrowerFactory())
    many, queries_many = queries_of_an_export()

    assert (few, many) == (1, 8)
    assert queries_few == queries_many


@pytest.mark.django_db
def test_text_cells_cannot_run_as_formulas_but_negative_amounts_stay_numbers():
    officer = OfficerFactory()
    names = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "Ravi"]
    for name in names:
        applied_loan(BorrowerFactory(name=name))

    rows = table(signed_in(officer).get(LOANS, {"o": "1"}))  # by id

    assert [row["borrower_name"] for row in rows] == [
        '\'=HYPERLINK("http://x")',
        "'+1+1",
        "'-2+3",
        "'@SUM(A1)",
        "Ravi",
    ]
    # Names are stripped when saved; other text may keep a leading tab or carriage return.
    assert csv_cell("\tcmd", "text") == "'\tcmd"
    assert csv_cell("\rcmd", "text") == "'\rcmd"
    assert csv_cell("a=b", "text") == "a=b"
    assert csv_cell(Decimal("-1500.5"), "money") == "-1500.50"
    assert csv_cell(-3, "number") == "-3"
    assert csv_cell(date(2026, 3, 1), "date") == "2026-03-01"


@pytest.mark.django_db
def test_repayments_export_follows_the_repayments_list():
    officer = OfficerFactory()
    loan = active_loan(BorrowerFactory(email="payer@example.com"), officer)
    other = active_loan(BorrowerFactory(), officer)
    repaid(loan, "1066.19", key="first")
    repaid(other, "500.00", key="other")

    rows = table(signed_in(officer).get(REPAYMENTS, {"q": "payer@example.com"}))

    assert len(rows) == 1
    row = rows[0]
    assert row["loan_id"] == str(loan.pk)
    assert row["borrower_email"] == "payer@example.com"
    # The first EMI: 1 % of 12,000.00 = 120.00 interest, the rest principal.
    assert (row["amount"], row["principal_part"], row["interest_part"], row["fee_part"]) == (
        "1066.19",
        "946.19",
        "120.00",
        "0.00",
    )
    assert row["type"] == "PARTIAL" and row["status"] == "SUCCESS"


@pytest.mark.django_db
def test_ledger_export_has_one_row_per_posting_and_each_entry_sums_to_zero():
    officer = OfficerFactory()
    loan = active_loan(BorrowerFactory(), officer)
    repaid(loan, "1066.19")
    entries = JournalEntry.objects.filter(kind__in=["LOAN_DISBURSEMENT", "EMI_PAYMENT"])

    rows = table(signed_in(officer).get(ENTRIES, {"kind__exact": "EMI_PAYMENT"}))

    expected = Posting.objects.filter(entry__in=entries.filter(kind="EMI_PAYMENT"))
    assert sorted(int(row["posting_id"]) for row in rows) == sorted(p.pk for p in expected)
    assert {row["kind"] for row in rows} == {"EMI_PAYMENT"}
    totals: dict[str, Decimal] = {}
    for row in rows:
        totals[row["entry_id"]] = totals.get(row["entry_id"], Decimal(0)) + Decimal(row["amount"])
    assert set(totals.values()) == {Decimal("0.00")}
    # The borrower's wallet is debited 1,066.19: a negative amount, written as a number.
    assert "-1066.19" in {row["amount"] for row in rows}


@pytest.mark.django_db
def test_who_may_export_is_who_may_view_the_list():
    applied_loan(BorrowerFactory())

    def status(user, url) -> int:
        response = signed_in(user).get(url)
        if response.status_code == 200:
            table(response)  # read to the end
        return response.status_code

    borrower = signed_in(BorrowerFactory()).get(LOANS)
    assert borrower.status_code == 302 and "/admin/login/" in borrower["Location"]
    assert status(staff_without_permissions(), LOANS) == 403
    assert status(staff_without_permissions("view_loan"), LOANS) == 200
    # Journal entries come with their postings: both permissions are needed.
    assert status(staff_without_permissions("view_journalentry"), ENTRIES) == 403
    assert status(staff_without_permissions("view_journalentry", "view_posting"), ENTRIES) == 200
    assert status(AdminFactory(), ENTRIES) == 200
    # A list without an export, and no list at all.
    assert signed_in(AdminFactory()).get("/admin/exports/wallets/wallet/").status_code == 404
    assert signed_in(AdminFactory()).get("/admin/exports/nope/nothing/").status_code == 404
    assert DataExport.objects.filter(complete=True).count() == 3  # the three allowed


@pytest.mark.django_db
def test_bad_filters_send_the_officer_back_to_the_list_and_export_nothing():
    response = signed_in(OfficerFactory()).get(LOANS, {"no_such_field": "1"})

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:loans_loan_changelist")
    assert not DataExport.objects.exists()


@pytest.mark.django_db
def test_the_list_links_to_its_export_with_its_filters():
    response = signed_in(OfficerFactory()).get(
        reverse("admin:loans_loan_changelist"), {"status__exact": "ACTIVE", "q": "asha"}
    )

    assert f'href="{LOANS}?q=asha&amp;status__exact=ACTIVE"' in response.text
    wallets = signed_in(AdminFactory()).get(reverse("admin:wallets_wallet_changelist"))
    assert "Export CSV" not in wallets.text


@pytest.mark.django_db
def test_an_export_record_is_finished_once_and_never_deleted():
    applied_loan(BorrowerFactory())
    table(signed_in(OfficerFactory()).get(LOANS))
    record = DataExport.objects.get()

    with pytest.raises(IntegrityError), transaction.atomic():
        DataExport.objects.filter(pk=record.pk).update(row_count=0)
    with pytest.raises(IntegrityError), transaction.atomic():
        DataExport.objects.filter(pk=record.pk).delete()
    record.refresh_from_db()
    assert record.row_count == 1


@pytest.mark.django_db
def test_the_record_of_exports_is_for_administrators_only():
    applied_loan(BorrowerFactory())
    officer = OfficerFactory(email="olga@example.com")
    table(signed_in(officer).get(LOANS))
    url = reverse("admin:accounts_dataexport_changelist")

    assert signed_in(officer).get(url).status_code == 403
    listed = signed_in(AdminFactory()).get(url)
    assert listed.status_code == 200
    assert "olga@example.com" in listed.text and "loans.loan" in listed.text
