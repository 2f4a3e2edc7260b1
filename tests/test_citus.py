"""AutoSight on a real Citus cluster (the CI's third pass, AUTOSIGHT_TEST_DATABASE_URL on the coordinator).

Skipped on a plain PostgreSQL. Expected figures are computed here with Decimal from the files written here.
"""

from __future__ import annotations

import json
import random
import signal
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import psycopg2
import pytest
from processes import environment, finish, start_main, wait_until

import ingestion
from autosight import citus

CENT = Decimal("0.01")
PRODUCTS = ("Espresso", "Latte", "Green Tea", "Mug", "Filter Papers")
HEADER = "sale_date,product_name,quantity,price\n"


@pytest.fixture(autouse=True)
def _only_on_citus(server_is_citus: bool) -> None:
    if not server_is_citus:
        pytest.skip("needs a Citus coordinator as AUTOSIGHT_TEST_DATABASE_URL (the CI's Citus pass)")


def write_day(path: Path, day: date, rows: int, seed: int) -> Decimal:
    """A daily export of ``rows`` sales; returns its exact revenue (quantity x price, unrounded)."""
    rng = random.Random(seed)
    lines, revenue = [HEADER], Decimal(0)
    for _ in range(rows):
        quantity, price = rng.randint(1, 5), Decimal(rng.randrange(50, 9_999)) / 100
        lines.append(f"{day},{rng.choice(PRODUCTS)},{quantity},{price}\n")
        revenue += quantity * price
    path.write_text("".join(lines))
    return revenue


def rows_per_node(connection: psycopg2.extensions.connection, table: str) -> dict[int, int]:
    """Rows of ``table`` on each worker (by port), counted on the shards themselves."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT s.nodeport, sum(r.result::bigint) FROM run_command_on_shards(%s, 'SELECT count(*)"
                       " FROM %%s') AS r JOIN citus_shards s USING (shardid) GROUP BY 1", (table,))
        return {int(port): int(count) for port, count in cursor.fetchall()}


def scalar(connection: psycopg2.extensions.connection, query: str, params: tuple[object, ...] = ()) -> object:
    with connection.cursor() as cursor:
        cursor.execute(query, params or None)
        return cursor.fetchone()[0]


def test_schema_is_distributed_and_sales_spread_over_the_workers(connection, tmp_path):
    paths = [tmp_path / f"day{n}.csv" for n in range(8)]
    revenue = sum(write_day(path, date(2024, 5, 1) + timedelta(days=n), 50, n) for n, path in enumerate(paths))

    ingestion.ingest_files(connection, paths, ingestion.LoadOptions())

    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name::text, citus_table_type, distribution_column, colocation_id"
                       " FROM citus_tables ORDER BY 1")
        tables = {name: (kind, column, group) for name, kind, column, group in cursor.fetchall()}
    assert {name: kind_column[:2] for name, kind_column in tables.items()} == {
        "loaded_files": ("reference", "<none>"),
        "rejected_rows": ("distributed", "file_id"),
        "sales_daily_product": ("distributed", "file_id"),
        "sales_data": ("distributed", "file_id"),
    }
    assert len({tables[name][2] for name in citus.DISTRIBUTED_TABLES}) == 1  # co-located
    spread = rows_per_node(connection, "sales_data")
    assert set(spread) == {port for _, port in citus.nodes(connection.dsn)}
    assert all(count > 0 for count in spread.values())
    assert sum(spread.values()) == 8 * 50
    assert scalar(connection, "SELECT sum(revenue) FROM sales_with_revenue") == revenue
    assert scalar(connection, "SELECT sum(revenue) FROM sales_daily_product") == revenue
    assert scalar(connection, "SELECT count(*) FROM sales_data") == 8 * 50


def test_a_load_works_on_one_shard_and_the_analysis_on_every_shard(connection, tmp_path):
    path = tmp_path / "day.csv"
    write_day(path, date(2024, 5, 1), 20, 1)
    ingestion.ingest_files(connection, [path], ingestion.LoadOptions())

    def plan(query: str) -> str:
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN " + query)
            return "\n".join(line for (line,) in cursor.fetchall())

    shards = scalar(connection, "SELECT shard_count FROM citus_tables WHERE table_name = 'sales_data'::regclass")
    rollup = plan("INSERT INTO sales_daily_product SELECT file_id, sale_date, product_name, sum(quantity),"
                  " sum(quantity * price), count(*) FROM sales_data WHERE file_id = 1 GROUP BY 1, 2, 3")
    assert "Task Count: 1" in rollup  # the file's shard does the work, the coordinator only routes it
    daily = plan("SELECT sale_date, sum(revenue) FROM sales_daily_product GROUP BY sale_date")
    assert f"Task Count: {shards}" in daily and "Custom Scan (Citus Adaptive)" in daily


def test_same_path_new_content_replaces_on_the_cluster(run_main, tmp_path, database_url):
    path, other = tmp_path / "today.csv", tmp_path / "yesterday.csv"
    kept = write_day(other, date(2024, 5, 1), 40, 1)
    write_day(path, date(2024, 5, 2), 40, 2)
    assert run_main("--csv", str(other), str(path), "--output-dir", "out").returncode == 0
    new = write_day(path, date(2024, 5, 2), 30, 3)  # the shop re-exported the day

    result = run_main("--csv", str(path), "--output-dir", "out")

    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert Decimal(str(report["executive_summary"]["total_revenue"])) == (kept + new).quantize(CENT, ROUND_HALF_UP)
    with psycopg2.connect(database_url) as connection:
        assert sum(rows_per_node(connection, "sales_data").values()) == 70
        assert scalar(connection, "SELECT sum(revenue) FROM sales_with_revenue") == kept + new
        assert scalar(connection, "SELECT count(*) FROM sales_data WHERE file_id IN"
                                  " (SELECT file_id FROM loaded_files WHERE status = 'replaced')") == 0
    connection.close()


def test_a_batch_run_records_itself_in_the_coordinators_own_runs_table(run_main, tmp_path, database_url):
    path = tmp_path / "day.csv"
    write_day(path, date(2024, 5, 1), 30, 1)

    result = run_main("--csv", str(path), "--output-dir", "out")

    assert result.returncode == 0, result.stderr
    with psycopg2.connect(database_url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT kind, outcome, exit_code, files, rows_loaded, rows_rejected FROM runs")
        assert cursor.fetchall() == [("batch", "ok", 0, 1, 30, 0)]
        assert scalar(connection, "SELECT count(*) FROM citus_tables WHERE table_name = 'runs'::regclass") == 0
    connection.close()


def test_sigkill_mid_copy_leaves_nothing_on_any_node_and_the_next_run_loads_it(run_main, tmp_path, database_url):
    small, big = tmp_path / "small.csv", tmp_path / "big.csv"
    kept = write_day(small, date(2024, 5, 1), 10, 1)
    assert run_main("--csv", str(small), "--output-dir", "out").returncode == 0
    revenue = write_day(big, date(2024, 5, 2), 300_000, 2)
    log_file = tmp_path / "killed.log"

    connection = psycopg2.connect(database_url)
    connection.autocommit = True  # each query sees the statistics views afresh
    try:
        run = start_main("--csv", str(big), "--output-dir", "out", cwd=tmp_path,
                         env=environment(database_url, LOG_FILE=str(log_file)))
        wait_until(lambda: run.poll() is not None or scalar(  # the coordinator streaming rows to the shards
            connection, "SELECT count(*) FROM pg_stat_progress_copy WHERE datname = current_database()"
                        " AND tuples_processed > 0") > 0, "the COPY")
        run.send_signal(signal.SIGKILL)
        assert finish(run)[0] == -signal.SIGKILL
        wait_until(lambda: scalar(connection, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                                              " AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
                                              " AND application_name NOT LIKE 'citus_internal%'") == 0,
                   "the killed run's session to end")
        scalar(connection, "SELECT recover_prepared_transactions()")
        assert sum(rows_per_node(connection, "sales_data").values()) == 10
        assert scalar(connection, "SELECT count(*) FROM loaded_files") == 1
        assert scalar(connection, "SELECT sum(revenue) FROM sales_daily_product") == kept
    finally:
        connection.close()
    result = run_main("--csv", str(big), "--output-dir", "out", timeout=300)
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert Decimal(str(report["executive_summary"]["total_revenue"])) == (kept + revenue).quantize(CENT, ROUND_HALF_UP)
