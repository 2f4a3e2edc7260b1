"""Where a loaded file's rows live: its ledger row in ``loaded_files``, its rows in ``sales_data`` (under its
``file_id``), its rejected rows and its per-day-per-product rollup.

Every function here takes the cursor of the caller's transaction: they are the storage steps of a load,
grouped so that the storage design can change in one place. One table for every file's rows, not a partition
per file: docs/SCALING.md has the measurements (a partition per file slowed every load and every plan as the
files grew to thousands) and what the design becomes on a Citus cluster, where the same statements run.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import IO

import psycopg2.extensions
from psycopg2 import sql

from autosight.row_gate import RowCounts
from autosight.transactions import transaction
from logger_config import get_logger

log = get_logger(__name__)

# Small enough that several chunks fit in the socket buffer: the server parses while this process reads and
# checks the next one (with 256 KB chunks it waited, and the line check added its whole time to the COPY).
COPY_CHUNK_BYTES = 64 << 10
# How a statement reads one file's rows: through the index on file_id, into an in-memory hash table when it
# aggregates (see build_rollup). Sent in the same round trip as the statement, and undone after it.
FILE_ROWS_PLAN = "SET LOCAL enable_seqscan = off; SET LOCAL enable_sort = off; SET LOCAL work_mem = '64MB'; "
FILE_ROWS_PLAN_UNDONE = ("; SET LOCAL enable_seqscan TO DEFAULT; SET LOCAL enable_sort TO DEFAULT;"
                         " SET LOCAL work_mem TO DEFAULT")


def active_loads(cursor: psycopg2.extensions.cursor, sha256: str, source_path: str) -> tuple[str | None, int | None]:
    """(the path whose active load holds exactly this content, the ``file_id`` of this path's active load), each
    None when there is none; in one round trip, since round trips are much of a small file's load."""
    cursor.execute("SELECT (SELECT source_path FROM loaded_files WHERE sha256 = %s AND status = 'active'),"
                   " (SELECT file_id FROM loaded_files WHERE source_path = %s AND status = 'active')",
                   (sha256, source_path))
    loaded_from, previous_id = cursor.fetchone()
    return loaded_from, previous_id


def retire_load(cursor: psycopg2.extensions.cursor, file_id: int) -> None:
    """Drop the rows of load ``file_id``, an earlier version of a path, in one round trip; the ledger keeps its
    history."""
    cursor.execute("UPDATE loaded_files SET status = 'replaced' WHERE file_id = %(file_id)s; "
                   + FILE_ROWS_PLAN + "DELETE FROM sales_data WHERE file_id = %(file_id)s" + FILE_ROWS_PLAN_UNDONE
                   + "; DELETE FROM sales_daily_product WHERE file_id = %(file_id)s", {"file_id": file_id})


def insert_ledger_row(cursor: psycopg2.extensions.cursor, source_path: str, sha256: str, size_bytes: int,
                      started_at: datetime, status: str = "active", message: str = "") -> int:
    """A new load's ledger row; the rows COPYed afterwards in this transaction belong to it.

    The setting ``autosight.file_id`` (local to the transaction) is the default of ``file_id`` in ``sales_data``
    and ``rejected_rows``: a COPY of the file's own columns then needs no rewriting of the stream, and on Citus
    the coordinator reads it to route each row to its shard.
    The load commits without waiting for its WAL to reach the disk (``synchronous_commit`` off, a 2 to 4 ms
    wait per file here, most of a small file's load): ``make_durable`` waits once for the whole batch.
    """
    cursor.execute(  # one round trip; a CTE because Citus allows no volatile function in RETURNING
        "WITH new AS (INSERT INTO loaded_files (source_path, sha256, size_bytes, status, started_at, message)"
        " VALUES (%s, %s, %s, %s, %s, %s) RETURNING file_id)"
        " SELECT file_id, set_config('autosight.file_id', file_id::text, true),"
        " set_config('synchronous_commit', 'off', true) FROM new",
        (source_path, sha256, size_bytes, status, started_at, message),
    )
    file_id: int = cursor.fetchone()[0]
    return file_id


def make_durable(connection: psycopg2.extensions.connection) -> None:
    """Return once every load committed so far is on disk, so that a file reported loaded survives a crash.

    A transaction with ``synchronous_commit`` off is atomic and ordered like any other; only its wait for the
    disk is skipped, so a server crash (not a crash of this process) can lose the last few commits, each
    whole, and the next run loads those files again. A synchronous commit flushes the WAL up to its own commit
    record, which comes after theirs: one write committed here (a no-op update of the latest ledger row)
    makes the whole batch durable at the price of one wait.
    """
    with transaction(connection) as cursor:
        cursor.execute("UPDATE loaded_files SET finished_at = finished_at"
                       " WHERE file_id = (SELECT max(file_id) FROM loaded_files)")


def _visible_nul(value: object) -> object:
    """``value`` with each NUL of its texts written as '\\x00' (as in a rejected row's raw text): the options hold the
    file's own header names and delimiter, and jsonb cannot hold a NUL (a header 'sale_date\\x00' ended the run
    with exit 70)."""
    if isinstance(value, str):
        return value.replace("\x00", "\\x00")
    if isinstance(value, dict):
        return {_visible_nul(key): _visible_nul(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_visible_nul(item) for item in value]
    return value


def finish_ledger_row(cursor: psycopg2.extensions.cursor, file_id: int, counts: RowCounts,
                      load_options: dict[str, object], replaced_id: int | None,
                      identity: tuple[int | None, int | None]) -> None:
    """The load's counts and options, and the file's identity (inode, mtime in ns) when it was hashed, which
    ``file_identity.unchanged_files`` compares (none for a file too fresh: ``file_identity.trusted_identity``).
    The finishing time is this process's clock, like ``started_at``: Citus refuses a volatile function such as
    clock_timestamp() in a write to a reference table."""
    inode, mtime_ns = identity
    cursor.execute(
        "UPDATE loaded_files SET rows_read = %s, rows_loaded = %s, rows_rejected = %s, load_options = %s,"
        " finished_at = %s, inode = %s, mtime_ns = %s WHERE file_id = %s",
        (counts.read, counts.loaded, counts.rejected, json.dumps(_visible_nul(load_options)), datetime.now(UTC),
         inode, mtime_ns, file_id),
    )
    if replaced_id is not None:
        cursor.execute("UPDATE loaded_files SET replaced_by = %s WHERE file_id = %s", (file_id, replaced_id))


def record_refusal(cursor: psycopg2.extensions.cursor, source_path: str, sha256: str, size_bytes: int,
                   started_at: datetime, message: str, counts: RowCounts, rejects: IO[str]) -> None:
    """A refused file's ledger row and its rejected rows, so that whoever is on call can see why."""
    refused_id = insert_ledger_row(cursor, source_path, sha256, size_bytes, started_at, status="refused",
                                   message=message)
    cursor.execute("UPDATE loaded_files SET rows_read = %s, rows_rejected = %s WHERE file_id = %s",
                   (counts.read, counts.rejected, refused_id))
    store_rejects(cursor, rejects)


def copy_into(columns: Sequence[str], delimiter: str, header: bool) -> sql.Composed:
    """COPY of a file's columns into ``sales_data``; ``file_id``, unless among them, comes from the load's ledger
    row (the column's default)."""
    return sql.SQL("COPY sales_data ({}) FROM STDIN WITH (FORMAT csv, HEADER {}, DELIMITER {})").format(
        sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Literal(header), sql.Literal(delimiter))


def store_rejects(cursor: psycopg2.extensions.cursor, rejects: IO[str]) -> None:
    """The rejected rows (CSV of line, reason, raw text) under the load's ledger row; nothing to do when none."""
    if rejects.seek(0, io.SEEK_END) == 0:
        return
    rejects.seek(0)
    cursor.copy_expert("COPY rejected_rows (line_no, reason, raw_text) FROM STDIN WITH (FORMAT csv)", rejects)


def build_rollup(cursor: psycopg2.extensions.cursor, file_id: int) -> None:
    """Aggregate the file's rows per day and product (exact NUMERIC sums) for the analysis step.

    The file's rows are found through the BRIN index on ``file_id``, with a hash aggregate: the planner's
    statistics cannot know a file loaded a moment ago (it would estimate a few rows, scan the whole table or
    sort a million rows on disk), so it is told, for this statement only (``FILE_ROWS_PLAN``). The ranges the file
    filled are then summarized, so that the next file's rollup reads only its own. Each step is one round trip.

    On Citus the statement runs on the shard that holds the file (``sales_data`` and the rollup are co-located
    by ``file_id``), planned by the worker with the shard's own statistics: the settings stay on the coordinator
    (Citus would send a SET LOCAL along as the whole query text, this INSERT included, and the worker would
    refuse to run it), and the shards' ranges are summarized by autovacuum (``autosummarize``).
    """
    cursor.execute(
        FILE_ROWS_PLAN + "INSERT INTO sales_daily_product (file_id, sale_date, product_name, quantity, revenue,"
        " transactions) SELECT file_id, sale_date, product_name, sum(quantity),"
        " sum(coalesce(line_total, quantity * price)), count(*) FROM sales_data WHERE file_id = %s"
        " GROUP BY file_id, sale_date, product_name",
        (file_id,),
    )
    cursor.execute("SELECT brin_summarize_new_values('sales_data_file_id')" + FILE_ROWS_PLAN_UNDONE)
