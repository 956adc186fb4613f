"""Bar charts drawn on the server as inline SVG: no JavaScript, nothing fetched.

Colours come from the admin's CSS variables, so charts follow its light and dark themes.
Geometry is computed in ``Decimal``, so money figures are never turned into floats.
"""

from collections.abc import Callable, Sequence
from decimal import ROUND_CEILING, Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

Number = int | Decimal

STYLE = (
    ".chart-bar{fill:var(--primary,#79aec8)}"
    ".chart-bar:hover{fill:var(--secondary,#417690)}"
    ".chart-grid{stroke:var(--hairline-color,#e8e8e8);stroke-width:1}"
    ".chart-axis{stroke:var(--body-quiet-color,#666);stroke-width:1}"
    ".chart-text{fill:var(--body-quiet-color,#666);font-size:11px}"
    ".chart-value{fill:var(--body-fg,#333);font-size:11px}"
)


def _fmt(number: Decimal) -> str:
    """Format a coordinate with one decimal place."""
    return f"{number.quantize(Decimal('0.1'))}"


def nice_scale(largest: Number, *, integers: bool = True) -> tuple[Decimal, Decimal]:
    """Return ``(top, step)`` of a value axis covering ``largest`` in at most 5 round steps.

    Steps are 1, 2 or 5 times a power of ten (never below 1 when ``integers``).
    """
    largest = Decimal(largest)
    if largest <= 0:
        return Decimal(1), Decimal(1)
    raw_step = largest / 5
    magnitude = Decimal(1).scaleb(raw_step.adjusted())
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw_step)
    if integers:
        step = max(step, Decimal(1))
    top = (largest / step).to_integral_value(rounding=ROUND_CEILING) * step
    return top, step


def bar_chart_svg(
    bars: Sequence[tuple[str, Number]],
    *,
    title: str,
    width: int = 720,
    height: int = 260,
    value_format: Callable[[Number], str] = str,
) -> SafeString:
    """Draw ``bars`` (label, value) as an SVG bar chart with a value axis and labels.

    Values must not be negative. Every bar is a ``rect.chart-bar`` whose ``<title>`` reads
    "label: value", and ``title`` becomes the chart's accessible name.
    """
    if any(value < 0 for _, value in bars):
        raise ValueError("Bar values must not be negative.")
    integers = all(isinstance(value, int) for _, value in bars)
    top, step = nice_scale(max((value for _, value in bars), default=0), integers=integers)

    left, right, upper, lower = Decimal(48), Decimal(8), Decimal(18), Decimal(28)
    plot_w = Decimal(width) - left - right
    plot_h = Decimal(height) - upper - lower
    base_y = upper + plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'style="max-width:100%;height:auto">',
        f"<title>{escape(title)}</title>",
        f"<style>{STYLE}</style>",
    ]
    tick = Decimal(0)
    while tick <= top:
        y = _fmt(base_y - plot_h * tick / top)
        tick_label = escape(value_format(_tick_value(tick, step, integers)))
        parts.append(
            f'<line class="chart-grid" x1="{_fmt(left)}" x2="{_fmt(left + plot_w)}" '
            f'y1="{y}" y2="{y}"/>'
            f'<text class="chart-text" x="{_fmt(left - 6)}" y="{y}" text-anchor="end" '
            f'dominant-baseline="middle">{tick_label}</text>'
        )
        tick += step

    if bars:
        slot = plot_w / len(bars)
        bar_w = slot * Decimal("0.7")
        for index, (label, value) in enumerate(bars):
            bar_h = plot_h * Decimal(value) / top
            x = left + slot * index + (slot - bar_w) / 2
            centre = _fmt(x + bar_w / 2)
            shown = escape(value_format(value))
            parts.append(
                f'<rect class="chart-bar" x="{_fmt(x)}" y="{_fmt(base_y - bar_h)}" '
                f'width="{_fmt(bar_w)}" height="{_fmt(bar_h)}" data-value="{escape(str(value))}">'
                f"<title>{escape(label)}: {shown}</title></rect>"
                f'<text class="chart-value" x="{centre}" y="{_fmt(base_y - bar_h - 4)}" '
                f'text-anchor="middle">{shown}</text>'
                f'<text class="chart-text" x="{centre}" y="{_fmt(base_y + 16)}" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    parts.append(
        f'<line class="chart-axis" x1="{_fmt(left)}" x2="{_fmt(left + plot_w)}" '
        f'y1="{_fmt(base_y)}" y2="{_fmt(base_y)}"/>'
    )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 -- every dynamic text above is escaped


def _tick_value(tick: Decimal, step: Decimal, integers: bool) -> Number:
    """Give an axis tick as the data gives values: ``int``, or ``Decimal`` to the step's places."""
    if integers:
        return int(tick)
    return tick.quantize(Decimal(1) if step >= 1 else step)
