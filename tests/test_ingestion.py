"""Ingestion against a real PostgreSQL: what is stored, exactly, for the files users bring."""

from __future__ import annotations

import csv
import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg2.extensions
import pytest

import csv_format
import ingestion
from autosight import copy_path
from autosight.row_gate import Bounds
from autosight.run_results import FileOutcome
from errors import InputRefused

CENT = Decimal("0.01")
HEADER = "sale_date,product_name,quantity,price\n"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def expected_revenue(path: Path, delimiter: str = ",") -> Decimal:
    """Sum of the exact quantity * price (never rounded per row) over a canonical CSV, computed here with Decimal."""
    with path.open(newline="", encoding="utf-8-sig") as stream:
        rows = list(csv.DictReader(stream, delimiter=delimiter))
    return sum((Decimal(row["quantity"]) * Decimal(row["price"]) for row in rows), Decimal("0"))


def stored(connection: psycopg2.extensions.connection) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT sale_date::text, product_name, quantity, price::text, line_total::text FROM sales_data"
                       " ORDER BY 1, 2, 3, 4")
        return cursor.fetchall()


def scalar(connection: psycopg2.extensions.connection, query: str, params: tuple = ()) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchone()[0]


def total_revenue(connection: psycopg2.extensions.connection) -> Decimal:
    return scalar(connection, "SELECT coalesce(sum(revenue), 0) FROM sales_with_revenue")


def rollup_revenue(connection: psycopg2.extensions.connection) -> Decimal:
    return scalar(connection, "SELECT coalesce(sum(revenue), 0) FROM sales_daily_product")


def load(connection: psycopg2.extensions.connection, path: Path, **options: Any) -> FileOutcome:
    return ingestion.ingest_file(connection, path, ingestion.LoadOptions(**options))


@pytest.fixture
def canonical_file(tmp_path: Path) -> Path:
    lines = [f"2024-03-{day:02d},Product {day % 4},{day % 5 + 1},{day * 1.25 + 0.99:.2f}" for day in range(1, 29)]
    lines.append("2024-03-29,Product 1,-2,3.333")  # a return, and a price with 3 decimals
    return write(tmp_path / "sales.csv", HEADER + "\n".join(lines) + "\n")


def test_clean_canonical_file_is_copied_whole(connection, canonical_file):
    outcome = load(connection, canonical_file)

    assert (outcome.status, outcome.rows_read, outcome.rows_loaded, outcome.rows_rejected) == ("loaded", 29, 29, 0)
    # The return's -2 x 3.333 = -6.666 counts exactly: the total has 3 decimals, no row is rounded.
    assert total_revenue(connection) == expected_revenue(canonical_file)
    assert rollup_revenue(connection) == expected_revenue(canonical_file)
    assert expected_revenue(canonical_file) != expected_revenue(canonical_file).quantize(CENT)
    assert scalar(connection, "SELECT load_options->>'path' FROM loaded_files") == "copy"


def test_fast_and_validating_paths_store_identical_rows(connection, canonical_file, tmp_path):
    load(connection, canonical_file)
    fast_rows, fast_rollup = stored(connection), rollup_revenue(connection)
    copy = write(tmp_path / "copy.csv", canonical_file.read_text() + "\n")  # other bytes, same rows

    with connection.cursor() as cursor:
        cursor.execute("SELECT file_id FROM loaded_files")
        (first_id,) = cursor.fetchone()
        cursor.execute("DELETE FROM sales_data; DELETE FROM sales_daily_product")
    connection.commit()
    outcome = load(connection, copy, allow_fast_path=False)

    assert outcome.rows_loaded == 29
    assert scalar(connection, "SELECT load_options->>'path' FROM loaded_files WHERE file_id = %s",
                  (first_id + 1,)) == "validated"
    assert stored(connection) == fast_rows
    assert rollup_revenue(connection) == fast_rollup


def test_same_content_twice_is_a_no_op(connection, canonical_file, tmp_path):
    load(connection, canonical_file)
    before = stored(connection)

    again = load(connection, canonical_file)
    elsewhere = load(connection, write(tmp_path / "other-name.csv", canonical_file.read_text()))

    assert again.status == elsewhere.status == "unchanged"
    assert stored(connection) == before
    assert scalar(connection, "SELECT count(*) FROM loaded_files") == 1


def test_new_content_at_same_path_replaces_its_rows_exactly(connection, canonical_file, tmp_path):
    other = write(tmp_path / "other.csv", HEADER + "2024-01-01,Tea,1,5.00\n")
    load(connection, other)
    load(connection, canonical_file)

    write(canonical_file, HEADER + "2024-04-01,Coffee,3,2.50\n2024-04-02,Coffee,1,2.50\n")
    outcome = load(connection, canonical_file)

    assert outcome.status == "replaced"
    assert total_revenue(connection) == Decimal("5.00") + Decimal("10.00")
    assert rollup_revenue(connection) == Decimal("15.00")
    assert scalar(connection, "SELECT count(*) FROM loaded_files WHERE status = 'replaced'") == 1


def test_rejected_rows_keep_physical_line_and_reason(connection, tmp_path):
    path = write(tmp_path / "messy.csv", HEADER
                 + '2024-01-01,"Beans, Decaf\n250g",2,10.00\n'  # one record over lines 2-3
                 + "2024-01-02,Tea,two,3.00\n"  # line 4
                 + "\n"  # line 5: blank, not a row
                 + "2024-01-03,Tea,1,-3.00\n"  # line 6
                 + "2024-02-30,Tea,1,3.00\n"  # line 7
                 + "2024-01-04,,1,3.00\n"  # line 8
                 + "2024-01-05,Tea,1\n"  # line 9
                 + "".join(f"2024-01-{day:02d},Mug,1,4.00\n" for day in range(10, 30)))

    outcome = load(connection, path, reject_threshold_pct=Decimal("50"))

    assert (outcome.rows_read, outcome.rows_loaded, outcome.rows_rejected) == (26, 21, 5)
    assert outcome.rejections_by_reason == {"bad_quantity": 1, "negative_price": 1, "bad_date": 1,
                                            "missing_product": 1, "wrong_field_count": 1}
    with connection.cursor() as cursor:
        cursor.execute("SELECT line_no, reason, raw_text FROM rejected_rows ORDER BY line_no")
        rejects = cursor.fetchall()
    assert [(line, reason) for line, reason, _ in rejects] == [
        (4, "bad_quantity"), (6, "negative_price"), (7, "bad_date"), (8, "missing_product"), (9, "wrong_field_count")]
    assert rejects[0][2] == "2024-01-02,Tea,two,3.00"
    assert scalar(connection, "SELECT product_name FROM sales_data WHERE price = 10") == "Beans, Decaf\n250g"
    assert total_revenue(connection) == Decimal("20.00") + 20 * Decimal("4.00")


def test_file_above_reject_threshold_is_refused_and_nothing_stored(connection, canonical_file, tmp_path):
    load(connection, canonical_file)
    before = stored(connection)
    bad = write(tmp_path / "bad.csv", HEADER + "2024-01-01,Tea,1,3.00\n" + "2024-01-02,Tea,x,3.00\n" * 2)

    with pytest.raises(InputRefused, match="threshold"):
        load(connection, bad)

    connection.rollback()
    assert stored(connection) == before
    assert scalar(connection, "SELECT status FROM loaded_files WHERE source_path = %s", (str(bad),)) == "refused"
    assert scalar(connection, "SELECT count(*) FROM rejected_rows r JOIN loaded_files f USING (file_id)"
                  " WHERE f.status = 'refused'") == 2


def test_rejects_csv_holds_the_rejects_of_the_files_loaded_whatever_this_run_did(connection, tmp_path):
    """Changed on purpose (issue 9, item 9): rejects.csv used to hold only this run's rejects, so a run that
    loaded nothing removed it while report.json still counted the rejected rows of the files loaded. It now
    holds every rejected row of the files currently loaded, plus those of the files refused in this run."""
    path = write(tmp_path / "sales.csv", HEADER + "2024-01-01,Tea,1,2.00\n" * 10 + "2024-01-02,Tea,1,oops\n")
    [loaded] = ingestion.ingest_files(connection, [path], ingestion.LoadOptions())
    assert loaded.rows_rejected == 1
    write(path, "sale_date,product_name\n2024-01-03,Tea\n")  # the next export lost a column: refused

    outcomes = ingestion.ingest_files(connection, [path], ingestion.LoadOptions())
    rejects = ingestion.write_rejects_csv(connection, outcomes, tmp_path / "rejects.csv")
    quality = ingestion.data_quality(connection, outcomes, rejects)

    assert [outcome.status for outcome in outcomes] == ["refused"]
    with (tmp_path / "rejects.csv").open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert [(row["line"], row["reason"], row["raw_text"]) for row in rows] == [
        ("12", "bad_price", "2024-01-02,Tea,1,oops")]
    assert rejects.rows == quality.rows_rejected == 1

    no_op = ingestion.ingest_files(connection, [], ingestion.LoadOptions())
    assert ingestion.write_rejects_csv(connection, no_op, tmp_path / "rejects.csv").rows == 1
    assert (tmp_path / "rejects.csv").is_file()


def test_line_total_mapping_keeps_revenue_exact(connection, tmp_path):
    # 10.00 / 3 and 2871.00 / 7 have no exact unit price; 907.152 and 0.4444 have more than 2 decimals.
    path = write(tmp_path / "orders.csv", "ORDERDATE,PRODUCTCODE,QUANTITYORDERED,SALES\n"
                 "1/6/2003 0:00,S10_1678,3,10.00\n1/13/2003 0:00,S10_1678,7,2871.00\n"
                 "2/24/2003 0:00,S18_2248,-1,-99.99\n3/3/2003 0:00,S24_2011,6,907.152\n"
                 "3/4/2003 0:00,S24_2011,1,0.4444\n")

    outcome = load(connection, path, column_map={"sale_date": "ORDERDATE", "product_name": "PRODUCTCODE",
                                                 "quantity": "QUANTITYORDERED", "revenue": "SALES"})

    assert outcome.rows_loaded == 5
    with connection.cursor() as cursor:
        cursor.execute("SELECT line_total::text, revenue::text FROM sales_with_revenue ORDER BY sale_date")
        assert cursor.fetchall() == [(total, total) for total in ("10.00", "2871.00", "-99.99", "907.152", "0.4444")]
    expected = Decimal("10.00") + Decimal("2871.00") - Decimal("99.99") + Decimal("907.152") + Decimal("0.4444")
    assert total_revenue(connection) == rollup_revenue(connection) == expected
    assert scalar(connection, "SELECT min(sale_date)::text FROM sales_data") == "2003-01-06"


def test_european_export_with_decimal_comma_and_day_first_dates(connection, tmp_path):
    path = write(tmp_path / "eu.csv", "Datum;Produkt;Menge;Preis\n"
                 "13/01/2024;Kaffee;2;\"1.234,50\"\n02/01/2024;Tee;1;3,25\n", encoding="cp1252")

    outcome = load(connection, path, encoding="cp1252", column_map={
        "sale_date": "Datum", "product_name": "Produkt", "quantity": "Menge", "price": "Preis"})

    assert outcome.rows_loaded == 2
    assert total_revenue(connection) == Decimal("2469.00") + Decimal("3.25")
    assert scalar(connection, "SELECT max(sale_date)::text FROM sales_data") == "2024-01-13"


def test_a_comma_that_is_no_thousands_separator_never_multiplies_an_amount(connection, tmp_path):
    # Most prices have a decimal point, so the file's decimal mark is the point; '12,50' and the quantity '2,00'
    # are then no numbers of this file (read as 1250 and 200 they would inflate the revenue a hundredfold).
    rows = "".join(f"2024-01-{day:02d},Mug,1,4.{day:02d}\n" for day in range(1, 21))
    odd = '2024-01-21,Tea,1,"12,50"\n2024-01-22,Tea,"2,00",3.00\n2024-01-23,Tea,"1,000",0.01\n'
    path = write(tmp_path / "mixed_marks.csv", HEADER + rows + odd)

    outcome = load(connection, path)

    assert (outcome.rows_loaded, outcome.rows_rejected) == (21, 2)
    assert outcome.rejections_by_reason == {"bad_price": 1, "bad_quantity": 1}
    expected = sum((Decimal(f"4.{day:02d}") for day in range(1, 21)), Decimal("10.00"))  # 1,000 x 0.01
    assert total_revenue(connection) == rollup_revenue(connection) == expected


def test_decimal_comma_file_reads_thousands_in_quantities(connection, tmp_path):
    path = write(tmp_path / "eu_quantities.csv", "sale_date;product_name;quantity;price\n"
                 "2024-01-02;Schrauben;1.000;0,05\n2024-01-03;Tee;2,0;3,25\n")

    outcome = load(connection, path)

    assert outcome.rows_loaded == 2
    assert total_revenue(connection) == Decimal("50.00") + Decimal("6.50")


def test_hostile_product_names_are_stored_verbatim(connection, tmp_path):
    names = ["'); DROP TABLE sales_data; --", 'Robert"); DELETE FROM loaded_files;--', "Tab\there", "back\\slash"]
    rows = "".join(f'2024-01-0{index + 1},"{name.replace(chr(34), chr(34) * 2)}",1,1.00\n'
                   for index, name in enumerate(names))
    path = write(tmp_path / "hostile.csv", HEADER + rows)

    load(connection, path)

    assert sorted(row[1] for row in stored(connection)) == sorted(names)


ODD_DAY = "2024-01-20"
MUGS = "".join(f"2024-01-{day:02d},Mug,1,4.00\n" for day in range(1, 16))


# Changed on purpose (issue 13.3): a line that is not clean used to send the whole file down the validating path
# ("validated"); it is now diverted from the COPY and read by the row gate alone, so the file keeps the fast path
# ("copy"). What is stored (or rejected) for the line is unchanged: that is what these cases check.
@pytest.mark.parametrize(("odd_line", "path", "reasons", "stored"), [
    # PostgreSQL's input functions accept these; the row gate does not, so they are never COPYed as they are.
    (f"{ODD_DAY},Tea,0x1F,2.50", "copy", {"bad_quantity": 1}, None),
    (f"{ODD_DAY},Tea,1_000,2.50", "copy", {"bad_quantity": 1}, None),
    (f"{ODD_DAY},Tea,1,1e3", "copy", {"bad_price": 1}, None),
    (f"{ODD_DAY},Tea,1,NaN", "copy", {"bad_price": 1}, None),
    (f"{ODD_DAY},Tea,1,Infinity", "copy", {"bad_price": 1}, None),
    ("20240120,Tea,1,2.50", "copy", {"bad_date": 1}, None),
    ("Jan 20 2024,Tea,1,2.50", "copy", {"bad_date": 1}, None),
    # Read differently: Python trims every kind of space (the COPYed name is then not the gate's: the whole
    # file is validated), and takes quotes inside an unquoted field literally (the line is diverted).
    (f"{ODD_DAY},Tea\t,3,2.50", "validated", {}, ("Tea", 3, "2.50")),
    (f"{ODD_DAY},\u00a0Tea,3,2.50", "validated", {}, ("Tea", 3, "2.50")),
    (f'{ODD_DAY},Tea "Green" Leaf,3,2.50', "copy", {}, ('Tea "Green" Leaf', 3, "2.50")),
    # Read alike by both: copied as it is.
    (f'"{ODD_DAY}","Tea, ""Green""",+3,"2.50"', "copy", {}, ('Tea, "Green"', 3, "2.50")),
])
def test_plain_copy_only_takes_values_both_paths_read_alike(connection, tmp_path, odd_line, path, reasons, stored):
    outcome = load(connection, write(tmp_path / "odd.csv", HEADER + MUGS + odd_line + "\n"))

    assert scalar(connection, "SELECT load_options->>'path' FROM loaded_files") == path
    assert outcome.rejections_by_reason == reasons
    with connection.cursor() as cursor:
        cursor.execute("SELECT product_name, quantity, price::text FROM sales_data WHERE sale_date = %s", (ODD_DAY,))
        assert cursor.fetchone() == stored


@pytest.mark.parametrize("chunk", [1, 2, 5, 64, 1 << 20])
def test_clean_line_check_does_not_depend_on_chunk_boundaries(chunk):
    layout = csv_format.FileLayout("utf-8-sig", ",", ["sale_date", "product_name", "quantity", "price"],
                                   {"sale_date": 0, "product_name": 1, "quantity": 2, "price": 3})
    clean = (HEADER + MUGS + '2024-01-16,"Beans, Decaf",2,9.5\r\n2024-01-17,Tea,1,.5').encode()
    odd = clean.replace(b"Mug,1,4.00\n", b"Mug,1,$4.00\n", 1)
    for data, copied, diverted in ((clean, clean, []),
                                   (odd, clean.replace(b"2024-01-01,Mug,1,4.00\n", b""),
                                    [(2, b"2024-01-01,Mug,1,$4.00")])):
        lines = copy_path.CleanLines(layout, Bounds())
        sent = b"".join(lines.feed(data[start:start + chunk]) for start in range(0, len(data), chunk))
        assert sent + lines.finish() == copied
        assert lines.diverted.lines == diverted
        assert (lines.lines, lines.abandoned) == (17, None)


@pytest.mark.parametrize(("lines", "sent"), [
    (b"", b""),
    (b"2024-01-01,Mug,1,4.00\n", b"42;2024-01-01,Mug,1,4.00\n"),
    (b"a\r\nb\n", b"42;a\r\n42;b\n"),
    (b"2024-01-17,Tea,1,.5", b"42;2024-01-17,Tea,1,.5"),  # the last line of a file without a line break
])
def test_clean_lines_reach_copy_with_the_loads_file_id_first(lines, sent):
    assert copy_path.FileIdPrefix(42, ";")(lines) == sent


def test_fast_path_rows_belong_to_their_own_load(connection, tmp_path):
    """The file_id written into each clean line is the one of the load's ledger row, file after file."""
    first = load(connection, write(tmp_path / "a.csv", HEADER + MUGS))
    second = load(connection, write(tmp_path / "b.csv", HEADER + MUGS.replace("Mug", "Cup")))
    with connection.cursor() as cursor:
        cursor.execute("SELECT f.source_path, s.product_name, count(*) FROM sales_data s JOIN loaded_files f"
                       " USING (file_id) WHERE s.sale_date = '2024-01-01' GROUP BY 1, 2 ORDER BY 1")
        assert cursor.fetchall() == [(first.path, "Mug", 1), (second.path, "Cup", 1)]
        cursor.execute("SELECT DISTINCT load_options->>'path' FROM loaded_files")
        assert cursor.fetchall() == [("copy",)]


@pytest.mark.parametrize(("first", "last"), [
    (date(2000, 1, 1), date(2026, 12, 3)), (date(2024, 2, 29), date(2024, 3, 1)),
    (date(2023, 1, 15), date(2023, 1, 15)), (date(2019, 12, 31), date(2020, 1, 1)),
    (date(2000, 3, 10), date(2000, 11, 20)), (date(2010, 5, 9), date(2012, 10, 11)),
])
def test_clean_date_pattern_matches_exactly_the_calendar_dates_between_its_bounds(first, last):
    pattern = re.compile(copy_path.date_pattern(first, last))
    for year in range(first.year - 1, last.year + 2):
        for month in range(14):
            for day in range(33):
                try:
                    expected = first <= date(year, month, day) <= last
                except ValueError:
                    expected = False
                text = f"{year:04d}-{month:02d}-{day:02d}"
                assert bool(pattern.fullmatch(text.encode())) == expected, text


def test_mixed_day_first_and_month_first_dates_are_refused_not_swapped(connection, tmp_path):
    """A few day-first dates among month-first ones: the ambiguous rows must not be read either way."""
    month_first = "".join(f"0{month}/{day}/2024,Tea,1,2.00\n" for month in (1, 2, 3) for day in range(13, 28))
    day_first = "25/03/2024,Tea,1,2.00\n05/04/2024,Tea,1,2.00\n"
    path = write(tmp_path / "mixed.csv", HEADER + month_first + day_first)

    with pytest.raises(InputRefused, match="mixed date formats: most dates read as %m/%d/%Y, but 25/03/2024"):
        load(connection, path)
    connection.rollback()

    assert stored(connection) == []


def test_an_impossible_date_among_iso_dates_is_a_rejected_row(connection, tmp_path):
    rows = "".join(f"2024-01-{day:02d},Tea,1,2.00\n" for day in range(1, 21)) + "2023-02-30,Tea,1,2.00\n"
    outcome = load(connection, write(tmp_path / "iso.csv", HEADER + rows))

    assert (outcome.rows_loaded, outcome.rejections_by_reason) == (20, {"bad_date": 1})


def test_new_content_at_a_path_replaces_its_rows_even_if_loaded_from_elsewhere(connection, tmp_path):
    daily = write(tmp_path / "daily.csv", HEADER + "2024-01-01,Tea,1,5.00\n")
    archive = write(tmp_path / "archive.csv", HEADER + "2024-02-01,Mug,2,4.00\n")
    load(connection, daily)
    load(connection, archive)

    write(daily, archive.read_text())  # daily.csv now holds exactly what archive.csv loaded
    outcome = load(connection, daily)

    assert outcome.status == "unchanged"
    assert total_revenue(connection) == Decimal("8.00")  # archive's rows once; daily's old 5.00 gone
    assert rollup_revenue(connection) == Decimal("8.00")


def rows_of_load(connection: psycopg2.extensions.connection, path: Path) -> tuple[list[tuple], list[tuple], str]:
    """(stored rows, rejected rows, load path) of the active load of ``path``."""
    file_id = scalar(connection, "SELECT file_id FROM loaded_files WHERE status = 'active' AND source_path = %s",
                     (str(path.resolve()),))
    with connection.cursor() as cursor:
        cursor.execute("SELECT sale_date::text, product_name, quantity, price::text, line_total::text FROM sales_data"
                       " WHERE file_id = %s ORDER BY 1, 2, 3, 4", (file_id,))
        rows = cursor.fetchall()
        cursor.execute("SELECT line_no, reason, raw_text FROM rejected_rows WHERE file_id = %s ORDER BY 1", (file_id,))
        rejects = cursor.fetchall()
    return rows, rejects, str(scalar(connection, "SELECT load_options->>'path' FROM loaded_files WHERE file_id = %s",
                                     (file_id,)))


def test_a_few_bad_lines_keep_the_fast_path_and_store_what_the_validating_path_stores(connection, tmp_path):
    """Issue 13.3: lines that are not clean are diverted to the row gate, not the whole file."""
    odd = ("\n2024-01-16,Tea,1,oops\n2024-01-17,Tea,1,$2.50\n   \n"
           '2024-01-18,Tea "Green",2,1.00\n9999-12-31,Tea,1,1.00\n2024-01-19,Mug,1,4.00\n'
           "2024-01-20,Tea,1\n2024-01-21,Tea,3,0.50")  # the last line without a line break
    fast_file = write(tmp_path / "fast.csv", HEADER + MUGS + odd)
    slow_file = write(tmp_path / "slow.csv", HEADER + MUGS + odd + "\n")  # other bytes, same rows

    fast = load(connection, fast_file, reject_threshold_pct=Decimal(20))
    slow = load(connection, slow_file, allow_fast_path=False, reject_threshold_pct=Decimal(20))

    fast_rows, fast_rejects, fast_path = rows_of_load(connection, fast_file)
    slow_rows, slow_rejects, slow_path = rows_of_load(connection, slow_file)
    assert (fast_path, slow_path) == ("copy", "validated")
    assert fast_rows == slow_rows
    assert fast_rejects == slow_rejects == [(18, "bad_price", "2024-01-16,Tea,1,oops"),
                                            (22, "date_out_of_range", "9999-12-31,Tea,1,1.00"),
                                            (24, "wrong_field_count", "2024-01-20,Tea,1")]
    assert (fast.rows_read, fast.rows_loaded, fast.rows_rejected) == (slow.rows_read, slow.rows_loaded,
                                                                      slow.rows_rejected) == (22, 19, 3)
    assert ("2024-01-18", 'Tea "Green"', 2, "1.00", None) in fast_rows
    assert ("2024-01-17", "Tea", 1, "2.50", None) in fast_rows


@pytest.mark.parametrize(("name", "fast_path"), [
    ("x y" * 100_000, "copy"),         # unquoted: diverted to the gate by the clean-line check
    ('"' + "z" * 300_000 + '"', None),  # quoted: may reach the COPY; the index limit must not escape
    ("漢" * 2_000, "copy"),             # 2,000 characters, 6,000 bytes
], ids=["unquoted-300k", "quoted-300k", "cjk-2000"])
def test_a_product_name_too_long_for_an_index_is_a_rejected_row_not_a_database_failure(connection, tmp_path, name,
                                                                                      fast_path):
    """Issue 9: a name far over PRODUCT_NAME_MAX_CHARS must never reach the rollup's primary key (exit 75 then
    stopped every later night); it is rejected with its line number, and the good rows load."""
    path = write(tmp_path / "long_name.csv", HEADER + MUGS + f"2024-01-20,{name},1,9.00\n")
    outcome = load(connection, path, reject_threshold_pct=Decimal(10))
    rows, rejects, load_path = rows_of_load(connection, path)
    assert (outcome.rows_read, outcome.rows_loaded, outcome.rows_rejected) == (16, 15, 1)
    assert [(line, reason) for line, reason, _ in rejects] == [(17, "field_too_long")]
    assert total_revenue(connection) == Decimal("4.00") * 15
    assert all(product == "Mug" for _, product, *_ in rows)
    if fast_path is not None:
        assert load_path == fast_path
