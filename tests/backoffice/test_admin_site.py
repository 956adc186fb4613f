import re

import pytest
from django.contrib import admin
from django.urls import reverse

from backoffice.site import LendingAdminSite
from tests.accounts.factories import DEFAULT_PASSWORD, AdminFactory, BorrowerFactory, OfficerFactory

DASHBOARD = reverse("admin:dashboard")


def test_the_default_admin_site_is_the_back_office():
    assert isinstance(admin.site, LendingAdminSite)


@pytest.mark.django_db
@pytest.mark.parametrize("factory", [OfficerFactory, AdminFactory])
def test_officers_and_admins_sign_in_at_the_admin(client, factory):
    user = factory()

    response = client.post(
        reverse("admin:login"),
        {"username": user.email, "password": DEFAULT_PASSWORD, "next": "/admin/"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    index = client.get("/admin/")
    assert index.status_code == 200
    assert "Site administration" not in index.text  # the back office's own title
    assert "Back office" in index.text


@pytest.mark.django_db
def test_borrowers_are_refused_at_the_admin_login(client):
    borrower = BorrowerFactory()

    response = client.post(
        reverse("admin:login"),
        {"username": borrower.email, "password": DEFAULT_PASSWORD, "next": "/admin/"},
    )

    assert response.status_code == 200
    assert "correct email and password for a staff account" in response.text
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302


@pytest.mark.django_db
def test_officer_index_lists_what_officers_may_see(client):
    client.force_login(OfficerFactory())

    response = client.get("/admin/")

    models = {m["object_name"] for app in response.context["app_list"] for m in app["models"]}
    assert models == {
        "User",
        "Wallet",
        "Loan",
        "LoanProduct",
        "Repayment",
        "CloseFailure",
        "OfficerActionRequest",
        "Account",
        "JournalEntry",
        "Posting",
        "IdempotencyRecord",
        "Notification",
    }


@pytest.mark.django_db
def test_dashboard_is_for_staff_only(client):
    assert client.get(DASHBOARD).status_code == 302

    client.force_login(BorrowerFactory())
    response = client.get(DASHBOARD)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.django_db
@pytest.mark.parametrize("factory", [OfficerFactory, AdminFactory])
def test_dashboard_charts_registrations_of_the_last_twelve_months(client, factory):
    BorrowerFactory.create_batch(3)
    client.force_login(factory())

    response = client.get(DASHBOARD)

    assert response.status_code == 200
    assert "Borrower registrations per month" in response.text
    values = re.findall(r'<rect class="chart-bar"[^>]*data-value="(\d+)"', response.text)
    assert len(values) == 12
    assert values[-1] == "3"  # this month
    assert set(values[:-1]) == {"0"}


@pytest.mark.django_db
def test_dashboard_queries_do_not_grow_with_the_users(
    client, settings, django_assert_max_num_queries
):
    settings.DASHBOARD_CACHE_SECONDS = 0
    client.force_login(OfficerFactory())
    BorrowerFactory.create_batch(2)
    with django_assert_max_num_queries(12) as few:
        client.get(DASHBOARD)
    BorrowerFactory.create_batch(20)
    with django_assert_max_num_queries(12) as many:
        client.get(DASHBOARD)

    assert len(many.captured_queries) == len(few.captured_queries)


@pytest.mark.django_db
def test_every_admin_page_links_to_the_dashboard(client):
    client.force_login(OfficerFactory())

    response = client.get(reverse("admin:wallets_wallet_changelist"))

    assert f'href="{DASHBOARD}"' in response.text


@pytest.mark.django_db
def test_unknown_admin_url_is_an_html_page_and_api_stays_json(client):
    client.force_login(OfficerFactory())

    page = client.get("/admin/no-such-page/")
    api = client.get("/api/no-such-thing")

    assert page.status_code == 404
    assert page["Content-Type"].startswith("text/html")
    assert "Page not found" in page.text
    assert api.status_code == 404
    assert api.json()["detail"] == "Not found."
