import math
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loans.schedule import InterestMethod, add_months, emi_amount, quote

D = Decimal
CENT = D("0.01")

principals = st.decimals(min_value=D("0.01"), max_value=D("1000000.00"), places=2)
rates = st.decimals(min_value=D("0"), max_value=D("50"), places=2)
tenures = st.integers(min_value=1, max_value=60)
methods = st.sampled_from(list(InterestMethod))

# The autouse password-hasher fixture in tests/conftest.py is function-scoped; it does not
# touch anything these pure functions read, so sharing it across examples is harmless.
property_settings = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def half_up_cents(value: Fraction) -> Decimal:
    """Round an exact rational HALF_UP to the cent (reference implementation for the tests)."""
    assert value >= 0
    cents = math.floor(value * 100 + Fraction(1, 2))
    return D(cents) * CENT


def exact_reducing_emi(principal: Decimal, rate: Decimal, tenure: int) -> Decimal:
    if rate == 0:
        return half_up_cents(Fraction(principal) / tenure)
    r = Fraction(rate) / 12 / 100
    growth = (1 + r) ** tenure
    return half_up_cents(Fraction(principal) * r * growth / (growth - 1))


def is_cents(value: Decimal) -> bool:
    return value.as_tuple().exponent == -2


# Properties over the whole input range ---------------------------------------------------


@property_settings
@given(principal=principals, rate=rates, tenure=tenures, method=methods)
def test_schedule_invariants(principal, rate, tenure, method):
    """Parts sum to P, nothing is negative, the balance runs down to 0.00, totals agree."""
    first_due = date(2024, 1, 31)
    q = quote(
        principal=principal,
        annual_rate=rate,
        tenure_months=tenure,
        method=method,
        first_due_date=first_due,
    )
    items = q.installments

    assert q.tenure_months == tenure
    assert [i.number for i in items] == list(range(1, tenure + 1))
    assert sum(i.principal for i in items) == principal
    assert q.total_interest == sum(i.interest for i in items)
    assert q.total_amount == principal + q.total_interest == sum(i.total for i in items)
    for figure in (q.emi_amount, q.total_interest, q.total_amount):
        assert figure >= 0
        assert is_cents(figure)

    owed = principal
    for item in items:
        for figure in (item.principal, item.interest, item.total, item.remaining_principal):
            assert figure >= 0
            assert is_cents(figure)
        assert item.total == item.principal + item.interest
        assert item.remaining_principal == owed - item.principal
        assert item.remaining_principal <= owed
        assert item.due_date == add_months(first_due, item.number - 1)
        owed = item.remaining_principal
    assert items[-1].remaining_principal == D("0.00")

    for item in items[:-1]:
        if item.remaining_principal > 0:
            assert item.total == q.emi_amount
        else:  # a tiny loan already repaid by rounded-up installments
            assert item.total <= q.emi_amount


@property_settings
@given(principal=principals, rate=rates, tenure=tenures)
def test_reducing_emi_matches_the_exact_formula(principal, rate, tenure):
    expected = exact_reducing_emi(principal, rate, tenure)

    assert emi_amount(principal=principal, annual_rate=rate, tenure_months=tenure) == expected
    assert quote(principal=principal, annual_rate=rate, tenure_months=tenure).emi_amount == expected


@property_settings
@given(principal=principals, rate=rates, tenure=tenures)
def test_reducing_interest_is_one_month_on_the_remaining_principal(principal, rate, tenure):
    q = quote(principal=principal, annual_rate=rate, tenure_months=tenure)

    owed = principal
    for item in q.installments:
        assert item.interest == half_up_cents(Fraction(owed) * Fraction(rate) / 1200)
        owed = item.remaining_principal


@property_settings
@given(principal=principals, rate=rates, tenure=tenures)
def test_reducing_last_installment_stays_near_the_emi(principal, rate, tenure):
    """Rounding drift is bounded: at most a cent a month, compounded at the loan's rate."""
    q = quote(principal=principal, annual_rate=rate, tenure_months=tenure)

    growth = (1 + Fraction(rate) / 1200) ** tenure
    bound = Fraction(1, 100) * (tenure + 1) * growth
    assert abs(Fraction(q.installments[-1].total - q.emi_amount)) <= bound


@property_settings
@given(principal=principals, rate=rates, tenure=tenures)
def test_flat_figures_match_the_formula(principal, rate, tenure):
    q = quote(
        principal=principal, annual_rate=rate, tenure_months=tenure, method=InterestMethod.FLAT
    )

    total_interest = half_up_cents(Fraction(principal) * Fraction(rate) / 100 * tenure / 12)
    assert q.total_interest == total_interest
    assert sum(i.interest for i in q.installments) == total_interest
    assert q.emi_amount == half_up_cents((Fraction(principal) + Fraction(total_interest)) / tenure)
    assert q.emi_amount == emi_amount(
        principal=principal, annual_rate=rate, tenure_months=tenure, method=InterestMethod.FLAT
    )
    monthly_interest = half_up_cents(Fraction(total_interest) / tenure)
    for item in q.installments[:-1]:
        assert item.interest <= monthly_interest


# Worked examples -------------------------------------------------------------------------


def test_flat_seed_example():
    """100,000 at 12 % flat for 12 months: 12,000 interest, EMI 9,333.33."""
    q = quote(
        principal=D("100000.00"),
        annual_rate=D("12"),
        tenure_months=12,
        method=InterestMethod.FLAT,
        first_due_date=date(2025, 1, 5),
    )

    assert q.emi_amount == D("9333.33")
    assert q.total_interest == D("12000.00")
    assert q.total_amount == D("112000.00")
    for item in q.installments[:-1]:
        assert (item.principal, item.interest, item.total) == (
            D("8333.33"),
            D("1000.00"),
            D("9333.33"),
        )
    last = q.installments[-1]
    # 100,000.00 - 11 x 8,333.33 = 8,333.37
    assert (last.principal, last.interest, last.total) == (
        D("8333.37"),
        D("1000.00"),
        D("9333.37"),
    )
    assert last.due_date == date(2025, 12, 5)


def test_reducing_known_example():
    """100,000 at 12 % a year (1 % a month) for 12 months, checked by hand.

    EMI = 1,000 x 1.01^12 / (1.01^12 - 1) = 1,126.825030 / 0.126825030 = 8,884.8788 -> 8,884.88.
    """
    q = quote(principal=D("100000.00"), annual_rate=D("12.00"), tenure_months=12)
    first, second, last = q.installments[0], q.installments[1], q.installments[-1]

    assert q.emi_amount == D("8884.88")
    # month 1: 1 % of 100,000.00 = 1,000.00; principal 8,884.88 - 1,000.00
    assert (first.interest, first.principal, first.remaining_principal) == (
        D("1000.00"),
        D("7884.88"),
        D("92115.12"),
    )
    # month 2: 1 % of 92,115.12 = 921.1512 -> 921.15
    assert (second.interest, second.principal, second.remaining_principal) == (
        D("921.15"),
        D("7963.73"),
        D("84151.39"),
    )
    # month 12: 8,796.88 left; interest 87.9688 -> 87.97; the last installment is 3 cents short
    assert (last.principal, last.interest, last.total) == (
        D("8796.88"),
        D("87.97"),
        D("8884.85"),
    )
    assert q.total_interest == D("6618.53")
    assert q.total_amount == D("106618.53")


@pytest.mark.parametrize("method", list(InterestMethod))
def test_zero_rate_loan_is_principal_split_evenly(method):
    q = quote(principal=D("1000.00"), annual_rate=D("0"), tenure_months=3, method=method)

    assert q.emi_amount == D("333.33")
    assert [i.principal for i in q.installments] == [D("333.33"), D("333.33"), D("333.34")]
    assert [i.interest for i in q.installments] == [D("0.00")] * 3
    assert q.total_interest == D("0.00")
    assert q.total_amount == D("1000.00")


@pytest.mark.parametrize("method", list(InterestMethod))
def test_tiny_loan_never_pays_back_more_than_it_owes(method):
    """0.05 over 7 months: EMI 0.00714 rounds up to 0.01, so the loan is repaid after 5."""
    q = quote(principal=D("0.05"), annual_rate=D("0"), tenure_months=7, method=method)

    assert q.emi_amount == D("0.01")
    assert [i.total for i in q.installments] == [D("0.01")] * 5 + [D("0.00")] * 2
    assert [i.remaining_principal for i in q.installments] == [
        D("0.04"),
        D("0.03"),
        D("0.02"),
        D("0.01"),
        D("0.00"),
        D("0.00"),
        D("0.00"),
    ]


def test_exact_half_cent_rounds_up():
    """3.00 at 2 % for one month is exactly 3.005: HALF_UP gives 3.01, never 3.00."""
    assert emi_amount(principal=D("3.00"), annual_rate=D("2"), tenure_months=1) == D("3.01")
    flat = quote(
        principal=D("3.00"), annual_rate=D("2"), tenure_months=1, method=InterestMethod.FLAT
    )
    assert (flat.total_interest, flat.emi_amount) == (D("0.01"), D("3.01"))


def test_method_may_be_given_as_its_string_value():
    by_string = quote(principal=D("500.00"), annual_rate=D("10"), tenure_months=6, method="FLAT")
    by_enum = quote(
        principal=D("500.00"), annual_rate=D("10"), tenure_months=6, method=InterestMethod.FLAT
    )
    assert by_string.total_interest == by_enum.total_interest == D("25.00")


# Due dates ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2024, 1, 31), 1, date(2024, 2, 29)),  # leap year
        (date(2023, 1, 31), 1, date(2023, 2, 28)),
        (date(2024, 3, 31), 1, date(2024, 4, 30)),
        (date(2024, 12, 15), 1, date(2025, 1, 15)),
        (date(2024, 1, 31), 13, date(2025, 2, 28)),
        (date(2024, 3, 31), -1, date(2024, 2, 29)),
        (date(2024, 1, 1), -1, date(2023, 12, 1)),
        (date(2024, 5, 10), 0, date(2024, 5, 10)),
    ],
)
def test_add_months_clamps_to_month_end(start, months, expected):
    assert add_months(start, months) == expected


def test_due_dates_keep_the_first_due_day_after_a_short_month():
    """Each date counts from the first one, so a 31st stays the 31st after February."""
    q = quote(
        principal=D("400.00"),
        annual_rate=D("12"),
        tenure_months=4,
        first_due_date=date(2024, 1, 31),
    )

    assert [i.due_date for i in q.installments] == [
        date(2024, 1, 31),
        date(2024, 2, 29),
        date(2024, 3, 31),
        date(2024, 4, 30),
    ]


def test_first_due_date_defaults_to_one_month_after_today():
    before = date.today()
    q = quote(principal=D("400.00"), annual_rate=D("12"), tenure_months=2)
    after = date.today()

    assert q.installments[0].due_date in {add_months(before, 1), add_months(after, 1)}
    assert q.installments[0].due_date - before > timedelta(days=27)


# Input guard ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "error", "message"),
    [
        ({"principal": D("0")}, ValueError, "principal must be greater than 0"),
        ({"principal": D("-100.00")}, ValueError, "principal must be greater than 0"),
        ({"principal": D("100.005")}, ValueError, "at most 2 decimal places"),
        ({"principal": D("NaN")}, ValueError, "principal must be a finite number"),
        ({"principal": D("Infinity")}, ValueError, "principal must be a finite number"),
        ({"principal": 100.0}, TypeError, "principal must be a Decimal or an int"),
        ({"annual_rate": D("-0.01")}, ValueError, "annual_rate must be 0 or more"),
        ({"annual_rate": 12.5}, TypeError, "annual_rate must be a Decimal or an int"),
        ({"tenure_months": 0}, ValueError, "tenure_months must be between 1 and 1200"),
        ({"tenure_months": 1201}, ValueError, "tenure_months must be between 1 and 1200"),
        ({"tenure_months": 12.0}, TypeError, "tenure_months must be an int"),
        ({"tenure_months": True}, TypeError, "tenure_months must be an int"),
        ({"method": "COMPOUND"}, ValueError, "method must be one of REDUCING, FLAT"),
    ],
)
@pytest.mark.parametrize("function", [quote, emi_amount])
def test_invalid_input_is_refused(function, overrides, error, message):
    arguments = {"principal": D("1000.00"), "annual_rate": D("12"), "tenure_months": 12}
    with pytest.raises(error, match=message):
        function(**{**arguments, **overrides})


def test_whole_number_principal_is_accepted_as_cents():
    q = quote(principal=1000, annual_rate=D("0"), tenure_months=2)

    assert [i.principal for i in q.installments] == [D("500.00"), D("500.00")]
    assert all(is_cents(i.principal) for i in q.installments)
