"""Every figure of report.json, recomputed here from the CSV with Decimal and Fraction (issue 4's acceptance).

The generated shop is closed on Sundays and on two holidays (zero days inside the period, twice two of
them in a row). Since the trading calendar (issue 10, PRODUCT.md) the expected figures changed on purpose:
the Sundays are closed days (detected: no sales several Sundays in a row), with trend "Closed" and no change;
the two holidays are not listed in CLOSED_DATES and make runs of only 2 days without sales, so they are trading
days with revenue 0 (and a warning); changes compare trading days; average, best and worst are over trading days;
the forecast is for the next trading day and learns from trading days only.
It takes returns (negative quantities; one day of returns only, so a negative day),
grows over the weeks, sells one product only now and then, has prices with three decimals (a row's
revenue is exact, never rounded: the report rounds each figure once, to the cent, half up), days built to
sit on the 20 % threshold, and two bad rows.

``python main.py`` runs as cron would run it; the test then reads the CSV with ``csv`` and computes
what PRODUCT.md says the report must hold, without calling any project code. The forecast models other
than Holt-Winters are simple enough to recompute too (with their backtest and interval); for
Holt-Winters the test checks that the headline is the reported model with the lowest backtest MASE.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

SCHEMA = Path(__file__).resolve().parents[1] / "schemas" / "report.schema.json"
CENT = Decimal("0.01")
FIRST_DAY = date(2024, 1, 1)  # a Monday
LAST_DAY = date(2024, 3, 9)  # a Saturday
# Days the shop stayed closed: with the Sunday next to them, two zero days in a row.
HOLIDAYS = (date(2024, 1, 29), date(2024, 2, 10))
RETURNS_ONLY = date(2024, 2, 21)  # nothing sold, two returns: a negative day
# Mon 100.00, Tue 120.00 (+20.00 %: Moderate), Wed 144.005 (+20.0042 % -> 20.00 %: Moderate, from the exact
# revenue; the day shows as 144.01, from which the change would read +20.0083 % -> 20.01 %: Strong), Thu the
# same (No Change), Fri 172.815 (+20.0062 % -> 20.01 %: Strong; against the 144.01 shown: 20.00 %, Moderate).
THRESHOLD_DAYS = {date(2024, 3, 4): [("Mug", 8, "12.50")], date(2024, 3, 5): [("Mug", 8, "15.00")],
                  date(2024, 3, 6): [("Tea Sampler", 1, "144.005")],
                  date(2024, 3, 7): [("Tea Sampler", 1, "144.005")],
                  date(2024, 3, 8): [("Tea Sampler", 1, "172.815")]}
REGULAR = {"Beans 1kg": "18.90", "Filter Papers": "3.495", "Mug": "7.25", "Tea Sampler": "12.345"}
OCCASIONAL = ("Gift Box", "49.99")
BAD_ROWS = {"bad_date": "2024-02-30,Mug,1,7.25", "bad_quantity": "2024-01-17,Mug,two,7.25"}
LABELS = ("Strong Growth", "Moderate Growth", "No Change", "Decline", "No Baseline", "Closed")
SEASON = 7
BACKTEST_DAYS = 14
MIN_TRAINING_DAYS = 7  # a backtest origin needs a full week of history before it
MIN_INTERVAL_ERRORS = 5


# ------------------------------------------------------------------------------------------------
# The generated CSV


def sales_rows() -> list[tuple[date, str, int, str]]:
    """(day, product, quantity, unit price) of every good row, deterministic."""
    rng = random.Random(20240101)
    rows: list[tuple[date, str, int, str]] = []
    for index in range((LAST_DAY - FIRST_DAY).days + 1):
        day = FIRST_DAY + timedelta(index)
        if day.weekday() == 6 or day in HOLIDAYS:
            continue
        if day in THRESHOLD_DAYS:
            rows += [(day, *row) for row in THRESHOLD_DAYS[day]]
        elif day == RETURNS_ONLY:
            rows += [(day, "Mug", -2, REGULAR["Mug"]), (day, "Beans 1kg", -1, REGULAR["Beans 1kg"])]
        else:
            rows += regular_day(rng, day, index)
    return rows


def regular_day(rng: random.Random, day: date, index: int) -> list[tuple[date, str, int, str]]:
    """Sales growing with the weeks, a return every fifth day, the occasional product every ninth."""
    rows = []
    for product, price in REGULAR.items():
        for _ in range(rng.randint(1, 3)):
            rows.append((day, product, 1 + index // 10 + rng.randrange(3), price))
    if index % 5 == 2:
        rows.append((day, "Filter Papers", -rng.randint(1, 3), REGULAR["Filter Papers"]))
    if index % 9 == 4:
        rows.append((day, OCCASIONAL[0], rng.randint(1, 2), OCCASIONAL[1]))
    return rows


def write_csv(path: Path) -> Path:
    lines = [f"{day.isoformat()},{product},{quantity},{price}" for day, product, quantity, price in sales_rows()]
    lines.insert(40, BAD_ROWS["bad_date"])
    lines.insert(200, BAD_ROWS["bad_quantity"])
    path.write_text("sale_date,product_name,quantity,price\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------------
# The independent computation


@dataclass(frozen=True)
class Row:
    day: date
    product: str
    quantity: int
    revenue: Decimal


def read_csv(path: Path) -> tuple[list[Row], Counter[str]]:
    """The rows as they are loaded (revenue = quantity x price exactly, never rounded), and the rejects."""
    rows, rejected = [], Counter[str]()
    with path.open(newline="", encoding="utf-8") as stream:
        for record in csv.DictReader(stream):
            try:
                day = date.fromisoformat(record["sale_date"])
            except ValueError:
                rejected["bad_date"] += 1
                continue
            if not record["quantity"].lstrip("-").isdigit():
                rejected["bad_quantity"] += 1
                continue
            quantity = int(record["quantity"])
            revenue = quantity * Decimal(record["price"])
            rows.append(Row(day, record["product_name"], quantity, revenue))
    return rows, rejected


def rounded(value: Fraction | Decimal | int, places: int = 2) -> Decimal:
    """Round half away from zero with integer arithmetic (no Decimal context involved)."""
    scaled = Fraction(value) * 10**places
    magnitude = int(abs(scaled) + Fraction(1, 2))
    return Decimal(magnitude if scaled >= 0 else -magnitude).scaleb(-places)


def report_period(rows: list[Row], start: date | None, end: date | None, last_days: int | None
                  ) -> tuple[date, date] | None:
    """The requested days clipped to the days with data; None when nothing is left."""
    first, last = min(row.day for row in rows), max(row.day for row in rows)
    end = min(end or last, last)
    start = max(start or first, first)
    if last_days is not None:
        start = max(start, end - timedelta(last_days - 1))
    return (start, end) if start <= end else None


def daily_revenue(rows: list[Row]) -> dict[date, Decimal]:
    totals: dict[date, Decimal] = {}
    for row in rows:
        totals[row.day] = totals.get(row.day, Decimal(0)) + row.revenue
    return totals


def trend(today: Decimal, yesterday: Decimal | None, threshold: Decimal) -> dict[str, Any]:
    """PRODUCT.md: change = (t - y) / y * 100 to 2 decimals; No Baseline when y <= 0 unless both are 0."""
    if yesterday is not None and yesterday == 0 and today == 0:
        return {"change_pct": Decimal(0), "trend": "No Change"}
    if yesterday is None or yesterday <= 0:
        return {"change_pct": None, "trend": "No Baseline"}
    change = rounded(Fraction(today - yesterday) / Fraction(yesterday) * 100)
    if change > threshold:
        label = "Strong Growth"
    elif change > 0:
        label = "Moderate Growth"
    else:
        label = "No Change" if change == 0 else "Decline"
    return {"change_pct": change, "trend": label}


def product_table(rows: list[Row]) -> list[dict[str, Any]]:
    """Highest revenue first, ties by name (code points) sharing a rank; share null when total <= 0.

    Order, ranks and shares come from the exact revenues; the report shows each revenue rounded to the cent.
    """
    quantity: Counter[str] = Counter()
    revenue: dict[str, Decimal] = {}
    for row in rows:
        quantity[row.product] += row.quantity
        revenue[row.product] = revenue.get(row.product, Decimal(0)) + row.revenue
    total = sum(revenue.values(), Decimal(0))
    names = sorted(revenue, key=lambda name: (-revenue[name], name))
    return [{"product": name, "quantity": quantity[name], "revenue": rounded(revenue[name]),
             "revenue_share_pct": rounded(Fraction(revenue[name]) * 100 / Fraction(total)) if total > 0 else None,
             "rank": 1 + sum(other > revenue[name] for other in revenue.values())} for name in names]


# --- the forecast models simple enough to recompute, on the daily revenues up to the period's end ---

def seed_moving_average(revenues: Sequence[Decimal], window: int) -> Decimal:
    """Last day + weighted mean (weights 1..k, newest heaviest) of the last k <= window changes; >= 0."""
    if not revenues:
        return Decimal(0)
    changes = [after - before for before, after in pairwise(revenues)][-window:]
    weights = range(1, len(changes) + 1)
    step = Fraction(sum(w * c for w, c in zip(weights, changes, strict=True))) / sum(weights) if changes else 0
    return rounded(max(Fraction(0), Fraction(revenues[-1]) + step))


def naive(revenues: Sequence[Decimal]) -> Decimal:
    return rounded(max(revenues[-1], Decimal(0))) if revenues else Decimal(0)


def same_weekday(revenues: Sequence[Decimal], days: Sequence[date], target: date, count: int) -> list[Decimal]:
    """The last ``count`` trading days' revenues on ``target``'s weekday."""
    return [revenue for revenue, day in zip(revenues, days, strict=True) if day.weekday() == target.weekday()][-count:]


def seasonal_naive(revenues: Sequence[Decimal], days: Sequence[date], target: date) -> Decimal:
    same = same_weekday(revenues, days, target, 1)
    return rounded(max(same[-1], Decimal(0))) if same else naive(revenues)


def weekday_mean(revenues: Sequence[Decimal], days: Sequence[date], target: date) -> Decimal:
    same = same_weekday(revenues, days, target, 4)
    return rounded(max(Fraction(sum(same)) / len(same), Fraction(0))) if same else naive(revenues)


def closed_days(rows: list[Row]) -> set[date]:
    """PRODUCT.md's closed days with no CLOSED_* setting: days without sales on a weekday without sales three or
    more weeks in a row, or in a run of 3 or more consecutive days without sales."""
    sold = {row.day for row in rows}
    first, last = min(sold), max(sold)
    calendar = [first + timedelta(n) for n in range((last - first).days + 1)]
    empty = [day for day in calendar if day not in sold]
    closed = set()
    for day in empty:
        weeks = [(day + timedelta(7 * offset), day + timedelta(7 * (offset + 1)), day + timedelta(7 * (offset + 2)))
                 for offset in (-2, -1, 0)]
        if any(all(first <= d <= last and d not in sold for d in run) for run in weeks):
            closed.add(day)
        neighbours = [(day + timedelta(offset), day + timedelta(offset + 1), day + timedelta(offset + 2))
                      for offset in (-2, -1, 0)]
        if any(all(first <= d <= last and d not in sold for d in run) for run in neighbours):
            closed.add(day)
    return closed


def expected_figures(rows: list[Row], period: tuple[date, date] | None, threshold: Decimal,
                     window: int) -> dict[str, Any]:
    """period, executive_summary (but the forecast), product_performance and trend_analysis.

    Every sum, best or worst day and change is worked out on the exact revenues; money is rounded to the cent
    only where the report shows it. "history" stays exact: the trading days' revenues the models are given.
    """
    if period is None:
        return empty_figures(threshold)
    start, end = period
    inside = [row for row in rows if start <= row.day <= end]
    totals = daily_revenue(rows)
    closed = closed_days(rows)
    first_data_day = min(row.day for row in rows)
    history = [first_data_day + timedelta(n) for n in range((end - first_data_day).days + 1)]
    trend_by_day, previous = {}, None
    for day in history:
        today = totals.get(day, Decimal(0))
        if day in closed:
            trend_by_day[day] = {"change_pct": None, "trend": "Closed"}
            continue
        trend_by_day[day] = trend(today, previous, threshold)
        previous = today
    days = [day for day in history if day >= start]
    trading = [day for day in days if day not in closed]
    trend_days = [{"date": day.isoformat(), "revenue": rounded(totals.get(day, Decimal(0))), **trend_by_day[day]}
                  for day in days]
    products = product_table(inside)
    revenue = {day: totals.get(day, Decimal(0)) for day in days}
    total = sum(revenue.values(), Decimal(0))
    best = max(trading, key=lambda d: (revenue[d], -d.toordinal()))  # ties: the earliest day
    worst = min(trading, key=lambda d: (revenue[d], d))
    latest = next(t for t in reversed(trend_days) if t["trend"] != "Closed")
    next_day = end + timedelta(1)
    while next_day.weekday() == 6:  # Sundays are closed ahead too
        next_day += timedelta(1)
    return {
        "period": {"start": start.isoformat(), "end": end.isoformat(), "days": len(days)},
        "summary": {
            "total_revenue": rounded(total), "total_quantity": sum(row.quantity for row in inside),
            "transactions": len(inside), "products": len(products),
            "average_daily_revenue": rounded(Fraction(total) / len(trading)),
            "best_day": {"date": best.isoformat(), "revenue": rounded(revenue[best])},
            "worst_day": {"date": worst.isoformat(), "revenue": rounded(revenue[worst])},
            "top_product": {key: products[0][key] for key in ("product", "revenue")},
            # the bottom row of product_performance: lowest revenue, and of tied names the last
            "lowest_product": {key: products[-1][key] for key in ("product", "revenue")},
            "latest_change": {key: latest[key] for key in ("date", "change_pct", "trend")},
            "trading_days": len(trading), "closed_days": len(days) - len(trading),
        },
        "products": products,
        "trend_analysis": {"thresholds": {"strong_growth_pct": threshold}, "days": trend_days,
                           "counts": {label: sum(d["trend"] == label for d in trend_days) for label in LABELS}},
        # the forecast learns from every trading day since the first sale, up to the period's end
        "history": [totals.get(day, Decimal(0)) for day in history if day not in closed],
        "history_days": [day for day in history if day not in closed],
        "next_day": next_day.isoformat(),
        "window": window,
    }


def empty_figures(threshold: Decimal) -> dict[str, Any]:
    return {
        "period": {"start": None, "end": None, "days": 0},
        "summary": {"total_revenue": 0, "total_quantity": 0, "transactions": 0, "products": 0,
                    "average_daily_revenue": None, "best_day": None, "worst_day": None, "top_product": None,
                    "lowest_product": None, "latest_change": None},
        "products": [],
        "trend_analysis": {"thresholds": {"strong_growth_pct": threshold}, "days": [],
                           "counts": dict.fromkeys(LABELS, 0)},
        "history": [],
        "history_days": [],
        "next_day": None,
    }


# ------------------------------------------------------------------------------------------------
# Reading and checking the report


def decimals(value: Any) -> Any:
    """JSON numbers as Decimal (through their shortest text, as a reader sees them)."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {key: decimals(item) for key, item in value.items()}
    if isinstance(value, list):
        return [decimals(item) for item in value]
    return value


def load_report(path: Path) -> dict[str, Any]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator(json.loads(SCHEMA.read_text(encoding="utf-8")),
                         format_checker=Draft202012Validator.FORMAT_CHECKER).validate(raw)
    generated_at = datetime.fromisoformat(raw["generated_at"].replace("Z", "+00:00"))
    assert generated_at.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - generated_at) < timedelta(hours=1)
    return decimals(raw)


def assert_money_in_cents(report: dict[str, Any]) -> None:
    """Money is rounded to 2 decimals in the JSON itself."""
    summary = report["executive_summary"]
    amounts = [summary["total_revenue"], summary["average_daily_revenue"], summary["predicted_next_day_revenue"],
               *(p["revenue"] for p in report["product_performance"]),
               *(d["revenue"] for d in report["trend_analysis"]["days"]),
               *(d["change_pct"] for d in report["trend_analysis"]["days"]),
               report["prediction"]["value"], report["prediction"]["moving_average"]]
    for amount in amounts:
        assert amount is None or amount == amount.quantize(CENT)


def contract_keys(actual: Any, expected: Any) -> Any:
    """``actual`` cut down to the keys of ``expected``: the schema lets later versions add keys, never rename."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        return {key: contract_keys(actual.get(key), value) for key, value in expected.items()}
    if isinstance(expected, list) and isinstance(actual, list) and len(actual) == len(expected):
        return [contract_keys(item, value) for item, value in zip(actual, expected, strict=True)]
    return actual


def assert_analysis_figures(report: dict[str, Any], expected: dict[str, Any]) -> None:
    summary = report["executive_summary"]
    assert contract_keys(report["period"], expected["period"]) == expected["period"]
    assert contract_keys(summary, expected["summary"]) == expected["summary"]
    assert summary["predicted_next_day_revenue"] == report["prediction"]["value"]
    assert contract_keys(report["product_performance"], expected["products"]) == expected["products"]
    assert contract_keys(report["trend_analysis"], expected["trend_analysis"]) == expected["trend_analysis"]
    assert_money_in_cents(report)


def assert_forecast_figures(report: dict[str, Any], expected: dict[str, Any], window: int) -> None:
    """The seed's figure and the simple models' next-trading-day values, recomputed; the headline is one of the
    models, its week-ahead figure, and the week ahead has the closed Sunday at 0 with [0, 0]."""
    prediction = report["prediction"]
    revenues, days = expected["history"], expected["history_days"]
    assert (prediction["date"], prediction["window"]) == (expected["next_day"], window)
    assert prediction["moving_average"] == seed_moving_average(revenues, window)
    if not revenues:
        return
    target = date.fromisoformat(expected["next_day"])
    values = {model["name"]: model["value"] for model in prediction["models"]}
    assert values["moving_average"] == seed_moving_average(revenues, window)
    assert values["naive"] == naive(revenues)
    assert values["seasonal_naive"] == seasonal_naive(revenues, days, target)
    assert values["weekday_mean"] == weekday_mean(revenues, days, target)
    assert prediction["value"] == values[prediction["method"]]
    week = {day["date"]: day for day in prediction["week"]}
    assert week[expected["next_day"]]["value"] == prediction["value"]
    for day in week.values():
        if date.fromisoformat(day["date"]).weekday() == 6:
            assert (day["value"], day["lower"], day["upper"], day["closed"]) == (0, 0, 0, True)
    points = min(56, len(revenues) - 7 - 3) if len(revenues) > 10 else 0
    assert prediction["backtest"]["points"] == max(points, 0)


def assert_data_quality(report: dict[str, Any], rows: list[Row], rejected: Counter[str]) -> None:
    quality = report["data_quality"]
    read = len(rows) + sum(rejected.values())
    assert (quality["rows_read"], quality["rows_loaded"], quality["rows_rejected"]) == (
        read, len(rows), sum(rejected.values()))
    assert quality["rejections_by_reason"] == dict(rejected)


def assert_run_succeeded(result: Any) -> None:
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


# ------------------------------------------------------------------------------------------------
# The tests


@pytest.fixture
def shop_csv(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "shop.csv")


def test_the_generated_data_has_what_the_checks_need(shop_csv):
    rows, rejected = read_csv(shop_csv)
    totals = daily_revenue(rows)
    expected = expected_figures(rows, report_period(rows, None, None, None), Decimal(20), 5)

    assert rejected == Counter({"bad_date": 1, "bad_quantity": 1})
    assert totals[RETURNS_ONLY] < 0 and any(row.quantity < 0 and row.day != RETURNS_ONLY for row in rows)
    assert {OCCASIONAL[0]} < {row.product for row in rows}
    assert len({row.day for row in rows if row.product == OCCASIONAL[0]}) < len(totals) / 5
    counts = expected["trend_analysis"]["counts"]
    # Trading calendar: the Sundays are closed, so the holidays are no longer "0 after 0" (No Change) but trading
    # days without sales, -100 % against the Saturday before; No Change is left on one day only.
    assert all(counts[label] >= 1 for label in LABELS) and counts["Closed"] == 9
    by_day = {d["date"]: d for d in expected["trend_analysis"]["days"]}
    assert [(by_day[day]["change_pct"], by_day[day]["trend"]) for day in ("2024-01-28", "2024-01-29")] == [
        (None, "Closed"), (Decimal("-100.00"), "Decline")]
    assert [(by_day[day]["revenue"], by_day[day]["change_pct"], by_day[day]["trend"])
            for day in ("2024-03-05", "2024-03-06", "2024-03-07", "2024-03-08")] == [
        (Decimal("120.00"), Decimal("20.00"), "Moderate Growth"),
        (Decimal("144.01"), Decimal("20.00"), "Moderate Growth"),  # exact 144.005; from 144.01 it would be 20.01
        (Decimal("144.01"), Decimal("0.00"), "No Change"),
        (Decimal("172.82"), Decimal("20.01"), "Strong Growth"),  # exact 172.815 against exact 144.005
    ]
    assert trend(Decimal("144.01"), Decimal("120.00"), Decimal(20))["trend"] == "Strong Growth"
    assert trend(Decimal("172.815"), Decimal("144.01"), Decimal(20))["trend"] == "Moderate Growth"
    assert any(row.revenue != rounded(row.revenue) for row in rows)  # rows that rounding per row would change
    assert sum(row.revenue for row in rows[-30:]) > sum(row.revenue for row in rows[:30])  # a trend


def test_every_figure_of_the_report_matches_the_csv(run_main, shop_csv, tmp_path):
    output = tmp_path / "out"

    assert_run_succeeded(run_main("--csv", str(shop_csv), "--output-dir", str(output)))

    report = load_report(output / "report.json")
    rows, rejected = read_csv(shop_csv)
    expected = expected_figures(rows, report_period(rows, None, None, None), Decimal(20), 5)
    assert_analysis_figures(report, expected)
    assert_forecast_figures(report, expected, window=5)
    assert_data_quality(report, rows, rejected)
    assert_moving_average(report, daily_revenue(rows), window=5)
    [outcome] = report["data_quality"]["files"]
    assert outcome["path"] == str(shop_csv.resolve())
    assert outcome["sha256"] == hashlib.sha256(shop_csv.read_bytes()).hexdigest()
    assert (outcome["status"], outcome["rows_read"], outcome["rows_loaded"], outcome["rows_rejected"]) == (
        "loaded", len(rows) + 2, len(rows), 2)
    assert outcome["rejections_by_reason"] == dict(rejected)
    with Path(outcome["rejects_csv"]).open(newline="", encoding="utf-8") as stream:
        assert sorted(record["raw_text"] for record in csv.DictReader(stream)) == sorted(BAD_ROWS.values())


def assert_moving_average(report: dict[str, Any], totals: dict[date, Decimal], window: int) -> None:
    """Each trading day's moving_average is the exact mean of the period's last ``window`` trading days up to it
    (``totals``: the CSV's exact daily revenue), rounded once; closed days and the days before the first full
    window have none. revenue.png and the dashboard draw this line."""
    assert report["trend_analysis"]["moving_average_window"] == window
    recent: list[Decimal] = []
    for day in report["trend_analysis"]["days"]:
        if day["trend"] == "Closed":
            assert day["moving_average"] is None, day
            continue
        recent = [*recent, totals.get(date.fromisoformat(day["date"]), Decimal(0))][-window:]
        expected = rounded(Fraction(sum(recent, Decimal(0))) / window) if len(recent) == window else None
        assert day["moving_average"] == expected, day


@pytest.mark.parametrize(("flags", "env", "filters"), [
    (["--days", "20"], {}, (None, None, 20)),
    (["--days", "1000"], {}, (None, None, 1000)),
    (["--from", "2024-01-15", "--to", "2024-02-11"], {"STRONG_GROWTH_PCT": "35"}, (date(2024, 1, 15),
                                                                                  date(2024, 2, 11), None)),
    (["--from", "2023-12-01", "--to", "2024-01-09"], {"MA_WINDOW": "3"}, (date(2023, 12, 1), date(2024, 1, 9), None)),
    (["--to", "2024-02-22", "--days", "10"], {"STRONG_GROWTH_PCT": "7.5"}, (None, date(2024, 2, 22), 10)),
    (["--from", "2024-03-06", "--to", "2024-03-06"], {}, (date(2024, 3, 6), date(2024, 3, 6), None)),
    (["--from", "2024-04-01"], {}, (date(2024, 4, 1), None, None)),
], ids=["last-20-days", "days-beyond-history", "from-to-threshold-35", "from-before-data-window-3",
        "days-ending-at-to", "one-day", "from-after-the-data"])
def test_a_period_filter_restricts_every_figure(run_main, shop_csv, tmp_path, flags, env, filters):
    assert_run_succeeded(run_main("--csv", str(shop_csv), "--output-dir", str(tmp_path / "all")))
    output = tmp_path / "filtered"

    assert_run_succeeded(run_main("--skip-ingest", "--output-dir", str(output), *flags, env=env))

    report = load_report(output / "report.json")
    rows, rejected = read_csv(shop_csv)
    threshold, window = Decimal(env.get("STRONG_GROWTH_PCT", "20")), int(env.get("MA_WINDOW", "5"))
    expected = expected_figures(rows, report_period(rows, *filters), threshold, window)
    assert_analysis_figures(report, expected)
    assert_forecast_figures(report, expected, window)
    assert_data_quality(report, rows, rejected)
    assert report["data_quality"]["files"] == []


def test_the_bundled_sample_has_closed_mondays_and_compares_trading_days(run_main, tmp_path):
    """Issue 10's acceptance on data/sample_sales.csv (closed on Mondays): no closed Monday reads "Decline -100 %",
    and the headline change compares the last trading day with the trading day before it."""
    sample = Path(__file__).resolve().parents[1] / "data" / "sample_sales.csv"
    output = tmp_path / "out"

    assert_run_succeeded(run_main("--csv", str(sample), "--output-dir", str(output)))

    report = load_report(output / "report.json")
    totals = daily_revenue(read_csv(sample)[0])
    first, last = min(totals), max(totals)
    mondays = [first + timedelta(n) for n in range((last - first).days + 1) if (first + timedelta(n)).weekday() == 0]
    assert mondays and not any(day in totals for day in mondays)  # the sample never sells on a Monday
    by_day = {day["date"]: day for day in report["trend_analysis"]["days"]}
    for monday in mondays:
        assert (by_day[monday.isoformat()]["trend"], by_day[monday.isoformat()]["change_pct"]) == ("Closed", None)
    assert not any(day["change_pct"] == Decimal("-100") for day in by_day.values())
    trading = sorted(totals)
    latest = report["executive_summary"]["latest_change"]
    assert latest["date"] == trading[-1].isoformat()
    assert latest["change_pct"] == rounded(Fraction(totals[trading[-1]] - totals[trading[-2]])
                                           / Fraction(totals[trading[-2]]) * 100)
    assert report["calendar"]["closed_weekdays_detected"] == ["Monday"]
    assert report["executive_summary"]["closed_days"] == len(mondays)
    assert date.fromisoformat(report["prediction"]["date"]).weekday() != 0
