"""A wallet's statement: its balance before a period, its postings in it, its balance after.

``wallet_statement`` builds it as plain data from the wallet's ledger postings; the API
serializes it as JSON and ``wallets.statement_pdf`` lays the same data out as a PDF.
What each line means: docs/STATEMENTS.md.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ledger.selectors import (
    account_balance_before,
    account_first_value_date,
    business_date_get,
    posting_list_for_period,
)
from lendingsite.db import read_snapshot
from lendingsite.statements import Period, statement_period
from wallets.selectors import wallet_get_for_user

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class WalletStatementLine:
    on: date  # the entry's value date (a business date)
    kind: str  # the journal entry's kind: DEPOSIT, WITHDRAWAL, LOAN_DISBURSEMENT, …
    description: str
    reference: str
    credit: Decimal  # money into the wallet
    debit: Decimal  # money out of it
    balance: Decimal  # the wallet's balance after this line


@dataclass(frozen=True)
class WalletStatement:
    user_id: int
    name: str
    email: str
    currency: str
    business_date: date
    period: Period
    opening_balance: Decimal
    lines: list[WalletStatementLine]
    total_credit: Decimal
    total_debit: Decimal
    closing_balance: Decimal


def wallet_statement(*, user, since: date | None = None, until: date | None = None):
    """The statement of ``user``'s wallet for business dates ``since`` to ``until``.

    By default from the value date of its first posting (the business date for a wallet
    without any) to the business date. Read in one snapshot, in a fixed number of
    queries whatever the number of lines. Raises ``StatementPeriodError`` (400) for a
    period inverted or ending after the business date.
    """
    with read_snapshot():
        wallet = wallet_get_for_user(user=user)
        account_id = wallet.account_id
        today = business_date_get()
        opens = account_first_value_date(account_id=account_id) or today
        period = statement_period(since=since, until=until, opens=opens, today=today)
        opening = account_balance_before(account_id=account_id, day=period.since)
        postings = posting_list_for_period(
            account_id=account_id, since=period.since, until=period.until
        )
        balance = opening
        lines = []
        for posting in postings:
            balance += posting.amount
            entry = posting.entry
            lines.append(
                WalletStatementLine(
                    on=entry.value_date,
                    kind=entry.kind,
                    description=entry.description,
                    reference=entry.reference,
                    credit=posting.amount if posting.amount > 0 else ZERO,
                    debit=-posting.amount if posting.amount < 0 else ZERO,
                    balance=balance,
                )
            )
    return WalletStatement(
        user_id=user.pk,
        name=user.name,
        email=user.email,
        currency=wallet.currency,
        business_date=today,
        period=period,
        opening_balance=opening,
        lines=lines,
        total_credit=sum((line.credit for line in lines), ZERO),
        total_debit=sum((line.debit for line in lines), ZERO),
        closing_balance=balance,
    )
