"""analysis.analyze on real PostgreSQL, after ingesting small files: every expected figure is worked out by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import psycopg2.extensions
import pytest

import analysis
import ingestion
from analysis import PeriodFilter, analyze
from autosight.run_results import AnalysisResult, DataQuality, Period
from autosight.trading_calendar import CalendarRules
from forecasting import forecast_from_analysis
from reporting import build_report

HEADER = "sale_date,product_name,quantity,price\n"
THRESHOLD = Decimal("20")
MARCH = date(2024, 3, 1)


def ingest(connection: psycopg2.extensions.connection, path: Path, *rows: str) -> None:
    """Write ``rows`` (CSV lines) as a canonical file at ``path`` and load it."""
    path.write_text(HEADER + "".join(f"{row}\n" for row in rows), encoding="utf-8")
    outcome = ingestion.ingest_file(connection, path, ingestion.LoadOptions())
    assert outcome.status in ("loaded", "replaced")
    assert outcome.rows_rejected == 0


def run(connection: psycopg2.extensions.connection, period: PeriodFilter | None = None,
        threshold: Decimal = THRESHOLD) -> AnalysisResult:
    return analyze(connection, period or PeriodFilter(), threshold)


def daily(result: AnalysisResult) -> list[tuple[str, str, int, int]]:
    """(date, revenue, quantity, transactions) per day, as text so that 5 and 5.00 compare as they print."""
    return [(d.day.isoformat(), str(d.revenue), d.quantity, d.transactions) for d in result.daily]


def products(result: AnalysisResult) -> list[tuple[str, int, str, str | None, int]]:
    return [(p.product, p.quantity, str(p.revenue), None if p.revenue_share_pct is None else str(p.revenue_share_pct),
             p.rank) for p in result.products]


def trends(result: AnalysisResult) -> list[tuple[str, str | None, str]]:
    return [(t.day.isoformat(), None if t.change_pct is None else str(t.change_pct), t.trend) for t in result.trends]


@pytest.fixture
def five_days(connection: psycopg2.extensions.connection, tmp_path: Path) -> psycopg2.extensions.connection:
    """2024-03-01..05 with revenue 100, 0 (closed), 50, 60, 90 (the 4th has a return)."""
    ingest(connection, tmp_path / "five.csv",
           "2024-03-01,Tea,4,25.00",
           "2024-03-03,Tea,2,25.00",
           "2024-03-04,Tea,3,25.00",
           "2024-03-04,Tea,-1,15.00",
           "2024-03-05,Mug,9,10.00")
    return connection


def test_days_without_sales_are_zero_days_of_the_calendar(five_days):
    result = run(five_days)

    assert result.period == Period(MARCH, date(2024, 3, 5))
    assert daily(result) == [
        ("2024-03-01", "100.00", 4, 1),
        ("2024-03-02", "0.00", 0, 0),
        ("2024-03-03", "50.00", 2, 1),
        ("2024-03-04", "60.00", 2, 2),
        ("2024-03-05", "90.00", 9, 1),
    ]
    assert (str(result.total_revenue), result.total_quantity, result.transactions) == ("300.00", 17, 5)
    assert trends(result) == [
        ("2024-03-01", None, "No Baseline"),
        ("2024-03-02", "-100.00", "Decline"),
        ("2024-03-03", None, "No Baseline"),
        ("2024-03-04", "20.00", "Moderate Growth"),
        ("2024-03-05", "50.00", "Strong Growth"),
    ]


def test_strong_growth_threshold_is_a_parameter(five_days):
    result = run(five_days, threshold=Decimal("50"))

    assert [t.trend for t in result.trends][-2:] == ["Moderate Growth", "Moderate Growth"]
    assert result.strong_growth_pct == Decimal("50")


def test_products_ranked_by_revenue_ties_share_a_rank_and_list_by_name(connection, tmp_path):
    ingest(connection, tmp_path / "p.csv",
           "2024-03-01,Tea,3,10.00",
           "2024-03-01,Coffee,1,50.00",
           "2024-03-02,Mug,2,15.00",
           "2024-03-02,Spoon,1,5.00",
           "2024-03-02,Spoon,-2,5.00")

    # Total 105.00: Coffee 50/105 = 47.619..%, Mug and Tea 30/105 = 28.571..%, Spoon -5/105 = -4.761..%.
    assert products(run(connection)) == [
        ("Coffee", 1, "50.00", "47.62", 1),
        ("Mug", 2, "30.00", "28.57", 2),
        ("Tea", 3, "30.00", "28.57", 2),
        ("Spoon", -1, "-5.00", "-4.76", 4),
    ]


def test_names_tied_on_revenue_are_listed_by_code_point_whatever_the_server_locale(connection, tmp_path):
    ingest(connection, tmp_path / "p.csv", "2024-03-01,apple,1,10.00", "2024-03-01,Banana,1,10.00",
           "2024-03-01,Éclair,1,10.00", "2024-03-01,Zest,1,10.00")

    assert [p.product for p in run(connection).products] == ["Banana", "Zest", "apple", "Éclair"]


@pytest.mark.parametrize(("rows", "total"), [
    (("2024-03-01,Tea,2,10.00", "2024-03-02,Tea,-2,10.00"), "0.00"),
    (("2024-03-01,Tea,1,10.00", "2024-03-02,Mug,-3,10.00"), "-20.00"),
])
def test_share_is_null_when_the_period_total_is_not_positive(connection, tmp_path, rows, total):
    ingest(connection, tmp_path / "p.csv", *rows)

    result = run(connection)

    assert str(result.total_revenue) == total
    assert [p.revenue_share_pct for p in result.products] == [None] * len(result.products)


def test_revenue_is_exact_per_row_and_summed_exactly(connection, tmp_path):
    # 3 x 0.335 = 1.005 exactly, never rounded per row (that would make 1.01 a row and 1010.00 in all);
    # 1000 rows are 1005.000, where float sums drift. Only the report rounds, once, to the cent.
    ingest(connection, tmp_path / "cents.csv", *["2024-03-01,Gum,3,0.335"] * 1000)

    result = run(connection)

    assert daily(result) == [("2024-03-01", "1005.000", 3000, 1000)]
    assert products(result) == [("Gum", 3000, "1005.000", "100.00", 1)]
    assert str(result.total_revenue) == "1005.000"


def test_the_change_is_computed_from_the_exact_daily_revenues(connection, tmp_path):
    # 120.00, 144.005, 172.815. Day 2: +24.005 / 120.00 = +20.0041..% -> 20.00, not above the 20 % threshold
    # (from the day rounded to 144.01 it would read +20.0083..% -> 20.01, Strong). Day 3: +28.81 / 144.005
    # = +20.0062..% -> 20.01, Strong (from a baseline rounded to 144.01: +20.0020..% -> 20.00, Moderate).
    ingest(connection, tmp_path / "exact.csv", "2024-03-01,Tea,8,15.00", "2024-03-02,Tea Sampler,1,144.005",
           "2024-03-03,Tea Sampler,1,172.815")

    result = run(connection)

    assert daily(result) == [("2024-03-01", "120.00", 8, 1), ("2024-03-02", "144.005", 1, 1),
                             ("2024-03-03", "172.815", 1, 1)]
    assert trends(result) == [("2024-03-01", None, "No Baseline"), ("2024-03-02", "20.00", "Moderate Growth"),
                              ("2024-03-03", "20.01", "Strong Growth")]
    assert trends(run(connection, PeriodFilter(start=date(2024, 3, 3)))) == [("2024-03-03", "20.01", "Strong Growth")]


def test_rows_of_several_files_on_the_same_day_and_product_are_added(connection, tmp_path):
    ingest(connection, tmp_path / "shop.csv", "2024-03-01,Tea,1,10.00")
    ingest(connection, tmp_path / "marketplace.csv", "2024-03-01,Tea,2,12.50", "2024-03-02,Tea,1,10.00")

    result = run(connection)

    assert daily(result) == [("2024-03-01", "35.00", 3, 2), ("2024-03-02", "10.00", 1, 1)]
    assert products(result) == [("Tea", 4, "45.00", "100.00", 1)]


def test_replacing_a_file_at_the_same_path_replaces_its_figures(connection, tmp_path):
    path = tmp_path / "today.csv"
    ingest(connection, path, "2024-03-01,Tea,1,10.00", "2024-03-02,Mug,5,8.00")
    ingest(connection, tmp_path / "other.csv", "2024-03-02,Tea,1,10.00")
    ingest(connection, path, "2024-03-02,Tea,2,10.00", "2024-03-03,Spoon,1,2.50")

    result = run(connection)

    assert result.period == Period(date(2024, 3, 2), date(2024, 3, 3))
    assert daily(result) == [("2024-03-02", "30.00", 3, 2), ("2024-03-03", "2.50", 1, 1)]
    assert products(result) == [("Tea", 3, "30.00", "92.31", 1), ("Spoon", 1, "2.50", "7.69", 2)]
    assert_rollup_matches_raw_rows(connection)


def assert_rollup_matches_raw_rows(connection: psycopg2.extensions.connection) -> None:
    """The rollup the analysis reads holds exactly the sums of the rows in sales_data."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT sale_date, product_name, sum(quantity), sum(revenue), count(*)"
                       " FROM sales_with_revenue GROUP BY 1, 2 ORDER BY 1, 2")
        raw = cursor.fetchall()
        cursor.execute("SELECT sale_date, product_name, sum(quantity), sum(revenue), sum(transactions)"
                       " FROM sales_daily_product GROUP BY 1, 2 ORDER BY 1, 2")
        assert cursor.fetchall() == raw


def test_same_content_under_another_name_is_not_counted_twice(connection, tmp_path):
    ingest(connection, tmp_path / "a.csv", "2024-03-01,Tea,1,10.00")
    copy = tmp_path / "b.csv"
    copy.write_bytes((tmp_path / "a.csv").read_bytes())
    assert ingestion.ingest_file(connection, copy, ingestion.LoadOptions()).status == "unchanged"

    assert str(run(connection).total_revenue) == "10.00"


def assert_empty(result: AnalysisResult) -> None:
    assert result.period == Period(None, None)
    assert (result.daily, result.products, result.trends) == ([], [], [])
    assert (result.total_revenue, result.total_quantity, result.transactions) == (0, 0, 0)


def test_a_file_loaded_during_the_analysis_is_in_none_of_its_figures(five_days, database_url, tmp_path,
                                                                    monkeypatch):
    real_products = analysis._products

    def products_after_a_concurrent_load(cursor, period):
        other = psycopg2.connect(database_url)
        try:
            ingest(other, tmp_path / "late.csv", "2024-03-05,Tea,1,1000.00")
        finally:
            other.close()
        return real_products(cursor, period)

    monkeypatch.setattr(analysis, "_products", products_after_a_concurrent_load)
    result = run(five_days)

    assert str(result.total_revenue) == "300.00"
    assert sum(p.revenue for p in result.products) == result.total_revenue


def test_a_transaction_left_open_by_the_caller_is_used_as_it_is(five_days):
    with five_days.cursor() as cursor:
        cursor.execute("SELECT 1")

    assert str(run(five_days).total_revenue) == "300.00"


def test_an_empty_database_gives_the_empty_result(connection):
    assert_empty(run(connection))
    assert_empty(run(connection, PeriodFilter(last_days=7)))


@pytest.mark.parametrize("period", [
    PeriodFilter(start=date(2024, 3, 6)),
    PeriodFilter(end=date(2024, 2, 29)),
    PeriodFilter(start=date(2024, 3, 4), end=date(2024, 3, 3)),
    PeriodFilter(start=date(2024, 4, 1), last_days=3),
], ids=["from-after-last-day", "to-before-first-day", "from-after-to", "days-after-from-beyond-data"])
def test_a_period_outside_the_data_gives_the_empty_result(five_days, period):
    assert_empty(run(five_days, period))


@pytest.mark.parametrize(("period", "start", "end"), [
    (PeriodFilter(last_days=1000), "2024-03-01", "2024-03-05"),
    (PeriodFilter(last_days=2), "2024-03-04", "2024-03-05"),
    (PeriodFilter(start=date(2024, 2, 1), end=date(2024, 12, 31)), "2024-03-01", "2024-03-05"),
    (PeriodFilter(start=date(2024, 3, 2), end=date(2024, 3, 3)), "2024-03-02", "2024-03-03"),
    (PeriodFilter(start=date(2024, 3, 5)), "2024-03-05", "2024-03-05"),
    (PeriodFilter(end=date(2024, 3, 4), last_days=2), "2024-03-03", "2024-03-04"),
    (PeriodFilter(start=date(2024, 3, 4), last_days=5), "2024-03-04", "2024-03-05"),
], ids=["days-beyond-history", "last-2-days", "range-wider-than-data", "inner-range", "from-only",
        "days-ending-at-to", "days-and-from"])
def test_period_filter_is_clipped_to_the_data(five_days, period, start, end):
    result = run(five_days, period)

    assert (result.period.start.isoformat(), result.period.end.isoformat()) == (start, end)
    assert [d.day for d in result.daily] == [result.period.start + timedelta(n) for n in range(result.period.days)]
    assert result.total_revenue == sum(d.revenue for d in result.daily)


def test_a_filtered_period_has_only_its_own_figures(five_days):
    result = run(five_days, PeriodFilter(start=date(2024, 3, 3), end=date(2024, 3, 4)))

    assert daily(result) == [("2024-03-03", "50.00", 2, 1), ("2024-03-04", "60.00", 2, 2)]
    assert products(result) == [("Tea", 4, "110.00", "100.00", 1)]
    assert (str(result.total_revenue), result.total_quantity, result.transactions) == ("110.00", 4, 3)


def test_first_day_of_a_filtered_period_is_compared_with_the_day_before_it(five_days):
    """Yesterday's revenue is known when the period starts after the first day of data: it is the baseline."""
    assert trends(run(five_days, PeriodFilter(last_days=1))) == [("2024-03-05", "50.00", "Strong Growth")]
    assert trends(run(five_days, PeriodFilter(start=date(2024, 3, 2), end=date(2024, 3, 2)))) == [
        ("2024-03-02", "-100.00", "Decline")]
    assert trends(run(five_days, PeriodFilter(start=date(2024, 3, 3)))) [0] == ("2024-03-03", None, "No Baseline")


def test_first_day_of_the_data_has_no_baseline_even_when_the_filter_starts_earlier(five_days):
    assert trends(run(five_days, PeriodFilter(start=date(2024, 2, 1), end=date(2024, 3, 1)))) == [
        ("2024-03-01", None, "No Baseline")]


def test_calendar_does_not_depend_on_the_session_time_zone(connection, tmp_path):
    # Sao Paulo skipped midnight when daylight saving time began on 2018-11-04.
    ingest(connection, tmp_path / "dst.csv", "2018-11-02,Tea,1,1.00", "2018-11-06,Tea,1,2.00")
    with connection, connection.cursor() as cursor:
        cursor.execute("SET TIME ZONE 'America/Sao_Paulo'")

    result = run(connection)

    assert [d.day.isoformat() for d in result.daily] == [f"2018-11-0{n}" for n in range(2, 7)]
    assert [str(d.revenue) for d in result.daily] == ["1.00", "0.00", "0.00", "0.00", "2.00"]


def test_a_short_period_keeps_the_whole_history_for_the_forecast(five_days):
    result = analyze(five_days, PeriodFilter(last_days=2), Decimal("20"))

    assert [day.day for day in result.daily] == [date(2024, 3, 4), date(2024, 3, 5)]
    assert [day.day for day in result.history] == [MARCH + timedelta(days=n) for n in range(5)]
    assert [str(day.revenue) for day in result.history] == ["100.00", "0.00", "50.00", "60.00", "90.00"]


# --- the trading calendar (issue 10, PRODUCT.md) --------------------------------------------------------------
# Each shop sells one row a day with a revenue given here; the expected figures are worked out from these
# dictionaries with Decimal in the test, never by the code under test.


def load_days(connection: psycopg2.extensions.connection, path: Path, revenue: dict[date, str]) -> None:
    ingest(connection, path, *(f"{day.isoformat()},Tea,1,{amount}" for day, amount in sorted(revenue.items())))


def run_with(connection: psycopg2.extensions.connection, rules: CalendarRules | None = None,
             period: PeriodFilter | None = None) -> AnalysisResult:
    return analyze(connection, period or PeriodFilter(), THRESHOLD, rules)


def closed(result: AnalysisResult) -> dict[str, str]:
    return {d.day.isoformat(): d.closed_reason for d in result.daily if d.closed_reason is not None}


def change(old: str, new: str) -> str:
    return str(((Decimal(new) - Decimal(old)) / Decimal(old) * 100).quantize(Decimal("0.01"), ROUND_HALF_UP))


# Mon 2024-03-04 .. Sat 2024-03-30, closed on the three Sundays in between: Mon-Sat sell 100, 110, ..., 150
# plus 1 per week.
CLOSED_SUNDAYS = {date(2024, 3, 4) + timedelta(n): f"{100 + 10 * (n % 7) + n // 7}.00"
                  for n in range(27) if (date(2024, 3, 4) + timedelta(n)).weekday() != 6}


def test_closed_sundays_are_detected_and_skipped(connection, tmp_path):
    load_days(connection, tmp_path / "sundays.csv", CLOSED_SUNDAYS)

    result = run_with(connection)

    assert closed(result) == {"2024-03-10": "detected_closed_weekday", "2024-03-17": "detected_closed_weekday",
                              "2024-03-24": "detected_closed_weekday"}
    by_day = {t.day.isoformat(): t for t in result.trends}
    assert (by_day["2024-03-10"].change_pct, by_day["2024-03-10"].trend) == (None, "Closed")
    # Monday 03-11 (101.00) compares with Saturday 03-09 (150.00), not with the closed Sunday
    assert str(by_day["2024-03-11"].change_pct) == change("150.00", "101.00") == "-32.67"
    assert by_day["2024-03-11"].trend == "Decline"
    # week over week: Monday 03-18 (102.00) against Monday 03-11 (101.00)
    assert str(by_day["2024-03-18"].week_over_week_pct) == change("101.00", "102.00")
    summary = result.summary
    total = sum(Decimal(v) for v in CLOSED_SUNDAYS.values())
    assert (summary.trading_days, summary.closed_days, summary.no_sales_trading_days) == (24, 3, 0)
    assert summary.average_per_trading_day == total / 24
    assert summary.worst_day is not None and (summary.worst_day.day, str(summary.worst_day.revenue)) == (
        date(2024, 3, 4), "100.00")
    assert summary.latest_change is not None and summary.latest_change.day == date(2024, 3, 30)
    assert result.calendar.closed_weekdays_now == {6}
    assert result.warnings == []
    [last_7, month, year] = result.periods
    # 03-24..03-30 (Sunday closed; Mon-Sat of week 4) against 03-17..03-23 (Sunday closed; week 3)
    assert (last_7.current.start, last_7.current.revenue, last_7.current.trading_days) == (
        date(2024, 3, 24), sum(Decimal(f"{100 + 10 * w + 3}.00") for w in range(6)), 6)
    assert last_7.previous is not None and last_7.previous.revenue == sum(Decimal(f"{100 + 10 * w + 2}.00")
                                                                          for w in range(6))
    assert month.previous is None and year.previous is None  # the history starts on 2024-03-04


def test_a_closed_weekday_setting_names_the_reason(connection, tmp_path):
    load_days(connection, tmp_path / "sundays.csv", CLOSED_SUNDAYS)

    result = run_with(connection, CalendarRules(closed_weekdays=frozenset({6})))

    assert closed(result) == {"2024-03-10": "closed_weekday", "2024-03-17": "closed_weekday",
                              "2024-03-24": "closed_weekday"}


# Every day from 2024-12-16 to 2025-01-04 sells 50 + the day of the month, except a closure of 12-24..12-26
# (3 days in a row) and New Year's Day.
HOLIDAYS = {date(2024, 12, 16) + timedelta(n): f"{50 + (date(2024, 12, 16) + timedelta(n)).day}.00"
            for n in range(20)
            if date(2024, 12, 16) + timedelta(n) not in (date(2024, 12, 24), date(2024, 12, 25), date(2024, 12, 26),
                                                          date(2025, 1, 1))}


def test_a_holiday_closure_and_a_listed_holiday(connection, tmp_path):
    load_days(connection, tmp_path / "holidays.csv", HOLIDAYS)

    result = run_with(connection, CalendarRules(closed_dates=frozenset({date(2025, 1, 1)})))

    assert closed(result) == {"2024-12-24": "closure", "2024-12-25": "closure", "2024-12-26": "closure",
                              "2025-01-01": "closed_date"}
    by_day = {t.day.isoformat(): t for t in result.trends}
    assert str(by_day["2024-12-27"].change_pct) == change(HOLIDAYS[date(2024, 12, 23)], HOLIDAYS[date(2024, 12, 27)])
    assert str(by_day["2025-01-02"].change_pct) == change(HOLIDAYS[date(2024, 12, 31)], HOLIDAYS[date(2025, 1, 2)])
    assert result.summary.average_per_trading_day == sum(Decimal(v) for v in HOLIDAYS.values()) / 16
    assert result.warnings == []


def test_an_unlisted_single_holiday_is_a_trading_day_without_sales(connection, tmp_path):
    load_days(connection, tmp_path / "holidays.csv", HOLIDAYS)

    result = run_with(connection)

    assert closed(result) == {"2024-12-24": "closure", "2024-12-25": "closure", "2024-12-26": "closure"}
    assert [(w.code, w.day) for w in result.warnings] == [("no_sales_on_trading_day", date(2025, 1, 1))]


# Every day from Monday 2024-05-06 for three weeks, one export missing: Wednesday 2024-05-15.
MISSING = {date(2024, 5, 6) + timedelta(n): f"{200 + 5 * n}.00" for n in range(21) if n != 9}


def test_a_missing_export_on_a_trading_day_is_zero_with_a_warning(connection, tmp_path):
    load_days(connection, tmp_path / "missing.csv", MISSING)

    result = run_with(connection)

    assert closed(result) == {}
    by_day = {t.day.isoformat(): t for t in result.trends}
    assert (str(by_day["2024-05-15"].change_pct), by_day["2024-05-15"].trend) == ("-100.00", "Decline")
    assert (by_day["2024-05-16"].change_pct, by_day["2024-05-16"].trend) == (None, "No Baseline")
    assert [(w.code, w.day) for w in result.warnings] == [("no_sales_on_trading_day", date(2024, 5, 15))]
    summary = result.summary
    assert (summary.trading_days, summary.no_sales_trading_days) == (21, 1)
    assert summary.average_per_trading_day == sum(Decimal(v) for v in MISSING.values()) / 21
    assert summary.worst_day is not None and summary.worst_day.day == date(2024, 5, 15)


# Closed on Sundays for three weeks from Monday 2024-01-01, then on Mondays for three weeks.
SWITCH_START = date(2024, 1, 1)
SWITCH = {SWITCH_START + timedelta(n): f"{300 + n}.00" for n in range(42)
          if (SWITCH_START + timedelta(n)).weekday() != (6 if n < 21 else 0)}


def test_a_shop_that_moves_its_closing_day(connection, tmp_path):
    load_days(connection, tmp_path / "switch.csv", SWITCH)

    result = run_with(connection)

    sundays = [SWITCH_START + timedelta(n) for n in (6, 13, 20)]
    mondays = [SWITCH_START + timedelta(n) for n in (21, 28, 35)]
    assert closed(result) == {day.isoformat(): "detected_closed_weekday" for day in sundays + mondays}
    # the Sundays after the move are trading days with sales, the Mondays before it too
    assert all(SWITCH_START + timedelta(n) in SWITCH for n in (27, 34, 41, 0, 7, 14))
    assert result.calendar.closed_weekdays_now == {0}
    assert result.warnings == []


# One week, Monday 2024-06-03 to Sunday 2024-06-09.
ONE_WEEK = {date(2024, 6, 3) + timedelta(n): f"{40 + 3 * n}.50" for n in range(7)}


def test_a_one_week_history(connection, tmp_path):
    load_days(connection, tmp_path / "week.csv", ONE_WEEK)

    result = run_with(connection)

    assert closed(result) == {} and result.warnings == []
    assert result.calendar.closed_weekdays_now == frozenset()
    summary = result.summary
    assert (summary.trading_days, summary.closed_days) == (7, 0)
    assert summary.average_per_trading_day == sum(Decimal(v) for v in ONE_WEEK.values()) / 7
    assert summary.latest_change is not None
    assert str(summary.latest_change.change_pct) == change("55.50", "58.50")
    [last_7, month, year] = result.periods
    assert last_7.current.revenue == sum(Decimal(v) for v in ONE_WEEK.values()) and last_7.previous is None
    # June 1-9 is not covered (the history starts on June 3): no month-to-date comparison either, but the month to
    # date holds the week's sales (not 0)
    assert (month.current.start, month.current.revenue, month.current.trading_days) == (
        date(2024, 6, 1), sum(Decimal(v) for v in ONE_WEEK.values()), 7)
    assert month.previous is None and month.change_pct is None and year.previous is None


def test_stretches_that_begin_before_the_first_sale_hold_the_sales_since_then(connection, tmp_path):
    two_days = {date(2025, 1, 6): "12.25", date(2025, 1, 7): "30.10"}
    load_days(connection, tmp_path / "two.csv", two_days)

    [last_7, month, year] = run_with(connection).periods

    total = Decimal("12.25") + Decimal("30.10")
    assert (last_7.current.start, last_7.current.revenue, last_7.current.trading_days) == (date(2025, 1, 1), total, 2)
    assert (month.current.start, month.current.revenue, month.current.trading_days) == (date(2025, 1, 1), total, 2)
    assert (year.current.revenue, year.current.trading_days) == (total, 2)
    assert [(c.previous, c.change_pct) for c in (last_7, month, year)] == [(None, None)] * 3


# A shop open at weekends only: Saturday 2024-03-02 to Sunday 2024-03-31, 5 weekends.
WEEKENDS = {date(2024, 3, 2) + timedelta(n): f"{80 + n}.00" for n in range(30)
            if (date(2024, 3, 2) + timedelta(n)).weekday() >= 5}


def test_a_shop_open_at_weekends_only_is_closed_monday_to_friday_then_and_ahead(connection, tmp_path):
    load_days(connection, tmp_path / "weekends.csv", WEEKENDS)

    result = run_with(connection)

    # it sold on 2 days of 7, but on every Saturday and Sunday: Monday to Friday are its closing days
    weekdays = [date(2024, 3, 4) + timedelta(n) for n in range(26) if (date(2024, 3, 4) + timedelta(n)).weekday() < 5]
    assert closed(result) == {day.isoformat(): "detected_closed_weekday" for day in weekdays}
    assert result.calendar.closed_weekdays_now == {0, 1, 2, 3, 4}
    forecast = forecast_from_analysis(result, 5)
    assert forecast.day == date(2024, 4, 6)  # the next Saturday, not Monday 04-01
    assert [(day.day.isoformat(), day.closed) for day in forecast.week] == [
        (f"2024-04-0{n}", n < 6) for n in range(1, 8)]


def test_a_sparse_order_book_has_no_closed_weekday(connection, tmp_path):
    # A sale every 4th day for 17 weeks: each weekday goes 3 weeks in a row without a sale, again and again, but
    # the shop sells on a quarter of the days, scattered over every weekday: none of them is a closing day.
    sparse = {date(2024, 1, 1) + timedelta(n): f"{300 + n}.00" for n in range(0, 120, 4)}
    load_days(connection, tmp_path / "sparse.csv", sparse)

    result = run_with(connection)

    assert set(closed(result).values()) == {"closure"}
    assert result.calendar.closed_weekdays_now == frozenset()


def test_sales_on_a_day_the_settings_call_closed_are_trading_and_warned_about(connection, tmp_path):
    # CLOSED_SUNDAYS sells Monday to Saturday; the settings say Saturdays and 2024-03-12 (a Tuesday) are closed.
    load_days(connection, tmp_path / "sundays.csv", CLOSED_SUNDAYS)
    rules = CalendarRules(closed_weekdays=frozenset({5, 6}), closed_dates=frozenset({date(2024, 3, 12)}))

    result = run_with(connection, rules)

    assert date(2024, 3, 12).isoformat() not in closed(result) and "2024-03-30" not in closed(result)
    warned = [(w.code, w.day) for w in result.warnings]
    # one for the listed date, one for the 4 Saturdays (03-09, 16, 23, 30) with the latest; Sundays had no sales
    assert warned == [("sales_on_closed_day", date(2024, 3, 12)), ("sales_on_closed_day", date(2024, 3, 30))]
    assert "sales on 4 Saturday(s)" in result.warnings[1].message


def test_the_moving_average_of_a_short_report_starts_from_the_days_before_it(connection, tmp_path):
    # The last 3 days of ONE_WEEK (06-07..06-09): with a window of 5, each day's average reaches back into the
    # 4 days before the report (06-03..06-06), so that a --days 3 report has its line from the first day.
    load_days(connection, tmp_path / "week.csv", ONE_WEEK)
    result = run_with(connection, period=PeriodFilter(last_days=3))
    revenues = [Decimal(amount) for _, amount in sorted(ONE_WEEK.items())]

    assert result.lead_in(5) == revenues[:4] and result.lead_in(1) == []
    report = build_report(result, forecast_from_analysis(result, 5), DataQuality([], 0, 0, 0, {}), "run",
                          datetime.now(UTC))
    assert [day["moving_average"] for day in report["trend_analysis"]["days"]] == [
        float((sum(revenues[n:n + 5], Decimal(0)) / 5).quantize(Decimal("0.01"), ROUND_HALF_UP)) for n in (0, 1, 2)]
