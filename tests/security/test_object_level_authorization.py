"""OWASP API1, broken object level authorization: another user's objects are 'not found'."""

from decimal import Decimal

import pytest

from ledger.models import Posting
from loans.models import Loan, Repayment
from wallets.models import Wallet
from wallets.services import wallet_deposit

READS_BY_LOAN_ID = [
    "/api/loans/{id}",
    "/api/loans/{id}/schedule",
    "/api/loans/{id}/statement",
    "/api/loans/{id}/statement?format=pdf",
    "/api/repayments/loan/{id}",
]


@pytest.mark.django_db
@pytest.mark.parametrize("path", READS_BY_LOAN_ID)
def test_another_borrowers_loan_reads_as_404_like_a_missing_one(borrower_client, victim, path):
    loan = victim["loan"]
    theirs = borrower_client.get(path.format(id=loan.pk))
    missing = borrower_client.get(path.format(id=loan.pk + 10_000))

    assert theirs.status_code == missing.status_code == 404
    assert theirs.json()["code"] == missing.json()["code"] == "not_found"
    # The two answers differ only by the id echoed back: nothing tells that one exists.
    assert theirs.json()["detail"].replace(str(loan.pk), "N") == missing.json()["detail"].replace(
        str(loan.pk + 10_000), "N"
    )
    assert str(loan.principal_amount) not in theirs.content.decode()


@pytest.mark.django_db
def test_paying_another_borrowers_loan_is_404_and_moves_nothing(borrower, borrower_client, victim):
    wallet_deposit(user=borrower, amount=Decimal("1000.00"), idempotency_key="mine")
    loan = victim["loan"]
    loan.refresh_from_db()
    outstanding = loan.outstanding_amount

    response = borrower_client.post(
        "/api/repayments/make-payment",
        {"loan_id": loan.pk, "amount": "50.00", "idempotency_key": "steal"},
    )

    assert response.status_code == 404
    loan.refresh_from_db()
    assert loan.outstanding_amount == outstanding
    assert Wallet.objects.get(user=borrower).balance == Decimal("1000.00")
    assert Repayment.objects.filter(loan=loan).count() == 1


@pytest.mark.django_db
def test_transaction_paging_never_reaches_another_wallet(borrower, borrower_client, victim):
    wallet_deposit(user=borrower, amount=Decimal("10.00"), idempotency_key="mine")
    their_postings = Posting.objects.filter(account__wallet__user=victim["user"])
    newest_of_theirs = their_postings.order_by("-pk").first().pk

    response = borrower_client.get(f"/api/wallet/transactions?before={newest_of_theirs + 1}")

    assert response.status_code == 200
    ids = {row["id"] for row in response.json()}
    assert ids.isdisjoint(their_postings.values_list("pk", flat=True))
    assert {row["user_id"] for row in response.json()} <= {borrower.pk}


@pytest.mark.django_db
def test_an_officer_sees_any_loan_but_a_borrower_sees_only_their_own(
    borrower_client, officer_client, victim
):
    loan = victim["loan"]

    assert officer_client.get(f"/api/loans/{loan.pk}").status_code == 200
    assert borrower_client.get(f"/api/loans/{loan.pk}").status_code == 404
    mine = borrower_client.get("/api/loans/my-loans").json()
    assert all(row["user_id"] != victim["user"].pk for row in mine)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/loans/admin/pending"),
        ("post", "/api/loans/admin/approve"),
    ],
)
def test_borrowers_cannot_reach_officer_endpoints(borrower_client, victim, method, path):
    body = {"loan_id": victim["loan"].pk, "approved": True}
    response = getattr(borrower_client, method)(path, body if method == "post" else None)

    assert response.status_code == 403
    assert Loan.objects.get(pk=victim["loan"].pk).status == Loan.Status.ACTIVE
