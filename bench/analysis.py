"""Cost of the analysis step as the sales history grows: the rollup against the same sums over raw rows.

Why: ``analysis.analyze`` reads the daily x product rollup that ingestion maintains, so its cost should
follow days x products, not the number of sales. This bench loads a growing history with
``ingestion.ingest_file`` (several files, as cron would) and, at each size, times in the same database:

* ``analyze`` over the whole history and over the last 90 days (a nightly "last quarter" report);
* ``forecast_from_analysis`` on the whole history (nested backtest, week ahead, top 10 products), as main.py runs it;
* the same daily series and product table computed in SQL directly from ``sales_data`` (raw rows).

Two ways for a history to grow from the first size to the next:

* ``longer``: more days at a constant daily volume (the rollup grows with the days);
* ``denser``: the same days with more sales per day (the rollup keeps its size).

Each timing is the median of ``--repeat`` runs after one warm-up run. Before timing, the raw and rollup
figures are checked to be identical, and ANALYZE gives the planner the statistics autovacuum would.

Run from the repository root::

    python bench/analysis.py [--rows 1000000 5000000] [--rows-per-day 2000] [--products 100]
                             [--scenarios longer denser] [--repeat 5] [--database-url URL]

Without ``--database-url`` an embedded PostgreSQL is started in a temporary folder and removed afterwards;
with it, a database per scenario is created on that server and dropped.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg2
import psycopg2.extensions
from psycopg2 import sql

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

import db  # noqa: E402
import ingestion  # noqa: E402
from analysis import PeriodFilter, analyze  # noqa: E402
from autosight import scratch  # noqa: E402
from autosight.run_results import AnalysisResult, Period  # noqa: E402
from forecasting import forecast_from_analysis  # noqa: E402

SEED = 20240401
FIRST_DAY = date(2018, 1, 1)
FILE_ROWS = 500_000  # rows per generated file: a history arrives as many files
RECENT_DAYS = 90
STRONG_GROWTH_PCT = Decimal("20")
MA_WINDOW = 5
BACKTEST_DAYS = 28


@dataclass(frozen=True)
class Batch:
    """``rows_per_day`` sales on each of ``days`` days from ``first_day``, one more file source."""

    first_day: date
    days: int
    rows_per_day: int
    source: str


@dataclass(frozen=True)
class Timing:
    scenario: str
    rows: int
    days: int
    rollup_rows: int
    seconds: dict[str, float]


# ---------------------------------------------------------------------------------------------
# Generating and loading the history


def product_prices(count: int) -> list[tuple[str, str]]:
    rng = random.Random(SEED)
    return [(f"Product {index:03d}", f"{rng.randint(100, 9999) / 100:.2f}") for index in range(1, count + 1)]


def batch_lines(batch: Batch, products: list[tuple[str, str]]) -> Iterator[str]:
    """Canonical CSV lines, deterministic; quantities 1-5 with about 1 % returns."""
    rng = random.Random(f"{SEED}-{batch.source}")
    for offset in range(batch.days):
        day = (batch.first_day + timedelta(days=offset)).isoformat()
        for name, price in rng.choices(products, k=batch.rows_per_day):
            quantity = rng.randint(1, 5)
            yield f"{day},{name},{-quantity if rng.random() < 0.01 else quantity},{price}\n"


def write_files(batch: Batch, products: list[tuple[str, str]], folder: Path) -> list[Path]:
    """The batch as files of about FILE_ROWS rows each (whole days per file)."""
    days_per_file = max(1, FILE_ROWS // batch.rows_per_day)
    paths = []
    for start in range(0, batch.days, days_per_file):
        part = Batch(batch.first_day + timedelta(days=start), min(days_per_file, batch.days - start),
                     batch.rows_per_day, f"{batch.source}-{start}")
        path = folder / f"{part.source}.csv"
        with path.open("w", encoding="utf-8", newline="") as stream:
            stream.write("sale_date,product_name,quantity,price\n")
            stream.writelines(batch_lines(part, products))
        paths.append(path)
    return paths


def load(connection: psycopg2.extensions.connection, batch: Batch, products: list[tuple[str, str]],
         folder: Path) -> None:
    started = time.perf_counter()
    for path in write_files(batch, products, folder):
        outcome = ingestion.ingest_file(connection, path, ingestion.LoadOptions())
        if outcome.status != "loaded" or outcome.rows_rejected:
            raise SystemExit(f"{path}: {outcome}")
        path.unlink()
    with connection, connection.cursor() as cursor:
        cursor.execute("ANALYZE sales_data")
        cursor.execute("ANALYZE sales_daily_product")
    print(f"  loaded {batch.days * batch.rows_per_day:,} rows ({batch.days} days x {batch.rows_per_day}/day)"
          f" in {time.perf_counter() - started:.1f} s", flush=True)


def plan(scenario: str, sizes: list[int], rows_per_day: int) -> list[Batch]:
    """The batches that take the history from one size to the next, in order."""
    batches, loaded, next_day = [], 0, FIRST_DAY
    first_days = sizes[0] // rows_per_day
    for index, size in enumerate(sizes):
        extra = size - loaded
        if scenario == "longer" or index == 0:
            days = extra // rows_per_day
            batches.append(Batch(next_day, days, rows_per_day, f"{scenario}{index}"))
            next_day += timedelta(days=days)
        else:
            batches.append(Batch(FIRST_DAY, first_days, extra // first_days, f"{scenario}{index}"))
        loaded = size
    return batches


# ---------------------------------------------------------------------------------------------
# The same aggregation from raw rows


def raw_analysis(connection: psycopg2.extensions.connection, period: Period) -> tuple[list[tuple], list[tuple]]:
    """Daily series over the calendar and product table, summed from ``sales_with_revenue`` (raw rows)."""
    with connection, connection.cursor() as cursor:
        cursor.execute(
            "WITH r AS (SELECT sale_date, sum(revenue) AS revenue FROM sales_with_revenue"
            "  WHERE sale_date BETWEEN %(start)s AND %(end)s GROUP BY sale_date)"
            " SELECT d.day, coalesce(r.revenue, 0) FROM (SELECT %(start)s::date + n AS day"
            "  FROM generate_series(0, %(end)s::date - %(start)s::date) AS n) AS d"
            " LEFT JOIN r ON r.sale_date = d.day ORDER BY d.day",
            {"start": period.start, "end": period.end})
        daily = cursor.fetchall()
        cursor.execute(
            "SELECT product_name, sum(quantity), sum(revenue) FROM sales_with_revenue"
            " WHERE sale_date BETWEEN %s AND %s GROUP BY product_name ORDER BY 3 DESC, 1",
            (period.start, period.end))
        return daily, cursor.fetchall()


def rollup_analysis(result: AnalysisResult) -> tuple[list[tuple], list[tuple]]:
    """The figures of ``analyze`` in the shape of ``raw_analysis``, to check that both agree."""
    return ([(day.day, day.revenue) for day in result.daily],
            [(p.product, p.quantity, p.revenue) for p in result.products])


# ---------------------------------------------------------------------------------------------
# Timing


def median_seconds(action: Callable[[], Any], repeat: int) -> float:
    action()  # warm-up: caches and plans, as on the second night of a cron job
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def measure(connection: psycopg2.extensions.connection, scenario: str, repeat: int) -> Timing:
    full = analyze(connection, PeriodFilter(), STRONG_GROWTH_PCT)
    recent = analyze(connection, PeriodFilter(last_days=RECENT_DAYS), STRONG_GROWTH_PCT)
    for result in (full, recent):
        if raw_analysis(connection, result.period) != rollup_analysis(result):
            raise SystemExit(f"{scenario}: rollup and raw rows disagree over {result.period}")
    actions: dict[str, Callable[[], Any]] = {
        "analyze_full": lambda: analyze(connection, PeriodFilter(), STRONG_GROWTH_PCT),
        "analyze_90d": lambda: analyze(connection, PeriodFilter(last_days=RECENT_DAYS), STRONG_GROWTH_PCT),
        "forecast_full": lambda: forecast_from_analysis(full, MA_WINDOW, BACKTEST_DAYS),
        "raw_full": lambda: raw_analysis(connection, full.period),
        "raw_90d": lambda: raw_analysis(connection, recent.period),
    }
    seconds = {name: median_seconds(action, repeat) for name, action in actions.items()}
    return Timing(scenario, full.transactions, full.period.days, _count(connection, "sales_daily_product"), seconds)


def _count(connection: psycopg2.extensions.connection, table: str) -> int:
    with connection, connection.cursor() as cursor:
        cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
        return int(cursor.fetchone()[0])


def run_scenario(server_dsn: str, scenario: str, args: argparse.Namespace, folder: Path) -> list[Timing]:
    print(f"\n== {scenario}", flush=True)
    products = product_prices(args.products)
    timings = []
    with scratch.scratch_database(server_dsn, "bench_analysis") as dsn:
        connection = psycopg2.connect(dsn)
        try:
            db.migrate(connection)
            for batch in plan(scenario, args.rows, args.rows_per_day):
                load(connection, batch, products, folder)
                timings.append(measure(connection, scenario, args.repeat))
                print("  " + table_row(timings[-1]), flush=True)
        finally:
            connection.close()
    return timings


# ---------------------------------------------------------------------------------------------
# Servers and databases




# ---------------------------------------------------------------------------------------------
# Output


COLUMNS = ("analyze_full", "analyze_90d", "forecast_full", "raw_full", "raw_90d")
HEADER = ("| scenario | rows | days | rollup rows | analyze, all days | analyze, last 90 d | forecast, all days"
          " | raw rows SQL, all days | raw rows SQL, last 90 d |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|")


def table_row(timing: Timing) -> str:
    cells = [f"{timing.seconds[name] * 1000:,.1f} ms" for name in COLUMNS]
    return f"| {timing.scenario} | {timing.rows:,} | {timing.days:,} | {timing.rollup_rows:,} | {' | '.join(cells)} |"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000], metavar="N",
                        help="history sizes to measure at, increasing (default: 1000000 5000000)")
    parser.add_argument("--rows-per-day", type=int, default=2000, help="sales per day of the first size")
    parser.add_argument("--products", type=int, default=100, help="distinct products (default 100)")
    parser.add_argument("--scenarios", nargs="+", choices=("longer", "denser"), default=["longer", "denser"])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per figure, median reported")
    parser.add_argument("--database-url", help="server to measure on (default: embedded PostgreSQL in a temp folder)")
    args = parser.parse_args(argv)
    if args.rows != sorted(args.rows) or args.rows[0] < args.rows_per_day:
        parser.error("--rows must be increasing, the first at least one day of --rows-per-day")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with (scratch.server_or_temporary_embedded(args.database_url) as server_dsn,
          tempfile.TemporaryDirectory(prefix="autosight-bench-csv-") as tmp):
        timings = [timing for scenario in args.scenarios
                   for timing in run_scenario(server_dsn, scenario, args, Path(tmp))]
    print("\nmedian of", args.repeat, "runs after a warm-up\n")
    print(HEADER)
    print("\n".join(table_row(timing) for timing in timings))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
