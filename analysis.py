"""Aggregation in PostgreSQL, the trading calendar, trends over trading days, summary and comparisons.

Python receives aggregates only: the per-day and per-product sums come from the
``sales_daily_product`` rollup maintained at ingestion, so the cost of this step grows with days x
products, not with the number of sales.

The report period is the requested range (``--from/--to``, ``--days``) clipped to the days that have
data: days before the first sale or after the last one are unknown, not closed, so they are not
counted as zero days.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import psycopg2.extensions

from autosight.run_results import (
    CENT,
    CLOSED,
    DECLINE,
    MODERATE_GROWTH,
    NO_BASELINE,
    NO_CHANGE,
    NO_SALES_ON_TRADING_DAY,
    SALES_ON_CLOSED_DAY,
    STRONG_GROWTH,
    AnalysisResult,
    DailyRevenue,
    DataWarning,
    Forecast,
    Period,
    PeriodComparison,
    ProductPerformance,
    Span,
    TrendDay,
)
from autosight.trading_calendar import WEEKDAY_NAMES, CalendarRules, build_calendar
from forecasting import forecast_from_analysis
from logger_config import get_logger
from settings import Settings

log = get_logger(__name__)
WEEK = 7


@dataclass(frozen=True)
class PeriodFilter:
    """Which days a report covers: --from/--to, or the last N days of the data (--days)."""

    start: date | None = None
    end: date | None = None
    last_days: int | None = None


TOP_PRODUCTS_FORECAST = 10  # products with a week-ahead forecast in the report (stock planning)
# Days of each top product's history read for its forecast: the nested backtest and Holt-Winters use the last
# ~200 trading days, so a year is enough, and a 10-year history does not make the report slower.
PRODUCT_HISTORY_DAYS = 366


def analyze(connection: psycopg2.extensions.connection, period_filter: PeriodFilter,
            strong_growth_pct: Decimal, rules: CalendarRules | None = None) -> AnalysisResult:
    """Daily series on the trading calendar, products, trends, summary and comparisons of the period.

    Everything is read from the rollup in one snapshot. The calendar is built over the whole history (a closed
    weekday is detected from it), and trends run over it too, so the period's first day is compared with the
    trading day before it even when that lies before the period. A period with no data gives the empty result.
    """
    rules = rules or CalendarRules()
    with connection, connection.cursor() as cursor:
        _one_snapshot(cursor)
        first_day, last_day, period = _period(cursor, period_filter)
        log.info("analysis period %s..%s (%d days; filter %s)", period.start, period.end, period.days, period_filter)
        if first_day is None or period.start is None or period.end is None:
            return AnalysisResult(Period(None, None), [], [], [], strong_growth_pct)
        every_day = _daily(cursor, Period(first_day, last_day))
        products = _products(cursor, period)
        product_histories = _product_histories(
            cursor, products[:TOP_PRODUCTS_FORECAST],
            Period(max(first_day, period.end - timedelta(days=PRODUCT_HISTORY_DAYS - 1)), period.end))
    # The calendar is built from every day of the data: a --to that ends on a closed Monday still sees the Mondays
    # after it, which make it a closed weekday. History, trends and forecast stop at the period's end.
    calendar = build_calendar(first_day, [day.day for day in every_day if day.transactions > 0], rules)
    raw_history = every_day[:(period.end - first_day).days + 1]
    # Only closed days change (a day is read with no reason): ten years of days are not all copied.
    history = [day if (reason := calendar.reason(day.day)) is None else replace(day, closed_reason=reason)
               for day in raw_history]
    all_trends = classify_trends(history, strong_growth_pct)
    in_period = slice(len(history) - period.days, len(history))
    daily, trends = history[in_period], all_trends[in_period]
    return AnalysisResult(
        period=period, daily=daily, products=products, trends=trends, strong_growth_pct=strong_growth_pct,
        total_revenue=sum((day.revenue for day in daily), Decimal("0.00")),
        total_quantity=sum(day.quantity for day in daily),
        transactions=sum(day.transactions for day in daily), history=history, calendar=calendar,
        periods=period_comparisons(history, period),
        warnings=[*no_sales_warnings(daily), *closed_setting_warnings(daily, rules)],
        product_histories=product_histories,
    )


def _one_snapshot(cursor: psycopg2.extensions.cursor) -> None:
    """Read every aggregate from one snapshot, so that totals, days and products agree with each other
    even if a file is loaded meanwhile. Only possible at the start of a transaction: otherwise the
    caller's transaction is used as it is."""
    if cursor.connection.info.transaction_status == psycopg2.extensions.TRANSACTION_STATUS_IDLE:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")


def _period(cursor: psycopg2.extensions.cursor,
            period_filter: PeriodFilter) -> tuple[date | None, date | None, Period]:
    """(the data's first day, its last day, the requested days clipped to them);
    Period(None, None) when no day is left."""
    cursor.execute("SELECT min(sale_date), max(sale_date) FROM sales_daily_product")
    first, last = cursor.fetchone()
    if first is None:
        return None, None, Period(None, None)
    end = min(period_filter.end or last, last)
    start = max(period_filter.start or first, first)
    if period_filter.last_days is not None:
        start = max(start, end - timedelta(days=period_filter.last_days - 1))
    if start > end:
        return first, last, Period(None, None)
    return first, last, Period(start, end)


def _daily(cursor: psycopg2.extensions.cursor, period: Period) -> list[DailyRevenue]:
    """Every calendar day of the period; a day without sales has revenue 0.

    The calendar is date + integer, not a timestamp series: a series of timestamps follows the session
    time zone, and where daylight saving time skips midnight it loses the period's last day.
    """
    cursor.execute(
        "WITH r AS (SELECT sale_date, sum(revenue) AS revenue, sum(quantity) AS quantity,"
        "  sum(transactions) AS transactions FROM sales_daily_product"
        "  WHERE sale_date BETWEEN %(start)s AND %(end)s GROUP BY sale_date)"
        " SELECT d.day, coalesce(r.revenue, 0.00), coalesce(r.quantity, 0), coalesce(r.transactions, 0)"
        " FROM (SELECT %(start)s::date + n AS day FROM generate_series(0, %(end)s::date - %(start)s::date) AS n) AS d"
        " LEFT JOIN r ON r.sale_date = d.day ORDER BY d.day",
        {"start": period.start, "end": period.end},
    )
    return [DailyRevenue(day, revenue, int(quantity), int(transactions))
            for day, revenue, quantity, transactions in cursor.fetchall()]


def _products(cursor: psycopg2.extensions.cursor, period: Period) -> list[ProductPerformance]:
    """Products by revenue; share of the period's revenue (null when the total is not positive).

    Ties share a rank and are listed by name in code-point order (COLLATE "C"), so that the report is
    the same on every server whatever its locale.
    """
    cursor.execute(
        "WITH p AS (SELECT product_name, sum(quantity) AS quantity, sum(revenue) AS revenue"
        "  FROM sales_daily_product WHERE sale_date BETWEEN %s AND %s GROUP BY product_name)"
        " SELECT product_name, quantity, revenue,"
        "  CASE WHEN sum(revenue) OVER () > 0 THEN round(revenue * 100 / sum(revenue) OVER (), 2) END,"
        "  rank() OVER (ORDER BY revenue DESC)"
        ' FROM p ORDER BY revenue DESC, product_name COLLATE "C"',
        (period.start, period.end),
    )
    return [ProductPerformance(name, int(quantity), revenue, share, int(rank))
            for name, quantity, revenue, share, rank in cursor.fetchall()]


def _product_histories(cursor: psycopg2.extensions.cursor, products: list[ProductPerformance],
                       history: Period) -> dict[str, list[Decimal]]:
    """Daily revenue of each of ``products`` over every day of ``history`` (0 where it did not sell)."""
    names = [product.product for product in products]
    if not names or history.start is None:
        return {}
    cursor.execute(
        "SELECT product_name, sale_date, sum(revenue) FROM sales_daily_product"
        " WHERE product_name = ANY(%s) AND sale_date BETWEEN %s AND %s GROUP BY product_name, sale_date",
        (names, history.start, history.end),
    )
    series = {name: [Decimal("0.00")] * history.days for name in names}
    for name, day, revenue in cursor.fetchall():
        series[name][(day - history.start).days] = revenue
    return series


def day_over_day(today: Decimal, yesterday: Decimal | None, strong_growth_pct: Decimal) -> tuple[Decimal | None, str]:
    """(change %, trend label) per PRODUCT.md.

    The label is decided on the change as reported (rounded to 2 decimals), so a reader can check
    it against the threshold.
    """
    if yesterday is None:
        return None, NO_BASELINE
    if yesterday <= 0:
        return (Decimal("0.00"), NO_CHANGE) if yesterday == 0 and today == 0 else (None, NO_BASELINE)
    change = ((today - yesterday) / yesterday * 100).quantize(CENT, rounding=ROUND_HALF_UP)
    if change > strong_growth_pct:
        return change, STRONG_GROWTH
    if change > 0:
        return change, MODERATE_GROWTH
    if change == 0:
        return change, NO_CHANGE
    return change, DECLINE


def classify_trends(history: Sequence[DailyRevenue], strong_growth_pct: Decimal) -> list[TrendDay]:
    """The trend of every day: against the previous trading day (PRODUCT.md), and week over week.

    Closed days get no change and the label ``Closed``; the first trading day of the data has no baseline.
    ``history`` is a gap-free calendar from the first day of the data.
    """
    trends: list[TrendDay] = []
    previous: Decimal | None = None
    trading_revenue: dict[date, Decimal] = {}
    for entry in history:
        if not entry.trading:
            trends.append(TrendDay(entry.day, entry.revenue, None, CLOSED))
            continue
        change, label = day_over_day(entry.revenue, previous, strong_growth_pct)
        week_ago = trading_revenue.get(entry.day - timedelta(days=WEEK))
        trends.append(TrendDay(entry.day, entry.revenue, change, label, percent_change(entry.revenue, week_ago)))
        trading_revenue[entry.day] = previous = entry.revenue
    return trends


def percent_change(current: Decimal, earlier: Decimal | None) -> Decimal | None:
    """(current - earlier) / earlier * 100 to 2 decimals; None without a positive baseline."""
    if earlier is None or earlier <= 0:
        return None
    return ((current - earlier) / earlier * 100).quantize(CENT, rounding=ROUND_HALF_UP)


def period_comparisons(history: Sequence[DailyRevenue], period: Period) -> list[PeriodComparison]:
    """Last 7 days vs the 7 before, month to date vs the same days of the previous month, and the period vs
    the same dates a year earlier; an earlier stretch the history does not fully cover is left out (null)."""
    if period.start is None or period.end is None:
        return []
    end = period.end
    month_start = end.replace(day=1)
    previous_month_start = (month_start - timedelta(days=1)).replace(day=1)
    previous_month_end = _same_day_clamped(previous_month_start, end.day)
    stretches = [
        ("last_7_days", (end - timedelta(days=6), end), (end - timedelta(days=13), end - timedelta(days=7))),
        ("month_to_date", (month_start, end), (previous_month_start, previous_month_end)),
        ("year_over_year", (period.start, end), (_year_earlier(period.start), _year_earlier(end))),
    ]
    by_day = {entry.day: entry for entry in history}
    return [_compare(name, current, previous, by_day) for name, current, previous in stretches]


def _compare(name: str, current: tuple[date, date], previous: tuple[date, date],
             by_day: dict[date, DailyRevenue]) -> PeriodComparison:
    """The current stretch's figures are those of its days in the history (a month to date that began before the
    first sale holds the sales since then, not 0); the earlier stretch counts only when the history covers it."""
    now = _span(*current, by_day)
    before = _span(*previous, by_day) if previous[0] in by_day else None
    return PeriodComparison(name, now, before, percent_change(now.revenue, before.revenue) if before else None)


def _span(start: date, end: date, by_day: dict[date, DailyRevenue]) -> Span:
    """The stretch's revenue and trading days, over those of its days the history holds."""
    days = [day for offset in range((end - start).days + 1) if (day := by_day.get(start + timedelta(days=offset)))]
    return Span(start, end, sum((day.revenue for day in days), Decimal("0.00")), sum(day.trading for day in days))


def _same_day_clamped(month_start: date, day: int) -> date:
    """``day`` of ``month_start``'s month, or its last day when the month is shorter (March 31 -> Feb 28)."""
    next_month = (month_start + timedelta(days=32)).replace(day=1)
    return min(month_start.replace(day=1) + timedelta(days=day - 1), next_month - timedelta(days=1))


def _year_earlier(day: date) -> date:
    """The same date a year earlier; February 29 becomes February 28."""
    return day.replace(year=day.year - 1, day=28) if (day.month, day.day) == (2, 29) else day.replace(year=day.year - 1)


def no_sales_warnings(daily: Sequence[DailyRevenue]) -> list[DataWarning]:
    """A trading day without a single sale: usually an export that did not arrive."""
    return [
        DataWarning(NO_SALES_ON_TRADING_DAY, day.day,
                    f"no sales on {day.day:%A} {day.day.isoformat()}, a trading day: counted as 0 "
                    "(is an export missing? If the shop was closed, list the day in CLOSED_DATES)")
        for day in daily if day.trading and day.transactions == 0
    ]


def closed_setting_warnings(daily: Sequence[DailyRevenue], rules: CalendarRules) -> list[DataWarning]:
    """Sales on a day the settings call closed: the day counts as a trading day, but the week ahead forecasts the
    weekday (or date) at 0, so a wrong setting is worth a look. One warning per listed date, and one per weekday
    (with its latest such day), so that a weekday listed by mistake does not give a warning a week for years."""
    sold = [day for day in daily if day.transactions > 0]
    warnings = [DataWarning(SALES_ON_CLOSED_DAY, day.day,
                            f"sales on {day.day.isoformat()}, listed in CLOSED_DATES: counted as a trading day")
                for day in sold if day.day in rules.closed_dates]
    for weekday in sorted(rules.closed_weekdays or ()):
        on_weekday = [day.day for day in sold if day.day.weekday() == weekday and day.day not in rules.closed_dates]
        if on_weekday:
            name = WEEKDAY_NAMES[weekday]
            warnings.append(DataWarning(
                SALES_ON_CLOSED_DAY, on_weekday[-1],
                f"sales on {len(on_weekday)} {name}(s) of the period (the latest {on_weekday[-1].isoformat()}), though "
                f"CLOSED_WEEKDAYS lists {name}: counted as trading days, and {name}s ahead are forecast 0 "
                "(is CLOSED_WEEKDAYS right?)"))
    return warnings


def analyze_and_forecast(connection: psycopg2.extensions.connection, period_filter: PeriodFilter,
                         settings: Settings) -> tuple[AnalysisResult, Forecast]:
    """Every figure of a report for a period: the analysis and its forecasts, with the settings' calendar.

    The one entry point for whatever shows these figures (report.json, the API, the dashboard), so that they
    agree with each other.
    """
    analysis = analyze(connection, period_filter, settings.strong_growth_pct, settings.calendar_rules)
    return analysis, forecast_from_analysis(analysis, settings.ma_window, settings.backtest_days)
