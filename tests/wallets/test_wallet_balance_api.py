import pytest


@pytest.mark.django_db
def test_balance_of_a_new_wallet_is_zero_with_two_places(borrower_client, borrower, settings):
    response = borrower_client.get("/api/wallet/balance")

    assert response.status_code == 200
    assert response.json() == {
        "user_id": borrower.pk,
        "balance": "0.00",
        "currency": settings.CURRENCY,
    }


def test_balance_needs_a_token(client, db):
    response = client.get("/api/wallet/balance")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["OFFICER", "ADMIN"])
def test_staff_read_their_own_wallet_as_in_the_seed(role, settings):
    """The seed's web page loads the balance and the history for every signed-in user."""
    from tests.accounts.factories import UserFactory
    from tests.conftest import client_for

    staff = UserFactory(role=role)
    client = client_for(staff)

    balance = client.get("/api/wallet/balance")
    history = client.get("/api/wallet/transactions")

    assert balance.status_code == 200
    assert balance.json() == {"user_id": staff.pk, "balance": "0.00", "currency": settings.CURRENCY}
    assert history.status_code == 200
    assert history.json() == []


@pytest.mark.django_db
def test_a_balance_read_is_one_statement(borrower_client, borrower, django_assert_num_queries):
    """No user query (the token's claims), no transaction: the wallet and its account."""
    borrower_client.get("/api/wallet/balance")  # warm: the first request of a process

    with django_assert_num_queries(1) as captured:
        response = borrower_client.get("/api/wallet/balance")

    assert response.status_code == 200
    assert "ledger_account" in captured.captured_queries[0]["sql"]
