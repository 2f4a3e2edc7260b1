"""AutoSight on the 3-node Citus cluster against the machine's single PostgreSQL, in the same run.

Why: on a Citus coordinator the schema is distributed (docs/SCALING.md); this measures what that costs and
checks that it changes no figure. For each server, on a fresh database (on every node of the cluster):

* ``copy``: the database's own COPY of the same files into a bare table (no index, constraint or ledger;
  on Citus distributed like ``sales_data``, so the coordinator routes each row to its shard), the floor;
* ``ingest``: ``ingestion.ingest_files`` of the files (ledger, checks, rows, rollup, one transaction each);
* ``analysis``: ``analysis.analyze`` over the whole period (read from the rollup, on every shard at once).

The analysis results of the two servers must be equal, figure for figure, or the bench fails. The rows are
several store exports (``--files``) rather than one file: a file's rows live on one shard (distribution by
file), so a single file would sit on one worker.

Run from the repository root (the cluster from ``../shared/citus/cluster start``)::

    python bench/citus.py [--rows 5000000] [--files 20] [--single URL] [--cluster URL]
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import psycopg2
import psycopg2.extensions

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

import analysis  # noqa: E402
import db  # noqa: E402
import ingestion  # noqa: E402
from autosight import citus, scratch  # noqa: E402
from autosight.run_results import AnalysisResult  # noqa: E402
from bench.ingest import SEED, canonical_lines  # noqa: E402

SINGLE = "postgresql://postgres@127.0.0.1:5432/postgres"
CLUSTER = "postgresql://postgres@127.0.0.1:9700/postgres"
HEADER = "sale_date,product_name,quantity,price\n"
PLAIN_TABLE = ("CREATE TABLE plain_copy (file_id bigint NOT NULL DEFAULT current_setting('bench.file_id')::bigint,"
               " sale_date date, product_name text, quantity integer, price numeric)")


def write_exports(folder: Path, rows: int, files: int) -> list[Path]:
    """``files`` store exports sharing ``rows`` canonical rows (three years each, seeded)."""
    paths = []
    for number in range(files):
        path = folder / f"store{number:03d}.csv"
        with path.open("w", encoding="utf-8", newline="") as stream:
            stream.write(HEADER)
            stream.writelines(canonical_lines(rows // files + (number < rows % files), SEED + number))
        paths.append(path)
    return paths


@contextlib.contextmanager
def fresh_database(server_dsn: str) -> Iterator[psycopg2.extensions.connection]:
    """A connection to a new database with AutoSight's schema (distributed on a cluster)."""
    if citus.is_coordinator(server_dsn):
        databases = citus.cluster_database(server_dsn, "autosight_bench_citus")
    else:
        databases = scratch.scratch_database(server_dsn, "autosight_bench_citus")
    with databases as dsn, contextlib.closing(psycopg2.connect(dsn)) as connection:
        db.migrate(connection)
        yield connection


def timed_copy(connection: psycopg2.extensions.connection, paths: list[Path]) -> float:
    """The server's own COPY of every file into a bare table, distributed by file on a cluster."""
    with connection, connection.cursor() as cursor:
        cursor.execute(PLAIN_TABLE)
        if citus.has_citus(cursor):
            cursor.execute("SELECT create_distributed_table('plain_copy', 'file_id')")
    started = time.perf_counter()
    for number, path in enumerate(paths, start=1):
        with connection, connection.cursor() as cursor, path.open("rb") as stream:
            cursor.execute("SELECT set_config('bench.file_id', %s, true)", (str(number),))
            cursor.copy_expert("COPY plain_copy (sale_date, product_name, quantity, price) FROM STDIN"
                               " WITH (FORMAT csv, HEADER true)", stream, size=1 << 16)
    return time.perf_counter() - started


def timed_ingest(connection: psycopg2.extensions.connection, paths: list[Path]) -> float:
    started = time.perf_counter()
    outcomes = ingestion.ingest_files(connection, paths, ingestion.LoadOptions())
    seconds = time.perf_counter() - started
    assert [outcome.status for outcome in outcomes] == ["loaded"] * len(paths), outcomes
    return seconds


def timed_analysis(connection: psycopg2.extensions.connection) -> tuple[float, AnalysisResult]:
    with connection, connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # as autovacuum would have by the next night
    started = time.perf_counter()
    result = analysis.analyze(connection, analysis.PeriodFilter(), Decimal("20"))
    return time.perf_counter() - started, result


def bench_server(server_dsn: str, paths: list[Path]) -> tuple[dict[str, float], AnalysisResult]:
    with fresh_database(server_dsn) as connection:
        copy = timed_copy(connection, paths)
        ingest = timed_ingest(connection, paths)
        seconds, result = timed_analysis(connection)
    return {"copy": copy, "ingest": ingest, "analysis": seconds}, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--single", default=SINGLE, help="the single PostgreSQL server")
    parser.add_argument("--cluster", default=CLUSTER, help="the Citus coordinator")
    args = parser.parse_args(argv)
    if not citus.is_coordinator(args.cluster):
        parser.error(f"{args.cluster} is not a Citus coordinator with workers")
    with tempfile.TemporaryDirectory(prefix="autosight-bench-citus-") as folder:
        paths = write_exports(Path(folder), args.rows, args.files)
        single, single_result = bench_server(args.single, paths)
        cluster, cluster_result = bench_server(args.cluster, paths)
    print(f"{args.rows:,} rows in {args.files} files; seconds (ratio to the same server's own COPY)")
    print(f"{'step':<10} {'single PostgreSQL':>20} {'Citus, 2 workers':>20}")
    for step in ("copy", "ingest", "analysis"):
        ratio = "" if step == "analysis" else " ({:.2f}x)"
        print(f"{step:<10} {single[step]:>10.2f}{ratio.format(single[step] / single['copy']):>10}"
              f" {cluster[step]:>10.2f}{ratio.format(cluster[step] / cluster['copy']):>10}")
    identical = single_result == cluster_result
    print(f"analysis results identical: {identical} (total revenue {single_result.total_revenue},"
          f" {single_result.transactions:,} sales, {single_result.period.days} days)")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
