"""The bad-input set (tests/data/bad_inputs, manifest in bad_input_cases.py) against real ingestion.

Each file is loaded into a database that already holds a sale, so "nothing already stored is lost"
is checked too. Refused files are also run through the command line: exit 65, one clear line on
stderr, no traceback.
"""

from __future__ import annotations

import argparse
from decimal import Decimal

import pytest
from bad_input_cases import CASES, Case

import ingestion
from errors import INPUT_REFUSED, InputRefused
from settings import parse_column_map

EXISTING_REVENUE = Decimal("12.34")


def options_for(case: Case) -> ingestion.LoadOptions:
    parser = argparse.ArgumentParser()
    parser.add_argument("--encoding", default="utf-8")
    parser.add_argument("--date-format")
    parser.add_argument("--map")
    args = parser.parse_args(case.extra_args)
    return ingestion.LoadOptions(encoding=args.encoding, date_format=args.date_format,
                                 column_map=parse_column_map(args.map or ""))


@pytest.fixture
def seeded(connection, tmp_path):
    existing = tmp_path / "existing.csv"
    existing.write_text("sale_date,product_name,quantity,price\n2020-01-01,Existing,1,12.34\n")
    ingestion.ingest_file(connection, existing, ingestion.LoadOptions())
    return connection


def query(connection, statement: str, params: tuple = ()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall()


def loaded_revenue(connection) -> Decimal:
    return query(connection, "SELECT coalesce(sum(revenue), 0) FROM sales_with_revenue")[0][0]


@pytest.mark.parametrize("case", [c for c in CASES if c.outcome == "loaded"], ids=lambda c: c.test_id)
def test_loadable_file(seeded, case: Case):
    outcome = ingestion.ingest_file(seeded, case.path, options_for(case))

    assert (outcome.rows_loaded, outcome.rows_rejected) == (case.rows_loaded, case.rows_rejected)
    assert outcome.rows_read == outcome.rows_loaded + outcome.rows_rejected
    assert outcome.rejections_by_reason == dict(case.reasons)
    assert loaded_revenue(seeded) == EXISTING_REVENUE + case.revenue
    rejects = query(seeded, "SELECT line_no FROM rejected_rows ORDER BY line_no")
    assert tuple(line for (line,) in rejects) == case.reject_lines
    new_rows = "FROM sales_data WHERE product_name <> 'Existing'"
    if case.products is not None:
        assert {name for (name,) in query(seeded, f"SELECT DISTINCT product_name {new_rows}")} == case.products
    if case.date_range is not None:
        assert query(seeded, f"SELECT min(sale_date), max(sale_date) {new_rows}")[0] == case.date_range


@pytest.mark.parametrize("case", [c for c in CASES if c.outcome == "refused"], ids=lambda c: c.test_id)
def test_refused_file_stores_nothing(seeded, case: Case):
    with pytest.raises(InputRefused) as refusal:
        ingestion.ingest_file(seeded, case.path, options_for(case))
    seeded.rollback()

    assert case.message.lower() in str(refusal.value).lower()
    if case.error_line is not None:
        assert f"line {case.error_line}" in str(refusal.value)
    assert loaded_revenue(seeded) == EXISTING_REVENUE
    assert query(seeded, "SELECT count(*) FROM loaded_files WHERE status = 'active'") == [(1,)]


@pytest.mark.parametrize("case", [c for c in CASES if c.outcome == "refused"], ids=lambda c: c.test_id)
def test_refused_file_on_the_command_line(run_main, tmp_path, case: Case):
    result = run_main("--csv", str(case.path), "--output-dir", str(tmp_path / "out"), *case.extra_args)

    assert result.returncode == INPUT_REFUSED
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("autosight: error:")
    assert case.message.lower() in lines[0].lower()
    assert (tmp_path / "out" / "report.json").is_file()
