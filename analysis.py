"""Aggregation in PostgreSQL and day-over-day trends.

Python receives aggregates only: the per-day and per-product sums come from the
``sales_daily_product`` rollup maintained at ingestion, so the cost of this step grows with days x
products, not with the number of sales.

The report period is the requested range (``--from/--to``, ``--days``) clipped to the days that have
data: days before the first sale or after the last one are unknown, not closed, so they are not
counted as zero days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import psycopg2.extensions

from analysis_types import (
    CENT,
    DECLINE,
    MODERATE_GROWTH,
    NO_BASELINE,
    NO_CHANGE,
    STRONG_GROWTH,
    AnalysisResult,
    DailyRevenue,
    Period,
    ProductPerformance,
    TrendDay,
)
from logger_config import get_logger

log = get_logger(__name__)



@dataclass(frozen=True)
class PeriodFilter:
    """Which days a report covers: --from/--to, or the last N days of the data (--days)."""

    start: date | None = None
    end: date | None = None
    last_days: int | None = None


def analyze(connection: psycopg2.extensions.connection, period_filter: PeriodFilter,
            strong_growth_pct: Decimal) -> AnalysisResult:
    """Daily series, products and trends of the period, read from the rollup.

    A period with no data (empty database, or a filter outside the data) gives the empty result.
    """
    with connection, connection.cursor() as cursor:
        _one_snapshot(cursor)
        first_day, period = _period(cursor, period_filter)
        log.info("analysis period %s..%s (%d days; filter %s)", period.start, period.end, period.days, period_filter)
        if period.start is None or period.end is None:
            return AnalysisResult(Period(None, None), [], [], [], strong_growth_pct)
        daily = _daily(cursor, period)
        history = daily if period.start == first_day else _daily(cursor, Period(first_day, period.end))
        products = _products(cursor, period)
        baseline = _revenue_before(cursor, period.start)
    trends = classify_trends([(day.day, day.revenue) for day in daily], strong_growth_pct, baseline)
    return AnalysisResult(
        period=period, daily=daily, products=products, trends=trends, strong_growth_pct=strong_growth_pct,
        total_revenue=sum((day.revenue for day in daily), Decimal("0.00")),
        total_quantity=sum(day.quantity for day in daily),
        transactions=sum(day.transactions for day in daily), history=history,
    )


def _one_snapshot(cursor: psycopg2.extensions.cursor) -> None:
    """Read every aggregate from one snapshot, so that totals, days and products agree with each other
    even if a file is loaded meanwhile. Only possible at the start of a transaction: otherwise the
    caller's transaction is used as it is."""
    if cursor.connection.info.transaction_status == psycopg2.extensions.TRANSACTION_STATUS_IDLE:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")


def _period(cursor: psycopg2.extensions.cursor, period_filter: PeriodFilter) -> tuple[date | None, Period]:
    """(the data's first day, the requested days clipped to the data's first and last day);
    Period(None, None) when no day is left."""
    cursor.execute("SELECT min(sale_date), max(sale_date) FROM sales_daily_product")
    first, last = cursor.fetchone()
    if first is None:
        return None, Period(None, None)
    end = min(period_filter.end or last, last)
    start = max(period_filter.start or first, first)
    if period_filter.last_days is not None:
        start = max(start, end - timedelta(days=period_filter.last_days - 1))
    if start > end:
        return first, Period(None, None)
    return first, Period(start, end)


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


def _revenue_before(cursor: psycopg2.extensions.cursor, day: date) -> Decimal | None:
    """Revenue of the day before ``day``: the first day's baseline when the period starts after the data does.

    None when there is no data before ``day`` (that day is unknown, not closed).
    """
    cursor.execute(
        "SELECT CASE WHEN EXISTS (SELECT 1 FROM sales_daily_product WHERE sale_date < %(day)s)"
        " THEN (SELECT coalesce(sum(revenue), 0.00) FROM sales_daily_product"
        "       WHERE sale_date = %(day)s::date - 1) END",
        {"day": day},
    )
    return cursor.fetchone()[0]


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


def classify_trends(series: list[tuple[date, Decimal]], strong_growth_pct: Decimal,
                    baseline: Decimal | None = None) -> list[TrendDay]:
    """The trend of every day against the day before; ``baseline`` is the revenue of the day before the first.

    Without a baseline (the first day of the data) the first day has no change.
    """
    trends: list[TrendDay] = []
    previous = baseline
    for day, revenue in series:
        change, label = day_over_day(revenue, previous, strong_growth_pct)
        trends.append(TrendDay(day, revenue, change, label))
        previous = revenue
    return trends
