"""The console: reversing a repayment from the loan page, and a bounced deposit from the
wallet page, through the same services as the API."""

from datetime import date
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from loans.models import Loan, Repayment
from loans.services import loan_write_off
from tests.accounts.factories import BorrowerFactory, OfficerFactory
from tests.loans.factories import active_loan, repaid
from tests.loans.helpers import assert_books_clean
from tests.loans.servicing.helpers import set_business_date
from wallets.selectors import wallet_get_for_user
from wallets.services import wallet_deposit, wallet_withdraw

D = Decimal


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def closed_loan(db):
    """1,200.00 for a month at 12 %: the borrower withdrew it, deposited 1,212.00 and
    repaid the loan with it (CLOSED)."""
    set_business_date(date(2026, 1, 10))
    loan = active_loan(BorrowerFactory(), principal="1200.00", tenure=1)
    wallet_withdraw(user=loan.borrower, amount=D("1200.00"), idempotency_key="out")
    deposit = wallet_deposit(user=loan.borrower, amount=D("1212.00"), idempotency_key="in")
    payment = repaid(loan, "1212.00")
    return loan, payment, deposit


@pytest.mark.django_db
def test_an_officer_reverses_a_repayment_from_the_loan_page(closed_loan):
    loan, payment, _ = closed_loan
    officer = _client(OfficerFactory())
    page = reverse("admin:loans_loan_reverse_repayment", args=[loan.pk])

    shown = officer.get(reverse("admin:loans_loan_change", args=[loan.pk]))
    form = officer.get(page)
    blank = officer.post(page, {"repayment_id": payment.pk, "reason": ""})
    done = officer.post(page, {"repayment_id": payment.pk, "reason": "Bounced"}, follow=True)

    assert page in shown.text
    assert f"#{payment.pk} of 2026-01-10: 1,212.00" in form.text
    assert blank.status_code == 200
    assert any("needs a reason" in m for m in _messages(blank))
    assert any(f"Repayment #{payment.pk} (1,212.00) reversed" in m for m in _messages(done))
    loan.refresh_from_db()
    assert (loan.status, loan.outstanding_amount) == (Loan.Status.ACTIVE, D("1212.00"))
    assert_books_clean()


@pytest.mark.django_db
def test_an_officer_without_the_permission_sees_no_button_and_is_refused(closed_loan):
    loan, payment, _ = closed_loan
    officer = OfficerFactory()
    officer.groups.clear()
    client = _client(officer)
    page = reverse("admin:loans_loan_reverse_repayment", args=[loan.pk])

    assert client.post(page, {"repayment_id": payment.pk, "reason": "x"}).status_code == 403
    payment.refresh_from_db()
    assert payment.status == Repayment.Status.SUCCESS


@pytest.mark.django_db
def test_a_bounced_deposit_from_the_wallet_page_names_the_loan_then_is_reversed(closed_loan):
    loan, payment, deposit = closed_loan
    officer = _client(OfficerFactory())
    posting = deposit.postings.get(amount__gt=0)
    wallet_page = reverse("admin:wallets_wallet_change", args=[loan.borrower_id])
    page = reverse("admin:wallets_wallet_reverse_deposit", args=[loan.borrower_id, posting.pk])

    listed = officer.get(wallet_page)
    refused = officer.post(page, {"reason": "Bounced"}, follow=True)
    officer.post(
        reverse("admin:loans_loan_reverse_repayment", args=[loan.pk]),
        {"repayment_id": payment.pk, "reason": "Paid with a bounced deposit"},
    )
    accepted = officer.post(page, {"reason": "Bounced"}, follow=True)

    assert page in listed.text
    refusal = " ".join(_messages(refused))
    assert "no longer holds the deposit of 1212.00" in refusal  # the service's message
    assert reverse("admin:loans_loan_change", args=[loan.pk]) in refusal
    assert any("Deposit" in m and "reversed: 1,212.00" in m for m in _messages(accepted))
    assert "reversed on 2026-01-10" in accepted.text
    assert wallet_get_for_user(user=loan.borrower).balance == D("0.00")
    assert_books_clean()


@pytest.mark.django_db
def test_an_officer_reverses_a_bounced_recovery_from_the_written_off_loan_page():
    """3,000.00 over 3 months written off the day it was disbursed (no interest due yet:
    3,000.00 owed); 500.00 recovered from the wallet, then reversed from the console."""
    set_business_date(date(2026, 1, 10))
    loan = active_loan(BorrowerFactory(), principal="3000.00", tenure=3)
    loan_write_off(loan_id=loan.pk, officer=OfficerFactory(), reason="Absconded")
    recovery = repaid(loan, "500.00", key="recovery")
    officer = _client(OfficerFactory())
    page = reverse("admin:loans_loan_reverse_repayment", args=[loan.pk])

    shown = officer.get(reverse("admin:loans_loan_change", args=[loan.pk]))
    form = officer.get(page)
    done = officer.post(page, {"repayment_id": recovery.pk, "reason": "Bounced"}, follow=True)

    assert "Reverse a recovery" in shown.text
    assert f"#{recovery.pk} of 2026-01-10: 500.00 recovered" in form.text
    assert any(f"Recovery #{recovery.pk} (500.00) reversed" in m for m in _messages(done))
    loan.refresh_from_db()
    assert (loan.status, loan.recovered_amount) == (Loan.Status.WRITTEN_OFF, D("0.00"))
    assert wallet_get_for_user(user=loan.borrower).balance == D("3000.00")
    assert_books_clean()
