"""Repayment arithmetic for loans: EMI, installment schedule and due dates.

Pure functions on ``Decimal`` and ``date``; no models and no database. Services call
``quote()`` to price a loan and to build its installment rows.

Rules (docs/LOAN_MATH.md explains them with worked examples):

- Every amount returned is a ``Decimal`` quantized to ``0.01``; rounding is always
  ROUND_HALF_UP to the cent. No figure is ever negative.
- ``r = annual_rate / 12 / 100`` is the monthly rate; ``annual_rate`` is a percentage.
- Reducing balance (default):
  ``EMI = P*r*(1+r)^n / ((1+r)^n - 1)`` rounded to the cent, or ``P / n`` rounded when
  the rate is 0. Each month ``interest = remaining * r`` rounded to the cent and
  ``principal = EMI - interest``.
- Flat: ``total interest = P * annual_rate/100 * n/12`` rounded to the cent,
  ``EMI = (P + total interest) / n`` rounded, and each month
  ``interest = total interest / n`` rounded and ``principal = EMI - interest``.
- Both methods: a principal part never exceeds the principal still owed (nor, for flat, an
  interest part the interest still owed), so tiny loans whose rounded EMI would overpay get
  0.00 installments at the end instead of negative ones. The last installment absorbs all
  rounding: its principal part is the whole remaining principal (and, for flat, its interest
  part the whole remaining interest). Hence the principal parts sum exactly to ``P``, the
  remaining principal ends at 0.00, and every installment but the last totals exactly the
  EMI unless the loan was already repaid.
- ``total_interest`` is the sum of the interest parts and ``total_amount`` is
  ``principal + total_interest``, both to the cent.
- Installment ``k`` is due ``add_months(first_due_date, k - 1)``; ``first_due_date``
  defaults to one month after today. ``add_months`` clamps to the month's end.

Computation is exact: every intermediate product and power is an exact ``Decimal`` (an
unbounded-precision context that traps any rounding), and the single division in each
formula is done as an integer division whose remainder decides the HALF_UP rounding. A
fixed 34-digit context would be nearly always right, but it can land a hair below an exact
half cent (e.g. 3.00 at 2 % for one month is exactly 3.005, which must round to 3.01) and
round the wrong way.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import (
    MAX_EMAX,
    MAX_PREC,
    MIN_EMIN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    Rounded,
    localcontext,
)
from enum import StrEnum

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# A guard against absurd input, not a business limit (the API validates its own ranges):
# the exact powers below grow with the tenure.
MAX_TENURE_MONTHS = 1200

_MONTHS_PER_YEAR_TIMES_PERCENT = Decimal(1200)  # r = annual_rate / 1200
# Exact arithmetic: any operation that would have to round raises instead.
_EXACT = Context(
    prec=MAX_PREC,
    Emax=MAX_EMAX,
    Emin=MIN_EMIN,
    rounding=ROUND_HALF_UP,
    traps=[Inexact, Rounded, InvalidOperation, DivisionByZero, Overflow],
)
# Same range without the rounding traps, to test whether a value has more than 2 places.
_WIDE = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[InvalidOperation])


class InterestMethod(StrEnum):
    REDUCING = "REDUCING"  # interest on the remaining principal (default)
    FLAT = "FLAT"  # interest on the original principal for the whole tenure


@dataclass(frozen=True)
class Installment:
    number: int  # 1..n
    due_date: date
    principal: Decimal
    interest: Decimal
    total: Decimal  # principal + interest
    remaining_principal: Decimal  # principal still owed after this installment


@dataclass(frozen=True)
class Quote:
    emi_amount: Decimal
    total_interest: Decimal
    total_amount: Decimal  # principal + total_interest
    tenure_months: int
    installments: tuple[Installment, ...]


def add_months(start: date, months: int) -> date:
    """Return ``start`` moved by ``months`` calendar months, clamped to the month's end.

    Jan 31 + 1 month is Feb 29 in a leap year and Feb 28 otherwise. ``months`` may be
    negative.
    """
    years, month_index = divmod(start.month - 1 + months, 12)
    year = start.year + years
    month = month_index + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def emi_amount(
    *,
    principal: Decimal,
    annual_rate: Decimal,
    tenure_months: int,
    method: InterestMethod = InterestMethod.REDUCING,
) -> Decimal:
    """Return the monthly installment, rounded HALF_UP to the cent.

    ``quote`` prices a whole loan; this is the EMI alone, for re-amortising what is left
    of a loan (loan servicing: a prepayment that reduces the EMI).
    """
    principal, annual_rate, tenure_months, method = _validated(
        principal, annual_rate, tenure_months, method
    )
    if method is InterestMethod.FLAT:
        return _flat_emi(
            principal, _flat_total_interest(principal, annual_rate, tenure_months), tenure_months
        )
    return _reducing_emi(principal, annual_rate, tenure_months)


def quote(
    *,
    principal: Decimal,
    annual_rate: Decimal,
    tenure_months: int,
    method: InterestMethod = InterestMethod.REDUCING,
    first_due_date: date | None = None,
) -> Quote:
    """Return the EMI, the totals and the full installment schedule of a loan."""
    principal, annual_rate, tenure_months, method = _validated(
        principal, annual_rate, tenure_months, method
    )
    if first_due_date is None:
        first_due_date = add_months(date.today(), 1)

    if method is InterestMethod.FLAT:
        total_interest = _flat_total_interest(principal, annual_rate, tenure_months)
        emi = _flat_emi(principal, total_interest, tenure_months)
        parts = _flat_parts(principal, total_interest, emi, tenure_months)
    else:
        emi = _reducing_emi(principal, annual_rate, tenure_months)
        parts = _reducing_parts(principal, annual_rate, emi, tenure_months)

    installments = []
    remaining = principal
    for number, (principal_part, interest_part) in enumerate(parts, start=1):
        remaining -= principal_part
        installments.append(
            Installment(
                number=number,
                due_date=add_months(first_due_date, number - 1),
                principal=principal_part,
                interest=interest_part,
                total=principal_part + interest_part,
                remaining_principal=remaining,
            )
        )
    total_interest = sum((i.interest for i in installments), ZERO)
    return Quote(
        emi_amount=emi,
        total_interest=total_interest,
        total_amount=principal + total_interest,
        tenure_months=tenure_months,
        installments=tuple(installments),
    )


def amortize(
    *,
    principal: Decimal,
    annual_rate: Decimal,
    due_dates: tuple[date, ...] | list[date],
    emi: Decimal | None = None,
) -> tuple[Installment, ...]:
    """Re-amortise ``principal`` (reducing balance) over installments on ``due_dates``.

    Loan servicing's prepayment: what is left of a loan is spread again over the
    installments still to come, keeping their due dates. Without ``emi`` (REDUCE_EMI)
    every due date keeps an installment and the EMI is the annuity's over that many
    months. With ``emi`` (REDUCE_TENURE) the EMI is kept, installments are dropped from
    the end once the principal is repaid, and the last one absorbs the remainder. The
    rules of ``quote`` apply: interest is ``remaining * r`` to the cent, and the last
    installment takes all the principal left. Numbers run from 1.
    """
    count = len(due_dates)
    principal, annual_rate, count, _ = _validated(
        principal, annual_rate, count, InterestMethod.REDUCING
    )
    if emi is None:
        emi = _reducing_emi(principal, annual_rate, count)
    rows, remaining = [], principal
    for number, (principal_part, interest_part) in enumerate(
        _reducing_parts(principal, annual_rate, emi, count), start=1
    ):
        if remaining == 0:
            break
        remaining -= principal_part
        rows.append(
            Installment(
                number=number,
                due_date=due_dates[number - 1],
                principal=principal_part,
                interest=interest_part,
                total=principal_part + interest_part,
                remaining_principal=remaining,
            )
        )
    return tuple(rows)


def prorate(amount: Decimal, part: int, whole: int) -> Decimal:
    """Return ``amount * part / whole`` rounded HALF_UP to the cent, exactly.

    Loan servicing's interest accrued in a period: the period's interest for the days
    elapsed out of the days in the period. ``0 <= part``, ``0 < whole``.
    """
    if whole <= 0 or part < 0:
        raise ValueError(f"prorate needs 0 <= part and 0 < whole, got {part}/{whole}.")
    with localcontext(_EXACT):
        numerator = Decimal(amount) * part
    return _cents(numerator, Decimal(whole))


# Formulas -------------------------------------------------------------------------------


def _reducing_emi(principal: Decimal, annual_rate: Decimal, tenure_months: int) -> Decimal:
    if annual_rate == 0:
        return _cents(principal, Decimal(tenure_months))
    # With r = R/1200 and g = (1200 + R)^n, (1+r)^n = g / 1200^n, so
    # EMI = P*r*(1+r)^n / ((1+r)^n - 1) = P*R*g / (1200*(g - 1200^n)), all exact.
    with localcontext(_EXACT):
        growth = (_MONTHS_PER_YEAR_TIMES_PERCENT + annual_rate) ** tenure_months
        base = _MONTHS_PER_YEAR_TIMES_PERCENT**tenure_months
        numerator = principal * annual_rate * growth
        denominator = _MONTHS_PER_YEAR_TIMES_PERCENT * (growth - base)
    return _cents(numerator, denominator)


def _reducing_parts(
    principal: Decimal, annual_rate: Decimal, emi: Decimal, tenure_months: int
) -> list[tuple[Decimal, Decimal]]:
    parts = []
    remaining = principal
    for number in range(1, tenure_months + 1):
        interest = _monthly_interest(remaining, annual_rate)
        # The remaining principal never grows and EMI > P*r, so interest <= round(P*r) <= EMI
        # and the difference is never negative.
        last = number == tenure_months
        principal_part = remaining if last else min(emi - interest, remaining)
        parts.append((principal_part, interest))
        remaining -= principal_part
    return parts


def _monthly_interest(remaining: Decimal, annual_rate: Decimal) -> Decimal:
    with localcontext(_EXACT):
        numerator = remaining * annual_rate
    return _cents(numerator, _MONTHS_PER_YEAR_TIMES_PERCENT)


def _flat_total_interest(principal: Decimal, annual_rate: Decimal, tenure_months: int) -> Decimal:
    # P * R/100 * n/12 = P*R*n / 1200
    with localcontext(_EXACT):
        numerator = principal * annual_rate * tenure_months
    return _cents(numerator, _MONTHS_PER_YEAR_TIMES_PERCENT)


def _flat_emi(principal: Decimal, total_interest: Decimal, tenure_months: int) -> Decimal:
    return _cents(principal + total_interest, Decimal(tenure_months))


def _flat_parts(
    principal: Decimal, total_interest: Decimal, emi: Decimal, tenure_months: int
) -> list[tuple[Decimal, Decimal]]:
    monthly_interest = _cents(total_interest, Decimal(tenure_months))
    parts = []
    remaining, interest_left = principal, total_interest
    for number in range(1, tenure_months + 1):
        if number == tenure_months:
            principal_part, interest = remaining, interest_left
        else:
            interest = min(monthly_interest, interest_left)
            # P > 0, so (P + I)/n > I/n and, rounding being monotone, EMI >= interest.
            principal_part = min(emi - interest, remaining)
        parts.append((principal_part, interest))
        remaining -= principal_part
        interest_left -= interest
    return parts


def _cents(numerator: Decimal, denominator: Decimal) -> Decimal:
    """Return ``numerator / denominator`` rounded HALF_UP to the cent, exactly.

    Both arguments are non-negative, the denominator positive.
    """
    with localcontext(_EXACT):
        cents, remainder = divmod(numerator * 100, denominator)
        if 2 * remainder >= denominator:
            cents += 1
        return (cents * CENT).quantize(CENT)


# Validation -----------------------------------------------------------------------------


def _validated(
    principal: Decimal, annual_rate: Decimal, tenure_months: int, method: InterestMethod | str
) -> tuple[Decimal, Decimal, int, InterestMethod]:
    principal = _as_decimal("principal", principal)
    annual_rate = _as_decimal("annual_rate", annual_rate)
    if principal <= 0:
        raise ValueError(f"principal must be greater than 0, got {principal}.")
    if principal != principal.quantize(CENT, context=_WIDE):
        raise ValueError(f"principal must have at most 2 decimal places, got {principal}.")
    if annual_rate < 0:
        raise ValueError(f"annual_rate must be 0 or more, got {annual_rate}.")
    if isinstance(tenure_months, bool) or not isinstance(tenure_months, int):
        raise TypeError(f"tenure_months must be an int, got {type(tenure_months).__name__}.")
    if not 1 <= tenure_months <= MAX_TENURE_MONTHS:
        raise ValueError(
            f"tenure_months must be between 1 and {MAX_TENURE_MONTHS}, got {tenure_months}."
        )
    try:
        method = InterestMethod(method)
    except ValueError:
        choices = ", ".join(InterestMethod)
        raise ValueError(f"method must be one of {choices}, got {method!r}.") from None
    return principal.quantize(CENT), annual_rate, tenure_months, method


def _as_decimal(name: str, value: Decimal | int) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(f"{name} must be a Decimal or an int, got {type(value).__name__}.")
    value = Decimal(value)
    if not value.is_finite():
        raise ValueError(f"{name} must be a finite number, got {value}.")
    return value
