"""The collections queue: overdue loans, longest overdue first, with whom to call."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from lendingsite.money import format_inr
from loans.selectors import loan_list_overdue, loan_positions
from tests.accounts.factories import AdminFactory, BorrowerFactory, OfficerFactory
from tests.loans.factories import active_loan, repaid
from tests.loans.servicing.helpers import close_through, set_business_date

D = Decimal
QUEUE = reverse("admin:loans_loan_collections")
CELL = re.compile(r"<td[^>]*>(.*?)</td>")


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def rows(html: str) -> list[tuple[str, ...]]:
    """The queue's table as text, row by row."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        tuple(re.sub(r"<[^>]+>", "", cell).strip() for cell in CELL.findall(row))
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


@pytest.fixture
def book(db):
    """Loans of 12,000.00 at 12 % over 12 months (EMI 1,066.19 by the textbook formula).

    On the business date, Mar 21st:
    - early: disbursed Jan 10th, nothing paid: 39 days past due (Mar 21st - Feb 10th).
      Installments 1 and 2 are overdue, each with the minimum late fee of 100.00 (2 % of
      1,066.19 is 21.32): 2 x 1,066.19 + 2 x 100.00 = 2,332.38 to collect, 200.00 fees.
    - paying: disbursed Jan 10th, 1,066.19 paid at once, which pays installment 1.
      Installment 2 (due Mar 10th) is 11 days past due, past the five days' grace, so
      charged 100.00: 1,066.19 + 100.00 = 1,166.19 to collect.
    - late: disbursed Feb 16th, nothing paid: installment 1 (due Mar 16th) is 5 days past
      due, within the grace days: 1,066.19 to collect, no fee.
    - current: disbursed Mar 21st: not past due, not in the queue.
    """
    officer = OfficerFactory()
    set_business_date(date(2026, 1, 10))
    early = active_loan(BorrowerFactory(name="Erin Early"), officer)
    paying = active_loan(BorrowerFactory(name="Pat Paying"), officer)
    repaid(paying, "1066.19")
    close_through(date(2026, 2, 15))
    late = active_loan(BorrowerFactory(name="Lee Late"), officer)
    close_through(date(2026, 3, 20))
    current = active_loan(BorrowerFactory(name="Cam Current"), officer)
    return {"early": early, "paying": paying, "late": late, "current": current}


def test_the_queue_lists_overdue_loans_longest_overdue_first(book):
    response = client_for(OfficerFactory()).get(QUEUE)

    assert response.status_code == 200
    early, paying, late = book["early"], book["paying"], book["late"]
    assert rows(response.text) == [
        (f"Loan #{early.pk}", "Erin Early", early.borrower.email, "39", "DPD_31_60",
         "2,332.38", "200.00", format_inr(early.total_amount + D("200.00")), "STANDARD"),
        (f"Loan #{paying.pk}", "Pat Paying", paying.borrower.email, "11", "DPD_1_30",
         "1,166.19", "100.00", format_inr(paying.total_amount - D("1066.19") + D("100.00")),
         "STANDARD"),
        (f"Loan #{late.pk}", "Lee Late", late.borrower.email, "5", "DPD_1_30",
         "1,066.19", "0.00", format_inr(late.total_amount), "STANDARD"),
    ]  # fmt: skip
    assert f'href="{reverse("admin:loans_loan_change", args=[early.pk])}"' in response.text
    assert f'href="mailto:{early.borrower.email}"' in response.text
    # 2,332.38 + 1,166.19 + 1,066.19
    assert "3 loans, 4,564.76 overdue in all (fees included)." in response.text
    assert "2026-03-21" in response.text


def test_the_queue_agrees_with_each_loans_position(book):
    queue = list(loan_list_overdue(as_of=date(2026, 3, 21)))
    positions = loan_positions(loan_ids=[loan.pk for loan in queue], as_of=date(2026, 3, 21))

    assert [(loan.overdue_amount, loan.fees_due) for loan in queue] == [
        (positions[loan.pk].overdue_amount, positions[loan.pk].fees_due) for loan in queue
    ]


def test_the_queue_runs_a_fixed_number_of_queries(db, django_assert_max_num_queries):
    client = client_for(OfficerFactory())
    officer = OfficerFactory()
    set_business_date(date(2026, 1, 10))
    for _ in range(2):
        active_loan(BorrowerFactory(), officer)
    close_through(date(2026, 2, 15))
    with django_assert_max_num_queries(8) as few:
        assert len(rows(client.get(QUEUE).text)) == 2
    for _ in range(15):
        active_loan(BorrowerFactory(), officer)
    close_through(date(2026, 3, 20))

    with django_assert_max_num_queries(len(few.captured_queries)) as many:
        response = client.get(QUEUE)

    assert len(rows(response.text)) == 17
    assert len(many.captured_queries) == len(few.captured_queries)


def test_the_queue_is_paged(db, monkeypatch):
    from loans.admin import LoanAdmin

    monkeypatch.setattr(LoanAdmin, "COLLECTIONS_PER_PAGE", 2)
    officer = OfficerFactory()
    set_business_date(date(2026, 1, 10))
    loans = [active_loan(BorrowerFactory(), officer) for _ in range(3)]
    close_through(date(2026, 2, 12))
    client = client_for(OfficerFactory())

    first, second = client.get(QUEUE), client.get(QUEUE + "?p=2")

    assert [row[0] for row in rows(first.text)] == [f"Loan #{loan.pk}" for loan in loans[:2]]
    assert [row[0] for row in rows(second.text)] == [f"Loan #{loans[2].pk}"]
    assert "Page 1 of 2" in first.text and "3 loans" in first.text


def test_an_empty_queue_says_so(db):
    response = client_for(AdminFactory()).get(QUEUE)

    assert response.status_code == 200
    assert "No loan is past due." in response.text


def test_the_loan_list_links_to_the_queue(db):
    response = client_for(OfficerFactory()).get(reverse("admin:loans_loan_changelist"))

    assert f'href="{QUEUE}"' in response.text


def test_borrowers_are_sent_to_the_login_page(borrower):
    response = client_for(borrower).get(QUEUE)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
