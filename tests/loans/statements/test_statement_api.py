"""GET /api/loans/{id}/statement: JSON and PDF, who may see it, and bad input."""

import io
import re
from decimal import Decimal

import pytest
from pypdf import PdfReader

from lendingsite.money import format_inr
from tests.accounts.factories import BorrowerFactory
from tests.conftest import client_for
from tests.loans.factories import applied_loan

D = Decimal


def _url(loan, query=""):
    return f"/api/loans/{loan.pk}/statement{query}"


def pdf_text(content: bytes) -> str:
    """The PDF's text, page after page, whitespace collapsed to single spaces."""
    pages = PdfReader(io.BytesIO(content)).pages
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in pages))


def _shown(value: str) -> str:
    """A JSON amount as the PDF shows it: Indian grouping; a zero part is left blank."""
    return format_inr(D(value)) if D(value) else ""


def line_text(line: dict) -> str:
    """A JSON line as the PDF's table reads, cell after cell."""
    amounts = [line[key] for key in ("debit", "credit", "fees", "interest", "principal")]
    cells = [
        line["date"],
        line["description"],
        *map(_shown, amounts),
        format_inr(D(line["balance"])),
    ]
    return " ".join(cell for cell in cells if cell)


@pytest.mark.django_db
def test_the_owner_gets_the_statement_as_json(serviced_loan):
    response = client_for(serviced_loan.borrower).get(_url(serviced_loan))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["period"] == {"from": "2026-01-10", "to": "2026-03-21"}
    assert (body["opening_balance"], body["closing_balance"]) == ("0.00", "153362.00")
    assert body["totals"] == {"debit": "168442.00", "credit": "15080.00", "recovered": "0.00"}
    assert [line["balance"] for line in body["lines"]] == [
        "168000.00",
        "163000.00",
        "163180.00",
        "163100.00",
        "153100.00",
        "153362.00",
    ]
    assert body["lines"][4] == {
        "date": "2026-02-21",
        "kind": "REPAYMENT",
        "description": "Repayment from the wallet",
        "reference": f"repayment:{serviced_loan.pk}:p2",
        "debit": "0.00",
        "credit": "10000.00",
        "fees": "100.00",
        "interest": "900.00",
        "principal": "9000.00",
        "recovered": "0.00",
        "balance": "153100.00",
    }
    assert body["terms"]["emi_amount"] == "14000.00"
    assert [row["status"] for row in body["schedule"][:3]] == ["PAID", "OVERDUE", "PENDING"]
    # Paying off on 21 Mar: principal 1,50,000 - #1's 12,500 = 1,37,500; interest: #2's
    # unpaid 600 (1,500 - 900) plus #3's accrued 1,500 x 11 / 31 days (10 Mar to 10 Apr)
    # = 532.258 -> 532.26; fees: #2's 262. Total 1,38,894.26.
    assert body["payoff"] == {
        "loan_id": serviced_loan.pk,
        "as_of": "2026-03-21",
        "principal": "137500.00",
        "interest": "1132.26",
        "fees": "262.00",
        "credit": "0.00",
        "total": "138894.26",
    }
    assert (body["written_off_amount"], body["recovered_amount"]) == ("0.00", "0.00")


@pytest.mark.django_db
def test_the_pdf_carries_the_same_figures_as_the_json(serviced_loan):
    client = client_for(serviced_loan.borrower)
    body = client.get(_url(serviced_loan)).json()

    response = client.get(_url(serviced_loan, "?format=pdf"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'inline; filename="loan-{serviced_loan.pk}-statement-2026-01-10-2026-03-21.pdf"'
    )
    text = pdf_text(response.content)
    assert "Lending Platform Pvt. Ltd. 12 MG Road Bengaluru 560001" in text
    assert f"Opening balance {format_inr(D(body['opening_balance']))}" in text
    assert "Closing balance 1,53,362.00" in text
    position = 0
    for line in body["lines"]:  # every line, in the JSON's order
        position = text.index(line_text(line), position)
    assert "Total of the period 1,68,442.00 15,080.00 1,53,362.00" in text
    assert (
        "Payoff on 2026-03-21 1,38,894.26 (principal 1,37,500.00, interest 1,132.26, "
        "fees 262.00, less credit 0.00)"
    ) in text
    for row in body["schedule"]:
        figures = [format_inr(D(row[key])) for key in ("principal", "interest", "total")]
        assert f"{row['number']} {row['due_date']} {' '.join(figures)}" in text
        assert f"{format_inr(D(row['unpaid']))} {row['status']}" in text
    assert "Page 1 of 1" in text


@pytest.mark.django_db
def test_the_pdf_of_a_period_has_its_own_figures(serviced_loan):
    client = client_for(serviced_loan.borrower)
    query = "?from=2026-02-13&to=2026-02-21"
    body = client.get(_url(serviced_loan, query)).json()

    text = pdf_text(client.get(_url(serviced_loan, query + "&format=pdf")).content)

    assert (body["opening_balance"], body["closing_balance"]) == ("163000.00", "153100.00")
    assert "Opening balance 1,63,000.00" in text
    assert "Closing balance 1,53,100.00" in text
    assert [line["kind"] for line in body["lines"]] == ["LATE_FEE", "FEE_WAIVER", "REPAYMENT"]
    for line in body["lines"]:
        assert line_text(line) in text
    assert "Repayment from the wallet 5,000.00" not in text  # Feb 12th: before the period


@pytest.mark.django_db
def test_accept_application_pdf_gets_the_pdf_and_json_stays_the_default(serviced_loan):
    client = client_for(serviced_loan.borrower)

    pdf = client.get(_url(serviced_loan), HTTP_ACCEPT="application/pdf")
    anything = client.get(_url(serviced_loan), HTTP_ACCEPT="*/*")

    assert (pdf.status_code, pdf["Content-Type"]) == (200, "application/pdf")
    assert pdf.content.startswith(b"%PDF-")
    assert anything["Content-Type"] == "application/json"


@pytest.mark.django_db
def test_an_officer_gets_any_borrowers_statement(serviced_loan, officer):
    response = client_for(officer).get(_url(serviced_loan))

    assert response.status_code == 200
    assert response.json()["closing_balance"] == "153362.00"


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["", "?format=pdf"])
def test_someone_elses_loan_is_not_found(serviced_loan, query):
    response = client_for(BorrowerFactory()).get(_url(serviced_loan, query))

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "not_found"


@pytest.mark.django_db
def test_without_a_token_it_is_401(serviced_loan, api_client):
    assert api_client.get(_url(serviced_loan)).status_code == 401


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field", "code"),
    [
        ("?from=2026-03-01&to=2026-02-01", "from", "inverted_period"),
        ("?from=2026-03-01&to=2026-02-01&format=pdf", "from", "inverted_period"),
        ("?to=2026-01-09", "from", "inverted_period"),
        ("?to=2026-03-22", "to", "period_after_business_date"),
        ("?from=2026-02-30", "from", "invalid"),
        ("?from=yesterday", "from", "invalid"),
        ("?to=21/03/2026", "to", "invalid"),
        ("?from=2026-02-01T00:00:00", "from", "invalid"),
        ("?format=csv", "format", "invalid"),
    ],
)
def test_a_bad_period_or_format_is_400_naming_it(serviced_loan, query, field, code):
    response = client_for(serviced_loan.borrower).get(_url(serviced_loan, query))

    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == code
    assert field in body
    assert body["detail"].startswith(f"{field}: ")


@pytest.mark.django_db
def test_empty_dates_are_malformed_on_the_api(serviced_loan):
    """The schema says ISO dates: an empty one is refused (leave it out for the default)."""
    response = client_for(serviced_loan.borrower).get(_url(serviced_loan, "?from=&to="))

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert "from" in body
    assert "to" in body


@pytest.mark.django_db
def test_a_loan_not_yet_disbursed_is_409(borrower):
    loan = applied_loan(borrower)

    response = client_for(borrower).get(_url(loan))

    assert response.status_code == 409
    assert response.json()["code"] == "not_disbursed"


@pytest.mark.django_db
def test_an_unacceptable_type_is_406_in_json(serviced_loan):
    response = client_for(serviced_loan.borrower).get(_url(serviced_loan), HTTP_ACCEPT="text/csv")

    assert response.status_code == 406
    assert response["Content-Type"] == "application/json"


@pytest.mark.django_db
def test_the_letterhead_is_the_lender_in_the_settings(serviced_loan, settings):
    settings.LENDER_NAME = "Kaveri Finance Ltd."
    settings.LENDER_ADDRESS = ["1 Lake Road", "Mysuru 570001"]

    response = client_for(serviced_loan.borrower).get(_url(serviced_loan, "?format=pdf"))

    text = pdf_text(response.content)
    assert text.startswith("Kaveri Finance Ltd. 1 Lake Road Mysuru 570001 Loan statement")
    assert "Kaveri Finance Ltd. · amounts in rupees (INR) Page 1 of 1" in text


@pytest.mark.django_db
def test_the_schema_documents_json_or_pdf_and_json_errors():
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]

    for path in ("/api/loans/{loan_id}/statement", "/api/wallet/statement"):
        operation = paths[path]["get"]
        assert {"from", "to", "format"} <= {p["name"] for p in operation["parameters"]}
        responses = operation["responses"]
        assert set(responses["200"]["content"]) == {"application/json", "application/pdf"}
        assert set(responses["400"]["content"]) == {"application/json"}
