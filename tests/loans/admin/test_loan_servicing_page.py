"""The loan page's servicing figures and the console's fee waiver."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from ledger.models import JournalEntry
from loans.models import FeeWaiver, Installment, Loan
from tests.accounts.factories import AdminFactory, BorrowerFactory, OfficerFactory
from tests.loans.factories import active_loan, applied_loan, repaid
from tests.loans.helpers import assert_books_clean
from tests.loans.servicing.helpers import close_through, set_business_date

D = Decimal
START = date(2026, 1, 10)


@pytest.fixture
def late_loan(db):
    """12,000.00 at 12 % over 12 months from Jan 10th; closed through Mar 20th, nothing paid.

    By hand: the EMI at 1 % a month is 1,066.19 (12,000 x 0.01 x 1.01^12 / (1.01^12 - 1)).
    Installments 1 and 2 (due Feb 10th, Mar 10th) are overdue, each charged the minimum
    late fee of 100.00 (2 % of 1,066.19 is 21.32) six days after falling due. On the
    business date, Mar 21st, the loan is 39 days past due (Mar 21st - Feb 10th): DPD_31_60.
    """
    set_business_date(START)
    loan = active_loan(BorrowerFactory(), OfficerFactory(), principal="12000.00", tenure=12)
    close_through(date(2026, 3, 20))
    loan.refresh_from_db()
    return loan


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def change_url(loan) -> str:
    return reverse("admin:loans_loan_change", args=[loan.pk])


def waive_url(loan) -> str:
    return reverse("admin:loans_loan_waive_fee", args=[loan.pk])


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def cells(html: str, field: str) -> list[str]:
    """The values of one column of a read-only inline table."""
    return re.findall(rf'<td class="field-{field}">\s*<p>([^<]*)</p>', html)


def readonly(html: str, field: str) -> str:
    match = re.search(rf'field-{field}">.*?<div class="readonly">(.*?)</div>', html, re.S)
    assert match, field
    return match.group(1).strip()


def books(loan) -> tuple:
    """What a waiver changes: the loan, its fees, the waivers and the journal."""
    loan.refresh_from_db()
    fees = list(loan.installments.values_list("number", "fee_waived", "paid_on"))
    return loan.outstanding_amount, fees, FeeWaiver.objects.count(), JournalEntry.objects.count()


def test_the_loan_page_shows_where_the_loan_stands(late_loan):
    response = client_for(OfficerFactory()).get(change_url(late_loan))

    html = response.text
    assert response.status_code == 200
    assert readonly(html, "business_date") == "March 21, 2026"
    assert readonly(html, "days_past_due") == "39"
    assert readonly(html, "delinquency_bucket") == "DPD_31_60"
    assert readonly(html, "overdue_amount") == "2,332.38"  # 2 x 1,066.19 + 2 x 100.00
    assert readonly(html, "fees_due") == "200.00"
    assert readonly(html, "next_due") == "1,066.19 on April 10, 2026"
    assert "STANDARD (Standard personal loan)" in readonly(html, "product")
    assert readonly(html, "fee_waivers") == "—"
    assert 'class="loan-waive-fee"' in html


def test_the_delinquency_history_is_newest_first(late_loan):
    response = client_for(OfficerFactory()).get(change_url(late_loan))

    history = response.text.split("Delinquency history", 1)[1].split("</table>", 1)[0]
    rows = list(
        zip(
            cells(history, "on"),
            cells(history, "from_bucket"),
            cells(history, "to_bucket"),
            cells(history, "days_past_due"),
            strict=True,
        )
    )
    assert rows == [
        ("March 13, 2026", "DPD_1_30", "DPD_31_60", "31"),  # Mar 13th - Feb 10th
        ("Feb. 11, 2026", "CURRENT", "DPD_1_30", "1"),
    ]


def test_the_schedule_shows_fees_and_each_installments_status(late_loan):
    response = client_for(OfficerFactory()).get(change_url(late_loan))

    schedule = response.text.split("Repayment schedule", 1)[1]
    statuses = cells(schedule, "schedule_status")
    fees = cells(schedule, "fee_charged_inr")
    assert statuses == ["OVERDUE", "OVERDUE"] + ["PENDING"] * 10
    assert fees[:3] == ["100.00", "100.00", "0.00"]
    for column in ("fee_paid_inr", "fee_waived_inr", "paid_on"):
        assert f"field-{column}" in schedule


def test_a_paid_installment_is_paid_and_repayments_show_their_fee_part(late_loan):
    first = late_loan.installments.get(number=1)
    repaid(late_loan, str(first.unpaid))  # 1,066.19 + 100.00 fee = 1,166.19

    response = client_for(OfficerFactory()).get(change_url(late_loan))

    schedule = response.text.split("Repayment schedule", 1)[1]
    assert cells(schedule, "schedule_status")[:2] == ["PAID", "OVERDUE"]
    assert cells(response.text, "fee_inr") == ["100.00"]
    assert cells(response.text, "value_date") == ["March 21, 2026"]


def test_a_loan_waiting_for_a_decision_has_no_servicing_figures(borrower):
    loan = applied_loan(borrower)

    response = client_for(OfficerFactory()).get(change_url(loan))

    assert response.status_code == 200
    assert "field-business_date" not in response.text
    assert "field-fee_waivers" not in response.text
    assert "loan-waive-fee" not in response.text


def test_no_waive_button_without_a_fee_or_without_the_permission(late_loan):
    fresh = active_loan(BorrowerFactory())
    no_permission = OfficerFactory()
    no_permission.groups.clear()
    no_permission.user_permissions.add(Permission.objects.get(codename="view_loan"))

    without_fee = client_for(OfficerFactory()).get(change_url(fresh))
    not_allowed = client_for(no_permission).get(change_url(late_loan))
    refused = client_for(no_permission).post(
        waive_url(late_loan), {"installment_number": "1", "reason": "x"}
    )

    assert without_fee.status_code == not_allowed.status_code == 200
    assert "loan-waive-fee" not in without_fee.text
    assert "loan-waive-fee" not in not_allowed.text
    assert refused.status_code == 403
    assert not FeeWaiver.objects.exists()


def test_the_waive_page_offers_the_installments_with_an_unpaid_fee(late_loan):
    response = client_for(OfficerFactory()).get(waive_url(late_loan))

    assert response.status_code == 200
    choices = re.findall(r'<label for="id_installment_number_\d">([^<]*)</label>', response.text)
    assert choices == [
        "#1, due 2026-02-10: 100.00 unpaid of a 100.00 fee",
        "#2, due 2026-03-10: 100.00 unpaid of a 100.00 fee",
    ]
    assert re.search(r'value="1"[^>]*checked', response.text)  # the oldest is chosen
    assert 'placeholder="the whole unpaid fee"' in response.text


@pytest.mark.parametrize("factory", [OfficerFactory, AdminFactory], ids=["officer", "admin"])
def test_a_waiver_without_an_amount_waives_the_whole_fee(late_loan, factory):
    officer = factory()
    before = late_loan.outstanding_amount

    response = client_for(officer).post(
        waive_url(late_loan),
        {"installment_number": "2", "amount": "", "reason": "Hospital stay"},
        REMOTE_ADDR="10.1.2.3",
        follow=True,
    )

    assert response.redirect_chain == [(change_url(late_loan), 302)]
    assert messages_of(response) == [
        f"Waived 100.00 of the late fee on installment #2 of loan #{late_loan.pk}."
    ]
    waiver = FeeWaiver.objects.get()
    assert (waiver.installment.number, waiver.amount, waiver.reason) == (
        2,
        D("100.00"),
        "Hospital stay",
    )
    assert (waiver.officer, waiver.value_date, waiver.client_ip) == (
        officer,
        date(2026, 3, 21),
        "10.1.2.3",
    )
    late_loan.refresh_from_db()
    assert late_loan.outstanding_amount == before - D("100.00")
    shown = readonly(response.text, "fee_waivers")
    assert "<td>#2</td><td>100.00</td><td>Hospital stay</td>" in shown
    assert f"<td>{officer.email}</td><td>2026-03-21</td>" in shown
    assert readonly(response.text, "fees_due") == "100.00"
    assert_books_clean()


def test_the_ledger_entries_include_late_fees_and_waivers(late_loan):
    client = client_for(OfficerFactory())
    client.post(
        waive_url(late_loan), {"installment_number": "1", "amount": "", "reason": "Goodwill"}
    )

    response = client.get(change_url(late_loan))

    kinds = re.findall(r"</a></td><td>([A-Z_]+)</td>", readonly(response.text, "ledger_entries"))
    assert kinds == ["LOAN_DISBURSEMENT", "FEE_CHARGE", "FEE_CHARGE", "FEE_WAIVER"]


def test_a_waiver_of_part_of_a_fee(late_loan):
    response = client_for(OfficerFactory()).post(
        waive_url(late_loan),
        {"installment_number": "1", "amount": "40.00", "reason": "Bank holiday delay"},
        follow=True,
    )

    assert messages_of(response) == [
        f"Waived 40.00 of the late fee on installment #1 of loan #{late_loan.pk}."
    ]
    first = Installment.objects.get(loan=late_loan, number=1)
    assert (first.fee_waived, first.fee_due) == (D("40.00"), D("60.00"))
    assert readonly(response.text, "fees_due") == "160.00"  # 60.00 + 100.00
    assert_books_clean()


# Each is refused on the waiver page, with the page asking again.
BAD_WAIVERS = [
    (
        {"installment_number": "1", "amount": "100.01", "reason": "x"},
        "Amount: 100.01 is more than the unpaid fee 100.00.",
    ),
    (
        {"installment_number": "1", "amount": "", "reason": "   "},
        "Reason: a waiver needs a reason.",
    ),
    (
        {"installment_number": "1", "amount": "0.00", "reason": "x"},
        "Amount: Ensure this value is greater than or equal to 0.01.",
    ),
    (
        {"installment_number": "1", "amount": "-5", "reason": "x"},
        "Amount: Ensure this value is greater than or equal to 0.01.",
    ),
    (
        {"installment_number": "1", "amount": "1.005", "reason": "x"},
        "Amount: Ensure that there are no more than 2 decimal places.",
    ),
    (
        {"installment_number": "1", "amount": "ten", "reason": "x"},
        "Amount: Enter a number.",
    ),
    (
        {"installment_number": "3", "amount": "1.00", "reason": "x"},  # no fee on #3
        "Installment: Select a valid choice. 3 is not one of the available choices.",
    ),
    (
        {"amount": "1.00", "reason": "x"},
        "Installment: This field is required.",
    ),
    ({}, "Installment: This field is required."),  # an empty form
]


def test_bad_waivers_are_refused_with_a_message_and_change_nothing(late_loan):
    client = client_for(OfficerFactory())
    before = books(late_loan)

    for body, message in BAD_WAIVERS:
        response = client.post(waive_url(late_loan), body)

        assert response.status_code == 200, body
        assert messages_of(response) == [message], body
        assert response.context["title"] == f"Waive a late fee on loan #{late_loan.pk}"
        assert books(late_loan) == before, body


def test_a_waiver_sent_twice_is_refused_the_second_time_with_a_message(late_loan):
    client = client_for(OfficerFactory())
    body = {"installment_number": "1", "amount": "", "reason": "Goodwill"}
    client.post(waive_url(late_loan), body, follow=True)

    again = client.post(waive_url(late_loan), body)

    assert again.status_code == 200
    assert messages_of(again) == [
        "Installment: Select a valid choice. 1 is not one of the available choices."
    ]
    assert FeeWaiver.objects.count() == 1


def test_a_loan_with_no_fee_or_not_active_sends_the_officer_back_with_a_message(borrower):
    fresh = active_loan(BorrowerFactory())
    applied = applied_loan(borrower)
    client = client_for(OfficerFactory())

    no_fee = client.get(waive_url(fresh), follow=True)
    not_active = client.post(
        waive_url(applied), {"installment_number": "1", "reason": "x"}, follow=True
    )

    assert no_fee.redirect_chain == [(change_url(fresh), 302)]
    assert messages_of(no_fee) == [f"Loan #{fresh.pk} has no late fee left to waive."]
    assert not_active.redirect_chain == [(change_url(applied), 302)]
    assert messages_of(not_active) == [f"Loan #{applied.pk} is APPLIED: no fee can be waived."]
    assert not FeeWaiver.objects.exists()


def test_borrowers_cannot_reach_the_waiver(late_loan):
    client = client_for(late_loan.borrower)

    page = client.get(waive_url(late_loan))
    post = client.post(waive_url(late_loan), {"installment_number": "1", "reason": "please"})

    assert page.status_code == post.status_code == 302
    assert post["Location"].startswith(reverse("admin:login"))
    assert not FeeWaiver.objects.exists()
    assert Loan.objects.get(pk=late_loan.pk).outstanding_amount == late_loan.outstanding_amount
