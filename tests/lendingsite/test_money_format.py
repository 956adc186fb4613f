"""Amounts as Indian readers group them: the last three digits, then pairs (lakhs, crores)."""

from decimal import Decimal as D

import pytest
from django.template import Context, Template

from lendingsite.money import format_inr


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        ("0", "0.00"),
        ("0.5", "0.50"),
        ("7", "7.00"),
        ("999.99", "999.99"),  # below a thousand: no separator
        ("1000", "1,000.00"),
        ("12345.6", "12,345.60"),
        ("99999.99", "99,999.99"),
        ("100000", "1,00,000.00"),  # one lakh
        ("1234567", "12,34,567.00"),  # twelve lakh ...
        ("10000000", "1,00,00,000.00"),  # one crore
        ("123456789.01", "12,34,56,789.01"),
        ("98765432109.99", "98,76,54,32,109.99"),  # thousands of crores: pairs go on
        ("-0.01", "-0.01"),
        ("-999.00", "-999.00"),
        ("-1500", "-1,500.00"),
        ("-1234567.89", "-12,34,567.89"),
    ],
)
def test_format_inr_groups_the_indian_way(amount, shown):
    assert format_inr(D(amount)) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [(D("250000.00"), "2,50,000.00"), (D("-1066.19"), "-1,066.19"), (None, ""), ("", "")],
)
def test_the_inr_filter_writes_amounts_in_templates(value, shown):
    template = Template("{% load inr %}{{ amount|inr }}")

    assert template.render(Context({"amount": value})) == shown
