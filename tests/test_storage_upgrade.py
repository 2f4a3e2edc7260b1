"""A database of schema version 1 (a partition of sales_data per file) upgraded by the program keeps every row.

The version-1 database is built here as version 1 of the program left it: its migration applied and
recorded, then two loads stored the way it stored them (a partition per file, rollup, ledger, rejects).
On a Citus cluster the same upgrade then moves the rows to the shards.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import psycopg2
import psycopg2.errors
import psycopg2.extensions
import pytest

import db
import ingestion

# (file_id, sale_date, product_name, quantity, price, line_total) as two version-1 loads stored them
V1_ROWS = [
    (1, date(2024, 3, 1), "Espresso", 2, Decimal("2.50"), None),
    (1, date(2024, 3, 1), "Latte", 1, Decimal("3.10"), None),
    (1, date(2024, 3, 2), "Espresso", 3, Decimal("2.50"), Decimal("7.49")),
    (2, date(2024, 3, 2), "Mocha", 4, Decimal("3.333"), None),
]
V1_PATHS = {1: "/exports/day1.csv", 2: "/exports/day2.csv"}


def migrate_up_to(cursor: psycopg2.extensions.cursor, last: int) -> None:
    """The schema of version ``last``, as the program of that version left it: its migrations applied and recorded."""
    cursor.execute("CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
                   " applied_at timestamptz NOT NULL DEFAULT now())")
    for version, path in db.migration_files()[:last]:
        cursor.execute(path.read_text())
        cursor.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, path.name))


def build_version_1(dsn: str) -> None:
    """Schema version 1 with two active loads, stored as version 1 of the program stored them."""
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        migrate_up_to(cursor, 1)
        for file_id, path in V1_PATHS.items():
            rows = [row for row in V1_ROWS if row[0] == file_id]
            cursor.execute("INSERT INTO loaded_files (source_path, sha256, size_bytes, status, rows_read, rows_loaded,"
                           " rows_rejected, started_at) VALUES (%s, %s, 100, 'active', %s, %s, 1, %s)",
                           (path, f"{file_id:064x}", len(rows) + 1, len(rows), datetime.now(UTC)))
            cursor.execute(f"CREATE TABLE sales_data_f{file_id} PARTITION OF sales_data"
                           f" (file_id DEFAULT {file_id}) FOR VALUES IN ({file_id})")
            cursor.executemany("INSERT INTO sales_data VALUES (%s, %s, %s, %s, %s, %s)", rows)
            cursor.execute("INSERT INTO rejected_rows (file_id, line_no, reason, raw_text)"
                           " VALUES (%s, 9, 'bad_date', 'x,y,z')", (file_id,))
        cursor.execute("INSERT INTO sales_daily_product SELECT file_id, sale_date, product_name, sum(quantity),"
                       " sum(coalesce(line_total, quantity * price)), count(*) FROM sales_data GROUP BY 1, 2, 3")


def stored_rows(connection: psycopg2.extensions.connection) -> list[tuple[object, ...]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT file_id, sale_date, product_name, quantity, price, line_total FROM sales_data"
                       " ORDER BY file_id, sale_date, product_name")
        return cursor.fetchall()


def scalar(connection: psycopg2.extensions.connection, query: str) -> object:
    with connection.cursor() as cursor:
        cursor.execute(query)
        return cursor.fetchone()[0]


@pytest.fixture
def upgraded(database_url: str):
    build_version_1(database_url)
    connection = psycopg2.connect(database_url)
    db.migrate(connection)
    connection.commit()
    yield connection
    connection.close()


def test_upgrade_keeps_every_row_rollup_ledger_and_reject(upgraded):
    revenue = Decimal("2") * Decimal("2.50") + Decimal("3.10") + Decimal("7.49") + 4 * Decimal("3.333")

    assert stored_rows(upgraded) == sorted(V1_ROWS, key=lambda row: (row[0], row[1], row[2]))
    assert scalar(upgraded, "SELECT sum(revenue) FROM sales_with_revenue") == revenue
    assert scalar(upgraded, "SELECT sum(revenue) FROM sales_daily_product") == revenue
    assert scalar(upgraded, "SELECT count(*) FROM loaded_files WHERE status = 'active'") == 2
    assert scalar(upgraded, "SELECT count(*) FROM rejected_rows") == 2
    assert scalar(upgraded, "SELECT max(version) FROM schema_migrations") == db.migration_files()[-1][0]
    assert scalar(upgraded, "SELECT count(*) FROM pg_inherits") == 0  # no partition left


def test_upgraded_path_is_replaced_and_new_files_load(upgraded, tmp_path, monkeypatch):
    """A path loaded by version 1 and exported again with new content replaces its version-1 rows."""
    day1 = tmp_path / "day1.csv"
    day1.write_text("sale_date,product_name,quantity,price\n2024-03-01,Espresso,1,2.60\n")
    with upgraded.cursor() as cursor:
        cursor.execute("UPDATE loaded_files SET source_path = %s WHERE file_id = 1", (str(day1.resolve()),))
    upgraded.commit()

    outcomes = ingestion.ingest_files(upgraded, [day1], ingestion.LoadOptions())

    assert [outcome.status for outcome in outcomes] == ["replaced"]
    assert stored_rows(upgraded) == [  # the new load's id follows version 1's
        (2, date(2024, 3, 2), "Mocha", 4, Decimal("3.333"), None),
        (3, date(2024, 3, 1), "Espresso", 1, Decimal("2.60"), None),
    ]
    assert scalar(upgraded, "SELECT sum(revenue) FROM sales_daily_product") == Decimal("2.60") + 4 * Decimal("3.333")


def test_a_row_outside_a_load_is_refused(upgraded):
    """file_id comes from the load being recorded; an insert outside a load stores nothing."""
    with pytest.raises(psycopg2.Error), upgraded.cursor() as cursor:
        cursor.execute("INSERT INTO sales_data (sale_date, product_name, quantity, price)"
                       " VALUES ('2024-01-01', 'Stray', 1, 1)")
    upgraded.rollback()
    assert scalar(upgraded, "SELECT count(*) FROM sales_data WHERE product_name = 'Stray'") == 0


def test_every_migration_has_a_number_of_its_own():
    numbers = [path.name[:3] for path in sorted(Path(db.SQL_DIR).glob("*.sql"))]
    assert len(numbers) == len(set(numbers)), numbers
    assert db.migration_files()[-1][0] == len(numbers)


def test_version_5_keeps_the_servers_runs_and_takes_batch_runs(database_url):
    with psycopg2.connect(database_url) as connection, connection.cursor() as cursor:
        migrate_up_to(cursor, 4)
        cursor.execute("INSERT INTO runs (kind, started_at, outcome) VALUES ('inbox', now(), 'ok'),"
                       " ('upload', now(), 'busy')")
    connection.close()
    migrated = psycopg2.connect(database_url)
    try:
        db.migrate(migrated)
        migrated.commit()
        with migrated.cursor() as cursor:
            cursor.execute("INSERT INTO runs (kind, started_at, outcome) VALUES ('batch', now(), 'ok')")
            cursor.execute("SELECT kind, outcome FROM runs ORDER BY run_id")
            assert cursor.fetchall() == [("inbox", "ok"), ("upload", "busy"), ("batch", "ok")]
        migrated.commit()
        with pytest.raises(psycopg2.errors.CheckViolation), migrated.cursor() as cursor:
            cursor.execute("INSERT INTO runs (kind, started_at, outcome) VALUES ('cron', now(), 'ok')")
        migrated.rollback()
    finally:
        migrated.close()
