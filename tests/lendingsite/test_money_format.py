"""Indian digit grouping: the last three digits, then pairs (lakhs, crores)."""

from decimal import Decimal

import pytest

from lendingsite.money import format_inr


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("0", "0.00"),
        ("0.5", "0.50"),
        ("999.99", "999.99"),
        ("1000", "1,000.00"),
        ("99999.99", "99,999.99"),
        ("100000", "1,00,000.00"),
        ("1234567", "12,34,567.00"),
        ("12345678.9", "1,23,45,678.90"),
        ("123456789.05", "12,34,56,789.05"),
        ("-250000.10", "-2,50,000.10"),
    ],
)
def test_format_inr(amount, text):
    assert format_inr(Decimal(amount)) == text
