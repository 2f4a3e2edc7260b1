"""The executive charts: every input shape gives a readable PNG, and a failed drawing never damages the old one."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import IO

import matplotlib.image
import pytest
from matplotlib.figure import Figure

import visualization
from analysis_types import DailyRevenue, Forecast, ProductPerformance

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
    named, other = visualization._product_bars(ranked, 10)
    assert [label for label, _ in named] == [f"Product {i}" for i in range(10)]
    assert other == ("Other (15 products)", float(sum((item.revenue for item in ranked[10:]), Decimal(0))))
    assert visualization._product_bars(products(11), 10)[1][0] == "Other (1 product)"
    assert visualization._product_bars(products(3), 10)[1] is None


def test_long_names_are_shortened_with_an_ellipsis_and_whitespace_collapsed() -> None:
    shortened = visualization._shorten("Wilson\u00a0Jones   Hanging View Binder, White, 1 inch, extra long", limit=20)
    assert shortened == "Wilson Jones Hangin…"
    assert len(shortened) == 20
    assert visualization._shorten("Short name") == "Short name"


def test_moving_average_covers_only_full_windows_and_is_exact() -> None:
    averages = visualization._trailing_average([Decimal("1"), Decimal("2"), Decimal("3"), Decimal("-3")], 3)
    assert all(math.isnan(value) for value in averages[:2])  # no full window yet
    assert averages[2:] == [2.0, pytest.approx(2 / 3)]


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
