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
