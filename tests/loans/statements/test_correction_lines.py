"""Statement lines of the corrections: a reversal, a prepayment and its new schedule, a
foreclosure, a write-off and a recovery; their figures worked out by hand in each table.

Each statement is also checked as the API serves it (JSON) and as a PDF (the same
figures), and its closing balance against what the loan owes.
"""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection

from lendingsite.money import format_inr
from loans.models import Loan
from loans.reversals import repayment_reverse
from loans.services import loan_foreclose, loan_repay, loan_write_off
from loans.statements import loan_statement
from tests.accounts.factories import BorrowerFactory, OfficerFactory
from tests.conftest import client_for
from tests.loans.factories import active_loan, repaid
from tests.loans.servicing.helpers import close_through, set_business_date
from tests.loans.statements.scenario import START, serviced_loan_scenario
from tests.loans.statements.test_statement_api import pdf_text
from wallets.services import wallet_deposit

D = Decimal


def _rows(statement):
    return [
        (line.on, line.kind, line.debit, line.credit, line.interest, line.principal, line.balance)
        for line in statement.lines
    ]


def _expected(rows):
    return [(day, kind, *(D(v) for v in figures)) for day, kind, *figures in rows]


def _pdf(loan) -> str:
    response = client_for(loan.borrower).get(f"/api/loans/{loan.pk}/statement?format=pdf")
    assert response.status_code == 200
    return pdf_text(response.content)


def _json(loan) -> dict:
    response = client_for(loan.borrower).get(f"/api/loans/{loan.pk}/statement")
    assert response.status_code == 200
    return response.json()


@pytest.mark.django_db
def test_a_reversal_adds_back_the_payment_on_its_own_date_and_the_fees_it_brings_back():
    """The serviced loan (scenario.py), its first payment (5,000 on 12 Feb) reversed on
    21 Mar. Without it, #1 was unpaid 14,000 at the close of 15 Feb: fee 2 % = 280 (not
    180). The waiver of 80 stands. The 10,000 of 21 Feb pays #1: fee 280 - 80 = 200,
    interest 1,500, principal 8,300. #2 is unpaid 14,000 at the close of 15 Mar: fee 280
    (not 262). The reversal adds back 5,000, split as the payment was: 1,500 interest and
    3,500 principal.

    | date   | line                        | debit    | credit | balance  |
    | Jan 10 | disbursement                | 1,68,000 |        | 1,68,000 |
    | Feb 12 | repayment (reversed 21 Mar) |          | 5,000  | 1,63,000 |
    | Feb 15 | late fee #1                 | 280      |        | 1,63,280 |
    | Feb 21 | waiver                      |          | 80     | 1,63,200 |
    | Feb 21 | repayment                   |          | 10,000 | 1,53,200 |
    | Mar 15 | late fee #2                 | 280      |        | 1,53,480 |
    | Mar 21 | reversal                    | 5,000    |        | 1,58,480 |
    """
    loan = serviced_loan_scenario()
    first = loan.repayments.get(idempotency_key="p1")
    repayment_reverse(
        loan_id=loan.pk, repayment_id=first.pk, officer=OfficerFactory(), reason="Cheque bounced"
    )

    statement = loan_statement(loan=loan)

    assert _rows(statement) == _expected(
        [
            (START, "DISBURSEMENT", "168000", "0", "18000", "150000", "168000"),
            (date(2026, 2, 12), "REPAYMENT", "0", "5000", "1500", "3500", "163000"),
            (date(2026, 2, 15), "LATE_FEE", "280", "0", "0", "0", "163280"),
            (date(2026, 2, 21), "FEE_WAIVER", "0", "80", "0", "0", "163200"),
            (date(2026, 2, 21), "REPAYMENT", "0", "10000", "1500", "8300", "153200"),
            (date(2026, 3, 15), "LATE_FEE", "280", "0", "0", "0", "153480"),
            (date(2026, 3, 21), "REVERSAL", "5000", "0", "1500", "3500", "158480"),
        ]
    )
    assert statement.lines[1].description == "Repayment from the wallet (reversed on 2026-03-21)"
    assert statement.lines[-1].description == (
        "Reversal of the repayment of 2026-02-12: Cheque bounced"
    )
    assert statement.lines[4].fees == D("200.00")
    assert statement.closing_balance == Loan.objects.get(pk=loan.pk).outstanding_amount
    text = _pdf(loan)
    assert "Reversal of the repayment of 2026-02-12: Cheque bounced" in text
    assert "5,000.00 1,500.00 3,500.00 1,58,480.00" in text


@pytest.fixture
def small_loan(db):
    """3,000.00 at 12 % (1 % a month) over 3 months, disbursed 10 Jan 2026.

    EMI = 3,000 x 0.01 x 1.01^3 / (1.01^3 - 1) = 30 x 1.030301 / 0.030301 = 1,020.0663
    -> 1,020.07.

    | #  | due    | interest                     | principal | remaining |
    | 1  | 10 Feb | 3,000.00 x 1 % = 30.00       | 990.07    | 2,009.93  |
    | 2  | 10 Mar | 2,009.93 x 1 % = 20.10       | 999.97    | 1,009.96  |
    | 3  | 10 Apr | 1,009.96 x 1 % = 10.10       | 1,009.96  | 0         |

    Interest scheduled: 30.00 + 20.10 + 10.10 = 60.20. The wallet holds the 3,000.00
    disbursed.
    """
    set_business_date(START)
    loan = active_loan(BorrowerFactory(), principal="3000.00", rate="12.00", tenure=3)
    assert (loan.emi_amount, loan.total_interest) == (D("1020.07"), D("60.20"))
    return loan


@pytest.mark.django_db
def test_a_prepayment_then_a_foreclosure_show_the_schedule_change_and_the_waived_interest(
    small_loan,
):
    """On 10 Feb, 1,520.07 reducing the EMI: #1 (due that day) 1,020.07, then 500.00 to
    principal. Left: 2,009.93 - 500.00 = 1,509.93 over #2 and #3:
    EMI = 1,509.93 x 0.01 x 1.0201 / 0.0201 = 766.308 -> 766.31;
    #2 interest 15.10 (15.0993), principal 751.21, remaining 758.72;
    #3 interest 7.59 (7.5872), principal 758.72. Interest scheduled for #2 and #3 falls
    from 30.20 to 22.69: 7.51 less.

    On 25 Feb, paid off: principal 1,509.93; #2's interest accrued 15.10 x 15 / 28 days
    = 8.089 -> 8.09; total 1,518.02. Not owed any more: 15.10 - 8.09 + 7.59 = 14.60.

    | date   | line                          | debit    | credit   | balance  |
    | Jan 10 | disbursement (3,000 + 60.20)  | 3,060.20 |          | 3,060.20 |
    | Feb 10 | prepayment                    |          | 1,520.07 | 1,540.13 |
    | Feb 10 | schedule recomputed           |          | 7.51     | 1,532.62 |
    | Feb 25 | foreclosure                   |          | 1,518.02 | 14.60    |
    | Feb 25 | interest waived               |          | 14.60    | 0.00     |
    """
    loan = small_loan
    close_through(date(2026, 2, 9))  # business date 10 Feb
    loan_repay(
        loan_id=loan.pk,
        borrower=loan.borrower,
        amount=D("1520.07"),
        idempotency_key="prepay",
        prepayment="REDUCE_EMI",
    )
    close_through(date(2026, 2, 24))  # business date 25 Feb
    # The wallet held 3,000.00 - 1,520.07 = 1,479.93: short of the payoff.
    wallet_deposit(user=loan.borrower, amount=D("100.00"), idempotency_key="top-up")
    loan_foreclose(
        loan_id=loan.pk, borrower=loan.borrower, amount=D("1518.02"), idempotency_key="off"
    )

    statement = loan_statement(loan=loan)

    assert _rows(statement) == _expected(
        [
            (START, "DISBURSEMENT", "3060.20", "0", "60.20", "3000", "3060.20"),
            (date(2026, 2, 10), "REPAYMENT", "0", "1520.07", "30", "1490.07", "1540.13"),
            (date(2026, 2, 10), "SCHEDULE_CHANGE", "0", "7.51", "7.51", "0", "1532.62"),
            (date(2026, 2, 25), "REPAYMENT", "0", "1518.02", "8.09", "1509.93", "14.60"),
            (date(2026, 2, 25), "INTEREST_WAIVED", "0", "14.60", "14.60", "0", "0"),
        ]
    )
    descriptions = [line.description for line in statement.lines]
    assert descriptions[1] == "Prepayment from the wallet, reducing the EMI"
    assert descriptions[2] == (
        "Schedule recomputed (version 2, prepayment reducing the emi): EMI 1,020.07 over 3 "
        "installments → 766.31 over 3; interest scheduled 7.51 less"
    )
    assert descriptions[3] == "Foreclosure: paid off from the wallet"
    assert statement.status == "CLOSED" and statement.payoff is None
    body = _json(loan)
    assert body["payoff"] is None
    assert [line["balance"] for line in body["lines"]] == [
        "3060.20",
        "1540.13",
        "1532.62",
        "14.60",
        "0.00",
    ]
    text = _pdf(loan)
    assert "Interest not yet accrued, waived at the foreclosure 14.60 14.60 0.00" in text
    assert "7.51 7.51 1,532.62" in text


@pytest.mark.django_db
def test_a_write_off_takes_the_balance_to_zero_and_recoveries_are_shown_apart(small_loan):
    """Never paid. #1 (1,020.07, due 10 Feb) is charged its fee at the close of 15 Feb,
    5 grace days later: 2 % of 1,020.07 = 20.40, raised to the minimum 100.00. Written
    off on 16 Feb: principal 3,000.00, interest due (#1 only) 30.00, fees 100.00 =
    3,130.00 owed. Then 500.00 recovered.

    | date   | line        | debit    | credit   | balance  | recovered |
    | Jan 10 | disbursed   | 3,060.20 |          | 3,060.20 |           |
    | Feb 15 | late fee #1 | 100.00   |          | 3,160.20 |           |
    | Feb 16 | written off |          | 3,160.20 | 0.00     |           |
    | Feb 16 | recovery    |          |          | 0.00     | 500.00    |

    The write-off's credit is all that was owed: principal 3,000.00, fees 100.00, and
    interest 60.20 (30.00 due, 30.20 scheduled but not yet due, no longer charged).
    """
    loan = small_loan
    close_through(date(2026, 2, 15))  # business date 16 Feb
    loan_write_off(loan_id=loan.pk, officer=OfficerFactory(), reason="Borrower absconded")
    repaid(loan, "500.00", key="recovery")

    statement = loan_statement(loan=loan)

    assert _rows(statement) == _expected(
        [
            (START, "DISBURSEMENT", "3060.20", "0", "60.20", "3000", "3060.20"),
            (date(2026, 2, 15), "LATE_FEE", "100", "0", "0", "0", "3160.20"),
            (date(2026, 2, 16), "WRITE_OFF", "0", "3160.20", "60.20", "3000", "0"),
            (date(2026, 2, 16), "RECOVERY", "0", "0", "0", "0", "0"),
        ]
    )
    write_off, recovery = statement.lines[2:]
    assert write_off.fees == D("100.00")
    assert write_off.description == (
        "Written off: 3,130.00 was owed (principal, interest due and fees); interest not "
        "yet due is no longer charged"
    )
    assert (recovery.recovered, recovery.description) == (
        D("500.00"),
        "Recovery from the wallet: 500.00",
    )
    assert (statement.written_off_amount, statement.recovered_amount) == (
        D("3130.00"),
        D("500.00"),
    )
    assert statement.totals.recovered == D("500.00")
    body = _json(loan)
    assert body["totals"] == {"debit": "3160.20", "credit": "3160.20", "recovered": "500.00"}
    assert (body["written_off_amount"], body["recovered_amount"]) == ("3130.00", "500.00")
    text = _pdf(loan)
    assert "Written off 3,130.00 Recovered 500.00" in text
    assert f"Recovery from the wallet: {format_inr(D('500.00'))}" in text


@pytest.mark.django_db
def test_a_write_off_by_the_close_comes_after_that_days_late_fees():
    """A product writing off at 6 days past due. The close of 15 Feb (as of 16 Feb) finds
    #1 (due 10 Feb) more than its 5 grace days late and 6 days past due: it charges the
    fee, then writes the loan off, in that order, on the same day."""
    from tests.loans.factories import LoanProductFactory

    set_business_date(START)
    product = LoanProductFactory(write_off_days=6)
    loan = active_loan(
        BorrowerFactory(), principal="3000.00", rate="12.00", tenure=3, product=product.code
    )
    close_through(date(2026, 2, 15))

    statement = loan_statement(loan=loan)

    assert [(line.on, line.kind, line.balance) for line in statement.lines] == [
        (START, "DISBURSEMENT", D("3060.20")),
        (date(2026, 2, 15), "LATE_FEE", D("3160.20")),
        (date(2026, 2, 15), "WRITE_OFF", D("0.00")),
    ]
    assert statement.lines[-1].description.startswith("Written off by the close of business")
    with connection.cursor() as cursor:  # the loan's books agree: nothing owed
        cursor.execute("SELECT outstanding_amount FROM loans_loan WHERE id = %s", [loan.pk])
        assert cursor.fetchone() == (D("0.00"),)
