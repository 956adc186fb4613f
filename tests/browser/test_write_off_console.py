"""Writing a loan off from the console, driven in Chromium: two officers above the threshold.

Database work happens before and after each ``with open_browser()`` block (see conftest).
"""

from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from loans.models import Loan, OfficerActionRequest
from loans.services import loan_approve
from tests.accounts.factories import DEFAULT_PASSWORD, BorrowerFactory, OfficerFactory
from tests.browser.conftest import admin_login, screenshot
from tests.loans.factories import LoanProductFactory, active_loan
from tests.loans.servicing.helpers import close_through, set_business_date

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_two_officers_write_a_loan_off_from_the_console(open_browser):
    maker = OfficerFactory(email="mira@example.com")
    checker = OfficerFactory(email="chen@example.com")
    set_business_date(date(2026, 1, 1))
    product = LoanProductFactory()  # maker-checker threshold 50,000.00
    loan = active_loan(BorrowerFactory(), principal="60000.00", product=product.code)
    loan_approve(loan_id=loan.pk, officer=OfficerFactory())  # a large loan: a second officer
    # By 15 Feb nothing is paid: 60,000.00 principal, #1's interest 600.00 (1 % of
    # 60,000.00) and its late fee 106.62 (2 % of the EMI 5,330.93): 60,706.62.
    close_through(date(2026, 2, 14))

    with open_browser() as page:
        admin_login(page, email=maker.email, password=DEFAULT_PASSWORD)
        page.goto(f"/admin/loans/loan/{loan.pk}/change/")
        page.get_by_role("link", name="Write off").click()
        expect(page.get_by_role("heading", name=f"Write off loan #{loan.pk}")).to_be_visible()
        expect(page.locator(".loan-decision")).to_contain_text("60,706.62")
        page.get_by_label("Reason (required):").fill("Borrower has absconded.")
        screenshot(page, "write-off-asked")
        page.get_by_role("button", name="Write off").click()
        expect(page.locator(".messagelist .warning")).to_contain_text(
            "a second officer must confirm it"
        )
        expect(page.locator(".field-officer_requests")).to_contain_text("mira@example.com")

    assert Loan.objects.get(pk=loan.pk).status == Loan.Status.ACTIVE

    with open_browser() as page:
        page.context.clear_cookies()  # the profile of this test still holds the first session
        admin_login(page, email=checker.email, password=DEFAULT_PASSWORD)
        page.goto(f"/admin/loans/loan/{loan.pk}/change/")
        page.get_by_role("link", name="Write off").click()
        expect(page.locator(".loan-decision")).to_contain_text("mira@example.com asked")
        expect(page.get_by_label("Reason (required):")).to_have_value("Borrower has absconded.")
        page.get_by_role("button", name="Write off").click()
        expect(page.locator(".messagelist .success")).to_have_text(
            f"Loan #{loan.pk} is now WRITTEN_OFF (60,706.62 written off)."
        )
        expect(page.get_by_role("link", name="Write off")).to_have_count(0)
        expect(page.locator(".field-write_off_summary")).to_contain_text(
            "chen@example.com, confirming mira@example.com's request"
        )
        expect(page.locator(".field-overdue_amount .readonly")).to_have_text("0.00")
        screenshot(page, "write-off-done")

    loan.refresh_from_db()
    assert (loan.status, loan.written_off_amount) == (Loan.Status.WRITTEN_OFF, Decimal("60706.62"))
    assert OfficerActionRequest.objects.get().confirmed_by == checker
