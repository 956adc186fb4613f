"""Figures read straight from the books, for tests to compare against the code's."""

from decimal import Decimal

from django.db import connection


def account_balance(*, account_id: int) -> Decimal:
    """The sum of an account's postings (credit-positive), in plain SQL."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(sum(amount), 0) FROM ledger_posting WHERE account_id = %s",
            [account_id],
        )
        (total,) = cursor.fetchone()
    return Decimal(total).quantize(Decimal("0.01"))
