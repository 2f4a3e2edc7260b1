"""Loading sales CSV files into PostgreSQL: all-or-nothing per file, idempotent, at COPY speed.

This module orchestrates the load of a file; the steps live in ``autosight/``:

* ``csv_format`` reads the file's shape (encoding, delimiter, header, columns) and its hash;
* ``autosight.copy_path``, the fast path, for a clean canonical file (the four columns, ISO dates, UTF-8): a
  plain COPY of the file into ``sales_data``, every line checked on its way to the server; any doubt rolls
  the file's transaction back and loads the file again through the validating path;
* ``autosight.validating_path``: every record parsed in Python with its physical line number by the row gate
  (``autosight.row_gate``, no database); good rows are COPYed in, bad ones kept with line, raw text and reason;
* ``autosight.file_ledger``: the ledger row, the rows, the rejects and the rollup of a load.

Each file is loaded in one transaction (``autosight.transactions``). Both paths store exactly the same rows
for the same file (tests check it, also for the values that PostgreSQL's input functions read differently
from Python's).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO

import psycopg2.extensions
from psycopg2 import sql

import csv_values
from atomic_io import write_atomically
from autosight import file_identity, file_ledger
from autosight.copy_path import FastPathUnusable, try_fast_path
from autosight.file_ledger import COPY_CHUNK_BYTES
from autosight.plausibility import plausibility_warnings
from autosight.progress import progress
from autosight.row_gate import Bounds, Reason, RowCounts
from autosight.run_results import DataQuality, FileOutcome, RejectsFile
from autosight.transactions import transaction
from autosight.validating_path import file_conventions, validate_rows
from csv_format import (
    CANONICAL_COLUMNS,
    FileLayout,
    FileScan,
    check_unchanged,
    detect_layout,
    is_utf8_name,
    printable_name,
    scan_file,
)
from errors import InputMissing, InputRefused
from logger_config import get_logger

log = get_logger(__name__)

# Characters of the first rejected row quoted in a refusal's message.
MAX_QUOTED_CHARS = 120

# What the validating path writes for COPY: the canonical columns plus the line total (empty: none given).
VALIDATED_COLUMNS = (*CANONICAL_COLUMNS, "line_total")


@dataclass(frozen=True)
class LoadOptions:
    column_map: dict[str, str] = field(default_factory=dict)
    date_format: str | None = None
    encoding: str = "utf-8"
    reject_threshold_pct: Decimal = Decimal("10")
    allow_fast_path: bool = True
    bounds: Bounds = field(default_factory=Bounds)


class RowsRefused(InputRefused):
    """A file refused for its share of rejected rows; carries the counts for the report."""

    def __init__(self, message: str, counts: RowCounts, sha256: str) -> None:
        super().__init__(message)
        self.counts = counts
        self.sha256 = sha256


# ---------------------------------------------------------------------------------------------
# Files to load


def inbox_files(directory: Path) -> list[Path]:
    """Every regular *.csv file in ``directory`` (not recursive), in name order; anything else named *.csv
    (a FIFO, a device, a folder, a dangling link) is skipped with a log line, never opened.

    One ``scandir`` pass: an entry's type comes with the listing (a stat only for a symbolic link), so that an
    inbox of ten years of files costs no system call per file."""
    if not directory.is_dir():
        raise InputMissing(f"{directory}: no such folder (--inbox)")
    with os.scandir(directory) as listing:
        entries = sorted(listing, key=lambda entry: entry.name)
    files = []
    for entry in entries:
        path = directory / entry.name
        if path.suffix.lower() != ".csv":
            continue
        if not is_utf8_name(path):
            log.warning("inbox: skipped %s: its name is not valid UTF-8 (rename it)", printable_name(path))
        elif entry.is_file():
            files.append(path)
        else:
            log.warning("inbox: skipped %s: not a regular file (a folder, FIFO, device or dangling link)", path)
    return files


def ingest_files(connection: psycopg2.extensions.connection, paths: list[Path], options: LoadOptions,
                 before_each: Callable[[], object] = lambda: None) -> list[FileOutcome]:
    """Load each file in its own transaction; a refused file does not stop the others, nor one that vanished
    or became something else than a regular file since it was listed (refused with the reason).

    ``before_each`` runs before each file (main.py checks that the run still holds its lock). The loads are made
    durable once, after the batch: pass all the files at once (a call a file waits for the disk after each)."""
    outcomes: list[FileOutcome] = []
    for path in paths:
        before_each()
        started = time.monotonic()
        try:
            outcome = ingest_file(connection, path, options)
        except (InputRefused, InputMissing) as refusal:
            connection.rollback()
            outcome = _refused_outcome(path, refusal)
            log.error("file %s refused: %s", path, refusal)
        outcomes.append(outcome)
        log.info("file %s: %s, read=%d loaded=%d rejected=%d in %.3f s", path, outcome.status, outcome.rows_read,
                 outcome.rows_loaded, outcome.rows_rejected, time.monotonic() - started)
    if any(outcome.status != "unchanged" for outcome in outcomes):
        file_ledger.make_durable(connection)  # each load committed without waiting for the disk
    return outcomes


def _refused_outcome(path: Path, refusal: InputRefused | InputMissing) -> FileOutcome:
    if isinstance(refusal, RowsRefused):
        counts = refusal.counts
        return FileOutcome(path=str(path.resolve()), sha256=refusal.sha256, status="refused", rows_read=counts.read,
                           rows_loaded=0, rows_rejected=counts.rejected, rejections_by_reason=dict(counts.reasons),
                           message=str(refusal))
    return FileOutcome(path=str(path.resolve()), sha256=None, status="refused", message=str(refusal))


def nothing_loaded_yet(connection: psycopg2.extensions.connection) -> bool:
    """True before the first file is ever loaded (the bundled sample is then loaded)."""
    with transaction(connection) as cursor:
        cursor.execute("SELECT NOT EXISTS (SELECT 1 FROM loaded_files WHERE status <> 'refused')")
        return bool(cursor.fetchone()[0])


def ingest_file(connection: psycopg2.extensions.connection, path: Path, options: LoadOptions) -> FileOutcome:
    """Load one file all-or-nothing; the same content twice is a no-op; new content at a path replaces.

    A file refused for its rejected rows is recorded (ledger row and rejects, nothing else) in a transaction of
    its own once the load's is rolled back, then raised as ``RowsRefused``. The commit does not wait for the disk:
    ``ingest_files`` calls ``file_ledger.make_durable`` once after its batch, and so must any other caller
    before reporting the load.
    """
    source_path = str(path.resolve())
    layout = detect_layout(path, options.encoding, options.column_map)
    with progress(path, "hashing") as on_bytes:
        scan = scan_file(path, layout, on_bytes=on_bytes)
    started_at = datetime.now(UTC)
    try:
        return _store(connection, path, source_path, layout, scan, options, started_at)
    except FastPathUnusable as why:  # raised inside the load's transaction: nothing of that attempt was kept
        log.info("file %s: plain COPY not usable (%s); validating rows", path, why)
        validating = dataclasses.replace(options, allow_fast_path=False)
        return _store(connection, path, source_path, layout, scan, validating, started_at)


def _store(connection: psycopg2.extensions.connection, path: Path, source_path: str, layout: FileLayout,
           scan: FileScan, options: LoadOptions, started_at: datetime) -> FileOutcome:
    """The file's content stored in one transaction, or found stored already; a refusal recorded in its own."""
    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as rejects:
        try:
            with transaction(connection) as cursor:
                loaded_from, previous_id = file_ledger.active_loads(cursor, scan.sha256, source_path)
                if loaded_from is not None:
                    file_identity.remember(cursor, source_path, scan)
                    return _already_loaded(cursor, path, source_path, scan.sha256, loaded_from, previous_id)
                counts = _load_content(cursor, path, source_path, layout, scan, options, rejects, started_at,
                                       previous_id)
        except RowsRefused as refusal:  # raised inside the load's transaction: nothing of the file was kept
            with transaction(connection) as cursor:
                file_ledger.record_refusal(cursor, source_path, scan.sha256, scan.size_bytes, started_at,
                                           str(refusal), refusal.counts, rejects)
            raise
    return FileOutcome(path=source_path, sha256=scan.sha256, status="loaded" if previous_id is None else "replaced",
                       rows_read=counts.read, rows_loaded=counts.loaded, rows_rejected=counts.rejected,
                       rejections_by_reason=dict(counts.reasons))


def _load_content(cursor: psycopg2.extensions.cursor, path: Path, source_path: str, layout: FileLayout,
                  scan: FileScan, options: LoadOptions, rejects: IO[str], started_at: datetime,
                  previous_id: int | None) -> RowCounts:
    """The file's rows stored under a new ledger row, replacing the path's earlier load ``previous_id``; raises
    ``RowsRefused`` when its share of rejected rows passes the threshold."""
    if previous_id is not None:
        file_ledger.retire_load(cursor, previous_id)
    file_id = file_ledger.insert_ledger_row(cursor, source_path, scan.sha256, scan.size_bytes, started_at)
    counts, load_options = _load_rows(cursor, path, layout, scan, file_id, options, rejects)
    check_unchanged(path, scan)
    _refuse_above_threshold(path, counts, options, scan.sha256, rejects)
    file_ledger.store_rejects(cursor, rejects)
    file_ledger.finish_ledger_row(cursor, file_id, counts, load_options, previous_id,
                                  file_identity.trusted_identity(scan))
    if previous_id is not None:
        log.info("path %s has new content: replacing the rows of load %d", source_path, previous_id)
    log.info("file %s: %s path, options %s", path, load_options["path"], json.dumps(load_options))
    return counts


def _already_loaded(cursor: psycopg2.extensions.cursor, path: Path, source_path: str, sha256: str,
                    loaded_from: str, previous_id: int | None) -> FileOutcome:
    """The content is loaded already: nothing to add. If it came from another path, this path's own
    earlier content (``previous_id``) is still replaced (its rows removed), since the path no longer holds it."""
    message = f"same content already loaded from {loaded_from}"
    if loaded_from != source_path and previous_id is not None:
        file_ledger.retire_load(cursor, previous_id)
        message += "; the rows this path loaded before were removed"
    log.info("file %s unchanged: %s (sha256 %s)", path, message, sha256[:12])
    return FileOutcome(path=source_path, sha256=sha256, status="unchanged", message=message)


# ---------------------------------------------------------------------------------------------
# Loading rows


def _load_rows(cursor: psycopg2.extensions.cursor, path: Path, layout: FileLayout, scan: FileScan, file_id: int,
               options: LoadOptions, rejects: IO[str]) -> tuple[RowCounts, dict[str, object]]:
    """The file's rows and its rollup, by the fast path when it applies."""
    base_options: dict[str, object] = {"encoding": layout.encoding, "delimiter": layout.delimiter,
                                       "column_map": options.column_map,
                                       "columns": {name: layout.header[i] for name, i in layout.columns.items()},
                                       "lines_above_header": layout.preamble_rows}
    if _fast_path_applies(layout, scan, options):
        fast = try_fast_path(cursor, path, layout, scan, file_id, options.bounds, rejects)
        return fast, {**base_options, "date_format": csv_values.ISO_FORMAT, "path": "copy"}
    date_format, decimal_comma = file_conventions(path, layout, scan, options.date_format)
    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as good_rows:
        counts = validate_rows(path, layout, scan, date_format, decimal_comma, options.bounds, good_rows, rejects)
        good_rows.seek(0)
        cursor.copy_expert(file_ledger.copy_into(VALIDATED_COLUMNS, ",", header=False), good_rows,
                           size=COPY_CHUNK_BYTES)
    file_ledger.build_rollup(cursor, file_id)
    return counts, {**base_options, "date_format": date_format, "decimal_comma": decimal_comma, "path": "validated"}


def _fast_path_applies(layout: FileLayout, scan: FileScan, options: LoadOptions) -> bool:
    iso_dates = options.date_format in (None, csv_values.ISO_FORMAT)
    return options.allow_fast_path and layout.is_canonical and iso_dates and scan.data_lines > 0


def _refuse_above_threshold(path: Path, counts: RowCounts, options: LoadOptions, sha256: str,
                            rejects: IO[str]) -> None:
    """Raise ``RowsRefused`` for a file whose share of rejected rows passes the threshold.

    Rows read = loaded + rejected holds for a refused file too: its valid rows count as rejected with it
    (reason "file_refused"); only the rows that failed validation are kept one by one.
    """
    if counts.read == 0 or Decimal(counts.rejected) * 100 <= options.reject_threshold_pct * counts.read:
        return
    share = Decimal(counts.rejected) * 100 / counts.read
    message = (f"{path}: {counts.rejected} of {counts.read} rows rejected ({share:.1f} %), above the "
               f"{options.reject_threshold_pct} % threshold (REJECT_THRESHOLD_PCT); file refused, nothing stored "
               f"from it; reasons: {_reasons_text(counts.reasons)}{_hints(counts, options.bounds.currency)}"
               f"{_first_reject(rejects)}")
    refused_counts = RowCounts(read=counts.read, loaded=0, rejected=counts.read,
                               reasons=counts.reasons + Counter({Reason.FILE_REFUSED.value: counts.loaded}))
    raise RowsRefused(message, refused_counts, sha256)


def _first_reject(rejects: IO[str]) -> str:
    """The first rejected row, so that the one line on stderr shows what the values look like (Excel serial
    numbers for dates, amounts in another currency) without opening rejects.csv."""
    rejects.seek(0)
    first = next(csv.reader(rejects), None)
    rejects.seek(0, io.SEEK_END)
    if first is None:
        return ""
    line, reason, raw_text = first
    return f"; first: line {line} ({reason}): {raw_text[:MAX_QUOTED_CHARS]!r}"


def _hints(counts: RowCounts, currency: str) -> str:
    """What to do about the reasons a user may not read at once as a setting or an export's lines."""
    hints = {Reason.SUMMARY_ROW: "summary_row: a report's totals, section or footer lines, not sales; delete them "
                                 "from the export, or pass --reject-threshold",
             Reason.WRONG_CURRENCY: f"wrong_currency: amounts or a currency column in another currency than "
                                    f"CURRENCY={currency}; set CURRENCY if the file is in one other currency"}
    return "".join(f" ({text})" for reason, text in hints.items() if counts.reasons[reason.value])


def _reasons_text(reasons: Counter[str]) -> str:
    return ", ".join(f"{reason} {count}" for reason, count in reasons.most_common())


def check_stored_dates(connection: psycopg2.extensions.connection, bounds: Bounds) -> None:
    """Refuse to analyse sales stored with dates outside the bounds (loaded by an older version, or before
    the bounds were narrowed): a calendar of millennia would run for minutes. Names the file that holds them.

    The rollup's first and last days are read first (two probes of its date index): only when they lie outside
    the bounds is the rollup searched for the file, a scan that took 16 ms a night at 3,650 files."""
    with transaction(connection) as cursor:
        cursor.execute("SELECT min(sale_date) < %s OR max(sale_date) > %s FROM sales_daily_product",
                       (bounds.earliest_date, bounds.latest_date))
        if not cursor.fetchone()[0]:
            return
        cursor.execute("SELECT f.source_path, d.sale_date FROM sales_daily_product d"
                       " JOIN loaded_files f USING (file_id) WHERE f.status = 'active'"
                       " AND d.sale_date NOT BETWEEN %s AND %s LIMIT 1",
                       (bounds.earliest_date, bounds.latest_date))
        found = cursor.fetchone()
    if found is not None:
        raise InputRefused(f"{found[0]}: sales dated {found[1]} are stored, outside {bounds.earliest_date} .. "
                           f"{bounds.latest_date} (EARLIEST_SALE_DATE, MAX_FUTURE_DAYS); load a corrected version "
                           "of that file (it replaces the rows) or widen the bounds")


# ---------------------------------------------------------------------------------------------
# Reporting what was loaded


def data_quality(connection: psycopg2.extensions.connection, outcomes: list[FileOutcome],
                 rejects: RejectsFile | None = None) -> DataQuality:
    """This run's files, the totals over every file currently loaded, and plausibility warnings about the
    files this run loaded."""
    with transaction(connection) as cursor:
        cursor.execute("SELECT coalesce(sum(rows_read), 0), coalesce(sum(rows_loaded), 0),"
                       " coalesce(sum(rows_rejected), 0) FROM loaded_files WHERE status = 'active'")
        rows_read, rows_loaded, rows_rejected = cursor.fetchone()
        cursor.execute("SELECT r.reason, count(*) FROM rejected_rows r JOIN loaded_files f USING (file_id)"
                       " WHERE f.status = 'active' GROUP BY r.reason ORDER BY count(*) DESC, r.reason")
        reasons = {reason: count for reason, count in cursor.fetchall()}
        warnings = plausibility_warnings(cursor, _loaded_file_ids(cursor, outcomes))
    return DataQuality(files=outcomes, rows_read=int(rows_read), rows_loaded=int(rows_loaded),
                       rows_rejected=int(rows_rejected), rejections_by_reason=reasons, warnings=warnings,
                       rejects_csv=rejects)


def _loaded_file_ids(cursor: psycopg2.extensions.cursor, outcomes: list[FileOutcome]) -> list[int]:
    keys = [f"{outcome.path}\n{outcome.sha256}" for outcome in outcomes if outcome.status in ("loaded", "replaced")]
    cursor.execute("SELECT file_id FROM loaded_files WHERE status = 'active' AND source_path || E'\\n' || sha256"
                   " = ANY(%s) ORDER BY file_id", (keys,))
    return [file_id for (file_id,) in cursor.fetchall()]


# A cell a spreadsheet would run as a formula (CSV injection): = + - @, a tab or a carriage return first.
FORMULA_START = r"^[-=+@\t\r]"


def _spreadsheet_text(column: str) -> sql.Composable:
    """``column`` as a rejects.csv cell: one that would start a formula gets a leading ``'``, so that a spreadsheet
    shows the raw text of a hostile row (``=HYPERLINK(...)``, ``@SUM(...)``) instead of running it."""
    return sql.SQL("CASE WHEN {column} ~ {pattern} THEN '''' || {column} ELSE {column} END AS {column}").format(
        column=sql.Identifier(column), pattern=sql.Literal(FORMULA_START))


def write_rejects_csv(connection: psycopg2.extensions.connection, outcomes: list[FileOutcome],
                      path: Path) -> RejectsFile:
    """Write rejects.csv beside the outputs: every rejected row of the files currently loaded, plus those of the
    files refused in this run; no file (an earlier one removed) when there are none.

    The totals of report.json's data_quality count the same rows of the loaded files, so the two always agree,
    a run that loads nothing included. A refused file is found by its path and content, its latest refusal.
    """
    refused = [f"{outcome.path}\n{outcome.sha256}" for outcome in outcomes if outcome.status == "refused"]
    rows = sql.SQL("SELECT f.file_id, f.source_path AS file, r.line_no AS line, r.reason, r.raw_text"
            " FROM rejected_rows r JOIN loaded_files f USING (file_id)"
            " WHERE f.status = 'active' OR f.file_id IN (SELECT max(file_id) FROM loaded_files WHERE status = 'refused'"
            " AND source_path || E'\\n' || sha256 = ANY(%s) GROUP BY source_path, sha256)")
    with transaction(connection) as cursor:
        cursor.execute(sql.SQL("SELECT count(*) FROM ({}) AS rejects").format(rows), (refused,))
        count = int(cursor.fetchone()[0])
        if count == 0:
            path.unlink(missing_ok=True)
            return RejectsFile(path=None, rows=0)
        cells = sql.SQL(", ").join([sql.Identifier("line") if name == "line" else _spreadsheet_text(name)
                                    for name in ("file", "line", "reason", "raw_text")])
        statement = cursor.mogrify(sql.SQL("COPY (SELECT {} FROM ({}) AS rejects"
                                           " ORDER BY file_id, line) TO STDOUT WITH (FORMAT csv, HEADER true)"
                                           ).format(cells, rows), (refused,)).decode()
        write_atomically(path, lambda stream: cursor.copy_expert(statement, stream))
    return RejectsFile(path=str(path), rows=count)
