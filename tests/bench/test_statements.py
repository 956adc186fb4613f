"""The statement bench at a tiny size: its loan is consistent and its statement measured."""

import pytest

from bench import statements
from loans.models import Loan
from loans.statements import loan_statement
from tests.loans.helpers import assert_books_clean


@pytest.mark.django_db
def test_the_bench_loan_reconciles_and_its_statement_is_measured():
    # 97 % of a day's share of the EMI (106.41 a day on an EMI of 3,336.67) covers the
    # first installments in time; the shortfall first leaves one unpaid past the grace
    # days in July (day 187), beyond this tiny run.
    book = statements.build(days=45)

    assert_books_clean()
    assert (book.repayments, book.fees, book.waivers) == (45, 0, 0)
    loan = Loan.objects.get(pk=book.loan_id)
    statement = loan_statement(loan=loan)
    assert len(statement.lines) == 1 + book.repayments + book.fees + book.waivers
    assert statement.closing_balance == loan.outstanding_amount

    figures = statements.measure(book, runs=1)

    assert figures["lines"] == len(statement.lines)
    assert figures["queries"] <= 10  # a fixed number: docs/STATEMENTS.md
    assert figures["json_bytes"] > 0 and figures["pdf_bytes"] > 0
    text = statements.render({"date": "today", "machine": "here", "runs": 1}, book, figures)
    assert "`GET …/statement?format=pdf`" in text
