"""What one partition per file costs against one plain table, as the number of loaded files grows.

Why: the first load of 1,000 small daily files must take at most 5 s (issue 13), and ten years of nightly
files is 3,650+ loads. This bench replays, statement for statement, what the loader does to the database
for each small file under each design (ledger row, rows in, rollup, ledger finished, commit) and measures:

* the time per file as the count of loaded files grows (the catalog grows with a partition per file);
* planning a query over ``sales_data`` (the planner opens every partition);
* replacing one file (DROP of its partition, or DELETE of its rows) at the end;
* the catalog's size (pg_class rows);
* and first what an index on file_id costs a large COPY (``--copy-rows`` rows in one file).

Run from the repository root::

    python bench/storage_design.py --files 3650 --rows 300 [--copy-rows 1000000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import psycopg2
import psycopg2.extensions
from psycopg2 import sql

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from autosight import scratch  # noqa: E402

LEDGER = """
CREATE TABLE loaded_files (file_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, source_path text NOT NULL,
    rows_loaded bigint NOT NULL DEFAULT 0);
CREATE TABLE sales_daily_product (file_id bigint NOT NULL REFERENCES loaded_files ON DELETE CASCADE,
    sale_date date NOT NULL, product_name text NOT NULL, quantity bigint NOT NULL, revenue numeric NOT NULL,
    transactions bigint NOT NULL, PRIMARY KEY (file_id, sale_date, product_name));
"""
PARTITIONED = LEDGER + """
CREATE TABLE sales_data (file_id bigint NOT NULL, sale_date date NOT NULL, product_name text NOT NULL,
    quantity integer NOT NULL, price numeric NOT NULL, line_total numeric) PARTITION BY LIST (file_id);
"""
PLAIN = LEDGER + """
CREATE TABLE sales_data (file_id bigint NOT NULL DEFAULT current_setting('autosight.file_id')::bigint,
    sale_date date NOT NULL, product_name text NOT NULL, quantity integer NOT NULL, price numeric NOT NULL,
    line_total numeric);
"""
BTREE = PLAIN + "CREATE INDEX sales_data_file_id ON sales_data (file_id);"
BRIN = PLAIN + ("CREATE INDEX sales_data_file_id ON sales_data USING brin (file_id int8_minmax_multi_ops)"
                " WITH (pages_per_range = 16, autosummarize = on);")
ROLLUP = ("SELECT sale_date, product_name, sum(quantity) AS quantity,"
          " sum(coalesce(line_total, quantity * price)) AS revenue, count(*) AS transactions"
          " FROM {table} {where} GROUP BY sale_date, product_name")


def small_file(day: date, rows: int, rng: random.Random) -> str:
    return "".join(f"{day},P{rng.randrange(40)},{rng.randrange(1, 5)},{rng.randrange(100, 9999) / 100}\n"
                   for _ in range(rows))


def load_partitioned(cursor: psycopg2.extensions.cursor, text: str) -> None:
    """Today's design: a partition per file, the rollup through a temporary table (see ingestion.py)."""
    cursor.execute("INSERT INTO loaded_files (source_path) VALUES ('x') RETURNING file_id")
    file_id = cursor.fetchone()[0]
    part = sql.Identifier(f"sales_data_f{file_id}")
    cursor.execute("SAVEPOINT fast_path")
    cursor.execute(sql.SQL("CREATE TABLE {} PARTITION OF sales_data (file_id DEFAULT {}) FOR VALUES IN ({})").format(
        part, sql.Literal(file_id), sql.Literal(file_id)))
    cursor.copy_expert(sql.SQL("COPY {} (sale_date, product_name, quantity, price) FROM STDIN"
                               " WITH (FORMAT csv, FREEZE true)").format(part), io.StringIO(text))
    cursor.execute("CREATE TEMP TABLE incoming_rollup ON COMMIT DROP AS "
                   + ROLLUP.format(table=part.as_string(cursor), where=""))
    cursor.execute("INSERT INTO sales_daily_product SELECT %s, * FROM incoming_rollup", (file_id,))
    cursor.execute("RELEASE SAVEPOINT fast_path")
    cursor.execute("UPDATE loaded_files SET rows_loaded = 300 WHERE file_id = %s", (file_id,))


def load_plain(cursor: psycopg2.extensions.cursor, text: str) -> None:
    """One table: file_id filled by COPY from a transaction-local setting; the rollup by INSERT ... SELECT
    through the index on file_id (then summarized, for a BRIN index), as ``autosight.file_ledger`` does."""
    cursor.execute("INSERT INTO loaded_files (source_path) VALUES ('x')"
                   " RETURNING file_id, set_config('autosight.file_id', file_id::text, true)")
    file_id = cursor.fetchone()[0]
    cursor.execute("SAVEPOINT fast_path")
    cursor.copy_expert("COPY sales_data (sale_date, product_name, quantity, price) FROM STDIN WITH (FORMAT csv)",
                       io.StringIO(text))
    cursor.execute("SET LOCAL enable_seqscan = off; SET LOCAL enable_sort = off; SET LOCAL work_mem = '64MB';"
                   " INSERT INTO sales_daily_product SELECT %s, * FROM ("
                   + ROLLUP.format(table="sales_data", where="WHERE file_id = %s") + ") AS r", (file_id, file_id))
    cursor.execute("SELECT CASE WHEN (SELECT amname FROM pg_am JOIN pg_class ON relam = pg_am.oid"
                   " WHERE relname = 'sales_data_file_id') = 'brin'"
                   " THEN brin_summarize_new_values('sales_data_file_id') END")
    cursor.execute("RELEASE SAVEPOINT fast_path")
    cursor.execute("UPDATE loaded_files SET rows_loaded = 300 WHERE file_id = %s", (file_id,))


def replace_partitioned(cursor: psycopg2.extensions.cursor, file_id: int) -> None:
    cursor.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(f"sales_data_f{file_id}")))
    cursor.execute("DELETE FROM sales_daily_product WHERE file_id = %s", (file_id,))


def replace_plain(cursor: psycopg2.extensions.cursor, file_id: int) -> None:
    cursor.execute("DELETE FROM sales_data WHERE file_id = %s", (file_id,))
    cursor.execute("DELETE FROM sales_daily_product WHERE file_id = %s", (file_id,))


DESIGNS: dict[str, tuple[str, Callable[..., None], Callable[..., None]]] = {
    "partition per file": (PARTITIONED, load_partitioned, replace_partitioned),
    "one table + B-tree on file_id": (BTREE, load_plain, replace_plain),
    "one table + BRIN on file_id": (BRIN, load_plain, replace_plain),
}
# What an index on file_id costs a large COPY: one file of --copy-rows rows into each kind of table.
COPY_TABLES = {"no index": PLAIN, "B-tree on file_id": BTREE, "BRIN on file_id": BRIN}


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def bench_design(dsn: str, name: str, files: int, rows: int, checkpoints: list[int]) -> None:
    schema, load, replace = DESIGNS[name]
    rng = random.Random(7)
    connection = psycopg2.connect(dsn)
    with connection, connection.cursor() as cursor:
        cursor.execute(schema)
    per_file: list[float] = []
    started = time.perf_counter()
    for number in range(1, files + 1):
        text = small_file(date(2016, 1, 1) + timedelta(days=number), rows, rng)
        started_file = time.perf_counter()
        with connection.cursor() as cursor:
            load(cursor, text)
        connection.commit()
        per_file.append(time.perf_counter() - started_file)
        if number in checkpoints:
            window = per_file[-100:]
            print(f"  {name}: {number:5d} files loaded, last 100 at {statistics.median(window) * 1000:.1f} ms/file"
                  f" (median), all so far {time.perf_counter() - started:.1f} s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (SUMMARY) SELECT count(*) FROM sales_data WHERE sale_date = '2017-01-01'")
        planning = next(line for (line,) in cursor.fetchall() if line.startswith("Planning Time"))
        cursor.execute("SELECT count(*) FROM pg_class")
        classes = cursor.fetchone()[0]
        seconds = timed(lambda: (replace(cursor, files // 2), connection.commit()))
    print(f"  {name}: first load of the first 1,000 files {sum(per_file[:1000]):.2f} s;"
          f" {planning}; replacing one file {seconds * 1000:.1f} ms; pg_class rows {classes}")
    connection.close()


def bench_copy(dsn: str, rows: int) -> None:
    rng = random.Random(11)
    text = "".join(small_file(date(2016, 1, 1) + timedelta(days=day), rows // 1000, rng) for day in range(1000))
    for name, schema in COPY_TABLES.items():
        connection = psycopg2.connect(dsn)
        with connection, connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS sales_daily_product, loaded_files, sales_data")
            cursor.execute(schema)
        started = time.perf_counter()
        with connection, connection.cursor() as cursor:
            cursor.execute("SELECT set_config('autosight.file_id', '1', true)")
            cursor.copy_expert("COPY sales_data (sale_date, product_name, quantity, price) FROM STDIN"
                               " WITH (FORMAT csv)", io.StringIO(text))
        print(f"  COPY of {rows:,} rows into one table, {name}: {time.perf_counter() - started:.2f} s", flush=True)
        connection.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=3650)
    parser.add_argument("--rows", type=int, default=300)
    parser.add_argument("--copy-rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args(argv)
    with scratch.scratch_database(args.database_url, "autosight_bench_storage") as dsn:
        bench_copy(dsn, args.copy_rows)
    checkpoints = sorted({100, 1000, args.files} | set(range(1000, args.files + 1, 1000)))
    for name in DESIGNS:
        with scratch.scratch_database(args.database_url, "autosight_bench_storage") as dsn:
            bench_design(dsn, name, args.files, args.rows, checkpoints)
    return 0


if __name__ == "__main__":
    sys.exit(main())
