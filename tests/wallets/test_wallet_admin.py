import pytest
from django.urls import reverse

from tests.accounts.factories import AdminFactory, BorrowerFactory, OfficerFactory
from wallets.models import Wallet

CHANGELIST = reverse("admin:wallets_wallet_changelist")


@pytest.fixture(params=["officer", "admin"])
def staff_client(request, client, db):
    user = OfficerFactory() if request.param == "officer" else AdminFactory()
    client.force_login(user)
    return client


def test_staff_see_the_wallet_list_with_owner_emails(staff_client):
    borrower = BorrowerFactory(email="wanda@example.com")

    response = staff_client.get(CHANGELIST)

    assert response.status_code == 200
    assert borrower.email in response.text
    assert reverse("admin:wallets_wallet_add") not in response.text
    assert 'name="action"' not in response.text  # no bulk delete


def test_search_by_owner_email(staff_client):
    BorrowerFactory(email="wanda@example.com")
    BorrowerFactory(email="xavier@example.com")

    response = staff_client.get(CHANGELIST, {"q": "WANDA"})

    assert [w.user.email for w in response.context["cl"].result_list] == ["wanda@example.com"]


def test_wallet_page_is_read_only(staff_client):
    borrower = BorrowerFactory()
    url = reverse("admin:wallets_wallet_change", args=[borrower.pk])

    response = staff_client.get(url)

    assert response.status_code == 200
    assert "View wallet" in response.text
    assert 'name="_save"' not in response.text
    assert reverse("admin:wallets_wallet_delete", args=[borrower.pk]) not in response.text


def test_staff_cannot_add_change_or_delete_wallets(staff_client):
    borrower = BorrowerFactory()
    change = reverse("admin:wallets_wallet_change", args=[borrower.pk])
    delete = reverse("admin:wallets_wallet_delete", args=[borrower.pk])

    assert staff_client.get(reverse("admin:wallets_wallet_add")).status_code == 403
    assert staff_client.post(change, {"balance": "999.00", "currency": "USD"}).status_code == 403
    assert staff_client.get(delete).status_code == 403
    assert staff_client.post(delete, {"post": "yes"}).status_code == 403
    bulk = staff_client.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": [borrower.pk], "post": "yes"}
    )
    assert bulk.status_code == 200  # the action is unknown: the list is shown again

    assert Wallet.objects.filter(pk=borrower.pk).exists()
    borrower.wallet.refresh_from_db()
    assert str(borrower.wallet.balance) == "0.00"
    assert borrower.wallet.currency != "USD"


def test_refusals_in_the_admin_are_html_pages(staff_client):
    borrower = BorrowerFactory()

    response = staff_client.get(reverse("admin:wallets_wallet_delete", args=[borrower.pk]))

    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")
    assert "Permission denied" in response.text


def test_borrowers_are_sent_to_the_admin_login(client, db):
    client.force_login(BorrowerFactory())

    response = client.get(CHANGELIST)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


# Session, user, (officer) user and group permissions, count, rows, currency filter.
MAX_CHANGELIST_QUERIES = 7


@pytest.mark.parametrize("role", ["officer", "admin"])
def test_changelist_queries_do_not_grow_with_the_rows(
    role, client, db, django_assert_max_num_queries
):
    client.force_login(OfficerFactory() if role == "officer" else AdminFactory())
    BorrowerFactory.create_batch(2)
    with django_assert_max_num_queries(MAX_CHANGELIST_QUERIES) as few:
        assert client.get(CHANGELIST).status_code == 200

    BorrowerFactory.create_batch(47)  # 50 wallets with the signed-in user's own
    with django_assert_max_num_queries(MAX_CHANGELIST_QUERIES) as many:
        response = client.get(CHANGELIST)
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 50

    assert len(many.captured_queries) == len(few.captured_queries)


def test_search_queries_do_not_grow_with_the_rows(client, db, django_assert_max_num_queries):
    client.force_login(OfficerFactory())
    BorrowerFactory.create_batch(30)

    with django_assert_max_num_queries(MAX_CHANGELIST_QUERIES):
        response = client.get(CHANGELIST, {"q": "user"})  # the borrowers, not the officer

    assert len(response.context["cl"].result_list) == 30
