"""Amounts in Indian digit grouping (statements, the console): figures written by hand."""

from decimal import Decimal

import pytest

from lendingsite.money import format_inr


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        ("0", "0.00"),
        ("0.5", "0.50"),
        ("7", "7.00"),
        ("999.99", "999.99"),
        ("1000", "1,000.00"),
        ("12345.6", "12,345.60"),
        ("99999.99", "99,999.99"),
        ("100000", "1,00,000.00"),
        ("1234567", "12,34,567.00"),
        ("12345678.9", "1,23,45,678.90"),
        ("1000000000.01", "1,00,00,00,000.01"),
        ("-0.01", "-0.01"),
        ("-999.50", "-999.50"),
        ("-1000", "-1,000.00"),
        ("-1234567.25", "-12,34,567.25"),
    ],
)
def test_indian_grouping_with_two_places(amount, shown):
    assert format_inr(Decimal(amount)) == shown
