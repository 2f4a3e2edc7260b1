"""Scratch databases for the tests and the benchmarks, which each check or measure on a clean database.

Not used by a run: kept out of db.py so that the application's database module holds only what runs use.
"""

from __future__ import annotations

import contextlib
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import psycopg2.extensions
from psycopg2 import sql

import db


@contextlib.contextmanager
def scratch_database(server_dsn: str, prefix: str, template: str | None = None) -> Iterator[str]:
    """A new database on the server of ``server_dsn``, dropped afterwards; yields its DSN. Empty, or a copy of
    the database ``template`` (which nobody may be connected to meanwhile).

    For the tests and the benchmarks, which each measure or check on a clean database.
    """
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is not None:
        create = sql.SQL("{} TEMPLATE {}").format(create, sql.Identifier(template))
    _execute_autocommit(server_dsn, create)
    try:
        yield psycopg2.extensions.make_dsn(server_dsn, dbname=name)
    finally:
        drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        _execute_autocommit(server_dsn, drop)


def _execute_autocommit(dsn: str, statement: sql.Composable) -> None:
    """CREATE and DROP DATABASE cannot run inside a transaction block."""
    connection = psycopg2.connect(dsn)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(statement)
    finally:
        connection.close()


@contextlib.contextmanager
def server_or_temporary_embedded(database_url: str | None) -> Iterator[str]:
    """The DSN of ``database_url`` if given, else of an embedded server in a temporary folder removed afterwards.

    For the tests and the benchmarks. The folder is made by ``tempfile`` (not under pytest's own
    temporary folder, which pytest resets to mode 0700 when another session starts, locking out the
    server's system user).
    """
    if database_url:
        yield database_url
        return
    with tempfile.TemporaryDirectory(prefix="autosight-pg-", ignore_cleanup_errors=True) as folder, \
            db.embedded_server(Path(folder)) as target:
        yield str(target.connect_kwargs["dsn"])
