"""A loan with fees, a waiver and partial payments, its figures worked out by hand."""

from datetime import date
from decimal import Decimal

from loans.models import Loan
from loans.services import loan_fee_waive
from tests.accounts.factories import BorrowerFactory, OfficerFactory
from tests.loans.factories import active_loan, repaid
from tests.loans.servicing.helpers import close_through, set_business_date
from wallets.services import wallet_deposit

START = date(2026, 1, 10)


def serviced_loan_scenario() -> Loan:
    """1,50,000.00 flat at 12 % over 12 months, from Jan 10th, with fees, a waiver, payments.

    Flat: interest 18,000.00, so 12 installments of 12,500.00 principal + 1,500.00
    interest = 14,000.00, due on the 10th from Feb 10th. Grace 5 days; fee 2 % of the
    installment's unpaid principal and interest, at least 100.00, at most 1,000.00.

    | date   | event                                   | debit    | credit   | balance  |
    | Jan 10 | deposit 2,000.00 (wallet only)          |          |          |          |
    | Jan 10 | disbursed: 1,50,000 + 18,000 interest   | 1,68,000 |          | 1,68,000 |
    | Feb 12 | paid 5,000: #1 interest 1,500, pr 3,500 |          | 5,000    | 1,63,000 |
    | Feb 15 | fee on #1: 2 % of 9,000 = 180           | 180      |          | 1,63,180 |
    | Feb 21 | waived 80 of #1's fee                   |          | 80       | 1,63,100 |
    | Feb 21 | paid 10,000: #1 fee 100, pr 9,000;      |          | 10,000   | 1,53,100 |
    |        |   #2 interest 900                       |          |          |          |
    | Mar 15 | fee on #2: 2 % of 13,100 = 262          | 262      |          | 1,53,362 |

    The business date is then Mar 21st: #1 PAID, #2 OVERDUE (11 days), #3… PENDING.
    """
    set_business_date(START)
    borrower = BorrowerFactory(name="Asha Rao", email="asha@example.com")
    officer = OfficerFactory()
    wallet_deposit(user=borrower, amount=Decimal("2000.00"), idempotency_key="dep")
    loan = active_loan(
        borrower, officer, principal="150000.00", tenure=12, rate="12.00", method="FLAT"
    )
    close_through(date(2026, 2, 11))
    repaid(loan, "5000.00", key="p1")
    close_through(date(2026, 2, 20))
    loan_fee_waive(
        loan_id=loan.pk,
        installment_number=1,
        amount=Decimal("80.00"),
        reason="Bank holiday",
        officer=officer,
    )
    repaid(loan, "10000.00", key="p2")
    close_through(date(2026, 3, 20))
    loan.refresh_from_db()
    return loan
