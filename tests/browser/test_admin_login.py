import pytest
from playwright.sync_api import expect

from tests.accounts.factories import DEFAULT_PASSWORD, BorrowerFactory, OfficerFactory
from tests.browser.conftest import admin_login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_officer_signs_in_and_sees_the_index(open_browser, live_server):
    officer = OfficerFactory(email="olga@example.com")

    with open_browser() as page:
        admin_login(page, email=officer.email, password=DEFAULT_PASSWORD)

        expect(page).to_have_url(f"{live_server.url}/admin/")
        expect(page.locator("#user-tools")).to_contain_text("Welcome, olga@example.com")
        expect(page.get_by_role("heading", name="Back office")).to_be_visible()
        expect(page.locator("#accounts-user").get_by_role("link", name="Users")).to_be_visible()
        expect(page.locator("#wallets-wallet").get_by_role("link", name="Wallets")).to_be_visible()
        # View rights only: no "Add" link on either model.
        expect(page.locator("#content-main a.addlink")).to_have_count(0)
        expect(page.locator("#user-tools").get_by_role("link", name="Dashboard")).to_be_visible()
        screenshot(page, "admin-officer-index")


def test_borrower_is_refused_at_the_admin(open_browser, live_server):
    borrower = BorrowerFactory()

    with open_browser() as page:
        admin_login(page, email=borrower.email, password=DEFAULT_PASSWORD)

        expect(page.locator(".errornote")).to_contain_text(
            "Please enter the correct email and password for a staff account."
        )
        screenshot(page, "admin-borrower-refused")
        cookies = {cookie["name"] for cookie in page.context.cookies()}
        assert "sessionid" not in cookies

        page.goto("/admin/")
        expect(page).to_have_url(f"{live_server.url}/admin/login/?next=/admin/")
        expect(page.get_by_role("button", name="Log in")).to_be_visible()
