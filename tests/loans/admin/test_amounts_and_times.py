"""The console shows amounts with Indian grouping and times in the lender's time zone."""

import re
from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from ledger.models import JournalEntry
from tests.accounts.factories import OfficerFactory
from tests.loans.factories import active_loan, applied_loan, repaid
from wallets.services import wallet_deposit


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def column(html: str, field: str) -> list[str]:
    """The cells of one column of a change list."""
    return re.findall(rf'<td class="field-{field}">([^<]*)</td>', html)


def readonly(html: str, field: str) -> str:
    match = re.search(rf'field-{field}">.*?<div class="readonly">(.*?)</div>', html, re.S)
    assert match, field
    return match.group(1).strip()


@pytest.mark.django_db
def test_the_loans_list_and_page_group_amounts_in_lakhs(borrower):
    loan = applied_loan(borrower, principal="250000.00", tenure=24)
    officer = OfficerFactory()

    listed = signed_in(officer).get(reverse("admin:loans_loan_changelist"))
    page = signed_in(officer).get(reverse("admin:loans_loan_change", args=[loan.pk])).text

    assert column(listed.text, "principal") == ["2,50,000.00"]
    assert readonly(page, "principal") == "2,50,000.00"
    # At or above the 2,00,000.00 maker-checker threshold: two officers.
    assert "principal at or above 2,00,000.00" in readonly(page, "two_officers")


@pytest.mark.django_db
def test_the_decision_page_groups_the_amount_paid_out(borrower):
    loan = applied_loan(borrower, principal="150000.00")

    page = signed_in(OfficerFactory()).get(reverse("admin:loans_loan_approve", args=[loan.pk]))

    assert "Approving pays <strong>1,50,000.00</strong>" in page.text


@pytest.mark.django_db
def test_the_repayments_list_groups_amounts(borrower):
    officer = OfficerFactory()
    loan = active_loan(borrower, officer)  # 12,000.00: EMI 1,066.19
    repaid(loan, "1066.19")

    listed = signed_in(officer).get(reverse("admin:loans_repayment_changelist"))

    assert column(listed.text, "amount_inr") == ["1,066.19"]
    assert column(listed.text, "principal_inr") == ["946.19"]  # 1,066.19 - 120.00 interest


@pytest.mark.django_db
def test_the_wallets_list_groups_the_balance(borrower):
    wallet_deposit(user=borrower, amount=Decimal("123456.78"), idempotency_key="big")

    listed = signed_in(OfficerFactory()).get(
        reverse("admin:wallets_wallet_changelist"), {"q": borrower.email}
    )

    assert column(listed.text, "balance") == ["1,23,456.78"]


@pytest.mark.django_db
def test_the_loan_pages_ledger_entries_show_the_lenders_time(borrower, settings):
    assert settings.TIME_ZONE == "Asia/Kolkata"
    loan = active_loan(borrower, OfficerFactory())
    entry = JournalEntry.objects.get(pk=loan.disbursement_entry_id)

    page = signed_in(OfficerFactory()).get(reverse("admin:loans_loan_change", args=[loan.pk]))

    utc = entry.created_at.astimezone(UTC).replace(tzinfo=None)
    kolkata = (utc + timedelta(hours=5, minutes=30)).strftime(
        "%Y-%m-%d %H:%M"
    )  # UTC+05:30, no daylight saving
    assert f"<td>{kolkata}</td>" in readonly(page.text, "ledger_entries")
