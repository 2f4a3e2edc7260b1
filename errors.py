"""Exit codes and the exceptions that carry them (sysexits convention, which suits cron).

Every failure a user can meet is one of these; main.py turns it into one line on stderr and the
exit code below. Anything else is a bug and exits with ``SOFTWARE``.
"""

from __future__ import annotations

from typing import Final

OK = 0
USAGE = 2  # bad command line (argparse uses 2 as well)
INPUT_REFUSED = 65  # EX_DATAERR: a file was refused (format, rejects above threshold, ...)
NO_INPUT = 66  # EX_NOINPUT: an input file or folder is missing or unreadable
SOFTWARE = 70  # EX_SOFTWARE: unexpected internal error (a bug: see the log)
CANT_CREATE = 73  # EX_CANTCREAT: the output folder or log cannot be written
TRY_AGAIN = 75  # EX_TEMPFAIL: another run holds the lock, or the database is unreachable
CONFIG = 78  # EX_CONFIG: bad settings (.env / environment), wrong credentials


class AutoSightError(Exception):
    """A failure with a user-facing message and an exit code."""

    exit_code = SOFTWARE


class UsageError(AutoSightError):
    exit_code = USAGE


class ConfigError(AutoSightError):
    exit_code = CONFIG


class InputRefused(AutoSightError):
    exit_code = INPUT_REFUSED


class InputMissing(AutoSightError):
    exit_code = NO_INPUT


class OutputNotWritable(AutoSightError):
    exit_code = CANT_CREATE


class DatabaseUnavailable(AutoSightError):
    exit_code = TRY_AGAIN


class LockHeld(AutoSightError):
    exit_code = TRY_AGAIN


class Interrupted(BaseException):
    """SIGTERM or SIGINT: raised so that the run unwinds (rollback, lock released, embedded server stopped).

    A BaseException, as KeyboardInterrupt is, and for the same reason: the signal can arrive inside any
    ``except Exception`` (logging's emit, a library's fallback), which would swallow it and let a stopped run
    carry on until cron's kill -9."""

    exit_code = TRY_AGAIN


FAILURES: Final = (AutoSightError, Interrupted)
"""What ends a run with a user-facing message and an exit code: ``except errors.FAILURES``."""


def first_line(error: BaseException) -> str:
    """The first line of an error's message (libpq's run over several), or its type when it has none."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
