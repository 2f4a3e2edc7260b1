"""Plausibility warnings about what a run loaded: values inside the gate's bounds that still look wrong.

Not rejections (a shop may open a new branch, or sell a car once): warnings in report.json's
``data_quality.warnings`` and in the log, so that a reader looks before trusting the figures.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
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
    """Warnings about the files loaded in this run (``file_ids``), measured against everything else loaded.

    Every active file's shape is read in one query and compared in Python, so that a first load of thousands
    of files costs one scan of the rollup, not one per file.
    """
    warnings: list[QualityWarning] = []
    if file_ids:
        shapes = _active_file_shapes(cursor)
        history = _History(shapes)
        names = _file_names(cursor, file_ids)
        for file_id in file_ids:
            if file_id in shapes:
                warnings += _file_warnings(names[file_id], file_id, shapes[file_id], history)
        warnings += _outlier_days(cursor, file_ids)
    for warning in warnings:
        log.warning("plausibility: %s: %s", warning.code, warning.message)
    return warnings


@dataclass(frozen=True)
class _FileShape:
    first: date
    last: date
    products: int


class _History:
    """What the other active files span and hold, for any one file: kept as the two earliest first days, the two
    latest last days and the product total, so that leaving one file out costs nothing."""

    def __init__(self, shapes: dict[int, _FileShape]) -> None:
        self._firsts = heapq.nsmallest(2, ((shape.first, file_id) for file_id, shape in shapes.items()))
        self._lasts = heapq.nlargest(2, ((shape.last, file_id) for file_id, shape in shapes.items()))
        self._products = sum(shape.products for shape in shapes.values())
        self._files = len(shapes)

    def span_without(self, file_id: int) -> tuple[date, date] | None:
        firsts = [day for day, owner in self._firsts if owner != file_id]
        lasts = [day for day, owner in self._lasts if owner != file_id]
        return (firsts[0], lasts[0]) if firsts and lasts else None

    def average_products_without(self, file_id: int, products: int) -> Decimal | None:
        return Decimal(self._products - products) / (self._files - 1) if self._files > 1 else None


def _active_file_shapes(cursor: psycopg2.extensions.cursor) -> dict[int, _FileShape]:
    """Every active file's first and last day and its product count. The rollup holds the active loads only (a
    replaced load's rows are deleted with it, a refused one never has any), as the analysis relies on too."""
    cursor.execute("SELECT file_id, min(sale_date), max(sale_date), count(DISTINCT product_name)"
                   " FROM sales_daily_product GROUP BY file_id")
    return {file_id: _FileShape(first, last, int(products)) for file_id, first, last, products in cursor.fetchall()}


def _file_names(cursor: psycopg2.extensions.cursor, file_ids: list[int]) -> dict[int, str]:
    cursor.execute("SELECT file_id, source_path FROM loaded_files WHERE file_id = ANY(%s)", (file_ids,))
    return {file_id: str(path) for file_id, path in cursor.fetchall()}


def _file_warnings(name: str, file_id: int, shape: _FileShape, history: _History) -> list[QualityWarning]:
    warnings = []
    if (shape.last - shape.first).days > MANY_YEARS_DAYS:
        warnings.append(QualityWarning("dates_span_many_years",
                                       f"{name}: its dates span {shape.first} to {shape.last}, over "
                                       f"{MANY_YEARS_DAYS // 365} years: check the date column and format"))
    span = history.span_without(file_id)
    if span is not None and _days_apart(shape.first, shape.last, *span) > FAR_FROM_HISTORY_DAYS:
        warnings.append(QualityWarning("dates_far_from_history",
                                       f"{name}: its dates ({shape.first} to {shape.last}) lie over a year away "
                                       f"from the rest of the history ({span[0]} to {span[1]})"))
    average = history.average_products_without(file_id, shape.products)
    if average is not None and shape.products > max(average * PRODUCT_JUMP_FACTOR, average + PRODUCT_JUMP_MIN):
        warnings.append(QualityWarning("product_count_jump",
                                       f"{name}: {shape.products} distinct products, against {average:.0f} in an "
                                       "average earlier file: check the product column (--map)"))
    return warnings


def _days_apart(first: date, last: date, history_first: date, history_last: date) -> int:
    return max((first - history_last).days, (history_first - last).days, 0)


def _outlier_days(cursor: psycopg2.extensions.cursor, file_ids: list[int]) -> list[QualityWarning]:
    """Days of this run's files whose revenue is OUTLIER_FACTOR times above or below their weekday's median (over
    every day of the active loads: the rollup, see ``_active_file_shapes``)."""
    cursor.execute(
        "WITH daily AS (SELECT sale_date, sum(revenue) AS revenue FROM sales_daily_product GROUP BY sale_date),"
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
