"""The ``runs`` table: what each run did, for GET /api/v1/runs and /healthz.

Three kinds: ``batch``, a `python main.py` run (cron's, or anyone's), which records itself; ``inbox``, a run of
the API server's schedule, recorded by the server; ``upload``, an upload to the server. Storing a record never
costs a run its work or changes its exit code: a failure to store it is logged.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

import psycopg2.extensions

import db
from logger_config import get_logger

log = get_logger(__name__)

# Internal, not a setting (never read from .env): the API's scheduler starts its `main.py --inbox` child with
# this variable set to STARTED_BY_SCHEDULER, and the child then leaves its record to the scheduler (kind 'inbox',
# with the exit code the scheduler saw), so that a scheduled run is listed once.
STARTED_BY_VARIABLE = "AUTOSIGHT_STARTED_BY"
STARTED_BY_SCHEDULER = "scheduler"

INSERT_RUN = ("INSERT INTO runs (kind, started_at, finished_at, outcome, exit_code, files, rows_loaded,"
              " rows_rejected, message) ")


@dataclass(frozen=True)
class RunRecord:
    kind: str  # batch | inbox | upload
    started_at: datetime
    finished_at: datetime
    outcome: str  # ok | refused | busy | failed
    exit_code: int | None = None
    files: int | None = None
    rows_loaded: int | None = None
    rows_rejected: int | None = None
    message: str = ""

    def as_json(self) -> dict[str, object]:
        return {"kind": self.kind, "started_at": self.started_at.isoformat(),
                "finished_at": self.finished_at.isoformat(),
                "outcome": self.outcome, "exit_code": self.exit_code, "files": self.files,
                "rows_loaded": self.rows_loaded, "rows_rejected": self.rows_rejected, "message": self.message}


def scheduler_environment() -> dict[str, str]:
    """The environment of a run the scheduler starts: this process's, marked as the scheduler's."""
    return {**os.environ, STARTED_BY_VARIABLE: STARTED_BY_SCHEDULER}


def started_by_scheduler(environ: Mapping[str, str]) -> bool:
    """Whether this run is the API scheduler's child, which the scheduler records itself."""
    return environ.get(STARTED_BY_VARIABLE) == STARTED_BY_SCHEDULER


@contextlib.contextmanager
def _failure_logged(run: RunRecord) -> Iterator[None]:
    """A database that fails here only costs the record (logged), never the run's work or exit code."""
    try:
        yield
    except Exception:
        log.error("could not record the %s run in the runs table", run.kind, exc_info=True)


def record_run(target: db.Target, run: RunRecord) -> None:
    """Store ``run``, on a connection of its own."""
    with _failure_logged(run):
        connection = db.connect(target)
        try:
            with connection, connection.cursor() as cursor:
                cursor.execute(INSERT_RUN + "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                               (run.kind, run.started_at, run.finished_at, run.outcome, run.exit_code, run.files,
                                run.rows_loaded, run.rows_rejected, run.message))
        finally:
            connection.close()


def record_batch_run(lock: db.RunLock, run: RunRecord) -> None:
    """Store a batch run that holds the run lock, in one statement on the lock's connection (no new connection:
    a night with nothing new must not grow), its files and rows counted from the ledger rather than from ``run``:
    the entries started since the lock was taken are exactly the run's (nobody else can load while it is held),
    even those of a run that failed half-way (each file is committed on its own)."""
    with _failure_logged(run), lock.connection.cursor() as cursor:
        cursor.execute(INSERT_RUN + "SELECT %s, %s, %s, %s, %s, count(*), coalesce(sum(rows_loaded), 0),"
                       " coalesce(sum(rows_rejected), 0), %s FROM loaded_files WHERE started_at >= %s",
                       (run.kind, run.started_at, run.finished_at, run.outcome, run.exit_code, run.message,
                        lock.acquired_at))


def ledger_counts_between(target: db.Target, start: datetime, end: datetime) -> tuple[int, int, int]:
    """(ledger entries, rows loaded, rows rejected) written between ``start`` and ``end``.

    Exact for a run that held the run lock over that time: nobody else could load meanwhile.
    """
    connection = db.connect(target)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute("SELECT count(*), coalesce(sum(rows_loaded), 0), coalesce(sum(rows_rejected), 0)"
                           " FROM loaded_files WHERE finished_at BETWEEN %s AND %s", (start, end))
            files, loaded, rejected = cursor.fetchone()
    finally:
        connection.close()
    return int(files), int(loaded), int(rejected)


def newest_run(connection: psycopg2.extensions.connection, kind: str) -> dict[str, object] | None:
    """The newest stored run of ``kind`` as /healthz shows it, or None: one index probe (sql/006)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT kind, started_at, finished_at, outcome, exit_code, files, rows_loaded,"
                       " rows_rejected, message FROM runs WHERE kind = %s ORDER BY run_id DESC LIMIT 1", (kind,))
        row = cursor.fetchone()
    return None if row is None else RunRecord(*row).as_json()


def last_run(target: db.Target, kind: str) -> dict[str, object] | None:
    """The newest stored run of ``kind``, on a connection of its own (the scheduler's, at start)."""
    connection = db.connect(target)
    try:
        with connection:
            return newest_run(connection, kind)
    finally:
        connection.close()
