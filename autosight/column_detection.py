"""Which header column holds each value, in exports that do not use the canonical names.

Shop systems name their columns their own way: Shopify's `Lineitem quantity`, Square's `Qty`, UCI's
`InvoiceDate`, a German Excel sheet's `Menge`. A column is taken without `--map` only when the header leaves
no doubt: among the columns bearing a known name for a value, exactly one is of the best tier present.
Two candidates of that tier, or both a unit-price and a line-total column, refuse the file with the
candidates and a `--map` to paste: a wrong guess would load wrong figures without a word (a unit price
capped at 100 beside the real line total, a gross beside a net). Pure: no file, no database.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

import csv_values

# Known header names, compared by ``header_key`` (lower-case letters and digits, accents dropped); tiers in
# order of preference: a column of an earlier tier wins over columns of later ones.
_DATE_NAMES = ("sale date", "sales date", "order date", "invoice date", "transaction date", "purchase date",
               "sold date", "created at", "date", "datum", "fecha", "date de vente", "date commande", "bestelldatum")
_DATE_STAMPS = ("timestamp", "created", "created utc", "created date (utc)", "created (utc)", "datetime",
                "order datetime", "transaction time")
_PRODUCT_NAMES = ("product name", "product", "product title", "product description", "item", "item name",
                  "item title", "item description", "description", "title", "lineitem name", "menu item",
                  "product/service", "article", "artikel", "artikelname", "bezeichnung", "produkt", "produit",
                  "designation", "libelle", "nom du produit", "producto", "articulo")
_PRODUCT_CODES = ("product line", "product category", "category", "sku", "product code", "product id", "item code",
                  "stock code", "artikelnummer")
_QUANTITY_NAMES = ("quantity", "qty", "quantity ordered", "quantity sold", "qty sold", "units", "units sold",
                   "order quantity", "lineitem quantity", "quantity (- refund)", "items sold", "menge", "anzahl",
                   "quantite", "cantidad", "quantita")
# Unit prices. Not 'item price': Amazon's item-price is the line's total, a shop system's the unit price.
_PRICE_NAMES = ("price", "unit price", "price each", "price per unit", "lineitem price", "item cost", "sales price",
                "sale price", "selling price", "sold for", "einzelpreis", "preis", "stuckpreis", "prix unitaire",
                "prix", "precio", "precio unitario")
# Line totals (quantity x unit price, after line discounts). Not 'total' or 'subtotal': an order's in
# Shopify's export, a line's with tax in others.
_LINE_TOTAL_NAMES = ("line total", "sales", "amount", "revenue", "net sales", "gross sales", "item total",
                     "total price", "line amount", "extended price", "net amount", "sale dollars", "product sales",
                     "umsatz", "gesamtpreis", "betrag", "montant", "importe")
_CURRENCY_NAMES = ("currency", "currency code", "wahrung", "devise", "moneda", "valuta")

VALUE_COLUMNS = ("sale_date", "product_name", "quantity")
_TIERS: dict[str, tuple[tuple[str, ...], ...]] = {
    "sale_date": (_DATE_NAMES, _DATE_STAMPS),
    "product_name": (_PRODUCT_NAMES, _PRODUCT_CODES),
    "quantity": (_QUANTITY_NAMES,),
    "price": (_PRICE_NAMES,),
    "revenue": (_LINE_TOTAL_NAMES,),
    "currency": (_CURRENCY_NAMES,),
}
_WHAT = {"sale_date": "the sale date", "product_name": "the product", "quantity": "the quantity",
         "price": "the unit price", "revenue": "the line total", "currency": "the currency"}


def header_key(name: str) -> str:
    """'Quantité' / 'QUANTITY' / 'purchase-date' / 'Item #' -> 'quantite' / 'quantity' / 'purchasedate' /
    'itemno'."""
    decomposed = unicodedata.normalize("NFKD", name.replace("\ufeff", "").replace("#", "no").casefold())
    return "".join(char for char in decomposed if char.isascii() and char.isalnum())


_KEYS = {value: tuple(frozenset(header_key(name) for name in tier) for tier in tiers)
         for value, tiers in _TIERS.items()}


@dataclass
class Detection:
    """Columns found by their names; ``problems`` (sentences for the refusal) when one is in doubt, ``columns``
    then holding a first candidate for the suggested --map and ``alternatives`` the others."""

    columns: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    alternatives: list[str] = field(default_factory=list)
    price_beside_total: int | None = None  # the one unit-price column beside the one line-total column


def candidates(header: list[str], value: str) -> list[int]:
    """The positions of the columns with a known name for ``value``, of the best tier any column reaches."""
    keys = [header_key(name) for name in header]
    for tier in _KEYS[value]:
        found = [index for index, key in enumerate(keys) if key in tier]
        if found:
            return found
    return []


def detect(header: list[str], wanted: Iterable[str], money: bool) -> Detection:
    """Find each of ``wanted`` (canonical names) by its known names; with ``money``, the unit price or line total.

    Exactly one candidate: taken. None: left out (the caller says which column is missing). Several: a
    problem naming them.
    """
    detection = Detection()
    for value in wanted:
        _take_one(detection, header, value)
    if money:
        _take_money(detection, header)
    return detection


def currency_column(header: list[str]) -> int | None:
    """The one column naming each row's currency (Shopify's, Etsy's, Stripe's `Currency`), if there is one."""
    found = candidates(header, "currency")
    return found[0] if len(found) == 1 else None


def _take_one(detection: Detection, header: list[str], value: str) -> None:
    """The one candidate; with several, the first (for the suggested --map) and a problem naming them all."""
    found = candidates(header, value)
    if found:
        detection.columns[value] = found[0]
    if len(found) > 1:
        detection.problems.append(f"{_WHAT[value]} could be any of {_names(header, found)}")
        detection.alternatives.extend(f"{value}={header[index]}" for index in found[1:])


def _take_money(detection: Detection, header: list[str]) -> None:
    prices, totals = candidates(header, "price"), candidates(header, "revenue")
    if prices and totals:
        detection.problems.append(
            f"both a unit price ({_names(header, prices)}) and a line total ({_names(header, totals)}) are there, "
            "and they need not agree (discounts, tax, shipping, capped prices)")
        detection.columns["revenue"] = totals[0]
        detection.alternatives.extend(f"price={header[index]}" for index in prices)
        detection.alternatives.extend(f"revenue={header[index]}" for index in totals[1:])
        if len(prices) == len(totals) == 1:
            detection.price_beside_total = prices[0]
    elif prices or totals:
        _take_one(detection, header, "price" if prices else "revenue")


def disagreement(rows: Iterable[list[str]], columns: dict[str, int], price: int) -> str | None:
    """Whether a line total and a unit price beside it tell the same revenue on the sample ``rows``: None when
    quantity x price is the total, to the cent the price was rounded to, on every row where all three read
    (and there is one); else the first row where they do not, as a sentence.

    When they agree the line total is taken (the contract's revenue: the line total as given), whatever the
    rest of the file holds; a disagreement in the sample leaves the choice to the user."""
    width = 1 + max(*columns.values(), price)
    sample = [row for row in rows if len(row) >= width]
    amounts = [row[index] for row in sample for index in (price, columns["revenue"])]
    decimal_comma = csv_values.uses_decimal_comma(amounts)
    compared = 0
    for row in sample:
        quantity = csv_values.parse_quantity(row[columns["quantity"]], decimal_comma)
        unit = csv_values.parse_money(row[price], decimal_comma)
        total = csv_values.parse_money(row[columns["revenue"]], decimal_comma)
        if quantity is None or unit is None or total is None:
            continue
        if abs(quantity * unit - total) > max(Decimal("0.01"), abs(quantity) * Decimal("0.005")):
            return f"{quantity} x {row[price].strip()} is not {row[columns['revenue']].strip()} on one line"
        compared += 1
    return None if compared else "no line shows whether they agree"


def _names(header: list[str], positions: list[int]) -> str:
    return ", ".join(f"'{header[index]}'" for index in positions)
