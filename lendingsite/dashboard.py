"""The back office's dashboard at /admin/dashboard/: figures drawn as server-side charts.

Each panel is one figure with its chart and the numbers behind it; apps supply the data
through their selectors, and a new figure is one more panel in ``dashboard_panels``.
"""

from dataclasses import dataclass

from django.contrib.admin import AdminSite
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.safestring import SafeString

from accounts.selectors import user_registrations_by_month
from lendingsite.charts import bar_chart_svg

MONTHS_SHOWN = 12


@dataclass(frozen=True)
class Panel:
    title: str
    chart: SafeString
    columns: tuple[str, str]  # headings of the figures table
    rows: list[tuple[str, str]]  # (label, value) as shown in the figures table


def _registrations_panel() -> Panel:
    counts = [
        (month.strftime("%b %Y"), count)
        for month, count in user_registrations_by_month(months=MONTHS_SHOWN)
    ]
    title = f"Borrower registrations per month (last {MONTHS_SHOWN} months)"
    return Panel(
        title=title,
        chart=bar_chart_svg([(label[:3], count) for label, count in counts], title=title),
        columns=("Month", "Registrations"),
        rows=[(label, str(count)) for label, count in counts],
    )


def dashboard_panels() -> list[Panel]:
    return [_registrations_panel()]


def dashboard_view(request: HttpRequest, *, site: AdminSite) -> TemplateResponse:
    context = {
        **site.each_context(request),
        "title": "Dashboard",
        "panels": dashboard_panels(),
    }
    return TemplateResponse(request, "admin/dashboard.html", context)
