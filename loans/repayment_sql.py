"""The SQL of a repayment: the few statements every payment on a loan runs.

A payment was once twenty-odd statements; here it is three of its own (docs/MONEY.md,
"A repayment's statements", and docs/BENCHMARKS.md):

1. ``repayment_lock``: the loan and the borrower's wallet account locked in one
   statement, loan first (the lock order), with what the payment needs besides: the
   loan's product (its allocation rules), the business date, the wallet's balance, and
   whether the borrower is still an active borrower (the database's word, whatever
   the access token says).
2. The loan's unpaid installments (``loans.services._installments_to_pay``), read
   *after* the lock: a statement's snapshot is taken before it waits for a lock, so
   installments read by the lock statement itself could predate the payment it waited
   for.
3. One ``lendingsite.cte.WriteStatement`` for every write: the ledger's parts
   (``ledger.services.ledger_post_with``), the installments
   (``installments_update_with``), the loan (``loan_update_with``), the repayment
   and its allocations, the notifications.

Everything else stays on the ORM; the rules (allocation, what closes a loan) stay in
``loans.services`` and the modules it calls.
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache

from django.db import DEFAULT_DB_ALIAS, connection

from accounts.models import User
from lendingsite.cte import WriteStatement
from loans.exceptions import LoanNotFoundError
from loans.models import Installment, Loan, LoanProduct


@dataclass(frozen=True)
class LockedLoan:
    """A borrower's loan locked for a payment, with the wallet account locked after it."""

    loan: Loan  # its product loaded
    business_date: date | None  # None: the platform has no business date yet
    wallet_account_id: int
    wallet_balance: Decimal


@cache
def _lock_sql() -> tuple[str, list[str], list[str]]:
    loan_fields = [f.attname for f in Loan._meta.concrete_fields]
    product_fields = [f.attname for f in LoanProduct._meta.concrete_fields]
    quote = connection.ops.quote_name
    columns = [f"l.{quote(Loan._meta.get_field(n).column)}" for n in loan_fields] + [
        f"p.{quote(LoanProduct._meta.get_field(n).column)}" for n in product_fields
    ]
    sql = f"""
        SELECT {", ".join(columns)},
               bd.date, a.id, a.balance,
               u.is_active AND u.role = %s
        FROM loans_loan l
        JOIN loans_loanproduct p ON p.id = l.product_id
        JOIN accounts_user u ON u.id = l.borrower_id
        JOIN wallets_wallet w ON w.user_id = l.borrower_id
        JOIN ledger_account a ON a.id = w.account_id
        LEFT JOIN ledger_businessdate bd ON bd.id = 1
        WHERE l.id = %s AND l.borrower_id = %s
        FOR NO KEY UPDATE OF l, a
    """  # noqa: S608 - column names from the models; values are placeholders
    return sql, loan_fields, product_fields


def repayment_lock(*, loan_id: int, borrower_id: int) -> LockedLoan:
    """Lock a borrower's loan, then their wallet's account, in one statement.

    ``LoanNotFoundError`` when the loan is not the borrower's, or the borrower is no
    longer an active borrower (deactivated, or their role changed, since their access
    token was issued): no money moves for them.
    """
    sql, loan_fields, product_fields = _lock_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, [User.Role.BORROWER, loan_id, borrower_id])
        row = cursor.fetchone()
    if row is None or not row[-1]:
        raise LoanNotFoundError(f"Loan {loan_id} was not found.")
    n = len(loan_fields)
    loan = Loan.from_db(DEFAULT_DB_ALIAS, loan_fields, row[:n])
    product = LoanProduct.from_db(
        DEFAULT_DB_ALIAS, product_fields, row[n : n + len(product_fields)]
    )
    loan.product = product
    business_date, account_id, balance = row[-4:-1]
    return LockedLoan(
        loan=loan, business_date=business_date, wallet_account_id=account_id, wallet_balance=balance
    )


@cache
def _unpaid_sql() -> tuple[str, list[str]]:
    fields = [f.attname for f in Installment._meta.concrete_fields]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(Installment._meta.get_field(n).column) for n in fields)
    sql = f"""
        SELECT {columns} FROM loans_installment
        WHERE loan_id = %s AND paid_on IS NULL AND number > %s
        ORDER BY number LIMIT %s
    """  # noqa: S608 - column names from the model; values are placeholders
    return sql, fields


def installments_unpaid(*, loan_id: int, after: int, limit: int) -> list[Installment]:
    """Up to ``limit`` of the loan's unpaid installments numbered after ``after``, in order."""
    sql, fields = _unpaid_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, [loan_id, after, limit])
        rows = cursor.fetchall()
    return [Installment.from_db(DEFAULT_DB_ALIAS, fields, row) for row in rows]


INSTALLMENTS_UPDATE_SQL = """
    UPDATE loans_installment i
    SET fee_paid = new.fee_paid, interest_paid = new.interest_paid,
        principal_paid = new.principal_paid, interest_waived = new.interest_waived,
        paid_on = new.paid_on
    FROM unnest(%s::bigint[], %s::numeric[], %s::numeric[], %s::numeric[], %s::numeric[],
                %s::date[])
         AS new(id, fee_paid, interest_paid, principal_paid, interest_waived, paid_on)
    WHERE i.id = new.id
"""


def installments_update_with(statement: WriteStatement, installments: list[Installment]) -> None:
    """Write the installments' paid and waived amounts and ``paid_on``, as they are."""
    statement.add(
        "installments",
        INSTALLMENTS_UPDATE_SQL,
        [
            [i.pk for i in installments],
            [i.fee_paid for i in installments],
            [i.interest_paid for i in installments],
            [i.principal_paid for i in installments],
            [i.interest_waived for i in installments],
            [i.paid_on for i in installments],
        ],
    )


LOAN_UPDATE_SQL = """
    UPDATE loans_loan
    SET outstanding_amount = %s, status = %s, closed_at = %s, updated_at = %s
    WHERE id = %s
"""


def loan_update_with(statement: WriteStatement, loan: Loan, *, now: datetime) -> None:
    """Write a paid loan's outstanding amount and status (``closed_at`` with it)."""
    loan.updated_at = now
    statement.add(
        "loan",
        LOAN_UPDATE_SQL,
        [loan.outstanding_amount, loan.status, loan.closed_at, now, loan.pk],
    )
