"""The fast path: a plain COPY of a canonical file, every line checked on its way to the server.

``CleanLines`` tells, chunk by chunk while the file streams into COPY, which data lines a plain COPY reads
exactly as the row gate would (and within its bounds); the others (a few rejects, a blank line, an amount
with a currency sign) are diverted: kept out of the COPY and put through the row gate afterwards, with their
line numbers. ``try_fast_path`` keeps the result only when the file stores exactly what the validating path
would store; otherwise it raises ``FastPathUnusable``, the caller rolls the file's transaction back, and the file
takes the validating path whole.
"""

from __future__ import annotations

import calendar
import csv
import functools
import io
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO

import psycopg2
import psycopg2.errors
import psycopg2.extensions

import csv_values
from autosight.file_ledger import COPY_CHUNK_BYTES, build_rollup, copy_into
from autosight.progress import progress
from autosight.row_gate import Bounds, RawText, Reason, RowCounts, RowParser, SaleRow, product_name
from csv_format import FileLayout, FileScan, open_scanned
from errors import first_line
from logger_config import get_logger

log = get_logger(__name__)

LOG_EVERY_ROWS = 1_000_000
# Diverted lines are kept in memory until the COPY ends: beyond these, the file takes the validating path.
MAX_DIVERTED_LINES = 1_000
MAX_DIVERTED_BYTES = 8 << 20
# What the diverted rows that pass the gate are COPYed as (the validating path's columns).
DIVERTED_COLUMNS = ("sale_date", "product_name", "quantity", "price", "line_total")


class FastPathUnusable(Exception):
    """Why a file cannot take the fast path; the transaction of the attempt must be rolled back."""


@dataclass
class Diverted:
    """The data lines kept out of the COPY: (physical line number, bytes without the line break)."""

    lines: list[tuple[int, bytes]] = field(default_factory=list)
    size: int = 0


class CleanLines:
    """Sorts the data lines of a canonical file as its bytes stream by, one regular expression per run of lines.

    A clean line is one record on one line whose fields a plain COPY and the row gate read the same way, and
    which the gate admits: an ISO date within the bounds, a whole quantity and a plain non-negative price (no
    minus, exponent, thousands separator or currency) with fewer whole digits than their bounds allow, each
    optionally quoted, and a product field that is either unquoted (no quote, delimiter or line break) or
    quoted without a line break. Values either side accepts and the other does not (``0x1F``, ``1e3``, ``NaN``,
    ``1_000`` for PostgreSQL; ``$5`` or ``2.0`` for Python) are not clean. Product names are checked after the
    COPY. Lines that are not clean are diverted (``diverted``); ``abandoned`` says why the file cannot take
    the fast path at all (then the stream ends early).
    """

    def __init__(self, layout: FileLayout, bounds: Bounds) -> None:
        self._lines, self._last_line = _clean_line_regexes(layout.delimiter, layout.column_order, bounds,
                                                           bounds.latest_date)
        self._carry = b""
        self._in_header = True
        self.abandoned: str | None = None
        self.lines = 0  # data lines seen so far, clean or diverted
        self.clean_lines = 0
        self.diverted = Diverted()

    def feed(self, chunk: bytes) -> bytes:
        """The clean lines of ``carry + chunk`` (with the header, first), to be COPYed; the others diverted."""
        if self.abandoned:
            return b""
        data = self._carry + chunk
        start = 0
        pieces: list[bytes] = []
        if self._in_header:
            start = data.find(b"\n") + 1
            if start == 0:
                self._carry = data
                return b""
            if not data[:start].strip(b" \t\r\n\xef\xbb\xbf"):
                self._abandon("the file does not begin with its header")
                return b""
            pieces.append(data[:start])
            self._in_header = False
        end = data.rfind(b"\n") + 1
        position = start
        while position < end and not self.abandoned:
            stop = self._lines.match(data, position, end).end()  # type: ignore[union-attr]  # matches empty
            if stop > position:
                pieces.append(data[position:stop])
                count = data.count(b"\n", position, stop)
                self.lines += count
                self.clean_lines += count
            if stop >= end:
                break
            line_end = data.index(b"\n", stop)
            self._divert(data[stop:line_end])
            position = line_end + 1
        self._carry = data[max(end, start):]
        return b"" if self.abandoned else b"".join(pieces)

    def finish(self) -> bytes:
        """The last line when it has no line break: to be COPYed if clean, else diverted."""
        carry, self._carry = self._carry, b""
        if self.abandoned or not carry or self._in_header:
            return b""
        if self._last_line.fullmatch(carry):
            self.lines += 1
            self.clean_lines += 1
            return carry
        self._divert(carry)
        return b""

    def _divert(self, line: bytes) -> None:
        self.lines += 1
        diverted = self.diverted
        if len(diverted.lines) >= MAX_DIVERTED_LINES or diverted.size + len(line) > MAX_DIVERTED_BYTES:
            self._abandon(f"more than {MAX_DIVERTED_LINES} lines (or {MAX_DIVERTED_BYTES >> 20} MB) not in the "
                          "plain canonical shape")
        elif b"\r" in line.rstrip(b"\r"):
            self._abandon(f"line {self.lines + 1} has a carriage return inside it")
        else:
            diverted.lines.append((self.lines + 1, line))  # the header is line 1
            diverted.size += len(line)

    def _abandon(self, why: str) -> None:
        self.abandoned = self.abandoned or why


@functools.lru_cache(maxsize=16)
def _clean_line_regexes(delimiter: str, columns: tuple[str, ...], bounds: Bounds,
                        latest_date: date) -> tuple[re.Pattern[bytes], re.Pattern[bytes]]:
    """(a run of clean lines, one clean last line without its line break), for the columns in header order.

    Built once per layout and bounds, not per file: the date alternatives of 27 years took a small file's
    load 0.4 ms to build (``latest_date`` is in the key, since the bounds' latest date moves with the day).
    """
    line = _clean_line_pattern(delimiter, columns, bounds, latest_date)
    return re.compile(rb"(?:" + line + rb"\n)*+"), re.compile(line)


def _clean_line_pattern(delimiter_text: str, columns: tuple[str, ...], bounds: Bounds, latest_date: date) -> bytes:
    """The fields of a clean line in header order, joined by the delimiter; an optional CR at the end.

    A date is within the bounds and a quantity or price has fewer whole digits than its bound, so that every
    clean value is one the gate admits.
    """
    delimiter = re.escape(delimiter_text.encode())
    # At most 4 bytes a character in UTF-8: a longer unquoted name cannot pass the gate's length bound, so it is
    # diverted to the gate instead of reaching the rollup's index (whose keys hold at most about 2,700 bytes).
    unquoted_product = rb'[^"' + delimiter + rb"\r\n]{1,%d}+" % (4 * bounds.product_name_max_chars)
    quantity_digits = _digits_below(bounds.max_quantity)
    price_digits = _digits_below(int(bounds.max_unit_price))
    fields = {
        "sale_date": _optionally_quoted(date_pattern(bounds.earliest_date, latest_date)),
        "quantity": _optionally_quoted(rb"[+-]?+\d{1,%d}+" % quantity_digits),
        "price": _optionally_quoted(rb"\+?+(?:\d{1,%d}+(?:\.\d{0,30}+)?+|\.\d{1,30}+)" % price_digits),
        "product_name": rb'(?:"[^"\r\n]*+(?:""[^"\r\n]*+)*+"|' + unquoted_product + rb")",
    }
    return delimiter.join(fields[name] for name in columns) + rb"\r?+"


def _digits_below(bound: int) -> int:
    """The most digits every number of which is at most ``bound`` (1,000,000 -> 6); at least 1."""
    return max(len(str(bound + 1)) - 1, 1)


def _optionally_quoted(pattern: bytes) -> bytes:
    return rb'(?:"' + pattern + rb'"|' + pattern + rb")"


_ANY_MONTH_DAY = (rb"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)"
                  rb"|02-(?:0[1-9]|1\d|2[0-8]))")


def date_pattern(first: date, last: date) -> bytes:
    """A regular expression matching exactly the ISO dates from ``first`` to ``last`` (valid calendar dates)."""
    if first > last:
        return rb"(?!)"
    if first.year == last.year:
        return _year_span(first.year, first, last)
    branches = []
    inner = range(first.year + 1, last.year)
    if inner:
        branches.append(rb"(?:" + b"|".join(b"%d" % year for year in inner) + rb")-" + _ANY_MONTH_DAY)
        leap = [b"%d" % year for year in inner if calendar.isleap(year)]
        if leap:
            branches.append(rb"(?:" + b"|".join(leap) + rb")-02-29")
    branches.append(_year_span(last.year, date(last.year, 1, 1), last))
    branches.append(_year_span(first.year, first, date(first.year, 12, 31)))
    return rb"(?:" + b"|".join(branches) + rb")"


def _year_span(year: int, first: date, last: date) -> bytes:
    months = []
    for month in range(first.month, last.month + 1):
        low = first.day if month == first.month else 1
        high = last.day if month == last.month else calendar.monthrange(year, month)[1]
        months.append(b"%02d-%s" % (month, _two_digits(low, high)))
    return b"%d-(?:%s)" % (year, b"|".join(months))


def _two_digits(low: int, high: int) -> bytes:
    """The two-digit numbers from ``low`` to ``high``, a character class per tens digit (01 to 31:
    ``0[1-9]|1[0-9]|2[0-9]|3[0-1]``). A branch a day made the clean-line patterns take 15 ms to compile (now 5 ms),
    paid by every run that loads a file."""
    tens = [b"%d[%d-%d]" % (ten, max(low, 10 * ten) % 10, min(high, 10 * ten + 9) % 10)
            for ten in range(low // 10, high // 10 + 1)]
    return b"(?:" + b"|".join(tens) + b")"


# ---------------------------------------------------------------------------------------------
# The COPY


def try_fast_path(cursor: psycopg2.extensions.cursor, path: Path, layout: FileLayout, scan: FileScan,
                  file_id: int, bounds: Bounds, rejects: IO[str]) -> RowCounts:
    """COPY the file's clean lines, put the diverted ones through the gate; the counts, or ``FastPathUnusable``
    when the file must take the validating path: a value COPY refuses, a diverted line the file's conventions
    do not allow, or a product name the gate would store differently. The caller then rolls its transaction
    back (a savepoint here cost two round trips a file, for the rare file that needs it).

    The check runs in this process while the server parses the previous chunk, so it costs next to nothing
    in elapsed time.
    """
    lines = CleanLines(layout, bounds)
    columns = ("file_id", *layout.column_order)
    outcome: RowCounts | str
    try:
        with open_scanned(path, scan) as stream, progress(path, "loading") as on_bytes:
            reader = _CheckingReader(stream, lines, on_bytes, path, FileIdPrefix(file_id, layout.delimiter))
            cursor.copy_expert(copy_into(columns, layout.delimiter, header=True), reader, size=COPY_CHUNK_BYTES)
        outcome = _after_copy(cursor, file_id, layout, lines, bounds, rejects)
    except (psycopg2.DataError, psycopg2.IntegrityError, psycopg2.errors.ProgramLimitExceeded) as error:
        outcome = lines.abandoned or f"COPY refused a value: {first_line(error)}"
    if isinstance(outcome, str):
        raise FastPathUnusable(outcome)
    return outcome


def _after_copy(cursor: psycopg2.extensions.cursor, file_id: int, layout: FileLayout, lines: CleanLines,
                bounds: Bounds, rejects: IO[str]) -> RowCounts | str:
    """The diverted rows through the gate and the rollup built: the counts, or why the fast path cannot stand."""
    if lines.abandoned:
        return lines.abandoned
    if cursor.rowcount != lines.clean_lines:
        return f"{cursor.rowcount} records for {lines.clean_lines} clean lines"
    records = _diverted_records(lines.diverted, layout.delimiter)
    if isinstance(records, str):
        return records
    shaped = [row for _, row in records if len(row) == len(layout.header)]
    money_column = layout.columns["revenue" if "revenue" in layout.columns else "price"]
    if csv_values.uses_decimal_comma(row[money_column] for row in shaped):
        return "a diverted amount has a decimal comma"  # a clean price has none: only these rows can say
    counts = RowCounts(read=lines.clean_lines, loaded=lines.clean_lines)
    good, rejected = _gate(RowParser(layout, csv_values.ISO_FORMAT, False, bounds), records, layout.delimiter, counts)
    if good:
        _copy_rows(cursor, file_id, good)
    build_rollup(cursor, file_id)
    dates = {csv_values.strip_time(row[layout.columns["sale_date"]]) for row in shaped}
    doubt = _date_format_doubt(cursor, file_id, dates)
    if doubt is not None:
        return doubt
    dates_out_of_range, names_to_check = _rollup_doubts(cursor, file_id, bounds)
    if dates_out_of_range:
        return "a date is out of range"
    if names_to_check and not _products_as_validated(cursor.connection, file_id, bounds):
        return "a product name is empty, too long, has control characters or spaces around it"
    csv.writer(rejects).writerows(rejected)
    return counts


def _diverted_records(diverted: Diverted, delimiter: str) -> list[tuple[int, list[str]]] | str:
    """(line number, fields) of the diverted lines that are records (blank ones are not); a line that is not a
    whole record on its own (a quoted field running on) means the file needs the validating path."""
    records = []
    for line_no, raw in diverted.lines:
        reader = csv.reader(iter((raw.decode("utf-8") + "\n", "\n")), delimiter=delimiter)
        row = next(reader)
        if reader.line_num != 1:
            return f"line {line_no} starts a record that runs over several lines"
        if row and (row[0].strip() or any(value.strip() for value in row)):
            records.append((line_no, row))
    return records


def _date_format_doubt(cursor: psycopg2.extensions.cursor, file_id: int, diverted_dates: set[str]) -> str | None:
    """Why the validating path would choose another date format than ISO, or None.

    A clean line's date is ISO, and an ISO date fits no other candidate format: ISO reads at least the distinct
    dates of the rollup, and wins ties, so only more distinct diverted dates than that can outvote it.
    """
    if not diverted_dates:
        return None
    cursor.execute("SELECT DISTINCT sale_date::text FROM sales_daily_product WHERE file_id = %s", (file_id,))
    iso_dates = {text for (text,) in cursor.fetchall()}
    if len(iso_dates) >= len(diverted_dates):
        return None
    try:
        chosen = csv_values.choose_date_format(iso_dates | diverted_dates)
    except csv_values.DateFormatError as error:
        return str(error)
    return None if chosen == csv_values.ISO_FORMAT else f"the dates may be {chosen}"


def _gate(parser: RowParser, records: list[tuple[int, list[str]]], delimiter: str,
          counts: RowCounts) -> tuple[list[SaleRow], list[tuple[int, str, str]]]:
    good: list[SaleRow] = []
    rejected: list[tuple[int, str, str]] = []
    raw = RawText(delimiter)
    for line_no, row in records:
        parsed = parser.parse(row)
        if isinstance(parsed, Reason):
            counts.reject(parsed)
            rejected.append((line_no, parsed.value, raw.text(row)))
        else:
            counts.load()
            good.append(parsed)
    return good, rejected


def _copy_rows(cursor: psycopg2.extensions.cursor, file_id: int, rows: list[SaleRow]) -> None:
    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as stream:
        csv.writer(stream).writerows(rows)
        stream.seek(0)
        cursor.copy_expert(copy_into(DIVERTED_COLUMNS, ",", header=False), stream, size=COPY_CHUNK_BYTES)


# The file's distinct product names that need a look in Python (see _products_as_validated).
_PRODUCTS_TO_CHECK = ("SELECT DISTINCT product_name FROM sales_daily_product WHERE file_id = %(file_id)s"
                      " AND (product_name !~ '^[!-~]([ -~]*[!-~])?$' OR length(product_name) > %(limit)s)")


def _rollup_doubts(cursor: psycopg2.extensions.cursor, file_id: int, bounds: Bounds) -> tuple[bool, bool]:
    """(whether a date of the file is out of range, whether a product name needs a look in Python), read from the
    file's rollup in one round trip: for a small file, round trips are most of the time its load takes."""
    cursor.execute(
        "SELECT EXISTS (SELECT FROM sales_daily_product WHERE file_id = %(file_id)s"
        " AND sale_date NOT BETWEEN %(earliest)s AND %(latest)s), EXISTS (" + _PRODUCTS_TO_CHECK + ")",
        {"file_id": file_id, "earliest": bounds.earliest_date, "latest": bounds.latest_date,
         "limit": bounds.product_name_max_chars})
    dates_out_of_range, names_to_check = cursor.fetchone()
    return bool(dates_out_of_range), bool(names_to_check)


def _products_as_validated(connection: psycopg2.extensions.connection, file_id: int, bounds: Bounds) -> bool:
    """Whether the COPYed product names are the ones the row gate stores (``row_gate.product_name``).

    The distinct names come from the file's rollup; only those that do not begin and end with a printable ASCII
    character, or are long, need a look in Python, read through a server-side cursor so that memory stays flat.
    """
    limit = bounds.product_name_max_chars
    with connection.cursor(name="fast_path_products") as names:
        names.itersize = 10_000
        names.execute(_PRODUCTS_TO_CHECK, {"file_id": file_id, "limit": limit})
        return all(product_name(name, limit) == name for (name,) in names)


class FileIdPrefix:
    """Writes the load's ``file_id`` as a first field into each clean line on its way to COPY.

    Why: the column's default (``current_setting('autosight.file_id')``) is evaluated for every row, about a
    tenth of a big file's COPY; one ``bytes.replace`` per chunk in this process costs next to nothing. Clean
    lines hold no line break inside a field, so every line feed ends a record.
    """

    def __init__(self, file_id: int, delimiter: str) -> None:
        self._prefix = b"%d" % file_id + delimiter.encode()
        self._after_line_feed = b"\n" + self._prefix

    def __call__(self, lines: bytes) -> bytes:
        """``lines``: whole lines, each ending with a line feed except perhaps the last one."""
        if not lines:
            return lines
        body, end = (lines[:-1], b"\n") if lines.endswith(b"\n") else (lines, b"")
        return self._prefix + body.replace(b"\n", self._after_line_feed) + end


class _CheckingReader(io.RawIOBase):
    """The file's clean lines on their way to COPY (``CleanLines`` diverts the others, or ends the stream early
    when the file cannot take the fast path), with the load's file_id, counted for the progress bar, and logged
    every million lines."""

    def __init__(self, stream: IO[bytes], lines: CleanLines, on_bytes: Callable[[int], object], path: Path,
                 with_file_id: FileIdPrefix) -> None:
        self._stream = stream
        self._lines = lines
        self._on_bytes = on_bytes
        self._path = path
        self._with_file_id = with_file_id
        self._logged_millions = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while True:
            data = self._stream.read(size)
            if not data:
                return self._with_file_id(self._lines.finish())
            self._on_bytes(len(data))
            clean = self._lines.feed(data)
            if self._lines.lines // LOG_EVERY_ROWS > self._logged_millions:
                self._logged_millions = self._lines.lines // LOG_EVERY_ROWS
                log.info("file %s: %d lines copied", self._path, self._lines.lines)
            if clean or self._lines.abandoned:
                return self._with_file_id(clean)
