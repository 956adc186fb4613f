"""The servicing side of the console, driven in Chromium: the collections queue, a waiver.

Database work happens before and after each ``with open_browser()`` block (see conftest).
"""

from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from loans.models import FeeWaiver, Loan
from tests.accounts.factories import DEFAULT_PASSWORD, BorrowerFactory, OfficerFactory
from tests.browser.conftest import admin_login, screenshot
from tests.loans.factories import active_loan
from tests.loans.servicing.helpers import close_through, set_business_date

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_officer_works_the_collections_queue_and_waives_a_fee(open_browser):
    officer = OfficerFactory(email="cora@example.com")
    borrower = BorrowerFactory(email="lena@example.com", name="Lena Late")
    set_business_date(date(2026, 1, 10))
    loan = active_loan(borrower, OfficerFactory(), principal="12000.00")
    # Nothing paid: on Mar 21st, 39 days past due; installments 1 and 2 (EMI 1,066.19)
    # are overdue with a late fee of 100.00 each: 2,332.38 to collect.
    close_through(date(2026, 3, 20))
    owed = Loan.objects.get(pk=loan.pk).outstanding_amount

    with open_browser() as page:
        admin_login(page, email=officer.email, password=DEFAULT_PASSWORD)
        page.locator("#loans-loan").get_by_role("link", name="Loans").click()
        page.get_by_role("link", name="Collections queue").click()

        expect(page.get_by_role("heading", name="Collections queue")).to_be_visible()
        rows = page.locator(".collections tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("Lena Late")
        expect(rows.first).to_contain_text("lena@example.com")
        expect(rows.first).to_contain_text("2,332.38")
        expect(rows.first).to_contain_text("DPD_31_60")
        screenshot(page, "collections-queue")

        rows.first.get_by_role("link", name=f"Loan #{loan.pk}").click()
        expect(page.locator(".field-days_past_due .readonly")).to_have_text("39")
        expect(page.locator(".field-delinquency_bucket .readonly")).to_have_text("DPD_31_60")
        expect(page.locator(".field-overdue_amount .readonly")).to_have_text("2,332.38")
        expect(page.locator(".field-fees_due .readonly")).to_have_text("200.00")
        screenshot(page, "loan-servicing")

        page.get_by_role("link", name="Waive fee").click()
        expect(
            page.get_by_role("heading", name=f"Waive a late fee on loan #{loan.pk}")
        ).to_be_visible()
        page.get_by_label("Amount to waive").fill("150.00")
        page.get_by_label("Reason").fill("Branch closed by flooding.")
        page.get_by_role("button", name="Waive fee").click()
        expect(page.locator(".messagelist .error")).to_have_text(
            "Amount: 150.00 is more than the unpaid fee 100.00."
        )
        screenshot(page, "waive-fee-refused")

        page.get_by_label("#2, due 2026-03-10").check()
        page.get_by_label("Amount to waive").fill("")  # the whole unpaid fee
        page.get_by_role("button", name="Waive fee").click()

        expect(page.locator(".messagelist .success")).to_have_text(
            f"Waived 100.00 of the late fee on installment #2 of loan #{loan.pk}."
        )
        expect(page.locator(".field-fees_due .readonly")).to_have_text("100.00")
        expect(page.locator(".fee-waivers")).to_contain_text("Branch closed by flooding.")
        expect(page.locator(".fee-waivers")).to_contain_text("cora@example.com")
        screenshot(page, "waive-fee-done")

    waiver = FeeWaiver.objects.get()
    assert (waiver.installment.number, waiver.amount, waiver.officer) == (
        2,
        Decimal("100.00"),
        officer,
    )
    assert Loan.objects.get(pk=loan.pk).outstanding_amount == owed - Decimal("100.00")
