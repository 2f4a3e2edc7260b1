"""Where the API's figures come from: the report-building code of main.py, cached per data version.

A report for a period is built by ``main.py``'s own steps (``analyse_period``, ``forecast_for``,
``report_for``); the endpoints only select and page parts of it, so the API and
report.json can never disagree. Building one takes 0.1 to 0.3 s on years of data, so reports (and the
encoded responses cut from them) are kept per *data version*: the newest ledger entry. Any ingest, by
this server, by cron's main.py or by another machine, adds a ledger row and so retires every cached
answer at the next request.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

import psycopg2
import psycopg2.extensions
import psycopg2.pool

import db
import main
from analysis import PeriodFilter
from logger_config import get_logger
from settings import Settings

log = get_logger(__name__)

POOL_CONNECTIONS = 8
CACHED_REPORTS = 32
CACHED_RESPONSES = 512
VERSION_TTL_SECONDS = 1.0


def build_period_report(connection: psycopg2.extensions.connection, period: PeriodFilter, settings: Settings,
                        run_id: str) -> dict[str, Any]:
    """report.json's content for ``period`` over what is loaded now, built by main.py's own steps.

    ``data_quality.files`` is empty: it lists a batch run's files; the ledger endpoint lists them all.
    """
    analysis, quality = main.analyse_period(connection, period, settings, [])
    return main.report_for(analysis, main.forecast_for(analysis, settings), quality, run_id, settings)


class _LruCache:
    """A small thread-safe LRU map; computing a missing value happens once per key even under load."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._values: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._lock = threading.Lock()
        self._key_locks: dict[tuple[Any, ...], threading.Lock] = {}

    def peek(self, key: tuple[Any, ...]) -> Any | None:
        """The value of ``key`` if it is cached (never computes)."""
        with self._lock:
            return self._values.get(key)

    def get(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._values:
                    return self._values[key]
            try:
                value = compute()
                with self._lock:
                    self._values[key] = value
                    while len(self._values) > self._size:
                        self._values.popitem(last=False)
            finally:
                # Also when compute raises (an unknown product's 404): one lock per failed key, kept for ever,
                # let any client grow the server's memory without bound, a distinct name a request.
                with self._lock:
                    self._key_locks.pop(key, None)
        return value


class DataSource:
    """Read-only connections to the database, and the cached reports and responses built over them."""

    def __init__(self, target: db.Target, settings: Settings, run_id: str) -> None:
        self.target = target
        self.settings = settings
        self.run_id = run_id
        self._pool = psycopg2.pool.ThreadedConnectionPool(1, POOL_CONNECTIONS, **target.connect_kwargs,
                                                          connect_timeout=db.CONNECT_TIMEOUT_SECONDS)
        # psycopg2's pool raises when all its connections are out; requests wait for one instead.
        self._free = threading.BoundedSemaphore(POOL_CONNECTIONS)
        self._checked: tuple[float, tuple[int, int] | None] = (0.0, None)
        self._reports = _LruCache(CACHED_REPORTS)
        self._responses = _LruCache(CACHED_RESPONSES)

    def close(self) -> None:
        self._pool.closeall()

    @contextlib.contextmanager
    def reading(self) -> Iterator[psycopg2.extensions.connection]:
        """A pooled connection whose every transaction is READ ONLY (a GET can change nothing)."""
        with self._free:
            connection = self._pool.getconn()
            broken = False
            try:
                if not connection.readonly:
                    connection.set_session(readonly=True)
                yield connection
            except psycopg2.Error:
                broken = True
                raise
            finally:
                if not broken and connection.closed == 0:
                    connection.rollback()
                self._pool.putconn(connection, close=broken or connection.closed != 0)

    def version(self) -> tuple[int, int]:
        """The data version: (newest ledger entry, entries). Changes with every ingest, whoever ran it."""
        with self.reading() as connection, connection.cursor() as cursor:
            cursor.execute("SELECT coalesce(max(file_id), 0), count(*) FROM loaded_files")
            newest, entries = cursor.fetchone()
        self._checked = (time.monotonic(), (int(newest), int(entries)))
        return self._checked[1]

    def recent_version(self) -> tuple[int, int] | None:
        """The version read less than VERSION_TTL_SECONDS ago, if any: under load, most requests are then
        answered from memory without a database round trip. An ingest by this server forgets it at once
        (``forget_version``); one by another process (cron) is seen within VERSION_TTL_SECONDS."""
        checked_at, version = self._checked
        return version if version is not None and time.monotonic() - checked_at < VERSION_TTL_SECONDS else None

    def forget_version(self) -> None:
        self._checked = (0.0, None)

    def cached_response(self, key: tuple[Any, ...], version: tuple[int, int]) -> bytes | None:
        cached: bytes | None = self._responses.peek((version, *key))
        return cached

    def report(self, version: tuple[int, int], period: PeriodFilter) -> dict[str, Any]:
        """report.json's content for ``period`` at ``version``."""
        def build() -> dict[str, Any]:
            with self.reading() as connection:
                return build_period_report(connection, period, self.settings, self.run_id)
        return self._reports.get((version, period), build)

    def response(self, key: tuple[Any, ...], version: tuple[int, int], produce: Callable[[], Any]) -> bytes:
        """The encoded JSON answer for ``key`` at ``version``, produced once per version."""
        return self._responses.get((version, *key), lambda: encode(produce()))


def encode(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
