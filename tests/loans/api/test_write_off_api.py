"""``POST /api/loans/{id}/write-off`` and recoveries through ``make-payment``.

The loan: 12,000.00 at 12 % over 12 months (STANDARD: threshold 200,000.00), disbursed on
the business date and never paid. Written off the same day, it owes its principal only:
no installment is due yet (interest 0.00) and no fee was charged: 12,000.00.
"""

from decimal import Decimal

import pytest

from ledger.models import JournalEntry
from loans.models import Loan, LoanRecovery, OfficerActionRequest
from loans.services import loan_approve
from tests.accounts.factories import BorrowerFactory, OfficerFactory
from tests.concurrency import run_concurrently
from tests.conftest import client_for
from tests.loans.factories import LoanProductFactory, active_loan, repaid
from tests.loans.helpers import assert_books_clean
from wallets.models import Wallet
from wallets.services import wallet_deposit

D = Decimal
PAY = "/api/repayments/make-payment"


def write_off_url(loan) -> str:
    return f"/api/loans/{loan.pk}/write-off"


@pytest.fixture
def loan(borrower):
    return active_loan(borrower, principal="12000.00", rate="12.00")


@pytest.mark.django_db
def test_an_officer_writes_a_loan_off(officer_client, loan):
    response = officer_client.post(write_off_url(loan), {"reason": "Borrower untraceable"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["loan"]["status"] == "WRITTEN_OFF"
    assert body["loan"]["outstanding_amount"] == "0.00"
    assert body["loan"]["written_off_amount"] == "12000.00"
    assert body["loan"]["recovered_amount"] == "0.00"
    write_off = body["write_off"]
    assert (write_off["principal"], write_off["interest"], write_off["fees"]) == (
        "12000.00",
        "0.00",
        "0.00",
    )
    assert write_off["reason"] == "Borrower untraceable"
    assert officer_client.get(f"/api/loans/{loan.pk}").json()["status"] == "WRITTEN_OFF"
    assert_books_clean()


@pytest.mark.django_db
def test_writing_off_twice_or_a_closed_loan_is_409_and_changes_nothing(officer_client, borrower):
    closed = active_loan(borrower, principal="1200.00", tenure=1)
    wallet_deposit(user=borrower, amount=D("12.00"), idempotency_key="k")
    repaid(closed, "1212.00")
    entries = JournalEntry.objects.count()

    refused = officer_client.post(write_off_url(closed), {"reason": "Mistake"})

    assert refused.status_code == 409
    assert refused.json()["code"] == "invalid_state"
    assert "CLOSED" in refused.json()["detail"]
    assert Loan.objects.get(pk=closed.pk).status == Loan.Status.CLOSED
    assert JournalEntry.objects.count() == entries

    loan = active_loan(BorrowerFactory())
    assert officer_client.post(write_off_url(loan), {"reason": "x"}).status_code == 200
    assert officer_client.post(write_off_url(loan), {"reason": "x"}).status_code == 409


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "reason"), ({"reason": ""}, "reason"), ({"reason": 7}, "reason")],
)
def test_bad_input_is_400_naming_the_field(officer_client, loan, body, field):
    response = officer_client.post(write_off_url(loan), body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert Loan.objects.get(pk=loan.pk).status == Loan.Status.ACTIVE


@pytest.mark.django_db
def test_a_blank_reason_is_refused_by_the_service(officer_client, loan):
    response = officer_client.post(write_off_url(loan), {"reason": "   "})

    assert response.status_code == 400
    assert "reason" in response.json()  # the field is named
    assert Loan.objects.get(pk=loan.pk).status == Loan.Status.ACTIVE


@pytest.mark.django_db
def test_who_may_write_off(borrower_client, loan):
    assert borrower_client.post(write_off_url(loan), {"reason": "x"}).status_code == 403
    assert (
        client_for(OfficerFactory())
        .post("/api/loans/999999/write-off", {"reason": "x"})
        .status_code
        == 404
    )
    assert Loan.objects.get(pk=loan.pk).status == Loan.Status.ACTIVE


@pytest.mark.django_db
def test_above_the_threshold_202_then_a_second_officer(db):
    product = LoanProductFactory()  # threshold 50,000.00
    loan = active_loan(BorrowerFactory(), principal="60000.00", product=product.code)
    loan_approve(loan_id=loan.pk, officer=OfficerFactory())
    maker_user = OfficerFactory()
    maker, checker = client_for(maker_user), client_for(OfficerFactory())

    first = maker.post(write_off_url(loan), {"reason": "Absconded"})

    assert first.status_code == 202
    body = first.json()
    assert body["status"] == "PENDING_CONFIRMATION"
    assert (body["kind"], body["loan_id"], body["target_id"]) == ("WRITE_OFF", loan.pk, loan.pk)
    assert (body["amount"], body["threshold"]) == ("60000.00", "50000.00")
    assert body["requested_by"] == maker_user.pk
    same = maker.post(write_off_url(loan), {"reason": "Absconded"})
    assert same.status_code == 409 and same.json()["code"] == "maker_checker"

    second = checker.post(write_off_url(loan), {"reason": "Absconded"})

    assert second.status_code == 200
    assert second.json()["write_off"]["confirmed_request"] == body["request_id"]
    assert checker.post(write_off_url(loan), {"reason": "Absconded"}).status_code == 409
    assert_books_clean()


@pytest.mark.django_db
def test_payments_on_a_written_off_loan_are_recoveries(borrower, borrower_client, loan):
    client_for(OfficerFactory()).post(write_off_url(loan), {"reason": "Fraud"})
    pay = {"loan_id": loan.pk, "amount": "2500.00", "idempotency_key": "rec-1"}

    first = borrower_client.post(PAY, pay)
    retry = borrower_client.post(PAY, pay)

    assert first.status_code == 201, first.content
    body = first.json()
    assert body["recovery"]["amount"] == "2500.00"
    assert (body["new_outstanding"], body["loan_closed"]) == ("0.00", False)
    # 12,000.00 written off - 2,500.00 recovered
    assert (body["recovered_amount"], body["recoverable_amount"]) == ("2500.00", "9500.00")
    assert retry.json() == body and retry["Idempotent-Replayed"] == "true"
    assert LoanRecovery.objects.count() == 1

    too_much = borrower_client.post(
        PAY, {"loan_id": loan.pk, "amount": "9500.01", "idempotency_key": "rec-2"}
    )
    assert too_much.status_code == 400
    assert too_much.json()["code"] == "amount_exceeds_recoverable"
    assert "9500.00" in too_much.json()["detail"]
    assert Wallet.objects.get(user=borrower).balance == D("9500.00")  # 12,000.00 - 2,500.00
    assert_books_clean()


@pytest.mark.django_db(transaction=True)
def test_two_officers_writing_off_at_once_write_off_once():
    loan = active_loan(BorrowerFactory(), principal="12000.00")
    officers = OfficerFactory.create_batch(2)

    results = run_concurrently(
        [lambda o=o: client_for(o).post(write_off_url(loan), {"reason": "Fraud"}) for o in officers]
    )

    assert sorted(r.status_code for r in results) == [200, 409]
    assert JournalEntry.objects.filter(kind="WRITE_OFF").count() == 1
    assert Loan.objects.get(pk=loan.pk).status == Loan.Status.WRITTEN_OFF
    assert_books_clean()


@pytest.mark.django_db(transaction=True)
def test_two_officers_asking_at_once_above_the_threshold_make_one_request_then_confirm():
    product = LoanProductFactory()
    loan = active_loan(BorrowerFactory(), principal="60000.00", product=product.code)
    loan_approve(loan_id=loan.pk, officer=OfficerFactory())
    officers = OfficerFactory.create_batch(2)

    results = run_concurrently(
        [lambda o=o: client_for(o).post(write_off_url(loan), {"reason": "Fraud"}) for o in officers]
    )

    # The loan's lock puts them in turn: the first asks, the second confirms.
    assert sorted(r.status_code for r in results) == [200, 202]
    assert OfficerActionRequest.objects.get().status == "CONFIRMED"
    assert Loan.objects.get(pk=loan.pk).status == Loan.Status.WRITTEN_OFF
    assert_books_clean()


@pytest.mark.django_db(transaction=True)
def test_recoveries_racing_never_over_recover():
    borrower = BorrowerFactory()
    loan = active_loan(borrower, principal="12000.00")
    client_for(OfficerFactory()).post(write_off_url(loan), {"reason": "Fraud"})
    wallet_deposit(user=borrower, amount=D("1000.00"), idempotency_key="top-up")
    client = client_for(borrower)
    # 12,000.00 written off; 4 x 4,000.00 = 16,000.00 asked at once: at most 3 fit.

    results = run_concurrently(
        [
            lambda k=k: client.post(
                PAY, {"loan_id": loan.pk, "amount": "4000.00", "idempotency_key": f"race-{k}"}
            )
            for k in range(4)
        ]
    )

    assert sorted(r.status_code for r in results) == [201, 201, 201, 400]
    loan.refresh_from_db()
    assert loan.recovered_amount == loan.written_off_amount == D("12000.00")
    assert Wallet.objects.get(user=borrower).balance == D("1000.00")
    assert_books_clean()
