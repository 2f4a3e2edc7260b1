"""The row gate: one CSV record in, a sale the whole pipeline can carry (or the reason it is rejected) out.

Pure: no database, no file. The validating path feeds it every record of a file; the fast COPY path feeds
it the few lines it diverts. Unit-tested directly (tests/test_row_gate.py).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import csv_values
from csv_format import FileLayout, normalize_name

MAX_FIELD_CHARS = 10_000
DATE_CACHE_SIZE = 100_000  # parsed date texts kept (a file of timestamps has millions of distinct ones)
INT_RANGE = range(-(2**31), 2**31)
SaleRow = tuple[date, str, int, Decimal, Decimal | None]


@dataclass
class RowCounts:
    """Rows read = loaded + rejected, with the rejects counted by reason."""

    read: int = 0
    loaded: int = 0
    rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)

    def reject(self, reason: str) -> None:
        self.read += 1
        self.rejected += 1
        self.reasons[reason] += 1

    def load(self) -> None:
        self.read += 1
        self.loaded += 1


class RawText:
    """The record as CSV text in the file's own delimiter (NUL bytes made visible: PostgreSQL text cannot hold them)."""

    def __init__(self, delimiter: str) -> None:
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, delimiter=delimiter, lineterminator="")

    def text(self, row: list[str]) -> str:
        self._buffer.seek(0)
        self._buffer.truncate()
        self._writer.writerow(row)
        return self._buffer.getvalue().replace("\x00", "\\x00")


class RowParser:
    """Turns a record into (sale_date, product, quantity, unit price, line total or None), or the reason it is
    rejected."""

    def __init__(self, layout: FileLayout, date_format: str, decimal_comma: bool) -> None:
        self._layout = layout
        self._header = [normalize_name(name) for name in layout.header]
        self._date_format = date_format
        self._decimal_comma = decimal_comma
        self._dates: dict[str, date | None] = {}
        self._line_total = "revenue" in layout.columns

    def parse(self, row: list[str]) -> SaleRow | str:
        if len(row) != len(self._header):
            return "wrong_field_count"
        text = "".join(row)  # one C-level pass instead of a Python loop over the fields, for every row
        if "\x00" in text:
            return "invalid_character"
        if len(text) > MAX_FIELD_CHARS and max(map(len, row)) > MAX_FIELD_CHARS:
            return "field_too_long"
        parsed = self._parse_values(row)
        # A repeated header never parses as a sale, so only rows that fail are compared with the header.
        if isinstance(parsed, str) and [normalize_name(value) for value in row] == self._header:
            return "repeated_header"
        return parsed

    def _parse_values(self, row: list[str]) -> SaleRow | str:
        columns = self._layout.columns
        sale_date = self._date(row[columns["sale_date"]])
        if sale_date is None:
            return "bad_date"
        product = row[columns["product_name"]].strip()
        if not product:
            return "missing_product"
        quantity = self._quantity(row)
        if quantity is None or quantity not in INT_RANGE:
            return "bad_quantity"
        money = self._money(row, quantity)
        if isinstance(money, str):
            return money
        return (sale_date, product, quantity, *money)

    def _quantity(self, row: list[str]) -> int | None:
        if self._layout.quantity_constant is not None:
            return self._layout.quantity_constant
        return csv_values.parse_quantity(row[self._layout.columns["quantity"]], self._decimal_comma)

    def _date(self, text: str) -> date | None:
        """Parsed once per distinct text (strptime is the costliest step); the cache is emptied when full."""
        if text not in self._dates:
            if len(self._dates) >= DATE_CACHE_SIZE:
                self._dates.clear()
            self._dates[text] = csv_values.parse_date(text, self._date_format)
        return self._dates[text]

    def _money(self, row: list[str], quantity: int) -> tuple[Decimal, Decimal | None] | str:
        """(unit price, line total or None): the line total is kept as given, so revenue is exact."""
        column = "revenue" if self._line_total else "price"
        amount = csv_values.parse_money(row[self._layout.columns[column]], self._decimal_comma)
        if amount is None or not amount.is_finite():
            return "bad_price"
        if self._line_total:
            return _price_from_line_total(amount, quantity)
        return (amount, None) if amount >= 0 else "negative_price"


def _price_from_line_total(total: Decimal, quantity: int) -> tuple[Decimal, Decimal] | str:
    """The unit price implied by a line total (total / quantity); the total itself stays the revenue."""
    if quantity == 0:
        return (Decimal(0), total) if total == 0 else "bad_quantity"
    price = total / quantity
    return (price, total) if price >= 0 else "negative_price"
