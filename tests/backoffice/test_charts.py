import re
from decimal import Decimal

import pytest

from backoffice.charts import bar_chart_svg, compact_number, grouped_bar_chart_svg, nice_scale


def _bars(svg: str) -> list[dict[str, str]]:
    tags = re.findall(r'<rect class="chart-bar[^>]*>', svg)
    return [dict(re.findall(r'(\w[\w-]*)="([^"]*)"', tag)) for tag in tags]


@pytest.mark.parametrize(
    ("largest", "integers", "expected"),
    [
        (0, True, (Decimal(1), Decimal(1))),
        (3, True, (Decimal(3), Decimal(1))),
        (12, True, (Decimal(15), Decimal(5))),
        (100, True, (Decimal(100), Decimal(20))),
        (101, True, (Decimal(150), Decimal(50))),
        (Decimal("0.40"), False, (Decimal("0.4"), Decimal("0.1"))),
        (Decimal("1234.50"), False, (Decimal(1500), Decimal(500))),
    ],
)
def test_nice_scale_covers_the_largest_value_in_round_steps(largest, integers, expected):
    top, step = nice_scale(largest, integers=integers)

    assert (top, step) == expected
    assert top >= largest
    assert top / step <= 5 or top == step


def test_bar_heights_are_proportional_to_values():
    svg = bar_chart_svg([("Jan", 1), ("Feb", 4), ("Mar", 0)], title="Sign-ups", height=260)

    bars = _bars(svg)
    assert [bar["data-value"] for bar in bars] == ["1", "4", "0"]
    heights = [Decimal(bar["height"]) for bar in bars]
    assert heights[1] == heights[0] * 4
    assert heights[2] == 0
    # Bars stand on one base line.
    bases = {Decimal(bar["y"]) + Decimal(bar["height"]) for bar in bars}
    assert len(bases) == 1


def test_svg_is_self_contained_and_named():
    svg = bar_chart_svg([("Jan", 2)], title="Sign-ups")

    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    assert "<title>Sign-ups</title>" in svg
    assert "<title>Jan: 2</title>" in svg
    assert "http" not in svg.replace("http://www.w3.org/2000/svg", "")
    assert "<script" not in svg


def test_labels_and_title_are_escaped():
    svg = bar_chart_svg([("<script>alert(1)</script>", 1)], title='A "quoted" <title>')

    assert "<script>" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    assert "A &quot;quoted&quot; &lt;title&gt;" in svg


def test_decimal_values_keep_their_places_in_labels():
    svg = bar_chart_svg(
        [("Jan", Decimal("1500.00")), ("Feb", Decimal("250.50"))],
        title="Disbursed",
        value_format=lambda v: f"{v} INR",
    )

    assert "<title>Jan: 1500.00 INR</title>" in svg
    assert "<title>Feb: 250.50 INR</title>" in svg


def test_the_value_axis_may_be_written_briefly():
    svg = bar_chart_svg(
        [("CURRENT", Decimal("1200.00")), ("LATE", Decimal("300.00"))],
        title="Principal by bucket",
        value_format=lambda v: f"{v} INR",
        axis_format=compact_number,
    )

    assert ">1200.00 INR</text>" in svg  # over the bar, in full
    assert ">1.5k</text>" in svg  # the axis top (1,500 in steps of 500), briefly
    assert ">1500 INR</text>" not in svg


def test_empty_data_draws_axes_without_bars():
    svg = bar_chart_svg([], title="Nothing yet")

    assert _bars(svg) == []
    assert svg.endswith("</svg>")


def test_negative_values_are_refused():
    with pytest.raises(ValueError, match="negative"):
        bar_chart_svg([("Jan", -1)], title="x")


def _two_series(**kwargs) -> str:
    return grouped_bar_chart_svg(
        ["Jan", "Feb"],
        [
            ("Disbursed", [Decimal("1000.00"), Decimal("0.00")]),
            ("Repaid", [Decimal("250.00"), Decimal("500.00")]),
        ],
        title="Flows",
        **kwargs,
    )


def test_grouped_bars_sit_side_by_side_with_heights_in_proportion():
    bars = _bars(_two_series())

    assert [(bar["class"], bar["data-series"], bar["data-value"]) for bar in bars] == [
        ("chart-bar chart-series-0", "Disbursed", "1000.00"),
        ("chart-bar chart-series-1", "Repaid", "250.00"),
        ("chart-bar chart-series-0", "Disbursed", "0.00"),
        ("chart-bar chart-series-1", "Repaid", "500.00"),
    ]
    heights = [Decimal(bar["height"]) for bar in bars]
    assert heights[0] == heights[1] * 4 == heights[3] * 2
    assert heights[2] == 0
    xs = [Decimal(bar["x"]) for bar in bars]
    assert xs[0] + Decimal(bars[0]["width"]) == xs[1]  # touching, within a month
    assert xs[1] < xs[2]  # months left to right
    assert len({Decimal(bar["y"]) + Decimal(bar["height"]) for bar in bars}) == 1


def test_grouped_chart_has_a_legend_and_tooltips_naming_the_series():
    svg = _two_series(value_format=lambda v: f"{v} INR", axis_format=compact_number)

    assert re.findall(r'class="chart-legend chart-series-(\d)"', svg) == ["0", "1"]
    assert ">Disbursed</text>" in svg and ">Repaid</text>" in svg
    assert "<title>Feb, Repaid: 500.00 INR</title>" in svg
    assert ">1k</text>" in svg  # the axis top, written briefly
    assert "<script" not in svg


@pytest.mark.parametrize(
    ("series", "message"),
    [
        ([("A", [1])], "one value per label"),
        ([("A", [1, -1])], "negative"),
        ([], "1 to 3 series"),
        ([(str(n), [1, 1]) for n in range(4)], "1 to 3 series"),
    ],
)
def test_grouped_chart_refuses_bad_data(series, message):
    with pytest.raises(ValueError, match=message):
        grouped_bar_chart_svg(["Jan", "Feb"], series, title="x")


def test_grouped_chart_escapes_names_and_labels():
    svg = grouped_bar_chart_svg(["<b>"], [('"x"<y>', [1])], title="t")

    assert "<b>" not in svg and "&lt;b&gt;" in svg
    assert "&quot;x&quot;&lt;y&gt;" in svg


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (0, "0"),
        (950, "950"),
        (Decimal("1000"), "1k"),
        (Decimal("12500.00"), "12.5k"),
        (Decimal("200000"), "200k"),
        (Decimal("1500000"), "1.5M"),
        (Decimal("0.5"), "0.5"),
    ],
)
def test_compact_number_writes_axis_values_briefly(value, written):
    assert compact_number(value) == written
