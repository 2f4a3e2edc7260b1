"""Property: whatever file the gate admits, the next run succeeds (issue 9).

Hypothesis writes arbitrary files: text in every script, control characters, numbers and dates at and beyond
the bounds, currency marks, ragged rows, blank lines, quoting, several encodings and delimiters. Each is loaded
in-process; the file is loaded, rejected row by row, or refused (InputRefused), never anything else; rows read
= loaded + rejected; and a `--skip-ingest` run on what was stored exits 0.
"""

from __future__ import annotations

import contextlib
import csv
import io
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from processes import environment

import db
import ingestion
import main
from errors import InputRefused

DATES = st.one_of(
    st.dates(date(1999, 12, 25), date.today() + timedelta(days=3)).map(date.isoformat),
    st.sampled_from(["2000-01-01", "1999-12-31", "9999-12-31", "0001-01-01", "1900-01-01", "2024-02-30",
                     "2024-13-01", "20240101", "01/02/2024", "2024-01-01T25:00:00", "", " ", "NaT"]),
    st.dates(date(1, 1, 1), date(9999, 12, 31)).map(date.isoformat),
    st.text(max_size=12),
)
NAMES = st.one_of(
    st.text(min_size=1, max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=190, max_size=260),
    st.sampled_from(["Tea", " Tea ", "Tea\t", "\u200b", "\ufeffTea", "$x^2$", "a\nb", "\x01", "\u202eevil",
                     "Robert'); DROP TABLE sales_data;--", "\u0085", "\U0010ffff" * 200]),
)
QUANTITIES = st.one_of(
    st.integers(-1_000_001, 1_000_001).map(str),
    st.sampled_from(["0", "-0", "+3", "2.0", "1,000", "1e3", "0x1F", "2147483648", "9" * 120, "", "two"]),
)
PRICES = st.one_of(
    st.decimals(Decimal("-1"), Decimal("1000000000.5"), allow_nan=False, places=2).map(str),
    st.sampled_from(["1" + "0" * 26, "1000000000", "1000000000.01", "NaN", "Infinity", "-0.00", "1e308",
                     "$5", "€5", "5 EUR", "£5.50", "EUR 10.00", "US$ 3", "(3.00)", "3-", "0." + "0" * 150 + "1",
                     "12,50", "1.234,5", "", "  ", "abc"]),
)
ROW = st.tuples(DATES, NAMES, QUANTITIES, PRICES)


@st.composite
def hostile_files(draw: st.DrawFn) -> tuple[bytes, str]:
    """(file content, --encoding) of an arbitrary sales file."""
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    extra = draw(st.booleans())
    header = ["sale_date", "product_name", "quantity", "price", *(["notes"] if extra else [])]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=draw(st.sampled_from(["\n", "\r\n", "\r"])))
    if draw(st.booleans()):
        buffer.write(f"sep={delimiter}\n")
    writer.writerow(header)
    for row in draw(st.lists(ROW, max_size=25)):
        fields = [*row, *([draw(st.text(max_size=30))] if extra else [])]
        shape = draw(st.sampled_from(["as is", "as is", "as is", "short", "long", "blank", "raw"]))
        if shape == "short":
            fields = fields[:-1]
        elif shape == "long":
            fields = [*fields, "extra"]
        elif shape == "blank":
            buffer.write(draw(st.sampled_from(["\n", "   \n", delimiter * 3 + "\n"])))
            continue
        elif shape == "raw":
            buffer.write(draw(st.text(max_size=60)) + "\n")
            continue
        writer.writerow(fields)
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "utf-16", "utf-16-be"]))
    text = buffer.getvalue()
    try:
        content = text.encode(encoding)
    except UnicodeEncodeError:  # lone surrogates: write them as UTF-8 would refuse them, bytes that do not decode
        content = text.encode(encoding, "surrogatepass")
    return content, "utf-16" if encoding.startswith("utf-16") and draw(st.booleans()) else "utf-8"


def reset(database_url: str) -> None:
    connection = psycopg2.connect(database_url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    connection.autocommit = False
    db.migrate(connection)
    connection.close()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow, HealthCheck.data_too_large])
@given(file=hostile_files())
def test_whatever_the_gate_admits_the_next_run_succeeds(database_url: str, tmp_path: Path,
                                                       file: tuple[bytes, str]) -> None:
    content, encoding = file
    reset(database_url)
    path = tmp_path / "hostile.csv"
    path.write_bytes(content)
    connection = psycopg2.connect(database_url)
    try:
        outcome = ingestion.ingest_file(connection, path, ingestion.LoadOptions(
            encoding=encoding, reject_threshold_pct=Decimal(100)))
        assert outcome.rows_read == outcome.rows_loaded + outcome.rows_rejected
        assert sum(outcome.rejections_by_reason.values()) == outcome.rows_rejected
    except InputRefused as refusal:  # refused whole: one line, naming the file
        assert "\n" not in str(refusal).strip() and str(path) in str(refusal)
        connection.rollback()
    finally:
        connection.close()

    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.chdir(tmp_path):
        status = main.main(["--skip-ingest", "--output-dir", "out"], environment(database_url), stdout, stderr)
    assert (status, stderr.getvalue()) == (0, "")


@st.composite
def canonical_files(draw: st.DrawFn) -> bytes:
    """A file with the canonical header, so that the fast COPY path applies, and arbitrary values in its rows."""
    buffer = io.StringIO()
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    writer = (csv.writer(buffer, lineterminator=ending, quoting=csv.QUOTE_ALL) if draw(st.booleans())
              else csv.writer(buffer, lineterminator=ending))
    writer.writerow(["sale_date", "product_name", "quantity", "price"])
    writer.writerows(draw(st.lists(st.one_of(ROW, st.just(("2024-03-01", "Tea", "2", "4.50"))), max_size=25)))
    if draw(st.booleans()):
        buffer.write(draw(st.sampled_from(["", "\n", " \n", "2024-03-02,Tea,1,2.00"])))  # ragged or unterminated end
    return buffer.getvalue().encode("utf-8", "surrogatepass")


STORED = {
    "rows": "SELECT sale_date, product_name, quantity, price::text, line_total::text FROM sales_data"
            " ORDER BY 1, 2, 3, 4",
    "rollup": "SELECT sale_date, product_name, quantity, revenue::text, transactions FROM sales_daily_product"
              " ORDER BY 1, 2",
    "rejects": "SELECT line_no, reason, raw_text FROM rejected_rows ORDER BY line_no",
}


def load_and_read_back(database_url: str, path: Path, allow_fast_path: bool) -> tuple[object, dict[str, list]]:
    """(the outcome, or the refusal's type; what the database then holds) of one load into an empty schema."""
    reset(database_url)
    connection = psycopg2.connect(database_url)
    try:
        try:
            outcome = ingestion.ingest_file(connection, path, ingestion.LoadOptions(
                reject_threshold_pct=Decimal(100), allow_fast_path=allow_fast_path))
            result: object = (outcome.rows_read, outcome.rows_loaded, outcome.rows_rejected,
                              outcome.rejections_by_reason)
        except InputRefused as refusal:
            connection.rollback()
            result = type(refusal).__name__
        with connection.cursor() as cursor:
            stored = {}
            for name, query in STORED.items():
                cursor.execute(query)
                stored[name] = cursor.fetchall()
        connection.rollback()
        return result, stored
    finally:
        connection.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow, HealthCheck.data_too_large])
@given(content=canonical_files())
def test_the_fast_path_stores_exactly_what_the_validating_path_stores(database_url: str, tmp_path: Path,
                                                                     content: bytes) -> None:
    """Whatever a canonical file holds, COPYing its clean lines (and gating the others) ends as validating every
    row in Python would: the same counts, rows, rollup and rejects with their lines, or the same refusal."""
    path = tmp_path / "canonical.csv"
    path.write_bytes(content)

    fast = load_and_read_back(database_url, path, allow_fast_path=True)
    validated = load_and_read_back(database_url, path, allow_fast_path=False)

    assert fast == validated
