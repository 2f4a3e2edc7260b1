"""The executive charts: every input shape gives a readable PNG, and a failed drawing never damages the old one."""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import IO, cast

import matplotlib.image
import pytest
from matplotlib.backend_bases import RendererBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.transforms import Bbox

import visualization
from autosight.run_results import DailyRevenue, Forecast, ForecastDay, Period, ProductPerformance
from autosight.trading_calendar import trading_day_averages

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
START = date(2024, 1, 1)


def days(revenues: list[str], start: date = START) -> list[DailyRevenue]:
    return [DailyRevenue(start + timedelta(days=i), Decimal(value), 1, 1) for i, value in enumerate(revenues)]


def history(count: int) -> list[DailyRevenue]:
    """A deterministic series with weekly rhythm, zero days and a return-heavy day."""
    values = [Decimal(1000 + (i % 7) * 350 + (i * 37) % 500) for i in range(count)]
    for i in range(3, count, 40):
        values[i] = Decimal(0)
    if count > 20:
        values[20] = Decimal("-412.50")
    return [DailyRevenue(START + timedelta(days=i), value, 3, 2) for i, value in enumerate(values)]


def forecast_after(daily: list[DailyRevenue], *, interval: bool = True, method: str = "holt") -> Forecast:
    value = Decimal("2500.00")
    return Forecast(
        day=daily[-1].day + timedelta(days=1),
        value=value,
        method=method,
        moving_average=Decimal("2400.00"),
        window=5,
        lower=value - Decimal("600") if interval else None,
        upper=value + Decimal("700") if interval else None,
        interval_level_pct=80,
    )


def products(count: int, name: Callable[[int], str] = lambda i: f"Product {i}") -> list[ProductPerformance]:
    return [
        ProductPerformance(name(i), i + 1, Decimal(1000 * (count - i)) + Decimal("0.45"), None, i + 1)
        for i in range(count)
    ]


def assert_png(path: Path) -> None:
    """A real PNG that matplotlib reads back at a size people can read."""
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    height, width, _channels = matplotlib.image.imread(path).shape
    assert 800 <= width <= 2000
    assert 300 <= height <= 2000


@pytest.mark.parametrize(
    ("daily", "with_forecast", "window"),
    [
        pytest.param([], False, 5, id="empty"),
        pytest.param(days(["1234.56"]), True, 5, id="one-day"),
        pytest.param(history(10), True, 5, id="ten-days"),
        pytest.param(history(730), True, 28, id="two-years"),
        pytest.param(days(["100", "-250.50", "0", "80", "-40"]), True, 3, id="negatives"),
        pytest.param(days(["0", "0", "0", "0"]), False, 3, id="all-zero"),
        pytest.param(history(3), False, 7, id="shorter-than-window"),
    ],
)
def test_revenue_chart_is_a_readable_png(
    tmp_path: Path, daily: list[DailyRevenue], with_forecast: bool, window: int
) -> None:
    path = tmp_path / "revenue.png"
    visualization.draw_revenue_chart(path, daily, forecast_after(daily) if with_forecast else None, window)
    assert_png(path)


def test_revenue_chart_handles_forecast_without_interval_and_dollar_in_method(tmp_path: Path) -> None:
    daily = history(12)
    path = tmp_path / "revenue.png"
    visualization.draw_revenue_chart(path, daily, forecast_after(daily, interval=False, method="ets $^{ x$"), 5)
    assert_png(path)


def test_revenue_chart_with_no_data_ignores_a_dayless_forecast(tmp_path: Path) -> None:
    empty_forecast = Forecast(None, Decimal(0), "moving_average", Decimal(0), 5, None, None, 80)
    path = tmp_path / "revenue.png"
    visualization.draw_revenue_chart(path, [], empty_forecast, 5)
    assert_png(path)


@pytest.mark.parametrize(
    "items",
    [
        pytest.param([], id="empty"),
        pytest.param(products(1), id="one"),
        pytest.param(products(3), id="three"),
        pytest.param(products(25), id="twenty-five"),
        pytest.param(products(12, lambda i: f"Very long product name number {i} " * 6), id="long-names"),
        pytest.param(products(4, lambda i: f"Gift card ${i} ^{{ pack $"), id="dollar-signs"),
        pytest.param(
            [
                ProductPerformance("Sold", 5, Decimal("900"), None, 1),
                ProductPerformance("Returned", -3, Decimal("-300"), None, 2),
            ],
            id="negative-revenue",
        ),
    ],
)
def test_products_chart_is_a_readable_png(tmp_path: Path, items: list[ProductPerformance]) -> None:
    path = tmp_path / "products.png"
    visualization.draw_products_chart(path, items)
    assert_png(path)


def test_products_beyond_top_n_are_summed_exactly_into_one_other_bar() -> None:
    ranked = products(25)
    named, other, negatives = visualization._product_bars(ranked, 10)
    assert negatives == []
    assert [label for label, _ in named] == [f"Product {i}" for i in range(10)]
    assert other == ("Other (15 products)", float(sum((item.revenue for item in ranked[10:]), Decimal(0))))
    one_left = visualization._product_bars(products(11), 10)[1]
    assert one_left is not None and one_left[0] == "Other (1 product)"
    assert visualization._product_bars(products(3), 10)[1] is None


def test_products_with_negative_revenue_keep_bars_of_their_own() -> None:
    # 12 positive products (two beyond the top 10) and 7 with negative revenue: the 5 most negative by name,
    # the other 2 summed; none of them inside "Other", which holds the two positive products only.
    positive = products(12)
    negative = [ProductPerformance(f"Fee {i}", 1, Decimal(-10 * (i + 1)) - Decimal("0.25"), None, 13 + i)
                for i in range(7)]
    named, other, negatives = visualization._product_bars(positive + negative, 10)
    assert len(named) == 10
    assert other == ("Other (2 products)", float(positive[10].revenue + positive[11].revenue))
    assert negatives == [("Fee 6", -70.25), ("Fee 5", -60.25), ("Fee 4", -50.25), ("Fee 3", -40.25),
                         ("Fee 2", -30.25), ("Other negative (2 products)", -30.5)]
    assert_nothing_cut_off(visualization.build_products_figure(positive + negative))


def test_closed_days_are_shaded_not_drawn_as_dips() -> None:
    # Two weeks, closed on the Monday in between: the line joins Sunday to Tuesday and never reaches 0.
    daily = [DailyRevenue(START + timedelta(days=i), Decimal(0) if i == 7 else Decimal(500 + i), 1, 1,
                          closed_reason="closed_weekday" if i == 7 else None) for i in range(14)]
    figure = visualization.build_revenue_figure(daily, forecast_after(daily), 5, currency="EUR")
    line = figure.axes[0].lines[0]
    heights: list[float] = list(cast(Sequence[float], line.get_ydata()))  # an array of numbers, typed loosely
    assert min(heights) == 500 and len(heights) == 13
    assert [collection.get_label() for collection in figure.axes[0].collections if collection.get_label() == "Closed"]
    assert figure.axes[0].get_ylabel() == "Revenue (EUR)"


def test_a_closure_ahead_beyond_the_week_is_shaded_up_to_the_reopening() -> None:
    # Two weeks of trading days, then closed (listed) for 19 days: the week ahead is closed and the headline is for
    # day 20 after the last; days 1..19 are all shaded, not only the week's 7.
    daily = [DailyRevenue(START + timedelta(days=i), Decimal(500 + i), 1, 1) for i in range(14)]
    last = daily[-1].day
    week = [ForecastDay(last + timedelta(days=n), Decimal("0.00"), Decimal("0.00"), Decimal("0.00"), closed=True)
            for n in range(1, 8)]
    forecast = dataclasses.replace(forecast_after(daily), day=last + timedelta(days=20), week=week)
    figure = visualization.build_revenue_figure(daily, forecast, 5)
    [band] = [collection for collection in figure.axes[0].collections if collection.get_label() == "Closed"]
    assert len(band.get_paths()) == 19


def test_long_names_are_shortened_in_the_middle_and_whitespace_collapsed() -> None:
    shortened = visualization._shorten("Wilson\u00a0Jones   Hanging View Binder, White, 1 inch, extra long", limit=20)
    assert shortened == "Wilson Jones H… long"
    assert len(shortened) == 20
    assert visualization._shorten("Short name") == "Short name"


def test_shortened_names_keep_the_end_that_tells_variants_apart() -> None:
    names = [f"3D Systems Cube Printer, 2nd Generation, {colour}" for colour in ("Magenta", "White")]
    assert [visualization._shorten(name) for name in names] == [
        "3D Systems Cube Printer, 2nd Ge… Magenta",
        "3D Systems Cube Printer, 2nd Gene… White",
    ]
    assert visualization._shorten("Sanyo 2.5 Cubic Foot Mid-Size Office Refrigerators") == (
        "Sanyo 2.5 Cubic Foot Mid-… Refrigerators"
    )


def test_moving_average_covers_only_full_windows_of_trading_days_and_is_exact() -> None:
    # Days 1..6, the third closed: windows of 3 trading days are (1, 2, 4) on day 4 and (2, 4, -3) on day 5.
    revenues = [(Decimal("1"), True), (Decimal("2"), True), (Decimal("0"), False), (Decimal("4"), True),
                (Decimal("-3"), True), (Decimal("0"), False)]
    assert trading_day_averages(revenues, 3) == [None, None, None, Decimal(7) / 3, Decimal(1), None]
    # with the trading days before the first day (a short report of a longer history): full from the first day
    assert trading_day_averages(revenues, 3, [Decimal(10), Decimal(20)]) == [
        Decimal(31) / 3, Decimal(23) / 3, None, Decimal(7) / 3, Decimal(1), None]


def test_the_moving_average_of_a_short_period_starts_with_its_first_day() -> None:
    # 3 days drawn, window 5, and the 4 trading days before them given: the line has a point on every day.
    daily = history(3)
    lead_in = [Decimal(100), Decimal(200), Decimal(300), Decimal(400)]
    figure = visualization.build_revenue_figure(daily, None, 5, lead_in=lead_in)
    average = [line for line in series_lines(figure) if line.get_color() == visualization.AVERAGE_COLOR]
    revenues = [entry.revenue for entry in daily]
    expected = [sum([*lead_in, *revenues][n:n + 5], Decimal(0)) / 5 for n in range(3)]
    assert [value for _, value in points(average[0])] == [float(value) for value in expected]


@pytest.mark.parametrize(
    "draw",
    [
        pytest.param(lambda path: visualization.draw_revenue_chart(path, history(5), None, 0), id="window-0"),
        pytest.param(lambda path: visualization.draw_products_chart(path, products(3), top_n=0), id="top-n-0"),
    ],
)
def test_invalid_settings_are_refused(tmp_path: Path, draw: Callable[[Path], None]) -> None:
    with pytest.raises(ValueError):
        draw(tmp_path / "chart.png")


def test_previous_chart_survives_a_drawing_error(tmp_path: Path) -> None:
    path = tmp_path / "revenue.png"
    path.write_bytes(b"previous chart")
    with pytest.raises(AttributeError):
        visualization.draw_revenue_chart(path, [object()], None, 5)  # type: ignore[list-item]
    assert path.read_bytes() == b"previous chart"
    assert [entry.name for entry in tmp_path.iterdir()] == ["revenue.png"]


def test_previous_chart_survives_a_failure_half_way_through_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_savefig(self: Figure, stream: IO[bytes], **kwargs: object) -> None:
        stream.write(PNG_SIGNATURE + b"half a chart")
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken_savefig)
    path = tmp_path / "products.png"
    path.write_bytes(b"previous chart")
    with pytest.raises(OSError, match="disk full"):
        visualization.draw_products_chart(path, products(3))
    assert path.read_bytes() == b"previous chart"
    assert [entry.name for entry in tmp_path.iterdir()] == ["products.png"]


def trend(count: int, first: str, step: str, start: date = START) -> list[DailyRevenue]:
    """A straight line of daily revenues, so the highest or the lowest day is the last one."""
    return [DailyRevenue(start + timedelta(days=i), Decimal(first) + i * Decimal(step), 1, 1) for i in range(count)]


def forecast_of(daily: list[DailyRevenue], value: str, lower: str | None, upper: str | None) -> Forecast:
    low, high = (Decimal(lower), Decimal(upper)) if lower and upper else (None, None)
    return Forecast(daily[-1].day + timedelta(days=1), Decimal(value), "holt_winters", Decimal(value), 5, low, high, 80)


def drawn(figure: Figure) -> RendererBase:
    canvas = figure.canvas
    assert isinstance(canvas, FigureCanvasAgg)  # the charts are drawn by Agg, with no display
    canvas.draw()
    return canvas.get_renderer()


def label_boxes(figure: Figure, renderer: RendererBase) -> list[Bbox]:
    """The framed boxes of the text labels in the plot (highest/lowest day, cut "Other" bar), in pixels."""
    patches = (text.get_bbox_patch() for text in figure.axes[0].texts)
    return [patch.get_window_extent(renderer) for patch in patches if patch is not None]


def forecast_box(figure: Figure, renderer: RendererBase) -> Bbox:
    """Pixels covered by the forecast marker and its interval with the caps."""
    (container,) = figure.axes[0].containers
    assert isinstance(container, ErrorbarContainer)
    marker, caps, _bars = container.lines
    return Bbox.union([marker.get_window_extent(renderer), *(cap.get_window_extent(renderer) for cap in caps)])


def crosses(line: Line2D, box: Bbox) -> bool:
    path = line.get_transform().transform_path(line.get_path())
    return bool(path.intersects_bbox(box, filled=False))


def series_lines(figure: Figure) -> list[Line2D]:
    """The drawn series (daily revenue, moving average, forecast connector): not the zero line or bare markers."""
    return [line for line in figure.axes[0].lines if line.get_zorder() >= 3 and line.get_linestyle() != "None"]


CROWDED_CHARTS = [
    pytest.param(trend(730, "1000", "20"), ("16000", "13000", "21000"), id="two-years-rising-into-a-wide-interval"),
    pytest.param(trend(400, "5000", "-15"), ("-1000", "-3000", "500"), id="falling-below-zero-into-the-interval"),
    pytest.param(trend(2, "50", "1"), ("300", "150", "420"), id="two-days-then-a-steep-forecast"),
    pytest.param(trend(1, "1234.56", "0"), ("2500", None, None), id="one-day-then-a-higher-forecast"),
    pytest.param(trend(10, "1000", "-90"), ("50", "-400", "700"), id="ten-days-falling"),
    pytest.param(history(10), ("2500", "1900", "3200"), id="ten-days"),
]


@pytest.mark.parametrize(("daily", "figures"), CROWDED_CHARTS)
def test_day_labels_stay_clear_of_the_lines_and_the_forecast(
    daily: list[DailyRevenue], figures: tuple[str, str | None, str | None]
) -> None:
    figure = visualization.build_revenue_figure(daily, forecast_of(daily, *figures), 5)
    renderer = drawn(figure)

    boxes = label_boxes(figure, renderer)
    assert boxes
    for box in boxes:
        assert not box.overlaps(forecast_box(figure, renderer))
        assert not any(crosses(line, box) for line in series_lines(figure))
    assert not any(first.overlaps(second) for first, second in itertools.pairwise(boxes))


def assert_nothing_cut_off(figure: Figure) -> None:
    """Everything drawn (titles, ticks, legend, day labels with their frames) lies inside the canvas."""
    renderer = drawn(figure)
    drawn_area = Bbox.union([figure.get_tightbbox(renderer).transformed(figure.dpi_scale_trans),
                             *label_boxes(figure, renderer)])
    assert figure.bbox.containsx(drawn_area.x0) and figure.bbox.containsx(drawn_area.x1), drawn_area
    assert figure.bbox.containsy(drawn_area.y0) and figure.bbox.containsy(drawn_area.y1), drawn_area


@pytest.mark.parametrize(("daily", "figures"), CROWDED_CHARTS)
def test_no_text_of_the_revenue_chart_is_cut_off(
    daily: list[DailyRevenue], figures: tuple[str, str | None, str | None]
) -> None:
    assert_nothing_cut_off(visualization.build_revenue_figure(daily, forecast_of(daily, *figures), 5))


@pytest.mark.parametrize(
    "items",
    [
        pytest.param(products(30, lambda i: f"Product with a rather long descriptive name {i}"), id="thirty-long"),
        pytest.param(products(1), id="one"),
        pytest.param([], id="none"),
    ],
)
def test_no_text_of_the_products_chart_is_cut_off(items: list[ProductPerformance]) -> None:
    assert_nothing_cut_off(visualization.build_products_figure(items, period=Period(START, date(2025, 12, 31))))


def tick_labels(figure: Figure) -> list[str]:
    drawn(figure)
    axes = figure.axes[0]
    left, right = axes.get_xlim()
    return [label.get_text() for label in axes.get_xticklabels() if left <= label.get_position()[0] <= right]


def test_short_histories_name_the_month_on_every_date_tick() -> None:
    """A bare "27" with "2020-Jan" in the corner reads as January for days of December 2019."""
    daily = days(["100"] * 10, start=date(2019, 12, 21))
    figure = visualization.build_revenue_figure(daily, forecast_after(daily), 5)

    labels = tick_labels(figure)

    assert len(labels) >= 3
    assert all(re.fullmatch(r"(Dec|Jan) \d\d", label) for label in labels), labels
    assert figure.axes[0].xaxis.get_offset_text().get_text() == ""


def test_long_histories_label_months_and_years() -> None:
    daily = history(730)
    labels = tick_labels(visualization.build_revenue_figure(daily, forecast_after(daily), 28))

    assert {"2024", "2025"} <= set(labels)
    assert all(re.fullmatch(r"\d{4}|[A-Z][a-z]{2}", label) for label in labels), labels


def test_titles_name_the_period_with_thousands_separators() -> None:
    daily = history(1200)
    revenue = visualization.build_revenue_figure(daily, None, 5)
    products_figure = visualization.build_products_figure(products(1742), period=Period(START, date(2026, 12, 31)))

    assert revenue.axes[0].get_title("left") == "Daily revenue, 2024-01-01 to 2027-04-14 (1,200 days)"
    assert products_figure.axes[0].get_title("left") == (
        "Top 10 of 1,742 products by revenue, 2024-01-01 to 2026-12-31 (1,096 days)"
    )
    other = visualization._product_bars(products(1742), 10)[1]
    assert other is not None and other[0] == "Other (1,732 products)"


def points(line: Line2D) -> list[tuple[date, float]]:
    """The (day, revenue) points of a line, as given to it (its data are typed loosely)."""
    days = cast(Sequence[date], line.get_xdata())
    return list(zip(days, cast(Sequence[float], line.get_ydata()), strict=True))


def test_a_long_series_is_drawn_as_one_unbroken_line_in_pieces() -> None:
    daily = history(450)
    figure = visualization.build_revenue_figure(daily, None, 5)
    pieces = [line for line in figure.axes[0].lines if line.get_color() == visualization.DAILY_COLOR]

    assert len(pieces) > 1
    for before, after in itertools.pairwise(pieces):  # each piece starts on the last day of the one before
        assert points(before)[-1] == points(after)[0]
    drawn = [point for piece in pieces for point in points(piece)]
    assert list(dict.fromkeys(drawn)) == [(entry.day, float(entry.revenue)) for entry in daily]
    (legend,) = figure.legends
    assert [text.get_text() for text in legend.get_texts()].count("Daily revenue") == 1
