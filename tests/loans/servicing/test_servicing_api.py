"""What borrowers and officers see of servicing through the API, and the bad input."""

from datetime import date
from decimal import Decimal

import pytest

from loans.models import FeeWaiver, Loan
from tests.accounts.factories import BorrowerFactory, OfficerFactory
from tests.conftest import client_for
from tests.loans.factories import active_loan
from tests.loans.helpers import assert_books_clean
from tests.loans.servicing.helpers import close_through, set_business_date

D = Decimal
START = date(2026, 1, 10)


@pytest.fixture
def late_loan(db):
    """12,000.00 over 12 months from Jan 10th; closed through Mar 20th, nothing paid."""
    set_business_date(START)
    loan = active_loan(BorrowerFactory(), OfficerFactory(), principal="12000.00", tenure=12)
    close_through(date(2026, 3, 20))
    loan.refresh_from_db()
    return loan


@pytest.mark.django_db
def test_the_business_date_is_served_to_any_signed_in_user(borrower_client, api_client):
    set_business_date(date(2026, 7, 1))

    assert borrower_client.get("/api/business-date").json() == {"business_date": "2026-07-01"}
    assert api_client.get("/api/business-date").status_code == 401


@pytest.mark.django_db
def test_a_late_loan_shows_where_it_stands(late_loan):
    first, second, third = late_loan.installments.order_by("number")[:3]

    body = client_for(late_loan.borrower).get(f"/api/loans/{late_loan.pk}").json()

    overdue = first.total + second.total + D("200.00")
    assert body["business_date"] == "2026-03-21"
    assert (body["days_past_due"], body["delinquency_bucket"]) == (39, "DPD_31_60")
    assert D(body["overdue_amount"]) == overdue
    assert D(body["fees_due"]) == D("200.00")
    assert body["next_due_date"] == "2026-04-10"
    assert D(body["next_due_amount"]) == third.total
    assert body["product"] == "STANDARD"
    assert D(
        body["outstanding_amount"]
    ) == late_loan.principal_amount + late_loan.total_interest + D("200.00")


@pytest.mark.django_db
def test_schedule_rows_carry_fees_payments_and_status(late_loan):
    rows = client_for(late_loan.borrower).get(f"/api/loans/{late_loan.pk}/schedule").json()

    assert [row["status"] for row in rows[:4]] == ["OVERDUE", "OVERDUE", "PENDING", "PENDING"]
    assert [row["fee_charged"] for row in rows[:3]] == ["100.00", "100.00", "0.00"]
    assert rows[0]["fee_paid"] == rows[0]["fee_waived"] == "0.00"
    assert rows[0]["paid_on"] is None


@pytest.mark.django_db
def test_an_officer_waives_part_of_a_fee_with_a_reason(late_loan, officer):
    response = client_for(officer).post(
        f"/api/loans/{late_loan.pk}/waive-fee",
        {"installment_number": 1, "amount": "40.00", "reason": "Bank holiday delay"},
    )

    assert response.status_code == 201, response.json()
    assert response.json()["fee_due"] == "60.00"
    waiver = FeeWaiver.objects.get()
    assert (waiver.officer, waiver.reason, waiver.value_date) == (
        officer,
        "Bank holiday delay",
        date(2026, 3, 21),
    )
    assert Loan.objects.get(pk=late_loan.pk).outstanding_amount == (
        late_loan.outstanding_amount - D("40.00")
    )
    assert_books_clean()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"installment_number": 1, "amount": "100.01", "reason": "x"}, "amount"),
        ({"installment_number": 3, "amount": "1.00", "reason": "x"}, "amount"),  # no fee yet
        ({"installment_number": 99, "amount": "1.00", "reason": "x"}, "installment_number"),
        ({"installment_number": 1, "amount": "1.00", "reason": "  "}, "reason"),
        ({"installment_number": 1, "amount": "-1.00", "reason": "x"}, "amount"),
        ({"installment_number": 1, "amount": "1.00"}, "reason"),
    ],
)
def test_a_bad_waiver_is_400_naming_the_field_and_changes_nothing(late_loan, officer, body, field):
    response = client_for(officer).post(f"/api/loans/{late_loan.pk}/waive-fee", body)

    assert response.status_code == 400, response.json()
    assert field in response.json()
    assert not FeeWaiver.objects.exists()
    assert Loan.objects.get(pk=late_loan.pk).outstanding_amount == late_loan.outstanding_amount


@pytest.mark.django_db
def test_borrowers_cannot_waive_fees(late_loan):
    response = client_for(late_loan.borrower).post(
        f"/api/loans/{late_loan.pk}/waive-fee",
        {"installment_number": 1, "amount": "1.00", "reason": "please"},
    )

    assert response.status_code == 403
    assert not FeeWaiver.objects.exists()


@pytest.mark.django_db
def test_an_officer_without_the_waive_permission_is_refused(late_loan, officer):
    officer.groups.clear()

    response = client_for(officer).post(
        f"/api/loans/{late_loan.pk}/waive-fee",
        {"installment_number": 1, "amount": "1.00", "reason": "x"},
    )

    assert response.status_code == 403


@pytest.mark.django_db
def test_an_unknown_product_is_400_and_applies_nothing(borrower_client):
    response = borrower_client.post(
        "/api/loans/apply", {"principal_amount": "1000.00", "tenure_months": 6, "product": "GOLD"}
    )

    assert response.status_code == 400
    assert "product" in response.json()
    assert not Loan.objects.exists()


@pytest.mark.django_db
def test_a_rate_outside_the_products_band_is_400_naming_the_band(borrower_client):
    response = borrower_client.post(
        "/api/loans/apply",
        {"principal_amount": "1000.00", "tenure_months": 6, "interest_rate": "50.01"},
    )

    assert response.status_code == 400
    assert response.json()["interest_rate"] == ["Ensure this value is between 0.00 and 50.00."]
    assert not Loan.objects.exists()


@pytest.mark.django_db
def test_an_application_names_its_product(borrower_client):
    response = borrower_client.post(
        "/api/loans/apply", {"principal_amount": "1000.00", "tenure_months": 6}
    )

    assert response.status_code == 201
    assert response.json()["product"] == "STANDARD"
    assert response.json()["interest_rate"] == "12.00"


@pytest.mark.django_db
@pytest.mark.parametrize("amount", ["0.00", "-5.00"])
def test_the_waiver_service_itself_refuses_an_amount_that_is_not_positive(
    late_loan, officer, amount
):
    from loans.exceptions import LoanError
    from loans.services import loan_fee_waive

    with pytest.raises(LoanError, match="positive"):
        loan_fee_waive(
            loan_id=late_loan.pk,
            installment_number=1,
            amount=D(amount),
            reason="x",
            officer=officer,
        )

    assert not FeeWaiver.objects.exists()
