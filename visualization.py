"""The executive charts: ``revenue.png`` (daily revenue with forecast) and ``products.png`` (top products).

Figures are built with matplotlib's object API on an explicit Agg canvas instead of ``pyplot``: the batch
run has no display, must not depend on the process-wide backend setting, and a figure that pyplot never
registered is freed as soon as the function returns, so memory stays flat however many charts are drawn.
Money arrives as ``Decimal`` and is converted to ``float`` only here, at the plotting edge.
"""

from __future__ import annotations

import calendar
from collections import Counter
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from matplotlib import dates as mdates
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.patches import Rectangle
from matplotlib.transforms import Bbox

from atomic_io import write_atomically
from autosight import run_results
from autosight.trading_calendar import CLOSED_WEEKDAY, DETECTED_CLOSED_WEEKDAY, trading_day_averages

DPI = 120
LAYOUT_PAD_POINTS = 3.0  # space left around the drawing, as constrained layout leaves by default
LEGEND_FONT_SIZE = 10
PNG_COMPRESS_LEVEL = 1
MAX_NEGATIVE_BARS = 5  # products with negative revenue shown by name; more are summed into one bar
RECURRING_CLOSURES = (CLOSED_WEEKDAY, DETECTED_CLOSED_WEEKDAY)  # the closed days that come back every week
SHADE_WEEKLY_CLOSED_DAYS = 62  # beyond this many days, shading every closed weekday would only stripe the chart
NO_DATA_MESSAGE = "No sales data to report"  # an empty database, or no sale in the chosen dates
MAX_NAME_CHARS = 40
ELLIPSIS = "…"
OTHER_CUT_RATIO = 1.5  # "Other" above this multiple of the top product is drawn cut
SERIES_PIECE_DAYS = 200  # see _plot_series
SHORT_HISTORY_DAYS = 31  # beyond this, day markers and the forecast connector only add clutter
LABEL_OFFSET_POINTS = 12  # gap between a marked day and its label, wider than the marker and the forecast's caps
# ConciseDateFormatter formats per tick level (years, months, days, hours, minutes, seconds). Days read "Dec 21":
# a bare "21" with the month in a corner offset reads wrong when the period spans a month or a year end.
DATE_FORMATS = ["%Y", "%b", "%b %d", "%H:%M", "%H:%M", "%S.%f"]
DATE_ZERO_FORMATS = ["", "%Y", "%b %d", "%b %d", "%H:%M", "%H:%M"]

DAILY_COLOR = "#4C72B0"
AVERAGE_COLOR = "#DD8452"
FORECAST_COLOR = "#C44E52"
HIGH_COLOR = "#2A9D4B"
LOW_COLOR = "#8C2D04"
OTHER_COLOR = "#A0A0A0"
NEGATIVE_COLOR = "#C44E52"
CLOSED_COLOR = "#D9D9D9"


def draw_revenue_chart(
    path: Path,
    daily: Sequence[run_results.DailyRevenue],
    forecast: run_results.Forecast | None,
    moving_average_window: int,
    *,
    currency: str | None = None,
    lead_in: Sequence[Decimal] = (),
) -> None:
    """Write the daily revenue chart (trading days, closed days shaded, moving average, best/worst trading day,
    the week-ahead forecast band and the next-trading-day forecast) to ``path``. ``lead_in``: revenues of the
    trading days before ``daily``, where the moving average of a short period starts."""
    _save(build_revenue_figure(daily, forecast, moving_average_window, currency=currency, lead_in=lead_in), path)


def draw_products_chart(
    path: Path,
    products: Sequence[run_results.ProductPerformance],
    top_n: int = 10,
    *,
    period: run_results.Period | None = None,
    currency: str | None = None,
) -> None:
    """Write the top-``top_n`` products chart, the remaining products summed into one "Other" bar; products with
    negative revenue (returns, fees) keep bars of their own below it.

    ``period`` goes into the title, so that the chart still says what it covers when forwarded on its own.
    """
    _save(build_products_figure(products, top_n, period=period, currency=currency), path)


def build_revenue_figure(
    daily: Sequence[run_results.DailyRevenue],
    forecast: run_results.Forecast | None,
    moving_average_window: int,
    *,
    currency: str | None = None,
    lead_in: Sequence[Decimal] = (),
) -> Figure:
    """The revenue chart as a figure, kept apart from saving so tests can measure where everything landed."""
    if moving_average_window < 1:
        raise ValueError(f"moving_average_window must be at least 1, got {moving_average_window}")
    figure = _new_figure(width=12.0, height=6.5)
    axes = figure.add_subplot()
    legend = None
    if not daily:
        _draw_no_data(axes, "Daily revenue")
    else:
        _draw_revenue(axes, daily, forecast, moving_average_window, currency, lead_in)
        legend = figure.legend(loc="lower center", ncols=2, frameon=False, fontsize=LEGEND_FONT_SIZE,
                               borderaxespad=LAYOUT_PAD_POINTS / LEGEND_FONT_SIZE)
    _fit_layout(figure, axes, legend)
    return figure


def build_products_figure(
    products: Sequence[run_results.ProductPerformance],
    top_n: int = 10,
    *,
    period: run_results.Period | None = None,
    currency: str | None = None,
) -> Figure:
    """The products chart as a figure (see ``draw_products_chart``)."""
    if top_n < 1:
        raise ValueError(f"top_n must be at least 1, got {top_n}")
    ranked = sorted(products, key=lambda item: (-item.revenue, item.rank, item.product))
    named, other, negatives = _product_bars(ranked, top_n)
    figure = _new_figure(width=11.0, height=max(3.2, 1.4 + 0.42 * (len(named) + len(negatives) + 1)))
    axes = figure.add_subplot()
    if not ranked:
        _draw_no_data(axes, "Top products by revenue")
    else:
        _draw_products(axes, named, other, negatives)
        axes.set_xlabel(_revenue_label(currency))
        axes.set_title(_products_title(len(ranked), top_n, period), fontsize=13, loc="left")
    _fit_layout(figure, axes)
    return figure


def _new_figure(width: float, height: float) -> Figure:
    """A figure on its own Agg canvas (laid out by ``_fit_layout`` once everything is in it)."""
    figure = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(figure)
    return figure


def _fit_layout(figure: Figure, axes: Axes, legend: Legend | None = None) -> None:
    """Place the axes so that its decorations (tick labels, axis labels, title, day labels) and the legend under
    it fill the figure up to a small pad, nothing cut off at the edges.

    Constrained layout did this for the single axes at a third of the drawing's cost (its solver, two measuring
    passes). Here the decorations are measured once more only when the new size gave an axis other ticks (whose
    labels may be wider).
    """
    canvas = figure.canvas
    assert isinstance(canvas, FigureCanvasAgg)  # see _new_figure
    renderer = canvas.get_renderer()
    pad = LAYOUT_PAD_POINTS * figure.dpi / 72
    bottom = pad if legend is None else 2 * pad + legend.get_window_extent(renderer).height
    for _ in range(2):
        ticks = _tick_positions(axes)
        inner, outer = axes.get_window_extent(renderer), axes.get_tightbbox(renderer, for_layout_only=True)
        assert outer is not None  # an axes always has its frame at least
        placed = Bbox.from_extents(pad + inner.x0 - outer.x0, bottom + inner.y0 - outer.y0,
                                   figure.bbox.width - pad - (outer.x1 - inner.x1),
                                   figure.bbox.height - pad - (outer.y1 - inner.y1))
        axes.set_position(placed.transformed(figure.transFigure.inverted()))
        if _tick_positions(axes) == ticks:
            return


def _tick_positions(axes: Axes) -> tuple[list[float], list[float]]:
    return list(axes.xaxis.get_majorticklocs()), list(axes.yaxis.get_majorticklocs())


def _save(figure: Figure, path: Path) -> None:
    """Render into a temporary file and rename it over ``path``, so a reader never sees half a PNG.

    zlib level 1: a third of the encoding time of the default level 6, for a file about a quarter larger.
    """

    def write(stream: IO[bytes]) -> None:
        figure.savefig(stream, format="png", dpi=DPI, pil_kwargs={"compress_level": PNG_COMPRESS_LEVEL})

    write_atomically(Path(path), write)


def _draw_no_data(axes: Axes, title: str) -> None:
    """Say plainly that there is nothing to show: an empty grid would look like a broken chart."""
    axes.set_axis_off()
    axes.set_title(title, fontsize=13, loc="left")
    axes.text(
        0.5, 0.5, NO_DATA_MESSAGE, ha="center", va="center", fontsize=20, color="dimgray", transform=axes.transAxes
    )


def _plain(text: str) -> str:
    """Escape ``$`` so names like "Staples $5 $10" are shown literally, not parsed as mathtext (which can crash)."""
    return text.replace("$", r"\$")


def _money(value: float) -> str:
    """Amounts as executives read them: thousands separators, cents."""
    return f"{value:,.2f}"


def _revenue_label(currency: str | None) -> str:
    return f"Revenue ({currency})" if currency else "Revenue"


class _MoneyFormatter(ticker.Formatter):
    """Tick labels with thousands separators; cents only when the visible range is too small for whole units.

    ``hide_negative`` blanks negative ticks when nothing drawn is negative: they only make room for a label.
    """

    def __init__(self, *, hide_negative: bool) -> None:
        self.hide_negative = hide_negative

    def __call__(self, x: float, pos: int | None = None) -> str:
        if self.hide_negative and x < 0:
            return ""
        if self.axis is None:  # not attached to an axis yet: nothing to scale the decimals by
            return f"{x + 0.0:,.2f}"
        low, high = self.axis.get_view_interval()
        decimals = 0 if high - low >= 10 else 2
        return f"{x + 0.0:,.{decimals}f}"  # + 0.0 turns -0.0 into 0.0


# --- revenue chart -------------------------------------------------------------------------------------


def _trading_day_average_line(trading: Sequence[run_results.DailyRevenue], window: int,
                              lead_in: Sequence[Decimal]) -> list[float]:
    """report.json's moving average of the trading days drawn (NaN, a gap, before the first full window)."""
    averages = trading_day_averages([(entry.revenue, True) for entry in trading], window, lead_in)
    return [float("nan") if average is None else float(average) for average in averages]


def _draw_revenue(
    axes: Axes,
    daily: Sequence[run_results.DailyRevenue],
    forecast: run_results.Forecast | None,
    window: int,
    currency: str | None,
    lead_in: Sequence[Decimal],
) -> None:
    """Compose the revenue chart; each element has its own helper so the layout rules stay readable.

    The line joins trading days only: a closed day is shaded, never drawn as a dip to zero.
    """
    trading = [entry for entry in daily if entry.trading] or list(daily)
    days = [entry.day for entry in trading]
    revenues = [float(entry.revenue) for entry in trading]
    short = len(daily) <= SHORT_HISTORY_DAYS
    _plot_series(axes, days, revenues, color=DAILY_COLOR, linewidth=1.2, marker="o" if short else None, markersize=4,
                 label="Daily revenue", zorder=3)
    if window > 1 and len(lead_in) + len(days) >= window:  # a 1-day average would only repeat the daily line
        _plot_series(axes, days, _trading_day_average_line(trading, window, lead_in), color=AVERAGE_COLOR,
                     linewidth=2.2,
                     label=f"{window}-trading-day moving average", zorder=4)
    axes.axhline(0, color="gray", linewidth=0.8, zorder=1)
    last_day = daily[-1].day
    if forecast is not None and forecast.day is not None:
        _draw_week_ahead(axes, forecast)
        _draw_forecast(axes, forecast, (days[-1], revenues[-1]) if short else None, currency)
        last_day = max([last_day, forecast.day, *(entry.day for entry in forecast.week)])
    _shade_closed_days(axes, daily, forecast)
    _mark_extremes(axes, days, revenues, (daily[0].day, last_day))
    _format_revenue_axes(axes, daily, last_day, currency)


def _plot_series(axes: Axes, days: list[date], values: list[float], *, label: str, **style: Any) -> None:
    """A daily series as one line drawn in pieces of ``SERIES_PIECE_DAYS`` days, each starting where the last one
    ends. Agg rasterises a path's cells all together: years of steep daily segments in one path took a third of
    the revenue chart's drawing at 3,650 days, in pieces they take half of that, and the line looks the same."""
    for start in range(0, max(len(days) - 1, 1), SERIES_PIECE_DAYS):
        piece = slice(start, start + SERIES_PIECE_DAYS + 1)
        axes.plot(_on_dates(days[piece]), values[piece], label=label if start == 0 else "_nolegend_", **style)


def _shade_closed_days(axes: Axes, daily: Sequence[run_results.DailyRevenue],
                       forecast: run_results.Forecast | None) -> None:
    """Grey bands over closed days (and the closed days of the week ahead). On a long history a closed weekday
    would stripe the whole chart, so there only closures and listed dates are shaded (the legend says so)."""
    long_history = len(daily) > SHADE_WEEKLY_CLOSED_DAYS
    closed = [entry.day for entry in daily if not entry.trading
              and not (long_history and entry.closed_reason in RECURRING_CLOSURES)]
    if forecast is not None and not long_history:
        closed += [entry.day for entry in forecast.week if entry.closed]
        if forecast.day is not None and forecast.week and forecast.day > forecast.week[-1].day:
            # a listed closure beyond the week: closed up to the reopening, the headline's day
            last = forecast.week[-1].day
            closed += [last + timedelta(days=n) for n in range(1, (forecast.day - last).days)]
    if not closed:
        return
    spans = [(mdates.date2num(day) - 0.5, 1.0) for day in closed]
    label = "Closed" + (" (closures and holidays; closed weekdays not shaded)" if long_history else "")
    axes.broken_barh(spans, (0, 1), transform=axes.get_xaxis_transform(), facecolors=CLOSED_COLOR,
                     edgecolor="none", alpha=0.6, zorder=0, label=label)


def _draw_week_ahead(axes: Axes, forecast: run_results.Forecast) -> None:
    """The week ahead: its trading days' forecasts joined by a dotted line inside their 80 % band."""
    ahead = [entry for entry in forecast.week if not entry.closed]
    if len(ahead) < 2:
        return
    days = [entry.day for entry in ahead]
    values = [float(entry.value) for entry in ahead]
    axes.plot(_on_dates(days), values, color=FORECAST_COLOR, linestyle=":", linewidth=1.4, zorder=2,
              label="Forecast, next 7 days")
    if all(entry.lower is not None and entry.upper is not None for entry in ahead):
        lows = [float(entry.lower) for entry in ahead if entry.lower is not None]
        highs = [float(entry.upper) for entry in ahead if entry.upper is not None]
        axes.fill_between(_on_dates(days), lows, highs, color=FORECAST_COLOR, alpha=0.15, linewidth=0, zorder=1,
                          label=f"{forecast.interval_level_pct}% interval, next 7 days")


def _draw_forecast(axes: Axes, forecast: run_results.Forecast, connect_from: tuple[date, float] | None,
                   currency: str | None) -> None:
    """Mark the next-trading-day forecast with its interval as an error bar, optionally tied to the last day by a
    dashed line.

    The dashed line helps read a short history; on a long one it is a few pixels lost among the interval's.
    """
    value = float(forecast.value)
    unit = f" {currency}" if currency else ""
    label = (f"Next trading day ({_plain(_shorten(forecast.method))}) {forecast.day:%a %Y-%m-%d}: "
             f"{_money(value)}{unit}")
    error = None
    if forecast.lower is not None and forecast.upper is not None:
        lower, upper = float(forecast.lower), float(forecast.upper)
        error = [[max(value - lower, 0.0)], [max(upper - value, 0.0)]]
        label += f", {forecast.interval_level_pct}% interval {_money(lower)} to {_money(upper)}"
    if connect_from is not None:
        last_day, last_revenue = connect_from
        axes.plot(
            _on_dates([last_day, forecast.day]),
            [last_revenue, value],
            color=FORECAST_COLOR,
            linestyle="--",
            linewidth=1.2,
            zorder=4,
        )
    axes.errorbar(
        _on_dates([forecast.day]),
        [value],
        yerr=error,
        fmt="D",
        color=FORECAST_COLOR,
        markersize=7,
        capsize=6,
        elinewidth=1.6,
        label=label,
        zorder=5,
    )


def _mark_extremes(axes: Axes, days: list[date], revenues: list[float], x_range: tuple[date, date]) -> None:
    """Mark and label the best and the worst day (the earliest on ties, as in report.json); one label when
    they are the same day."""
    high = max(range(len(revenues)), key=revenues.__getitem__)  # max and min keep the first of equals
    low = min(range(len(revenues)), key=revenues.__getitem__)

    def side(index: int) -> str:
        return _label_side(days[index], x_range, is_last=index == len(days) - 1)

    if high == low:
        _annotate_day(axes, days[high], revenues[high], "Highest and lowest", HIGH_COLOR, above=True, side=side(high))
        return
    _annotate_day(axes, days[high], revenues[high], "Highest", HIGH_COLOR, above=True, side=side(high))
    _annotate_day(axes, days[low], revenues[low], "Lowest", LOW_COLOR, above=False, side=side(low))


def _label_side(day: date, x_range: tuple[date, date], *, is_last: bool) -> str:
    """Where a day's label sits: to the right of the day near the left edge, centred in the middle, and to the
    left near the right edge and on the last day, where the forecast, its interval and its connector are drawn."""
    start, end = x_range
    position = (day - start).days / max((end - start).days, 1)
    if is_last or position > 0.75:
        return "left"
    return "right" if position < 0.25 else "center"


def _annotate_day(axes: Axes, day: date, revenue: float, title: str, color: str, *, above: bool, side: str) -> None:
    """Label a day with its date and amount above (or below) it, on the given side of it.

    Everything drawn is at or below the highest day and at or above the lowest, so a label beyond the day's
    marker is clear of the lines; the side keeps it inside the plot and away from the forecast.
    """
    horizontal = {"left": "right", "center": "center", "right": "left"}[side]
    dx = {"left": -LABEL_OFFSET_POINTS, "center": 0, "right": -6}[side]
    axes.plot(
        _on_dates([day]),
        [revenue],
        marker="o",
        markersize=9,
        markerfacecolor="none",
        markeredgecolor=color,
        markeredgewidth=2,
        linestyle="none",
        zorder=6,
    )
    axes.annotate(
        f"{title}: {day:%Y-%m-%d}\n{_money(revenue)}",
        xy=(day, revenue),
        xytext=(dx, LABEL_OFFSET_POINTS if above else -LABEL_OFFSET_POINTS),
        textcoords="offset points",
        ha=horizontal,
        va="bottom" if above else "top",
        fontsize=9,
        color=color,
        zorder=7,
        bbox={"boxstyle": "round,pad=0.25", "facecolor": "white", "edgecolor": color, "alpha": 0.9},
    )


def _format_revenue_axes(axes: Axes, daily: Sequence[run_results.DailyRevenue], last_day: date,
                         currency: str | None) -> None:
    """Readable dates at any period length, money ticks with separators, and room for the day labels."""
    days = [entry.day for entry in daily]
    padding = max(timedelta(days=1), (last_day - days[0]) / 50)
    axes.set_xlim(_on_dates(days[0] - padding), _on_dates(last_day + padding))
    locator = mdates.AutoDateLocator(minticks=3, maxticks=10)
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(
        mdates.ConciseDateFormatter(locator, formats=DATE_FORMATS, zero_formats=DATE_ZERO_FORMATS, show_offset=False)
    )
    _fit_y_range(axes)
    axes.yaxis.set_major_formatter(_MoneyFormatter(hide_negative=axes.dataLim.y0 >= 0))
    axes.set_ylabel(_revenue_label(currency))
    axes.grid(True, color="#E5E5E5", linewidth=0.8)
    axes.set_axisbelow(True)
    axes.set_title(_revenue_title(daily), fontsize=13, loc="left")


def _fit_y_range(axes: Axes) -> None:
    """Include zero, leave room below and above for the day labels, and give a flat series a visible range.

    Limits come from everything drawn (line, markers, forecast interval), so no element is ever clipped.
    """
    bottom, top = min(axes.dataLim.y0, 0.0), max(axes.dataLim.y1, 0.0)
    if top - bottom < 1:
        top = bottom + 1
    span = top - bottom
    axes.set_ylim(bottom - 0.15 * span, top + 0.18 * span)


def _revenue_title(daily: Sequence[run_results.DailyRevenue]) -> str:
    """The title names the period and its closed days, so a chart forwarded on its own still says what it covers."""
    title = f"Daily revenue, {_period_text(daily[0].day, daily[-1].day)}"
    closed = [entry for entry in daily if not entry.trading]
    if not closed:
        return title
    names = "".join(f", closed {calendar.day_name[day]}s" for day in _closed_weekdays(daily)[:2])
    return f"{title}: {len(daily) - len(closed):,} trading days{names or f', {len(closed):,} closed'}"


def _closed_weekdays(daily: Sequence[run_results.DailyRevenue]) -> list[int]:
    """Weekdays closed on most of their days in the period (a weekday closed for a few weeks is not named)."""
    closed = Counter(entry.day.weekday() for entry in daily if entry.closed_reason in RECURRING_CLOSURES)
    days = Counter(entry.day.weekday() for entry in daily)
    return [weekday for weekday in range(7) if 2 * closed[weekday] > days[weekday]]


def _period_text(start: date, end: date) -> str:
    """``2024-03-01 to 2024-03-10 (10 days)``; the tick labels leave the years out, so the title must carry them."""
    count = (end - start).days + 1
    if count == 1:
        return f"{start:%Y-%m-%d} (1 day)"
    return f"{start:%Y-%m-%d} to {end:%Y-%m-%d} ({count:,} days)"


# --- products chart ------------------------------------------------------------------------------------


Bar = tuple[str, float]


def _product_bars(ranked: Sequence[run_results.ProductPerformance],
                  top_n: int) -> tuple[list[Bar], Bar | None, list[Bar]]:
    """The named top products, the rest summed as one "Other (N products)" bar (None when nothing is left), and
    the products with negative revenue (returns, fees), named so that a loss never hides inside "Other"."""
    positive = [item for item in ranked if item.revenue >= 0]
    negative = sorted((item for item in ranked if item.revenue < 0), key=lambda item: (item.revenue, item.product))
    top, rest = positive[:top_n], positive[top_n:]
    named = [(_plain(_shorten(item.product)), float(item.revenue)) for item in top]
    negatives = [(_plain(_shorten(item.product)), float(item.revenue)) for item in negative[:MAX_NEGATIVE_BARS]]
    beyond = negative[MAX_NEGATIVE_BARS:]
    if beyond:
        negatives.append((f"Other negative ({len(beyond):,} products)",
                          float(sum((item.revenue for item in beyond), Decimal(0)))))
    if not rest:
        return named, None, negatives
    noun = "product" if len(rest) == 1 else "products"
    return named, (f"Other ({len(rest):,} {noun})", float(sum((item.revenue for item in rest), Decimal(0)))), negatives


def _shorten(name: str, limit: int = MAX_NAME_CHARS) -> str:
    """Collapse whitespace (exports carry no-break spaces) and cut long names in the middle.

    The end of a name often tells variants apart ("..., 2nd Generation, Magenta" and "..., White"), so the last
    word or so is kept after the ellipsis instead of being cut off with the rest.
    """
    clean = " ".join(name.split())
    if len(clean) <= limit:
        return clean
    tail = clean[-(limit // 3) - 1 :]
    if " " in tail:  # start the kept end at a word, with its space
        tail = tail[tail.index(" ") :]
    return clean[: limit - len(tail) - 1].rstrip() + ELLIPSIS + tail


def _draw_products(axes: Axes, named: list[Bar], other: Bar | None, negatives: list[Bar]) -> None:
    """Horizontal bars, largest on top; the "Other" bar grey after the named ones, negative products last in red."""
    bars = named + ([other] if other else []) + negatives
    labels, values = [label for label, _ in bars], [value for _, value in bars]
    named_values = [value for _, value in named + negatives] or [0.0]
    cut = other is not None and _other_is_cut(named_values, other[1])
    positions = range(len(bars))
    colors = [DAILY_COLOR] * len(named) + [OTHER_COLOR] * (other is not None) + [NEGATIVE_COLOR] * len(negatives)
    drawn = axes.barh(positions, values, height=0.65, color=colors)
    axes.set_yticks(positions, labels, fontsize=10)
    axes.invert_yaxis()
    value_labels = [_money(value) for value in values]
    if cut:
        value_labels[len(named)] = ""
    axes.bar_label(drawn, labels=value_labels, padding=4, fontsize=9)
    _pad_for_value_labels(axes, named_values if cut else values)
    if cut and other is not None:
        _label_cut_bar(axes, drawn.patches[len(named)], _money(other[1]))
    _style_value_axis(axes, values)


def _other_is_cut(named_values: list[float], other_value: float) -> bool:
    """With many products "Other" dwarfs the top ones; then the axis is scaled to the named bars and it is cut."""
    largest = max(abs(value) for value in named_values)
    return largest > 0 and other_value > OTHER_CUT_RATIO * largest


def _label_cut_bar(axes: Axes, bar: Rectangle, value_label: str) -> None:
    """Hatch the cut "Other" bar and write its true value inside it, so the shortening is never hidden."""
    bar.set_hatch("//")
    bar.set_edgecolor("white")
    right = axes.get_xlim()[1]
    axes.annotate(
        f"{value_label} (bar not to scale)",
        xy=(right, bar.get_y() + bar.get_height() / 2),
        xytext=(-6, 0),
        textcoords="offset points",
        ha="right",
        va="center",
        fontsize=9,
        annotation_clip=False,
        bbox={"boxstyle": "round,pad=0.25", "facecolor": "white", "edgecolor": OTHER_COLOR},
    )


def _pad_for_value_labels(axes: Axes, values: list[float]) -> None:
    """Leave room past the longest bar (either sign) so its value label is not cut off by the axes edge."""
    highest, lowest = max(max(values), 0.0), min(min(values), 0.0)
    room = 0.22 * ((highest - lowest) or 1.0)
    axes.set_xlim(lowest - (room if lowest < 0 else 0.0), highest + room)


def _style_value_axis(axes: Axes, values: list[float]) -> None:
    """Money ticks with separators and a light grid; top and right frame lines only add clutter."""
    axes.xaxis.set_major_formatter(_MoneyFormatter(hide_negative=min(values) >= 0))
    axes.grid(True, axis="x", color="#E5E5E5", linewidth=0.8)
    axes.set_axisbelow(True)
    axes.axvline(0, color="gray", linewidth=0.8)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)


def _products_title(product_count: int, top_n: int, period: run_results.Period | None) -> str:
    """Say how many products are shown out of how many, so the "Other" bar is not a surprise, and over which days."""
    if product_count <= top_n:
        noun = "product" if product_count == 1 else "products"
        title = f"Revenue by product ({product_count:,} {noun})"
    else:
        title = f"Top {top_n:,} of {product_count:,} products by revenue"
    if period is None or period.start is None or period.end is None:
        return title
    return f"{title}, {_period_text(period.start, period.end)}"


def _on_dates(days: object) -> Any:
    """Dates for matplotlib's x axis as they are: matplotlib converts them itself (its date units), though its
    type hints only name numbers."""
    return days
