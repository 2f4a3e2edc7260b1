"""The API's reads that report.json does not carry: the file ledger, rejected rows, runs, one product's days.

Each is a plain parameterised query over the tables ingestion and the runs log fill; money is rounded
to the cent exactly as in report.json (``reporting``'s rounding).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import psycopg2.extensions
from psycopg2 import sql

from reporting import _number

FILE_COLUMNS = ("file_id", "source_path", "sha256", "size_bytes", "status", "rows_read", "rows_loaded",
                "rows_rejected", "message", "started_at", "finished_at", "replaced_by")
RUN_COLUMNS = ("run_id", "kind", "started_at", "finished_at", "outcome", "exit_code", "files",
               "rows_loaded", "rows_rejected", "message")


def _columns(names: tuple[str, ...]) -> sql.Composable:
    return sql.SQL(", ").join(map(sql.Identifier, names))


def _timestamp(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _row(columns: tuple[str, ...], values: tuple[Any, ...]) -> dict[str, Any]:
    row = dict(zip(columns, values, strict=True))
    return {key: _timestamp(value) if isinstance(value, datetime) else value for key, value in row.items()}


def files_page(connection: psycopg2.extensions.connection, status: str | None, limit: int,
               offset: int) -> tuple[int, list[dict[str, Any]]]:
    """(matching entries, one page of them), newest first."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM loaded_files WHERE %(status)s::text IS NULL OR status = %(status)s",
                       {"status": status})
        total = int(cursor.fetchone()[0])
        query = sql.SQL("SELECT {} FROM loaded_files WHERE %(status)s::text IS NULL OR status = %(status)s"
                        " ORDER BY file_id DESC LIMIT %(limit)s OFFSET %(offset)s").format(_columns(FILE_COLUMNS))
        cursor.execute(query, {"status": status, "limit": limit, "offset": offset})
        return total, [_row(FILE_COLUMNS, values) for values in cursor.fetchall()]


def one_file(connection: psycopg2.extensions.connection, file_id: int) -> dict[str, Any] | None:
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("SELECT {} FROM loaded_files WHERE file_id = %s").format(_columns(FILE_COLUMNS)),
                       (file_id,))
        values = cursor.fetchone()
    return None if values is None else _row(FILE_COLUMNS, values)


def rejects_page(connection: psycopg2.extensions.connection, file_id: int, limit: int,
                 offset: int) -> tuple[int, list[dict[str, Any]]]:
    """(rejected rows of the file, one page of them in line order)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM rejected_rows WHERE file_id = %s", (file_id,))
        total = int(cursor.fetchone()[0])
        cursor.execute("SELECT line_no, reason, detail, raw_text FROM rejected_rows WHERE file_id = %s"
                       " ORDER BY line_no LIMIT %s OFFSET %s", (file_id, limit, offset))
        rows = [{"line": int(line), "reason": reason, "detail": detail, "raw_text": raw}
                for line, reason, detail, raw in cursor.fetchall()]
    return total, rows


def runs_page(connection: psycopg2.extensions.connection, limit: int, offset: int) -> tuple[int, list[dict[str, Any]]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM runs")
        total = int(cursor.fetchone()[0])
        cursor.execute(sql.SQL("SELECT {} FROM runs ORDER BY run_id DESC LIMIT %s OFFSET %s").format(
            _columns(RUN_COLUMNS)), (limit, offset))
        return total, [_row(RUN_COLUMNS, values) for values in cursor.fetchall()]


def product_days(connection: psycopg2.extensions.connection, product: str, start: date,
                 end: date) -> list[dict[str, Any]]:
    """Every calendar day of the period for one product (days without its sales: zeros)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH r AS (SELECT sale_date, sum(revenue) AS revenue, sum(quantity) AS quantity,"
            "  sum(transactions) AS transactions FROM sales_daily_product"
            "  WHERE product_name = %(product)s AND sale_date BETWEEN %(start)s AND %(end)s GROUP BY sale_date)"
            " SELECT d.day, coalesce(r.revenue, 0), coalesce(r.quantity, 0), coalesce(r.transactions, 0)"
            " FROM (SELECT %(start)s::date + n AS day FROM generate_series(0, %(end)s::date - %(start)s::date) AS n)"
            " AS d LEFT JOIN r ON r.sale_date = d.day ORDER BY d.day",
            {"product": product, "start": start, "end": end})
        return [{"date": day.isoformat(), "revenue": _number(revenue), "quantity": int(quantity),
                 "transactions": int(transactions)} for day, revenue, quantity, transactions in cursor.fetchall()]
