"""Plausibility warnings (issue 9, item 8): values inside the gate's bounds that still look wrong are loaded and
named in data_quality.warnings, never rejected. Each case is built so the expected warning follows by hand from
the thresholds (a year away, five years long, 5x and +50 products, 100x a weekday's median)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg2.extensions

import ingestion

HEADER = "sale_date,product_name,quantity,price\n"


def daily_file(path: Path, first: date, days: int, products: int = 5, price: str = "10.00") -> Path:
    """One sale of each product a day: revenue products x price every day."""
    lines = [f"{first + timedelta(days=offset)},Product {number},1,{price}"
             for offset in range(days) for number in range(products)]
    path.write_text(HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def warnings_after_loading(connection: psycopg2.extensions.connection, *paths: Path) -> list[tuple[str, str]]:
    """(code, message) of the warnings about the files of one run loading ``paths``."""
    outcomes = ingestion.ingest_files(connection, list(paths), ingestion.LoadOptions())
    assert all(outcome.status == "loaded" for outcome in outcomes), outcomes
    return [(warning.code, warning.message) for warning in ingestion.data_quality(connection, outcomes).warnings]


def test_an_ordinary_next_file_raises_no_warning(connection, tmp_path):
    warnings_after_loading(connection, daily_file(tmp_path / "q1.csv", date(2024, 1, 1), 70))
    assert warnings_after_loading(connection, daily_file(tmp_path / "q2.csv", date(2024, 3, 11), 30)) == []


def test_a_file_dated_over_a_year_after_the_history_is_named(connection, tmp_path):
    warnings_after_loading(connection, daily_file(tmp_path / "2024.csv", date(2024, 1, 1), 30))  # to 2024-01-30
    late = daily_file(tmp_path / "late.csv", date(2025, 2, 1), 3)  # 368 days after the history's last day
    assert [(code, str(late) in message) for code, message in warnings_after_loading(connection, late)] == [
        ("dates_far_from_history", True)]


def test_a_file_within_a_year_of_the_history_is_not_far(connection, tmp_path):
    warnings_after_loading(connection, daily_file(tmp_path / "2024.csv", date(2024, 1, 1), 30))
    assert warnings_after_loading(connection, daily_file(tmp_path / "next.csv", date(2025, 1, 29), 3)) == []


def test_a_file_spanning_more_than_five_years_is_named(connection, tmp_path):
    long_file = tmp_path / "long.csv"
    long_file.write_text(HEADER + "2019-01-01,Mug,1,4.00\n2024-01-02,Mug,1,4.00\n", encoding="utf-8")  # 1,827 days
    assert [code for code, _ in warnings_after_loading(connection, long_file)] == ["dates_span_many_years"]


def test_a_jump_in_products_is_named_and_a_smaller_one_is_not(connection, tmp_path):
    warnings_after_loading(connection, daily_file(tmp_path / "a.csv", date(2024, 1, 1), 10, products=5),
                           daily_file(tmp_path / "b.csv", date(2024, 1, 11), 10, products=5))
    # Against an average of 5: more than max(5 x 5, 5 + 50) = 55 distinct products is a jump.
    assert warnings_after_loading(connection, daily_file(tmp_path / "c.csv", date(2024, 1, 21), 2, products=55)) == []
    jump = warnings_after_loading(connection, daily_file(tmp_path / "d.csv", date(2024, 1, 23), 2, products=80))
    # The average of the others is now (5 + 5 + 55) / 3 = 21.67: 80 > max(108.3, 71.7) is false, so no jump...
    assert jump == []
    big = warnings_after_loading(connection, daily_file(tmp_path / "e.csv", date(2024, 1, 25), 2, products=400))
    # ... while 400 > max(5 x 36.25, 36.25 + 50) with (5 + 5 + 55 + 80) / 4 = 36.25 is one.
    assert [(code, "400 distinct products" in message) for code, message in big] == [("product_count_jump", True)]


def test_a_day_a_hundred_times_its_weekdays_median_is_named(connection, tmp_path):
    warnings_after_loading(connection, daily_file(tmp_path / "history.csv", date(2024, 1, 1), 70))  # 50.00 a day
    spike = tmp_path / "spike.csv"
    spike.write_text(HEADER + "2024-03-11,Product 0,1,6000.00\n2024-03-12,Product 0,1,50.00\n", encoding="utf-8")
    warnings = warnings_after_loading(connection, spike)
    # 2024-03-11 is a Monday with 6,000 against a Monday median of 50 (120x); 2024-03-12 is ordinary.
    assert [(code, message.startswith("2024-03-11")) for code, message in warnings] == [("revenue_outlier_day", True)]
    assert "6,000.00" in warnings[0][1] and "50.00" in warnings[0][1]


def test_a_warning_never_rejects_a_row(connection, tmp_path):
    long_file = tmp_path / "long.csv"
    long_file.write_text(HEADER + "2019-01-01,Mug,1,4.00\n2024-01-02,Mug,1,4.00\n", encoding="utf-8")
    outcomes = ingestion.ingest_files(connection, [long_file], ingestion.LoadOptions())
    assert (outcomes[0].rows_read, outcomes[0].rows_loaded, outcomes[0].rows_rejected) == (2, 2, 0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT sum(revenue) FROM sales_daily_product")
        assert cursor.fetchone()[0] == Decimal("8.00")
