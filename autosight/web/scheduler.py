"""Scheduled ingestion without cron: every INBOX_INTERVAL_MINUTES the server runs ``main.py --inbox INBOX_DIR``.

It runs main.py itself, in a child process, so a scheduled run is *the* batch run: the same run lock,
outputs (report.json, report.html, charts, rejects.csv), log and exit codes as cron's. A run that finds
the lock held (cron is running) just waits for the next tick. Each outcome is kept in the ``runs``
table as kind 'inbox' (its child, marked as the scheduler's, does not record itself as 'batch') and
shown by /healthz.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import db
import errors
from autosight.runs import RunRecord, last_run, ledger_counts_between, record_run, scheduler_environment
from logger_config import get_logger

log = get_logger(__name__)

MAIN_PY = Path(__file__).resolve().parents[2] / "main.py"
STOP_PATIENCE_SECONDS = 30
OUTCOMES = {errors.OK: "ok", errors.INPUT_REFUSED: "refused"}
BUSY_LINE_START = f"autosight: error: {db.LOCK_HELD_START}"


class InboxScheduler:
    """A daemon thread that runs the inbox pipeline now and then every ``interval_minutes``."""

    def __init__(self, target: db.Target, inbox: Path, interval_minutes: int,
                 on_run: Callable[[], None] = lambda: None) -> None:
        self.target = target
        self._on_run = on_run  # e.g. the API's cache: the run may have loaded files
        self.inbox = inbox
        self.interval_seconds = interval_minutes * 60
        self._stop = threading.Event()
        self._child: subprocess.Popen[str] | None = None
        self._thread = threading.Thread(target=self._loop, name="inbox-scheduler", daemon=True)
        self.last: dict[str, Any] | None = last_run(target, "inbox")

    def describe(self) -> dict[str, Any]:
        return {"inbox": str(self.inbox), "interval_minutes": self.interval_seconds // 60}

    def start(self) -> None:
        log.info("scheduled ingestion: %s every %d min", self.inbox, self.interval_seconds // 60)
        self._thread.start()

    def stop(self) -> None:
        """Stop ticking; a run in progress gets SIGTERM and unwinds as main.py does (nothing half-stored)."""
        self._stop.set()
        child = self._child
        if child is not None and child.poll() is None:
            child.terminate()
            try:
                child.wait(STOP_PATIENCE_SECONDS)
            except subprocess.TimeoutExpired:
                child.kill()
        self._thread.join(STOP_PATIENCE_SECONDS)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self.interval_seconds)

    def run_once(self) -> RunRecord:
        started = datetime.now(UTC)
        code, message = self._run_main()
        finished = datetime.now(UTC)
        files = loaded = rejected = None
        try:
            files, loaded, rejected = ledger_counts_between(self.target, started, finished)
        except Exception:
            log.warning("could not count the inbox run's files", exc_info=True)
        run = RunRecord(kind="inbox", started_at=started, finished_at=finished,
                        outcome=outcome_of(code, message), exit_code=code, files=files, rows_loaded=loaded,
                        rows_rejected=rejected, message=message)
        log.info("scheduled inbox run: exit %d (%s) %s", code, run.outcome, message)
        record_run(self.target, run)
        self._on_run()
        self.last = run.as_json()
        return run

    def _run_main(self) -> tuple[int, str]:
        """(exit code, main.py's one-line error or '') of ``main.py --inbox``."""
        try:
            # Marked as the scheduler's (autosight/runs.py): run_once records it, main.py does not record it too.
            self._child = subprocess.Popen([sys.executable, str(MAIN_PY), "--inbox", str(self.inbox)],
                                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                           stderr=subprocess.PIPE, text=True, env=scheduler_environment())
            _, stderr = self._child.communicate()
            code, line = self._child.returncode, " ".join(stderr.split())[:1000]
            if code < 0 and not line:  # killed before its handlers were installed (a stop at its start)
                line = f"stopped by {signal.Signals(-code).name}"
            return code, line
        except OSError as error:
            return errors.SOFTWARE, f"could not start main.py: {error}"
        finally:
            self._child = None


def outcome_of(code: int, message: str) -> str:
    """A scheduled run's outcome from its child's exit code and stderr line: 'busy' only when another run held
    the lock (exit 75 also ends a run whose database was unreachable, or one stopped by SIGTERM: 'failed')."""
    if code == errors.TRY_AGAIN and message.startswith(BUSY_LINE_START):
        return "busy"
    return OUTCOMES.get(code, "failed")
