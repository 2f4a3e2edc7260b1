"""The validating path: every record of a file read in Python with its physical line number and put
through the row gate; good rows and rejects are written to two temporary CSV files for COPY.

No database here: ingestion COPYs what this writes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO

import csv_values
from autosight.progress import progress
from autosight.row_gate import MAX_VALUE_CHARS, Bounds, RawText, Reason, RowCounts, RowParser
from csv_format import FileLayout, FileScan, open_scanned
from errors import InputRefused
from logger_config import get_logger

log = get_logger(__name__)

LOG_EVERY_ROWS = 1_000_000
PROGRESS_EVERY_LINES = 10_000
# Bounds on what the validating path remembers, so that its memory stays flat however large the file:
MAX_DISTINCT_DATES = 100_000  # distinct date texts that choose the file's date format
RAW_DATES_BATCH = 10_000  # raw date texts (times of day included) collected before their times are stripped
MAX_MONEY_SAMPLES = 200_000  # distinct amounts that choose the file's decimal mark
csv.field_size_limit(64 << 20)


def file_conventions(path: Path, layout: FileLayout, scan: FileScan, date_format: str | None) -> tuple[str, bool]:
    """One date format and one decimal mark for the whole file, chosen from its values.

    Dates are compared without their time of day, so a file of timestamps still has few distinct values.
    Beyond MAX_DISTINCT_DATES of them, the format is chosen from those: every row is then parsed strictly with
    it, and a date it does not fit is rejected, never read with its day and month swapped.
    """
    dates: set[str] = set()
    raw_dates: set[str] = set()
    money: set[str] = set()
    date_column = layout.columns["sale_date"]
    money_column = layout.columns["revenue" if "revenue" in layout.columns else "price"]
    with progress(path, "reading", scan.data_lines + 1, "lines") as on_lines:
        for _, row in records(path, layout, scan, on_lines):
            if len(row) != len(layout.header):
                continue
            if len(row[date_column]) <= MAX_VALUE_CHARS:
                raw_dates.add(row[date_column])
            if len(raw_dates) >= RAW_DATES_BATCH:
                _add_dates_without_time(dates, raw_dates)
            if len(money) < MAX_MONEY_SAMPLES and len(row[money_column]) <= MAX_VALUE_CHARS:
                money.add(row[money_column])
    _add_dates_without_time(dates, raw_dates)
    try:
        chosen = csv_values.choose_date_format(dates, date_format)
    except csv_values.DateFormatError as error:
        raise InputRefused(f"{path}: {error}") from None
    return chosen, csv_values.uses_decimal_comma(money)


def _add_dates_without_time(dates: set[str], raw_dates: set[str]) -> None:
    """Move the distinct raw date texts into ``dates`` without their time of day, up to MAX_DISTINCT_DATES."""
    for text in raw_dates:
        if len(dates) >= MAX_DISTINCT_DATES:
            break
        dates.add(csv_values.strip_time(text))
    raw_dates.clear()


def records(path: Path, layout: FileLayout, scan: FileScan, on_lines: Callable[[int], object] | None = None,
            lines_read: list[str] | None = None) -> Iterator[tuple[int, list[str]]]:
    """(first physical line number, fields) of every record after the header, of the bytes scanned.

    Blank records (only spaces, or nothing but delimiters) are not rows. A field too large for the csv module
    (over 64 MB) refuses the file, naming its line. ``lines_read``, when given, holds the physical lines of the
    record just yielded (more than one when a quoted field runs over line breaks).
    """
    with io.TextIOWrapper(open_scanned(path, scan), encoding=layout.encoding, newline="", errors="strict") as text:
        tapped = lines_read if lines_read is not None else []
        reader = csv.reader(_tap(text, tapped) if lines_read is not None else text, delimiter=layout.delimiter)
        to_skip = layout.preamble_rows + 1  # the sep= line, then the header
        last_line = reported = 0
        try:
            for row in reader:
                first_line, last_line = last_line + 1, reader.line_num
                if on_lines and last_line - reported >= PROGRESS_EVERY_LINES:
                    on_lines(last_line - reported)
                    reported = last_line
                if not row or ((not row[0] or row[0].isspace()) and not any(field.strip() for field in row)):
                    tapped.clear()
                    continue
                if to_skip:
                    to_skip -= 1
                    tapped.clear()
                    continue
                yield first_line, row
                tapped.clear()
        except csv.Error as error:
            raise InputRefused(f"{path}: line {last_line + 1}: {error}") from None


def _tap(lines: Iterable[str], into: list[str]) -> Iterator[str]:
    """The lines, each also appended to ``into`` (emptied by the reader of the records after each record)."""
    for line in lines:
        into.append(line)
        yield line


def validate_rows(path: Path, layout: FileLayout, scan: FileScan, date_format: str, decimal_comma: bool,
                  bounds: Bounds, good_rows: IO[str], rejects: IO[str]) -> RowCounts:
    """Every record through the gate: good rows to ``good_rows``, rejects (line, reason, raw text) to ``rejects``."""
    counts = RowCounts()
    parser = RowParser(layout, date_format, decimal_comma, bounds)
    good_writer, reject_writer = csv.writer(good_rows), csv.writer(rejects)
    raw_writer = RawText(layout.delimiter)
    lines: list[str] = []
    with progress(path, "validating", scan.data_lines + 1, "lines") as on_lines:
        for line_no, row in records(path, layout, scan, on_lines, lines):
            if len(lines) > 1:
                _refuse_swallowed_rows(path, parser, layout.delimiter, line_no, lines)
            parsed = parser.parse(row)
            if isinstance(parsed, Reason):
                counts.reject(parsed)
                reject_writer.writerow((line_no, parsed, raw_writer.text(row)))
            else:
                counts.load()
                good_writer.writerow(parsed)
            if counts.read % LOG_EVERY_ROWS == 0:
                log.info("file %s: %d rows validated", path, counts.read)
    return counts


def _refuse_swallowed_rows(path: Path, parser: RowParser, delimiter: str, line_no: int, lines: list[str]) -> None:
    """Refuse the file when a record's quoted field runs over a line that is a sale of its own.

    An unbalanced double quote makes the csv module read on, across line breaks, to the next quote or to the end
    of the file: the rows in between would vanish inside one field (one rejected record, under the threshold), or
    load as one sale with a mangled product name. A real multi-line name holds no line that passes the row gate,
    so such a record is a quoting error, and which rows were meant cannot be known: nothing is stored.
    """
    for offset, line in enumerate(lines[1:], start=1):
        fields = next(csv.reader([line.rstrip("\r\n")], delimiter=delimiter), [])
        if not isinstance(parser.parse(fields), Reason):
            raise InputRefused(
                f"{path}: line {line_no}: a quoted field runs on over line {line_no + offset} "
                f"(to line {line_no + len(lines) - 1}), which reads as a sale of its own: a double quote is not "
                "closed (unbalanced quoting); fix the quoting (nothing stored from the file)")
