"""Portfolio at risk and aging by bucket, worked out by hand on a book moved day by day."""

from datetime import date
from decimal import Decimal as D

import pytest
from django.utils import timezone

from loans.selectors import loan_flows_by_month, loan_portfolio_risk, percent_of
from tests.accounts.factories import BorrowerFactory, OfficerFactory
from tests.loans.factories import active_loan, applied_loan, repaid
from tests.loans.servicing.helpers import close_through, set_business_date
from wallets.services import wallet_deposit


@pytest.fixture
def book(db):
    """Loans at 12 % a year over 12 months, nothing paid unless said; business date Jun 11th.

    A loan's first installment falls due a month after its disbursement, and its days past
    due on Jun 11th are Jun 11th - the due date of its oldest unpaid installment:

    | loan | principal  | disbursed | oldest unpaid due | days past due   | bucket      |
    | a    | 10,000.00  | Jan 10th  | Feb 10th          | 28+31+30+31+1 = 121 | DPD_91_PLUS |
    | g    | 12,000.00  | Jan 10th  | Mar 10th (*)      | 31+30+31+1 = 93 | DPD_91_PLUS |
    | b    | 20,000.00  | Mar 10th  | Apr 10th          | 30+31+1 = 62    | DPD_61_90   |
    | c    | 40,000.00  | Apr 10th  | May 10th          | 31+1 = 32       | DPD_31_60   |
    | d    | 80,000.00  | May 1st   | Jun 1st           | 10              | DPD_1_30    |
    | e    | 160,000.00 | May 10th  | Jun 10th          | 1               | DPD_1_30    |
    | f    | 5,000.00   | May 20th  | Jun 20th          | 0               | CURRENT     |

    (*) g paid 1,066.19 (its EMI) on Jan 10th: installment 1 is 120.00 interest (1 % of
    12,000.00) and 946.19 principal, so 12,000.00 - 946.19 = 11,053.81 principal is left.
    Also: a loan of 1,200.00 repaid in full (CLOSED) and an application: neither counts.
    """
    officer = OfficerFactory()
    set_business_date(date(2026, 1, 10))
    loans = {
        "a": active_loan(BorrowerFactory(), officer, principal="10000.00"),
        "g": active_loan(BorrowerFactory(), officer, principal="12000.00"),
        "closed": active_loan(BorrowerFactory(), officer, principal="1200.00", tenure=1),
    }
    repaid(loans["g"], "1066.19")
    wallet_deposit(user=loans["closed"].borrower, amount=D("12.00"), idempotency_key="interest")
    repaid(loans["closed"], "1212.00")
    applied_loan(BorrowerFactory(), principal="30000.00")
    for day, name, principal in [
        (date(2026, 3, 10), "b", "20000.00"),
        (date(2026, 4, 10), "c", "40000.00"),
        (date(2026, 5, 1), "d", "80000.00"),
        (date(2026, 5, 10), "e", "160000.00"),
        (date(2026, 5, 20), "f", "5000.00"),
    ]:
        close_through(day - timezone.timedelta(days=1))
        loans[name] = active_loan(BorrowerFactory(), officer, principal=principal)
    close_through(date(2026, 6, 10))
    for loan in loans.values():
        loan.refresh_from_db()
    return loans


def test_par_is_the_share_of_principal_more_than_n_days_past_due(book, django_assert_num_queries):
    assert {name: loan.days_past_due for name, loan in book.items()} == {
        "a": 121,
        "g": 93,
        "b": 62,
        "c": 32,
        "d": 10,
        "e": 1,
        "f": 0,
        "closed": 0,
    }

    with django_assert_num_queries(1):
        risk = loan_portfolio_risk()

    # 10,000 + 11,053.81 + 20,000 + 40,000 + 80,000 + 160,000 + 5,000
    assert risk.active_principal == D("326053.81")
    assert (risk.active_count, risk.overdue_count) == (7, 6)
    assert [(r.days, r.count, r.principal, r.percent) for r in risk.at_risk] == [
        # > 1 day: a, g, b, c, d (e is exactly 1 day past due).
        # 10,000 + 11,053.81 + 20,000 + 40,000 + 80,000 = 161,053.81;
        # / 326,053.81 = 0.493948… → 49.39 %
        (1, 5, D("161053.81"), D("49.39")),
        # > 30: a, g, b, c = 81,053.81; / 326,053.81 = 0.248590… → 24.86 %
        (30, 4, D("81053.81"), D("24.86")),
        # > 60: a, g, b = 41,053.81; / 326,053.81 = 0.125911… → 12.59 %
        (60, 3, D("41053.81"), D("12.59")),
        # > 90: a, g = 21,053.81; / 326,053.81 = 0.064571… → 6.46 %
        (90, 2, D("21053.81"), D("6.46")),
    ]


def test_aging_counts_and_totals_each_bucket_in_order(book):
    aging = loan_portfolio_risk().aging

    assert [(b.bucket, b.count, b.principal, b.percent) for b in aging] == [
        ("CURRENT", 1, D("5000.00"), D("1.53")),  # f; 5,000 / 326,053.81 = 1.533…%
        ("DPD_1_30", 2, D("240000.00"), D("73.61")),  # d + e; 240,000 / … = 73.607…%
        ("DPD_31_60", 1, D("40000.00"), D("12.27")),  # c; 12.268…%
        ("DPD_61_90", 1, D("20000.00"), D("6.13")),  # b; 6.134…%
        ("DPD_91_PLUS", 2, D("21053.81"), D("6.46")),  # a + g; 6.457…%
    ]


@pytest.mark.django_db
def test_no_active_loans_means_no_risk_and_zero_percent():
    applied_loan(BorrowerFactory())

    risk = loan_portfolio_risk()

    assert (risk.active_count, risk.active_principal, risk.aging) == (0, D("0.00"), [])
    assert [(r.count, r.principal, r.percent) for r in risk.at_risk] == [
        (0, D("0.00"), D("0.00"))
    ] * 4


def test_percent_of_rounds_half_up_to_two_places():
    assert percent_of(D("1"), D("8")) == D("12.50")
    assert percent_of(D("1"), D("3")) == D("33.33")
    assert percent_of(D("2"), D("3")) == D("66.67")
    assert percent_of(D("0.00005"), D("1")) == D("0.01")  # 0.005 % rounds up
    assert percent_of(D("5"), D("0")) == D("0.00")


@pytest.mark.django_db
def test_collections_per_month_split_fees_interest_and_principal():
    """A late installment paid with its fee: 100.00 fee, 120.00 interest, 946.19 principal."""
    set_business_date(date(2026, 1, 10))
    loan = active_loan(BorrowerFactory(), OfficerFactory(), principal="12000.00")
    close_through(date(2026, 2, 15))  # 6 days past due on the 16th: the 100.00 minimum fee
    repaid(loan, "1166.19")  # the EMI of 1,066.19 and the fee

    this_month = loan_flows_by_month(months=1)[0]

    assert this_month.repaid_fees == D("100.00")
    assert this_month.repaid_interest == D("120.00")  # 1 % of 12,000.00
    assert this_month.repaid_principal == D("946.19")  # 1,066.19 - 120.00
    assert this_month.repaid == D("1166.19")
