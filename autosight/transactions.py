"""Transactions visible where they happen: ``with transaction(connection) as cursor``.

psycopg2's ``with connection`` commits or rolls back but hides where a unit of work starts; this says it in the
code that does the work. A load has no savepoints: a file that cannot stay on the fast path, or is refused, has
its transaction rolled back whole and is stored again in a new one (``ingestion.ingest_file``), since two
savepoint statements were a tenth of a small file's round trips.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import psycopg2.extensions


@contextlib.contextmanager
def transaction(connection: psycopg2.extensions.connection) -> Iterator[psycopg2.extensions.cursor]:
    """One transaction: committed when the block ends normally, rolled back when it raises."""
    with connection, connection.cursor() as cursor:
        yield cursor
