"""The row gate on its own: no database, no file (autosight/row_gate.py)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

import csv_values
from autosight import bounds
from autosight.row_gate import Bounds, RawText, Reason, RowParser
from csv_format import FileLayout

HEADER = ["sale_date", "product_name", "quantity", "price", "notes"]
LAYOUT = FileLayout("utf-8-sig", ",", HEADER, {"sale_date": 0, "product_name": 1, "quantity": 2, "price": 3})
LINE_TOTALS = FileLayout("utf-8-sig", ",", ["sale_date", "product_name", "quantity", "total"],
                         {"sale_date": 0, "product_name": 1, "quantity": 2, "revenue": 3})


DEFAULT_BOUNDS = Bounds()


def parse(*fields: str, bounds: Bounds = DEFAULT_BOUNDS, layout: FileLayout = LAYOUT, decimal_comma: bool = False):
    return RowParser(layout, "%Y-%m-%d", decimal_comma, bounds).parse(list(fields))


def test_a_good_row_is_parsed_exactly():
    assert parse("2024-03-01", "  Tea  ", "3", "2.50", "") == (date(2024, 3, 1), "Tea", 3, Decimal("2.50"), None)


@pytest.mark.parametrize(("day", "expected"), [
    ("1999-12-31", Reason.DATE_OUT_OF_RANGE),
    ("2000-01-01", date(2000, 1, 1)),
    ("9999-12-31", Reason.DATE_OUT_OF_RANGE),
    ("0000-01-01", Reason.BAD_DATE),
    ("2023-02-29", Reason.BAD_DATE),
    ("2" * 101, Reason.BAD_DATE),
])
def test_dates_within_bounds(day: str, expected):
    result = parse(day, "Tea", "1", "1.00", "")
    assert (result if isinstance(result, Reason) else result[0]) == expected


@pytest.fixture
def today(monkeypatch: pytest.MonkeyPatch) -> date:
    """A fixed machine date for the gate: the test's own date.today() and the gate's could be a day apart when
    the test runs across midnight. A day in the past, so that the gate's 'today' is seen to be the clock's."""
    class FixedDate(date):
        @classmethod
        def today(cls) -> FixedDate:
            return cls(2024, 12, 31)

    monkeypatch.setattr(bounds, "date", FixedDate)
    return date(2024, 12, 31)


def test_the_latest_date_is_today_plus_max_future_days(today: date):
    tomorrow, after = today + timedelta(days=1), today + timedelta(days=2)
    assert parse(tomorrow.isoformat(), "Tea", "1", "1", "")[0] == tomorrow
    assert parse(after.isoformat(), "Tea", "1", "1", "") == Reason.DATE_OUT_OF_RANGE
    assert parse(tomorrow.isoformat(), "Tea", "1", "1", "", bounds=Bounds(max_future_days=0)) \
        == Reason.DATE_OUT_OF_RANGE


@pytest.mark.parametrize(("quantity", "price", "expected"), [
    ("1000000", "1000000000", None),
    ("-1000000", "0", None),
    ("1000001", "1", Reason.QUANTITY_OUT_OF_RANGE),
    ("2147483648", "1", Reason.QUANTITY_OUT_OF_RANGE),
    ("9" * 5000, "1", Reason.BAD_QUANTITY),
    ("1", "1000000000.01", Reason.PRICE_OUT_OF_RANGE),
    ("1", "1" + "0" * 26, Reason.PRICE_OUT_OF_RANGE),
    ("1", "-0.01", Reason.NEGATIVE_PRICE),
    ("1", "0." + "0" * 200 + "1", Reason.BAD_PRICE),
    ("1", "NaN", Reason.BAD_PRICE),
    ("1", "1e3", Reason.BAD_PRICE),
])
def test_quantities_and_prices_within_bounds(quantity: str, price: str, expected):
    result = parse("2024-01-01", "Tea", quantity, price, "")
    assert (None if isinstance(result, tuple) else result) == expected


def test_line_totals_within_bounds():
    assert parse("2024-01-01", "Tea", "4", "10.00", layout=LINE_TOTALS)[3:] == (Decimal("2.5"), Decimal("10.00"))
    assert parse("2024-01-01", "Tea", "1", "-" + "9" * 16, layout=LINE_TOTALS) == Reason.LINE_TOTAL_OUT_OF_RANGE


@pytest.mark.parametrize(("name", "expected"), [
    ("x" * 200, "x" * 200),
    (" " + "x" * 200 + "\u00a0", "x" * 200),
    ("x" * 201, Reason.FIELD_TOO_LONG),
    ("\U0001F600" * 200, "\U0001F600" * 200),
    ("Tab\there", "Tab\there"),
    ("Two\nlines", "Two\nlines"),
    ("Bell\x07", Reason.INVALID_CHARACTER),
    ("C1\x85inside", Reason.INVALID_CHARACTER),
    ("NEL trimmed\x85", "NEL trimmed"),
    ("NUL\x00", Reason.INVALID_CHARACTER),
    (" \t ", Reason.MISSING_PRODUCT),
])
def test_product_names(name: str, expected):
    result = parse("2024-01-01", name, "1", "1", "")
    assert (result if isinstance(result, Reason) else result[1]) == expected


@pytest.mark.parametrize(("price", "currency", "expected"), [
    ("$2.50", "USD", Decimal("2.50")),
    ("$2.50", "CAD", Decimal("2.50")),
    ("US$2.50", "CAD", Reason.WRONG_CURRENCY),
    ("EUR 2.50", "USD", Reason.WRONG_CURRENCY),
    ("2.50 €", "EUR", Decimal("2.50")),
    ("£2.50", "EUR", Reason.WRONG_CURRENCY),
    ("2.50 usd", "USD", Decimal("2.50")),
    ("¥250", "JPY", Decimal("250")),
    ("€2.50 $", "EUR", Reason.WRONG_CURRENCY),
])
def test_one_currency(price: str, currency: str, expected):
    result = parse("2024-01-01", "Tea", "1", price, "", bounds=Bounds(currency=currency))
    assert (result if isinstance(result, Reason) else result[3]) == expected


def test_unused_columns_never_reject_a_row():
    assert parse("2024-01-01", "Tea", "1", "1", "\x00" + "n" * 1_000_000)[1] == "Tea"


def test_row_shape():
    assert parse("2024-01-01", "Tea", "1", "1") == Reason.WRONG_FIELD_COUNT
    assert parse(*HEADER) == Reason.REPEATED_HEADER


def test_raw_text_of_a_huge_row_is_cut_and_says_so():
    text = RawText(",").text(["2024-01-01", "x" * 200_000])
    assert len(text) < 100_100 and text.endswith("[cut: 200011 characters in all]")


def test_the_gate_needs_no_database_driver():
    import subprocess
    import sys
    from pathlib import Path

    check = ("import sys, autosight.row_gate;"
             " print(sorted(m for m in ('psycopg2', 'settings', 'db') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", check], cwd=Path(__file__).resolve().parents[1],
                            capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("fields", [
    ("", "Total", "15", "$1,308.50", ""),  # a spreadsheet's totals line under the product column
    ("TOTAL", "", "25", "$987.50", ""),  # a report's totals line in the date column
    ("", "", "", "", "Total for Design"),
    ("", "Summe", "7", "70,00", ""),
    ("Accrual basis Monday, April 1, 2024 09:15 AM GMT-07:00", "", "", "", ""),  # a report's footer
    ("", "Design", "", "", ""),  # a report's section line
])
def test_a_report_line_without_a_date_is_a_summary_row(fields):
    assert parse(*fields) == Reason.SUMMARY_ROW


@pytest.mark.parametrize(("fields", "reason"), [
    (("", "Total Gym 1400", "1", "99.00", ""), Reason.BAD_DATE),  # a sale without its date
    (("2024-03-01", "Total", "1", "", ""), Reason.BAD_PRICE),  # dated: a sale with no amount
    (("03/01/2024", "Totally Tea", "1", "1.00", ""), Reason.BAD_DATE),
])
def test_a_sale_with_a_bad_value_is_no_summary_row(fields, reason):
    assert parse(*fields) == reason


@pytest.mark.parametrize("stamp", ["2024-03-01 10:15:32 -0500", "2024-03-01T10:15:32.000Z", "2024-03-01 10:15:32 UTC",
                                   "2024-03-01 10:15 GMT+1", "2024-03-01 10:15:32 PM EST", "2024-03-01T10:15:32+05:30"])
def test_a_time_with_a_zone_after_the_date_is_ignored(stamp):
    """The date a shop system writes is its own local date: the zone says where, not which day to count."""
    assert parse(stamp, "Tea", "1", "1.00", "")[0] == date(2024, 3, 1)


@pytest.mark.parametrize(("text", "fmt"), [
    ("March 1, 2024", "%b %d, %Y"), ("Mar 1, 2024 12:03:11 AM PST", "%b %d, %Y"), ("1 march 2024", "%d %b %Y"),
    ("01-September-2024", "%d/%b/%Y"), ("Sept 1, 2024", "%b %d, %Y"),
])
def test_full_month_names_read_as_their_abbreviations(text, fmt):
    parser = RowParser(LAYOUT, fmt, False, DEFAULT_BOUNDS)
    assert parser.parse([text, "Tea", "1", "1.00", ""])[0].day == 1


def test_may_is_one_month_name_not_two_formats():
    assert csv_values.choose_date_format(["May 13, 2024", "March 1, 2024"]) == "%b %d, %Y"


CURRENCY_COLUMN = FileLayout("utf-8-sig", ",", HEADER, LAYOUT.columns, currency_column=4)


@pytest.mark.parametrize(("currency", "expected"), [
    ("USD", None), ("usd", None), ("", None), ("$", None),
    ("EUR", Reason.WRONG_CURRENCY), ("eur", Reason.WRONG_CURRENCY), ("US Dollar", Reason.WRONG_CURRENCY),
])
def test_a_currency_column_must_name_the_currency(currency, expected):
    result = parse("2024-03-01", "Tea", "1", "1.00", currency, layout=CURRENCY_COLUMN)
    assert (result if isinstance(result, Reason) else None) == expected


def test_a_negative_line_total_with_a_constant_quantity_is_a_refund():
    layout = FileLayout("utf-8-sig", ",", ["day", "description", "gross"],
                        {"sale_date": 0, "product_name": 1, "revenue": 2}, quantity_constant=1)

    assert parse("2024-03-01", "Refund", "-50.00", layout=layout) == (
        date(2024, 3, 1), "Refund", -1, Decimal("50.00"), Decimal("-50.00"))


@pytest.mark.parametrize(("quantity", "total", "expected"), [
    ("2", "-5.00", (-2, Decimal("2.5"), Decimal("-5.00"))),  # a refund line: positive quantity, negative amount
    ("-2", "-5.00", (-2, Decimal("2.5"), Decimal("-5.00"))),
    ("-2", "5.00", Reason.NEGATIVE_PRICE),  # a return that brought money in: the signs contradict
])
def test_a_negative_line_total_is_a_refund_of_its_quantity(quantity, total, expected):
    result = parse("2024-03-01", "Tea", quantity, total, layout=LINE_TOTALS)
    assert (result if isinstance(result, Reason) else result[2:]) == expected


def test_a_blank_currency_is_the_line_aboves():
    """Shopify writes an order's currency on its first line only: the later lines are in the same currency."""
    parser = RowParser(CURRENCY_COLUMN, "%Y-%m-%d", False, DEFAULT_BOUNDS)
    currencies = ["", "USD", "", "EUR", "", " ", "usd", ""]

    results = [parser.parse(["2024-03-01", "Tea", "1", "1.00", currency]) for currency in currencies]

    assert [result if isinstance(result, Reason) else "ok" for result in results] == [
        "ok", "ok", "ok", Reason.WRONG_CURRENCY, Reason.WRONG_CURRENCY, Reason.WRONG_CURRENCY, "ok", "ok"]


@pytest.mark.parametrize(("fields", "reason"), [
    (["3 record(s) downloaded,from Mar-01-24 to Mar-31-24", "", ""], Reason.SUMMARY_ROW),  # eBay's footer
    (["Seller ID : camerashop"], Reason.SUMMARY_ROW),
    (["Total", "", "", "1,308.50"], Reason.SUMMARY_ROW),
    (["2024-03-07", "Espresso Be"], Reason.WRONG_FIELD_COUNT),  # a sale cut off
    (["2024-03-0"], Reason.WRONG_FIELD_COUNT),
    (["2024-03-04", "Beans", " Decaf 250g", "1", "9.50", ""], Reason.WRONG_FIELD_COUNT),
    (["2024-03-04;Coffee Mug;1;9.50;"], Reason.WRONG_FIELD_COUNT),  # a sale, in another delimiter
    (["2024-03-04|Coffee Mug|1|9.50|gift wrap"], Reason.WRONG_FIELD_COUNT),
])
def test_a_footer_of_another_width_is_a_summary_row_a_cut_sale_is_not(fields, reason):
    assert parse(*fields) == reason


def test_dotted_dates_are_day_first_even_when_every_day_is_twelve_or_less():
    """'01.03.2024' is 1 March wherever dots separate a date; slashes stay a question."""
    assert csv_values.choose_date_format(["01.03.2024", "02.03.2024", "12.03.2024 10:00"]) == "%d/%m/%Y"
    assert csv_values.choose_date_format(["01.03.24"]) == "%d/%m/%y"
    with pytest.raises(csv_values.DateFormatError, match="--date-format"):
        csv_values.choose_date_format(["01/03/2024", "02/03/2024"])
