"""The loan officers' console, driven in Chromium: decisions, maker-checker, the list.

Database work happens before and after each ``with open_browser()`` block (see conftest).
"""

from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from loans.models import Loan, LoanEvent
from tests.accounts.factories import DEFAULT_PASSWORD, BorrowerFactory, OfficerFactory
from tests.browser.conftest import admin_login, screenshot
from tests.loans.factories import applied_loan
from wallets.models import Wallet

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def open_loan_from_the_list(page: Page, loan_id: int) -> None:
    page.locator("#loans-loan").get_by_role("link", name="Loans").click()
    page.locator("#result_list").get_by_role("link", name=str(loan_id), exact=True).click()
    expect(page.get_by_role("heading", name=f"Loan #{loan_id}")).to_be_visible()


def status_shown(page: Page):
    return page.locator(".field-status .readonly")


def sign_out(page: Page) -> None:
    page.locator("#logout-form button").click()
    expect(page.get_by_role("heading", name="Logged out")).to_be_visible()


def test_officer_approves_a_pending_loan_and_the_wallet_is_credited(open_browser):
    officer = OfficerFactory(email="olga@example.com")
    borrower = BorrowerFactory(email="bruno@example.com")
    loan = applied_loan(borrower, principal="12000.00")

    with open_browser() as page:
        admin_login(page, email=officer.email, password=DEFAULT_PASSWORD)
        page.locator("#loans-loan").get_by_role("link", name="Loans").click()
        expect(page.locator("#result_list tbody tr").first).to_contain_text("bruno@example.com")
        screenshot(page, "loan-list-pending-first")
        open_loan_from_the_list(page, loan.pk)
        expect(status_shown(page)).to_have_text("Applied")
        expect(page.locator(".field-wallet_balance .readonly")).to_have_text("0.00 INR")
        screenshot(page, "loan-before-approval")

        page.get_by_role("link", name="Approve and disburse").click()
        expect(page.get_by_role("heading", name=f"Approve loan #{loan.pk}")).to_be_visible()
        expect(page.locator("#content-main")).to_contain_text("pays 12,000.00 into")
        screenshot(page, "loan-approve-confirmation")
        page.get_by_role("button", name="Approve and disburse").click()

        expect(page.locator(".messagelist .success")).to_have_text(
            f"Loan #{loan.pk} is now ACTIVE."
        )
        expect(status_shown(page)).to_have_text("Active")
        expect(page.locator(".field-wallet_balance .readonly")).to_have_text("12,000.00 INR")
        expect(page.locator(".field-disbursed_by .readonly")).to_contain_text("olga@example.com")
        expect(page.get_by_role("link", name="Approve and disburse")).to_have_count(0)
        expect(page.get_by_role("link", name="Reject", exact=True)).to_have_count(0)
        screenshot(page, "loan-after-approval")

    loan.refresh_from_db()
    assert loan.status == Loan.Status.ACTIVE
    assert loan.approved_by == loan.disbursed_by == officer
    assert Wallet.objects.get(user=borrower).balance == Decimal("12000.00")
    trail = LoanEvent.objects.filter(loan=loan).values_list("source", "target", "actor__email")
    assert list(trail) == [
        ("", "APPLIED", "bruno@example.com"),
        ("APPLIED", "APPROVED", "olga@example.com"),
        ("APPROVED", "ACTIVE", "olga@example.com"),
    ]


def test_a_rejection_needs_a_reason(open_browser):
    officer = OfficerFactory()
    borrower = BorrowerFactory()
    loan = applied_loan(borrower)

    with open_browser() as page:
        admin_login(page, email=officer.email, password=DEFAULT_PASSWORD)
        open_loan_from_the_list(page, loan.pk)
        page.get_by_role("link", name="Reject", exact=True).click()
        expect(page.get_by_role("heading", name=f"Reject loan #{loan.pk}")).to_be_visible()
        reason = page.get_by_label("Reason")

        # An empty box is stopped by the browser; blanks get past it and are refused.
        page.get_by_role("button", name="Reject").click()
        expect(page.locator("#id_reason:invalid")).to_have_count(1)
        reason.fill("   ")
        page.get_by_role("button", name="Reject").click()
        expect(page.locator(".messagelist .error")).to_have_text("A rejection needs a reason.")
        expect(page.locator(".loan-decision tr", has_text="Status")).to_contain_text("APPLIED")
        screenshot(page, "loan-reject-refused")

        page.get_by_label("Reason").fill("Proof of income is missing.")
        page.get_by_role("button", name="Reject").click()

        expect(page.locator(".messagelist .success")).to_have_text(
            f"Loan #{loan.pk} is now REJECTED."
        )
        expect(status_shown(page)).to_have_text("Rejected")
        expect(page.locator(".field-rejection_reason .readonly")).to_have_text(
            "Proof of income is missing."
        )
        screenshot(page, "loan-rejected")

    loan.refresh_from_db()
    assert loan.status == Loan.Status.REJECTED
    assert loan.rejected_by == officer
    assert loan.rejection_reason == "Proof of income is missing."
    trail = LoanEvent.objects.filter(loan=loan).values_list("source", "target", "reason")
    assert list(trail) == [
        ("", "APPLIED", ""),
        ("APPLIED", "REJECTED", "Proof of income is missing."),
    ]
    assert Wallet.objects.get(user=borrower).balance == Decimal("0.00")


def test_maker_checker_a_large_loan_needs_a_second_officer(open_browser):
    maker = OfficerFactory(email="maker@example.com")
    checker = OfficerFactory(email="checker@example.com")
    borrower = BorrowerFactory()
    loan = applied_loan(borrower, principal="250000.00", tenure=24)

    with open_browser() as page:
        admin_login(page, email=maker.email, password=DEFAULT_PASSWORD)
        open_loan_from_the_list(page, loan.pk)
        page.get_by_role("link", name="Approve", exact=True).click()
        expect(page.locator("#content-main")).to_contain_text("a second officer disburses it")
        page.get_by_role("button", name="Approve").click()

        expect(page.locator(".messagelist .success")).to_have_text(
            f"Loan #{loan.pk} is now APPROVED."
        )
        expect(status_shown(page)).to_have_text("Approved")
        expect(page.locator(".field-wallet_balance .readonly")).to_have_text("0.00 INR")
        screenshot(page, "loan-maker-checker-approved")

        # The maker is offered the button, and refused when pressing it.
        page.get_by_role("link", name="Disburse (second officer)").click()
        expect(page.locator("#content-main")).to_contain_text("You approved this loan")
        page.get_by_role("button", name="Disburse (second officer)").click()
        expect(page.locator(".messagelist .error")).to_contain_text(
            "the officer who approved it cannot also disburse it"
        )
        expect(status_shown(page)).to_have_text("Approved")
        screenshot(page, "loan-maker-checker-same-officer-refused")

        sign_out(page)
        admin_login(page, email=checker.email, password=DEFAULT_PASSWORD)
        open_loan_from_the_list(page, loan.pk)
        page.get_by_role("link", name="Disburse (second officer)").click()
        expect(page.locator("#content-main")).to_contain_text("pays 2,50,000.00 into")
        page.get_by_role("button", name="Disburse (second officer)").click()

        expect(page.locator(".messagelist .success")).to_have_text(
            f"Loan #{loan.pk} is now ACTIVE."
        )
        expect(status_shown(page)).to_have_text("Active")
        expect(page.locator(".field-approved_by .readonly")).to_contain_text("maker@example.com")
        expect(page.locator(".field-disbursed_by .readonly")).to_contain_text("checker@example.com")
        screenshot(page, "loan-maker-checker-disbursed")

    loan.refresh_from_db()
    assert loan.status == Loan.Status.ACTIVE
    assert (loan.approved_by, loan.disbursed_by) == (maker, checker)
    assert Wallet.objects.get(user=borrower).balance == Decimal("250000.00")
    trail = LoanEvent.objects.filter(loan=loan).values_list("target", "actor__email")
    assert list(trail)[1:] == [
        ("APPROVED", "maker@example.com"),
        ("ACTIVE", "checker@example.com"),
    ]


def test_bulk_rejection_from_the_list_asks_once_for_the_reason(open_browser):
    officer = OfficerFactory()
    loans = [applied_loan(BorrowerFactory()) for _ in range(2)]
    kept = applied_loan(BorrowerFactory())

    with open_browser() as page:
        admin_login(page, email=officer.email, password=DEFAULT_PASSWORD)
        page.locator("#loans-loan").get_by_role("link", name="Loans").click()
        for loan in loans:
            page.locator(f"#result_list input[name=_selected_action][value='{loan.pk}']").check()
        page.locator("select[name=action]").select_option("reject_selected")
        page.get_by_role("button", name="Go").click()

        expect(page.get_by_role("heading", name="Reject loans")).to_be_visible()
        expect(page.locator(".loan-decision tbody tr")).to_have_count(2)
        page.get_by_label("Reason").fill("Outside the lending policy.")
        screenshot(page, "loan-bulk-reject")
        page.get_by_role("button", name="Reject 2 loans").click()

        expect(page.locator(".messagelist .success")).to_have_count(2)
        for loan in loans:
            expect(page.locator(".messagelist")).to_contain_text(
                f"Loan #{loan.pk} is now REJECTED."
            )

    assert [loan.status for loan in Loan.objects.order_by("pk")] == [
        "REJECTED",
        "REJECTED",
        "APPLIED",
    ]
    assert Loan.objects.get(pk=kept.pk).rejection_reason == ""
