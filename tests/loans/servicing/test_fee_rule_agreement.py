"""The late-fee rule exists as SQL (the close of business) and in Python (the replay):
the two must agree. PostgreSQL evaluates the close's own price expression on the same
inputs as ``late_fee_price``; the trigger condition likewise."""

from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loans.close_of_business import FEE_PRICE_SQL, late_fee_is_due, late_fee_price

money = st.integers(0, 10_000_000).map(lambda cents: Decimal(cents) / 100)
percent = st.integers(0, 5_000).map(lambda hundredths: Decimal(hundredths) / 100)
rules = st.fixed_dictionaries(
    {
        "late_fee_kind": st.sampled_from(["FLAT", "PERCENT"]),
        "late_fee_value": st.one_of(percent, money),
        "late_fee_min": st.one_of(st.none(), money),
        "late_fee_max": st.one_of(st.none(), money),
    }
)

PRICE_SQL = f"""
    SELECT {FEE_PRICE_SQL} FROM (
        SELECT %(kind)s::varchar AS late_fee_kind, %(value)s::numeric AS late_fee_value,
               %(min)s::numeric AS late_fee_min, %(max)s::numeric AS late_fee_max,
               %(unpaid)s::numeric AS unpaid
    ) AS installment
"""

DUE_SQL = "SELECT %(due)s::date < %(as_of)s::date AND %(as_of)s::date - %(due)s::date > %(grace)s"


@pytest.mark.django_db
@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(product=rules, unpaid=money)
def test_the_replay_prices_a_late_fee_as_the_close_does(product, unpaid):
    if product["late_fee_min"] is not None and product["late_fee_max"] is not None:
        low, high = sorted([product["late_fee_min"], product["late_fee_max"]])
        product = {**product, "late_fee_min": low, "late_fee_max": high}  # the CHECK's order
    with connection.cursor() as cursor:
        cursor.execute(
            PRICE_SQL,
            {
                "kind": product["late_fee_kind"],
                "value": product["late_fee_value"],
                "min": product["late_fee_min"],
                "max": product["late_fee_max"],
                "unpaid": unpaid,
            },
        )
        (in_sql,) = cursor.fetchone()

    assert late_fee_price(product=SimpleNamespace(**product), unpaid=unpaid) == in_sql


@pytest.mark.django_db
@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    due=st.dates(date(2025, 1, 1), date(2027, 12, 31)),
    days_later=st.integers(-40, 40),
    grace=st.integers(0, 30),
)
def test_the_replay_finds_a_fee_due_when_the_close_does(due, days_later, grace):
    as_of = due + timedelta(days=days_later)
    with connection.cursor() as cursor:
        cursor.execute(DUE_SQL, {"due": due, "as_of": as_of, "grace": grace})
        (in_sql,) = cursor.fetchone()

    assert late_fee_is_due(due_date=due, as_of=as_of, grace_days=grace) is in_sql
