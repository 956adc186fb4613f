"""A wallet's statement (selector and GET /api/wallet/statement), worked out by hand."""

import io
import re
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pypdf import PdfReader

from ledger.models import Posting
from lendingsite.money import format_inr
from loans.reversals import repayment_reverse
from tests.accounts.factories import BorrowerFactory, OfficerFactory
from tests.conftest import client_for
from tests.loans.servicing.helpers import close_through, set_business_date
from tests.loans.statements.scenario import serviced_loan_scenario
from wallets.models import Wallet
from wallets.services import wallet_deposit, wallet_deposit_reverse, wallet_withdraw
from wallets.statements import wallet_statement

D = Decimal
URL = "/api/wallet/statement"


@pytest.fixture
def serviced_loan(db):
    return serviced_loan_scenario()


# The borrower of ``serviced_loan_scenario`` (deposit, disbursement, two payments):
# (date, kind, credit, debit, balance)
EXPECTED = [
    (date(2026, 1, 10), "DEPOSIT", "2000", "0", "2000"),
    (date(2026, 1, 10), "LOAN_DISBURSEMENT", "150000", "0", "152000"),
    (date(2026, 2, 12), "EMI_PAYMENT", "0", "5000", "147000"),
    (date(2026, 2, 21), "EMI_PAYMENT", "0", "10000", "137000"),
]


def _rows(statement):
    return [(x.on, x.kind, x.credit, x.debit, x.balance) for x in statement.lines]


def _expected(rows):
    return [(day, kind, *(D(v) for v in figures)) for day, kind, *figures in rows]


@pytest.mark.django_db
def test_the_wallet_from_its_first_posting_to_the_business_date(serviced_loan):
    borrower = serviced_loan.borrower

    statement = wallet_statement(user=borrower)

    assert (statement.period.since, statement.period.until) == (
        date(2026, 1, 10),
        date(2026, 3, 21),
    )
    assert statement.opening_balance == D("0.00")
    assert _rows(statement) == _expected(EXPECTED)
    assert (statement.total_credit, statement.total_debit) == (D("152000.00"), D("15000.00"))
    assert statement.closing_balance == D("137000.00")
    assert statement.closing_balance == Wallet.objects.get(user=borrower).balance


@pytest.mark.django_db
def test_a_period_opens_on_the_balance_of_the_day_before(serviced_loan):
    statement = wallet_statement(user=serviced_loan.borrower, since=date(2026, 2, 1))

    assert statement.opening_balance == D("152000.00")
    assert _rows(statement) == _expected(EXPECTED[2:])
    moved = sum((x.credit - x.debit for x in statement.lines), D("0"))
    assert statement.opening_balance + moved == statement.closing_balance == D("137000.00")


@pytest.mark.django_db
def test_a_wallet_without_postings_has_an_empty_statement(borrower):
    set_business_date(date(2026, 5, 1))

    statement = wallet_statement(user=borrower)

    assert (statement.period.since, statement.period.until) == (date(2026, 5, 1),) * 2
    assert statement.lines == []
    assert statement.opening_balance == statement.closing_balance == D("0.00")


def _queries(user) -> int:
    with CaptureQueriesContext(connection) as queries:
        wallet_statement(user=user)
    return len(queries)


@pytest.mark.django_db
def test_the_number_of_queries_does_not_grow_with_the_lines(db):
    set_business_date(date(2026, 1, 1))
    few, many = BorrowerFactory(), BorrowerFactory()
    wallet_deposit(user=few, amount=D("10.00"), idempotency_key="one")
    for day in range(30):
        wallet_deposit(user=many, amount=D("10.00"), idempotency_key=f"in-{day}")
        wallet_withdraw(user=many, amount=D("3.00"), idempotency_key=f"out-{day}")
        close_through(date(2026, 1, 1 + day))

    assert wallet_statement(user=many).closing_balance == D("210.00")
    assert _queries(many) == _queries(few) <= 7


@pytest.mark.django_db
def test_the_pdf_carries_the_same_figures_as_the_json(serviced_loan):
    client = client_for(serviced_loan.borrower)
    body = client.get(URL).json()

    response = client.get(URL + "?format=pdf")

    assert (response.status_code, response["Content-Type"]) == (200, "application/pdf")
    pages = PdfReader(io.BytesIO(response.content)).pages
    text = re.sub(r"\s+", " ", " ".join(page.extract_text() for page in pages))
    assert (body["opening_balance"], body["closing_balance"]) == ("0.00", "137000.00")
    assert "Closing balance 1,37,000.00" in text
    position = 0
    for line in body["lines"]:
        amounts = [format_inr(D(line[k])) for k in ("credit", "debit") if D(line[k])]
        cells = [line["date"], line["description"], *amounts, format_inr(D(line["balance"]))]
        position = text.index(" ".join(cells), position)
    assert "Total of the period 1,52,000.00 15,000.00 1,37,000.00" in text
    assert body["lines"][1]["reference"] == f"disburse:{serviced_loan.pk}"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field", "code"),
    [
        ("?from=2026-03-01&to=2026-02-01", "from", "inverted_period"),
        ("?to=2099-01-01", "to", "period_after_business_date"),
        ("?from=2026-13-01", "from", "invalid"),
        ("?format=xml", "format", "invalid"),
        ("?format=", "format", "invalid"),
    ],
)
def test_a_bad_period_is_400_naming_it(borrower_client, query, field, code):
    set_business_date(date(2026, 3, 21))

    response = borrower_client.get(URL + query)

    assert response.status_code == 400
    assert (response.json()["code"], field in response.json()) == (code, True)


@pytest.mark.django_db
def test_without_a_token_it_is_401(api_client):
    assert api_client.get(URL).status_code == 401


@pytest.mark.django_db
def test_corrections_show_as_their_own_lines(serviced_loan):
    """The serviced loan's borrower, then on 21 Mar: a deposit of 1,000.00 that bounces
    (reversed), and the 10,000.00 payment of 21 Feb reversed (refunded to the wallet).

    | date   | line                        | credit   | debit  | balance  |
    | …      | (EXPECTED above)            |          |        | 1,37,000 |
    | Mar 21 | deposit                     | 1,000    |        | 1,38,000 |
    | Mar 21 | the deposit reversed        |          | 1,000  | 1,37,000 |
    | Mar 21 | the repayment reversed      | 10,000   |        | 1,47,000 |
    """
    borrower = serviced_loan.borrower
    officer = OfficerFactory()
    wallet_deposit(user=borrower, amount=D("1000.00"), idempotency_key="bounces")
    deposit = Posting.objects.filter(entry__kind="DEPOSIT", entry__idempotency_key="bounces").get(
        amount__gt=0
    )
    wallet_deposit_reverse(transaction_id=deposit.pk, officer=officer, reason="Cheque bounced")
    second = serviced_loan.repayments.get(idempotency_key="p2")
    repayment_reverse(
        loan_id=serviced_loan.pk, repayment_id=second.pk, officer=officer, reason="Duplicate"
    )

    statement = wallet_statement(user=borrower, since=date(2026, 3, 1))

    assert _rows(statement) == _expected(
        [
            (date(2026, 3, 21), "DEPOSIT", "1000", "0", "138000"),
            (date(2026, 3, 21), "REVERSAL", "0", "1000", "137000"),
            (date(2026, 3, 21), "REVERSAL", "10000", "0", "147000"),
        ]
    )
    bounced, refund = statement.lines[1:]
    assert "Cheque bounced" in bounced.description
    assert f"repayment {second.pk} on loan {serviced_loan.pk}" in refund.description
    assert statement.closing_balance == Wallet.objects.get(user=borrower).balance
