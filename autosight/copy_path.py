"""The fast path: a plain COPY of a clean canonical file, every line checked on its way to the server.

``CleanLines`` tells, chunk by chunk while the file streams into COPY, whether every data line is one that
a plain COPY reads exactly as the validating path would; ``try_fast_path`` runs the COPY inside a savepoint
and keeps it only when every line was clean and the stored product names are the ones the gate would store.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import IO

import psycopg2
import psycopg2.extensions

from autosight.file_ledger import COPY_CHUNK_BYTES, build_rollup, copy_into
from autosight.progress import progress
from autosight.row_gate import Bounds, product_name
from autosight.transactions import savepoint
from csv_format import FileLayout, FileScan, open_scanned
from errors import first_line
from logger_config import get_logger

log = get_logger(__name__)

LOG_EVERY_ROWS = 1_000_000


class CleanLines:
    """Checks the data lines of a canonical file as its bytes stream by, one regular expression per chunk.

    A clean line is one record on one line whose fields a plain COPY and the validating path read the same
    way: an ISO date, a whole quantity and a plain non-negative price (no minus, exponent, thousands separator
    or currency) with fewer whole digits than their bounds allow, each optionally quoted, and a product field
    that is either unquoted (no quote, delimiter or line break) or quoted without a line break. Values either
    side accepts and the other does not (``0x1F``, ``1e3``, ``NaN``, ``1_000`` for PostgreSQL; ``$5`` or
    ``2.0`` for Python) are not clean, so such a file takes the validating path. Product names are checked
    after the COPY.
    """

    def __init__(self, layout: FileLayout, bounds: Bounds) -> None:
        line = _clean_line_pattern(layout, bounds)
        self._lines = re.compile(rb"(?:" + line + rb"\n)*+")
        self._last_line = re.compile(line)
        self._carry = b""
        self._in_header = True
        self.clean = True
        self.lines = 0  # data lines found clean so far

    def feed(self, chunk: bytes) -> bool:
        """Check the complete lines in ``carry + chunk``; False from the first line that is not clean on."""
        if not self.clean:
            return False
        data = self._carry + chunk
        start = 0
        if self._in_header:
            start = data.find(b"\n") + 1
            if start == 0:
                self._carry = data
                return True
            self._in_header = False
        end = data.rfind(b"\n") + 1
        if end > start:
            self.clean = self._lines.fullmatch(data, start, end) is not None
            self.lines += data.count(b"\n", start, end) if self.clean else 0
            start = end
        self._carry = data[start:]
        return self.clean

    def finish(self) -> bool:
        """Whether every data line was clean, including a last line without a line break."""
        if self.clean and self._carry and not self._in_header:
            self.clean = self._last_line.fullmatch(self._carry) is not None
            self.lines += 1
            self._carry = b""
        return self.clean


def _clean_line_pattern(layout: FileLayout, bounds: Bounds) -> bytes:
    """The fields of a clean line in header order, joined by the delimiter; an optional CR at the end.

    A quantity or price has fewer whole digits than its bound, so that any clean value is within bounds.
    """
    delimiter = re.escape(layout.delimiter.encode())
    unquoted_product = rb'[^"' + delimiter + rb"\r\n]++"
    quantity_digits = _digits_below(bounds.max_quantity)
    price_digits = _digits_below(int(bounds.max_unit_price))
    fields = {
        "sale_date": _optionally_quoted(rb"\d{4}-\d{2}-\d{2}"),
        "quantity": _optionally_quoted(rb"[+-]?+\d{1,%d}+" % quantity_digits),
        "price": _optionally_quoted(rb"\+?+(?:\d{1,%d}+(?:\.\d{0,30}+)?+|\.\d{1,30}+)" % price_digits),
        "product_name": rb'(?:"[^"\r\n]*+(?:""[^"\r\n]*+)*+"|' + unquoted_product + rb")",
    }
    by_position = sorted(layout.columns.items(), key=lambda item: item[1])
    return delimiter.join(fields[name] for name, _ in by_position) + rb"\r?+"


def _digits_below(bound: int) -> int:
    """The most digits every number of which is at most ``bound`` (1,000,000 -> 6); at least 1."""
    return max(len(str(bound + 1)) - 1, 1)


def _optionally_quoted(pattern: bytes) -> bytes:
    return rb'(?:"' + pattern + rb'"|' + pattern + rb")"


def try_fast_path(cursor: psycopg2.extensions.cursor, path: Path, layout: FileLayout, scan: FileScan,
                  file_id: int, bounds: Bounds) -> bool:
    """COPY the file as it is, checking its lines as they stream by; keep the result only if all were clean.

    The check runs in this process while the server parses the previous chunk, so it costs next to nothing
    in elapsed time. Everything happens inside a savepoint: a line that is not clean (see ``CleanLines``)
    ends the COPY early, and a value COPY refuses or a product name the validating path would store
    differently rolls the file back to the validating path.
    """
    lines = CleanLines(layout, bounds)
    columns = [name for name, _ in sorted(layout.columns.items(), key=lambda item: item[1])]
    with savepoint(cursor, "fast_path") as point:
        try:
            with open_scanned(path, scan) as stream, progress(path, "loading") as on_bytes:
                reader = _CheckingReader(stream, lines, on_bytes, path)
                cursor.copy_expert(copy_into(columns, layout.delimiter, header=True), reader,
                                   size=COPY_CHUNK_BYTES)
            doubt = _fast_path_doubt(cursor, file_id, lines, scan, bounds)
        except (psycopg2.DataError, psycopg2.IntegrityError) as error:
            doubt = _shape_doubt(lines) or f"COPY refused a value: {first_line(error)}"
        if doubt is not None:
            log.info("file %s: plain COPY not usable (%s); validating rows", path, doubt)
            point.rollback()
    return doubt is None


def _fast_path_doubt(cursor: psycopg2.extensions.cursor, file_id: int, lines: CleanLines, scan: FileScan,
                     bounds: Bounds) -> str | None:
    """Why the COPYed rows might differ from what the validating path would store, or None; builds the rollup."""
    if not lines.finish():
        return _shape_doubt(lines)
    if not cursor.rowcount == lines.lines == scan.data_lines:
        return f"{cursor.rowcount} records for {scan.data_lines} lines"
    build_rollup(cursor, file_id)
    dates_out_of_range, names_to_check = _rollup_doubts(cursor, file_id, bounds)
    if dates_out_of_range:
        return "a date is out of range"
    if names_to_check and not _products_as_validated(cursor.connection, file_id, bounds):
        return "a product name is empty, too long, has control characters or spaces around it"
    return None


def _shape_doubt(lines: CleanLines) -> str | None:
    """Why not every line seen was clean (the COPY then stopped early, possibly mid-line), or None."""
    return None if lines.clean else f"a line after line {lines.lines + 1} is not in the plain canonical shape"


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


class _CheckingReader(io.RawIOBase):
    """The file's bytes on their way to COPY: checked by ``CleanLines`` (the stream ends early at the first line
    that is not clean), counted for the progress bar, and logged every million lines for whoever reads the log."""

    def __init__(self, stream: IO[bytes], lines: CleanLines, on_bytes: Callable[[int], object], path: Path) -> None:
        self._stream = stream
        self._lines = lines
        self._on_bytes = on_bytes
        self._path = path
        self._logged_millions = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        if not self._lines.feed(data):
            return b""
        self._on_bytes(len(data))
        if self._lines.lines // LOG_EVERY_ROWS > self._logged_millions:
            self._logged_millions = self._lines.lines // LOG_EVERY_ROWS
            log.info("file %s: %d lines copied", self._path, self._lines.lines)
        return data
