"""Real-world export shapes load with command-line flags only, and every sale is counted exactly once.

Each fixture in tests/data/exports imitates, in a few rows, one of the public exports listed in
docs/DATASETS.md (encoding, line endings, delimiter, quoting, number and date formats, ragged or blank
rows). The flags are the ones documented there for the real file. Expected revenues are written out by
hand below: the exact sum of each loaded row's revenue (its line total as given, or quantity x unit price),
no row rounded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import psycopg2
import pytest

import ingestion
from autosight.bounds import Bounds
from cli import build_parser
from errors import InputRefused
from settings import parse_column_map

EXPORTS = Path(__file__).resolve().parent / "data" / "exports"
KAGGLE_MAP = "sale_date=ORDERDATE,product_name=PRODUCTCODE,quantity=QUANTITYORDERED,revenue=SALES"
SUPERMARKET_MAP = "sale_date=Date,product_name=Product line,quantity=Quantity,price=Unit price"
SUPERSTORE_MAP = "sale_date=Order Date,product_name=Product Name,quantity=Quantity,revenue=Sales"


@dataclass(frozen=True)
class Export:
    file: str
    flags: tuple[str, ...]
    loaded: int
    revenue: Decimal
    first_day: date
    last_day: date
    rejected: dict[str, int] = field(default_factory=dict)
    reject_lines: tuple[int, ...] = ()
    products: frozenset[str] | None = None


def total(*amounts: str) -> Decimal:
    return sum((Decimal(amount) for amount in amounts), Decimal("0"))


EXPORT_CASES = [
    # cp437 bytes in customer fields, CRLF, quoted commas, M/D/YYYY 0:00, SALES is the line total.
    Export("kaggle_cp437.csv", ("--encoding", "cp437", "--map", KAGGLE_MAP), 6,
           total("2871", "2765.9", "5205.27", "3746.7", "3479.76", "4476.44"), date(2003, 2, 24), date(2005, 5, 31),
           products=frozenset({"S10_1678", "S10_1949", "S24_2011"})),
    # Excel re-save: ' $95.70 ' and quoted '" $2,871.00 "' (currency, thousands separator, padding).
    Export("kaggle_excel_currency.csv", ("--encoding", "cp437", "--map", KAGGLE_MAP), 5,
           total("2871.00", "2765.90", "5205.27", "892.80", "4476.44"), date(2003, 2, 24), date(2005, 5, 31),
           products=frozenset({"S10_1678", "S10_1949", "S18_2248", "S24_2011"})),
    # ';' delimiter, decimal comma ('74,69', '40,3'), month-first dates, CRLF, no final newline.
    Export("supermarket_semicolon_decimal_comma.csv", ("--map", SUPERMARKET_MAP), 5,
           total("522.83", "76.40", "324.31", "465.76", "80.60"), date(2019, 1, 5), date(2019, 3, 8)),
    # '$74.69', quoted '"$1,049.58"' in another column, 12-hour times, LF.
    Export("supermarket_currency_symbols.csv", ("--map", SUPERMARKET_MAP), 4,
           total("522.83", "76.40", "80.60", "999.60"), date(2019, 1, 5), date(2019, 3, 17)),
    # UTF-8 BOM, CRLF, NBSP and "" escapes in product names, line totals with 3 decimals: each line's
    # revenue is its total exactly as given (907.152, 22.368, 0.444), never rounded to the cent.
    Export("superstore_bom.csv", ("--map", SUPERSTORE_MAP), 6,
           total("261.96", "731.94", "665.88", "907.152", "22.368", "0.444"), date(2016, 6, 9), date(2019, 4, 15),
           products=frozenset({"Bush Somerset Collection Bookcase",
                               "Hon Deluxe Fabric Upholstered Stacking Chairs, Rounded Back",
                               'Stur-D-Stor Shelving, Vertical 5-Shelf: 72"H x 36"W x 18 1/2"D',
                               "Mitel\u00a05320 IP Phone VoIP phone", 'Wilson Jones Hanging View Binder, White, 1"',
                               "Lumber Crayons"})),
    # The same lines in a European export: BOM, ';', decimal comma, DD/MM/YYYY, years + 2.
    Export("superstore_eu_semicolon.csv", ("--map", SUPERSTORE_MAP), 6,
           total("261.96", "731.94", "665.88", "907.152", "22.368", "0.444"), date(2018, 6, 9), date(2021, 4, 15)),
    # '$55' prices, DD-MM-YY and DD/MM/YY mixed, a row with blank price and quantity (line 9), the last two
    # records repeated verbatim (kept: without a key, two identical lines may be two identical sales).
    Export("walmart_10k.csv", ("--map", "sale_date=date,product_name=category,quantity=quantity,price=unit_price"), 13,
           total("522.83", "76.40", "324.31", "465.76", "45", "126", "63", "165", "21", "68", "89", "68", "89"),
           date(2019, 1, 5), date(2023, 12, 31), rejected={"bad_quantity": 1}, reject_lines=(9,)),
    # Store-week totals: no product, no quantity (constant 1), DD-MM-YYYY, ragged first record (line 2).
    Export("walmart_weekly.csv",
           ("--map", "sale_date=Date,product_name=Store,quantity=1,revenue=Weekly_Sales"), 11,
           total("1641957.44", "1611968.17", "2136989.46", "2137809.5", "2124451.54", "461622.22", "420728.96",
                 "421642.19", "2135143.87", "2188307.39", "2049860.26"),
           date(2010, 2, 5), date(2010, 2, 19), rejected={"wrong_field_count": 1}, reject_lines=(2,),
           products=frozenset({"1", "2", "3", "4"})),
    # 24 columns, WKT points (some blank), quoted commas, MM/DD/YYYY; sale_dollars is what was charged.
    Export("iowa_liquor.csv",
           ("--map", "sale_date=date,product_name=item_description,quantity=bottles_sold,revenue=sale_dollars"), 5,
           total("93.44", "279", "110.64", "26.36", "321.6"), date(2018, 9, 4), date(2020, 1, 24)),
    # Exports of shop systems, read without a map by their own column names.
    # Shopify: an order on several lines (only the first with totals and Currency), 'Created at' with an offset.
    Export("shopify_orders.csv", (), 5, total("49.00", "25.50", "1250.00", "18.00", "0.00"), date(2024, 3, 1),
           date(2024, 3, 4), products=frozenset({"Organic Coffee Beans 1kg", "Ceramic Mug", "Espresso Machine, Deluxe",
                                                 "Green Tea 100g"})),
    # UCI Online Retail: 'C' invoices are returns (quantity -1), a line without description, M/D/YYYY H:MM.
    Export("uci_online_retail.csv", (), 11,
           total("15.30", "20.34", "11.10", "-27.50", "-4.65", "2.51", "5.95", "9.90", "232.00", "25.50", "11062.06"),
           date(2010, 12, 1), date(2010, 12, 13), rejected={"missing_product": 1}, reject_lines=(7,)),
    # Square item sales: Gross and Net Sales both there, the map names one; '$1,200.00', a refund '-$4.50'.
    Export("square_item_sales.csv", ("--map", "revenue=Net Sales"), 4, total("9.00", "1200.00", "-4.50", "10.50"),
           date(2024, 3, 1), date(2024, 3, 3)),
    # German Excel: cp1252, ';', decimal comma, '1.249,00', DD.MM.YYYY, German column names, a return.
    Export("excel_de_cp1252.csv", ("--encoding", "cp1252"), 4, total("49.00", "8.99", "1249.00", "-6.00"),
           date(2024, 3, 1), date(2024, 3, 14),
           products=frozenset({"Kaffeebohnen Bio 1kg", 'Tasse "Größe L"', "Espressomaschine", "Grüner Tee"})),
    # QuickBooks report: three title lines above the header, a TOTAL line and a footer line after the sales
    # (rejected as summary rows, 2 of 22); Amount is Qty x Sales Price, so taken; 10 Design lines of 20 in all
    # and 9 Rocks lines of 18, hand-added: 20 x 75.00 + 18 x 12.50, and a refund of one Rocks.
    Export("quickbooks_product_detail.csv", (), 20, total("1500.00", "225.00", "-12.50"),
           date(2024, 3, 1), date(2024, 3, 20), rejected={"summary_row": 2}, reject_lines=(26, 29)),
    # Amazon Payments date range report: 7 title lines, 'Mar 1, 2024 12:03:11 AM PST', '"1,249.00"', 'product
    # sales' the line total; a refund line (quantity 1, -19.99) and a transfer line (no quantity, line 20).
    Export("amazon_date_range_report.csv", (), 11,
           total("39.98", "9.99", "74.97", "1249.00", "19.99", "-19.99", "24.99", "39.96", "1249.00", "49.98", "19.99"),
           date(2024, 3, 1), date(2024, 3, 13), rejected={"bad_quantity": 1}, reject_lines=(20,)),
    # Stripe balance report: no product or quantity column; a refund is a negative gross (quantity -1).
    Export("stripe_balance_itemized.csv", ("--map", "quantity=1,revenue=gross"), 3,
           total("20.00", "1050.00", "-50.00"), date(2024, 3, 1), date(2024, 3, 2)),
]


def options(flags: tuple[str, ...]) -> ingestion.LoadOptions:
    """LoadOptions from the same flags a user passes to main.py."""
    args = build_parser().parse_args(list(flags))
    return ingestion.LoadOptions(column_map=parse_column_map(args.map or ""), date_format=args.date_format,
                                 encoding=args.encoding or "utf-8")


def query(connection, statement: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(statement)
        return cursor.fetchall()


def assert_stored(connection, case: Export) -> None:
    """Revenue in rows and rollup, dates, products and rejects exactly as expected."""
    assert query(connection, "SELECT sum(revenue) FROM sales_with_revenue") == [(case.revenue,)]
    assert query(connection, "SELECT sum(revenue) FROM sales_daily_product") == [(case.revenue,)]
    assert query(connection, "SELECT min(sale_date), max(sale_date) FROM sales_data") == [
        (case.first_day, case.last_day)]
    if case.products is not None:
        assert {name for (name,) in query(connection, "SELECT DISTINCT product_name FROM sales_data")} == case.products
    assert tuple(line for (line,) in query(connection, "SELECT line_no FROM rejected_rows ORDER BY 1")) == (
        case.reject_lines)


@pytest.mark.parametrize("case", EXPORT_CASES, ids=lambda case: case.file.removesuffix(".csv"))
def test_export_loads_with_flags_only(connection, case: Export):
    outcome = ingestion.ingest_file(connection, EXPORTS / case.file, options(case.flags))

    assert (outcome.status, outcome.rows_loaded, outcome.rejections_by_reason) == ("loaded", case.loaded,
                                                                                   case.rejected)
    assert outcome.rows_read == outcome.rows_loaded + outcome.rows_rejected
    assert_stored(connection, case)


@pytest.mark.parametrize("case", [c for c in EXPORT_CASES if c.file in ("kaggle_cp437.csv", "walmart_weekly.csv")],
                         ids=lambda case: case.file.removesuffix(".csv"))
def test_export_loads_through_the_command_line(run_main, database_url, tmp_path, case: Export):
    result = run_main("--csv", str(EXPORTS / case.file), *case.flags, "--output-dir", str(tmp_path / "out"))

    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    connection = psycopg2.connect(database_url)
    try:
        assert_stored(connection, case)
    finally:
        connection.close()


def test_dos_code_page_text_is_decoded_not_mangled(connection):
    flags = ("--encoding", "cp437", "--map", KAGGLE_MAP.replace("PRODUCTCODE", "CITY"))

    ingestion.ingest_file(connection, EXPORTS / "kaggle_cp437.csv", options(flags))

    assert "Luleå" in {name for (name,) in query(connection, "SELECT product_name FROM sales_data")}


def test_dos_code_page_without_encoding_flag_is_refused_naming_line_and_flag(connection):
    with pytest.raises(InputRefused, match=r"line 4 .*--encoding"):
        ingestion.ingest_file(connection, EXPORTS / "kaggle_cp437.csv", options(("--map", KAGGLE_MAP)))


def test_export_without_quantity_column_needs_a_constant(connection):
    flags = ("--map", "sale_date=Date,product_name=Store,revenue=Weekly_Sales")

    with pytest.raises(InputRefused, match=r"missing column.*quantity"):
        ingestion.ingest_file(connection, EXPORTS / "walmart_weekly.csv", options(flags))


def test_a_column_named_like_the_constant_wins(connection, tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("day,item,1,price\n2024-01-02,Tea,3,2.50\n")

    ingestion.ingest_file(connection, path, options(("--map", "sale_date=day,product_name=item,quantity=1")))

    assert query(connection, "SELECT quantity, sum(revenue) FROM sales_with_revenue GROUP BY 1") == [
        (3, Decimal("7.50"))]


def test_a_refund_without_quantity_column_is_a_negative_quantity(connection):
    flags = ("--map", "quantity=1,revenue=gross")

    ingestion.ingest_file(connection, EXPORTS / "stripe_balance_itemized.csv", options(flags))

    assert query(connection, "SELECT quantity, price, revenue FROM sales_with_revenue WHERE revenue < 0") == [
        (-1, Decimal("50.00"), Decimal("-50.00"))]


def test_a_refund_line_with_a_positive_quantity_is_a_return(connection):
    ingestion.ingest_file(connection, EXPORTS / "amazon_date_range_report.csv", options(()))

    refunds = "SELECT sale_date, quantity, price, revenue FROM sales_with_revenue WHERE revenue < 0"
    assert query(connection, refunds) == [(date(2024, 3, 5), -1, Decimal("19.99"), Decimal("-19.99"))]


def test_rows_in_another_currency_than_the_file_column_says_are_rejected(connection):
    """Stripe's Currency column: 'usd' twice, 'eur' once; nothing is summed across currencies."""
    flags = ("--map", "quantity=1,revenue=Amount")

    with pytest.raises(ingestion.RowsRefused) as refusal:
        ingestion.ingest_file(connection, EXPORTS / "stripe_two_currencies.csv", options(flags))

    assert (refusal.value.counts.read, dict(refusal.value.counts.reasons)) == (
        3, {"wrong_currency": 1, "file_refused": 2})
    assert query(connection, "SELECT line_no, reason FROM rejected_rows") == [(4, "wrong_currency")]


def test_the_currency_column_must_name_the_configured_currency(connection):
    eur = ingestion.LoadOptions(bounds=Bounds(currency="EUR"))

    with pytest.raises(ingestion.RowsRefused, match=r"wrong_currency 5 \(wrong_currency: amounts or a currency "
                                                    r"column in another currency than CURRENCY=EUR; set CURRENCY"):
        ingestion.ingest_file(connection, EXPORTS / "shopify_orders.csv", eur)


def test_an_export_with_a_doubtful_column_is_refused_with_a_map_to_paste(connection):
    with pytest.raises(InputRefused, match=r'--map "sale_date=Date,product_name=Item,quantity=Qty,'
                                           r'revenue=Gross Sales" \(or revenue=Net Sales\)'):
        ingestion.ingest_file(connection, EXPORTS / "square_item_sales.csv", options(()))


def test_an_order_in_another_currency_is_rejected_on_all_its_lines(connection, tmp_path):
    """Order #1001 in EUR in a USD file: its second line, whose Currency is blank, is in EUR too."""
    path = tmp_path / "orders.csv"
    path.write_bytes((EXPORTS / "shopify_orders.csv").read_bytes().replace(b",USD,", b",EUR,", 1))
    lenient = ingestion.LoadOptions(reject_threshold_pct=Decimal("50"))

    outcome = ingestion.ingest_file(connection, path, lenient)

    assert (outcome.rows_loaded, outcome.rejections_by_reason) == (3, {"wrong_currency": 2})
    assert query(connection, "SELECT line_no FROM rejected_rows ORDER BY 1") == [(2,), (3,)]
    assert query(connection, "SELECT sum(revenue) FROM sales_with_revenue") == [(total("1250.00", "18.00", "0.00"),)]


def test_ebay_footer_lines_are_summary_rows_and_total_price_is_no_unit_price(connection):
    """eBay's orders report: a blank first line, 'Mar-01-24' dates, '$89.99'; 'Total Price' includes shipping, so
    it disagrees with quantity x 'Sold For' and the file asks which; two footer lines of other widths."""
    with pytest.raises(InputRefused, match=r"1 x \$89.99 is not \$98.49 on one line.*\(or price=Sold For\)"):
        ingestion.ingest_file(connection, EXPORTS / "ebay_orders_report.csv", options(()))

    flags = ingestion.LoadOptions(column_map={"price": "Sold For"}, reject_threshold_pct=Decimal("50"))
    outcome = ingestion.ingest_file(connection, EXPORTS / "ebay_orders_report.csv", flags)

    assert (outcome.rows_loaded, outcome.rejections_by_reason) == (3, {"summary_row": 2})
    assert query(connection, "SELECT line_no FROM rejected_rows ORDER BY 1") == [(7,), (8,)]
    assert query(connection, "SELECT min(sale_date), sum(revenue) FROM sales_with_revenue") == [
        (date(2024, 3, 1), total("89.99", "36.00", "11.00"))]


SHORTER_FLAGS = {
    "superstore_bom.csv": (), "superstore_eu_semicolon.csv": (), "supermarket_semicolon_decimal_comma.csv": (),
    "supermarket_currency_symbols.csv": (), "walmart_10k.csv": (),
    "kaggle_cp437.csv": ("--encoding", "cp437", "--map", "product_name=PRODUCTCODE,revenue=SALES"),
    "kaggle_excel_currency.csv": ("--encoding", "cp437", "--map", "product_name=PRODUCTCODE,revenue=SALES"),
    "iowa_liquor.csv": ("--map", "quantity=bottles_sold"),
    "walmart_weekly.csv": ("--map", "product_name=Store,quantity=1,revenue=Weekly_Sales"),
}


@pytest.mark.parametrize("case", [case for case in EXPORT_CASES if case.file in SHORTER_FLAGS],
                         ids=lambda case: case.file.removesuffix(".csv"))
def test_public_export_shapes_need_only_the_flags_their_names_do_not_settle(connection, case: Export):
    """The columns the full --map names are found by their names: the same rows, rejects and revenue."""
    outcome = ingestion.ingest_file(connection, EXPORTS / case.file, options(SHORTER_FLAGS[case.file]))

    assert (outcome.status, outcome.rows_loaded, outcome.rejections_by_reason) == ("loaded", case.loaded,
                                                                                   case.rejected)
    assert_stored(connection, case)


def test_a_german_export_of_early_days_only_needs_no_date_format(connection, tmp_path):
    """The German sheet cut to its first two lines (1 March, every day <= 12): dots make it day-first."""
    path = tmp_path / "march.csv"
    path.write_bytes(b"\r\n".join((EXPORTS / "excel_de_cp1252.csv").read_bytes().split(b"\r\n")[:3]) + b"\r\n")

    ingestion.ingest_file(connection, path, options(("--encoding", "cp1252")))

    assert query(connection, "SELECT sale_date, sum(revenue) FROM sales_with_revenue GROUP BY 1") == [
        (date(2024, 3, 1), total("49.00", "8.99"))]
