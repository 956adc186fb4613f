import re
from datetime import date
from decimal import Decimal as D

import pytest
from django.core.cache import cache
from django.urls import reverse

from backoffice.dashboard import CACHE_KEY
from lendingsite.money import format_inr
from loans.models import LoanEvent
from tests.accounts.factories import BorrowerFactory, OfficerFactory
from tests.loans.factories import active_loan, applied_loan, portfolio, repaid
from tests.loans.servicing.helpers import close_through, set_business_date

DASHBOARD = reverse("admin:dashboard")


def _officer_client(client):
    client.force_login(OfficerFactory())
    return client


def _series(html: str, name: str) -> list[str]:
    return re.findall(
        rf'<rect class="chart-bar chart-series-\d"[^>]*data-series="{name}" '
        r'data-value="([^"]*)"',
        html,
    )


def _headlines(html: str) -> dict[str, str]:
    pairs = re.findall(
        r'<span class="label">([^<]+)</span>\s*<span class="value">(?:<a [^>]*>)?([^<]+)', html
    )
    return dict(pairs)


def test_money_is_written_with_indian_grouping():
    assert format_inr(D("1234567.5")) == "12,34,567.50"
    assert format_inr(D("0")) == "0.00"


@pytest.mark.django_db
def test_dashboard_shows_the_portfolio_headlines(client):
    portfolio()

    response = _officer_client(client).get(DASHBOARD)

    assert response.status_code == 200
    assert _headlines(response.text) == {
        "Pending decisions": "2",
        "Overdue loans": "0",  # every loan was disbursed on the business date
        "PAR30": "0.00 %",
        "Disbursed": "13,200.00",
        "Outstanding principal": "11,120.00",
        "Collected principal": "2,080.00",
        "Collected interest": "132.00",
        "Written off": "0.00",
        "Recovered": "0.00",
    }


@pytest.mark.django_db
def test_loans_by_status_table_links_each_status_to_the_filtered_list(client):
    loans = portfolio()
    changelist = reverse("admin:loans_loan_changelist")

    response = _officer_client(client).get(DASHBOARD)

    html = response.text
    assert f'<a href="{changelist}?status__exact=APPROVED">Approved</a>' in html
    row = re.search(r"status__exact=ACTIVE\">Active</a></td>(.*?)</tr>", html, re.S).group(1)
    cells = re.findall(r'<td class="number">([^<]*)</td>', row)
    assert cells == ["1", "12,000.00", format_inr(loans["active"].outstanding_amount)]
    total = re.search(r"<tfoot>(.*?)</tfoot>", html, re.S).group(1)
    assert "All loans" in total and ">5<" in total and "3,05,200.00" in total  # 3 lakh 5,200


@pytest.mark.django_db
def test_flows_chart_draws_both_series_for_twelve_months(client):
    portfolio()

    response = _officer_client(client).get(DASHBOARD)

    disbursed, repaid_ = _series(response.text, "Disbursed"), _series(response.text, "Repaid")
    assert len(disbursed) == len(repaid_) == 12
    assert disbursed[-1] == "13200.00"
    assert repaid_[-1] == "2212.00"
    assert set(disbursed[:-1]) == set(repaid_[:-1]) == {"0.00"}
    assert "Disbursements and repayments per month (last 12 months)" in response.text


@pytest.mark.django_db
def test_recent_activity_lists_the_latest_events_with_links(client):
    loans = portfolio()
    latest = LoanEvent.objects.order_by("-pk")[:10]

    response = _officer_client(client).get(DASHBOARD)

    activity = response.text.split("Recent activity", 1)[1].split("</section>", 1)[0]
    links = re.findall(r'<a href="/admin/loans/loan/(\d+)/change/">Loan #\1</a>', activity)
    assert [int(pk) for pk in links] == [event.loan_id for event in latest]
    assert "Income not shown" in activity  # the rejection's reason
    assert str(loans["approved"].pk) in links
    assert "APPLIED → APPROVED" in activity


@pytest.mark.django_db
def test_an_empty_book_shows_zeros_and_says_so(client):
    response = _officer_client(client).get(DASHBOARD)

    assert response.status_code == 200
    assert _headlines(response.text)["Disbursed"] == "0.00"
    assert "No loan has been applied for yet." in response.text


@pytest.mark.django_db
def test_dashboard_queries_are_fixed_whatever_the_number_of_loans(
    client, settings, django_assert_max_num_queries
):
    settings.DASHBOARD_CACHE_SECONDS = 0
    _officer_client(client)
    portfolio()
    with django_assert_max_num_queries(12) as few:
        client.get(DASHBOARD)
    officer = OfficerFactory()
    for _ in range(15):
        repaid(active_loan(BorrowerFactory(), officer), "250.00")
        applied_loan(BorrowerFactory())

    with django_assert_max_num_queries(len(few.captured_queries)) as many:
        response = client.get(DASHBOARD)

    assert len(many.captured_queries) == len(few.captured_queries)
    assert _headlines(response.text)["Pending decisions"] == "17"


@pytest.mark.django_db
def test_figures_are_cached_for_the_configured_seconds(
    client, settings, django_capture_on_commit_callbacks
):
    settings.DASHBOARD_CACHE_SECONDS = 60
    _officer_client(client)
    applied_loan(BorrowerFactory())
    first = client.get(DASHBOARD)
    applied_loan(BorrowerFactory())

    cached = client.get(DASHBOARD)
    settings.DASHBOARD_CACHE_SECONDS = 0
    fresh = client.get(DASHBOARD)

    assert _headlines(first.text)["Pending decisions"] == "1"
    assert _headlines(cached.text)["Pending decisions"] == "1"
    assert _headlines(fresh.text)["Pending decisions"] == "2"
    assert "refreshed at most every 60 seconds" in cached.text


@pytest.mark.django_db
def test_a_cached_view_runs_no_figure_queries(client, settings, django_assert_max_num_queries):
    settings.DASHBOARD_CACHE_SECONDS = 60
    _officer_client(client)
    portfolio()
    with django_assert_max_num_queries(12) as computed:
        client.get(DASHBOARD)
    assert cache.get(CACHE_KEY) is not None

    with django_assert_max_num_queries(12) as cached:
        client.get(DASHBOARD)

    figure_queries = 7  # 2 summary, 1 risk, 2 flows, 1 registrations, 1 activity
    assert len(cached.captured_queries) == len(computed.captured_queries) - figure_queries


@pytest.mark.django_db
def test_pending_decisions_links_to_the_loans_waiting_for_an_officer(client):
    loans = portfolio()
    _officer_client(client)
    link = re.search(
        r'Pending decisions</span>\s*<span class="value"><a href="([^"]+)"',
        client.get(DASHBOARD).text,
    ).group(1)

    response = client.get(link.replace("&amp;", "&"))

    assert response.status_code == 200
    shown = {loan.pk for loan in response.context["cl"].result_list}
    assert shown == {loans["applied"].pk, loans["approved"].pk}


def _panel(html: str, title: str) -> str:
    return html.split(title, 1)[1].split("</section>", 1)[0]


def _cells(panel: str, part: str = "tbody") -> list[list[str]]:
    body = panel.split(f"<{part}>", 1)[1].split(f"</{part}>", 1)[0]
    return [
        [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


@pytest.fixture
def late_book(db):
    """On business date Mar 21st: one loan 39 days past due, one just disbursed.

    - late: 12,000.00 disbursed Jan 10th, nothing paid: 39 days past due (DPD_31_60)
    - fresh: 10,000.00 disbursed Mar 21st: current
    Active outstanding principal 22,000.00; 12,000 / 22,000 = 54.545…% → 54.55 %;
    10,000 / 22,000 = 45.454…% → 45.45 %.
    """
    set_business_date(date(2026, 1, 10))
    officer = OfficerFactory()
    late = active_loan(BorrowerFactory(), officer, principal="12000.00")
    close_through(date(2026, 3, 20))
    fresh = active_loan(BorrowerFactory(), officer, principal="10000.00")
    return {"late": late, "fresh": fresh}


def test_portfolio_at_risk_headlines_table_and_chart(client, late_book):
    response = _officer_client(client).get(DASHBOARD)

    headlines = _headlines(response.text)
    assert (headlines["Overdue loans"], headlines["PAR30"]) == ("1", "54.55 %")
    assert f'<a href="{reverse("admin:loans_loan_collections")}">1</a>' in response.text
    panel = _panel(response.text, "Portfolio at risk")
    assert _cells(panel) == [
        ["1 day past due (PAR1)", "1", "12,000.00", "54.55 %"],
        ["30 days past due (PAR30)", "1", "12,000.00", "54.55 %"],
        ["60 days past due (PAR60)", "0", "0.00", "0.00 %"],
        ["90 days past due (PAR90)", "0", "0.00", "0.00 %"],
    ]
    assert _cells(panel, "tfoot") == [["All active loans", "2", "22,000.00", "100.00 %"]]
    bars = re.findall(r'<rect class="chart-bar"[^>]*data-value="([^"]*)"', panel)
    assert bars == ["54.55", "54.55", "0.00", "0.00"]


def test_aging_by_bucket_table_links_and_chart(client, late_book):
    response = _officer_client(client).get(DASHBOARD)

    panel = _panel(response.text, "Active loans by delinquency bucket")
    assert _cells(panel) == [
        ["CURRENT", "1", "10,000.00", "45.45 %"],
        ["DPD_31_60", "1", "12,000.00", "54.55 %"],
    ]
    changelist = reverse("admin:loans_loan_changelist")
    assert f'href="{changelist}?status__exact=ACTIVE&amp;bucket=DPD_31_60"' in panel
    bars = re.findall(r'<rect class="chart-bar"[^>]*data-value="([^"]*)"', panel)
    assert bars == ["10000.00", "12000.00"]


@pytest.mark.django_db
def test_no_active_loan_shows_zero_risk_and_an_empty_aging(client):
    applied_loan(BorrowerFactory())

    response = _officer_client(client).get(DASHBOARD)

    assert _headlines(response.text)["PAR30"] == "0.00 %"
    assert "No active loan." in _panel(response.text, "Active loans by delinquency bucket")


@pytest.mark.django_db
def test_collections_per_month_split_principal_interest_and_fees(client):
    portfolio()  # this month: 880.00 + 1,200.00 principal, 120.00 + 12.00 interest, no fee

    response = _officer_client(client).get(DASHBOARD)

    html = response.text
    principal, interest = _series(html, "Principal"), _series(html, "Interest")
    fees = _series(html, "Late fees")
    assert len(principal) == len(interest) == len(fees) == 12
    assert (principal[-1], interest[-1], fees[-1]) == ("2080.00", "132.00", "0.00")
    panel = _panel(html, "Collections per month (last 12 months)")
    assert _cells(panel, "tfoot") == [["12 months", "2,080.00", "132.00", "0.00", "2,212.00"]]
