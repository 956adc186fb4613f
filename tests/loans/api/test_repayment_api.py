from decimal import Decimal

import pytest

from ledger.models import JournalEntry
from loans.models import Loan, Repayment
from tests.accounts.factories import BorrowerFactory
from tests.conftest import client_for
from tests.loans.factories import active_loan, applied_loan
from tests.loans.helpers import assert_books_clean

PAY = "/api/repayments/make-payment"


@pytest.fixture
def loan(borrower):
    return active_loan(borrower, principal="1000.00", tenure=2, rate="12.00")


@pytest.mark.django_db
def test_make_payment_returns_the_seed_shape(borrower_client, loan):
    response = borrower_client.post(
        PAY, {"loan_id": loan.pk, "amount": "200.00", "idempotency_key": "p1"}
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"repayment", "new_outstanding", "loan_closed"}
    assert {"id", "loan_id", "amount", "type", "status", "created_at"} <= set(body["repayment"])
    assert body["repayment"]["type"] == "PARTIAL"
    assert body["repayment"]["status"] == "SUCCESS"
    assert body["new_outstanding"] == str(loan.outstanding_amount - Decimal("200.00"))
    assert body["loan_closed"] is False


@pytest.mark.django_db
def test_a_repayment_retry_is_replayed_and_charges_once(borrower_client, loan):
    payload = {"loan_id": loan.pk, "amount": "200.00", "idempotency_key": "same"}

    first = borrower_client.post(PAY, payload)
    retry = borrower_client.post(PAY, payload)
    changed = borrower_client.post(PAY, {**payload, "amount": "201.00"})

    assert first.json() == retry.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert changed.status_code == 422
    assert Repayment.objects.count() == 1


@pytest.mark.django_db
def test_paying_more_than_outstanding_is_400(borrower_client, loan):
    response = borrower_client.post(
        PAY,
        {
            "loan_id": loan.pk,
            "amount": str(loan.outstanding_amount + Decimal("0.01")),
            "idempotency_key": "x",
        },
    )

    assert response.status_code == 400
    assert response.json()["code"] == "amount_exceeds_outstanding"
    assert "amount" in response.json()


@pytest.mark.django_db
def test_paying_someone_elses_loan_is_404_and_moves_nothing(loan):
    stranger = BorrowerFactory()
    client = client_for(stranger)
    client.post("/api/wallet/deposit", {"amount": "500.00", "idempotency_key": "d"})

    response = client.post(PAY, {"loan_id": loan.pk, "amount": "10.00", "idempotency_key": "x"})

    assert response.status_code == 404
    assert client.get("/api/wallet/balance").json()["balance"] == "500.00"


@pytest.mark.django_db
def test_paying_an_applied_loan_is_409(borrower, borrower_client):
    loan = applied_loan(borrower)

    response = borrower_client.post(
        PAY, {"loan_id": loan.pk, "amount": "10.00", "idempotency_key": "x"}
    )

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_state"


@pytest.mark.django_db
@pytest.mark.parametrize("amount", ["0", "-5", "1.001", "x", None])
def test_bad_repayment_amounts_are_400(borrower_client, loan, amount):
    response = borrower_client.post(
        PAY, {"loan_id": loan.pk, "amount": amount, "idempotency_key": "x"}
    )

    assert response.status_code == 400
    assert "amount" in response.json()


@pytest.mark.django_db
def test_repayment_needs_an_idempotency_key(borrower_client, loan):
    response = borrower_client.post(PAY, {"loan_id": loan.pk, "amount": "10.00"})

    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_invalid"


@pytest.mark.django_db
def test_repayments_list_for_owner_and_officer(borrower_client, officer_client, loan):
    borrower_client.post(PAY, {"loan_id": loan.pk, "amount": "100.00", "idempotency_key": "a"})
    borrower_client.post(PAY, {"loan_id": loan.pk, "amount": "50.00", "idempotency_key": "b"})

    mine = borrower_client.get(f"/api/repayments/loan/{loan.pk}").json()
    seen = officer_client.get(f"/api/repayments/loan/{loan.pk}").json()

    assert [r["amount"] for r in mine] == ["50.00", "100.00"]
    assert seen == mine


@pytest.mark.django_db
def test_the_whole_borrower_journey(api_client, officer_client):
    """register → deposit → apply → approve → repay in parts → CLOSED, books clean throughout."""
    registered = api_client.post(
        "/api/auth/register",
        {"name": "Meera Iyer", "email": "meera@example.com", "password": "journey-pass-2026"},
    )
    assert registered.status_code == 201
    borrower = client_for_token(registered.json()["access_token"])

    assert (
        borrower.post(
            "/api/wallet/deposit", {"amount": "500.00", "idempotency_key": "d1"}
        ).status_code
        == 201
    )
    applied = borrower.post(
        "/api/loans/apply",
        {"principal_amount": "6000.00", "tenure_months": 3, "interest_rate": "12.00"},
    )
    assert applied.status_code == 201
    loan_id = applied.json()["id"]
    assert_books_clean()

    approved = officer_client.post(
        "/api/loans/admin/approve", {"loan_id": loan_id, "approved": True}
    )
    assert approved.json()["status"] == "ACTIVE"
    assert borrower.get("/api/wallet/balance").json()["balance"] == "6500.00"
    assert_books_clean()

    schedule = borrower.get(f"/api/loans/{loan_id}/schedule").json()
    for number, row in enumerate(schedule, start=1):
        paid = borrower.post(
            PAY, {"loan_id": loan_id, "amount": row["total"], "idempotency_key": f"emi-{number}"}
        )
        assert paid.status_code == 201, paid.content
        assert_books_clean()

    assert paid.json()["loan_closed"] is True
    assert paid.json()["repayment"]["type"] == "FULL"
    loan = borrower.get(f"/api/loans/{loan_id}").json()
    assert (loan["status"], loan["outstanding_amount"]) == ("CLOSED", "0.00")
    total_paid = sum(Decimal(row["total"]) for row in schedule)
    assert borrower.get("/api/wallet/balance").json()["balance"] == str(
        Decimal("6500.00") - total_paid
    )
    history = borrower.get("/api/wallet/transactions").json()
    assert [h["source"] for h in history] == ["EMI_PAYMENT"] * 3 + ["LOAN_DISBURSEMENT", "DEPOSIT"]
    assert JournalEntry.objects.count() == 5
    assert Loan.objects.get(pk=loan_id).status == Loan.Status.CLOSED


def client_for_token(token):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.mark.django_db
def test_a_repayment_needs_only_the_statements_its_locks_and_ledger_require(
    borrower_client, loan, django_assert_num_queries
):
    """The transaction's start (here a savepoint: the test runs in a transaction), the
    key's lock with its stored answer, the loan and wallet locked, the unpaid
    installments, every write in one statement, the stored answer, the end. No user
    query: the token's claims, checked by the lock statement."""
    borrower_client.post(PAY, {"loan_id": loan.pk, "amount": "1.00", "idempotency_key": "warm"})

    with django_assert_num_queries(7) as captured:
        response = borrower_client.post(
            PAY, {"loan_id": loan.pk, "amount": "2.00", "idempotency_key": "measured"}
        )

    statements = [q["sql"].split()[0] for q in captured.captured_queries]
    assert statements == ["SAVEPOINT", "SELECT", "SELECT", "SELECT", "WITH", "INSERT", "RELEASE"]
    assert "pg_try_advisory_xact_lock" in captured.captured_queries[1]["sql"]
    assert "FOR NO KEY UPDATE OF l, a" in captured.captured_queries[2]["sql"]
    assert "loans_installment" in captured.captured_queries[3]["sql"]
    assert response.status_code == 201


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change", [{"is_active": False}, {"role": "OFFICER", "is_staff": True}], ids=["off", "role"]
)
def test_a_token_outliving_its_borrower_moves_no_money(borrower, borrower_client, loan, change):
    """The repayment reads no user row at authentication (the token's claims): its lock
    statement asks the database. A deactivation or a change of role the token cannot
    know of (the cache's revocation missed: Redis down) is refused there."""
    from accounts.models import User
    from wallets.models import Wallet

    balance, owed = Wallet.objects.get(user=borrower).balance, loan.outstanding_amount
    User.objects.filter(pk=borrower.pk).update(**change)  # no signal, no revocation

    response = borrower_client.post(
        PAY, {"loan_id": loan.pk, "amount": "10.00", "idempotency_key": "late"}
    )

    assert response.status_code == 404, response.content
    assert Wallet.objects.get(user=borrower).balance == balance
    assert not Repayment.objects.filter(loan=loan).exists()
    loan.refresh_from_db()
    assert loan.outstanding_amount == owed


@pytest.mark.django_db
@pytest.mark.parametrize("reversed_", [False, True], ids=["standing", "reversed"])
def test_the_answer_built_once_per_process_equals_the_serializers(loan, reversed_):
    """``representation`` reuses one serializer's fields; the answer must not differ by
    a character from the one DRF builds afresh (the schema is the serializer's)."""
    from datetime import UTC, date, datetime, timedelta

    from loans.api.views import RepaymentCreateApi, _repayment_answer

    repayment = Repayment(
        pk=41,
        loan=loan,
        amount=Decimal("1234.50"),
        principal_part=Decimal("1200.00"),
        interest_part=Decimal("30.5"),
        fee_part=Decimal("4.00"),
        value_date=date(2026, 3, 31),
        type=Repayment.Type.PARTIAL,
        purpose=Repayment.Purpose.REDUCE_EMI,
        interest_waived=Decimal("0.00"),
        idempotency_key="k",
        created_at=datetime(2026, 3, 31, 23, 59, 58, 123456, tzinfo=UTC),
    )
    if reversed_:
        repayment.status = Repayment.Status.REVERSED
        repayment.reversed_on = date(2026, 4, 2)
        repayment.reversal_reason = "Cheque bounced"
        repayment.created_at -= timedelta(days=1)
    answer = {"repayment": repayment, "new_outstanding": Decimal("99.9"), "loan_closed": False}

    fast = _repayment_answer(answer)

    assert fast == RepaymentCreateApi.OutputSerializer(answer).data
    # The figures, written out: two places, the platform's time zone (Asia/Kolkata).
    assert fast["new_outstanding"] == "99.90"
    assert fast["repayment"]["interest_part"] == "30.50"
    assert fast["repayment"]["created_at"].endswith("+05:30")
