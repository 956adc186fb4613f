"""An officer downloads a loan's statement in Chromium; its first page is kept as a PNG.

Database work happens before and after each ``with open_browser()`` block (see conftest).
"""

import io
import re

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from tests.accounts.factories import DEFAULT_PASSWORD, OfficerFactory
from tests.browser.conftest import admin_login, pdf_page_screenshot, screenshot
from tests.loans.statements.scenario import serviced_loan_scenario

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_officer_downloads_a_loan_statement_as_pdf(open_browser, tmp_path):
    officer = OfficerFactory(email="olga@example.com")
    loan = serviced_loan_scenario()
    saved = tmp_path / "statement.pdf"

    with open_browser() as page:
        admin_login(page, email=officer.email, password=DEFAULT_PASSWORD)
        page.goto(f"/admin/loans/loan/{loan.pk}/change/")
        page.locator(".object-tools").get_by_role("link", name="Statement").click()
        expect(page.get_by_role("heading", name=f"Statement of loan #{loan.pk}")).to_be_visible()
        page.get_by_label("From:").fill("2026-01-10")
        screenshot(page, "loan-statement-form")
        with page.expect_download() as download:
            page.get_by_role("button", name="Download PDF").click()
        assert download.value.suggested_filename == (
            f"loan-{loan.pk}-statement-2026-01-10-2026-03-21.pdf"
        )
        download.value.save_as(saved)

    png = pdf_page_screenshot(saved, "loan-statement-pdf-page-1")
    assert png.stat().st_size > 10_000
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(saved.read_bytes())).pages)
    text = re.sub(r"\s+", " ", text)
    assert "Asha Rao <asha@example.com>" in text
    assert "Closing balance 1,53,362.00" in text
    assert "Page 1 of 1" in text
