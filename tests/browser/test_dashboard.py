import pytest
from playwright.sync_api import expect

from tests.accounts.factories import DEFAULT_PASSWORD, BorrowerFactory, OfficerFactory
from tests.browser.conftest import admin_login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_dashboard_draws_the_registrations_chart(open_browser, live_server):
    BorrowerFactory.create_batch(4)
    officer = OfficerFactory()

    with open_browser() as page:
        admin_login(page, email=officer.email, password=DEFAULT_PASSWORD)
        page.locator("#user-tools").get_by_role("link", name="Dashboard").click()

        expect(page).to_have_url(f"{live_server.url}/admin/dashboard/")
        panel = page.locator("section.dashboard-panel").first
        expect(panel.get_by_role("heading")).to_contain_text("Borrower registrations per month")
        chart = panel.locator("svg.chart")
        expect(chart).to_be_visible()
        bars = chart.locator("rect.chart-bar")
        expect(bars).to_have_count(12)
        # This month's bar is drawn with a height; the others are empty months.
        expect(bars.last).to_have_attribute("data-value", "4")
        box = bars.last.bounding_box()
        assert box is not None and box["height"] > 50
        assert [bars.nth(i).bounding_box()["height"] for i in range(11)] == [0] * 11
        screenshot(page, "admin-dashboard")
