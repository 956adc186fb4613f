"""``{{ amount|inr }}``: an amount as officers read it, 12,34,567.00 (``format_inr``)."""

from decimal import Decimal

from django import template

from lendingsite.money import format_inr

register = template.Library()


@register.filter
def inr(amount: Decimal | None) -> str:
    """Group an amount the Indian way with two places; empty for no amount."""
    if amount is None or amount == "":
        return ""
    return format_inr(Decimal(amount))
