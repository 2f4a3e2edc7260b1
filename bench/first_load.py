"""The first load of many small daily files, against one COPY of the same rows, in the same run.

Why: a shop that starts with AutoSight loads its history at once, say 1,000 daily exports of 300 rows; the
issue's target is at most 5 s for that, where a bare COPY of all their rows into an unconstrained table is the
floor. Each measurement uses a fresh database; the files are generated (seeded) in a temporary folder.

Run from the repository root::

    python bench/first_load.py [--files 1000] [--rows 300] [--database-url URL ...]

Without ``--database-url`` an embedded PostgreSQL is started in a temporary folder and removed afterwards.
A URL of a Citus coordinator gets databases on every node of the cluster (the schema is then distributed).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import psycopg2

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

import db  # noqa: E402
import ingestion  # noqa: E402
from autosight import citus, scratch  # noqa: E402

HEADER = "sale_date,product_name,quantity,price\n"
PRODUCTS = 40


def write_files(folder: Path, files: int, rows: int) -> list[Path]:
    """``files`` daily exports of ``rows`` sales each, one day apart, seeded."""
    rng = random.Random(20261202)
    paths = []
    for number in range(files):
        day = date(2016, 1, 1) + timedelta(days=number)
        lines = [f"{day},Product {rng.randrange(PRODUCTS)},{rng.randint(1, 5)},{rng.randrange(50, 9_999) / 100}\n"
                 for _ in range(rows)]
        path = folder / f"sales-{day}.csv"
        path.write_text(HEADER + "".join(lines))
        paths.append(path)
    return paths


@contextlib.contextmanager
def fresh_database(server_dsn: str) -> Iterator[str]:
    """A new database on the server, or on every node of a Citus cluster."""
    if citus.is_coordinator(server_dsn):
        with citus.cluster_database(server_dsn, "autosight_bench_first_load") as dsn:
            yield dsn
    else:
        with scratch.scratch_database(server_dsn, "autosight_bench_first_load") as dsn:
            yield dsn


def autosight_seconds(server_dsn: str, paths: list[Path]) -> float:
    with fresh_database(server_dsn) as dsn, contextlib.closing(psycopg2.connect(dsn)) as connection:
        db.migrate(connection)
        started = time.perf_counter()
        outcomes = ingestion.ingest_files(connection, paths, ingestion.LoadOptions())
        seconds = time.perf_counter() - started
    assert all(outcome.status == "loaded" for outcome in outcomes)
    return seconds


def copy_seconds(server_dsn: str, paths: list[Path]) -> float:
    """One COPY of every file's rows (headers dropped) into a table without constraints or index."""
    rows = "".join(path.read_text()[len(HEADER):] for path in paths)
    with fresh_database(server_dsn) as dsn, contextlib.closing(psycopg2.connect(dsn)) as connection:
        with connection, connection.cursor() as cursor:
            cursor.execute("CREATE TABLE plain_copy (sale_date date, product_name text, quantity integer,"
                           " price numeric)")
        started = time.perf_counter()
        with connection, connection.cursor() as cursor:
            cursor.copy_expert("COPY plain_copy FROM STDIN WITH (FORMAT csv)", io.StringIO(rows))
        return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=300)
    parser.add_argument("--database-url", nargs="*", default=[], help="servers to measure (default: embedded)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="autosight-first-load-") as folder:
        paths = write_files(Path(folder), args.files, args.rows)
        for url in args.database_url or [None]:
            with scratch.server_or_temporary_embedded(url) as server_dsn:
                where = "embedded PostgreSQL" if url is None else url
                plain = copy_seconds(server_dsn, paths)
                seconds = autosight_seconds(server_dsn, paths)
                print(f"{where}: first load of {args.files} files x {args.rows} rows {seconds:.2f} s"
                      f" ({seconds / args.files * 1000:.1f} ms per file); one COPY of the same rows {plain:.2f} s",
                      flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
