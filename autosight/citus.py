"""AutoSight on a Citus cluster: which tables are distributed, and how.

When the database has the ``citus`` extension and worker nodes, ``distribute`` (run by ``db.migrate`` after
the numbered migrations, every run, idempotent) makes:

* ``sales_data``, ``sales_daily_product`` and ``rejected_rows`` distributed tables, hash-distributed by
  ``file_id`` and co-located: every statement of a load (COPY, rollup, replacement, rejects) touches the one
  shard that holds the file, and joins between them on ``file_id`` stay on the workers;
* ``loaded_files``, the ledger, a reference table (a copy on every node): its unique indexes on the active
  path and content, the idempotency keys, are enforced as on one server, and the distributed tables may keep
  their foreign keys to it;
* ``schema_migrations`` a plain table on the coordinator, read only by ``db.migrate`` there; ``runs``, the run
  history (autosight/runs.py), too: each run writes one row there, on the connection that holds its run lock.

docs/SCALING.md gives the reasoning, the measurements and the query plans. The table list is the one place
that says which table is which kind.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import psycopg2
import psycopg2.errors
import psycopg2.extensions
from psycopg2 import sql

from logger_config import get_logger

log = get_logger(__name__)

DISTRIBUTION_COLUMN = "file_id"
REFERENCE_TABLES = ("loaded_files",)
# The first one sets the co-location group of the others.
DISTRIBUTED_TABLES = ("sales_data", "sales_daily_product", "rejected_rows")
DROP_ATTEMPTS = 10


def has_citus(cursor: psycopg2.extensions.cursor) -> bool:
    """Whether the database has the citus extension (it is then a Citus coordinator, or meant to be one)."""
    cursor.execute("SELECT EXISTS (SELECT FROM pg_extension WHERE extname = 'citus')")
    return bool(cursor.fetchone()[0])


def distribute(cursor: psycopg2.extensions.cursor) -> list[str]:
    """Distribute the tables not distributed yet (none on a plain PostgreSQL); the names of those it did.

    Existing rows move to the shards (a database that ran on one server keeps its data), and the copy left
    behind in the coordinator's own table is emptied. Runs inside the migration's transaction, under its lock.
    """
    if not has_citus(cursor):
        return []
    cursor.execute("SELECT count(*) FROM citus_get_active_worker_nodes()")
    if cursor.fetchone()[0] == 0:
        log.warning("the database has the citus extension but no active worker node: tables stay local "
                    "(register the workers with citus_add_node, then run again)")
        return []
    done: list[str] = []
    for table in (*REFERENCE_TABLES, *DISTRIBUTED_TABLES):
        kind = "reference" if table in REFERENCE_TABLES else "distributed"
        if _kind(cursor, table) == kind:
            continue
        if kind == "reference":
            cursor.execute("SELECT create_reference_table(%s)", (table,))
        else:
            cursor.execute("SELECT create_distributed_table(%s, %s, colocate_with => %s)",
                           (table, DISTRIBUTION_COLUMN, "default" if table == DISTRIBUTED_TABLES[0]
                            else DISTRIBUTED_TABLES[0]))
        cursor.execute("SELECT truncate_local_data_after_distributing_table(%s)", (table,))
        done.append(table)
    if done:
        log.info("Citus: distributed %s", ", ".join(done))
    return done


def _kind(cursor: psycopg2.extensions.cursor, table: str) -> str | None:
    """'distributed', 'reference' or 'local' (a table Citus took into its metadata by itself, as it does for a
    table with a foreign key to a reference table); None for a table Citus does not know."""
    cursor.execute("SELECT citus_table_type FROM citus_tables WHERE table_name = to_regclass(%s)", (table,))
    row = cursor.fetchone()
    return str(row[0]) if row else None


# ---------------------------------------------------------------------------------------------
# New databases on a cluster (for the tests and the benchmarks, which each use a database of their own)


def nodes(server_dsn: str) -> list[tuple[str, int]]:
    """(host, port) of the cluster's worker nodes, read on the coordinator of ``server_dsn``."""
    with contextlib.closing(psycopg2.connect(server_dsn)) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT node_name, node_port FROM citus_get_active_worker_nodes() ORDER BY 1, 2")
        return [(str(host), int(port)) for host, port in cursor.fetchall()]


def is_coordinator(server_dsn: str) -> bool:
    """Whether ``server_dsn`` is a database of a Citus coordinator with worker nodes."""
    with contextlib.closing(psycopg2.connect(server_dsn)) as connection, connection.cursor() as cursor:
        return has_citus(cursor) and bool(nodes(server_dsn))


@contextlib.contextmanager
def cluster_database(server_dsn: str, prefix: str, shard_count: int | None = None) -> Iterator[str]:
    """A new database (named ``prefix`` and a random suffix) on every node of the cluster, ready for
    ``distribute``; dropped on every node afterwards. Yields its DSN on the coordinator.

    Citus keeps its node list per database: the database is created on every node (Citus propagates CREATE and
    DROP DATABASE when asked to), gets the extension on each, and the coordinator registers the workers.
    ``shard_count`` (default: Citus's own, 32) is stored as the database's setting.
    """
    import uuid  # imported here: tests and benchmarks need it, not the nightly run (2 ms of its start-up)

    workers = nodes(server_dsn)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    _autocommit(server_dsn, [sql.SQL("SET citus.enable_create_database_propagation = on"), statement])
    try:
        dsn = psycopg2.extensions.make_dsn(server_dsn, dbname=name)
        for host, port in workers:
            _autocommit(psycopg2.extensions.make_dsn(dsn, host=host, port=port),
                        [sql.SQL("CREATE EXTENSION IF NOT EXISTS citus")])
        coordinator = psycopg2.extensions.parse_dsn(server_dsn)
        host, port = coordinator.get("host", "localhost"), int(coordinator.get("port", 5432))
        setup = [sql.SQL("CREATE EXTENSION IF NOT EXISTS citus"),
                 sql.SQL("SELECT citus_set_coordinator_host({}, {})").format(sql.Literal(host), sql.Literal(port))]
        setup += [sql.SQL("SELECT citus_add_node({}, {})").format(sql.Literal(host), sql.Literal(port))
                  for host, port in workers]
        if shard_count is not None:
            setup.append(sql.SQL("ALTER DATABASE {} SET citus.shard_count = {}").format(
                sql.Identifier(name), sql.Literal(shard_count)))
        _autocommit(dsn, setup)
        yield dsn
    finally:
        _drop_cluster_database(server_dsn, name, workers)


def _drop_cluster_database(server_dsn: str, name: str, workers: list[tuple[str, int]]) -> None:
    """Drop the database on the coordinator, then on each worker, each node on its own.

    Not one propagated DROP: when it fails half-way (Citus's maintenance daemon reconnects to the database
    between the moment FORCE ends the sessions and the drop itself) some nodes have dropped it and others not.
    Node by node, a drop that meets such a session is tried again a moment later.
    """
    statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    for node_dsn in [server_dsn, *(psycopg2.extensions.make_dsn(server_dsn, host=host, port=port)
                                   for host, port in workers)]:
        for attempt in range(DROP_ATTEMPTS):
            try:
                _autocommit(node_dsn, [statement])
                break
            except psycopg2.errors.ObjectInUse:
                if attempt == DROP_ATTEMPTS - 1:
                    raise
                time.sleep(0.5)


def _autocommit(dsn: str, statements: list[sql.Composable]) -> None:
    """CREATE and DROP DATABASE cannot run inside a transaction block."""
    with contextlib.closing(psycopg2.connect(dsn)) as connection:
        connection.autocommit = True
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
