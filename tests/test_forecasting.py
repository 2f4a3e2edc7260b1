"""Tests of the next-day forecast: hand-computed fixtures, properties of the seed's method, and the backtest.

Expected values are worked out by hand in the comments (Decimal arithmetic), never by calling the code under test.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autosight.run_results import Forecast, ForecastDay, ModelForecast
from forecasting import forecast_next_day, moving_average_forecast

START = date(2024, 1, 1)  # a Monday


def money(*values: str | int) -> list[Decimal]:
    return [Decimal(str(value)) for value in values]


def calendar(length: int) -> list[date]:
    return [START + timedelta(days=offset) for offset in range(length)]


def by_name(forecast: Forecast, name: str) -> ModelForecast:
    return next(model for model in forecast.models if model.name == name)


# --- the seed's moving average, by hand ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("revenues", "window", "expected"),
    [
        ([], 5, "0.00"),  # no data: 0
        (money(250), 5, "250.00"),  # no change: the last day
        (money(100, 110), 5, "120.00"),  # one change +10, weight 1: 110 + 10
        # changes 10, 20, -10 weighted 1, 2, 3: (10 + 40 - 30) / 6 = 3.333..; 120 + 3.33
        (money(100, 110, 130, 120), 3, "123.33"),
        # window 2 keeps 20, -10 weighted 1, 2: (20 - 20) / 3 = 0
        (money(100, 110, 130, 120), 2, "120.00"),
        # only the last 5 changes (all +10) count; the jump to 1000 and back is older
        (money(10, 1000, 20, 30, 40, 50, 60, 70), 5, "80.00"),
        (money(100, 50, 0), 5, "0.00"),  # changes -50, -50: 0 - 50 clamps at 0
        # changes 0.03, 0.03, -0.02 weighted 1, 2, 3: (0.03 + 0.06 - 0.06) / 6 = 0.005; 1.045 rounds half up
        (money("1.00", "1.03", "1.06", "1.04"), 3, "1.05"),
        # a return makes a day negative: changes -80, +50 weighted 1, 2: (-80 + 100) / 3 = 6.666..; 20 + 6.67
        (money(50, -30, 20), 5, "26.67"),
        (money(-40), 5, "0.00"),  # a negative last day and no change: clamped at 0
    ],
)
def test_moving_average_by_hand(revenues: list[Decimal], window: int, expected: str) -> None:
    result = moving_average_forecast(revenues, window)
    assert result == Decimal(expected)
    assert result.as_tuple().exponent == -2


def test_moving_average_rejects_a_window_below_one() -> None:
    with pytest.raises(ValueError, match="window"):
        moving_average_forecast(money(1, 2), 0)


# --- moving average properties ---------------------------------------------------------------------------

amounts = st.one_of(
    st.just(Decimal(0)),
    st.decimals(min_value=-5000, max_value=100_000, places=2, allow_nan=False, allow_infinity=False),
)
series_strategy = st.lists(amounts, max_size=40)
windows = st.integers(min_value=1, max_value=10)


def clamp(value: Decimal) -> Decimal:
    return max(Decimal(0), value)


@given(series_strategy, windows)
def test_moving_average_is_never_negative_and_in_cents(revenues: list[Decimal], window: int) -> None:
    result = moving_average_forecast(revenues, window)
    assert result >= 0
    assert result.as_tuple().exponent == -2


@given(st.lists(amounts, max_size=1), windows)
def test_moving_average_without_changes_is_the_last_day(revenues: list[Decimal], window: int) -> None:
    expected = clamp(revenues[-1]) if revenues else Decimal(0)
    assert moving_average_forecast(revenues, window) == expected


@given(amounts, st.integers(min_value=1, max_value=30), windows)
def test_constant_series_predicts_the_constant(value: Decimal, length: int, window: int) -> None:
    assert moving_average_forecast([value] * length, window) == clamp(value)


@given(amounts, amounts, st.integers(min_value=2, max_value=30), windows)
def test_straight_line_continues_one_step(first: Decimal, step: Decimal, length: int, window: int) -> None:
    line = [first + step * offset for offset in range(length)]
    assert moving_average_forecast(line, window) == clamp(line[-1] + step)


@given(series_strategy.filter(lambda values: len(values) >= 2), windows)
def test_step_lies_between_the_smallest_and_largest_change_used(revenues: list[Decimal], window: int) -> None:
    used = [revenues[i] - revenues[i - 1] for i in range(1, len(revenues))][-window:]
    result = moving_average_forecast(revenues, window)
    assert clamp(revenues[-1] + min(used)) <= result <= clamp(revenues[-1] + max(used))


@given(series_strategy.filter(bool), windows)
def test_result_within_one_range_of_the_series(revenues: list[Decimal], window: int) -> None:
    # every change is at most (max - min) in size, so the forecast lies in [2 min - max, 2 max - min]
    low, high = min(revenues), max(revenues)
    assert clamp(2 * low - high) <= moving_average_forecast(revenues, window) <= clamp(2 * high - low)


@given(st.lists(st.decimals(min_value=0, max_value=1000, places=2), min_size=1, max_size=30), windows)
def test_rising_series_never_predicts_a_fall(increments: list[Decimal], window: int) -> None:
    rising = [sum(increments[: i + 1], Decimal(0)) for i in range(len(increments))]
    assert moving_average_forecast(rising, window) >= rising[-1]


# --- the other models, by hand ---------------------------------------------------------------------------


# --- models on the trading calendar, by hand ------------------------------------------------------------

# Three weeks from Monday 2024-01-01, closed on Sundays (revenue 0 there). Weekday w (Mon = 0) of week k sells
# 100 * (w + 1) + 10 * k; the next day is Monday 2024-01-22 and Sunday 2024-01-28 is closed ahead.
THREE_WEEKS = [Decimal(0) if day.weekday() == 6 else Decimal(100 * (day.weekday() + 1) + 10 * ((day - START).days // 7))
               for day in calendar(21)]
SUNDAYS = {day for day in calendar(21) if day.weekday() == 6}


def closed_on_sunday(day: date) -> bool:
    return day.weekday() == 6


def three_weeks_forecast(window: int = 1) -> Forecast:
    return forecast_next_day(calendar(21), THREE_WEEKS, window, closed_days=SUNDAYS, is_closed_ahead=closed_on_sunday)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("naive", "620.00"),  # Saturday 2024-01-20: 600 + 20
        ("seasonal_naive", "120.00"),  # the last Monday (2024-01-15): 100 + 20, not the closed Sunday before it
        ("weekday_mean", "110.00"),  # Mondays 100, 110, 120
        ("weekday_median", "110.00"),  # Mondays 100, 110, 120: the middle one
        # all 18 trading days (fewer than 28), sorted: 100 110 120 200 210 220 300 310 320 | 400 ...; the 9th
        # and 10th are 320 and 400: (320 + 400) / 2
        ("recent_median", "360.00"),
        # window 1 over trading days: Sat 620 + (620 - Fri 520); the closed Sunday is no change of -620
        ("moving_average", "720.00"),
    ],
)
def test_models_learn_from_trading_days_only(name: str, expected: str) -> None:
    assert by_name(three_weeks_forecast(), name).value == Decimal(expected)


def test_the_headline_is_for_the_next_trading_day_and_closed_days_are_zero() -> None:
    # History to Saturday 2024-01-20: Sunday 01-21 is closed, so the headline is for Monday 01-22.
    forecast = forecast_next_day(calendar(20), THREE_WEEKS[:20], 5, closed_days=SUNDAYS,
                                 is_closed_ahead=closed_on_sunday)
    assert forecast.day == date(2024, 1, 22)
    sunday, monday = forecast.week[0], forecast.week[1]
    assert (sunday.day, sunday.value, sunday.lower, sunday.upper, sunday.closed) == (
        date(2024, 1, 21), Decimal("0.00"), Decimal("0.00"), Decimal("0.00"), True)
    assert (monday.day, monday.value, monday.closed) == (date(2024, 1, 22), forecast.value, False)
    assert [day.day for day in forecast.week] == [date(2024, 1, 21) + timedelta(n) for n in range(7)]


def test_a_closure_listed_beyond_the_week_moves_the_headline_to_the_reopening() -> None:
    # History to Saturday 2024-01-20; closed (listed) from Sunday 01-21 for 40 days, to Thursday 02-29: the week
    # ahead is closed, and the next trading day is Friday 2024-03-01, 41 days on.
    reopening = date(2024, 3, 1)
    forecast = forecast_next_day(calendar(20), THREE_WEEKS[:20], 5, closed_days=SUNDAYS,
                                 is_closed_ahead=lambda day: day < reopening)
    assert forecast.day == reopening
    assert [(day.value, day.lower, day.upper, day.closed) for day in forecast.week] == [
        (Decimal("0.00"), Decimal("0.00"), Decimal("0.00"), True)] * 7
    assert forecast.value > 0
    assert forecast.lower is not None and forecast.upper is not None
    assert forecast.lower <= forecast.value <= forecast.upper


def test_no_trading_day_ahead_gives_no_headline_day_and_a_closed_week() -> None:
    # Every day ahead closed (every weekday listed closed): nothing to forecast, and the report is still written.
    forecast = forecast_next_day(calendar(21), THREE_WEEKS, 5, closed_days=SUNDAYS, is_closed_ahead=lambda _day: True,
                                 products={"Tea": THREE_WEEKS})
    assert (forecast.day, forecast.value, forecast.lower, forecast.upper) == (None, Decimal("0.00"), None, None)
    assert [(day.day, day.value, day.closed) for day in forecast.week] == [
        (date(2024, 1, 22) + timedelta(n), Decimal("0.00"), True) for n in range(7)]
    assert all((day.value, day.closed) == (Decimal("0.00"), True) for day in forecast.products[0].days)
    # the seed's figure is always computed: window 5 over the last trading days 220..620 (+100 a day) -> 720
    assert forecast.moving_average == Decimal("720.00")


WEEKLY_PATTERN = {0: "100", 1: "250.50", 2: "80", 3: "40", 4: "300", 5: "410", 6: "0"}


def weekly_pattern_forecast() -> Forecast:
    """10 weeks of WEEKLY_PATTERN exactly, to Sunday 2024-03-10, Sundays closed (then and ahead)."""
    days = calendar(70)
    revenues = [Decimal(WEEKLY_PATTERN[day.weekday()]) for day in days]
    return forecast_next_day(days, revenues, 5, closed_days={d for d in days if d.weekday() == 6},
                             is_closed_ahead=closed_on_sunday)


def test_the_week_ahead_by_weekday_mean_follows_the_weekly_pattern() -> None:
    # An exact weekly pattern, Sundays closed: weekday mean, seasonal naive and Holt-Winters are all exact, so
    # the week ahead is the pattern itself, whichever of them the backtest picks.
    forecast = weekly_pattern_forecast()
    assert [day.value for day in forecast.week] == [Decimal(WEEKLY_PATTERN[day.day.weekday()]).quantize(Decimal("0.01"))
                                                    for day in forecast.week]
    assert forecast.backtest is not None and forecast.backtest.mae == Decimal("0.00")


def test_the_median_combination_averages_holt_winters_and_the_two_medians() -> None:
    # The exact weekly pattern of the test above (Sundays closed), 10 weeks to Sunday 2024-03-10; the next
    # trading day is Monday 03-11. Holt-Winters and the weekday median both give the pattern's Monday, 100. The
    # last 28 trading days are the last 4 weeks (24 days) and Wed..Sat of the week before: 40, 80, 300, 410 five
    # times each, 100 and 250.50 four times; sorted, the 14th and 15th are 100 and 250.50, median 175.25.
    # Mean of the three: (100 + 100 + 175.25) / 3 = 125.0833.. -> 125.08.
    forecast = weekly_pattern_forecast()
    assert forecast.day == date(2024, 3, 11)
    assert by_name(forecast, "recent_median").value == Decimal("175.25")
    assert by_name(forecast, "weekday_median").value == Decimal("100.00")
    assert by_name(forecast, "holt_winters").value == Decimal("100.00")
    assert by_name(forecast, "median_combination").value == Decimal("125.08")


def test_the_headline_is_chosen_among_the_selectable_models_only() -> None:
    # The seed's moving average, naive, seasonal naive and the mean-based models are reported, never chosen.
    selectable = {"holt_winters", "recent_median", "weekday_median", "median_combination"}
    rng = random.Random(3)
    days = calendar(140)
    revenues = [Decimal(str(round(400 * rng.uniform(0.5, 1.5), 2))) for _ in days]
    assert forecast_next_day(days, revenues, window=5).method in selectable


def test_no_data() -> None:
    forecast = forecast_next_day([], [], window=5)
    assert (forecast.day, forecast.value, forecast.method) == (None, Decimal("0.00"), "moving_average")
    assert (forecast.moving_average, forecast.window, forecast.lower, forecast.upper) == (
        Decimal("0.00"), 5, None, None)
    assert forecast.week == [] and forecast.products == []


def test_one_day() -> None:
    forecast = forecast_next_day([START], money("99.99"), window=5)
    assert (forecast.day, forecast.value, forecast.method) == (date(2024, 1, 2), Decimal("99.99"), "moving_average")
    assert [model.value for model in forecast.models] == [Decimal("99.99")] * len(forecast.models)
    assert forecast.backtest is not None and forecast.backtest.points == 0


def test_a_one_week_history_has_no_backtest_and_keeps_the_seed() -> None:
    # 7 days: a backtest origin needs 7 trading days behind it, so there is none; the seed's figure is the
    # headline: window 5 over 100, 110, ..., 160: every change +10, so 160 + 10 = 170.
    revenues = [Decimal(100 + 10 * n) for n in range(7)]
    forecast = forecast_next_day(calendar(7), revenues, window=5)
    assert (forecast.method, forecast.value, forecast.lower, forecast.upper) == (
        "moving_average", Decimal("170.00"), None, None)


@pytest.mark.parametrize(
    ("days", "revenues"),
    [(calendar(3), money(1, 2)), ([START, START + timedelta(days=2)], money(1, 2))],
)
def test_rejects_a_series_that_is_not_a_calendar(days: list[date], revenues: list[Decimal]) -> None:
    with pytest.raises(ValueError):
        forecast_next_day(days, revenues, window=5)


@settings(max_examples=25, deadline=None)
@given(series_strategy, windows)
def test_forecasts_are_cents_never_negative_and_inside_their_intervals(revenues: list[Decimal], window: int) -> None:
    forecast = forecast_next_day(calendar(len(revenues)), revenues, window)
    assert forecast.moving_average == moving_average_forecast(revenues, window)
    assert forecast.value == by_name(forecast, forecast.method).value
    figures: list[ModelForecast | ForecastDay] = [*forecast.models, *forecast.week]
    for model in figures:
        assert model.value >= 0 and model.value.as_tuple().exponent == -2
        if model.lower is not None and model.upper is not None:
            assert 0 <= model.lower <= model.value <= model.upper


def test_nested_intervals_cover_about_80_percent_of_noisy_days() -> None:
    # A year of a weekly pattern times independent noise (seeded): the 80 % interval, built at each backtest
    # origin from earlier errors only, must hold about 80 % of the actual days (the 80 +- 8 points).
    rng = random.Random(7)
    days = calendar(364)
    revenues = [Decimal(str(round((500 + 60 * day.weekday()) * rng.uniform(0.6, 1.4), 2))) for day in days]
    forecast = forecast_next_day(days, revenues, window=5)
    assert forecast.interval_coverage_pct is not None
    assert Decimal(72) <= forecast.interval_coverage_pct <= Decimal(88)
    assert forecast.backtest is not None and forecast.backtest.points == 56


@pytest.mark.parametrize("days_before_end", [30, 3])
def test_one_huge_order_neither_shrinks_nor_blows_up_the_interval(days_before_end: int) -> None:
    # 120 days of noise between 100 and 400 and one order of 10 million: 30 days before the end it must not make
    # the interval a few cents wide (it was [224.06, 224.24]), 3 days before the end not hundreds of times too wide
    # (it was [0, 196143]). The interval should hold most of the last 28 ordinary days, and stay near their range.
    rng = random.Random(7)
    days = calendar(120)
    revenues = [Decimal(str(round(rng.uniform(100, 400), 2))) for _ in days]
    revenues[-days_before_end] = Decimal("10000000.00")
    forecast = forecast_next_day(days, revenues, window=5)
    ordinary = [revenue for revenue in revenues[-28:] if revenue <= 400]
    assert forecast.lower is not None and forecast.upper is not None
    assert sum(forecast.lower <= revenue <= forecast.upper for revenue in ordinary) >= len(ordinary) // 2
    assert forecast.upper <= 2 * max(ordinary)


def weekly_shop(seed: int, days_count: int) -> tuple[list[date], list[Decimal]]:
    """A strongly weekly shop (Saturday 6 times the level, Sunday a tenth), noise of +-50 %."""
    rng = random.Random(seed)
    multiple = [0.2, 0.3, 0.5, 1, 2, 6, 0.1]
    days = calendar(days_count)
    return days, [Decimal(str(round(100 * multiple[day.weekday()] * rng.uniform(0.5, 1.5), 2))) for day in days]


@pytest.mark.parametrize("seed", range(4))
def test_each_day_ahead_gets_an_interval_of_its_own_weekday_size(seed: int) -> None:
    # Each day's 80 % interval must hold at least half of its weekday's last 8 days and reach no higher than twice
    # their highest. With one level for every day, Saturday's held 0 to 3 of 8 and Sunday's reached 5 to 13 times
    # the highest Sunday.
    days, revenues = weekly_shop(seed, 200)
    forecast = forecast_next_day(days, revenues, window=5)
    for ahead in forecast.week:
        same = [revenue for day, revenue in zip(days, revenues, strict=True) if day.weekday() == ahead.day.weekday()]
        assert ahead.lower is not None and ahead.upper is not None
        assert sum(ahead.lower <= revenue <= ahead.upper for revenue in same[-8:]) >= 4, ahead
        assert ahead.upper <= 2 * max(same[-8:]), ahead


@pytest.mark.parametrize("seed", range(4))
def test_each_models_interval_is_sized_to_the_day_it_forecasts(seed: int) -> None:
    # The shop above, to Saturday 2024-07-20: the next day is a quiet Sunday. The weekday models forecast it near
    # the Sundays, and their intervals (from their own errors on every weekday) must be Sunday-sized too: at most
    # twice the highest of the last 8 Sundays, where one level for all days gave 4 to 10 times.
    days, revenues = weekly_shop(seed, 202)
    forecast = forecast_next_day(days, revenues, window=5)
    sundays = [revenue for day, revenue in zip(days, revenues, strict=True) if day.weekday() == 6][-8:]
    assert forecast.day == date(2024, 7, 21)
    for name in ("seasonal_naive", "weekday_mean", "weekday_median"):
        model = by_name(forecast, name)
        assert model.upper is not None and model.upper <= 2 * max(sundays), model


def test_products_get_a_week_ahead_on_the_shop_calendar() -> None:
    product = [revenue / 10 for revenue in THREE_WEEKS]
    forecast = forecast_next_day(calendar(21), THREE_WEEKS, 5, closed_days=SUNDAYS, is_closed_ahead=closed_on_sunday,
                                 products={"Tea": product})
    [tea] = forecast.products
    assert tea.name == "Tea" and len(tea.days) == 7
    assert [day.closed for day in tea.days] == [day.day.weekday() == 6 for day in tea.days]
