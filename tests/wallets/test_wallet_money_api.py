from decimal import Decimal

import pytest
from django.db import connection

from idempotency.models import IdempotencyRecord
from ledger.models import JournalEntry
from tests.accounts.factories import BorrowerFactory
from tests.concurrency import run_concurrently
from tests.conftest import client_for
from wallets.models import Wallet
from wallets.services import wallet_deposit

DEPOSIT = "/api/wallet/deposit"
WITHDRAW = "/api/wallet/withdraw"


def balance(user) -> Decimal:
    return Wallet.objects.get(user=user).balance


@pytest.mark.django_db
def test_deposit_credits_the_wallet_and_returns_the_new_balance(borrower_client, borrower):
    response = borrower_client.post(DEPOSIT, {"amount": "250.75", "idempotency_key": "d-1"})

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["amount"] == "250.75"
    assert body["balance"] == "250.75"
    assert body["reference_id"] == f"deposit:{borrower.pk}:d-1"
    assert balance(borrower) == Decimal("250.75")


@pytest.mark.django_db
def test_amount_may_be_a_json_number(borrower_client, borrower):
    response = borrower_client.post(
        DEPOSIT, {"amount": 10.5, "idempotency_key": "n"}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["amount"] == "10.50"


@pytest.mark.django_db
def test_withdraw_debits_the_wallet(borrower_client, borrower):
    borrower_client.post(DEPOSIT, {"amount": "100.00", "idempotency_key": "d"})

    response = borrower_client.post(WITHDRAW, {"amount": "60.00", "idempotency_key": "w"})

    assert response.status_code == 201
    assert response.json()["balance"] == "40.00"
    assert balance(borrower) == Decimal("40.00")


@pytest.mark.django_db
def test_withdrawing_more_than_the_balance_is_400_naming_the_shortfall(borrower_client, borrower):
    borrower_client.post(DEPOSIT, {"amount": "20.00", "idempotency_key": "d"})

    response = borrower_client.post(WITHDRAW, {"amount": "25.50", "idempotency_key": "w"})

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "insufficient_funds"
    assert body["shortfall"] == "5.50"
    assert "short by 5.50" in body["detail"]
    assert balance(borrower) == Decimal("20.00")
    assert JournalEntry.objects.filter(kind="WITHDRAWAL").count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "amount",
    ["-5.00", "0", "0.00", "10.001", "abc", "", "NaN", "Infinity", "1e3", "100000000.00", None],
)
def test_bad_amounts_are_400_naming_the_field_and_move_nothing(borrower_client, borrower, amount):
    response = borrower_client.post(
        DEPOSIT, {"amount": amount, "idempotency_key": "k"}, format="json"
    )

    assert response.status_code == 400
    assert "amount" in response.json()
    assert response.json()["detail"].startswith("amount")
    assert not JournalEntry.objects.exists()
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db
def test_amount_above_the_configured_maximum_is_refused(borrower_client, settings):
    response = borrower_client.post(
        DEPOSIT,
        {"amount": str(settings.MAX_TRANSFER_AMOUNT + Decimal("0.01")), "idempotency_key": "k"},
    )

    assert response.status_code == 400
    assert "amount" in response.json()


@pytest.mark.django_db
def test_officers_have_a_wallet_but_move_no_money_through_it(officer_client):
    response = officer_client.post(DEPOSIT, {"amount": "1.00", "idempotency_key": "k"})

    assert response.status_code == 403
    assert response.json()["detail"] == "Only borrowers can do this."


@pytest.mark.django_db
def test_transactions_list_newest_first_in_the_seed_shape(borrower_client, borrower):
    borrower_client.post(DEPOSIT, {"amount": "100.00", "idempotency_key": "d"})
    borrower_client.post(WITHDRAW, {"amount": "40.00", "idempotency_key": "w"})

    response = borrower_client.get("/api/wallet/transactions")

    assert response.status_code == 200
    rows = response.json()
    assert [(r["type"], r["source"], r["amount"]) for r in rows] == [
        ("DEBIT", "WITHDRAWAL", "40.00"),
        ("CREDIT", "DEPOSIT", "100.00"),
    ]
    assert set(rows[0]) == {
        "id",
        "user_id",
        "amount",
        "type",
        "source",
        "reference_id",
        "description",
        "created_at",
    }
    assert rows[0]["user_id"] == borrower.pk
    assert rows[0]["reference_id"] == f"withdraw:{borrower.pk}:w"


@pytest.mark.django_db
def test_transactions_page_with_limit_and_the_link_header(borrower_client):
    for n in range(5):
        borrower_client.post(DEPOSIT, {"amount": f"{n + 1}.00", "idempotency_key": f"d{n}"})

    first = borrower_client.get("/api/wallet/transactions?limit=2")
    next_url = first["Link"].split(";")[0].strip("<>")
    second = borrower_client.get(next_url)
    last = borrower_client.get(second["Link"].split(";")[0].strip("<>"))

    assert [r["amount"] for r in first.json()] == ["5.00", "4.00"]
    assert [r["amount"] for r in second.json()] == ["3.00", "2.00"]
    assert [r["amount"] for r in last.json()] == ["1.00"]
    assert "Link" not in last


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["limit=0", "limit=-5", "limit=x", "before=-1"])
def test_transactions_bad_paging_is_400(borrower_client, query):
    assert borrower_client.get(f"/api/wallet/transactions?{query}").status_code == 400


@pytest.mark.django_db
def test_transactions_pages_hold_100_by_default_and_200_at_most_as_in_the_seed(
    borrower, borrower_client
):
    for n in range(205):
        wallet_deposit(user=borrower, amount=Decimal("1.00"), idempotency_key=f"d{n}")

    default = borrower_client.get("/api/wallet/transactions")
    clamped = borrower_client.get("/api/wallet/transactions?limit=5000")

    assert default.status_code == clamped.status_code == 200
    assert len(default.json()) == 100
    assert "limit=100&" in default["Link"]
    assert len(clamped.json()) == 200
    assert "limit=200&" in clamped["Link"]


@pytest.mark.django_db
def test_transactions_show_only_the_callers_wallet(borrower_client):
    other = BorrowerFactory()
    client_for(other).post(DEPOSIT, {"amount": "9.00", "idempotency_key": "x"})

    assert borrower_client.get("/api/wallet/transactions").json() == []


# --- real concurrency: each request on its own connection -------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_withdrawals_let_through_exactly_what_the_balance_allows():
    user = BorrowerFactory()
    client_for(user).post(DEPOSIT, {"amount": "100.00", "idempotency_key": "seed"})

    results = run_concurrently(
        [
            lambda n=n: client_for(user).post(
                WITHDRAW, {"amount": "30.00", "idempotency_key": f"w{n}"}
            )
            for n in range(10)
        ]
    )

    statuses = sorted(r.status_code for r in results)
    assert statuses == [201] * 3 + [400] * 7
    assert balance(user) == Decimal("10.00")
    assert JournalEntry.objects.filter(kind="WITHDRAWAL").count() == 3


@pytest.mark.django_db(transaction=True)
def test_concurrent_transfers_on_many_wallets_keep_the_books_clean():
    from io import StringIO

    from django.core.management import call_command

    users = BorrowerFactory.create_batch(4)
    for user in users:
        client_for(user).post(DEPOSIT, {"amount": "100.00", "idempotency_key": "seed"})

    work = []
    for n in range(24):
        user = users[n % 4]
        path = WITHDRAW if n % 3 else DEPOSIT
        work.append(
            lambda u=user, p=path, n=n: client_for(u).post(
                p, {"amount": "45.00", "idempotency_key": f"k{n}"}
            )
        )
    results = run_concurrently(work)

    assert all(r.status_code in (201, 400) for r in results)
    assert all(balance(u) >= 0 for u in users)
    out = StringIO()
    call_command("reconcile", stdout=out)  # exits 1 (SystemExit) on any mismatch
    assert "books are clean" in out.getvalue()
    connection.close()
