"""Moving the business date the way operators do: ``close_business_day``."""

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from io import StringIO

from django.core.management import call_command

from ledger.models import BusinessDate

CENT = Decimal("0.01")


def set_business_date(day: date) -> None:
    """Start a test on a known business date (a new database starts on today)."""
    BusinessDate.objects.update_or_create(pk=1, defaults={"date": day})


def business_date() -> date:
    return BusinessDate.objects.get(pk=1).date


def close_through(day: date, *args: str) -> str:
    """Run ``manage.py close_business_day --allow-future --date day``; return its output."""
    out = StringIO()
    call_command(
        "close_business_day", "--allow-future", "--date", day.isoformat(), *args, stdout=out
    )
    return out.getvalue()


def cents(value) -> Decimal:
    """Round a Fraction or a Decimal half-up to the cent (the project's one rule)."""
    if isinstance(value, Fraction):
        value = Decimal(value.numerator) / Decimal(value.denominator)
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def reducing_emi(principal: str, annual_rate: str, months: int) -> Decimal:
    """The EMI by the textbook formula, in exact fractions (a second computation)."""
    p, r = Fraction(principal), Fraction(annual_rate) / 1200
    growth = (1 + r) ** months
    return cents(p * r * growth / (growth - 1))


def late_fee(unpaid: Decimal) -> Decimal:
    """The default product's fee: 2 % of the unpaid amount, at least 100, at most 1,000."""
    return min(max(cents(unpaid * 2 / 100), Decimal("100.00")), Decimal("1000.00"))
