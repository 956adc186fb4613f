"""Template filters for notification emails: ``{{ amount|inr }}`` → ``12,34,567.00``."""

from decimal import Decimal, InvalidOperation

from django import template

from lendingsite.money import format_inr

register = template.Library()


@register.filter
def inr(value) -> str:
    """An amount in rupees with Indian digit grouping; anything else unchanged."""
    try:
        return format_inr(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return value


@register.filter
def bucket(code: str) -> str:
    """A delinquency bucket as a borrower reads it: ``DPD_31_60`` → ``31-60 days past due``."""
    parts = str(code).split("_")
    if parts[0] == "DPD" and len(parts) == 3:
        low, high = parts[1], parts[2]
        return f"{low}+ days past due" if high == "PLUS" else f"{low}-{high} days past due"
    return "up to date" if code == "CURRENT" else str(code)
