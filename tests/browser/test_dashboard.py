import pytest
from playwright.sync_api import expect

from tests.accounts.factories import DEFAULT_PASSWORD, BorrowerFactory, OfficerFactory
from tests.browser.conftest import admin_login, screenshot
from tests.loans.factories import portfolio

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_dashboard_draws_the_portfolio_and_its_charts(open_browser, live_server):
    loans = portfolio()  # five borrowers, one loan in every state
    BorrowerFactory.create_batch(2)
    officer = OfficerFactory()

    with open_browser() as page:
        admin_login(page, email=officer.email, password=DEFAULT_PASSWORD)
        page.locator("#user-tools").get_by_role("link", name="Dashboard").click()

        expect(page).to_have_url(f"{live_server.url}/admin/dashboard/")
        headlines = page.locator(".dashboard-headlines li")
        expect(headlines).to_have_count(9)
        expect(headlines.filter(has_text="PAR30")).to_contain_text("0.00 %")
        expect(headlines.filter(has_text="Disbursed")).to_contain_text("13,200.00")
        expect(headlines.filter(has_text="Outstanding principal")).to_contain_text("11,120.00")
        expect(headlines.filter(has_text="Collected interest")).to_contain_text("132.00")
        expect(headlines.filter(has_text="Written off")).to_contain_text("0.00")
        expect(headlines.filter(has_text="Recovered")).to_contain_text("0.00")

        status = page.locator("section.dashboard-panel", has_text="Loans by status")
        expect(status.locator("tbody tr")).to_have_count(6)  # WRITTEN_OFF too, with none
        expect(status.locator("tfoot")).to_contain_text("3,05,200.00")

        risk = page.locator("section.dashboard-panel", has_text="Portfolio at risk")
        expect(risk.locator("tbody tr")).to_have_count(4)
        expect(risk.locator("svg.chart rect.chart-bar")).to_have_count(4)
        aging = page.locator("section.dashboard-panel", has_text="delinquency bucket")
        expect(aging.locator("tbody tr")).to_have_count(1)  # every loan is current
        expect(aging.locator("tbody tr")).to_contain_text("CURRENT")

        flows = page.locator("section.dashboard-panel", has_text="Disbursements and repayments")
        chart = flows.locator("svg.chart")
        expect(chart).to_be_visible()
        disbursed = chart.locator("rect.chart-bar.chart-series-0")
        repaid = chart.locator("rect.chart-bar.chart-series-1")
        expect(disbursed).to_have_count(12)
        expect(repaid).to_have_count(12)
        expect(disbursed.last).to_have_attribute("data-value", "13200.00")
        expect(repaid.last).to_have_attribute("data-value", "2212.00")
        # This month's bars stand, the disbursement far above the repayments.
        tall, short = disbursed.last.bounding_box(), repaid.last.bounding_box()
        assert tall["height"] > 150 and 10 < short["height"] < tall["height"] / 4
        assert [disbursed.nth(i).bounding_box()["height"] for i in range(11)] == [0] * 11
        expect(chart.locator("rect.chart-legend")).to_have_count(2)

        registrations = page.locator("section.dashboard-panel", has_text="Borrower registrations")
        bars = registrations.locator("svg.chart rect.chart-bar")
        expect(bars).to_have_count(12)
        expect(bars.last).to_have_attribute("data-value", "7")
        screenshot(page, "admin-dashboard")

        activity = page.locator("section.dashboard-panel", has_text="Recent activity")
        expect(activity.locator("tbody tr")).to_have_count(10)
        closed = loans["closed"]
        activity.get_by_role("link", name=f"Loan #{closed.pk}").first.click()
        expect(page.get_by_role("heading", name=f"Loan #{closed.pk} (CLOSED)")).to_be_visible()
