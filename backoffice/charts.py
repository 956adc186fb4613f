"""Bar charts drawn on the server as inline SVG: no JavaScript, nothing fetched.

``bar_chart_svg`` draws one series with its values over the bars; ``grouped_bar_chart_svg``
draws several series side by side under a legend, each bar's value in its tooltip.

Colours come from the admin's CSS variables, so charts follow its light and dark themes.
Geometry is computed in ``Decimal``, so money figures are never turned into floats.
"""

from collections.abc import Callable, Sequence
from decimal import ROUND_CEILING, Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

Number = int | Decimal

STYLE = (
    ".chart-bar{fill:#4a90b8}"
    ".chart-bar:hover{fill:#2f6f94}"
    ".chart-grid{stroke:var(--hairline-color,#e8e8e8);stroke-width:1}"
    ".chart-axis{stroke:var(--body-quiet-color,#666);stroke-width:1}"
    ".chart-text{fill:var(--body-quiet-color,#666);font-size:11px}"
    ".chart-value{fill:var(--body-fg,#333);font-size:11px}"
    # Bar colours read on the light and the dark theme alike; series stay apart for the
    # colour-blind (blue, orange, purple).
    ".chart-series-0{fill:#4a90b8}"
    ".chart-series-1{fill:#e0912f}"
    ".chart-series-2{fill:#8c6bb1}"
    ".chart-bar.chart-series-0:hover{fill:#2f6f94}"
    ".chart-bar.chart-series-1:hover{fill:#b8711d}"
    ".chart-bar.chart-series-2:hover{fill:#6a4f8c}"
)
SERIES_STYLES = 3


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
    axis_format: Callable[[Number], str] | None = None,
) -> SafeString:
    """Draw ``bars`` (label, value) as an SVG bar chart with a value axis and labels.

    Values must not be negative. Every bar is a ``rect.chart-bar`` whose ``<title>`` reads
    "label: value", and ``title`` becomes the chart's accessible name. ``axis_format``
    (default ``value_format``) writes the value axis, where space is short.
    """
    if any(value < 0 for _, value in bars):
        raise ValueError("Bar values must not be negative.")
    integers = all(isinstance(value, int) for _, value in bars)
    top, step = nice_scale(max((value for _, value in bars), default=0), integers=integers)

    left, right, upper, lower = Decimal(48), Decimal(8), Decimal(18), Decimal(28)
    plot_w = Decimal(width) - left - right
    plot_h = Decimal(height) - upper - lower
    base_y = upper + plot_h

    parts = _open_svg(title, width, height)
    parts.extend(
        _grid(top, step, integers, axis_format or value_format, left, plot_w, base_y, plot_h)
    )

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


def grouped_bar_chart_svg(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[Number]]],
    *,
    title: str,
    width: int = 720,
    height: int = 280,
    value_format: Callable[[Number], str] = str,
    axis_format: Callable[[Number], str] | None = None,
) -> SafeString:
    """Draw, for each label, one bar per series side by side, under a legend.

    ``series`` is ``(name, values)`` with one value per label; values must not be
    negative. Every bar is a ``rect.chart-bar.chart-series-<n>`` with ``data-series`` and
    ``data-value``, and its ``<title>`` reads "label, name: value". ``axis_format``
    (default ``value_format``) writes the value axis, where space is short.
    """
    if not 1 <= len(series) <= SERIES_STYLES:
        raise ValueError(f"A grouped chart draws 1 to {SERIES_STYLES} series.")
    if any(len(values) != len(labels) for _, values in series):
        raise ValueError("Every series needs one value per label.")
    values = [value for _, data in series for value in data]
    if any(value < 0 for value in values):
        raise ValueError("Bar values must not be negative.")
    integers = all(isinstance(value, int) for value in values)
    top, step = nice_scale(max(values, default=0), integers=integers)

    left, right, upper, lower = Decimal(56), Decimal(8), Decimal(34), Decimal(28)
    plot_w = Decimal(width) - left - right
    plot_h = Decimal(height) - upper - lower
    base_y = upper + plot_h

    parts = _open_svg(title, width, height)
    legend_x = left
    for index, (name, _) in enumerate(series):
        parts.append(
            f'<rect class="chart-legend chart-series-{index}" x="{_fmt(legend_x)}" y="6" '
            f'width="12" height="12"/>'
            f'<text class="chart-value" x="{_fmt(legend_x + 18)}" y="16">{escape(name)}</text>'
        )
        legend_x += 18 + Decimal(7) * len(name) + 24
    parts.extend(
        _grid(top, step, integers, axis_format or value_format, left, plot_w, base_y, plot_h)
    )
    if labels:
        slot = plot_w / len(labels)
        bar_w = slot * Decimal("0.8") / len(series)
        for group, label in enumerate(labels):
            first_x = left + slot * group + slot * Decimal("0.1")
            for index, (name, data) in enumerate(series):
                value = data[group]
                bar_h = plot_h * Decimal(value) / top
                shown = escape(value_format(value))
                parts.append(
                    f'<rect class="chart-bar chart-series-{index}" '
                    f'x="{_fmt(first_x + bar_w * index)}" y="{_fmt(base_y - bar_h)}" '
                    f'width="{_fmt(bar_w)}" height="{_fmt(bar_h)}" '
                    f'data-series="{escape(name)}" data-value="{escape(str(value))}">'
                    f"<title>{escape(label)}, {escape(name)}: {shown}</title></rect>"
                )
            parts.append(
                f'<text class="chart-text" x="{_fmt(left + slot * group + slot / 2)}" '
                f'y="{_fmt(base_y + 16)}" text-anchor="middle">{escape(label)}</text>'
            )
    parts.append(
        f'<line class="chart-axis" x1="{_fmt(left)}" x2="{_fmt(left + plot_w)}" '
        f'y1="{_fmt(base_y)}" y2="{_fmt(base_y)}"/>'
    )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 -- every dynamic text above is escaped


def compact_number(value: Number) -> str:
    """Write an axis value briefly: 950, 12k, 1.5M (at most one decimal, trailing 0 dropped)."""
    value = Decimal(value)
    for divisor, suffix in (
        (Decimal(1_000_000_000), "G"),
        (Decimal(1_000_000), "M"),
        (Decimal(1_000), "k"),
    ):
        if abs(value) >= divisor:
            scaled = (value / divisor).quantize(Decimal("0.1"))
            return f"{scaled.normalize():f}{suffix}"
    return f"{value.quantize(Decimal('0.1')).normalize():f}"


def _open_svg(title: str, width: int, height: int) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'style="max-width:100%;height:auto">',
        f"<title>{escape(title)}</title>",
        f"<style>{STYLE}</style>",
    ]


def _grid(
    top: Decimal,
    step: Decimal,
    integers: bool,
    value_format: Callable[[Number], str],
    left: Decimal,
    plot_w: Decimal,
    base_y: Decimal,
    plot_h: Decimal,
) -> list[str]:
    """Draw the horizontal grid lines and the value axis's tick labels."""
    lines = []
    tick = Decimal(0)
    while tick <= top:
        y = _fmt(base_y - plot_h * tick / top)
        tick_label = escape(value_format(_tick_value(tick, step, integers)))
        lines.append(
            f'<line class="chart-grid" x1="{_fmt(left)}" x2="{_fmt(left + plot_w)}" '
            f'y1="{y}" y2="{y}"/>'
            f'<text class="chart-text" x="{_fmt(left - 6)}" y="{y}" text-anchor="end" '
            f'dominant-baseline="middle">{tick_label}</text>'
        )
        tick += step
    return lines


def _tick_value(tick: Decimal, step: Decimal, integers: bool) -> Number:
    """Give an axis tick as the data gives values: ``int``, or ``Decimal`` to the step's places."""
    if integers:
        return int(tick)
    return tick.quantize(Decimal(1) if step >= 1 else step)
