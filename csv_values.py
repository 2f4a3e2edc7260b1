"""Parsing of the values found in real sales exports: dates, quantities and money.

Pure functions, no I/O. One date format and one decimal mark per file: the file-level choices are
made here from the values themselves (``choose_date_format``, ``uses_decimal_comma``) so that a
day/month swap or a mix of formats can never happen silently.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

ISO_FORMAT = "%Y-%m-%d"
# Formats tried when a file's dates are not ISO; "/", "-" and "." separate the same way.
CANDIDATE_FORMATS = (
    "%m/%d/%Y", "%d/%m/%Y", "%m/%d/%y", "%d/%m/%y", "%Y%m%d",
    "%d/%b/%Y", "%d/%b/%y", "%b/%d/%Y", "%b/%d/%y", "%d %b %Y", "%b %d %Y", "%b %d, %Y",
    "%a, %d %b %Y",
)
# Formats with a month or weekday name read only values with a letter in them, and the others only values without:
# each value is tried with its half of the formats (a file's distinct dates times every format was the cost).
_NAMED_FORMATS = frozenset(fmt for fmt in (ISO_FORMAT, *CANDIDATE_FORMATS) if re.search("%[aAbB]", fmt))
DAY_FIRST = frozenset({"%d/%m/%Y", "%d/%m/%y"})
MONTH_FIRST = frozenset({"%m/%d/%Y", "%m/%d/%y"})
_SEPARATORS = re.compile(r"[-./]")
_DOTTED_DAY_MONTH = re.compile(r"\d{1,2}\.\d{1,2}\.\d{2,4}\b")
# A time of day after the date, with a zone: 'Z', '+02:00', '+0200' or '+02' (PostgreSQL's timestamptz), 'UTC+1', 'EST'.
_TIME_SUFFIX = re.compile(
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[AaPp]\.?[Mm]\.?)?"
    r"\s*(?:Z|[+-]\d{2}(?::?\d{2})?|(?:UTC|GMT)(?:[+-]\d{1,2}(?::?\d{2})?)?|[A-Z]{2,4}T)?)$"
)
_TIME_DIRECTIVES = re.compile(r"%[HIMSpfzZTRXc]")
# Full English month names, read as their abbreviations by %b ('May' is both).
_MONTH_NAME = re.compile(r"(?<![A-Za-z])(?:January|February|March|April|June|July|August|Sept(?:ember)?"
                         r"|October|November|December)(?![A-Za-z])", re.IGNORECASE)
_GROUPED_DIGITS = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+")
_INTEGER = re.compile(r"[+-]?\d+(?:\.0+)?")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
# Currency marks a shop export may put around an amount: a symbol (with an optional country prefix, as in
# "US$" or "HK$"), or a three-letter ISO 4217 code in capitals (a few common ones in any case), before or
# after the number.
_CURRENCY = re.compile(r"(?:[A-Za-z]{0,2}\$|[€£¥₹₽₩₺₪₫฿]"
                       r"|(?<![A-Za-z])(?!NAN|INF)(?:[A-Z]{3}|(?i:usd|eur|gbp|chf|jpy|cad|aud))(?![A-Za-z]))")
_PREFIXED_DOLLARS = {"": None, "US": "USD", "C": "CAD", "CA": "CAD", "A": "AUD", "AU": "AUD", "NZ": "NZD",
                     "HK": "HKD", "S": "SGD", "SG": "SGD", "R": "BRL", "MX": "MXN", "NT": "TWD"}
# ISO 4217 codes each symbol may stand for.
DOLLAR_CURRENCIES = frozenset({"USD", "CAD", "AUD", "NZD", "HKD", "SGD", "MXN", "TWD", "BRL"})
_SYMBOL_CURRENCIES = {"€": frozenset({"EUR"}), "£": frozenset({"GBP"}), "¥": frozenset({"JPY", "CNY"}),
                      "₹": frozenset({"INR"}), "₽": frozenset({"RUB"}), "₩": frozenset({"KRW"}),
                      "₺": frozenset({"TRY"}), "₪": frozenset({"ILS"}), "₫": frozenset({"VND"}),
                      "฿": frozenset({"THB"})}
_SPACES = re.compile(r"[\s\u00a0\u202f']")
# Spaces (a thin or no-break one, an apostrophe) between two digits: thousands separators, checked as such.
_GROUP_SPACES = re.compile(r"(?<=\d)[\s\u00a0\u202f']+(?=\d)")
# The minus signs of Unicode-aware number formats (U+2212, and its full-width and small forms).
_MINUS_SIGNS = str.maketrans({"\u2212": "-", "\uff0d": "-", "\ufe63": "-"})
_TO_COMPACT = re.compile(r"[\s\u00a0\u202f'\u2212\uff0d\ufe63]")
_DECIMAL_COMMA_VALUE = re.compile(r"^[^.]*\d,\d{1,2}$|\d\.\d{3},\d*$")
_DECIMAL_POINT_VALUE = re.compile(r"\d\.\d{1,2}$|\d,\d{3}\.\d*$")


class DateFormatError(ValueError):
    """The file's dates do not fit one unambiguous format."""


def normalize_format(fmt: str) -> str:
    """The strptime format with every date separator written as '/', and a full month name (%B) read as the
    abbreviation the values' full names are turned into (parse_date): `--date-format '%d %B %Y'` read nothing."""
    return _SEPARATORS.sub("/", fmt).replace("%B", "%b")


@functools.lru_cache(maxsize=64)
def _reads_time(fmt: str) -> bool:
    """Whether a format has a time of day in it (``--date-format '%d.%m.%Y %H:%M'``): the values then keep theirs."""
    return _TIME_DIRECTIVES.search(fmt) is not None


def check_date_format(fmt: str) -> None:
    """Raise ValueError unless ``fmt`` is a strptime format that reads back the dates it writes: '%Y%Y' (a regular
    expression error inside strptime), '%Q' or '{0}' would otherwise reject every row, or stop the run."""
    sample = datetime(2003, 11, 1, 13, 14, 15, tzinfo=UTC)  # the 1st: a month-only format (%Y-%m) reads it too
    try:
        readable = parse_date(sample.strftime(fmt), fmt) == sample.date()
    except (ValueError, re.error):
        readable = False
    if not readable:
        raise ValueError(f"'{fmt}' is not a strptime format of a date (e.g. %d/%m/%Y or %m/%d/%y)")


def strip_time(text: str) -> str:
    """'1/5/2019 0:00' -> '1/5/2019': a time of day is allowed after a date and ignored."""
    return _TIME_SUFFIX.sub("", text.strip())


def parse_date(text: str, fmt: str) -> date | None:
    """The date in ``text`` under ``fmt`` (separators '/', '-', '.' equivalent), or None."""
    value = _SEPARATORS.sub("/", text.strip() if _reads_time(fmt) else strip_time(text))
    if not value.replace("/", "").isdigit():
        value = _MONTH_NAME.sub(lambda name: name.group()[:3], value)  # 'March 1, 2024' reads as 'Mar 1, 2024'
    try:
        return datetime.strptime(value, normalize_format(fmt)).date()
    except ValueError:
        return None


def choose_date_format(values: Iterable[str], explicit: str | None = None) -> str:
    """The one date format for a file, so that day and month are never swapped and never mixed.

    ``explicit`` (``--date-format``) wins. Otherwise ISO when ISO reads the most values; else the
    one format that reads the most (the other rows are then rejected as bad dates). Two formats that
    read equally many (every day <= 12) make the file ambiguous, and day-first evidence in a
    month-first file (or the reverse) makes it mixed: either way the file is refused and
    --date-format asked for, because reading on would swap day and month in the ambiguous rows.
    """
    if explicit:
        return explicit
    formats = (ISO_FORMAT, *CANDIDATE_FORMATS)
    distinct = {value.strip() for value in values if value.strip()}
    readers = {value: _formats_reading(value, formats) for value in distinct}
    scores = {fmt: sum(fmt in fits for fits in readers.values()) for fmt in formats}
    best = max(scores.values(), default=0)
    if best == 0 or scores[ISO_FORMAT] == best:
        return ISO_FORMAT
    winners = [fmt for fmt in formats if scores[fmt] == best]
    if len(winners) > 1:
        sample = sorted(value for value, fits in readers.items() if fits)[:3]
        raise DateFormatError(
            f"dates such as {', '.join(sample)} fit several formats ({', '.join(winners)}); "
            "pass --date-format, e.g. --date-format %d/%m/%Y"
        )
    _refuse_other_day_month_order(winners[0], readers)
    return winners[0]


def _formats_reading(value: str, formats: tuple[str, ...]) -> set[str]:
    """The formats that read ``value``, each tried only where it can: with a month or weekday name when the value
    has a letter, without one otherwise."""
    named = _has_letter(value)
    return {fmt for fmt in _plausible_formats(value, formats)
            if (fmt in _NAMED_FORMATS) == named and parse_date(value, fmt) is not None}


def _has_letter(value: str) -> bool:
    """Whether a date text holds a letter once its time of day is stripped (a month or weekday name)."""
    return any(character.isalpha() for character in strip_time(value))


def _plausible_formats(value: str, formats: tuple[str, ...]) -> tuple[str, ...]:
    """The formats a date may be written in: a dotted day and month ('01.03.2024') is day-first wherever dots
    are written (Germany, Austria, Switzerland, Poland, Russia, Scandinavia...); no locale writes month.day."""
    if _DOTTED_DAY_MONTH.match(value):
        return tuple(fmt for fmt in formats if fmt not in MONTH_FIRST)
    return formats


def _refuse_other_day_month_order(chosen: str, readers: dict[str, set[str]]) -> None:
    """A month-first file with a date that can only be day-first (or the reverse) mixes both orders."""
    rivals = DAY_FIRST if chosen in MONTH_FIRST else MONTH_FIRST if chosen in DAY_FIRST else set()
    evidence = sorted(value for value, fits in readers.items() if fits and fits <= rivals)
    if evidence:
        raise DateFormatError(
            f"mixed date formats: most dates read as {chosen}, but {evidence[0]} can only be "
            f"{' or '.join(sorted(readers[evidence[0]]))}, so the dates with a day <= 12 cannot be trusted; "
            "pass --date-format to choose one (rows in any other format are then rejected)"
        )


def parse_quantity(text: str, decimal_comma: bool = False) -> int | None:
    """A whole quantity ('3', '-1' or '\u22121' for a return, '2.0', '1,000', '1 000'; '2,0' and '1.000' with a
    decimal comma), or None."""
    value = _without_thousands(_compact(text, decimal_comma), decimal_comma)
    if value is None or not _INTEGER.fullmatch(value):
        return None
    return int(value.partition(".")[0])  # the pattern allows only zeros after a point


def uses_decimal_comma(values: Iterable[str]) -> bool:
    """Whether a file writes money with a decimal comma ('12,50', '1.234,5').

    Decided once per file: some value has a comma followed by one or two digits at its end, and
    none has a decimal point there.
    """
    comma = point = False
    for raw in values:
        value = _SPACES.sub("", _CURRENCY.sub("", raw))
        comma = comma or bool(_DECIMAL_COMMA_VALUE.search(value))
        point = point or bool(_DECIMAL_POINT_VALUE.search(value))
    return comma and not point


def is_plain_number(text: str) -> bool:
    """'12.50', '-3', '.5': a number with no currency, separator or space around it."""
    return _PLAIN_NUMBER.fullmatch(text) is not None


def currencies_named(text: str) -> frozenset[str] | None:
    """The ISO 4217 codes the currency marks of an amount may stand for ('$' is any dollar, '€' EUR, 'usd'
    USD); None when the amount names no currency. Marks naming two different currencies give an empty set."""
    named: frozenset[str] | None = None
    for mark in _CURRENCY.findall(text):
        codes = _currencies_of_mark(mark)
        named = codes if named is None else named & codes
    return named


def _currencies_of_mark(mark: str) -> frozenset[str]:
    if mark.endswith("$"):
        prefix = mark[:-1].upper()
        if prefix not in _PREFIXED_DOLLARS:
            return frozenset()
        code = _PREFIXED_DOLLARS[prefix]
        return DOLLAR_CURRENCIES if code is None else frozenset({code})
    return _SYMBOL_CURRENCIES.get(mark, frozenset({mark.upper()}))


def parse_money(text: str, decimal_comma: bool = False) -> Decimal | None:
    """An exact amount from '$1,234.50', ' 95.70 ', '12,50' (decimal comma), '(3.00)' (negative)."""
    if not decimal_comma and _PLAIN_NUMBER.fullmatch(text):
        return Decimal(text)  # the common case, '12.50', without the clean-up below
    value = _compact(_CURRENCY.sub("", text), decimal_comma)
    negative = value.startswith("(") and value.endswith(")")
    if negative:
        value = value[1:-1]
    if value.endswith("-") and value[:-1] and "-" not in value[:-1]:
        negative, value = True, value[:-1]
    plain = _without_thousands(value, decimal_comma)
    if plain is None or not _PLAIN_NUMBER.fullmatch(plain):
        return None
    try:
        amount = Decimal(plain)
    except InvalidOperation:
        return None
    return -amount if negative else amount


def _compact(text: str, decimal_comma: bool) -> str:
    """``text`` without spaces and with an ASCII minus. A space between two digits becomes the file's thousands
    separator, so that it is checked as one: '1 234,50' is 1234.50, but '12 50' no 1250 (a stray space, like a
    stray comma, makes the row a reject); spaces elsewhere (around a sign or a currency mark) are dropped."""
    if _TO_COMPACT.search(text) is None:
        return text  # the usual value, '3' or '1,234.50': one search instead of three passes (every row pays it)
    separator = "." if decimal_comma else ","
    return _SPACES.sub("", _GROUP_SPACES.sub(separator, text.translate(_MINUS_SIGNS)))


def _without_thousands(value: str, decimal_comma: bool) -> str | None:
    """``value`` with its thousands separators dropped and a '.' decimal mark; None when a separator does not
    sit between groups of three digits: '12,50' in a file with a decimal point is no 1250, but a mistake."""
    separator, mark = (".", ",") if decimal_comma else (",", ".")
    whole, has_mark, fraction = value.partition(mark)
    if separator in whole:
        if not _GROUPED_DIGITS.fullmatch(whole.replace(separator, ",")):
            return None
        whole = whole.replace(separator, "")
    return f"{whole}.{fraction}" if has_mark else whole
