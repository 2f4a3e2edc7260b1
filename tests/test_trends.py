"""Day-over-day change and trend labels (PRODUCT.md), by hand and as properties over random series.

The oracle here computes the change with exact fractions and rounds half away from zero by integer
arithmetic, so it shares nothing with the Decimal code it checks.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from analysis import classify_trends, day_over_day
from autosight.run_results import DailyRevenue, TrendDay

START = date(2024, 2, 27)  # the series cross a leap day
DEFAULT_THRESHOLD = Decimal("20")
LABELS = {"Strong Growth", "Moderate Growth", "No Change", "Decline", "No Baseline"}  # without closed days

# Daily revenues as NUMERIC(20,2) holds them, with many zeros, small values and negatives (returns).
money = st.one_of(
    st.just(Decimal("0.00")),
    st.decimals(min_value=-100, max_value=100, places=2),
    st.decimals(min_value=-10**15, max_value=10**15, places=2),
)
thresholds = st.decimals(min_value=0, max_value=1000, places=2)
series = st.lists(money, max_size=40)


def expected_change(today: Decimal, yesterday: Decimal) -> Fraction:
    """(t - y) / y * 100 rounded to 2 decimals, halves away from zero, for y > 0."""
    hundredths = Fraction(today - yesterday) / Fraction(yesterday) * 100 * 100
    magnitude = int(abs(hundredths) + Fraction(1, 2))  # floor(|x| + 1/2): half rounds up in magnitude
    return Fraction(magnitude if hundredths >= 0 else -magnitude, 100)


def expected_label(change: Fraction, threshold: Decimal) -> str:
    if change > Fraction(threshold):
        return "Strong Growth"
    if change > 0:
        return "Moderate Growth"
    return "No Change" if change == 0 else "Decline"


def expected_trend(today: Decimal, yesterday: Decimal | None, threshold: Decimal) -> tuple[Fraction | None, str]:
    if yesterday is None:
        return None, "No Baseline"
    if yesterday == 0 and today == 0:
        return Fraction(0), "No Change"
    if yesterday <= 0:
        return None, "No Baseline"
    change = expected_change(today, yesterday)
    return change, expected_label(change, threshold)


def as_fraction(change: Decimal | None) -> Fraction | None:
    return None if change is None else Fraction(change)


def trading_days(pairs: list[tuple[date, Decimal]]) -> list[DailyRevenue]:
    """Every day a trading day: the seed's day-over-day semantics, unchanged by the trading calendar."""
    return [DailyRevenue(day, revenue, 0, 0) for day, revenue in pairs]


def trends_of(pairs: list[tuple[date, Decimal]], threshold: Decimal, baseline: Decimal | None = None) -> list[TrendDay]:
    """Trends of ``pairs``; a baseline is the revenue of a trading day before the first, dropped from the result."""
    if baseline is None or not pairs:
        return classify_trends(trading_days(pairs), threshold)
    before = (pairs[0][0] - timedelta(days=1), baseline)
    return classify_trends(trading_days([before, *pairs]), threshold)[1:]


@pytest.mark.parametrize(("today", "yesterday", "change", "label"), [
    ("120.00", "100.00", "20.00", "Moderate Growth"),  # exactly the threshold: not above it
    ("120.01", "100.00", "20.01", "Strong Growth"),
    ("120.004", "100.00", "20.00", "Moderate Growth"),  # the label follows the change as reported
    ("120.005", "100.00", "20.01", "Strong Growth"),  # half a hundredth rounds up
    ("100.01", "100.00", "0.01", "Moderate Growth"),
    ("100.00", "100.00", "0.00", "No Change"),
    ("100.00", "300.00", "-66.67", "Decline"),
    ("200.00", "300.00", "-33.33", "Decline"),
    ("0.00", "50.00", "-100.00", "Decline"),
    ("-25.00", "50.00", "-150.00", "Decline"),  # a day of returns
    ("2.00", "3.00", "-33.33", "Decline"),
    ("1.00", "0.03", "3233.33", "Strong Growth"),
    ("0.01", "0.03", "-66.67", "Decline"),  # -66.666..: halves away from zero only at exactly 5
    ("0.02", "0.08", "-75.00", "Decline"),
    ("0.00", "0.00", "0.00", "No Change"),  # both days closed
    ("50.00", "0.00", None, "No Baseline"),
    ("-5.00", "0.00", None, "No Baseline"),
    ("0.00", "-10.00", None, "No Baseline"),
    ("10.00", "-10.00", None, "No Baseline"),
])
def test_day_over_day_by_hand(today: str, yesterday: str, change: str | None, label: str) -> None:
    result = day_over_day(Decimal(today), Decimal(yesterday), DEFAULT_THRESHOLD)

    assert result == (None if change is None else Decimal(change), label)


def test_the_first_day_has_no_baseline() -> None:
    assert day_over_day(Decimal("10.00"), None, DEFAULT_THRESHOLD) == (None, "No Baseline")
    assert day_over_day(Decimal("0.00"), None, DEFAULT_THRESHOLD) == (None, "No Baseline")


@pytest.mark.parametrize(("threshold", "label"), [("5", "Strong Growth"), ("10", "Moderate Growth"),
                                                  ("9.99", "Strong Growth"), ("0", "Strong Growth")])
def test_the_strong_growth_threshold_is_configurable(threshold: str, label: str) -> None:
    assert day_over_day(Decimal("110.00"), Decimal("100.00"), Decimal(threshold)) == (Decimal("10.00"), label)


def test_a_series_by_hand() -> None:
    revenues = ["0.00", "0.00", "80.00", "100.00", "125.00", "125.00", "-10.00", "0.00", "40.00"]
    days = [(START + timedelta(n), Decimal(r)) for n, r in enumerate(revenues)]

    trends = trends_of(days, DEFAULT_THRESHOLD)

    assert [(t.day, t.revenue) for t in trends] == days
    assert [(None if t.change_pct is None else str(t.change_pct), t.trend) for t in trends] == [
        (None, "No Baseline"),
        ("0.00", "No Change"),
        (None, "No Baseline"),
        ("25.00", "Strong Growth"),
        ("25.00", "Strong Growth"),
        ("0.00", "No Change"),
        ("-108.00", "Decline"),
        (None, "No Baseline"),
        (None, "No Baseline"),
    ]


def test_a_baseline_gives_the_first_day_its_change() -> None:
    trends = trends_of([(START, Decimal("90.00"))], DEFAULT_THRESHOLD, baseline=Decimal("100.00"))

    assert [(t.change_pct, t.trend) for t in trends] == [(Decimal("-10.00"), "Decline")]


def test_no_data_gives_no_trends() -> None:
    assert classify_trends([], DEFAULT_THRESHOLD) == []
    assert trends_of([], DEFAULT_THRESHOLD, baseline=Decimal("5.00")) == []


@given(money, st.one_of(st.none(), money), thresholds)
@example(Decimal("120.00"), Decimal("100.00"), Decimal("20"))
@example(Decimal("0.00"), Decimal("0.00"), Decimal("20"))
@example(Decimal("-0.01"), Decimal("0.00"), Decimal("20"))
@example(Decimal("99.99"), Decimal("100.00"), Decimal("0"))
def test_day_over_day_matches_the_exact_oracle(today: Decimal, yesterday: Decimal | None,
                                               threshold: Decimal) -> None:
    change, label = day_over_day(today, yesterday, threshold)

    assert (as_fraction(change), label) == expected_trend(today, yesterday, threshold)
    if change is not None:
        assert change == change.quantize(Decimal("0.01"))


@given(series, thresholds, st.one_of(st.none(), money))
def test_every_day_is_compared_with_the_day_before(revenues: list[Decimal], threshold: Decimal,
                                                   baseline: Decimal | None) -> None:
    days = [(START + timedelta(n), revenue) for n, revenue in enumerate(revenues)]

    trends = trends_of(days, threshold, baseline)

    assert [(t.day, t.revenue) for t in trends] == days
    yesterdays = [baseline, *revenues][: len(revenues)]
    assert [(as_fraction(t.change_pct), t.trend) for t in trends] == [
        expected_trend(today, yesterday, threshold) for today, yesterday in zip(revenues, yesterdays, strict=True)]


@given(series.filter(bool), thresholds)
def test_labels_are_the_contract_s_and_no_baseline_exactly_when_yesterday_is_not_positive(
        revenues: list[Decimal], threshold: Decimal) -> None:
    trends = trends_of([(START + timedelta(n), r) for n, r in enumerate(revenues)], threshold)

    assert {t.trend for t in trends} <= LABELS
    assert trends[0].trend == "No Baseline"
    for trend, yesterday, today in zip(trends[1:], revenues[:-1], revenues[1:], strict=True):
        undefined = yesterday < 0 or (yesterday == 0 and today != 0)
        assert (trend.trend == "No Baseline") == undefined
        assert (trend.change_pct is None) == undefined


@given(st.decimals(min_value=Decimal("0.01"), max_value=10**12, places=2), thresholds)
def test_a_rise_is_growth_a_fall_is_decline(yesterday: Decimal, threshold: Decimal) -> None:
    assert day_over_day(yesterday * 3, yesterday, threshold)[1] in ("Strong Growth", "Moderate Growth")
    assert day_over_day(yesterday, yesterday, threshold) == (Decimal("0.00"), "No Change")
    assert day_over_day(yesterday - Decimal("0.01") - yesterday, yesterday, threshold)[1] == "Decline"


@given(st.lists(money, max_size=1), thresholds)
def test_one_day_or_none_without_baseline(revenues: list[Decimal], threshold: Decimal) -> None:
    trends = trends_of([(START + timedelta(n), r) for n, r in enumerate(revenues)], threshold)

    assert [(t.change_pct, t.trend) for t in trends] == [(None, "No Baseline")] * len(revenues)


# --- the trading calendar (PRODUCT.md): closed days are skipped, not compared -------------------------------


def test_closed_days_are_skipped_and_labelled_closed() -> None:
    # Mon 2024-03-04 closed between Sun 100.00 and Tue 80.00: Tuesday compares with Sunday, (80 - 100) / 100.
    history = [DailyRevenue(date(2024, 3, 3), Decimal("100.00"), 1, 1),
               DailyRevenue(date(2024, 3, 4), Decimal("0.00"), 0, 0, closed_reason="closed_weekday"),
               DailyRevenue(date(2024, 3, 5), Decimal("80.00"), 1, 1)]

    trends = classify_trends(history, DEFAULT_THRESHOLD)

    assert [(t.change_pct, t.trend) for t in trends] == [
        (None, "No Baseline"), (None, "Closed"), (Decimal("-20.00"), "Decline")]


def test_week_over_week_compares_the_same_weekday_when_it_traded() -> None:
    # 15 days from Tue 2024-02-27; day 7 (Tue 03-05) vs day 0: (150 - 100) / 100 = +50 %; day 8 vs day 1, which
    # is closed: no week-over-week; day 14 vs day 7: (120 - 150) / 150 = -20 %.
    revenues = {0: "100.00", 7: "150.00", 14: "120.00"}
    history = [DailyRevenue(START + timedelta(n), Decimal(revenues.get(n, "10.00")), 1, 1,
                            closed_reason="closure" if n == 1 else None) for n in range(15)]

    trends = classify_trends(history, DEFAULT_THRESHOLD)

    assert [trends[n].week_over_week_pct for n in (0, 7, 8, 14)] == [None, Decimal("50.00"), None, Decimal("-20.00")]
    assert trends[1].week_over_week_pct is None and trends[1].trend == "Closed"
