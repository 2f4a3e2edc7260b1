"""Generate the bundled sample sales CSV (``data/sample_sales.csv``), deterministically.

The data imitate a small coffee and tea shop: 10 products (one name contains a comma, so CSV quoting is
exercised), a weekend peak, a gentle upward trend over the period, the shop closed on Mondays (no rows at
all, so those days have revenue 0), and about 1 % returns (negative quantity at the normal unit price).

Same arguments, same bytes: a fixed-seed ``random.Random`` drives everything, and the file is written as
UTF-8 with LF line endings. Run from the repository root:
``python scripts/generate_sample_data.py [--output FILE] [--days N] [--start YYYY-MM-DD] [--seed N]``.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

HEADER = ("sale_date", "product_name", "quantity", "price")
DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "data" / "sample_sales.csv"
DEFAULT_DAYS = 182
DEFAULT_END = date(2026, 6, 27)  # a Saturday: the latest change compares two open days
DEFAULT_SEED = 20260630

# (name, unit price, relative popularity)
PRODUCTS: tuple[tuple[str, Decimal, int], ...] = (
    ("Espresso Beans 1kg", Decimal("24.50"), 14),
    ("Filter Coffee 500g", Decimal("11.90"), 12),
    ("Beans, Decaf 250g", Decimal("9.50"), 6),
    ("Green Tea 100g", Decimal("6.80"), 10),
    ("Earl Grey Tea 100g", Decimal("7.20"), 8),
    ("Ceramic Mug", Decimal("12.00"), 9),
    ("Paper Filters 100", Decimal("3.25"), 11),
    ("Chocolate Biscuits", Decimal("4.50"), 10),
    ("Milk Frother", Decimal("39.90"), 3),
    ("Pour-Over Kettle", Decimal("54.00"), 2),
)
# Share of the busiest day's traffic, Monday (closed) .. Sunday.
WEEKDAY_FACTOR: tuple[float, ...] = (0.0, 0.75, 0.8, 0.9, 1.15, 1.5, 1.3)
BASE_ROWS = 28.0
TREND_GROWTH = 0.35  # the last day has 35 % more traffic than the first
MIN_ROWS, MAX_ROWS = 20, 60
QUANTITIES, QUANTITY_WEIGHTS = (1, 2, 3, 4, 5), (55, 25, 11, 6, 3)
RETURN_PROBABILITY = 0.01

Row = tuple[date, str, int, Decimal]


def default_start(days: int, end: date = DEFAULT_END) -> date:
    """The first day of a ``days``-long period ending on ``end``."""
    return end - timedelta(days=days - 1)


def rows_for_day(day_index: int, days: int, weekday: int, rng: random.Random) -> int:
    """How many sale rows a day gets: weekday pattern x upward trend, plus noise; 0 when closed."""
    factor = WEEKDAY_FACTOR[weekday]
    if factor == 0.0:
        return 0
    trend = 1.0 + TREND_GROWTH * day_index / max(days - 1, 1)
    count = round(BASE_ROWS * factor * trend) + rng.randint(-3, 3)
    return min(max(count, MIN_ROWS), MAX_ROWS)


def sale_line(rng: random.Random) -> tuple[str, int, Decimal]:
    """One sale (or, rarely, a return) of a random product at its unit price."""
    names = [name for name, _, _ in PRODUCTS]
    weights = [weight for _, _, weight in PRODUCTS]
    index = rng.choices(range(len(PRODUCTS)), weights=weights)[0]
    quantity = rng.choices(QUANTITIES, weights=QUANTITY_WEIGHTS)[0]
    if rng.random() < RETURN_PROBABILITY:
        quantity = -rng.choice((1, 1, 2))
    return names[index], quantity, PRODUCTS[index][1]


def generate_rows(days: int = DEFAULT_DAYS, start: date | None = None, seed: int = DEFAULT_SEED) -> Iterator[Row]:
    """Yield ``(sale_date, product_name, quantity, unit_price)`` rows in date order."""
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    first = default_start(days) if start is None else start
    rng = random.Random(seed)
    for offset in range(days):
        day = first + timedelta(days=offset)
        for _ in range(rows_for_day(offset, days, day.weekday(), rng)):
            name, quantity, price = sale_line(rng)
            yield day, name, quantity, price


def write_csv(rows: Iterator[Row], output: Path) -> int:
    """Write the canonical CSV atomically (temp file + rename); return the number of data rows."""
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = output.with_name(output.name + ".tmp")
    count = 0
    with temporary.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        for day, name, quantity, price in rows:
            writer.writerow((day.isoformat(), name, quantity, f"{price:.2f}"))
            count += 1
    os.replace(temporary, output)
    return count


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Generate the deterministic AutoSight sample sales CSV.")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="CSV to write (default: %(default)s)")
    parser.add_argument("--days", type=int, default=DEFAULT_DAYS, help="length of the period (default: %(default)s)")
    parser.add_argument(
        "--start",
        type=date.fromisoformat,
        default=None,
        help=f"first day, YYYY-MM-DD (default: the period ends on {DEFAULT_END.isoformat()})",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.days < 1:
        parser.error("--days must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    count = write_csv(generate_rows(args.days, args.start, args.seed), args.output)
    print(f"wrote {count} rows to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
