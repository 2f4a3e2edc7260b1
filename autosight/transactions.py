"""Transactions visible where they happen: ``with transaction(connection) as cursor`` and
``with savepoint(cursor, name) as point``.

psycopg2's ``with connection`` commits or rolls back but hides where a unit of work starts; these say it
in the code that does the work, and a savepoint can be abandoned on purpose (``point.rollback()``) without
raising, for a result that is a value (a refused file) rather than an error.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import psycopg2.extensions
from psycopg2 import sql


@contextlib.contextmanager
def transaction(connection: psycopg2.extensions.connection) -> Iterator[psycopg2.extensions.cursor]:
    """One transaction: committed when the block ends normally, rolled back when it raises."""
    with connection, connection.cursor() as cursor:
        yield cursor


class Savepoint:
    """An open savepoint; ``rollback()`` undoes the work done since it was taken (the block then ends it)."""

    def __init__(self, cursor: psycopg2.extensions.cursor, name: str) -> None:
        self.cursor = cursor
        self.name = sql.Identifier(name)
        self.rolled_back = False

    def rollback(self) -> None:
        self.cursor.execute(sql.SQL("ROLLBACK TO SAVEPOINT {}").format(self.name))
        self.rolled_back = True


@contextlib.contextmanager
def savepoint(cursor: psycopg2.extensions.cursor, name: str) -> Iterator[Savepoint]:
    """A savepoint around a block: released when the block ends, rolled back to first if it raised."""
    point = Savepoint(cursor, name)
    cursor.execute(sql.SQL("SAVEPOINT {}").format(point.name))
    try:
        yield point
    except BaseException:
        point.rollback()
        cursor.execute(sql.SQL("RELEASE SAVEPOINT {}").format(point.name))
        raise
    cursor.execute(sql.SQL("RELEASE SAVEPOINT {}").format(point.name))
