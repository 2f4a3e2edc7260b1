"""What cron sees: silence on success, and for each failure its exit code and one line on stderr.

Also one run at a time: the run lock, held by a test (standing in for a long run) or by another
`python main.py`, makes a second run exit 75, or wait for it with --wait.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import psycopg2
import psycopg2.extensions
import pytest
from network import closed_port
from processes import PROJECT_DIR, environment, finish, log_says, single_line, start_main, wait_until

import db
import errors

HEADER = "sale_date,product_name,quantity,price\n"
WAITING = "another run holds the lock: waiting for it"


def write_sales(path: Path, rows: list[tuple[str, str, int, str]]) -> Path:
    path.write_text(HEADER + "".join(f"{day},{product},{quantity},{price}\n" for day, product, quantity, price in rows))
    return path


def revenue_of(rows: list[tuple[str, str, int, str]]) -> Decimal:
    return sum((Decimal(quantity) * Decimal(price) for _, _, quantity, price in rows), Decimal(0))


SALES = [("2024-05-01", "Tea", 2, "3.50"), ("2024-05-02", "Coffee", 1, "12.25"), ("2024-05-02", "Tea", 3, "3.50")]


def query(database_url: str, statement: str, params: tuple = ()) -> list[tuple]:
    connection = psycopg2.connect(database_url)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(statement, params)
            return cursor.fetchall()
    finally:
        connection.close()


def stored_revenue(database_url: str) -> Decimal:
    return query(database_url, "SELECT coalesce(sum(revenue), 0) FROM sales_with_revenue")[0][0]


def schema_exists(database_url: str) -> bool:
    return query(database_url, "SELECT to_regclass('loaded_files') IS NOT NULL")[0][0]


def test_success_prints_nothing(run_main_process, tmp_path, database_url):
    result = run_main_process("--csv", str(write_sales(tmp_path / "sales.csv", SALES)), "--output-dir", "out")

    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert stored_revenue(database_url) == revenue_of(SALES)


def test_unreachable_database_exits_75_after_the_configured_attempts(run_main, tmp_path):
    with closed_port() as port:
        url = f"postgresql://autosight@127.0.0.1:{port}/sales"
        result = run_main("--skip-ingest",
                          env={"DATABASE_URL": url, "CONNECT_RETRIES": "3", "CONNECT_RETRY_DELAY": "0"})

    assert result.returncode == errors.TRY_AGAIN
    line = single_line(result.stderr)
    assert line.startswith(f"autosight: error: cannot reach the database server autosight@127.0.0.1:{port}/"
                           "sales: connection to server at \"127.0.0.1\"")
    assert line.endswith("(is the server running? check DB_HOST/DB_PORT or DATABASE_URL)")
    log = (tmp_path / "autosight.log").read_text()
    assert [f"(attempt {n} of 3)" in log for n in (1, 2, 3)] == [True, True, True]


def test_wrong_password_exits_78_at_once(run_main, tmp_path, password_server):
    result = run_main("--skip-ingest", env={"DATABASE_URL": password_server.url("Wr0ng-Pa55word"),
                                            "CONNECT_RETRIES": "3", "CONNECT_RETRY_DELAY": "0"})

    assert result.returncode == errors.CONFIG
    assert single_line(result.stderr) == (f"autosight: error: the database server clerk@"
                                          f"{password_server.socket_dir}:5432/autosight refused the credentials: "
                                          "check DB_USER/DB_PASSWORD or DATABASE_URL")
    assert "attempt" not in (tmp_path / "autosight.log").read_text()  # a wrong password is not retried


def test_right_password_on_the_same_server_works(run_main, password_server):
    result = run_main("--skip-ingest", env={"DATABASE_URL": password_server.url(password_server.password)})

    assert (result.returncode, result.stderr) == (0, "")


def test_user_without_create_privilege_exits_78(run_main, password_server):
    result = run_main("--skip-ingest", env={"DATABASE_URL": password_server.url("", user="reader")})

    assert result.returncode == errors.CONFIG
    line = single_line(result.stderr)
    assert line.startswith("autosight: error: the database user may not create or change AutoSight's tables")
    assert line.endswith("GRANT CREATE ON SCHEMA public to this user")


def test_unknown_role_on_the_real_server_exits_78(run_main, database_url):
    url = psycopg2.extensions.make_dsn(database_url, user="nobody_at_all")
    result = run_main("--skip-ingest", env={"DATABASE_URL": url})

    assert result.returncode == errors.CONFIG
    line = single_line(result.stderr)
    assert line.startswith("autosight: error: server nobody_at_all@")
    assert line.endswith('role "nobody_at_all" does not exist (check the DB_* settings or DATABASE_URL)')


@pytest.mark.parametrize(("make_args", "message"), [
    (lambda tmp: ["--csv", str(tmp / "sales.csv"), str(tmp / "missing.csv")],
     "{tmp}/missing.csv: no such file (--csv)"),
    (lambda tmp: ["--csv", str(tmp)], "{tmp}: is a folder, not a regular CSV file (--csv)"),
    (lambda tmp: ["--inbox", str(tmp / "missing")], "{tmp}/missing: no such folder (--inbox)"),
    (lambda tmp: ["--inbox", str(tmp / "sales.csv")],
     "{tmp}/sales.csv: is a file, not a folder (--inbox takes a folder of CSV files)"),
], ids=["missing-file", "folder-as-file", "missing-folder", "file-as-folder"])
def test_missing_or_unreadable_input_exits_66_before_loading_anything(run_main, tmp_path, database_url, make_args,
                                                                       message):
    write_sales(tmp_path / "sales.csv", SALES)
    result = run_main(*make_args(tmp_path))

    assert result.returncode == errors.NO_INPUT
    assert single_line(result.stderr) == "autosight: error: " + message.format(tmp=tmp_path)
    assert not schema_exists(database_url)  # refused before the database was touched


def test_missing_csv_path_setting_exits_66(run_main, tmp_path):
    result = run_main(env={"CSV_PATH": "nightly/export.csv"})

    assert result.returncode == errors.NO_INPUT
    assert single_line(result.stderr) == "autosight: error: nightly/export.csv: no such file (CSV_PATH)"


def test_refused_input_exits_65_and_still_reports(run_main, tmp_path):
    refused = tmp_path / "refused.csv"
    refused.write_text("sale_date,product_name,quantity\n2024-01-01,Tea,1\n")
    result = run_main("--csv", str(write_sales(tmp_path / "good.csv", SALES)), str(refused), "--output-dir", "out")

    assert result.returncode == errors.INPUT_REFUSED
    assert single_line(result.stderr) == (
        f"autosight: error: {refused}: missing column(s) price (the unit price; or revenue= for a line total) "
        "(header has: sale_date, product_name, quantity); map the columns with --map, e.g. "
        '--map "sale_date=sale_date,product_name=product_name,quantity=quantity,price=COLUMN"')
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert Decimal(str(report["executive_summary"]["total_revenue"])) == revenue_of(SALES)


def test_output_folder_that_cannot_be_created_exits_73(run_main, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")  # root ignores permissions, but not a path that runs through a regular file
    result = run_main("--skip-ingest", "--output-dir", str(blocker / "out"))

    assert result.returncode == errors.CANT_CREATE
    assert single_line(result.stderr) == (f"autosight: error: cannot create the output folder {blocker}/out: "
                                          f"Not a directory: {blocker}/out")


def test_rejects_csv_that_cannot_be_written_exits_73(run_main, tmp_path):
    (tmp_path / "out" / "rejects.csv").mkdir(parents=True)  # a folder where the rejects file should go
    sales = write_sales(tmp_path / "sales.csv", SALES * 4)
    with sales.open("a") as stream:
        stream.write("2024-05-03,Tea,1,not-a-price\n")
    result = run_main("--csv", str(sales), "--output-dir", "out")

    assert result.returncode == errors.CANT_CREATE
    assert single_line(result.stderr).startswith("autosight: error: cannot write the outputs in out: ")


def test_log_file_that_cannot_be_written_exits_73(run_main, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = run_main("--skip-ingest", env={"LOG_FILE": str(blocker / "autosight.log")})

    assert result.returncode == errors.CANT_CREATE
    assert single_line(result.stderr) == (f"autosight: error: cannot write the log file {blocker}/autosight.log: "
                                          f"File exists: {blocker} (set LOG_FILE to a writable path)")


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("MA_WINDOW", "abc", "MA_WINDOW: 'abc' is not a whole number of at least 1"),
    ("BACKTEST_DAYS", "2", "BACKTEST_DAYS: '2' is not a whole number between 3 and 3660"),
    ("CONNECT_RETRY_DELAY", "-1", "CONNECT_RETRY_DELAY: -1 is negative"),
    ("STRONG_GROWTH_PCT", "-5", "STRONG_GROWTH_PCT: -5 is negative"),
    ("DATABASE_URL", "postgresql://host/db?nonsense=1", "DATABASE_URL is not a valid libpq connection URI"),
])
def test_bad_setting_exits_78(run_main, tmp_path, variable, value, message):
    result = run_main("--skip-ingest", env={variable: value})

    assert result.returncode == errors.CONFIG
    assert single_line(result.stderr) == f"autosight: error: {message}"


def test_bad_setting_in_dotenv_exits_78(run_main, tmp_path):
    (tmp_path / ".env").write_text("STRONG_GROWTH_PCT=lots\n")
    result = run_main("--skip-ingest")

    assert result.returncode == errors.CONFIG
    assert single_line(result.stderr) == "autosight: error: STRONG_GROWTH_PCT: 'lots' is not a number"


@pytest.mark.parametrize(("args", "message"), [
    (["--bogus"], "unrecognized arguments: --bogus"),
    (["--csv", "a.csv", "--inbox", "in"], "argument --inbox: not allowed with argument --csv"),
    (["--days", "0"], "argument --days: '0' is not a whole number of at least 1"),
])
def test_bad_command_line_exits_2_with_one_line(run_main, args, message):
    result = run_main(*args)

    assert result.returncode == errors.USAGE
    assert single_line(result.stderr) == f"autosight: error: {message} (see python main.py --help)"


@pytest.mark.parametrize(("args", "message"), [
    (["--reject-threshold", "150"], "--reject-threshold must be a percentage between 0 and 100"),
    (["--wait", "-1"], "--wait must be a number of seconds, 0 or more"),
    (["--from", "2024-02-01", "--to", "2024-01-01"], "--from 2024-02-01 is after --to 2024-01-01"),
])
def test_bad_flag_value_exits_2(run_main, args, message):
    result = run_main(*args)

    assert result.returncode == errors.USAGE
    assert single_line(result.stderr) == f"autosight: error: {message}"


def run_with_a_bug(tmp_path: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`python main.py ARGS` with the forecasting step replaced by one that divides by zero."""
    program = ("import runpy, sys, forecasting\n"
               "forecasting.forecast_next_day = lambda *args, **kwargs: 1 / 0\n"
               f"sys.argv = ['main.py', *{list(args)!r}]\n"
               f"runpy.run_path({str(PROJECT_DIR / 'main.py')!r}, run_name='__main__')\n")
    env = environment(database_url, PYTHONPATH=str(PROJECT_DIR))
    return subprocess.run([sys.executable, "-c", program], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def test_unexpected_error_exits_70_with_the_traceback_in_the_log(tmp_path, database_url):
    result = run_with_a_bug(tmp_path, database_url, "--skip-ingest")

    assert result.returncode == errors.SOFTWARE
    assert single_line(result.stderr) == ("autosight: unexpected error: ZeroDivisionError: division by zero "
                                          "(details in the log; --verbose shows the traceback)")
    log = (tmp_path / "autosight.log").read_text()
    assert "CRITICAL" in log and "| Traceback (most recent call last):" in log and "| ZeroDivisionError" in log


def test_verbose_prints_the_traceback(tmp_path, database_url):
    result = run_with_a_bug(tmp_path, database_url, "--skip-ingest", "--verbose")

    assert result.returncode == errors.SOFTWARE
    assert result.stderr.startswith("Traceback (most recent call last):")
    assert "in <lambda>" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("autosight: unexpected error: ZeroDivisionError")


def test_verbose_prints_the_traceback_of_an_expected_failure_too(run_main, tmp_path):
    result = run_main("--csv", str(tmp_path / "missing.csv"), "--verbose")

    assert result.returncode == errors.NO_INPUT
    assert "Traceback (most recent call last):" in result.stderr
    assert result.stderr.strip().splitlines()[-1] == f"autosight: error: {tmp_path}/missing.csv: no such file (--csv)"


# ---------------------------------------------------------------------------------------------
# One run at a time


@pytest.fixture
def inbox(tmp_path: Path) -> tuple[Path, Decimal]:
    """A folder of three sales files and their total revenue."""
    folder = tmp_path / "inbox"
    folder.mkdir()
    rows = [[(f"2024-06-{day:02d}", f"Product {n}", n + day % 3, f"{n}.{day:02d}") for day in range(1, 21)]
            for n in range(1, 4)]
    for n, file_rows in enumerate(rows, start=1):
        write_sales(folder / f"day{n}.csv", file_rows)
    return folder, sum((revenue_of(file_rows) for file_rows in rows), Decimal(0))


def test_run_exits_75_while_another_holds_the_lock(run_main, database_url, lock_holder, inbox):
    folder, _ = inbox
    result = run_main("--inbox", str(folder))

    assert result.returncode == errors.TRY_AGAIN
    assert single_line(result.stderr) == f"autosight: error: {db.LOCK_HELD}"
    assert not schema_exists(database_url)  # nothing done: the lock comes before the schema


def test_run_gives_up_waiting_after_wait_seconds(run_main, lock_holder, inbox):
    result = run_main("--inbox", str(inbox[0]), "--wait", "0.2")

    assert result.returncode == errors.TRY_AGAIN
    assert single_line(result.stderr) == ("autosight: error: another AutoSight run still held the lock after 0.2 s of "
                                          "waiting: try again later, or wait longer with --wait SECONDS")


def test_of_two_concurrent_runs_exactly_one_does_the_work(database_url, lock_holder, inbox, tmp_path):
    folder, expected = inbox
    first = start_main("--inbox", str(folder), "--wait", "120", cwd=tmp_path,
                       env=environment(database_url, LOG_FILE="first.log"))
    wait_until(log_says(tmp_path / "first.log", WAITING), "the first run to wait for the lock")
    second = start_main("--inbox", str(folder), cwd=tmp_path, env=environment(database_url, LOG_FILE="second.log"))
    second_status, _, second_stderr = finish(second)
    lock_holder.close()  # the "long run" ends: the first run gets the lock
    first_status, first_stdout, first_stderr = finish(first)

    assert (first_status, first_stdout, first_stderr) == (0, "", "")
    assert second_status == errors.TRY_AGAIN
    assert single_line(second_stderr) == f"autosight: error: {db.LOCK_HELD}"
    assert "step ingest" not in (tmp_path / "second.log").read_text()
    assert stored_revenue(database_url) == expected
    assert query(database_url, "SELECT count(*), count(DISTINCT source_path) FROM loaded_files") == [(3, 3)]


def test_runs_that_wait_for_the_lock_both_succeed_and_count_each_sale_once(database_url, lock_holder, inbox, tmp_path):
    folder, expected = inbox
    runs = [start_main("--inbox", str(folder), "--wait", "120", "--output-dir", f"out{n}", cwd=tmp_path,
                       env=environment(database_url, LOG_FILE=f"run{n}.log")) for n in (1, 2)]
    for n in (1, 2):
        wait_until(log_says(tmp_path / f"run{n}.log", WAITING), f"run {n} to wait for the lock")
    lock_holder.close()
    results = [finish(run) for run in runs]

    assert results == [(0, "", ""), (0, "", "")]
    assert stored_revenue(database_url) == expected
    assert query(database_url, "SELECT count(*), count(DISTINCT source_path) FROM loaded_files") == [(3, 3)]
    logs = [(tmp_path / f"run{n}.log").read_text() for n in (1, 2)]
    assert sorted(log.count(": unchanged, read=0") for log in logs) == [0, 3]  # the later run found all loaded
    for n in (1, 2):
        report = json.loads((tmp_path / f"out{n}" / "report.json").read_text())
        assert Decimal(str(report["executive_summary"]["total_revenue"])) == expected


# ---------------------------------------------------------------------------------------------
# The database going away mid-run


@pytest.fixture
def rollup_blocked(database_url: str) -> Iterator[psycopg2.extensions.connection]:
    """Hold an exclusive lock on the rollup table, so that a run loading a file stops, mid-transaction,
    at the rollup of its first file, until the lock is released (or the run's sessions are ended)."""
    connection = psycopg2.connect(database_url)
    db.migrate(connection)
    with connection.cursor() as cursor:
        cursor.execute("LOCK TABLE sales_daily_product IN ACCESS EXCLUSIVE MODE")
    yield connection
    connection.close()


def run_blocked_at_the_rollup(database_url: str, tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    run = start_main(*args, cwd=tmp_path, env=environment(database_url))
    wait_until(lambda: query(database_url, "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
                                           " WHERE c.relname = 'sales_daily_product' AND NOT l.granted")[0][0] == 1,
               "the run to reach the rollup of its first file")
    return run


def lock_session(database_url: str) -> int:
    """Backend pid of the session holding the run lock."""
    ((pid,),) = query(database_url, "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND database ="
                                    " (SELECT oid FROM pg_database WHERE datname = current_database())")
    return pid


def end_sessions_of_the_run(database_url: str, blocker: psycopg2.extensions.connection) -> None:
    """pg_terminate_backend every session of the run (all on the test database but the test's own)."""
    query(database_url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND pid NOT IN (pg_backend_pid(), %s) AND backend_type = 'client backend'",
          (blocker.get_backend_pid(),))


def test_database_going_away_mid_file_exits_75_with_nothing_half_stored(database_url, tmp_path, rollup_blocked,
                                                                       run_main):
    first = write_sales(tmp_path / "first.csv", SALES)
    rollup_blocked.commit()  # let the first file in, then block again
    assert run_main("--csv", str(first)).returncode == 0
    with rollup_blocked.cursor() as cursor:
        cursor.execute("LOCK TABLE sales_daily_product IN ACCESS EXCLUSIVE MODE")
    write_sales(first, [*SALES, ("2024-05-03", "Cake", 1, "4.00")])  # new content: replaces the earlier rows
    second = write_sales(tmp_path / "second.csv", [("2024-05-04", "Scone", 5, "2.10")])

    run = run_blocked_at_the_rollup(database_url, tmp_path, "--csv", str(first), str(second))
    end_sessions_of_the_run(database_url, rollup_blocked)
    status, stdout, stderr = finish(run)
    rollup_blocked.rollback()

    assert (status, stdout) == (errors.TRY_AGAIN, "")
    line = single_line(stderr)  # the server's words vary with the moment the connection broke
    assert line.startswith("autosight: error: the database failed during the run: ")
    assert line.endswith(" (every file is stored whole or not at all; the next run carries on)")
    assert stored_revenue(database_url) == revenue_of(SALES)  # the first version, whole
    assert query(database_url, "SELECT status, count(*) FROM loaded_files GROUP BY status") == [("active", 1)]


def test_losing_the_lock_connection_stops_the_run_before_the_next_file(database_url, tmp_path, rollup_blocked):
    first = write_sales(tmp_path / "first.csv", SALES)
    second = write_sales(tmp_path / "second.csv", [("2024-05-04", "Scone", 5, "2.10")])
    run = run_blocked_at_the_rollup(database_url, tmp_path, "--csv", str(first), str(second))
    lock_pid = lock_session(database_url)
    query(database_url, "SELECT pg_terminate_backend(%s)", (lock_pid,))
    wait_until(lambda: query(database_url, "SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (lock_pid,))[0][0]
               == 0, "the lock's session to end")
    rollup_blocked.rollback()  # the first file's load carries on and commits, whole
    status, _, stderr = finish(run)

    assert status == errors.TRY_AGAIN
    line = single_line(stderr)
    assert line.startswith("autosight: error: lost the connection holding the run lock: ")
    assert line.endswith(" (stopped so that two runs never overlap; the next run carries on)")
    assert stored_revenue(database_url) == revenue_of(SALES)
    assert query(database_url, "SELECT source_path FROM loaded_files") == [(str(first),)]


def test_files_are_checked_readable_with_their_real_permissions(run_main, tmp_path):
    """Only meaningful for a user that permissions stop (tests usually run as root, whom they do not)."""
    if os.geteuid() == 0:
        pytest.skip("root reads any file")
    unreadable = write_sales(tmp_path / "secret.csv", SALES)
    unreadable.chmod(0)
    result = run_main("--csv", str(unreadable))

    assert result.returncode == errors.NO_INPUT
    assert single_line(result.stderr) == f"autosight: error: {unreadable}: cannot be read: Permission denied (--csv)"


def test_a_run_without_rejects_removes_the_previous_rejects_csv(run_main, tmp_path):
    """rejects.csv holds the rejected rows of every file loaded (README "Outputs", since the input work of
    issue 9): once no loaded file has any, a run removes it (before, any run that loaded nothing did)."""
    bad_row = write_sales(tmp_path / "sales.csv", SALES * 4)  # 12 good rows, 1 bad: under the 10 % threshold
    with bad_row.open("a") as stream:
        stream.write("2024-01-09,Tea,lots,2.00\n")
    first = run_main("--csv", str(bad_row), "--output-dir", "out")
    assert first.returncode == 0 and (tmp_path / "out" / "rejects.csv").is_file()
    write_sales(bad_row, SALES * 4)  # the same file, fixed: its load (and its rejected row) is replaced

    second = run_main("--csv", str(bad_row), "--output-dir", "out")

    assert second.returncode == 0
    assert not (tmp_path / "out" / "rejects.csv").exists()
