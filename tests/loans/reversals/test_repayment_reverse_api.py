"""POST /api/loans/{id}/repayments/{repayment_id}/reverse: who may, what it answers."""

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from ledger.models import JournalEntry
from loans.models import Repayment
from loans.services import loan_approve
from tests.accounts.factories import BorrowerFactory, OfficerFactory
from tests.conftest import client_for
from tests.loans.factories import LoanProductFactory, active_loan, applied_loan, repaid
from tests.loans.helpers import assert_books_clean
from tests.loans.servicing.helpers import close_through, set_business_date
from wallets.services import wallet_deposit

D = Decimal


def _url(loan_id, repayment_id):
    return f"/api/loans/{loan_id}/repayments/{repayment_id}/reverse"


@pytest.fixture
def paid_loan(db):
    """12,000.00 at 12 % over 12 months; the first EMI (1,066.19) paid on its due date."""
    set_business_date(date(2026, 1, 10))
    loan = active_loan(BorrowerFactory())
    wallet_deposit(user=loan.borrower, amount=D("100.00"), idempotency_key="in")
    close_through(date(2026, 2, 9))
    return loan, repaid(loan, "1066.19")


@pytest.mark.django_db
def test_an_officer_reverses_a_repayment_and_sees_the_loan_and_its_repayments(paid_loan):
    loan, payment = paid_loan
    officer = OfficerFactory()

    response = client_for(officer).post(
        _url(loan.pk, payment.pk), {"reason": "Paid from the wrong account"}, format="json"
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["repayment"]["status"] == "REVERSED"
    assert body["repayment"]["reversed_on"] == "2026-02-10"
    assert body["repayment"]["reversal_reason"] == "Paid from the wrong account"
    # Owed as on the day of disbursement: nothing paid, and no fee within the grace days.
    assert D(body["loan"]["outstanding_amount"]) == loan.principal_amount + loan.total_interest
    assert [r["status"] for r in body["repayments"]] == ["REVERSED"]
    assert_books_clean()


@pytest.mark.django_db
def test_a_second_reversal_is_409_and_a_retry_with_the_same_key_gets_the_first_answer(
    paid_loan,
):
    loan, payment = paid_loan
    client = client_for(OfficerFactory())
    first = client.post(
        _url(loan.pk, payment.pk), {"reason": "Error"}, format="json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    entries = JournalEntry.objects.count()

    retried = client.post(
        _url(loan.pk, payment.pk), {"reason": "Error"}, format="json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    again = client.post(_url(loan.pk, payment.pk), {"reason": "Error"}, format="json")

    assert first.status_code == 200
    assert retried.status_code == 200
    assert retried["Idempotent-Replayed"] == "true"
    assert retried.json() == first.json()
    assert again.status_code == 409
    assert again.json()["code"] == "already_reversed"
    assert JournalEntry.objects.count() == entries


@pytest.mark.django_db
def test_refusals_are_clear_4xx_and_change_nothing(paid_loan):
    loan, payment = paid_loan
    other = active_loan(BorrowerFactory())
    officer = client_for(OfficerFactory())
    without_permission = OfficerFactory()
    without_permission.groups.clear()
    without_permission.user_permissions.remove(
        *Permission.objects.filter(codename="reverse_repayment")
    )

    no_reason = officer.post(_url(loan.pk, payment.pk), {}, format="json")
    blank = officer.post(_url(loan.pk, payment.pk), {"reason": "  "}, format="json")
    wrong_loan = officer.post(_url(other.pk, payment.pk), {"reason": "x"}, format="json")
    no_loan = officer.post(_url(10**9, payment.pk), {"reason": "x"}, format="json")
    borrower = client_for(loan.borrower).post(
        _url(loan.pk, payment.pk), {"reason": "x"}, format="json"
    )
    not_allowed = client_for(without_permission).post(
        _url(loan.pk, payment.pk), {"reason": "x"}, format="json"
    )

    assert no_reason.status_code == 400 and "reason" in no_reason.json()
    assert blank.status_code == 400 and "reason" in blank.json()
    assert wrong_loan.status_code == 404
    assert f"has no repayment {payment.pk}" in wrong_loan.json()["detail"]
    assert no_loan.status_code == 404
    assert borrower.status_code == 403
    assert not_allowed.status_code == 403
    payment.refresh_from_db()
    assert payment.status == Repayment.Status.SUCCESS
    assert_books_clean()


@pytest.mark.django_db
def test_above_the_threshold_a_second_officer_confirms_the_reversal():
    """A product whose maker-checker threshold is 1,000.00: an EMI of 1,066.19 is above it."""
    set_business_date(date(2026, 1, 10))
    product = LoanProductFactory(maker_checker_threshold=D("1000.00"))
    maker, checker = OfficerFactory(), OfficerFactory()
    loan = applied_loan(BorrowerFactory(), product=product.code)
    loan_approve(loan_id=loan.pk, officer=maker)
    loan_approve(loan_id=loan.pk, officer=checker)  # 12,000.00 needs two officers too
    close_through(date(2026, 2, 9))
    payment = repaid(loan, "1066.19")
    url = _url(loan.pk, payment.pk)

    asked = client_for(maker).post(url, {"reason": "Paid twice"}, format="json")
    same_again = client_for(maker).post(url, {"reason": "Paid twice"}, format="json")
    payment.refresh_from_db()
    still_standing = payment.status
    confirmed = client_for(checker).post(url, {"reason": "Paid twice"}, format="json")

    assert asked.status_code == 202, asked.json()
    assert asked.json()["status"] == "PENDING_CONFIRMATION"
    assert (asked.json()["amount"], asked.json()["threshold"]) == ("1066.19", "1000.00")
    assert same_again.status_code == 409 and same_again.json()["code"] == "maker_checker"
    assert still_standing == Repayment.Status.SUCCESS
    assert confirmed.status_code == 200, confirmed.json()
    assert confirmed.json()["repayment"]["status"] == "REVERSED"
    assert_books_clean()
