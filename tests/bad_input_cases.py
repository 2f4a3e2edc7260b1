"""Manifest of the bad-input fixtures in ``tests/data/bad_inputs``: what ingesting each file must do.

Tests parametrize over ``CASES`` (``ids=[case.test_id for case in CASES]``). Conventions:

* ``outcome == "loaded"``: the run succeeds; exactly ``rows_loaded`` rows reach ``sales_data`` and
  ``rows_rejected`` rows are rejected, with ``reasons`` counting them by reason code. Blank lines are not
  rows: neither loaded nor rejected. ``revenue`` is the exact sum of ``quantity * price`` over the loaded
  rows (no row rounded), computed by hand in the comments.
* ``reject_lines``: the physical line numbers (1-based, the header is line 1) on which each rejected
  record starts, in file order. A quoted field spanning lines counts every physical line.
* ``outcome == "refused"``: the run exits with "input refused" (65), loads nothing, and its one stderr line
  contains ``message`` (case-insensitive). ``error_line``, when set, is the physical line the message must
  name. The row counts of a refused case are not asserted.
* ``products`` / ``date_range``, when set: the distinct product names and the (first, last) sale date of
  the loaded rows, after trimming and decoding.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Literal

FIXTURE_DIR = Path(__file__).resolve().parent / "data" / "bad_inputs"

REJECT_REASONS = frozenset(
    {
        "bad_date",
        "missing_product",
        "bad_quantity",
        "bad_price",
        "negative_price",
        "wrong_field_count",
        "repeated_header",
        "invalid_character",  # a NUL byte in the row
        "field_too_long",  # a product name over PRODUCT_NAME_MAX_CHARS (200) after trimming
        "date_out_of_range",  # before EARLIEST_SALE_DATE (2000-01-01) or after today + MAX_FUTURE_DAYS (1)
        "quantity_out_of_range",  # |quantity| over MAX_QUANTITY (1,000,000)
        "price_out_of_range",  # unit price over MAX_UNIT_PRICE (10^9)
        "line_total_out_of_range",  # |line total| over MAX_LINE_TOTAL (10^15)
        "wrong_currency",  # an amount marked with another currency than CURRENCY (USD)
    }
)

Outcome = Literal["loaded", "refused"]


@dataclass(frozen=True)
class Case:
    file: str
    outcome: Outcome
    extra_args: tuple[str, ...] = ()  # CLI flags needed, e.g. ("--encoding", "cp1252")
    rows_loaded: int = 0
    rows_rejected: int = 0
    reasons: Mapping[str, int] = field(default_factory=dict)  # reject reason code -> count
    revenue: Decimal | None = None  # exact, for "loaded"
    reject_lines: tuple[int, ...] = ()
    message: str = ""  # for "refused": case-insensitive substring of the error line
    error_line: int | None = None  # for "refused" about one line: the line number the error names
    products: frozenset[str] | None = None
    date_range: tuple[date, date] | None = None
    note: str = ""

    def __post_init__(self) -> None:
        problems = self._problems()
        if problems:
            raise ValueError(f"bad manifest entry {self.file}: {'; '.join(problems)}")

    def _problems(self) -> list[str]:
        problems = [] if self.path.is_file() else ["fixture file missing"]
        if set(self.reasons) - REJECT_REASONS:
            problems.append(f"unknown reasons {sorted(set(self.reasons) - REJECT_REASONS)}")
        if sum(self.reasons.values()) != self.rows_rejected or len(self.reject_lines) != self.rows_rejected:
            problems.append("reasons / reject_lines do not add up to rows_rejected")
        if self.outcome == "loaded" and self.revenue is None:
            problems.append("a loaded case needs its revenue")
        if self.outcome == "refused" and not self.message:
            problems.append("a refused case needs its message")
        return problems

    @property
    def path(self) -> Path:
        return FIXTURE_DIR / self.file

    @property
    def rows_read(self) -> int:
        return self.rows_loaded + self.rows_rejected

    @property
    def test_id(self) -> str:
        return " ".join((Path(self.file).stem, *self.extra_args))


def _d(text: str) -> date:
    return date.fromisoformat(text)


# The 14 good rows most fixtures share (2024-03-01 .. 2024-03-07):
# 2*24.50 + 3*6.80 + 1*12.00 + 1*24.50 + 4*3.25 + 1*6.80 + 1*39.90 + 2*12.00 + 3*24.50 + 2*3.25 + 2*6.80
#   + 1*12.00 + 1*39.90 + 1*24.50
# = 49.00 + 20.40 + 12.00 + 24.50 + 13.00 + 6.80 + 39.90 + 24.00 + 73.50 + 6.50 + 13.60 + 12.00 + 39.90 + 24.50
# = 359.60
GOOD14_REVENUE = Decimal("359.60")
GOOD14_PRODUCTS = frozenset(
    {"Espresso Beans 1kg", "Green Tea 100g", "Ceramic Mug", "Paper Filters 100", "Milk Frother"}
)
GOOD14_DATES = (_d("2024-03-01"), _d("2024-03-07"))


def _good14(file: str, note: str) -> Case:
    """A file holding exactly the 14 shared good rows, in some valid dialect."""
    return Case(
        file,
        "loaded",
        rows_loaded=14,
        revenue=GOOD14_REVENUE,
        products=GOOD14_PRODUCTS,
        date_range=GOOD14_DATES,
        note=note,
    )


def _one_bad(file: str, reason: str, line: int = 8, note: str = "") -> Case:
    """The 14 shared good rows plus one bad row (1/15 = 6.7 %, under the 10 % threshold)."""
    return Case(
        file,
        "loaded",
        rows_loaded=14,
        rows_rejected=1,
        reasons={reason: 1},
        revenue=GOOD14_REVENUE,
        reject_lines=(line,),
        products=GOOD14_PRODUCTS,
        note=note,
    )


def _refused(file: str, message: str, note: str, extra_args: tuple[str, ...] = (), line: int | None = None) -> Case:
    return Case(file, "refused", extra_args=extra_args, message=message, error_line=line, note=note)


CAFE = "Caf\u00e9 Cr\u00e8me 250g"

EMPTY_AND_REFUSED_FILES: list[Case] = [
    _refused("empty.csv", "empty", "0 bytes"),
    Case("header_only.csv", "loaded", revenue=Decimal("0.00"), note="header, no rows"),
    Case("header_and_blank_lines.csv", "loaded", revenue=Decimal("0.00"), note="header then 3 empty lines"),
    _refused("missing_price_column.csv", "missing column", "header has no price column"),
    _refused("colon_delimiter.csv", "delimiter", "':' separated: the header reads as one unknown column"),
    _refused("binary_png.csv", "not a text", "a 460-byte PNG image named .csv"),
    _refused("binary_gzip.csv", "not a text", "a gzip-compressed CSV named .csv"),
    _refused("cp1252_product_name.csv", "--encoding", "byte 0xE9 ('\u00e9' in cp1252) on line 3", line=3),
]

VALID_DIALECTS: list[Case] = [
    _good14("semicolon_delimiter.csv", "';' delimiter"),
    _good14("tab_delimiter.csv", "tab delimiter, no newline at the end of the file"),
    _good14("pipe_delimiter.csv", "'|' delimiter"),
    _good14("utf8_bom.csv", "UTF-8 byte order mark before the header"),
    _good14("crlf_line_endings.csv", "CRLF line endings"),
    Case(
        "cp1252_product_name.csv",
        "loaded",
        extra_args=("--encoding", "cp1252"),
        rows_loaded=4,
        # 2*6.80 + 1*8.90 + 1*12.00 + 2*8.90 = 13.60 + 8.90 + 12.00 + 17.80 = 52.30
        revenue=Decimal("52.30"),
        products=frozenset({"Green Tea 100g", CAFE, "Ceramic Mug"}),
        note="the same file as the refused one, with its encoding named",
    ),
    Case(
        "quoted_comma_and_newline.csv",
        "loaded",
        rows_loaded=17,
        rows_rejected=1,
        reasons={"bad_quantity": 1},
        # 2*9.50 + 1*25.00 + 1*12.00 + 359.60 (the 14 shared rows) = 19.00 + 25.00 + 12.00 + 359.60 = 415.60
        revenue=Decimal("415.60"),
        reject_lines=(9,),  # record 8, but the quoted newline on lines 3-4 shifts it to physical line 9
        products=GOOD14_PRODUCTS | {"Beans, Decaf 250g", "Gift Box\nLarge", 'Mug "Classic" White'},
        date_range=GOOD14_DATES,
        note="quoted comma, quoted newline, doubled quotes; quantity 'two' on line 9",
    ),
    Case(
        "blank_lines_between_rows.csv",
        "loaded",
        rows_loaded=4,
        # 2*24.50 + 3*6.80 + 1*12.00 + 1*24.50 = 49.00 + 20.40 + 12.00 + 24.50 = 105.90
        revenue=Decimal("105.90"),
        note="empty lines between rows and at the end are not rows",
    ),
    Case(
        "currency_symbol_price.csv",
        "loaded",
        rows_loaded=4,
        # 1*1234.50 + 2*24.50 + 3*12.00 + 1*1234.50 = 1234.50 + 49.00 + 36.00 + 1234.50 = 2554.00
        revenue=Decimal("2554.00"),
        products=frozenset({"Espresso Machine", "Espresso Beans 1kg", "Ceramic Mug"}),
        note="'$24.50' and quoted '$1,234.50' (thousands separator)",
    ),
    Case(
        "decimal_comma_semicolon.csv",
        "loaded",
        rows_loaded=4,
        # 2*24.50 + 1*6.80 + 2*12.00 + 3*3.25 = 49.00 + 6.80 + 24.00 + 9.75 = 89.55
        revenue=Decimal("89.55"),
        date_range=(_d("2024-03-01"), _d("2024-03-03")),
        note="';' delimiter with decimal-comma prices such as '24,50'",
    ),
    Case(
        "product_surrounding_spaces.csv",
        "loaded",
        rows_loaded=4,
        # 2*12.00 + 1*12.00 + 1*6.80 + 3*6.80 = 24.00 + 12.00 + 6.80 + 20.40 = 63.20
        revenue=Decimal("63.20"),
        products=frozenset({"Ceramic Mug", "Green Tea 100g"}),
        note="'  Ceramic Mug  ', ' Green Tea 100g', quoted 'Green Tea 100g ': trimmed, 2 products",
    ),
    Case(
        "return_negative_quantity.csv",
        "loaded",
        rows_loaded=4,
        # 3*12.00 - 1*12.00 + 2*24.50 - 1*24.50 = 36.00 - 12.00 + 49.00 - 24.50 = 48.50
        revenue=Decimal("48.50"),
        note="two returns (quantity -1) at the normal unit price",
    ),
    Case(
        "header_case_and_spacing.csv",
        "loaded",
        rows_loaded=3,
        # 2*6.80 + 1*12.00 + 1*24.50 = 13.60 + 12.00 + 24.50 = 50.10
        revenue=Decimal("50.10"),
        note="header ' Sale Date ,PRODUCT_NAME,Quantity ,Price'",
    ),
    Case(
        "extra_columns.csv",
        "loaded",
        rows_loaded=3,
        # 2*6.80 + 1*12.00 + 1*24.50 = 13.60 + 12.00 + 24.50 = 50.10
        revenue=Decimal("50.10"),
        products=frozenset({"Green Tea 100g", "Ceramic Mug", "Espresso Beans 1kg"}),
        note="marketplace export: order_id, sku, customer_note columns around the four; ignored",
    ),
]

ONE_BAD_ROW: list[Case] = [
    _one_bad("fractional_quantity.csv", "bad_quantity", note="quantity 2.5"),
    _one_bad("non_numeric_quantity.csv", "bad_quantity", note="quantity 'two'"),
    _one_bad("negative_price.csv", "negative_price", note="price -12.00"),
    _one_bad("non_numeric_price.csv", "bad_price", note="price 'abc'"),
    _one_bad("impossible_date.csv", "bad_date", note="2023-02-30"),
    _one_bad("wrong_field_count.csv", "wrong_field_count", note="unquoted comma in 'Beans, Decaf 250g': 5 fields"),
    _one_bad("empty_product_name.csv", "missing_product", note="empty product name"),
    _one_bad("nul_byte.csv", "invalid_character", note="a NUL byte inside the product name"),
    _one_bad("huge_field.csv", "field_too_long", note="a 200,000-character product name"),
    _one_bad("repeated_header.csv", "repeated_header", line=9, note="two exports concatenated"),
    _one_bad("truncated_last_row.csv", "wrong_field_count", line=16, note="file cut off mid-row, no final newline"),
    Case(
        "one_bad_in_twenty.csv",
        "loaded",
        rows_loaded=19,
        rows_rejected=1,
        reasons={"bad_price": 1},
        # 359.60 (the 14 shared rows) + 2*12.00 + 1*6.80 + 1*3.25 + 2*24.50 + 1*39.90
        # = 359.60 + 24.00 + 6.80 + 3.25 + 49.00 + 39.90 = 482.55
        revenue=Decimal("482.55"),
        reject_lines=(12,),
        date_range=(_d("2024-03-01"), _d("2024-03-10")),
        note="price 'N/A' on line 12: 1 of 20 rows = 5 %, under the threshold",
    ),
]

DATES_AND_THRESHOLD: list[Case] = [
    _refused(
        "above_threshold.csv",
        "threshold",
        "2 bad rows of 11 (18 %): quantity 'four' (line 6), price '12.OO' with letters O (line 10)",
    ),
    _refused("mixed_date_formats.csv", "threshold", "7 ISO rows, 3 MM/DD/YYYY rows rejected as bad_date (30 %)"),
    _refused("ambiguous_dates.csv", "--date-format", "01/02/2024, 03/04/2024 ...: every day <= 12"),
    Case(
        "ambiguous_dates.csv",
        "loaded",
        extra_args=("--date-format", "%d/%m/%Y"),
        rows_loaded=4,
        # 2*6.80 + 1*12.00 + 1*24.50 + 2*3.25 = 13.60 + 12.00 + 24.50 + 6.50 = 56.60
        revenue=Decimal("56.60"),
        date_range=(_d("2024-02-01"), _d("2024-08-07")),
        note="day first",
    ),
    Case(
        "ambiguous_dates.csv",
        "loaded",
        extra_args=("--date-format", "%m/%d/%Y"),
        rows_loaded=4,
        # same rows: 56.60
        revenue=Decimal("56.60"),
        date_range=(_d("2024-01-02"), _d("2024-07-08")),
        note="month first",
    ),
    Case(
        "us_dates_unambiguous.csv",
        "loaded",
        rows_loaded=4,
        # 1*6.80 + 2*12.00 + 1*24.50 + 1*39.90 = 6.80 + 24.00 + 24.50 + 39.90 = 95.20
        revenue=Decimal("95.20"),
        date_range=(_d("2024-03-01"), _d("2024-03-28")),
        note="M/D/YYYY without padding; 3/15/2024 rules out day-first, so the format is detected",
    ),
]

# Issue 9: hostile files, one per class. Each "one bad" file is the 14 shared good rows with the bad row on
# line 8; the others say their arithmetic.
SPREADSHEET_EXPORTS = [
    _good14("whitespace_only_lines.csv", "lines of spaces and tabs are blank lines, not rows"),
    _good14("delimiter_only_lines.csv", "',,,' and ' , , , ' (empty spreadsheet rows) are blank lines, not rows"),
    _good14("cr_only_line_endings.csv", "old Mac line endings: CR only"),
    _good14("utf16le_excel_unicode_text.csv", "Excel 'Unicode Text': UTF-16 LE with a BOM, tab-separated, CRLF"),
    Case("utf16le_excel_unicode_text.csv", "loaded", extra_args=("--encoding", "utf-16"), rows_loaded=14,
         revenue=GOOD14_REVENUE, products=GOOD14_PRODUCTS, date_range=GOOD14_DATES, note="the same, named"),
    _good14("utf16be_bom.csv", "UTF-16 BE with a BOM"),
    _good14("excel_sep_line.csv", "Excel's 'sep=;' first line, then ';' and decimal commas"),
    _good14("huge_unused_column.csv", "a 200,000-character value in a column AutoSight does not read"),
    _good14("nul_in_unused_column.csv", "a NUL byte in a column AutoSight does not read"),
    _good14("header_over_64kb.csv", "8,000 unused columns: a header line of 150 KB"),
    _refused("duplicate_price_column.csv", "price (columns 4, 5) more than once", "two price columns"),
    _refused("duplicate_mapped_column.csv", "price (mapped to 'Amount') (columns 4, 5) more than once",
             "Amount and amount, the mapped price column twice",
             extra_args=("--map", "sale_date=Date,product_name=Item,quantity=Qty,price=Amount")),
]

OUT_OF_BOUNDS = [
    _one_bad("date_far_future.csv", "date_out_of_range", note="9999-12-31: a 2.9-million-day calendar"),
    _one_bad("timestamp_far_future.csv", "date_out_of_range", note="9999-12-31T23:59:59"),
    _one_bad("date_next_century.csv", "date_out_of_range", note="2099-06-01, after today + 1 day"),
    _one_bad("date_before_2000.csv", "date_out_of_range", note="1900-01-01: a 45,000-day period"),
    _one_bad("date_year_zero.csv", "bad_date", note="0000-01-01 is no date"),
    _one_bad("price_10_pow_26.csv", "price_out_of_range", note="10^26 in plain digits"),
    _one_bad("price_above_bound.csv", "price_out_of_range", note="1000000000.01, a cent over MAX_UNIT_PRICE"),
    _one_bad("price_20000_decimals.csv", "bad_price", note="0.000...1 with 20,000 decimals (over 100 characters)"),
    _one_bad("quantity_above_bound.csv", "quantity_out_of_range", note="1000001, one over MAX_QUANTITY"),
    _one_bad("quantity_int_overflow.csv", "quantity_out_of_range", note="2147483648 overflows a PostgreSQL integer"),
    _one_bad("quantity_5000_digits.csv", "bad_quantity", note="5,000 nines (Python refuses int() of them)"),
    _one_bad("product_name_3000_chars.csv", "field_too_long", note="a 3,000-character name: too big a btree key"),
    _one_bad("product_name_1000_cjk.csv", "field_too_long", note="1,000 CJK characters (3,000 bytes)"),
    _one_bad("product_control_character.csv", "invalid_character", note="a U+0001 inside a product name"),
    Case(
        "product_name_at_limit.csv",
        "loaded",
        rows_loaded=15,
        rows_rejected=1,
        reasons={"field_too_long": 1},
        # 359.60 + 1*1.00 (the 200-emoji name, 800 bytes: fits the rollup key) = 360.60
        revenue=Decimal("360.60"),
        reject_lines=(9,),
        products=GOOD14_PRODUCTS | {"\U0001F600" * 200},
        note="200 emoji load (line 8), 201 do not (line 9)",
    ),
    Case(
        "date_at_earliest_bound.csv",
        "loaded",
        rows_loaded=15,
        rows_rejected=1,
        reasons={"date_out_of_range": 1},
        # 359.60 + 1*1.00 (2000-01-01) = 360.60
        revenue=Decimal("360.60"),
        reject_lines=(9,),
        date_range=(_d("2000-01-01"), _d("2024-03-07")),
        note="2000-01-01 loads (line 8), 1999-12-31 does not (line 9)",
    ),
    Case(
        "amounts_at_bounds.csv",
        "loaded",
        rows_loaded=16,
        # 359.60 + 1*1000000000 + (-1000000)*1.00 = 359.60 + 1,000,000,000 - 1,000,000 = 999,000,359.60
        revenue=Decimal("999000359.60"),
        note="a unit price of exactly MAX_UNIT_PRICE and a quantity of exactly -MAX_QUANTITY both load",
    ),
    Case(
        "line_total_out_of_range.csv",
        "loaded",
        extra_args=("--map", "revenue=total"),
        rows_loaded=14,
        rows_rejected=1,
        reasons={"line_total_out_of_range": 1},
        # the 14 line totals are the 14 shared rows' quantity * price: 359.60
        revenue=GOOD14_REVENUE,
        reject_lines=(8,),
        note="a line total of 10^16, over MAX_LINE_TOTAL",
    ),
]

CURRENCIES = [
    _one_bad("currency_euro_in_usd_file.csv", "wrong_currency", note="'€12.00' where CURRENCY is USD"),
    _one_bad("currency_dollars_and_one_eur.csv", "wrong_currency",
             note="'$6.80' on every other row (dollars: USD), then 'EUR 12.00'"),
    _one_bad("currency_pound_suffix.csv", "wrong_currency", note="'12.00 GBP'"),
]

# Round 3 of hostile files: quoting that swallows rows, line breaks csv does not know, locale-formatted numbers,
# timestamps with zones, month names, invisible characters around names.
QUOTING_AND_LOCALES = [
    _refused("unbalanced_quote_to_eof.csv", "unbalanced quoting",
             "a quote opened on line 13 never closes: lines 13-15 were one rejected record (1 of 12, under the "
             "threshold), two sales lost without a word", line=13),
    _refused("stray_quote_pair.csv", "unbalanced quoting",
             "a quote opened on line 6 closes on line 7: one sale named 'Paper Filters 100,4,3.25\\n2024-03-03,Green "
             "Tea 100g' loaded, line 6's sale lost", line=6),
    _refused("unicode_line_separators.csv", "missing column",
             "U+2028 between the lines: the header was found on the first, then the whole file read as the header "
             "(0 rows, exit 0)"),
    _refused("utf16le_no_bom.csv", "--encoding utf-16-le", "UTF-16 LE without a byte-order mark"),
    Case("timestamps_day_first.csv", "loaded", rows_loaded=14, revenue=GOOD14_REVENUE, products=GOOD14_PRODUCTS,
         date_range=GOOD14_DATES, note="01.03.2024 10:30 ...: every day <= 12, but dots are day-first"),
    Case("timestamps_day_first.csv", "loaded", extra_args=("--date-format", "%d.%m.%Y %H:%M"), rows_loaded=14,
         revenue=GOOD14_REVENUE, products=GOOD14_PRODUCTS, date_range=GOOD14_DATES,
         note="a --date-format with a time of day reads the values with theirs (every row was bad_date)"),
    Case(
        "locale_numbers.csv",
        "loaded",
        rows_loaded=17,
        rows_rejected=1,
        reasons={"bad_price": 1},
        # 359.60 + (-1)*12.00 + 1*1234.50 + 1000*0.01 = 359.60 - 12.00 + 1234.50 + 10.00 = 1592.10
        revenue=Decimal("1592.10"),
        reject_lines=(19,),
        products=GOOD14_PRODUCTS | {"Espresso Machine"},
        note="quantity '\u22121' (U+2212 MINUS SIGN, a return), price '1\u00a0234.50', quantity '1\u202f000' load; "
             "price '12 50' (line 19) is no 1250",
    ),
    _good14("dates_with_zones.csv", "'+02' (PostgreSQL's timestamptz), ' UTC', '.5+05:30', '-0700', 'Z' after times"),
    _good14("month_names.csv", "'March 1, 2024': a full month name"),
    Case("month_names.csv", "loaded", extra_args=("--date-format", "%B %d, %Y"), rows_loaded=14,
         revenue=GOOD14_REVENUE, products=GOOD14_PRODUCTS, date_range=GOOD14_DATES,
         note="the same, named with %B (full names are read as abbreviations: %B once read no value)"),
    Case("dates_in_may.csv", "loaded", rows_loaded=3,
         # 1*12.00 + 2*6.80 + 3*12.00 = 12.00 + 13.60 + 36.00 = 61.60
         revenue=Decimal("61.60"), date_range=(_d("2024-05-01"), _d("2024-05-03")),
         note="'01 May 2024' fits %d %b %Y and %d %B %Y alike, as the same date: no ambiguity"),
    Case("utf8_product_name.csv", "loaded", extra_args=("--encoding", "cp1252"), rows_loaded=4,
         # the cp1252 fixture's rows: 52.30
         revenue=Decimal("52.30"), products=frozenset({"Green Tea 100g", CAFE, "Ceramic Mug"}),
         note="UTF-8 text under --encoding cp1252 (a CSV_ENCODING for an inbox's other files) was loaded as "
              "'CafÃ© CrÃ¨me 250g': UTF-8 bytes are read as UTF-8"),
    Case("utf8_bom.csv", "loaded", extra_args=("--encoding", "latin-1"), rows_loaded=14, revenue=GOOD14_REVENUE,
         products=GOOD14_PRODUCTS, date_range=GOOD14_DATES,
         note="a UTF-8 byte-order mark under --encoding latin-1: refused for a header 'ï»¿sale_date' before"),
    _one_bad("invisible_name_edges.csv", "missing_product",
             note="'Ceramic Mug\u200b' and '\ufeffGreen Tea 100g' are trimmed to the known products; a name of "
                  "'\u200b\u2060' alone (line 8) is missing"),
]

CASES: list[Case] = [*EMPTY_AND_REFUSED_FILES, *VALID_DIALECTS, *ONE_BAD_ROW, *DATES_AND_THRESHOLD,
                     *SPREADSHEET_EXPORTS, *OUT_OF_BOUNDS, *CURRENCIES, *QUOTING_AND_LOCALES]
