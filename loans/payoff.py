"""What it takes to pay a loan off on a day: the payoff quote, installment by installment.

Pure arithmetic on a loan's installments (no database): ``loans.selectors`` serves the
quote, and the foreclosure (``loans.services.loan_foreclose``) settles each installment
by the same lines, so the rule exists once. docs/LOANS.md explains it with an example.

On ``as_of``, each installment falls in one of three places:

- **due** (due on or before ``as_of``): everything unpaid is owed: fee, interest,
  principal;
- **the current period** (the one installment whose period contains ``as_of``; the
  period runs from the previous due date, or the disbursement date, up to the day
  before its due date): its unpaid fee and principal, and the interest accrued so far:
  its scheduled interest x days elapsed / days in the period, half-up to the cent
  (days are calendar days, ``as_of`` - period start, so 0 on the first day), less what
  was already paid of it, never below zero. The rest of its interest is waived on
  payoff;
- **later** (periods that start after ``as_of``): unpaid fee and principal are owed; its
  interest is not: any interest already paid on it (paid in advance) is a **credit**,
  and all its interest is waived on payoff.

``total = principal + interest + fees - credit``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from loans.schedule import prorate

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class PayoffQuote:
    """What paying a loan off on ``as_of`` costs; Decimals to the cent."""

    loan_id: int
    as_of: date
    principal: Decimal
    interest: Decimal
    fees: Decimal
    credit: Decimal
    total: Decimal


@dataclass(frozen=True)
class PayoffLine:
    """One installment's part of a payoff.

    ``interest`` is owed; ``interest_waived`` is what a payoff forgives on top of any
    waived before (unpaid interest not yet accrued, plus the ``credit``: interest paid in
    advance, given back).
    """

    number: int
    fee: Decimal
    interest: Decimal
    principal: Decimal
    credit: Decimal
    interest_waived: Decimal

    @property
    def amount(self) -> Decimal:
        """What the borrower pays for this installment (negative: credit exceeds it)."""
        return self.fee + self.interest + self.principal - self.credit


def payoff_lines(*, installments: Iterable, disbursed_on: date, as_of: date) -> list[PayoffLine]:
    """The payoff of each installment that is unpaid or holds a credit, oldest first.

    ``installments`` are all the loan's installment rows (``loans.models.Installment``
    or anything with the same fields), in any order.
    """
    lines = []
    period_start = disbursed_on
    for row in sorted(installments, key=lambda i: i.number):
        if row.due_date <= as_of:  # due
            interest, credit = row.interest_due, ZERO
        elif period_start <= as_of:  # the current period
            elapsed = (as_of - period_start).days
            accrued = prorate(row.interest, elapsed, (row.due_date - period_start).days)
            interest, credit = min(max(accrued - row.interest_paid, ZERO), row.interest_due), ZERO
        else:  # later
            interest, credit = ZERO, row.interest_paid
        waived = row.interest_due - interest + credit
        period_start = row.due_date
        line = PayoffLine(
            number=row.number,
            fee=row.fee_due,
            interest=interest,
            principal=row.principal_due,
            credit=credit,
            interest_waived=waived,
        )
        if line.fee or line.interest or line.principal or line.credit or line.interest_waived:
            lines.append(line)
    return lines


def payoff_quote(*, loan_id: int, as_of: date, lines: Iterable[PayoffLine]) -> PayoffQuote:
    lines = list(lines)
    principal = sum((line.principal for line in lines), ZERO)
    interest = sum((line.interest for line in lines), ZERO)
    fees = sum((line.fee for line in lines), ZERO)
    credit = sum((line.credit for line in lines), ZERO)
    return PayoffQuote(
        loan_id=loan_id,
        as_of=as_of,
        principal=principal,
        interest=interest,
        fees=fees,
        credit=credit,
        total=principal + interest + fees - credit,
    )
