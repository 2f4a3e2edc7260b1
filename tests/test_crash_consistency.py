"""SIGKILL at any moment loses nothing and counts nothing twice; the next run completes the work.

The inbox test kills `python main.py --inbox` at 20 seeded random moments while files are added and
rewritten (new content at a path replaces what that path loaded), checks after every kill that each
file is in the database wholly or not at all and that the last good outputs are intact, then lets a
run finish and compares the totals with a Decimal reference computed here from the files: the exact sum
of quantity x price (prices have 3 decimals; no row is rounded), which the report shows rounded once to
the cent.

The embedded-server tests leave behind what killed runs leave (a server still running, a dead
server's pid file, a half-made cluster) and check that the next run recovers with no manual step,
and stops its server when it ends.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import psutil
import psycopg2
import pytest
from processes import (
    embedded_data_dir,
    environment,
    finish,
    log_says,
    server_processes,
    single_line,
    start_main,
    wait_until,
)

import db
import errors

CENT = Decimal("0.01")
PRODUCTS = ("Espresso Beans 1kg", "Green Tea 100g", "Ceramic Mug", "Milk Frother", "Gift Box", "Oat Milk 1l")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"
KILLS = 20
# Kill moments are drawn over the first run's length, so a run may end before its moment (more often when that
# run was slowed by the load of the moment): such runs are not counted, up to this many runs in all.
MAX_RUNS = 3 * KILLS


@dataclass(frozen=True)
class Content:
    """What loading a file must store: its valid rows' count and exact revenue, its rejected rows' count."""

    rows_loaded: int
    rows_rejected: int
    revenue: Decimal


def write_export(path: Path, rng: random.Random, rows: int) -> Content:
    """Write a sales export, atomically as a careful exporter does, in one of two shapes.

    Canonical (ISO dates) files take the COPY fast path; day-first files with a few bad rows take
    the validating path.
    """
    day_first = rng.random() < 0.5
    start = date(2024, 1, 1) + timedelta(days=rng.randrange(60))
    lines, revenue, rejected = ["sale_date,product_name,quantity,price"], Decimal(0), 0
    for _ in range(rows):
        day = start + timedelta(days=rng.randrange(28))
        quantity, price = rng.randint(-1, 9), Decimal(rng.randrange(5, 50_000)) / 1000
        if day_first and rng.random() < 0.002:
            lines.append(f"{day:%d/%m/%Y},{rng.choice(PRODUCTS)},two,{price}")
            rejected += 1
            continue
        lines.append(f"{day:%d/%m/%Y}" if day_first else day.isoformat())
        lines[-1] += f",{rng.choice(PRODUCTS)},{quantity},{price}"
        revenue += quantity * price
    temporary = path.with_suffix(".part")
    temporary.write_text("\n".join(lines) + "\n")
    os.replace(temporary, path)
    return Content(rows - rejected, rejected, revenue)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Inbox:
    """The inbox folder, and the Content of every version of every file ever written to it."""

    def __init__(self, folder: Path, rng: random.Random) -> None:
        self.folder = folder
        self.rng = rng
        self.by_hash: dict[str, Content] = {}
        self.current: dict[str, Content] = {}
        folder.mkdir()

    def write(self, name: str) -> None:
        path = self.folder / name
        content = write_export(path, self.rng, self.rng.randrange(2_000, 5_000))
        self.by_hash[sha256(path)] = content
        self.current[name] = content

    def total(self) -> Decimal:
        return sum((content.revenue for content in self.current.values()), Decimal(0))


def check_database(database_url: str, inbox: Inbox) -> None:
    """Every file in the database wholly or not at all, in one snapshot: ledger, rows, rollup, rejects."""
    connection = psycopg2.connect(database_url)
    connection.set_session(isolation_level="REPEATABLE READ", readonly=True)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM loaded_files WHERE rows_read <> rows_loaded + rows_rejected")
            assert cursor.fetchone() == (0,)
            cursor.execute("SELECT source_path FROM loaded_files WHERE status = 'active'"
                           " GROUP BY 1 HAVING count(*) > 1")
            assert cursor.fetchall() == []
            cursor.execute(
                "SELECT f.sha256, f.rows_loaded, f.rows_rejected, s.n, s.revenue, r.revenue, j.n"
                " FROM loaded_files f"
                " LEFT JOIN (SELECT file_id, count(*) AS n, sum(revenue) AS revenue FROM sales_with_revenue"
                "   GROUP BY 1) s USING (file_id)"
                " LEFT JOIN (SELECT file_id, sum(revenue) AS revenue FROM sales_daily_product GROUP BY 1) r"
                "   USING (file_id)"
                " LEFT JOIN (SELECT file_id, count(*) AS n FROM rejected_rows GROUP BY 1) j USING (file_id)"
                " WHERE f.status = 'active'")
            for sha, loaded, rejected, stored_rows, stored, rollup, rejects in cursor.fetchall():
                expected = inbox.by_hash[sha]
                assert (loaded, rejected) == (expected.rows_loaded, expected.rows_rejected)
                assert (stored_rows or 0, rejects or 0) == (loaded, rejected)
                assert stored == rollup == expected.revenue
            cursor.execute("SELECT count(*) FROM sales_daily_product WHERE file_id NOT IN"
                           " (SELECT file_id FROM loaded_files WHERE status = 'active')")
            assert cursor.fetchone() == (0,)
            cursor.execute("SELECT count(*) FROM sales_data WHERE file_id NOT IN"
                           " (SELECT file_id FROM loaded_files WHERE status = 'active')")
            assert cursor.fetchone() == (0,)
    finally:
        connection.close()


def check_outputs(output_dir: Path) -> None:
    """The last good run's outputs, whole: valid JSON, a complete PNG."""
    report = json.loads((output_dir / "report.json").read_text())
    assert "executive_summary" in report
    for chart in ("revenue.png", "products.png"):
        content = (output_dir / chart).read_bytes()
        assert content.startswith(PNG_SIGNATURE) and content.endswith(PNG_END)


def kill_at_random(run: subprocess.Popen[str], rng: random.Random, log_file: Path, run_seconds: float) -> str:
    """SIGKILL the run: half the time at a moment of its ingestion, otherwise at any moment of its life."""
    if rng.random() < 0.5:
        wait_until(lambda: run.poll() is not None or log_says(log_file, "step ingest started")(), "ingestion")
        time.sleep(rng.uniform(0, 0.3))
    else:
        time.sleep(rng.uniform(0, run_seconds))
    run.send_signal(signal.SIGKILL)
    status, _, stderr = finish(run)
    assert status in (-signal.SIGKILL, 0), stderr  # 0: it finished first
    return "killed" if status else "finished"


def test_inbox_killed_at_20_random_moments_ends_with_exact_totals(database_url, tmp_path):
    rng = random.Random(20240611)
    inbox = Inbox(tmp_path / "inbox", rng)
    for name in ("a.csv", "b.csv"):
        inbox.write(name)
    args = ("--inbox", str(inbox.folder), "--output-dir", "out", "--wait", "60")
    started = time.monotonic()
    assert finish(start_main(*args, cwd=tmp_path, env=environment(database_url)))[0] == 0
    run_seconds = time.monotonic() - started  # kill moments are drawn over a run's length
    for name in ("c.csv", "d.csv", "e.csv", "f.csv"):
        inbox.write(name)

    outcomes: list[str] = []
    while outcomes.count("killed") < KILLS:  # a run that ends before its moment is checked too, but not counted
        assert len(outcomes) < MAX_RUNS, f"only {outcomes.count('killed')} of {len(outcomes)} runs were killed"
        number = len(outcomes)
        inbox.write(sorted(inbox.current)[number % len(inbox.current)])  # new content at a loaded path
        if number in (7, 14):
            inbox.write(f"new{number}.csv")
        log_file = tmp_path / f"run{number}.log"
        run = start_main(*args, cwd=tmp_path, env=environment(database_url, LOG_FILE=str(log_file)))
        outcomes.append(kill_at_random(run, rng, log_file, run_seconds))
        check_database(database_url, inbox)
        check_outputs(tmp_path / "out")

    run = start_main(*args, cwd=tmp_path, env=environment(database_url))
    assert finish(run) == (0, "", "")
    check_database(database_url, inbox)
    totals = query_one(database_url, "SELECT (SELECT sum(revenue) FROM sales_with_revenue),"
                                     " (SELECT sum(revenue) FROM sales_daily_product),"
                                     " (SELECT count(*) FROM loaded_files WHERE status = 'active')")
    assert totals == (inbox.total(), inbox.total(), len(inbox.current))
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert Decimal(str(report["executive_summary"]["total_revenue"])) == inbox.total().quantize(CENT, ROUND_HALF_UP)
    assert list((tmp_path / "out").glob(".*.tmp")) == []  # the temporary files of killed runs are gone


def query_one(database_url: str, statement: str) -> tuple:
    connection = psycopg2.connect(database_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(statement)
            return cursor.fetchone()
    finally:
        connection.close()


# ---------------------------------------------------------------------------------------------
# The embedded server after a crash


SALES = "sale_date,product_name,quantity,price\n2024-05-01,Tea,2,3.50\n2024-05-02,Coffee,1,12.25\n"
SALES_REVENUE = Decimal("19.25")


@pytest.fixture
def data_dir() -> Iterator[Path]:
    with embedded_data_dir() as folder:
        yield folder


@pytest.fixture
def embedded(tmp_path: Path, data_dir: Path) -> dict[str, str]:
    """The environment of a run on the embedded server in data_dir (no DATABASE_URL), with sales.csv to load."""
    (tmp_path / "sales.csv").write_text(SALES)
    return environment(None, AUTOSIGHT_DATA_DIR=str(data_dir))


def pgdata_of(data_dir: Path) -> Path:
    return (data_dir / "pgdata").resolve()


def run_embedded(tmp_path: Path, env: dict[str, str], *args: str) -> tuple[int, str, str]:
    return finish(start_main(*args, cwd=tmp_path, env=env))


@contextmanager
def server_session(data_dir: Path) -> Iterator[psycopg2.extensions.connection]:
    """A connection to the embedded server of data_dir, registered with it like a run is."""
    with db.embedded_server(data_dir) as target:
        connection = psycopg2.connect(**target.connect_kwargs)
        connection.autocommit = True
        try:
            yield connection
        finally:
            connection.close()


def reported_revenue(tmp_path: Path, env: dict[str, str]) -> Decimal:
    """Total revenue in the database, as a --skip-ingest run reports it (a run of its own: the library keeps one
    handle per server and process, so the test process does not open the same server twice)."""
    assert run_embedded(tmp_path, env, "--skip-ingest", "--output-dir", "check") == (0, "", "")
    report = json.loads((tmp_path / "check" / "report.json").read_text())
    return Decimal(str(report["executive_summary"]["total_revenue"]))


def leave_server_running(tmp_path: Path, data_dir: Path, env: dict[str, str]) -> int:
    """Have a run SIGKILLed while the server is up (it waits for a lock the test holds); return its pid."""
    log_file = tmp_path / "killed.log"
    with server_session(data_dir) as connection:
        connection.cursor().execute("SELECT pg_advisory_lock(%s)", (db.RUN_LOCK_KEY,))
        run = start_main("--csv", "sales.csv", "--wait", "120", cwd=tmp_path, env={**env, "LOG_FILE": str(log_file)})
        wait_until(log_says(log_file, "waiting for it"), "the run to wait for the lock")
        run.send_signal(signal.SIGKILL)
        assert finish(run)[0] == -signal.SIGKILL
    assert len(server_processes(pgdata_of(data_dir))) >= 1  # left running: registered to a dead run
    return run.pid


def test_server_left_running_by_a_killed_run_is_taken_over_and_stopped(tmp_path, data_dir, embedded):
    leave_server_running(tmp_path, data_dir, embedded)

    assert run_embedded(tmp_path, embedded, "--csv", "sales.csv") == (0, "", "")
    assert server_processes(pgdata_of(data_dir)) == []
    assert reported_revenue(tmp_path, embedded) == SALES_REVENUE
    assert server_processes(pgdata_of(data_dir)) == []


def test_a_run_leaves_the_server_running_for_another_process_using_it_and_the_last_one_stops_it(
        tmp_path, data_dir, embedded):
    """The run stops the server itself (not waiting on pg_ctl's 100 ms polls) only when it is the server's last
    user: another process on it (the API server, say) keeps it."""
    with server_session(data_dir) as connection:
        assert run_embedded(tmp_path, embedded, "--csv", "sales.csv") == (0, "", "")
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM loaded_files")
            assert cursor.fetchone() == (1,)
    assert server_processes(pgdata_of(data_dir)) == []
    assert run_embedded(tmp_path, embedded, "--skip-ingest") == (0, "", "")
    assert server_processes(pgdata_of(data_dir)) == []


def test_dead_server_whose_pid_was_reused_is_restarted(tmp_path, data_dir, embedded):
    assert run_embedded(tmp_path, embedded, "--csv", "sales.csv") == (0, "", "")
    leave_server_running(tmp_path, data_dir, embedded)
    pid_file = pgdata_of(data_dir) / "postmaster.pid"
    postmaster = psutil.Process(int(pid_file.read_text().split()[0]))
    postmaster.kill()
    wait_until(lambda: server_processes(pgdata_of(data_dir)) == [], "the server to die")
    with subprocess.Popen(["sleep", "300"]) as stranger:  # after a reboot, an unrelated process has the pid
        lines = pid_file.read_text().splitlines()
        pid_file.write_text("\n".join([str(stranger.pid), *lines[1:]]) + "\n")

        status = run_embedded(tmp_path, embedded, "--skip-ingest")
        assert stranger.poll() is None  # left alone
        stranger.kill()

    assert status == (0, "", "")
    assert reported_revenue(tmp_path, embedded) == SALES_REVENUE
    assert server_processes(pgdata_of(data_dir)) == []


def test_first_run_killed_while_creating_the_cluster_is_redone(tmp_path, data_dir, embedded):
    run = start_main("--csv", "sales.csv", cwd=tmp_path, env=embedded)
    wait_until(lambda: any(data_dir.glob("pgdata.init-*")), "the cluster to be initialised")
    run.send_signal(signal.SIGKILL)
    finish(run)
    assert any(data_dir.glob("pgdata.init-*")) and not (data_dir / "pgdata").exists()

    assert run_embedded(tmp_path, embedded, "--csv", "sales.csv") == (0, "", "")
    assert list(data_dir.glob("pgdata.init-*")) == []
    assert reported_revenue(tmp_path, embedded) == SALES_REVENUE
    assert [p for p in psutil.process_iter(["cmdline"]) if str(data_dir) in " ".join(p.info["cmdline"] or [])] == []


def test_processes_still_working_in_a_left_over_cluster_are_killed_with_it(tmp_path, data_dir, embedded):
    """initdb's own backends (postgres --boot, --single) get their folder through PGDATA, not their command line,
    and outlive a killed initdb while they finish its script, writing into the folder the next run deletes."""
    staging = data_dir / "pgdata.init-k1lled00"
    (staging / "base").mkdir(parents=True)
    backend = subprocess.Popen(["sleep", "300"], cwd=staging)  # works in the folder; no path on its command line
    try:
        assert run_embedded(tmp_path, embedded, "--csv", "sales.csv") == (0, "", "")
        assert backend.poll() == -signal.SIGKILL  # killed, and waited for, before the folder was deleted
    finally:
        backend.kill()
        backend.wait()
    assert not staging.exists()
    assert reported_revenue(tmp_path, embedded) == SALES_REVENUE


def test_sigterm_stops_the_run_cleanly(tmp_path, data_dir, embedded):
    log_file = tmp_path / "autosight.log"
    with server_session(data_dir) as connection:
        connection.cursor().execute("SELECT pg_advisory_lock(%s)", (db.RUN_LOCK_KEY,))
        run = start_main("--csv", "sales.csv", "--wait", "120", cwd=tmp_path, env=embedded)
        wait_until(log_says(log_file, "waiting for it"), "the run to wait for the lock")
        run.send_signal(signal.SIGTERM)
        status, stdout, stderr = finish(run)
        handles = json.loads((pgdata_of(data_dir) / ".handle_pids.json").read_text())

    assert (status, stdout) == (errors.TRY_AGAIN, "")
    assert single_line(stderr) == ("autosight: error: stopped by SIGTERM: nothing half-stored; "
                                   "the next run carries on")
    assert handles == [os.getpid()]  # the run deregistered from the server on its way out
    assert server_processes(pgdata_of(data_dir)) == []  # so the last user stopped it
