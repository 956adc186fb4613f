"""The console's write-off: the button, the page, maker-checker, the written-off loan.

The loan: 60,000.00 at 12 % over 12 months on a product whose maker-checker threshold
is 50,000.00, disbursed 2026-01-01 and never paid; the business date 2026-02-15 (one
installment overdue, its late fee charged). By hand, at 1 % a month:

    EMI 60,000 x 0.01 x 1.01^12 / (1.01^12 - 1) = 5,330.93 (a fee of 2 % of it is 106.62)
    #1 due 2026-02-01: interest 600.00
    unpaid principal 60,000.00 (above 50,000.00: two officers), interest due 600.00,
    fees 106.62: written off 60,706.62
"""

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from loans.models import Loan, OfficerActionRequest
from loans.services import loan_approve, loan_write_off
from tests.accounts.factories import BorrowerFactory, OfficerFactory
from tests.loans.factories import LoanProductFactory, active_loan
from tests.loans.helpers import assert_books_clean
from tests.loans.servicing.helpers import close_through, reducing_emi, set_business_date

D = Decimal


@pytest.fixture
def loan(db):
    set_business_date(date(2026, 1, 1))
    product = LoanProductFactory()
    made = active_loan(BorrowerFactory(), principal="60000.00", rate="12.00", product=product.code)
    made = loan_approve(loan_id=made.pk, officer=OfficerFactory())  # large: a second officer
    assert made.emi_amount == reducing_emi("60000.00", "12.00", 12) == D("5330.93")
    close_through(date(2026, 2, 14))
    made.refresh_from_db()
    return made


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


@pytest.mark.django_db
def test_two_officers_write_off_from_the_console(loan):
    maker, checker = client_for(OfficerFactory()), client_for(OfficerFactory())
    page = reverse("admin:loans_loan_write_off", args=[loan.pk])
    change = reverse("admin:loans_loan_change", args=[loan.pk])

    assert 'class="loan-write-off"' in maker.get(change).text
    form = maker.get(page).text
    assert "60,000.00" in form and "600.00" in form and "106.62" in form and "60,706.62" in form
    assert "a second officer confirms it" in form

    first = maker.post(page, {"reason": "Absconded"}, follow=True)
    assert any("a second officer must confirm it" in m for m in messages_of(first))
    assert Loan.objects.get(pk=loan.pk).status == Loan.Status.ACTIVE
    assert "Write off a loan of 60,000.00" in maker.get(change).text  # waiting, on the page

    again = maker.post(page, {"reason": "Absconded"}, follow=True)
    assert any("cannot also confirm it" in m for m in messages_of(again))

    done = checker.post(page, {"reason": "Absconded"}, follow=True)

    assert any("is now WRITTEN_OFF (60,706.62 written off)" in m for m in messages_of(done))
    loan.refresh_from_db()
    assert (loan.status, loan.written_off_amount) == (Loan.Status.WRITTEN_OFF, D("60706.62"))
    assert OfficerActionRequest.objects.get().status == "CONFIRMED"
    shown = checker.get(change).text
    assert 'class="loan-write-off"' not in shown
    assert "WRITE_OFF" in shown  # its ledger entry is listed
    assert_books_clean()


@pytest.mark.django_db
def test_a_write_off_without_a_reason_asks_again(loan):
    officer = client_for(OfficerFactory())
    page = reverse("admin:loans_loan_write_off", args=[loan.pk])

    response = officer.post(page, {"reason": "  "})

    assert response.status_code == 200
    assert any("needs a reason" in m for m in messages_of(response))
    assert not OfficerActionRequest.objects.exists()


@pytest.mark.django_db
def test_no_button_and_no_page_without_the_permission(loan):
    officer = OfficerFactory()
    officer.groups.clear()  # the loan officers' group holds write_off_loan
    viewer = Permission.objects.get(codename="view_loan")
    officer.user_permissions.add(viewer)
    client = client_for(officer)

    assert client.get(reverse("admin:loans_loan_write_off", args=[loan.pk])).status_code == 403
    page = client.get(reverse("admin:loans_loan_change", args=[loan.pk]))
    assert page.status_code == 200 and "loan-write-off" not in page.text


@pytest.mark.django_db
def test_the_list_filters_written_off_loans(loan):
    loan_write_off(loan_id=loan.pk, officer=OfficerFactory(), reason="Fraud")
    loan_write_off(loan_id=loan.pk, officer=OfficerFactory(), reason="Fraud")
    client = client_for(OfficerFactory())

    listed = client.get(reverse("admin:loans_loan_changelist") + "?status__exact=WRITTEN_OFF")

    assert listed.status_code == 200
    assert f">{loan.pk}</a>" in listed.text


@pytest.mark.django_db
def test_requests_waiting_for_a_second_officer_are_listed(loan):
    loan_write_off(loan_id=loan.pk, officer=OfficerFactory(), reason="Absconded")
    client = client_for(OfficerFactory())

    listed = client.get(
        reverse("admin:loans_officeractionrequest_changelist") + "?status__exact=PENDING"
    )

    assert listed.status_code == 200
    assert f"Loan #{loan.pk}" in listed.text and "60,000.00" in listed.text
