"""The loan list's servicing columns and filters: product, rate, days past due, bucket."""

from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from tests.accounts.factories import BorrowerFactory, OfficerFactory
from tests.loans.factories import LoanProductFactory, active_loan, applied_loan
from tests.loans.servicing.helpers import close_through, set_business_date

CHANGELIST = reverse("admin:loans_loan_changelist")


@pytest.fixture
def book(db):
    """Loans at different points of delinquency on business date Mar 21st, 2026.

    - late: disbursed Jan 10th, nothing paid: oldest due Feb 10th, 39 days past due
    - behind: disbursed Feb 10th, nothing paid: oldest due Mar 10th, 11 days past due
    - fresh: disbursed Mar 21st: first due Apr 21st, current
    - sme: applied for on the SME product, whose buckets are its own
    """
    officer = OfficerFactory()
    set_business_date(date(2026, 1, 10))
    late = active_loan(BorrowerFactory(), officer)
    close_through(date(2026, 2, 9))
    behind = active_loan(BorrowerFactory(), officer)
    close_through(date(2026, 3, 20))
    fresh = active_loan(BorrowerFactory(), officer)
    LoanProductFactory(code="SME", buckets=[["CURRENT", 0], ["WATCH", 1], ["LOSS", 181]])
    sme = applied_loan(BorrowerFactory(), product="SME", rate="14.00")
    loans = {"late": late, "behind": behind, "fresh": fresh, "sme": sme}
    for loan in loans.values():
        loan.refresh_from_db()
    return loans


def listed(query: str) -> tuple[set[int], object]:
    client = Client()
    client.force_login(OfficerFactory())
    response = client.get(CHANGELIST + query)
    assert response.status_code == 200
    return {loan.pk for loan in response.context["cl"].result_list}, response


def test_the_list_shows_product_rate_days_past_due_and_bucket(book):
    _, response = listed("")

    row = response.text.split(f">{book['late'].pk}</a>", 1)[1].split("</tr>", 1)[0]
    assert '<td class="field-product_code">STANDARD</td>' in row
    assert '<td class="field-annual_rate">12.00</td>' in row
    assert '<td class="field-dpd">39</td>' in row
    assert '<td class="field-bucket">DPD_31_60</td>' in row
    sme = response.text.split(f">{book['sme'].pk}</a>", 1)[1].split("</tr>", 1)[0]
    assert '<td class="field-product_code">SME</td>' in sme
    assert '<td class="field-annual_rate">14.00</td>' in sme


# One book for every filter: closing seventy days is the slow part.
FILTERED = {
    "?dpd=current": {"fresh", "sme"},
    "?dpd=1-30": {"behind"},
    "?dpd=31-60": {"late"},
    "?dpd=61-90": set(),
    "?dpd=91%2B": set(),
    "?bucket=DPD_31_60": {"late"},
    "?bucket=DPD_1_30": {"behind"},
    "?bucket=CURRENT": {"fresh", "sme"},
    "?product=SME": {"sme"},
    "?product=STANDARD&dpd=1-30": {"behind"},
}


def test_filters_by_days_past_due_bucket_and_product(book):
    names = {loan.pk: name for name, loan in book.items()}

    shown = {query: {names[pk] for pk in listed(query)[0]} for query in FILTERED}

    assert shown == FILTERED


def test_the_bucket_filter_offers_the_buckets_of_every_product_in_order(book):
    _, response = listed("")

    bucket_filter = next(f for f in response.context["cl"].filter_specs if f.title.startswith("d"))
    assert bucket_filter.title == "delinquency bucket"
    assert [code for code, _ in bucket_filter.lookup_choices] == [
        "CURRENT",  # 0 in both products
        "DPD_1_30",  # 1 (STANDARD)
        "WATCH",  # 1 (SME)
        "DPD_31_60",
        "DPD_61_90",
        "DPD_91_PLUS",
        "LOSS",  # 181 (SME)
    ]


def test_the_days_past_due_column_sorts_the_list(book):
    client = Client()
    client.force_login(OfficerFactory())
    column = client.get(CHANGELIST).context["cl"].list_display.index("dpd")

    response = client.get(f"{CHANGELIST}?o=-{column}")

    ids = [loan.pk for loan in response.context["cl"].result_list]
    assert ids[:2] == [book["late"].pk, book["behind"].pk]
    assert response.context["cl"].get_ordering_field_columns() == {column: "desc"}
