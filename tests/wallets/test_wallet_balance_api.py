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
