"""The idempotency contract (idempotency.api), exercised through the deposit endpoint.

Every money-moving endpoint subclasses ``IdempotentApi``; deposits are the simplest.
"""

from decimal import Decimal

import pytest

from idempotency.api import _advisory_lock_id
from ledger.models import JournalEntry
from tests.accounts.factories import BorrowerFactory
from tests.concurrency import run_concurrently
from tests.conftest import client_for
from wallets.models import Wallet

DEPOSIT = "/api/wallet/deposit"
WITHDRAW = "/api/wallet/withdraw"


def balance(user) -> Decimal:
    return Wallet.objects.get(user=user).balance


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
