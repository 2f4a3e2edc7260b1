"""Columns found by the names real exports give them (no --map), and a refusal with a --map to paste when the
header leaves a doubt. Headers are those of the shop systems' own exports, as they write them."""

from __future__ import annotations

from pathlib import Path

import pytest

from csv_format import detect_layout
from errors import InputRefused

SHOPIFY = ("Name,Email,Financial Status,Paid at,Fulfillment Status,Fulfilled at,Accepts Marketing,Currency,Subtotal,"
           "Shipping,Taxes,Total,Discount Code,Discount Amount,Shipping Method,Created at,Lineitem quantity,"
           "Lineitem name,Lineitem price,Lineitem compare at price,Lineitem sku,Vendor,Id")
SQUARE = ("Date,Time,Time Zone,Category,Item,Qty,Price Point Name,SKU,Modifiers Applied,Gross Sales,Discounts,"
          "Net Sales,Tax,Transaction ID,Payment ID,Device Name,Notes,Details,Event Type,Location")
ETSY = ("Sale Date,Item Name,Buyer,Quantity,Price,Coupon Code,Discount Amount,Order Shipping,Order Sales Tax,"
        "Item Total,Currency,Transaction ID,Listing ID,Date Paid,Date Shipped,Order ID,Variations,SKU")
WOOCOMMERCE = ("Order Number,Order Status,Order Date,Customer Note,Item #,SKU,Item Name,Quantity (- Refund),Item Cost,"
               "Order Line (w/o tax),Order Total Amount")
UCI = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"
SUPERSTORE = ("Row ID,Order ID,Order Date,Ship Date,Ship Mode,Customer ID,Customer Name,Segment,Country,City,State,"
              "Postal Code,Region,Product ID,Category,Sub-Category,Product Name,Sales,Quantity,Discount,Profit")
SUPERMARKET = ("Invoice ID,Branch,City,Customer type,Gender,Product line,Unit price,Quantity,Tax 5%,Total,Date,Time,"
               "Payment,cogs,gross margin percentage,gross income,Rating")
GERMAN = "Datum;Artikel;Menge;Einzelpreis;MwSt"
FRENCH = "Date;Produit;Quantité;Prix unitaire"


def write(tmp_path: Path, header: str, text: str = "") -> Path:
    path = tmp_path / "export.csv"
    path.write_text(header + "\n" + text, encoding="utf-8")
    return path


def found(layout) -> dict[str, str]:
    return {name: layout.header[index] for name, index in layout.columns.items()}


@pytest.mark.parametrize(("header", "expected"), [
    (SHOPIFY, {"sale_date": "Created at", "product_name": "Lineitem name", "quantity": "Lineitem quantity",
               "price": "Lineitem price"}),
    (ETSY, {"sale_date": "Sale Date", "product_name": "Item Name", "quantity": "Quantity", "price": "Price"}),
    (WOOCOMMERCE, {"sale_date": "Order Date", "product_name": "Item Name", "quantity": "Quantity (- Refund)",
                   "price": "Item Cost"}),
    (UCI, {"sale_date": "InvoiceDate", "product_name": "Description", "quantity": "Quantity", "price": "UnitPrice"}),
    (SUPERSTORE, {"sale_date": "Order Date", "product_name": "Product Name", "quantity": "Quantity",
                  "revenue": "Sales"}),
    (SUPERMARKET, {"sale_date": "Date", "product_name": "Product line", "quantity": "Quantity",
                   "price": "Unit price"}),
    (GERMAN, {"sale_date": "Datum", "product_name": "Artikel", "quantity": "Menge", "price": "Einzelpreis"}),
    (FRENCH, {"sale_date": "Date", "product_name": "Produit", "quantity": "Quantité", "price": "Prix unitaire"}),
], ids=["shopify", "etsy", "woocommerce", "uci", "superstore", "supermarket", "german", "french"])
def test_export_headers_are_read_without_a_map(tmp_path, header, expected):
    assert found(detect_layout(write(tmp_path, header), "utf-8", {})) == expected


def test_a_currency_column_is_found(tmp_path):
    layout = detect_layout(write(tmp_path, SHOPIFY), "utf-8", {})

    assert layout.currency_column is not None and layout.header[layout.currency_column] == "Currency"


def test_two_line_totals_refuse_with_both_and_a_map_to_paste(tmp_path):
    with pytest.raises(InputRefused) as refusal:
        detect_layout(write(tmp_path, SQUARE), "utf-8", {})

    assert "the line total could be any of 'Gross Sales', 'Net Sales'" in str(refusal.value)
    assert ('--map "sale_date=Date,product_name=Item,quantity=Qty,revenue=Gross Sales" (or revenue=Net Sales)'
            in str(refusal.value))


def test_a_map_for_the_doubtful_column_alone_settles_it(tmp_path):
    layout = detect_layout(write(tmp_path, SQUARE), "utf-8", {"revenue": "Net Sales"})

    assert found(layout) == {"sale_date": "Date", "product_name": "Item", "quantity": "Qty", "revenue": "Net Sales"}


def test_unit_price_beside_line_total_is_a_doubt_not_a_guess(tmp_path):
    header = "ORDERNUMBER,QUANTITYORDERED,PRICEEACH,SALES,ORDERDATE,PRODUCTLINE,PRODUCTCODE"

    with pytest.raises(InputRefused) as refusal:
        detect_layout(write(tmp_path, header), "utf-8", {})

    message = str(refusal.value)
    assert "the product could be any of 'PRODUCTLINE', 'PRODUCTCODE'" in message
    assert "both a unit price ('PRICEEACH') and a line total ('SALES')" in message
    assert ('--map "sale_date=ORDERDATE,product_name=PRODUCTLINE,quantity=QUANTITYORDERED,revenue=SALES" '
            "(or product_name=PRODUCTCODE, price=PRICEEACH)") in message


def test_no_quantity_column_suggests_a_constant(tmp_path):
    header = "id,Created date (UTC),Amount,Amount Refunded,Currency,Status,Description"

    with pytest.raises(InputRefused, match=r'missing column\(s\) quantity .*--map "sale_date=Created date \(UTC\),'
                                           r'product_name=Description,quantity=COLUMN,revenue=Amount" '
                                           r"\(or quantity=1 if each line is one sale\)"):
        detect_layout(write(tmp_path, header), "utf-8", {})


def test_an_amount_named_ambiguously_is_not_taken(tmp_path):
    """Amazon's item-price is the line's total, a shop's 'item price' its unit price: neither is guessed."""
    header = "amazon-order-id\tpurchase-date\tproduct-name\tquantity\tcurrency\titem-price\titem-tax"

    with pytest.raises(InputRefused, match=r"missing column\(s\) price \(the unit price; or revenue= for a line "
                                           r'total\).*price=COLUMN"'):
        detect_layout(write(tmp_path, header), "utf-8", {})


def test_a_mapped_column_that_is_not_there_is_not_replaced_by_a_guess(tmp_path):
    with pytest.raises(InputRefused, match=r"missing column\(s\) sale_date \(mapped to 'Order Day'\)"):
        detect_layout(write(tmp_path, UCI), "utf-8", {"sale_date": "Order Day"})


def test_canonical_names_win_over_export_names(tmp_path):
    layout = detect_layout(write(tmp_path, "Order Date,sale_date,product_name,quantity,Sales,price"), "utf-8", {})

    assert found(layout) == {"sale_date": "sale_date", "product_name": "product_name", "quantity": "quantity",
                             "price": "price"}


def test_title_lines_above_the_header_are_skipped(tmp_path):
    path = write(tmp_path, '"Sales by Product/Service Detail"\n"Acme Ltd"\n\n"March 1-31, 2024",,\n' + UCI)

    layout = detect_layout(path, "utf-8", {})

    assert (layout.preamble_rows, found(layout)["sale_date"]) == (3, "InvoiceDate")


def test_title_lines_and_a_doubtful_header_name_the_doubt(tmp_path):
    path = write(tmp_path, '"Sales by Product/Service Detail"\n\n' + SQUARE)

    with pytest.raises(InputRefused, match=r"the header below 1 title line\(s\): the line total could be any of"):
        detect_layout(path, "utf-8", {})


def test_a_line_total_that_agrees_with_the_unit_price_is_taken(tmp_path):
    """QuickBooks' 'Sales Price' and 'Amount': quantity x price is the amount on every line, so the line total
    (the revenue as given) is taken without a doubt; lines without numbers (a section's name) show nothing."""
    path = write(tmp_path, "Date,Product/Service,Qty,Sales Price,Amount", "Design,,,,\n"
                 "03/05/2024,Design,3,75.00,225.00\n03/12/2024,Rocks,3,3.33,10.00\n03/13/2024,Rocks,-1,12.50,-12.50\n"
                 "03/14/2024,Rocks,1,12.50,12.")

    assert found(detect_layout(path, "utf-8", {}))["revenue"] == "Amount"


def test_agreement_is_read_with_the_files_decimal_comma(tmp_path):
    path = write(tmp_path, FRENCH + ";Montant", "01/03/2024;Café;2;5,40;10,80\n02/03/2024;Thé;1;1 250,00;1 250,00\n")

    assert found(detect_layout(path, "utf-8", {}))["revenue"] == "Montant"


def test_a_line_total_that_disagrees_refuses_with_the_line(tmp_path):
    """Kaggle's PRICEEACH is capped at 100: 41 x 100 is not the 5205.27 sold."""
    header = "ORDERNUMBER,QUANTITYORDERED,PRICEEACH,SALES,ORDERDATE,PRODUCTCODE"
    path = write(tmp_path, header, "10107,30,95.7,2871,2/24/2003 0:00,S10_1678\n"
                                   "10134,41,100,5205.27,7/1/2003 0:00,S10_1949\n"
                                   "10145,45,83.26,3746.7,8/25/2003 0:00,S10_4698\n")

    expected = (r"need not agree \(discounts, tax, shipping, capped prices\): 41 x 100 is not 5205.27 on one line "
                r'.*revenue=SALES" \(or price=PRICEEACH\)')
    with pytest.raises(InputRefused, match=expected):
        detect_layout(path, "utf-8", {})


def test_without_a_line_to_compare_the_doubt_stays(tmp_path):
    with pytest.raises(InputRefused, match=r"need not agree .*: no line shows whether they agree"):
        detect_layout(write(tmp_path, "Date,Item,Qty,Unit Price,Amount", "2024-03-01,Tea,,,\n"), "utf-8", {})


def test_records_above_a_header_are_not_skipped_as_titles(tmp_path):
    """Two exports in one file, the first without a price column: its rows are no title lines to skip."""
    path = write(tmp_path, "Date,Item,Qty", "2024-03-01,Tea,2\n2024-03-02,Mug,1\nDate,Item,Qty,Price\n"
                                            "2024-03-03,Tea,1,2.50\n")

    with pytest.raises(InputRefused, match=r"^\S+: missing column\(s\) price"):
        detect_layout(path, "utf-8", {})
