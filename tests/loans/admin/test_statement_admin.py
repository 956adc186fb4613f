"""Officers download loan and wallet statements from the console (the API's figures)."""

import io
import json
import re

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from pypdf import PdfReader

from tests.accounts.factories import BorrowerFactory, OfficerFactory
from tests.conftest import client_for as api_client_for
from tests.loans.factories import applied_loan
from tests.loans.statements.scenario import serviced_loan_scenario


@pytest.fixture
def serviced_loan(db):
    return serviced_loan_scenario()


@pytest.fixture
def officer_client(client, db):
    client.force_login(OfficerFactory())
    return client


def _text(pdf: bytes) -> str:
    pages = PdfReader(io.BytesIO(pdf)).pages
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in pages))


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_a_disbursed_loans_page_links_to_its_statement(serviced_loan, officer_client):
    page = officer_client.get(reverse("admin:loans_loan_change", args=[serviced_loan.pk]))
    statement = officer_client.get(reverse("admin:loans_loan_statement", args=[serviced_loan.pk]))

    assert reverse("admin:loans_loan_statement", args=[serviced_loan.pk]) in page.text
    assert statement.status_code == 200
    assert "Download PDF" in statement.text
    assert "from the disbursement to the business date" in statement.text


def test_a_loan_not_yet_disbursed_has_no_statement_link(officer_client):
    loan = applied_loan(BorrowerFactory())

    page = officer_client.get(reverse("admin:loans_loan_change", args=[loan.pk]))

    assert reverse("admin:loans_loan_statement", args=[loan.pk]) not in page.text


def test_the_officer_downloads_the_pdf_and_the_json_the_borrower_gets(
    serviced_loan, officer_client
):
    url = reverse("admin:loans_loan_statement", args=[serviced_loan.pk])
    query = {"from": "2026-02-13", "to": "2026-03-21"}
    api = api_client_for(serviced_loan.borrower).get(
        f"/api/loans/{serviced_loan.pk}/statement", query
    )

    pdf = officer_client.get(url, {**query, "download": "pdf"})
    body = officer_client.get(url, {**query, "download": "json"})

    assert pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"] == (
        f'attachment; filename="loan-{serviced_loan.pk}-statement-2026-02-13-2026-03-21.pdf"'
    )
    text = _text(pdf.content)
    assert "Opening balance 1,63,000.00" in text
    assert "1,53,362.00" in text
    assert body["Content-Disposition"].endswith('.json"')
    assert json.loads(body.content) == api.json()


def test_a_bad_period_is_a_message_on_the_page(serviced_loan, officer_client):
    url = reverse("admin:loans_loan_statement", args=[serviced_loan.pk])

    inverted = officer_client.get(
        url, {"from": "2026-03-01", "to": "2026-02-01", "download": "pdf"}
    )
    malformed = officer_client.get(url, {"from": "2026-02-31", "download": "json"})

    assert inverted.status_code == malformed.status_code == 200
    assert inverted["Content-Type"].startswith("text/html")
    assert _messages(inverted) == [
        "From: The period starts (2026-03-01) after it ends (2026-02-01)."
    ]
    assert _messages(malformed)[0].startswith("From: Date has wrong format.")


def test_a_borrower_cannot_reach_the_console_statement(serviced_loan, client):
    client.force_login(serviced_loan.borrower)

    response = client.get(
        reverse("admin:loans_loan_statement", args=[serviced_loan.pk]), {"download": "pdf"}
    )

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_the_wallet_page_links_to_its_statement_and_downloads_it(serviced_loan, officer_client):
    holder = serviced_loan.borrower
    url = reverse("admin:wallets_wallet_statement", args=[holder.pk])

    page = officer_client.get(reverse("admin:wallets_wallet_change", args=[holder.pk]))
    pdf = officer_client.get(url, {"download": "pdf"})
    body = officer_client.get(url, {"download": "json"})

    assert url in page.text
    assert pdf["Content-Type"] == "application/pdf"
    assert "Closing balance 1,37,000.00" in _text(pdf.content)
    assert json.loads(body.content) == api_client_for(holder).get("/api/wallet/statement").json()
