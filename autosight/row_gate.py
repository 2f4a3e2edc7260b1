"""The row gate: one CSV record in, a sale the whole pipeline can carry (or the reason it is rejected) out.

Pure: no database, no file. The validating path feeds it every record of a file; the fast COPY path feeds
it the few lines it diverts. Unit-tested directly (tests/test_row_gate.py).
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

import csv_values
from autosight.bounds import Bounds
from csv_format import DELIMITERS, FileLayout, normalize_name

DATE_CACHE_SIZE = 100_000  # parsed date texts kept (a file of timestamps has millions of distinct ones)
# Longest date, quantity or amount text read: longer ones are not values (and Python refuses int() of
# more than 4,300 digits); the row is rejected with the column's reason.
MAX_VALUE_CHARS = 100
# Longest raw text kept for a rejected row (rejected_rows, rejects.csv): a 10 MB field is cut, and says so.
MAX_RAW_TEXT_CHARS = 100_000
# Product names: Unicode "Cc" characters other than tab, line feed and carriage return are refused.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# The text of a spreadsheet's or report's totals line: 'Total', 'TOTAL for Design', 'Grand total:', 'Summe'.
_TOTAL_TEXT = re.compile(r"(?:(?:grand[ -]?|sub-?)?totals?(?:\s+(?:for|général|general)\b.*|\s*:.*)?"
                         r"|sum|summe|gesamt(?:summe)?|totaal|totale)", re.IGNORECASE | re.DOTALL)
# Spaces and the invisible characters a name may begin or end with (zero-width space and joiners, word joiner,
# byte-order mark, soft hyphen): trimmed, so that 'Mug' and 'Mug\u200b' are one product and a name of nothing
# visible is a missing one.
_EDGE_BLANKS = "\u00ad\u180e\u200b\u200c\u200d\u2060\ufeff"
_TRIM = re.compile(rf"^[\s{_EDGE_BLANKS}]+|[\s{_EDGE_BLANKS}]+$")
SaleRow = tuple[date, str, int, Decimal, Decimal | None]


class Reason(StrEnum):
    """Why a row was rejected: the codes stored in rejected_rows, rejects.csv and report.json (see README)."""

    WRONG_FIELD_COUNT = "wrong_field_count"  # more or fewer fields than the header
    REPEATED_HEADER = "repeated_header"  # the header again (two exports concatenated)
    INVALID_CHARACTER = "invalid_character"  # a NUL or control character in the date, product or numbers
    FIELD_TOO_LONG = "field_too_long"  # product name longer than PRODUCT_NAME_MAX_CHARS after trimming
    BAD_DATE = "bad_date"  # not a date in the file's date format
    DATE_OUT_OF_RANGE = "date_out_of_range"  # before EARLIEST_SALE_DATE or after today + MAX_FUTURE_DAYS
    MISSING_PRODUCT = "missing_product"  # empty (or blank) product name
    BAD_QUANTITY = "bad_quantity"  # not a whole number (or a zero quantity with a non-zero line total)
    QUANTITY_OUT_OF_RANGE = "quantity_out_of_range"  # |quantity| above MAX_QUANTITY
    BAD_PRICE = "bad_price"  # not an amount
    NEGATIVE_PRICE = "negative_price"  # unit price below zero
    PRICE_OUT_OF_RANGE = "price_out_of_range"  # unit price above MAX_UNIT_PRICE
    LINE_TOTAL_OUT_OF_RANGE = "line_total_out_of_range"  # |line total| above MAX_LINE_TOTAL
    WRONG_CURRENCY = "wrong_currency"  # an amount marked with another currency than CURRENCY
    SUMMARY_ROW = "summary_row"  # no date: a report's totals line ('Total', 'TOTAL for X') or a lone note
    FILE_REFUSED = "file_refused"  # a valid row of a file refused whole (rejected share above the threshold)



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
        text = self._buffer.getvalue().replace("\x00", "\\x00")
        if len(text) > MAX_RAW_TEXT_CHARS:
            return f"{text[:MAX_RAW_TEXT_CHARS]}... [cut: {len(text)} characters in all]"
        return text


class RowParser:
    """Turns a record into (sale_date, product, quantity, unit price, line total or None), or the reason it is
    rejected. Only the used columns are looked at: whatever the others hold never rejects a row."""

    def __init__(self, layout: FileLayout, date_format: str, decimal_comma: bool, bounds: Bounds) -> None:
        self._layout = layout
        self._header = [normalize_name(name) for name in layout.header]
        self._date_format = date_format
        self._decimal_comma = decimal_comma
        self._bounds = bounds
        self._latest_date = bounds.latest_date
        self._dates: dict[str, date | None] = {}
        self._line_total = "revenue" in layout.columns
        self._currency_column = layout.currency_column
        self._in_currency = True  # the row's currency, by its currency column (or the last non-blank one above)
        self._used = sorted({*layout.columns.values(), *([] if layout.currency_column is None
                                                           else [layout.currency_column])})

    def parse(self, row: list[str]) -> SaleRow | Reason:
        if len(row) != len(self._header):
            return Reason.SUMMARY_ROW if _is_short_note(row, len(self._header)) else Reason.WRONG_FIELD_COUNT
        if self._currency_column is not None:
            self._note_currency(row[self._currency_column])
        parsed = self._parse_values(row)
        # A repeated header or a summary line never parses as a sale, so only rows that fail are looked at again.
        if isinstance(parsed, Reason):
            if [normalize_name(value) for value in row] == self._header:
                return Reason.REPEATED_HEADER
            if parsed is Reason.BAD_DATE and _is_summary(row, row[self._layout.columns["sale_date"]]):
                return Reason.SUMMARY_ROW
        return parsed

    def _parse_values(self, row: list[str]) -> SaleRow | Reason:
        columns = self._layout.columns
        if any("\x00" in row[index] for index in self._used):
            return Reason.INVALID_CHARACTER
        sale_date = self._date(row[columns["sale_date"]])
        if isinstance(sale_date, Reason):
            return sale_date
        product = product_name(row[columns["product_name"]], self._bounds.product_name_max_chars)
        if isinstance(product, Reason):
            return product
        quantity = self._quantity(row)
        if isinstance(quantity, Reason):
            return quantity
        if not self._in_currency:
            return Reason.WRONG_CURRENCY
        money = self._money(row, quantity)
        if isinstance(money, Reason):
            return money
        return (sale_date, product, *money)

    def _note_currency(self, text: str) -> None:
        """Whether this row is in CURRENCY, by its currency column: a value naming CURRENCY ('USD', 'usd', '$'); a
        blank one takes the line above's (a Shopify order's later lines), the first lines' being CURRENCY. A value
        naming no currency AutoSight knows cannot be checked, and is not taken for CURRENCY."""
        value = text.strip()
        if value:
            named = csv_values.currencies_named(value.upper())
            self._in_currency = named is not None and self._bounds.currency in named

    def _quantity(self, row: list[str]) -> int | Reason:
        if self._layout.quantity_constant is not None:
            quantity: int | None = self._layout.quantity_constant
        else:
            text = row[self._layout.columns["quantity"]]
            quantity = None if len(text) > MAX_VALUE_CHARS else csv_values.parse_quantity(text, self._decimal_comma)
        if quantity is None:
            return Reason.BAD_QUANTITY
        return quantity if abs(quantity) <= self._bounds.max_quantity else Reason.QUANTITY_OUT_OF_RANGE

    def _date(self, text: str) -> date | Reason:
        """Parsed once per distinct text (strptime is the costliest step); the cache is emptied when full."""
        if len(text) > MAX_VALUE_CHARS:
            return Reason.BAD_DATE
        if text not in self._dates:
            if len(self._dates) >= DATE_CACHE_SIZE:
                self._dates.clear()
            self._dates[text] = csv_values.parse_date(text, self._date_format)
        parsed = self._dates[text]
        if parsed is None:
            return Reason.BAD_DATE
        if not self._bounds.earliest_date <= parsed <= self._latest_date:
            return Reason.DATE_OUT_OF_RANGE
        return parsed

    def _money(self, row: list[str], quantity: int) -> tuple[int, Decimal, Decimal | None] | Reason:
        """(quantity, unit price, line total or None): the line total is kept as given, so revenue is exact.

        A negative line total with a positive quantity is a refund of that quantity (stored as a negative
        quantity, as returns are): Amazon's and Stripe's refund lines say so by their amount alone."""
        text = row[self._layout.columns["revenue" if self._line_total else "price"]]
        amount = self._amount(text)
        if isinstance(amount, Reason):
            return amount
        if self._line_total:
            if abs(amount) > self._bounds.max_line_total:
                return Reason.LINE_TOTAL_OUT_OF_RANGE
            if amount < 0 < quantity:
                quantity = -quantity
            return _price_from_line_total(amount, quantity)
        if amount < 0:
            return Reason.NEGATIVE_PRICE
        if amount > self._bounds.max_unit_price:
            return Reason.PRICE_OUT_OF_RANGE
        return (quantity, amount, None)

    def _amount(self, text: str) -> Decimal | Reason:
        if len(text) > MAX_VALUE_CHARS:
            return Reason.BAD_PRICE
        if not csv_values.is_plain_number(text):
            named = csv_values.currencies_named(text)
            if named is not None and self._bounds.currency not in named:
                return Reason.WRONG_CURRENCY
        amount = csv_values.parse_money(text, self._decimal_comma)
        if amount is None or not amount.is_finite():
            return Reason.BAD_PRICE
        return amount


def _is_summary(row: list[str], date_text: str) -> bool:
    """A row without a date that is a report's line, not a sale: a single text (a footer, a section's name), or
    a totals line whose first text, in the date column or before it, says so ('Total', 'TOTAL for Design')."""
    texts = [value.strip() for value in row if value.strip()]
    if len(texts) <= 1:
        return True
    return date_text.strip() in ("", texts[0]) and _TOTAL_TEXT.fullmatch(texts[0]) is not None


def _is_short_note(row: list[str], width: int) -> bool:
    """A row of fewer or more fields than the header that is a report's footer, not a cut or broken sale: one
    text, of words ('3 record(s) downloaded, from ...', 'Seller ID : shop'), or a totals line. One text that
    another delimiter splits into the header's width is a sale written with that delimiter."""
    texts = [value.strip() for value in row if value.strip()]
    if len(texts) == 1 and " " in texts[0] and any(char.isalpha() for char in texts[0]):
        return not any(texts[0].count(delimiter) == width - 1 for delimiter in DELIMITERS)
    return bool(texts) and _TOTAL_TEXT.fullmatch(texts[0]) is not None


def product_name(text: str, max_chars: int) -> str | Reason:
    """The product name as stored (trimmed of every kind of space and of invisible characters), or why the row
    is rejected."""
    name = _TRIM.sub("", text)
    if not name:
        return Reason.MISSING_PRODUCT
    if len(name) > max_chars:
        return Reason.FIELD_TOO_LONG
    if _CONTROL_CHARACTERS.search(name):
        return Reason.INVALID_CHARACTER
    return name


def _price_from_line_total(total: Decimal, quantity: int) -> tuple[int, Decimal, Decimal] | Reason:
    """The unit price implied by a line total (total / quantity); the total itself stays the revenue."""
    if quantity == 0:
        return (quantity, Decimal(0), total) if total == 0 else Reason.BAD_QUANTITY
    price = total / quantity
    return (quantity, price, total) if price >= 0 else Reason.NEGATIVE_PRICE
