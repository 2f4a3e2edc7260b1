"""Plausibility warnings about what a run loaded: values inside the gate's bounds that still look wrong.

Not rejections (a shop may open a new branch, or sell a car once): warnings in report.json's
``data_quality.warnings`` and in the log, so that a reader looks before trusting the figures.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import psycopg2.extensions

from autosight.run_results import QualityWarning
from logger_config import get_logger

log = get_logger(__name__)

FAR_FROM_HISTORY_DAYS = 365  # a file whose dates lie this far before or after everything else loaded
MANY_YEARS_DAYS = 5 * 365  # a file whose dates span more than this
PRODUCT_JUMP_FACTOR = 5  # a file with this many times the products of an average earlier file...
PRODUCT_JUMP_MIN = 50  # ... and at least this many more
OUTLIER_FACTOR = Decimal(100)  # a day's revenue 100 times (or a hundredth of) its weekday's median
OUTLIER_MIN_DAYS = 8  # weekdays with fewer days of history have no meaningful median
MAX_OUTLIER_DAYS = 5  # days named one by one; the others are counted


def plausibility_warnings(cursor: psycopg2.extensions.cursor, file_ids: list[int]) -> list[QualityWarning]:
    """Warnings about the files loaded in this run (``file_ids``), measured against everything else loaded."""
    warnings: list[QualityWarning] = []
    for file_id in file_ids:
        warnings += _date_warnings(cursor, file_id) + _product_warnings(cursor, file_id)
    if file_ids:
        warnings += _outlier_days(cursor, file_ids)
    for warning in warnings:
        log.warning("plausibility: %s: %s", warning.code, warning.message)
    return warnings


def _file_name(cursor: psycopg2.extensions.cursor, file_id: int) -> str:
    cursor.execute("SELECT source_path FROM loaded_files WHERE file_id = %s", (file_id,))
    return str(cursor.fetchone()[0])


def _date_warnings(cursor: psycopg2.extensions.cursor, file_id: int) -> list[QualityWarning]:
    cursor.execute("SELECT min(sale_date), max(sale_date) FROM sales_daily_product WHERE file_id = %s", (file_id,))
    first, last = cursor.fetchone()
    if first is None:
        return []
    warnings = []
    name = _file_name(cursor, file_id)
    if (last - first).days > MANY_YEARS_DAYS:
        warnings.append(QualityWarning("dates_span_many_years",
                                       f"{name}: its dates span {first} to {last}, over {MANY_YEARS_DAYS // 365} "
                                       "years: check the date column and format"))
    cursor.execute("SELECT min(d.sale_date), max(d.sale_date) FROM sales_daily_product d"
                   " JOIN loaded_files f USING (file_id) WHERE f.status = 'active' AND d.file_id <> %s", (file_id,))
    history_first, history_last = cursor.fetchone()
    if history_first is not None and _days_apart(first, last, history_first, history_last) > FAR_FROM_HISTORY_DAYS:
        warnings.append(QualityWarning("dates_far_from_history",
                                       f"{name}: its dates ({first} to {last}) lie over a year away from the rest "
                                       f"of the history ({history_first} to {history_last})"))
    return warnings


def _days_apart(first: date, last: date, history_first: date, history_last: date) -> int:
    return max((first - history_last).days, (history_first - last).days, 0)


def _product_warnings(cursor: psycopg2.extensions.cursor, file_id: int) -> list[QualityWarning]:
    cursor.execute(
        "WITH per_file AS (SELECT d.file_id, count(DISTINCT d.product_name) AS products FROM sales_daily_product d"
        " JOIN loaded_files f USING (file_id) WHERE f.status = 'active' GROUP BY d.file_id)"
        " SELECT (SELECT products FROM per_file WHERE file_id = %s),"
        " (SELECT avg(products) FROM per_file WHERE file_id <> %s)", (file_id, file_id))
    products, average = cursor.fetchone()
    if products is None or average is None or products <= max(average * PRODUCT_JUMP_FACTOR,
                                                               average + PRODUCT_JUMP_MIN):
        return []
    return [QualityWarning("product_count_jump",
                           f"{_file_name(cursor, file_id)}: {products} distinct products, against "
                           f"{average:.0f} in an average earlier file: check the product column (--map)")]


def _outlier_days(cursor: psycopg2.extensions.cursor, file_ids: list[int]) -> list[QualityWarning]:
    """Days of this run's files whose revenue is OUTLIER_FACTOR times above or below their weekday's median."""
    cursor.execute(
        "WITH daily AS (SELECT d.sale_date, sum(d.revenue) AS revenue FROM sales_daily_product d"
        "  JOIN loaded_files f USING (file_id) WHERE f.status = 'active' GROUP BY d.sale_date),"
        " medians AS (SELECT extract(isodow FROM sale_date) AS weekday, count(*) AS days,"
        "  percentile_cont(0.5) WITHIN GROUP (ORDER BY revenue) AS median FROM daily WHERE revenue > 0"
        "  GROUP BY 1)"
        " SELECT y.sale_date, y.revenue, m.median::numeric FROM daily y"
        " JOIN medians m ON m.weekday = extract(isodow FROM y.sale_date)"
        " WHERE m.days >= %s AND m.median > 0 AND (y.revenue > m.median::numeric * %s OR y.revenue * %s < m.median)"
        " AND y.sale_date IN (SELECT sale_date FROM sales_daily_product WHERE file_id = ANY(%s))"
        " ORDER BY y.sale_date", (OUTLIER_MIN_DAYS, OUTLIER_FACTOR, OUTLIER_FACTOR, file_ids))
    rows = cursor.fetchall()
    warnings = [QualityWarning("revenue_outlier_day",
                               f"{day}: revenue {revenue:,.2f} against a median of {median:,.2f} for its weekday "
                               f"(over {OUTLIER_FACTOR:.0f} times off): check that day's prices and quantities")
                for day, revenue, median in rows[:MAX_OUTLIER_DAYS]]
    if len(rows) > MAX_OUTLIER_DAYS:
        warnings.append(QualityWarning("revenue_outlier_day",
                                       f"and {len(rows) - MAX_OUTLIER_DAYS} more such days (see the log level DEBUG)"))
    return warnings
