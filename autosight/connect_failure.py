"""Why a connection attempt failed, told by SQLSTATE rather than by the text of the message.

psycopg2 gives no SQLSTATE for a failed connection (``OperationalError.pgcode`` is None: the error
is raised by libpq, not by a query), and the server writes its part of the message in the language
of its ``lc_messages``: matching English text would take a German server's "Passwort-Authentifizierung
... fehlgeschlagen" for an outage, retry it and exit 75. libpq does receive the SQLSTATE, and shows
it in the message when the connection's error verbosity is VERBOSE; that has to be set before the
server answers, which only libpq's non-blocking connect allows. So, after a failure, this module
repeats the attempt once through libpq itself (the very library psycopg2 is linked to, reached
through psycopg2's extension module) with VERBOSE errors, and reads the SQLSTATE off the message.
"""

from __future__ import annotations

import enum
import re
import select
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import psycopg2._psycopg
import psycopg2.extensions

if TYPE_CHECKING:
    import ctypes

# libpq's enums (libpq-fe.h): ConnStatusType, PostgresPollingStatusType, PGVerbosity.
CONNECTION_BAD = 1
POLLING_FAILED, POLLING_READING, POLLING_WRITING, POLLING_OK = 0, 1, 2, 3
ERRORS_VERBOSE = 2
# "FATAL:  28P01: password ..." (the severity word is translated, the SQLSTATE and the layout are not).
SQLSTATE_IN_MESSAGE = re.compile(r":  ([0-9A-Z]{5}): ")
# SQLSTATE classes no retry can cure: 28 invalid authorization (wrong password, unknown role, no
# pg_hba.conf entry, role not permitted to log in), 3D invalid catalog name (no such database),
# 42 insufficient privilege (no CONNECT on the database), 0A feature not supported (protocol).
CONFIGURATION_CLASSES = ("28", "3D", "42", "0A")


# invalid_password: a wrong password (or, with SCRAM, a failed exchange).
CREDENTIALS_REFUSED = "28P01"


class Cause(enum.Enum):
    CREDENTIALS = "credentials"  # wrong or missing password: exit 78 at once
    CONFIGURATION = "configuration"  # other names or options: exit 78 at once
    UNAVAILABLE = "unavailable"  # no answer, or the server is starting, stopping or full: retry, then 75


@dataclass(frozen=True)
class Diagnosis:
    cause: Cause
    sqlstate: str | None = None


def diagnose(conninfo: str, timeout_seconds: float) -> Diagnosis:
    """Attempt the connection of ``conninfo`` once more and tell why it fails.

    A connection that now succeeds, or libpq that cannot be reached, counts as UNAVAILABLE: retrying
    is then the safe answer.
    """
    try:
        libpq = _libpq()
    except (OSError, AttributeError):
        return Diagnosis(Cause.UNAVAILABLE)
    connection = libpq.PQconnectStart(conninfo.encode())
    if not connection:
        return Diagnosis(Cause.UNAVAILABLE)
    try:
        if libpq.PQstatus(connection) == CONNECTION_BAD:  # failed before any network traffic
            return Diagnosis(Cause.CONFIGURATION if _options_refused(libpq, conninfo) else Cause.UNAVAILABLE)
        libpq.PQsetErrorVerbosity(connection, ERRORS_VERBOSE)
        if _poll_until_done(libpq, connection, time.monotonic() + timeout_seconds) == POLLING_OK:
            return Diagnosis(Cause.UNAVAILABLE)
        if libpq.PQconnectionNeedsPassword(connection):
            return Diagnosis(Cause.CREDENTIALS)  # the server asks for a password and none was given
        return classify_message(libpq.PQerrorMessage(connection).decode(errors="replace"))
    finally:
        libpq.PQfinish(connection)


def _options_refused(libpq: ctypes.CDLL, conninfo: str) -> bool:
    """Whether libpq refuses the options themselves (a bad port or sslmode), rather than the host name (which
    may not resolve for a while): the same options with a numeric host must then fail at once too."""
    numeric_host = psycopg2.extensions.make_dsn(conninfo, host="127.0.0.1", hostaddr="127.0.0.1")
    connection = libpq.PQconnectStart(numeric_host.encode())
    try:
        return bool(connection) and libpq.PQstatus(connection) == CONNECTION_BAD
    finally:
        libpq.PQfinish(connection)


def classify_message(message: str) -> Diagnosis:
    """The diagnosis of a VERBOSE libpq connection error message, by the SQLSTATE in it (in any language)."""
    codes = SQLSTATE_IN_MESSAGE.findall(message)
    if not codes:
        return Diagnosis(Cause.UNAVAILABLE)  # no server answered (refused, timed out, unknown host)
    code = codes[-1]  # with several hosts, the last one tried
    if code == CREDENTIALS_REFUSED:
        return Diagnosis(Cause.CREDENTIALS, code)
    return Diagnosis(Cause.CONFIGURATION if code[:2] in CONFIGURATION_CLASSES else Cause.UNAVAILABLE, code)


def _poll_until_done(libpq: ctypes.CDLL, connection: int, deadline: float) -> int:
    status = POLLING_WRITING
    while status in (POLLING_READING, POLLING_WRITING):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return POLLING_FAILED
        socket = libpq.PQsocket(connection)
        if socket >= 0:  # -1 between two hosts' attempts: poll at once
            readable, writable = ([socket], []) if status == POLLING_READING else ([], [socket])
            select.select(readable, writable, [], remaining)
        status = libpq.PQconnectPoll(connection)
    return int(status)


def _libpq() -> ctypes.CDLL:
    """libpq's functions, looked up through psycopg2's extension module, which is linked to it."""
    import ctypes  # imported here: only a failed connection needs it, and every run paid 2 ms for it

    library = ctypes.CDLL(psycopg2._psycopg.__file__)
    library.PQconnectStart.restype = ctypes.c_void_p
    library.PQconnectStart.argtypes = [ctypes.c_char_p]
    for name in ("PQstatus", "PQconnectPoll", "PQsocket", "PQconnectionNeedsPassword", "PQfinish"):
        getattr(library, name).argtypes = [ctypes.c_void_p]
    library.PQsetErrorVerbosity.argtypes = [ctypes.c_void_p, ctypes.c_int]
    library.PQerrorMessage.restype = ctypes.c_char_p
    library.PQerrorMessage.argtypes = [ctypes.c_void_p]
    return library
