"""Database access: which server, connecting (with retries), schema migrations, the run lock.

With no DB_* / DATABASE_URL setting, the embedded PostgreSQL of ``embedded_server.py`` is used: on a
Unix socket inside its owner-only data directory (no TCP port), started and stopped by the run.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg2
import psycopg2.errors
import psycopg2.extensions

from autosight import citus
from autosight.connect_failure import Cause, diagnose
from errors import ConfigError, DatabaseUnavailable, LockHeld, first_line
from logger_config import get_logger
from settings import Settings

log = get_logger(__name__)

SQL_DIR = Path(__file__).resolve().parent / "sql"
# Key of the session-level advisory lock that makes runs mutually exclusive (any constant will do).
RUN_LOCK_KEY = 0x4155_544F_5349  # "AUTOSI"
CONNECT_TIMEOUT_SECONDS = 5
LOCK_POLL_SECONDS = 0.2
LOCK_HELD_START = "another AutoSight run"  # how both lock-held messages begin (the scheduler tells 'busy' by it)
LOCK_HELD = f"{LOCK_HELD_START} holds the lock on this database: try again later, or pass --wait SECONDS"


@dataclass(frozen=True)
class Target:
    """How to reach the database, and a description of it that is safe to log."""

    connect_kwargs: dict[str, object]
    description: str


def target_from_settings(settings: Settings) -> Target:
    """Target for an external server (DATABASE_URL wins over DB_*)."""
    if settings.database_url:
        params = psycopg2.extensions.parse_dsn(_checked_dsn(settings.database_url))
        return Target({"dsn": settings.database_url}, "server " + _describe(params))
    params = dict(settings.db_params)
    kwargs: dict[str, object] = {
        "host": params.get("DB_HOST", "localhost"),
        "port": params.get("DB_PORT", "5432"),
        "dbname": params.get("DB_NAME", "autosight"),
        "user": params.get("DB_USER", os.environ.get("USER", "postgres")),
    }
    if "DB_PASSWORD" in params:
        kwargs["password"] = params["DB_PASSWORD"]
    return Target(kwargs, "server " + _describe({k: str(v) for k, v in kwargs.items()}))


def _checked_dsn(url: str) -> str:
    try:
        psycopg2.extensions.parse_dsn(url)
    except psycopg2.ProgrammingError:
        raise ConfigError("DATABASE_URL is not a valid libpq connection URI") from None
    return url


def _describe(params: dict[str, str]) -> str:
    host = params.get("host", "localhost")
    return f"{params.get('user', '?')}@{host}:{params.get('port', '5432')}/{params.get('dbname', '?')}"


def connect(target: Target, retries: int = 1, retry_delay: float = 1.0) -> psycopg2.extensions.connection:
    """Open a connection, making up to ``retries`` attempts with a growing delay between them.

    A server restarting or briefly unreachable is common at night; wrong credentials, a missing
    database or a bad option are configuration errors, reported at once (told apart by SQLSTATE).
    """
    for attempt in range(1, retries + 1):
        try:
            connection = psycopg2.connect(**target.connect_kwargs, connect_timeout=CONNECT_TIMEOUT_SECONDS)
            connection.set_client_encoding("UTF8")
            return connection
        except psycopg2.OperationalError as error:
            _raise_if_configuration_problem(error, target)
            log.warning("connection to %s failed (attempt %d of %d): %s",
                        target.description, attempt, retries, first_line(error))
            if attempt == retries:
                raise DatabaseUnavailable(
                    f"cannot reach the database {target.description}: {first_line(error)} "
                    "(is the server running? check DB_HOST/DB_PORT or DATABASE_URL)"
                ) from error
            time.sleep(retry_delay * attempt)
    raise AssertionError("unreachable")


def _raise_if_configuration_problem(error: psycopg2.OperationalError, target: Target) -> None:
    diagnosis = diagnose(psycopg2.extensions.make_dsn(**target.connect_kwargs), CONNECT_TIMEOUT_SECONDS)
    if diagnosis.cause is Cause.UNAVAILABLE:
        return
    if diagnosis.cause is Cause.CREDENTIALS:
        raise ConfigError(f"the database {target.description} refused the credentials: "
                          "check DB_USER/DB_PASSWORD or DATABASE_URL") from error
    raise ConfigError(f"{target.description}: {first_line(error)} (check the DB_* settings or DATABASE_URL)") from error


def failure_of_database(error: psycopg2.Error) -> DatabaseUnavailable | None:
    """The user-facing error for a database that failed mid-run, or None if ``error`` is a bug instead.

    A broken connection surfaces as an OperationalError, or as an InterfaceError ("connection
    already closed") raised while rolling back after one; the OperationalError tells what happened.
    """
    cause: BaseException | None = error
    while cause is not None and not isinstance(cause, psycopg2.OperationalError):
        cause = cause.__context__
    if cause is None:
        return None
    failure = DatabaseUnavailable(f"the database failed during the run: {first_line(cause)} (every file is "
                                  "stored whole or not at all; the next run carries on)")
    failure.__cause__ = error  # the traceback shown by --verbose and logged is the original one
    return failure


@contextlib.contextmanager
def database_target(settings: Settings) -> Iterator[Target]:
    """Yield the target to use for this run, starting (and afterwards stopping) the embedded server if needed."""
    if not settings.uses_embedded_database:
        yield target_from_settings(settings)
        return
    with embedded_server(settings.data_dir) as target:
        yield target


@contextlib.contextmanager
def embedded_server(data_dir: Path) -> Iterator[Target]:
    """The embedded PostgreSQL with its data in ``data_dir``, for the length of the block."""
    import embedded_server  # imported here: it and psutil are of no use to a run on a server

    with embedded_server.embedded_server(data_dir) as dsn:
        yield Target({"dsn": dsn}, f"embedded PostgreSQL in {data_dir.resolve() / 'pgdata'}")


def migration_files() -> list[tuple[int, Path]]:
    """The numbered SQL migrations in sql/, in order.

    Two files with one number would be a silent loss (only the first would ever run, the version being
    recorded once), so that is refused outright.
    """
    files = sorted(SQL_DIR.glob("[0-9][0-9][0-9]_*.sql"))
    numbered = [(int(path.name[:3]), path) for path in files]
    versions = [version for version, _ in numbered]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations in {SQL_DIR} share a number: {[path.name for path in files]}")
    return numbered


def migrate(connection: psycopg2.extensions.connection) -> int:
    """Bring the schema to the latest version; safe to run every time and from concurrent runs.

    On a Citus coordinator the tables are then distributed (``autosight.citus``), also idempotently.
    """
    try:
        return _apply_migrations(connection)
    except psycopg2.errors.InsufficientPrivilege as error:
        raise ConfigError(
            f"the database user may not create or change AutoSight's tables ({first_line(error)}); "
            "connect as the database's owner or GRANT CREATE ON SCHEMA public to this user"
        ) from error


def _apply_migrations(connection: psycopg2.extensions.connection) -> int:
    with connection, connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", (RUN_LOCK_KEY + 1,))
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        cursor.execute("SELECT coalesce(max(version), 0) FROM schema_migrations")
        current = cursor.fetchone()[0]
        for version, path in migration_files():
            if version > current:
                cursor.execute(path.read_text())
                cursor.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, path.name))
                log.info("schema migrated to version %d (%s)", version, path.name)
                current = version
        citus.distribute(cursor)  # on a Citus coordinator; also a database that moved to one after its migrations
    return current


class RunLock:
    """The run lock, held by its own connection: while that connection lives, no other run can start."""

    def __init__(self, connection: psycopg2.extensions.connection) -> None:
        self._connection = connection
        self.acquired_at = datetime.now(UTC)  # what was loaded since, by this process's clock, is this run's

    @property
    def connection(self) -> psycopg2.extensions.connection:
        """The lock's connection (autocommit), for the run's record at its end (autosight/runs.py): one statement,
        no connection of its own to open."""
        return self._connection

    def ensure_held(self) -> None:
        """Fail if the lock's connection was lost (and the lock with it), before another run can overlap this one."""
        try:
            with self._connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except psycopg2.Error as error:
            raise DatabaseUnavailable(f"lost the connection holding the run lock: {first_line(error)} (stopped so "
                                      "that two runs never overlap; the next run carries on)") from error


@contextlib.contextmanager
def run_lock(target: Target, wait_seconds: float = 0.0, retries: int = 1,
             retry_delay: float = 1.0) -> Iterator[RunLock]:
    """Hold a session-level advisory lock on a connection of its own for the whole run.

    Being session-level, PostgreSQL releases it by itself when the process dies, however it dies;
    being on its own connection, no commit or rollback of the work touches it.
    """
    connection = connect(target, retries, retry_delay)
    connection.autocommit = True
    try:
        _acquire(connection, wait_seconds)
        log.info("run lock acquired")
        yield RunLock(connection)
    finally:
        connection.close()


def _acquire(connection: psycopg2.extensions.connection, wait_seconds: float) -> None:
    """Take the lock now, or retry for up to ``wait_seconds``.

    Polling, rather than queueing in the server with pg_advisory_lock, keeps the process responsive
    to SIGTERM while it waits: a signal handler cannot run while libpq blocks in a query.
    """
    deadline = time.monotonic() + wait_seconds
    if _try_lock(connection):
        return
    if wait_seconds <= 0:
        raise LockHeld(LOCK_HELD)
    log.info("another run holds the lock: waiting for it up to %g s", wait_seconds)
    while not _try_lock(connection):
        if time.monotonic() >= deadline:
            raise LockHeld(f"{LOCK_HELD_START} still held the lock after {wait_seconds:g} s of waiting: "
                           "try again later, or wait longer with --wait SECONDS")
        time.sleep(LOCK_POLL_SECONDS)


def _try_lock(connection: psycopg2.extensions.connection) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", (RUN_LOCK_KEY,))
        return bool(cursor.fetchone()[0])
