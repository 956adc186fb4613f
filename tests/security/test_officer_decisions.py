"""Officers decide only what they may: their permissions, never their own loans."""

import pytest
from django.db import IntegrityError, connection, transaction

from accounts.services import user_role_change
from loans.exceptions import LoanError
from loans.models import Loan
from loans.services import loan_approve, loan_reject
from tests.accounts.factories import BorrowerFactory, OfficerFactory
from tests.conftest import client_for
from tests.loans.factories import applied_loan

DECIDE = "/api/loans/admin/approve"


@pytest.mark.django_db
@pytest.mark.parametrize("approved", [True, False])
def test_an_officer_removed_from_the_officers_group_cannot_decide_through_the_api(approved):
    loan = applied_loan(BorrowerFactory())
    officer = OfficerFactory()
    officer.groups.clear()

    response = client_for(officer).post(
        DECIDE, {"loan_id": loan.pk, "approved": approved, "rejection_reason": "No."}
    )

    assert response.status_code == 403
    assert Loan.objects.get(pk=loan.pk).status == Loan.Status.APPLIED


@pytest.fixture
def own_loan(db):
    """A borrower applies, then becomes an officer: a staff member who also borrows."""
    borrower = BorrowerFactory()
    loan = applied_loan(borrower)
    user_role_change(user_id=borrower.pk, role="OFFICER")
    borrower.refresh_from_db()
    return loan, borrower


@pytest.mark.django_db
@pytest.mark.parametrize("approved", [True, False])
def test_an_officer_cannot_decide_their_own_loan_through_the_api(own_loan, approved):
    loan, officer = own_loan

    response = client_for(officer).post(
        DECIDE, {"loan_id": loan.pk, "approved": approved, "rejection_reason": "Mine."}
    )

    assert response.status_code == 403
    assert response.json()["code"] == "own_loan"
    assert Loan.objects.get(pk=loan.pk).status == Loan.Status.APPLIED


@pytest.mark.django_db
def test_the_services_refuse_an_officers_own_loan(own_loan):
    loan, officer = own_loan

    with pytest.raises(LoanError, match="own loan"):
        loan_approve(loan_id=loan.pk, officer=officer)
    with pytest.raises(LoanError, match="own loan"):
        loan_reject(loan_id=loan.pk, officer=officer, reason="Mine.")


@pytest.mark.django_db
@pytest.mark.parametrize("column", ["approved_by_id", "rejected_by_id", "disbursed_by_id"])
def test_the_database_refuses_a_decision_by_the_borrower(column):
    loan = applied_loan(BorrowerFactory())

    with (
        pytest.raises(IntegrityError, match="loans_loan_not_own_"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(f"UPDATE loans_loan SET {column} = borrower_id WHERE id = %s", [loan.pk])


@pytest.mark.django_db
def test_an_officer_without_the_approve_permission_is_refused_by_the_service():
    loan = applied_loan(BorrowerFactory())
    officer = OfficerFactory()
    officer.groups.clear()

    with pytest.raises(LoanError, match="not allowed"):
        loan_approve(loan_id=loan.pk, officer=officer)
