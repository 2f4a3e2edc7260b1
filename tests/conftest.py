"""Real PostgreSQL for every test: an embedded server started once per session, or the server of
AUTOSIGHT_TEST_DATABASE_URL when set. Each test gets a database of its own, created empty and
dropped afterwards."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import hypothesis
import psycopg2
import psycopg2.extensions
import pytest
from psycopg2 import sql

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR))

import processes  # noqa: E402

import db  # noqa: E402
import main  # noqa: E402
from autosight import citus, scratch  # noqa: E402

# The properties are about values, not speed: Hypothesis's default 200 ms deadline per example fails a test whose
# example was descheduled or paused by a garbage collection on a loaded CI machine ("Unreliable test timings").
hypothesis.settings.register_profile("autosight", deadline=None)
hypothesis.settings.load_profile("autosight")

CITUS_TEST_SHARDS = 4  # per distributed table, in the tests' own databases (Citus's default is 32)
CITUS_SEQUENTIAL = "-c citus.multi_shard_modify_mode=sequential"


@pytest.fixture(scope="session")
def server_dsn() -> Iterator[str]:
    """A DSN of a database on the test server, used to create and drop the per-test databases."""
    with scratch.server_or_temporary_embedded(os.environ.get("AUTOSIGHT_TEST_DATABASE_URL")) as dsn:
        yield dsn


@pytest.fixture(scope="session")
def server_is_citus(server_dsn: str) -> bool:
    """Whether the test server is a Citus coordinator with workers (the CI's third pass)."""
    return citus.is_coordinator(server_dsn)


@pytest.fixture(scope="session")
def migrated_template(server_dsn: str, server_is_citus: bool) -> Iterator[str | None]:
    """The name of a database with AutoSight's schema, which the databases of the tests that ask for a
    ``connection`` are copied from (a copy costs a fraction of migrating each one); None on Citus, where the
    schema is distributed per database."""
    if server_is_citus:
        yield None
        return
    with scratch.scratch_database(server_dsn, "autosight_template") as dsn:
        conn = psycopg2.connect(dsn)
        try:
            db.migrate(conn)
        finally:
            conn.close()
        yield psycopg2.extensions.parse_dsn(dsn)["dbname"]


@pytest.fixture
def database_url(request: pytest.FixtureRequest, server_dsn: str, server_is_citus: bool) -> Iterator[str]:
    """A fresh database for one test, empty (its schema already made when the test asks for a ``connection``
    too); its DSN is usable as DATABASE_URL.

    On a Citus cluster the database exists on every node with the workers registered, so that the schema is
    distributed as a user's would be; with few shards per table, since each test creates its own.
    """
    if server_is_citus:
        with citus.cluster_database(server_dsn, "autosight_test", shard_count=CITUS_TEST_SHARDS) as dsn:
            yield dsn
        return
    template = request.getfixturevalue("migrated_template") if "connection" in request.fixturenames else None
    with scratch.scratch_database(server_dsn, "autosight_test", template) as dsn:
        yield dsn


@pytest.fixture
def connection(database_url: str, server_is_citus: bool) -> Iterator[psycopg2.extensions.connection]:
    """A connection to a fresh database with AutoSight's schema (copied from ``migrated_template``: migrating
    again here is a no-op that checks the version).

    Tests read tables (all shards at once, on Citus) and then load a file in the same open transaction, which
    the program itself never does; Citus accepts that only over one connection per node, hence the setting.
    """
    conn = psycopg2.connect(database_url, options=CITUS_SEQUENTIAL if server_is_citus else "")
    db.migrate(conn)
    try:
        yield conn
    finally:
        conn.close()


RunMain = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run_main(database_url: str, tmp_path: Path) -> RunMain:
    """Run `main.py ARGS` as a user would, in tmp_path, against the test database: in this process, through
    main.main (its exit status, stdout and stderr returned as by subprocess.run)."""

    def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
        stdout, stderr = io.StringIO(), io.StringIO()
        with contextlib.chdir(cwd or tmp_path):
            status = main.main(list(args), processes.environment(database_url, **(env or {})), stdout, stderr)
        return subprocess.CompletedProcess(["main.py", *args], status, stdout.getvalue(), stderr.getvalue())

    return run


@pytest.fixture
def lock_holder(database_url: str) -> Iterator[psycopg2.extensions.connection]:
    """A connection holding the run lock, as a long run would; released by closing it."""
    connection = psycopg2.connect(database_url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", (db.RUN_LOCK_KEY,))
    yield connection
    connection.close()


@pytest.fixture
def run_main_process(database_url: str, tmp_path: Path) -> RunMain:
    """Run `python main.py ARGS` in a process of its own, for the tests about what the process itself does (what
    cron would mail, exit statuses)."""

    def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, str(PROJECT_DIR / "main.py"), *args], cwd=cwd or tmp_path,
                              env=processes.environment(database_url, **(env or {})), capture_output=True,
                              text=True, timeout=timeout, check=False)

    return run


@dataclass(frozen=True)
class PasswordServer:
    """A real PostgreSQL on which the role ``user`` must give ``password`` (scram-sha-256)."""

    socket_dir: str
    user: str
    password: str

    def url(self, password: str, user: str | None = None) -> str:
        return f"postgresql://{user or self.user}:{password}@/autosight?host={self.socket_dir}"


@pytest.fixture(scope="session")
def password_server() -> Iterator[PasswordServer]:
    """An embedded server of its own whose pg_hba.conf asks one role for its password.

    The shared test servers trust every local connection, so a wrong password can only be refused
    by a server set up for it; it is a real PostgreSQL, never a stand-in.
    """
    folder = Path(tempfile.mkdtemp(prefix="autosight-test-pw-"))
    server = PasswordServer(socket_dir="", user="clerk", password="Right-Pa55word")
    try:
        with db.embedded_server(folder) as target:
            dsn = str(target.connect_kwargs["dsn"])
            _require_password(dsn, server.user, server.password)
            yield dataclasses.replace(server, socket_dir=psycopg2.extensions.parse_dsn(dsn)["host"])
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _require_password(dsn: str, user: str, password: str) -> None:
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute("SET password_encryption = 'scram-sha-256'")
            cursor.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(user),
                                                                              sql.Literal(password)))
            cursor.execute(sql.SQL("GRANT CREATE ON SCHEMA public TO {}").format(sql.Identifier(user)))
            cursor.execute("CREATE ROLE reader LOGIN")  # may connect, may not create tables
            cursor.execute("SHOW hba_file")
            hba = Path(cursor.fetchone()[0])
            hba.write_text(f"local all {user} scram-sha-256\n" + hba.read_text())
            cursor.execute("SELECT pg_reload_conf()")
    finally:
        conn.close()
    _wait_until_password_is_asked(dsn, user)


def _wait_until_password_is_asked(dsn: str, user: str) -> None:
    """pg_reload_conf() only signals the server: wait until new connections see the new rule (up to the tests'
    usual patience: fifty tries in five seconds was a short bound on a loaded machine)."""

    def asked() -> bool:
        try:
            psycopg2.connect(psycopg2.extensions.make_dsn(dsn, user=user, password="not-the-password")).close()
        except psycopg2.OperationalError as error:
            return "password authentication failed" in str(error)
        return False

    processes.wait_until(asked, "the test server to ask for the password")
