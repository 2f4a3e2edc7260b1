"""Aggregation in PostgreSQL and day-over-day trends.

Python receives aggregates only: the per-day and per-product sums come from the
``sales_daily_product`` rollup maintained at ingestion, so the cost of this step grows with days x
products, not with the number of sales.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import psycopg2.extensions

from analysis_types import AnalysisResult, DailyRevenue, Period, ProductPerformance, TrendDay
from logger_config import get_logger

log = get_logger(__name__)

STRONG_GROWTH = "Strong Growth"
MODERATE_GROWTH = "Moderate Growth"
NO_CHANGE = "No Change"
DECLINE = "Decline"
NO_BASELINE = "No Baseline"
TREND_LABELS = (STRONG_GROWTH, MODERATE_GROWTH, NO_CHANGE, DECLINE, NO_BASELINE)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class PeriodFilter:
    """Which days a report covers: --from/--to, or the last N days of the data (--days)."""

    start: date | None = None
    end: date | None = None
    last_days: int | None = None


def analyze(connection: psycopg2.extensions.connection, period_filter: PeriodFilter,
            strong_growth_pct: Decimal) -> AnalysisResult:
    with connection, connection.cursor() as cursor:
        period = _period(cursor, period_filter)
        if period.start is None or period.end is None:
            return AnalysisResult(Period(None, None), [], [], [], strong_growth_pct)
        daily = _daily(cursor, period)
        products = _products(cursor, period)
    trends = classify_trends([(day.day, day.revenue) for day in daily], strong_growth_pct)
    return AnalysisResult(
        period=period, daily=daily, products=products, trends=trends, strong_growth_pct=strong_growth_pct,
        total_revenue=sum((day.revenue for day in daily), Decimal("0.00")),
        total_quantity=sum(day.quantity for day in daily),
        transactions=sum(day.transactions for day in daily),
    )


def _period(cursor: psycopg2.extensions.cursor, period_filter: PeriodFilter) -> Period:
    cursor.execute("SELECT min(sale_date), max(sale_date) FROM sales_daily_product")
    first, last = cursor.fetchone()
    if first is None:
        return Period(None, None)
    end = min(period_filter.end or last, last)
    start = max(period_filter.start or first, first)
    if period_filter.last_days is not None:
        start = max(start, end - timedelta(days=period_filter.last_days - 1))
    if start > end:
        return Period(None, None)
    return Period(start, end)


def _daily(cursor: psycopg2.extensions.cursor, period: Period) -> list[DailyRevenue]:
    """Every calendar day of the period; a day without sales has revenue 0."""
    cursor.execute(
        "SELECT d::date, coalesce(sum(r.revenue), 0)::numeric(20,2), coalesce(sum(r.quantity), 0),"
        " coalesce(sum(r.transactions), 0)"
        " FROM generate_series(%s::date, %s::date, interval '1 day') AS d"
        " LEFT JOIN sales_daily_product r ON r.sale_date = d::date"
        " GROUP BY d ORDER BY d",
        (period.start, period.end),
    )
    return [DailyRevenue(day, revenue, int(quantity), int(transactions))
            for day, revenue, quantity, transactions in cursor.fetchall()]


def _products(cursor: psycopg2.extensions.cursor, period: Period) -> list[ProductPerformance]:
    """Products by revenue; share of the period's revenue (null when the total is not positive)."""
    cursor.execute(
        "WITH p AS (SELECT product_name, sum(quantity) AS quantity, sum(revenue) AS revenue"
        "  FROM sales_daily_product WHERE sale_date BETWEEN %s AND %s GROUP BY product_name)"
        " SELECT product_name, quantity, revenue,"
        "  CASE WHEN sum(revenue) OVER () > 0 THEN round(revenue * 100 / sum(revenue) OVER (), 2) END,"
        "  rank() OVER (ORDER BY revenue DESC)"
        " FROM p ORDER BY revenue DESC, product_name",
        (period.start, period.end),
    )
    return [ProductPerformance(name, int(quantity), revenue, share, int(rank))
            for name, quantity, revenue, share, rank in cursor.fetchall()]


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


def classify_trends(series: list[tuple[date, Decimal]], strong_growth_pct: Decimal) -> list[TrendDay]:
    """The trend of every day against the day before (the first day has no baseline)."""
    trends = []
    previous: Decimal | None = None
    for day, revenue in series:
        change, label = day_over_day(revenue, previous, strong_growth_pct)
        trends.append(TrendDay(day, revenue, change, label))
        previous = revenue
    return trends
