from datetime import date
from decimal import Decimal

import pytest

from loans.api.serializers import quote_output
from loans.api.views import LoanCalculateEmiApi
from loans.models import Loan
from loans.schedule import InterestMethod, quote
from tests.accounts.factories import BorrowerFactory, OfficerFactory
from tests.conftest import client_for
from tests.loans.factories import active_loan, applied_loan

TERMS = {"principal_amount": "100000.00", "tenure_months": 12, "interest_rate": "12.00"}


@pytest.mark.django_db
def test_calculate_emi_returns_the_quote_and_schedule(borrower_client):
    response = borrower_client.post("/api/loans/calculate-emi", TERMS)

    assert response.status_code == 200
    body = response.json()
    assert body["emi_amount"] == "8884.88"
    assert body["total_interest"] == "6618.53"
    assert body["total_amount"] == "106618.53"
    assert body["tenure_months"] == 12
    assert len(body["schedule"]) == 12
    assert sum(Decimal(r["principal"]) for r in body["schedule"]) == Decimal("100000.00")


@pytest.mark.django_db
def test_calculate_emi_flat_and_default_rate(borrower_client, settings):
    flat = borrower_client.post("/api/loans/calculate-emi", {**TERMS, "interest_method": "FLAT"})
    default = borrower_client.post(
        "/api/loans/calculate-emi", {"principal_amount": 100000, "tenure_months": 12}
    )

    assert flat.json()["emi_amount"] == "9333.33"
    assert Decimal("12") == settings.LOAN_DEFAULT_RATE
    assert default.json()["emi_amount"] == "8884.88"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"principal_amount": "-1"}, "principal_amount"),
        ({"principal_amount": "0"}, "principal_amount"),
        ({"principal_amount": "10.001"}, "principal_amount"),
        ({"principal_amount": "lots"}, "principal_amount"),
        ({"principal_amount": "500000.01"}, "principal_amount"),
        ({"principal_amount": "1e9"}, "principal_amount"),
        ({"tenure_months": 0}, "tenure_months"),
        ({"tenure_months": 61}, "tenure_months"),
        ({"tenure_months": 100000}, "tenure_months"),
        ({"tenure_months": "twelve"}, "tenure_months"),
        ({"interest_rate": "-0.01"}, "interest_rate"),
        ({"interest_rate": "50.01"}, "interest_rate"),
        ({"interest_rate": "12.345"}, "interest_rate"),
        ({"interest_method": "MAGIC"}, "interest_method"),
    ],
)
@pytest.mark.parametrize("path", ["/api/loans/calculate-emi", "/api/loans/apply"])
def test_bad_terms_are_400_naming_the_field(borrower_client, change, field, path):
    response = borrower_client.post(path, {**TERMS, **change})

    assert response.status_code == 400, response.content
    assert field in response.json()
    assert response.json()["detail"].startswith(field)
    assert not Loan.objects.exists()


@pytest.mark.django_db
def test_apply_returns_the_loan_in_the_seed_shape(borrower_client, borrower):
    response = borrower_client.post("/api/loans/apply", TERMS)

    assert response.status_code == 201
    body = response.json()
    assert {
        "id",
        "user_id",
        "principal_amount",
        "tenure_months",
        "interest_rate",
        "status",
        "outstanding_amount",
        "emi_amount",
        "created_at",
        "updated_at",
    } <= set(body)
    assert body["user_id"] == borrower.pk
    assert body["status"] == "APPLIED"
    assert body["principal_amount"] == "100000.00"


@pytest.mark.django_db
def test_apply_ignores_status_and_owner_fields_in_the_body(borrower_client, borrower):
    other = BorrowerFactory()
    response = borrower_client.post(
        "/api/loans/apply",
        {**TERMS, "status": "ACTIVE", "user_id": other.pk, "outstanding_amount": "0.00"},
    )

    loan = Loan.objects.get()
    assert response.status_code == 201
    assert (loan.status, loan.borrower_id) == ("APPLIED", borrower.pk)


@pytest.mark.django_db
def test_the_third_open_loan_is_refused_naming_the_rule(borrower, borrower_client):
    officer = OfficerFactory()
    active_loan(borrower, officer)
    active_loan(borrower, officer)

    response = borrower_client.post("/api/loans/apply", TERMS)

    assert response.status_code == 400
    assert response.json()["code"] == "too_many_open_loans"


@pytest.mark.django_db
def test_officers_cannot_apply(officer_client):
    assert officer_client.post("/api/loans/apply", TERMS).status_code == 403


@pytest.mark.django_db
def test_my_loans_lists_only_the_callers_loans(borrower, borrower_client):
    mine = applied_loan(borrower)
    applied_loan(BorrowerFactory())

    response = borrower_client.get("/api/loans/my-loans")

    assert [loan["id"] for loan in response.json()] == [mine.pk]


@pytest.mark.django_db
def test_my_loans_of_an_officer_are_their_own_none_as_in_the_seed(borrower, officer_client):
    applied_loan(borrower)

    response = officer_client.get("/api/loans/my-loans")

    assert response.status_code == 200
    assert response.json() == []


@pytest.mark.django_db
def test_a_loan_is_visible_to_its_owner_and_officers_only(
    borrower, borrower_client, officer_client
):
    loan = applied_loan(borrower)
    stranger = client_for(BorrowerFactory())

    assert borrower_client.get(f"/api/loans/{loan.pk}").status_code == 200
    assert officer_client.get(f"/api/loans/{loan.pk}").status_code == 200
    for path in (
        f"/api/loans/{loan.pk}",
        f"/api/loans/{loan.pk}/schedule",
        f"/api/repayments/loan/{loan.pk}",
    ):
        response = stranger.get(path)
        assert response.status_code == 404
        assert response.json()["detail"] == f"Loan {loan.pk} was not found."
    assert stranger.get("/api/loans/999999").status_code == 404


@pytest.mark.django_db
def test_schedule_endpoint_lists_installments(borrower, borrower_client):
    loan = applied_loan(borrower, principal="1200.00", tenure=3, rate="0.00")

    rows = borrower_client.get(f"/api/loans/{loan.pk}/schedule").json()

    assert [(r["number"], r["principal"], r["paid"]) for r in rows] == [
        (1, "400.00", "0.00"),
        (2, "400.00", "0.00"),
        (3, "400.00", "0.00"),
    ]


@pytest.mark.django_db
def test_pending_and_decisions_are_for_officers_only(borrower, borrower_client, officer_client):
    loan = applied_loan(borrower)

    assert borrower_client.get("/api/loans/admin/pending").status_code == 403
    denied = borrower_client.post(
        "/api/loans/admin/approve", {"loan_id": loan.pk, "approved": True}
    )
    assert denied.status_code == 403
    assert denied.json()["detail"] == "Only loan officers can do this."
    assert [row["id"] for row in officer_client.get("/api/loans/admin/pending").json()] == [loan.pk]


@pytest.mark.django_db
def test_approve_through_the_api_disburses(borrower, officer_client):
    loan = applied_loan(borrower)

    response = officer_client.post(
        "/api/loans/admin/approve", {"loan_id": loan.pk, "approved": True}
    )

    assert response.status_code == 200
    assert response.json()["status"] == "ACTIVE"
    assert client_for(borrower).get("/api/wallet/balance").json()["balance"] == "12000.00"


@pytest.mark.django_db
def test_reject_through_the_api_needs_a_reason(borrower, officer_client):
    loan = applied_loan(borrower)

    refused = officer_client.post(
        "/api/loans/admin/approve", {"loan_id": loan.pk, "approved": False}
    )
    rejected = officer_client.post(
        "/api/loans/admin/approve",
        {"loan_id": loan.pk, "approved": False, "rejection_reason": "Debt ratio too high"},
    )

    assert refused.status_code == 409
    assert "rejection_reason" in refused.json()
    assert rejected.status_code == 200
    assert rejected.json()["status"] == "REJECTED"
    assert rejected.json()["rejection_reason"] == "Debt ratio too high"


@pytest.mark.django_db
def test_approving_a_closed_decision_is_409(borrower, officer_client):
    loan = active_loan(borrower)

    response = officer_client.post(
        "/api/loans/admin/approve", {"loan_id": loan.pk, "approved": True}
    )

    assert response.status_code == 409
    assert "is ACTIVE" in response.json()["detail"]


@pytest.mark.django_db
def test_maker_checker_through_the_api(borrower):
    maker, checker = client_for(OfficerFactory()), client_for(OfficerFactory())
    loan = applied_loan(borrower, principal="300000.00")

    first = maker.post("/api/loans/admin/approve", {"loan_id": loan.pk, "approved": True})
    again = maker.post("/api/loans/admin/approve", {"loan_id": loan.pk, "approved": True})
    second = checker.post("/api/loans/admin/approve", {"loan_id": loan.pk, "approved": True})

    assert first.json()["status"] == "APPROVED"
    assert again.status_code == 409
    assert again.json()["code"] == "maker_checker"
    assert second.json()["status"] == "ACTIVE"


@pytest.mark.django_db
def test_unknown_loan_decision_is_404(officer_client):
    response = officer_client.post(
        "/api/loans/admin/approve", {"loan_id": 424242, "approved": True}
    )

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("principal", "months", "rate", "method"),
    [
        ("100000.00", 12, "12.00", "REDUCING"),
        ("2500.50", 60, "7.35", "REDUCING"),
        ("99999.99", 7, "0.00", "REDUCING"),
        ("50000.00", 24, "18.00", "FLAT"),
    ],
)
def test_the_hand_built_quote_answer_equals_the_documented_serializer(
    principal, months, rate, method
):
    priced = quote(
        principal=Decimal(principal),
        annual_rate=Decimal(rate),
        tenure_months=months,
        method=InterestMethod(method),
        first_due_date=date(2027, 1, 31),
    )

    assert quote_output(priced) == LoanCalculateEmiApi.OutputSerializer(priced).data
