"""Out-of-sample accuracy of the next-day forecast on two public daily sales datasets.

Why: the backtest inside ``forecast_next_day`` picks the headline model; this bench checks that the choice
pays off on days the selection never saw. For each of the last ``--days`` days ``t`` it calls
``forecast_next_day`` on the data up to ``t - 1`` only and records every model's error and the headline's.
MASE is scaled by the in-sample naive one-step MAE of the data before the evaluation window.

Run from the repository root: ``python bench/forecast_accuracy.py [--shared-dir ../shared]``.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from forecasting import forecast_next_day

MA_WINDOW = 5
HEADLINE = "headline"
RowRevenue = Callable[[dict[str, str]], Decimal]


def _supermarket_revenue(row: dict[str, str]) -> Decimal:
    return Decimal(row["Quantity"]) * Decimal(row["Unit price"])


def _superstore_revenue(row: dict[str, str]) -> Decimal:
    return Decimal(row["Sales"])


# (name, CSV path under the shared dir, encoding, date column, revenue of a row) — see each PROVENANCE.md.
DATASETS: list[tuple[str, str, str, str, RowRevenue]] = [
    (
        "supermarket_sales",
        "data/supermarket_sales/supermarket_sales - Sheet1.csv",
        "utf-8",
        "Date",
        _supermarket_revenue,
    ),
    ("superstore", "data/superstore/Sample - Superstore.csv", "utf-8-sig", "Order Date", _superstore_revenue),
]


def daily_series(path: Path, encoding: str, date_column: str, revenue: RowRevenue) -> tuple[list[date], list[Decimal]]:
    """Sum revenue per day (dates M/D/YYYY) and fill every missing calendar day with 0."""
    totals: dict[date, Decimal] = defaultdict(Decimal)
    with path.open(newline="", encoding=encoding) as handle:
        for row in csv.DictReader(handle):
            totals[datetime.strptime(row[date_column], "%m/%d/%Y").date()] += revenue(row)
    first, last = min(totals), max(totals)
    days = [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
    return days, [totals.get(day, Decimal(0)) for day in days]


def out_of_sample_errors(
    days: list[date], revenues: list[Decimal], eval_days: int
) -> tuple[dict[str, list[Decimal]], Counter[str]]:
    """Errors of every model and of the headline on each of the last ``eval_days`` days, fitted on the past only.

    Also counts which model the headline picked, to show how stable the selection is.
    """
    errors: dict[str, list[Decimal]] = defaultdict(list)
    picks: Counter[str] = Counter()
    for t in range(len(revenues) - eval_days, len(revenues)):
        forecast = forecast_next_day(days[:t], revenues[:t], MA_WINDOW)
        for model in forecast.models:
            errors[model.name].append(revenues[t] - model.value)
        errors[HEADLINE].append(revenues[t] - forecast.value)
        picks[forecast.method] += 1
    return errors, picks


def naive_scale(training: list[Decimal]) -> Decimal:
    """In-sample naive one-step MAE of the data before the evaluation window."""
    return sum(abs(training[i] - training[i - 1]) for i in range(1, len(training))) / (len(training) - 1)


def report(name: str, days: list[date], revenues: list[Decimal], eval_days: int) -> dict[str, Decimal]:
    """Print one dataset's table and return the MASE of each model and the headline."""
    errors, picks = out_of_sample_errors(days, revenues, eval_days)
    scale = naive_scale(revenues[:-eval_days])
    print(f"\n### {name}: {days[0]} .. {days[-1]} ({len(days)} days), evaluated on the last {eval_days}")
    print(f"total revenue {sum(revenues)} (cross-check with the dataset's PROVENANCE.md)")
    print(f"naive scale (in-sample MAE before the window): {scale.quantize(Decimal('0.01'))}\n")
    print("| model | MAE | MASE |\n|---|---:|---:|")
    mase: dict[str, Decimal] = {}
    for model, model_errors in errors.items():
        mae = sum(abs(error) for error in model_errors) / len(model_errors)
        mase[model] = mae / scale
        print(f"| {model} | {mae.quantize(Decimal('0.01'), ROUND_HALF_UP)} | {mase[model]:.3f} |")
    print(f"\nheadline picks: {', '.join(f'{model} x{count}' for model, count in picks.most_common())}")
    return mase


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_shared = Path(__file__).resolve().parent.parent.parent / "shared"
    parser.add_argument("--shared-dir", type=Path, default=default_shared, help="default: ../shared")
    parser.add_argument("--days", type=int, default=28, help="evaluation window (default 28)")
    args = parser.parse_args()
    met = True
    for name, relative, encoding, date_column, revenue in DATASETS:
        days, revenues = daily_series(args.shared_dir / relative, encoding, date_column, revenue)
        mase = report(name, days, revenues, args.days)
        ok = mase[HEADLINE] < mase["moving_average"] and mase[HEADLINE] <= mase["seasonal_naive"]
        met = met and ok
        print(f"criterion (headline < moving_average and <= seasonal_naive): {'met' if ok else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
