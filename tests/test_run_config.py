"""The run configuration (settings + flags, validated once), main() in-process, and the classification of
connection and embedded start-up failures."""

from __future__ import annotations

import io
import logging
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import psycopg2
import pytest
from processes import embedded_data_dir

import cli
import errors
import logger_config
import main
from autosight.connect_failure import Cause, classify_message
from settings import SETTING_NAMES, load_settings

PROJECT_DIR = Path(__file__).resolve().parents[1]


def test_env_example_documents_every_setting_and_no_other() -> None:
    text = (PROJECT_DIR / ".env.example").read_text()
    documented = re.findall(r"^# ([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE)

    assert sorted(documented) == sorted(SETTING_NAMES)


def test_help_and_readme_name_every_setting() -> None:
    help_text = cli.build_parser().format_help()
    readme = (PROJECT_DIR / "README.md").read_text()

    assert [name for name in SETTING_NAMES if name not in help_text] == []
    assert [name for name in SETTING_NAMES if f"`{name}`" not in readme] == []


def test_only_the_listed_settings_are_read() -> None:
    settings = load_settings({"LOG_FILE": "x.log", "NOT_A_SETTING": "1", "MA_WINDOW": "7"})

    assert (settings.log_file, settings.ma_window) == (Path("x.log"), 7)


def test_only_the_schedulers_mark_in_the_environment_leaves_the_record_to_the_scheduler(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("AUTOSIGHT_STARTED_BY=scheduler\n")  # not a setting: .env cannot say it

    assert cli.run_config([], {}).recorded
    assert cli.run_config([], {"AUTOSIGHT_STARTED_BY": "cron"}).recorded
    assert not cli.run_config([], {"AUTOSIGHT_STARTED_BY": "scheduler"}).recorded


def test_the_reject_threshold_is_one_decimal_from_the_flag_or_the_setting(tmp_path: Path) -> None:
    from_flag = cli.run_config(["--reject-threshold", "12.5"], {"REJECT_THRESHOLD_PCT": "3"})
    from_setting = cli.run_config([], {"REJECT_THRESHOLD_PCT": "0.1"})

    assert from_flag.settings.reject_threshold_pct == Decimal("12.5")
    assert from_setting.settings.reject_threshold_pct == Decimal("0.1")
    assert type(from_flag.settings.reject_threshold_pct) is Decimal  # not a float made from "12.5"


def test_flags_override_settings_and_the_source_is_kept() -> None:
    config = cli.run_config(["--inbox", "in", "--output-dir", "out", "--days", "7", "--wait", "2.5"],
                            {"OUTPUT_DIR": "elsewhere", "CSV_PATH": "sales.csv"})

    assert (config.inbox, config.settings.output_dir, config.days, config.wait_seconds) == (
        Path("in"), Path("out"), 7, 2.5)
    assert config.settings.csv_path == Path("sales.csv")
    assert (config.csv_files, config.skip_ingest) == ((), False)


def test_main_in_process_writes_help_to_the_given_stream_and_restores_the_process(tmp_path: Path) -> None:
    stdout, stderr = io.StringIO(), io.StringIO()
    handlers = (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT))
    umask = os.umask(0o022)
    try:
        status = main.main(["--help"], {}, stdout, stderr)
        after = os.umask(0o022)
    finally:
        os.umask(umask)

    assert (status, stderr.getvalue()) == (0, "")
    assert "exit status:" in stdout.getvalue()
    assert after == 0o022
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == handlers


class _SignalledWhileWriting(io.StringIO):
    """A log stream that gets SIGTERM in the middle of a write, as a run waiting for the lock did under CI."""

    def write(self, text: str) -> int:
        os.kill(os.getpid(), signal.SIGTERM)
        return super().write(text)


def test_sigterm_inside_a_log_write_still_stops_the_run() -> None:
    # logging's emit catches Exception (and prints "--- Logging error ---"): the signal must not be swallowed there.
    logger = logging.getLogger("autosight.test-signal")
    handler = logging.StreamHandler(_SignalledWhileWriting())
    logger.addHandler(handler)
    try:
        with pytest.raises(errors.Interrupted, match="stopped by SIGTERM"), main._process_setup():
            logger.warning("another run holds the lock: waiting for it")
            pytest.fail("the run carried on after SIGTERM")
    finally:
        logger.removeHandler(handler)


def test_a_failed_run_in_process_leaves_no_log_handler_behind(run_main, tmp_path: Path) -> None:
    application = logging.getLogger(logger_config.ROOT_LOGGER_NAME)
    before = list(application.handlers)
    result = run_main("--csv", str(tmp_path / "missing.csv"))

    assert result.returncode == errors.NO_INPUT
    assert list(application.handlers) == before
    assert "missing.csv: no such file" in (tmp_path / "autosight.log").read_text()


@pytest.mark.parametrize(("message", "cause", "sqlstate"), [
    # What a server with lc_messages = 'de_DE' sends back (libpq VERBOSE layout), then French and Russian.
    ('connection to server at "db" (10.0.0.5), port 5432 failed: FATAL:  28P01: Passwort-Authentifizierung für '
     'Benutzer »clerk« fehlgeschlagen\n', Cause.CREDENTIALS, "28P01"),
    ('connection to server on socket "/run/.s.PGSQL.5432" failed: FATAL:  3D000: la base de données « ventes » '
     "n'existe pas\n", Cause.CONFIGURATION, "3D000"),
    ('connection to server at "db", port 5432 failed: ВАЖНО:  28000: роль "clerk" не существует\n',
     Cause.CONFIGURATION, "28000"),
    ('connection to server at "db", port 5432 failed: FATAL:  57P03: das Datenbanksystem startet\n',
     Cause.UNAVAILABLE, "57P03"),
    ('connection to server at "db", port 5432 failed: FATAL:  53300: sorry, too many clients already\n',
     Cause.UNAVAILABLE, "53300"),
    ('connection to server at "127.0.0.1", port 5999 failed: Connection refused\n\tIs the server running?\n',
     Cause.UNAVAILABLE, None),
])
def test_connection_failures_are_classified_by_sqlstate_in_any_language(message: str, cause: Cause,
                                                                         sqlstate: str | None) -> None:
    diagnosis = classify_message(message)

    assert (diagnosis.cause, diagnosis.sqlstate) == (cause, sqlstate)


@pytest.mark.parametrize("url", [
    "postgresql://postgres@127.0.0.1:5432/postgres?sslmode=bogus",
    "postgresql://postgres@127.0.0.1:abc/postgres",
], ids=["sslmode", "port"])
def test_a_bad_connection_option_exits_78_at_once(run_main, tmp_path: Path, url: str) -> None:
    result = run_main("--skip-ingest", env={"DATABASE_URL": url, "CONNECT_RETRIES": "3",
                                            "CONNECT_RETRY_DELAY": "5"})

    assert result.returncode == errors.CONFIG
    assert "attempt" not in (tmp_path / "autosight.log").read_text()  # not retried


def test_an_unknown_database_exits_78_at_once(run_main, tmp_path: Path, database_url: str) -> None:
    import psycopg2.extensions

    url = psycopg2.extensions.make_dsn(database_url, dbname="no_such_database_here")
    result = run_main("--skip-ingest", env={"DATABASE_URL": url, "CONNECT_RETRIES": "3", "CONNECT_RETRY_DELAY": "5"})

    assert result.returncode == errors.CONFIG
    assert result.stderr.rstrip().endswith('database "no_such_database_here" does not exist '
                                           "(check the DB_* settings or DATABASE_URL)")


def test_an_embedded_data_dir_that_cannot_be_created_exits_78(run_main) -> None:
    with embedded_data_dir() as data_dir:
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        data_dir.write_text("")  # a file where the folder should be
        result = run_main("--skip-ingest", env={"DATABASE_URL": "", "AUTOSIGHT_DATA_DIR": str(data_dir / "d")})

    assert result.returncode == errors.CONFIG
    assert result.stderr.startswith(f"autosight: error: AUTOSIGHT_DATA_DIR {data_dir / 'd'} cannot be used: ")


def test_an_embedded_cluster_of_another_major_version_exits_78(run_main) -> None:
    with embedded_data_dir() as data_dir:
        (data_dir / "pgdata").mkdir(parents=True)
        (data_dir / "pgdata" / "PG_VERSION").write_text("9.6\n")
        result = run_main("--skip-ingest", env={"DATABASE_URL": "", "AUTOSIGHT_DATA_DIR": str(data_dir)})

    assert result.returncode == errors.CONFIG
    assert "is of PostgreSQL 9.6, the installed embedded server is PostgreSQL" in result.stderr


# --- a server that speaks German ---------------------------------------------------------------------------------

PG15_BIN = Path("/usr/lib/postgresql/15/bin")
GERMAN = "de_DE.UTF-8"


def _can_run_a_german_server() -> bool:
    if os.geteuid() != 0 or not (PG15_BIN / "initdb").is_file():
        return False
    locales = subprocess.run(["locale", "-a"], capture_output=True, text=True, check=False).stdout.split()
    return "de_DE.utf8" in locales


@pytest.fixture(scope="module")
def german_server() -> Iterator[str]:
    """A PostgreSQL 15 of its own whose lc_messages is German, asking for passwords; yields its socket folder."""
    if not _can_run_a_german_server():
        pytest.skip("needs PostgreSQL 15's binaries, the de_DE.UTF-8 locale and root (to run them as postgres)")
    folder = Path(tempfile.mkdtemp(prefix="autosight-de-"))
    shutil.chown(folder, "postgres")
    (folder / "pw").write_text("Richtig-Pa55\n")
    as_postgres = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*as_postgres, str(PG15_BIN / "initdb"), "-D", str(folder / "data"), "-U", "postgres",
                    "-A", "scram-sha-256", f"--pwfile={folder / 'pw'}", "--locale=C.UTF-8",
                    f"--lc-messages={GERMAN}"], check=True, capture_output=True)
    options = f"-c listen_addresses='' -k {folder}"
    subprocess.run([*as_postgres, str(PG15_BIN / "pg_ctl"), "-D", str(folder / "data"), "-o", options,
                    "-l", str(folder / "log"), "-w", "start"], check=True, capture_output=True)
    try:
        yield str(folder)
    finally:
        subprocess.run([*as_postgres, str(PG15_BIN / "pg_ctl"), "-D", str(folder / "data"), "-m", "immediate",
                        "-w", "stop"], check=False, capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def test_a_server_speaking_german_refuses_a_wrong_password_exit_78_at_once(run_main, tmp_path, german_server):
    url = f"postgresql://postgres:Falsch@/postgres?host={german_server}"
    with pytest.raises(psycopg2.OperationalError, match="Passwort-Authentifizierung"):  # the server's own words
        psycopg2.connect(url).close()

    result = run_main("--skip-ingest", env={"DATABASE_URL": url, "CONNECT_RETRIES": "3", "CONNECT_RETRY_DELAY": "5"})

    assert result.returncode == errors.CONFIG
    assert result.stderr.startswith("autosight: error: the database server postgres@")
    assert "refused the credentials" in result.stderr
    assert "attempt" not in (tmp_path / "autosight.log").read_text()  # not retried


def test_a_server_speaking_german_names_a_missing_database_exit_78(run_main, german_server):
    url = f"postgresql://postgres:Richtig-Pa55@/gibtsnicht?host={german_server}"
    result = run_main("--skip-ingest", env={"DATABASE_URL": url, "CONNECT_RETRIES": "3", "CONNECT_RETRY_DELAY": "5"})

    assert result.returncode == errors.CONFIG
    assert "Datenbank »gibtsnicht« existiert nicht" in result.stderr
