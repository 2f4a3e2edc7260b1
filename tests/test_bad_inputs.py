"""The bad-input set (tests/data/bad_inputs, manifest in bad_input_cases.py) against real ingestion.

Each file is loaded into a database that already holds a sale, so "nothing already stored is lost"
is checked too. Refused files are also run through the command line: exit 65, one clear line on
stderr, no traceback.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest
from bad_input_cases import CASES, FIXTURE_DIR, Case

import ingestion
from errors import INPUT_REFUSED, NO_INPUT, InputRefused
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
    assert case.revenue is not None  # the manifest checks that every loaded case has its revenue
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


# ---------------------------------------------------------------------------------------------
# Issue 9: what cannot be a fixture file (special files, sizes, concurrency) and the run after a load


def special_path(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"{kind}.csv"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    elif kind == "dangling_link":
        path.symlink_to(tmp_path / "gone.csv")
    else:
        return Path("/dev/null")
    return path


@pytest.mark.parametrize("kind", ["fifo", "folder", "dangling_link", "device"])
def test_a_path_that_is_no_regular_file_exits_66_at_once(run_main_process, tmp_path, kind: str):
    path = special_path(tmp_path, kind)

    result = run_main_process("--csv", str(path), "--output-dir", "out")  # a FIFO once hung: the timeout fails that

    assert result.returncode == NO_INPUT
    [line] = result.stderr.splitlines()
    assert line.startswith(f"autosight: error: {path}: ")
    assert "Traceback" not in result.stderr


def test_inbox_skips_what_is_no_regular_file_and_loads_the_rest(run_main, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for kind in ("fifo", "folder", "dangling_link"):
        special_path(inbox, kind)
    (inbox / "sales.csv").write_text("sale_date,product_name,quantity,price\n2024-01-01,Tea,2,1.25\n")

    result = run_main("--inbox", str(inbox), "--output-dir", "out")

    assert (result.returncode, result.stderr) == (0, "")
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert [Path(file["path"]).name for file in report["data_quality"]["files"]] == ["sales.csv"]
    log = (tmp_path / "autosight.log").read_text()
    assert all(f"skipped {inbox / name}" in log for name in ("fifo.csv", "folder.csv", "dangling_link.csv"))


def test_a_ten_megabyte_value_in_an_unused_column_loads(seeded, tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text("sale_date,product_name,quantity,price,notes\n"
                    f"2024-01-01,Tea,2,1.25,{'n' * 10_000_000}\n2024-01-02,Tea,1,1.00,short\n")

    outcome = ingestion.ingest_file(seeded, path, ingestion.LoadOptions())

    assert (outcome.rows_loaded, outcome.rows_rejected) == (2, 0)
    assert loaded_revenue(seeded) == EXISTING_REVENUE + Decimal("3.50")


def test_a_file_growing_while_read_stores_exactly_the_hashed_bytes_or_nothing(seeded, tmp_path):
    """A concurrent appender: the ledger's hash must describe exactly the bytes whose rows were stored."""
    path = tmp_path / "growing.csv"
    path.write_text("sale_date,product_name,quantity,price\n" + "2024-01-01,Tea,1,1.00\n" * 200_000)
    stop = threading.Event()

    def append() -> None:
        with path.open("a") as stream:
            while not stop.is_set():
                stream.write("2024-01-02,Mug,1,2.00\n")
                stream.flush()
                time.sleep(0.001)

    appender = threading.Thread(target=append)
    appender.start()
    try:
        outcome = ingestion.ingest_files(seeded, [path], ingestion.LoadOptions())[0]
    finally:
        stop.set()
        appender.join()

    stored = query(seeded, "SELECT sha256, size_bytes, rows_loaded FROM loaded_files"
                           " WHERE status = 'active' AND source_path = %s", (str(path.resolve()),))
    if outcome.status == "refused":
        assert "changed while it was being read" in outcome.message
        assert stored == []
        return
    [(sha256, size, rows)] = stored
    prefix = path.read_bytes()[:size]
    assert sha256 == hashlib.sha256(prefix).hexdigest()
    assert rows == prefix.count(b"\n") - 1


def test_rejects_csv_and_the_report_agree_after_a_run_that_loads_nothing(run_main, tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text("sale_date,product_name,quantity,price\n" + "2024-01-01,Tea,1,1.00\n" * 20
                    + "9999-12-31,Tea,1,1.00\n2024-01-02,Tea,1,EUR 1.00\n")
    assert run_main("--csv", str(path), "--output-dir", "out").returncode == 0

    result = run_main("--skip-ingest", "--output-dir", "out")

    assert result.returncode == 0
    quality = json.loads((tmp_path / "out" / "report.json").read_text())["data_quality"]
    with (tmp_path / "out" / "rejects.csv").open(newline="") as stream:
        rejects = [(row["line"], row["reason"]) for row in csv.DictReader(stream)]
    assert rejects == [("22", "date_out_of_range"), ("23", "wrong_currency")]
    assert quality["rows_rejected"] == quality["rejects_csv"]["rows"] == 2


def test_the_currency_setting_is_in_the_report(run_main, tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text("sale_date,product_name,quantity,price\n2024-01-01,Tea,1,€1.50\n2024-01-02,Tea,1,2.00 EUR\n")

    result = run_main("--csv", str(path), "--output-dir", "out", env={"CURRENCY": "eur"})

    assert result.returncode == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["currency"] == "EUR"
    assert report["data_quality"]["rows_loaded"] == 2


def test_a_file_that_vanished_or_became_a_fifo_since_listed_is_refused_and_the_others_load(seeded, tmp_path):
    fifo, gone = special_path(tmp_path, "fifo"), tmp_path / "gone.csv"
    good = tmp_path / "good.csv"
    good.write_text("sale_date,product_name,quantity,price\n2024-01-01,Tea,2,1.25\n")

    outcomes = ingestion.ingest_files(seeded, [fifo, gone, good], ingestion.LoadOptions())

    assert [outcome.status for outcome in outcomes] == ["refused", "refused", "loaded"]
    assert "FIFO" in outcomes[0].message and "no such file" in outcomes[1].message
    assert loaded_revenue(seeded) == EXISTING_REVENUE + Decimal("2.50")


def test_a_file_name_that_is_not_utf8_is_refused_by_csv_and_skipped_by_inbox(run_main, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    content = b"sale_date,product_name,quantity,price\n2024-01-01,Tea,2,1.25\n"
    latin1 = os.fsdecode(bytes(inbox) + b"/caf\xe9.csv")
    Path(latin1).write_bytes(content)
    (inbox / "good.csv").write_bytes(content.replace(b"2024-01-01", b"2024-01-02"))

    refused = run_main("--csv", latin1, "--output-dir", "out")
    loaded = run_main("--inbox", str(inbox), "--output-dir", "out")

    assert refused.returncode == INPUT_REFUSED
    assert "the file name is not valid UTF-8" in refused.stderr and len(refused.stderr.splitlines()) == 1
    assert (loaded.returncode, loaded.stderr) == (0, "")
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert [Path(file["path"]).name for file in report["data_quality"]["files"]] == ["good.csv"]


@pytest.mark.parametrize(("args", "env", "status", "message"), [
    (("--encoding", "hex"), {}, 2, "unknown encoding 'hex'"),
    (("--encoding", "rot13"), {}, 2, "unknown encoding 'rot13'"),
    ((), {"CSV_ENCODING": "zlib"}, 78, "CSV_ENCODING: unknown encoding 'zlib'"),
    (("--date-format", "%Y%Y"), {}, 2, "--date-format: '%Y%Y' is not a strptime format of a date"),
    (("--date-format", "{0}"), {}, 2, "--date-format: '{0}' is not a strptime format of a date"),
    ((), {"DATE_FORMAT": "%Q"}, 78, "DATE_FORMAT: '%Q' is not a strptime format of a date"),
])
def test_a_codec_or_date_format_that_cannot_read_dates_stops_the_run_before_any_load(
        run_main, tmp_path, args: tuple[str, ...], env: dict[str, str], status: int, message: str):
    """'hex' or 'zlib' are Python codecs but not text encodings, and '%Y%Y' makes strptime raise re.error: each
    once ended the run with an unexpected error (exit 70) at the first file."""
    path = tmp_path / "sales.csv"
    path.write_text("sale_date,product_name,quantity,price\n2024-01-01,Tea,1,1.00\n")

    result = run_main("--csv", str(path), "--output-dir", "out", *args, env=env)

    assert result.returncode == status
    assert result.stderr.startswith(f"autosight: error: {message}") and len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "out" / "report.json").exists()


@pytest.mark.parametrize("content", [
    b"sale_date\x00,product_name,quantity,price\n2024-01-01,Tea,2,1.25\n",
    b"sep=\x00\nsale_date\x00product_name\x00quantity\x00price\n2024-01-01\x00Tea\x002\x001.25\n",
], ids=["in a header name", "as the sep= delimiter"])
def test_a_nul_in_the_header_is_loaded_and_the_ledger_shows_it(seeded, tmp_path, content: bytes):
    """The ledger's load_options keep the file's header names and delimiter, and jsonb cannot hold a NUL: both
    files once ended the run with an unexpected error (exit 70)."""
    path = tmp_path / "nul.csv"
    path.write_bytes(content)

    outcome = ingestion.ingest_file(seeded, path, ingestion.LoadOptions())

    assert (outcome.status, outcome.rows_loaded) == ("loaded", 1)
    assert loaded_revenue(seeded) == EXISTING_REVENUE + Decimal("2.50")
    options = query(seeded, "SELECT load_options::text FROM loaded_files WHERE source_path = %s", (str(path),))
    assert "\\\\x00" in options[0][0]


def test_a_refusal_for_rejected_rows_quotes_the_first_one(seeded):
    """The one line on stderr says what the rejected values look like (Excel serial numbers for dates, another
    currency), not only how many there are."""
    with pytest.raises(InputRefused) as refusal:
        ingestion.ingest_file(seeded, FIXTURE_DIR / "above_threshold.csv", ingestion.LoadOptions())

    assert str(refusal.value).endswith("; first: line 6 (bad_quantity): '2024-03-03,Paper Filters 100,four,3.25'")
