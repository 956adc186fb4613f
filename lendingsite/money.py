"""Money is ``Decimal`` with two places, end to end."""

import re
from decimal import Decimal

from django.conf import settings
from django.utils import numberformat
from rest_framework import serializers

CENT = Decimal("0.01")
PLAIN_DECIMAL = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


def format_money(amount: Decimal) -> str:
    return f"{amount.quantize(CENT):.2f}"


def format_inr(amount: Decimal) -> str:
    """An amount with Indian digit grouping and two places: 12,34,567.00."""
    return numberformat.format(
        amount, ".", decimal_pos=2, grouping=(3, 2, 0), thousand_sep=",", force_grouping=True
    )


class MoneyField(serializers.DecimalField):
    """A positive amount with at most two decimal places, given as a number or a string.

    Three decimal places, zero, negatives, NaN, infinities, exponent notation, spaces,
    non-ASCII digits and values above the configured maximum are refused with a 400
    naming the field.
    """

    def __init__(self, *, max_value: Decimal | None = None, **kwargs):
        kwargs.setdefault("max_digits", 14)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("min_value", CENT)
        kwargs.setdefault("max_value", max_value or settings.MAX_TRANSFER_AMOUNT)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or (isinstance(data, str) and not PLAIN_DECIMAL.fullmatch(data)):
            self.fail("invalid")
        return super().to_internal_value(data)
