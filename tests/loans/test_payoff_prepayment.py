"""Payoff quotes, foreclosure, prepayment and schedule versions: the edges the golden
scenarios (tests/loans/golden) leave out, bad input first.

The loan throughout: 12,000.00 at 12 % over 12 months from 10 Jan 2026; by hand its EMI
is 1,066.19 and installment #1 is 120.00 interest + 946.19 principal (the golden
scenario ``payoff_quote_mid_period.md`` shows the arithmetic).
"""

import contextlib
import json
from datetime import date
from decimal import Decimal
from fractions import Fraction
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError, InternalError, connection, transaction
from django.test import Client
from django.urls import reverse

from loans.models import Installment, Loan, Repayment, ScheduleVersion, ScheduleVersionRow
from loans.schedule import amortize
from loans.services import loan_foreclose
from tests.accounts.factories import BorrowerFactory, OfficerFactory
from tests.conftest import client_for
from tests.loans.factories import active_loan, applied_loan, repaid
from tests.loans.helpers import assert_books_clean
from tests.loans.servicing.helpers import cents, close_through, set_business_date
from wallets.services import wallet_deposit

D = Decimal
START = date(2026, 1, 10)


@pytest.fixture
def loan(db):
    """The loan above, EMI #1 paid on 10 Feb; the business date 25 Feb."""
    set_business_date(START)
    made = active_loan(BorrowerFactory(), OfficerFactory(), principal="12000.00", tenure=12)
    close_through(date(2026, 2, 9))
    repaid(made, "1066.19", key="emi-1")
    close_through(date(2026, 2, 24))
    made.refresh_from_db()
    return made


def pay(loan, amount, **extra):
    return client_for(loan.borrower).post(
        "/api/repayments/make-payment",
        {"loan_id": loan.pk, "amount": amount, "idempotency_key": f"k-{amount}", **extra},
        format="json",
    )


def snapshot(loan):
    loan.refresh_from_db()
    rows = list(loan.installments.values_list("number", "principal", "interest", "principal_paid"))
    return loan.outstanding_amount, loan.emi_amount, rows, Repayment.objects.count()


# --- Payoff ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_officer_sees_any_loans_payoff_and_a_stranger_gets_not_found(loan):
    officer = client_for(OfficerFactory()).get(f"/api/loans/{loan.pk}/payoff")
    stranger = client_for(BorrowerFactory()).get(f"/api/loans/{loan.pk}/payoff")

    assert officer.status_code == 200
    # 11,053.81 principal + 110.54 x 15/28 = 59.22 accrued (15 of #2's 28 days)
    assert officer.json()["total"] == "11113.03"
    assert stranger.status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["tomorrow", "2026-13-01", "25-02-2026", "2026-02-25T00:00", ""])
def test_a_malformed_payoff_date_is_a_400_naming_the_field(loan, value):
    response = client_for(loan.borrower).get(f"/api/loans/{loan.pk}/payoff?date={value}")

    assert response.status_code == 400
    assert "date" in response.json()


@pytest.mark.django_db
def test_a_loan_not_active_has_no_payoff(borrower):
    applied = applied_loan(borrower)

    response = client_for(borrower).get(f"/api/loans/{applied.pk}/payoff")

    assert response.status_code == 409
    assert "APPLIED" in response.json()["detail"]


# --- Foreclosure -----------------------------------------------------------------------


@pytest.mark.django_db
def test_foreclosing_someone_elses_loan_is_not_found_and_changes_nothing(loan):
    before = snapshot(loan)

    response = client_for(BorrowerFactory()).post(
        f"/api/loans/{loan.pk}/foreclose", {"amount": "11113.03", "idempotency_key": "x"}
    )

    assert response.status_code == 404
    assert snapshot(loan) == before


@pytest.mark.django_db
def test_foreclosing_a_closed_loan_is_a_conflict(loan):
    wallet_deposit(user=loan.borrower, amount=D("1000.00"), idempotency_key="cash")
    loan_foreclose(
        loan_id=loan.pk, borrower=loan.borrower, amount=D("11113.03"), idempotency_key="a"
    )

    response = client_for(loan.borrower).post(
        f"/api/loans/{loan.pk}/foreclose", {"amount": "11113.03", "idempotency_key": "b"}
    )

    assert response.status_code == 409
    assert "CLOSED" in response.json()["detail"]
    assert_books_clean()


@pytest.mark.django_db
@pytest.mark.parametrize("amount", ["0", "-5.00", "12.345", "abc"])
def test_a_malformed_foreclosure_amount_is_a_400(loan, amount):
    response = client_for(loan.borrower).post(
        f"/api/loans/{loan.pk}/foreclose", {"amount": amount, "idempotency_key": "x"}
    )

    assert response.status_code == 400
    assert "amount" in response.json()


@pytest.mark.django_db
def test_a_foreclosure_key_belongs_to_its_loan(loan):
    """The same key on another loan of the same borrower is another request."""
    other = active_loan(loan.borrower, principal="1200.00", tenure=1)  # owes 1,212.00
    wallet_deposit(user=loan.borrower, amount=D("2000.00"), idempotency_key="cash")
    client = client_for(loan.borrower)

    first = client.post(
        f"/api/loans/{loan.pk}/foreclose", {"amount": "11113.03", "idempotency_key": "same"}
    )
    # 1,200.00 at 1 % a month over 1 month, on its day 0: principal only.
    second = client.post(
        f"/api/loans/{other.pk}/foreclose", {"amount": "1200.00", "idempotency_key": "same"}
    )

    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json()["repayment"]["loan_id"] == other.pk
    assert set(Loan.objects.values_list("status", flat=True)) == {Loan.Status.CLOSED}
    assert_books_clean()


# --- Prepayment --------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_unknown_prepayment_kind_is_a_400_and_changes_nothing(loan):
    before = snapshot(loan)

    response = pay(loan, "3000.00", prepayment="REDUCE_BOTH")

    assert response.status_code == 400
    assert "prepayment" in response.json()
    assert snapshot(loan) == before


@pytest.mark.django_db
def test_without_the_flag_a_large_payment_is_an_ordinary_one(loan):
    """No reschedule: the payment fills installments oldest first, as before."""
    response = pay(loan, "3000.00")

    assert response.status_code == 201
    assert response.json()["repayment"]["purpose"] == "ORDINARY"
    loan.refresh_from_db()
    assert loan.emi_amount == D("1066.19")
    assert loan.schedule_versions.count() == 1


# --- Schedule versions ---------------------------------------------------------------


@pytest.mark.django_db
def test_an_unknown_version_is_not_found_and_a_malformed_one_a_400(loan):
    client = client_for(loan.borrower)

    versions = f"/api/loans/{loan.pk}/schedule/versions"
    assert client.get(f"{versions}/2").status_code == 404
    assert client.get(f"{versions}/0").status_code == 404
    assert client.get(f"{versions}/99999999999999999999").status_code == 404
    assert client.get(f"{versions}/x").status_code == 404
    first = client.get(f"{versions}/1")
    assert first.status_code == 200
    assert [row["number"] for row in first.json()] == list(range(1, loan.tenure_months + 1))


@pytest.mark.django_db
def test_the_schedule_refuses_the_old_version_parameter_rather_than_ignore_it(loan):
    response = client_for(loan.borrower).get(f"/api/loans/{loan.pk}/schedule?version=1")

    assert response.status_code == 400
    assert "schedule/versions" in response.json()["version"][0]


@pytest.mark.django_db
def test_another_borrowers_versions_are_not_found(loan):
    response = client_for(BorrowerFactory()).get(f"/api/loans/{loan.pk}/schedule/versions")

    assert response.status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("model", [ScheduleVersion, ScheduleVersionRow])
def test_schedule_versions_refuse_update_and_delete(loan, model):
    row = model.objects.filter(
        **({"loan": loan} if model is ScheduleVersion else {"version__loan": loan})
    ).first()
    table = model._meta.db_table

    for statement in (
        f"UPDATE {table} SET id = id WHERE id = %s",
        f"DELETE FROM {table} WHERE id = %s",
    ):
        with (
            pytest.raises((IntegrityError, InternalError), match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [row.pk])


# --- Reconcile catches what the services never do -------------------------------------


def _findings() -> set[str]:
    """The names of the reconcile checks that find something."""
    out = StringIO()
    with contextlib.suppress(SystemExit):
        call_command("reconcile", "--json", stdout=out)
    return {check["name"] for check in json.loads(out.getvalue())["checks"] if not check["ok"]}


@pytest.mark.django_db
def test_reconcile_flags_interest_waived_without_a_foreclosure(loan):
    # Waive #12's interest behind the services' back (and keep the loan's own sum right).
    Installment.objects.filter(loan=loan, number=12).update(interest_waived=D("10.56"))
    Loan.objects.filter(pk=loan.pk).update(outstanding_amount=loan.outstanding_amount - D("10.56"))

    assert "interest_waived_by_foreclosure" in _findings()


@pytest.mark.django_db
def test_reconcile_flags_a_schedule_that_is_not_its_latest_version(loan):
    Installment.objects.filter(loan=loan, number=11).update(due_date=date(2026, 12, 11))

    assert "schedule_versions" in _findings()


# --- The re-amortisation, against a second computation ----------------------------------


def _textbook(principal: str, rate: str, months: int, emi: Decimal | None = None):
    """Rows by the textbook rules, in exact fractions: (principal, interest)."""
    r = Fraction(rate) / 1200
    if emi is None and r == 0:
        emi = cents(Fraction(principal) / months)
    elif emi is None:
        growth = (1 + r) ** months
        emi = cents(Fraction(principal) * r * growth / (growth - 1))
    rows, left = [], Decimal(principal)
    for number in range(1, months + 1):
        if left == 0:
            break
        interest = cents(Fraction(left) * r)
        part = left if number == months else min(emi - interest, left)
        rows.append((part, interest))
        left -= part
    return rows


@pytest.mark.parametrize(
    ("principal", "rate", "months", "emi"),
    [
        ("7098.16", "12", 10, None),
        ("7098.16", "12", 10, "1066.19"),
        ("250000.00", "17.5", 36, None),
        ("250000.00", "17.5", 36, "12000.00"),
        ("999.99", "0", 7, None),
        ("0.05", "24", 6, None),
    ],
)
def test_amortize_matches_the_textbook_rows(principal, rate, months, emi):
    dues = [date(2026, m, 10) for m in range(1, 13)] + [date(2027, m, 10) for m in range(1, 13)]
    dues += [date(2028, m, 10) for m in range(1, 13)]
    emi = D(emi) if emi else None

    rows = amortize(principal=D(principal), annual_rate=D(rate), due_dates=dues[:months], emi=emi)

    assert [(row.principal, row.interest) for row in rows] == _textbook(
        principal, rate, months, emi
    )
    assert sum(row.principal for row in rows) == D(principal)
    assert [row.due_date for row in rows] == dues[: len(rows)]


# --- The console ---------------------------------------------------------------------


@pytest.mark.django_db
def test_the_loan_page_shows_the_payoff_and_the_schedule_versions(loan):
    wallet_deposit(user=loan.borrower, amount=D("3000.00"), idempotency_key="cash")
    assert pay(loan, "3000.00", prepayment="REDUCE_TENURE").status_code == 201
    console = Client()
    console.force_login(OfficerFactory())

    html = console.get(reverse("admin:loans_loan_change", args=[loan.pk])).content.decode()

    # After 3,000.00 to principal on 25 Feb: 8,053.81 left, #2's period day 15 of 28 at
    # its new interest 80.54 (8,053.81 x 1 %): 80.54 x 15 / 28 = 43.1464 -> 43.15.
    assert "8,053.81" in html and "43.15" in html and "8,096.96" in html
    assert "Prepayment reducing the tenure" in html and "Disbursed" in html
