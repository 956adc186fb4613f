from decimal import Decimal

import pytest
from django.db import connection

from ledger.models import IdempotencyRecord, JournalEntry
from lendingsite.idempotency import _advisory_lock_id
from tests.accounts.factories import BorrowerFactory
from tests.concurrency import run_concurrently
from tests.conftest import client_for
from wallets.models import Wallet

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
def test_a_money_request_without_an_idempotency_key_is_400(borrower_client):
    response = borrower_client.post(DEPOSIT, {"amount": "1.00"})

    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_invalid"
    assert "idempotency_key" in response.json()
    assert not JournalEntry.objects.exists()


@pytest.mark.django_db
def test_a_key_longer_than_255_characters_is_400(borrower_client):
    response = borrower_client.post(DEPOSIT, {"amount": "1.00", "idempotency_key": "k" * 256})

    assert response.status_code == 400
    assert "idempotency_key" in response.json()


@pytest.mark.django_db
def test_the_key_may_come_in_the_idempotency_key_header(borrower_client, borrower):
    first = borrower_client.post(DEPOSIT, {"amount": "5.00"}, HTTP_IDEMPOTENCY_KEY="hdr-1")
    again = borrower_client.post(DEPOSIT, {"amount": "5.00"}, HTTP_IDEMPOTENCY_KEY="hdr-1")

    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert balance(borrower) == Decimal("5.00")


@pytest.mark.django_db
def test_body_and_header_keys_must_agree(borrower_client):
    response = borrower_client.post(
        DEPOSIT, {"amount": "5.00", "idempotency_key": "a"}, HTTP_IDEMPOTENCY_KEY="b"
    )

    assert response.status_code == 400
    assert not JournalEntry.objects.exists()


@pytest.mark.django_db
def test_a_retry_replays_the_original_response_and_moves_no_money(borrower_client, borrower):
    first = borrower_client.post(DEPOSIT, {"amount": "75.00", "idempotency_key": "same"})
    retry = borrower_client.post(DEPOSIT, {"amount": "75.00", "idempotency_key": "same"})

    assert retry.status_code == first.status_code == 201
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert balance(borrower) == Decimal("75.00")
    assert JournalEntry.objects.count() == 1


@pytest.mark.django_db
def test_amount_spelling_does_not_change_the_fingerprint(borrower_client, borrower):
    borrower_client.post(DEPOSIT, {"amount": "75", "idempotency_key": "same"}, format="json")
    retry = borrower_client.post(
        DEPOSIT, {"amount": 75.0, "idempotency_key": "same"}, format="json"
    )

    assert retry.status_code == 201
    assert retry["Idempotent-Replayed"] == "true"


@pytest.mark.django_db
def test_a_refusal_is_stored_and_replayed_too(borrower_client, borrower):
    refused = borrower_client.post(WITHDRAW, {"amount": "10.00", "idempotency_key": "w"})
    borrower_client.post(DEPOSIT, {"amount": "50.00", "idempotency_key": "d"})
    replay = borrower_client.post(WITHDRAW, {"amount": "10.00", "idempotency_key": "w"})

    assert refused.status_code == replay.status_code == 400
    assert replay.json() == refused.json()
    assert replay["Idempotent-Replayed"] == "true"
    assert balance(borrower) == Decimal("50.00")


@pytest.mark.django_db
def test_the_same_key_with_a_different_body_is_422(borrower_client, borrower):
    borrower_client.post(DEPOSIT, {"amount": "10.00", "idempotency_key": "k"})

    response = borrower_client.post(DEPOSIT, {"amount": "11.00", "idempotency_key": "k"})

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert balance(borrower) == Decimal("10.00")


@pytest.mark.django_db
def test_keys_are_per_endpoint(borrower_client, borrower):
    borrower_client.post(DEPOSIT, {"amount": "10.00", "idempotency_key": "k"})

    response = borrower_client.post(WITHDRAW, {"amount": "10.00", "idempotency_key": "k"})

    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert balance(borrower) == Decimal("0.00")


@pytest.mark.django_db
def test_another_users_key_reveals_nothing_and_is_independent(borrower_client, borrower):
    borrower_client.post(DEPOSIT, {"amount": "999.00", "idempotency_key": "shared"})
    other = BorrowerFactory()

    response = client_for(other).post(DEPOSIT, {"amount": "1.00", "idempotency_key": "shared"})

    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert response.json()["balance"] == "1.00"
    assert "999" not in response.content.decode()
    assert balance(borrower) == Decimal("999.00")


@pytest.mark.django_db
def test_a_key_in_flight_in_another_request_is_409_with_retry_after(borrower_client, borrower):
    """Another connection holds the key's lock, as a request still running would."""
    from django.db import connections

    lock_id = _advisory_lock_id(borrower.pk, "wallet.deposit", "busy")
    other = connections.create_connection("default")
    try:
        other.set_autocommit(False)
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [lock_id])

        response = borrower_client.post(DEPOSIT, {"amount": "1.00", "idempotency_key": "busy"})
    finally:
        other.rollback()
        other.close()

    assert response.status_code == 409
    assert response["Retry-After"] == "1"
    assert response.json()["code"] == "idempotency_key_in_flight"
    assert not JournalEntry.objects.exists()


@pytest.mark.django_db
def test_an_unexpected_error_rolls_back_the_key_so_a_retry_runs_again(borrower, monkeypatch):
    import wallets.api.views as views

    real = views.WalletDepositApi.service
    calls = {"n": 0}

    def flaky(**kwargs):
        calls["n"] += 1
        entry = real(**kwargs)
        if calls["n"] == 1:
            raise RuntimeError("connection lost after posting")
        return entry

    monkeypatch.setattr(views.WalletDepositApi, "service", staticmethod(flaky))
    client = client_for(borrower)
    client.raise_request_exception = False

    crashed = client.post(DEPOSIT, {"amount": "30.00", "idempotency_key": "retry-me"})
    retried = client.post(DEPOSIT, {"amount": "30.00", "idempotency_key": "retry-me"})

    assert crashed.status_code == 500
    assert crashed.json()["code"] == "server_error"
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried
    assert balance(borrower) == Decimal("30.00")
    assert JournalEntry.objects.count() == 1


@pytest.mark.django_db
def test_officers_have_no_wallet_and_get_403(officer_client):
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
@pytest.mark.parametrize("query", ["limit=0", "limit=201", "limit=x", "before=-1"])
def test_transactions_bad_paging_is_400(borrower_client, query):
    assert borrower_client.get(f"/api/wallet/transactions?{query}").status_code == 400


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
def test_the_same_key_sent_concurrently_moves_money_once():
    user = BorrowerFactory()

    results = run_concurrently(
        [
            lambda: client_for(user).post(DEPOSIT, {"amount": "50.00", "idempotency_key": "once"})
            for _ in range(8)
        ]
    )

    statuses = [r.status_code for r in results]
    assert set(statuses) <= {201, 409}
    assert 201 in statuses
    assert balance(user) == Decimal("50.00")
    assert JournalEntry.objects.filter(kind="DEPOSIT").count() == 1
    for response in results:
        if response.status_code == 409:
            assert response["Retry-After"] == "1"


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
