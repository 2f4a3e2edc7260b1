"""The row gate's bounds: what a stored row may hold (settings EARLIEST_SALE_DATE, MAX_FUTURE_DAYS, MAX_QUANTITY,
MAX_UNIT_PRICE, MAX_LINE_TOTAL, PRODUCT_NAME_MAX_CHARS and CURRENCY; defaults here, read in settings.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal


@dataclass(frozen=True)
class Bounds:
    """What the gate admits: values every later step (NUMERIC sums over decades, the forecast, JSON, charts)
    can carry. Settings EARLIEST_SALE_DATE, MAX_FUTURE_DAYS, MAX_QUANTITY, MAX_UNIT_PRICE, MAX_LINE_TOTAL,
    PRODUCT_NAME_MAX_CHARS and CURRENCY."""

    earliest_date: date = date(2000, 1, 1)
    max_future_days: int = 1
    max_quantity: int = 1_000_000
    max_unit_price: Decimal = Decimal(10) ** 9
    max_line_total: Decimal = Decimal(10) ** 15
    product_name_max_chars: int = 200
    currency: str = "USD"

    @property
    def latest_date(self) -> date:
        """Today (the machine's local date) plus MAX_FUTURE_DAYS."""
        return date.today() + timedelta(days=self.max_future_days)
