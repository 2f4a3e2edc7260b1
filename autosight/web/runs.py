"""The ``runs`` table: what each run the server started (an upload, a scheduled inbox run) did."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import db
from logger_config import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class RunRecord:
    kind: str  # inbox | upload
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


def record_run(target: db.Target, run: RunRecord) -> None:
    """Store ``run``; a database that fails here only costs the record (logged), never the run's work."""
    try:
        connection = db.connect(target)
        try:
            with connection, connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO runs (kind, started_at, finished_at, outcome, exit_code, files, rows_loaded,"
                    " rows_rejected, message) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    (run.kind, run.started_at, run.finished_at, run.outcome, run.exit_code, run.files,
                     run.rows_loaded, run.rows_rejected, run.message))
        finally:
            connection.close()
    except Exception:
        log.error("could not record the %s run in the runs table", run.kind, exc_info=True)


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


def last_run(target: db.Target, kind: str) -> dict[str, object] | None:
    """The newest stored run of ``kind``, for /healthz after a restart."""
    connection = db.connect(target)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute("SELECT kind, started_at, finished_at, outcome, exit_code, files, rows_loaded,"
                           " rows_rejected, message FROM runs WHERE kind = %s ORDER BY run_id DESC LIMIT 1", (kind,))
            row = cursor.fetchone()
    finally:
        connection.close()
    return None if row is None else RunRecord(*row).as_json()
