"""The back office's dashboard at /admin/dashboard/: portfolio figures and server-side charts.

The figures come from the apps' selectors and are cached for ``DASHBOARD_CACHE_SECONDS``
(a short while: they are for reading, never for deciding; every decision reads the loan
row under lock). Each panel is one figure with an optional chart and the table behind
it; a new figure is one more panel in ``dashboard_panels``.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.contrib.admin import AdminSite
from django.core.cache import cache
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from accounts.selectors import user_registrations_by_month
from backoffice.charts import bar_chart_svg, compact_number, grouped_bar_chart_svg
from lendingsite.db_router import replica_reads
from lendingsite.money import format_inr
from loans.selectors import (
    MonthFlows,
    PortfolioRisk,
    PortfolioSummary,
    loan_event_list_recent,
    loan_flows_by_month,
    loan_portfolio_risk,
    loan_portfolio_summary,
)

MONTHS_SHOWN = 12
RECENT_EVENTS = 10
# The version changes with the shape of DashboardFigures (the cache holds pickles).
CACHE_KEY = "backoffice:dashboard:figures:v2"


def percent(value: Decimal) -> str:
    """Write a percentage with two places: 12.50 %."""
    return f"{value:.2f} %"


# --- Figures (what is cached) --------------------------------------------------------


@dataclass(frozen=True)
class ActivityRow:
    """One audit-trail row, as plain values (cached rows never hold model instances)."""

    loan_id: int
    borrower_email: str
    source: str
    target: str
    actor_email: str
    reason: str
    created_at: datetime


@dataclass(frozen=True)
class DashboardFigures:
    computed_at: datetime
    portfolio: PortfolioSummary
    risk: PortfolioRisk
    flows: list[MonthFlows]
    registrations: list[tuple[date, int]]
    activity: list[ActivityRow]


def dashboard_figures_compute() -> DashboardFigures:
    """Read every figure from the selectors: a fixed number of queries."""
    return DashboardFigures(
        computed_at=timezone.now(),
        portfolio=loan_portfolio_summary(),
        risk=loan_portfolio_risk(),
        flows=loan_flows_by_month(months=MONTHS_SHOWN),
        registrations=user_registrations_by_month(months=MONTHS_SHOWN),
        activity=[
            ActivityRow(
                loan_id=event.loan_id,
                borrower_email=event.loan.borrower.email,
                source=event.source,
                target=event.target,
                actor_email=event.actor.email if event.actor else "",
                reason=event.reason,
                created_at=event.created_at,
            )
            for event in loan_event_list_recent(limit=RECENT_EVENTS)
        ],
    )


def dashboard_figures() -> DashboardFigures:
    """Return the figures from the cache, computing and caching them when missing."""
    seconds = settings.DASHBOARD_CACHE_SECONDS
    if seconds <= 0:
        with replica_reads():
            return dashboard_figures_compute()
    figures = cache.get(CACHE_KEY)
    if figures is None:
        with replica_reads():  # figures tolerate replication lag (docs/DEPLOYMENT.md)
            figures = dashboard_figures_compute()
        cache.set(CACHE_KEY, figures, seconds)
    return figures


# --- Panels (how the figures are shown) ----------------------------------------------


@dataclass(frozen=True)
class Panel:
    title: str
    columns: tuple[str, ...]  # headings of the figures table
    rows: list[tuple[str, ...]]  # cells as shown (str, or SafeString for links)
    chart: SafeString | None = None
    numeric: frozenset[int] = field(default_factory=frozenset)  # right-aligned columns
    footer: tuple[str, ...] | None = None  # a totals row
    collapsed: bool = False  # table folded under "Figures" (the chart says it already)
    empty: str = "Nothing yet."


@dataclass(frozen=True)
class Headline:
    label: str
    value: str
    link: str = ""


def _headlines(portfolio: PortfolioSummary, risk: PortfolioRisk) -> list[Headline]:
    changelist = reverse("admin:loans_loan_changelist")
    par30 = next(row for row in risk.at_risk if row.days == 30)
    return [
        Headline(
            "Pending decisions",
            str(portfolio.pending_count),
            f"{changelist}?status__in=APPLIED,APPROVED",
        ),
        Headline(
            "Overdue loans",
            str(risk.overdue_count),
            reverse("admin:loans_loan_collections"),
        ),
        Headline("PAR30", percent(par30.percent)),
        Headline("Disbursed", format_inr(portfolio.disbursed)),
        Headline("Outstanding principal", format_inr(portfolio.outstanding_principal)),
        Headline("Collected principal", format_inr(portfolio.collected_principal)),
        Headline("Collected interest", format_inr(portfolio.collected_interest)),
        Headline(
            "Written off",
            format_inr(portfolio.written_off),
            f"{changelist}?status__exact=WRITTEN_OFF",
        ),
        Headline("Recovered", format_inr(portfolio.recovered)),
    ]


def _status_panel(portfolio: PortfolioSummary) -> Panel:
    changelist = reverse("admin:loans_loan_changelist")
    return Panel(
        title="Loans by status",
        columns=("Status", "Loans", "Principal", "Outstanding (principal and interest)"),
        rows=[
            (
                format_html(
                    '<a href="{}?status__exact={}">{}</a>', changelist, row.status, row.label
                ),
                str(row.count),
                format_inr(row.principal),
                format_inr(row.outstanding),
            )
            for row in portfolio.by_status
        ],
        numeric=frozenset({1, 2, 3}),
        footer=(
            "All loans",
            str(sum(row.count for row in portfolio.by_status)),
            format_inr(sum((row.principal for row in portfolio.by_status), Decimal(0))),
            format_inr(portfolio.outstanding_total),
        ),
    )


def _at_risk_panel(risk: PortfolioRisk) -> Panel:
    title = "Portfolio at risk (share of the active loans' outstanding principal)"
    return Panel(
        title=title,
        chart=bar_chart_svg(
            [(f"PAR{row.days}", row.percent) for row in risk.at_risk],
            title=title,
            value_format=percent,
            axis_format=lambda tick: f"{tick} %",
        ),
        columns=("Loans more than", "Loans", "Outstanding principal", "Share"),
        rows=[
            (
                f"{row.days} day{'s' if row.days > 1 else ''} past due (PAR{row.days})",
                str(row.count),
                format_inr(row.principal),
                percent(row.percent),
            )
            for row in risk.at_risk
        ],
        numeric=frozenset({1, 2, 3}),
        footer=(
            "All active loans",
            str(risk.active_count),
            format_inr(risk.active_principal),
            percent(Decimal(100) if risk.active_count else Decimal(0)),
        ),
    )


def _aging_panel(risk: PortfolioRisk) -> Panel:
    title = "Active loans by delinquency bucket: outstanding principal"
    changelist = reverse("admin:loans_loan_changelist")
    return Panel(
        title=title,
        chart=bar_chart_svg(
            [(row.bucket, row.principal) for row in risk.aging],
            title=title,
            value_format=format_inr,
            axis_format=compact_number,
        )
        if risk.aging
        else None,
        columns=("Bucket", "Loans", "Outstanding principal", "Share"),
        rows=[
            (
                format_html(
                    '<a href="{}?status__exact=ACTIVE&amp;bucket={}">{}</a>',
                    changelist,
                    row.bucket,
                    row.bucket,
                ),
                str(row.count),
                format_inr(row.principal),
                percent(row.percent),
            )
            for row in risk.aging
        ],
        numeric=frozenset({1, 2, 3}),
        empty="No active loan.",
    )


def _collections_panel(flows: list[MonthFlows]) -> Panel:
    title = f"Collections per month (last {MONTHS_SHOWN} months)"
    return Panel(
        title=title,
        chart=grouped_bar_chart_svg(
            [row.month.strftime("%b") for row in flows],
            [
                ("Principal", [row.repaid_principal for row in flows]),
                ("Interest", [row.repaid_interest for row in flows]),
                ("Late fees", [row.repaid_fees for row in flows]),
            ],
            title=title,
            value_format=format_inr,
            axis_format=compact_number,
        ),
        columns=("Month", "Principal", "Interest", "Late fees", "Collected"),
        rows=[
            (
                row.month.strftime("%b %Y"),
                format_inr(row.repaid_principal),
                format_inr(row.repaid_interest),
                format_inr(row.repaid_fees),
                format_inr(row.repaid),
            )
            for row in flows
        ],
        numeric=frozenset({1, 2, 3, 4}),
        footer=(
            f"{MONTHS_SHOWN} months",
            format_inr(sum((row.repaid_principal for row in flows), Decimal(0))),
            format_inr(sum((row.repaid_interest for row in flows), Decimal(0))),
            format_inr(sum((row.repaid_fees for row in flows), Decimal(0))),
            format_inr(sum((row.repaid for row in flows), Decimal(0))),
        ),
        collapsed=True,
    )


def _flows_panel(flows: list[MonthFlows]) -> Panel:
    title = f"Disbursements and repayments per month (last {MONTHS_SHOWN} months)"
    return Panel(
        title=title,
        chart=grouped_bar_chart_svg(
            [row.month.strftime("%b") for row in flows],
            [
                ("Disbursed", [row.disbursed for row in flows]),
                ("Repaid", [row.repaid for row in flows]),
            ],
            title=title,
            value_format=format_inr,
            axis_format=compact_number,
        ),
        columns=("Month", "Disbursed", "Repaid (fees included)"),
        rows=[
            (row.month.strftime("%b %Y"), format_inr(row.disbursed), format_inr(row.repaid))
            for row in flows
        ],
        numeric=frozenset({1, 2}),
        collapsed=True,
    )


def _registrations_panel(registrations: list[tuple[date, int]]) -> Panel:
    title = f"Borrower registrations per month (last {MONTHS_SHOWN} months)"
    return Panel(
        title=title,
        chart=bar_chart_svg(
            [(month.strftime("%b"), count) for month, count in registrations], title=title
        ),
        columns=("Month", "Registrations"),
        rows=[(month.strftime("%b %Y"), str(count)) for month, count in registrations],
        numeric=frozenset({1}),
        collapsed=True,
    )


def _activity_panel(activity: list[ActivityRow]) -> Panel:
    return Panel(
        title="Recent activity",
        columns=("When", "Loan", "Borrower", "Change", "By", "Reason"),
        rows=[
            (
                timezone.localtime(row.created_at).strftime("%Y-%m-%d %H:%M"),
                format_html(
                    '<a href="{}">Loan #{}</a>',
                    reverse("admin:loans_loan_change", args=[row.loan_id]),
                    row.loan_id,
                ),
                row.borrower_email,
                f"{row.source} → {row.target}" if row.source else "new application",
                row.actor_email or "—",
                row.reason or "—",
            )
            for row in activity
        ],
        empty="No loan has been applied for yet.",
    )


def dashboard_panels(figures: DashboardFigures) -> list[Panel]:
    return [
        _status_panel(figures.portfolio),
        _at_risk_panel(figures.risk),
        _aging_panel(figures.risk),
        _flows_panel(figures.flows),
        _collections_panel(figures.flows),
        _activity_panel(figures.activity),
        _registrations_panel(figures.registrations),
    ]


def dashboard_view(request: HttpRequest, *, site: AdminSite) -> TemplateResponse:
    figures = dashboard_figures()
    context = {
        **site.each_context(request),
        "title": "Dashboard",
        "headlines": _headlines(figures.portfolio, figures.risk),
        "panels": dashboard_panels(figures),
        "computed_at": figures.computed_at,
        "cache_seconds": settings.DASHBOARD_CACHE_SECONDS,
        "currency": settings.CURRENCY,
        "time_zone": settings.TIME_ZONE,
    }
    return TemplateResponse(request, "admin/dashboard.html", context)
