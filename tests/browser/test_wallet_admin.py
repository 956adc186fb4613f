import pytest
from playwright.sync_api import expect

from tests.accounts.factories import DEFAULT_PASSWORD, BorrowerFactory, OfficerFactory
from tests.browser.conftest import admin_login, screenshot
from wallets.models import Wallet

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_officer_can_look_at_a_wallet_but_not_edit_or_delete_it(open_browser):
    officer = OfficerFactory()
    borrower = BorrowerFactory(email="wanda@example.com", name="Wanda Borrower")

    with open_browser() as page:
        admin_login(page, email=officer.email, password=DEFAULT_PASSWORD)
        page.locator("#wallets-wallet").get_by_role("link", name="Wallets").click()

        expect(page.get_by_role("heading", name="Select wallet to view")).to_be_visible()
        expect(page.locator("#result_list")).to_contain_text("wanda@example.com")
        expect(page.locator("#result_list")).to_contain_text("0.00")
        expect(page.locator("a.addlink")).to_have_count(0)
        expect(page.locator("select[name=action]")).to_have_count(0)
        screenshot(page, "admin-wallet-list")

        page.locator("#result_list").get_by_role("link", name="wanda@example.com").click()
        expect(page.get_by_role("heading", name="View wallet")).to_be_visible()
        expect(page.locator("form input:not([type=hidden])")).to_have_count(0)
        expect(page.locator("[name=_save], [name=_continue], a.deletelink")).to_have_count(0)
        expect(page.locator(".field-balance .readonly")).to_have_text("0.00")
        screenshot(page, "admin-wallet-view")

        page.goto(f"/admin/wallets/wallet/{borrower.pk}/delete/")
        expect(page.get_by_role("heading", name="Permission denied")).to_be_visible()
        screenshot(page, "admin-wallet-delete-refused")

    assert Wallet.objects.filter(pk=borrower.pk).exists()
