"""Tests of the next-day forecast: hand-computed fixtures, properties of the seed's method, and the backtest.

Expected values are worked out by hand in the comments (Decimal arithmetic), never by calling the code under test.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis_types import Forecast, ModelForecast
from forecasting import (
    _holt_winters_run,
    forecast_next_day,
    holt_winters_forecast,
    moving_average_forecast,
    naive_forecast,
    seasonal_naive_forecast,
    weekday_mean_forecast,
)

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


def test_naive_is_the_last_day() -> None:
    assert naive_forecast(money("5", "7.5")) == Decimal("7.50")
    assert naive_forecast([]) == Decimal("0.00")
    assert naive_forecast(money(-3)) == Decimal("0.00")


def test_seasonal_naive_is_the_same_weekday_last_week() -> None:
    eight_days = money(1, 2, 3, 4, 5, 6, 7, 8)  # tomorrow is index 8, the same weekday as index 1
    assert seasonal_naive_forecast(eight_days) == Decimal("2.00")
    assert seasonal_naive_forecast(money(1, 2, 3)) == Decimal("3.00")  # under a week: naive


def test_weekday_mean_averages_the_last_four_same_weekdays() -> None:
    # 36 days: tomorrow (index 36) shares its weekday with 29, 22, 15, 8 (and 1, beyond the 4 weeks)
    revenues = [Decimal(0)] * 36
    for index, value in {29: 10, 22: 20, 15: 30, 8: 41, 1: 1000}.items():
        revenues[index] = Decimal(value)
    assert weekday_mean_forecast(revenues) == Decimal("25.25")  # (10 + 20 + 30 + 41) / 4
    assert weekday_mean_forecast(revenues[:15]) == Decimal("520.50")  # 15 days: indices 8, 1 -> (41 + 1000) / 2
    assert weekday_mean_forecast(money(4, 9)) == Decimal("9.00")  # under a week: naive


TWO_WEEKS = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 12.0, 22.0, 32.0, 42.0, 52.0, 62.0, 72.0]


@pytest.mark.parametrize(
    ("alpha", "beta", "gamma", "expected"),
    [
        # Initial state: week means 40 and 42, level 40, trend 0, season = mean deviation = -30, -20, ..., 30.
        # alpha 1, beta 0, gamma 0: day 7 forecast 40 - 30 = 10, error 2, level becomes 12 + 30 = 42; the rest
        # of week two is then exact. SSE 4; tomorrow (weekday 0) = 42 - 30 = 12.
        (1.0, 0.0, 0.0, (4.0, 12.0)),
        # alpha 0, gamma 1: the level stays 40, every day of week two errs by +2 and resets its season to
        # y - 40. SSE 7 * 4 = 28; tomorrow = 40 + (12 - 40) = 12.
        (0.0, 0.0, 1.0, (28.0, 12.0)),
        # alpha 1, beta 1: day 7 errs +2, level 42, trend 2; day 8 forecasts 42 + 2 - 20 = 24 against 22
        # (error -2), level 42, trend 0; the rest is exact. SSE 8; tomorrow = 42 + 0 - 30 = 12.
        (1.0, 1.0, 0.0, (8.0, 12.0)),
    ],
)
def test_holt_winters_recursion_by_hand(alpha: float, beta: float, gamma: float, expected: tuple[float, float]) -> None:
    assert _holt_winters_run(TWO_WEEKS, alpha, beta, gamma) == pytest.approx(expected)


def test_holt_winters_repeats_an_exact_weekly_pattern() -> None:
    # A pattern repeated 4 weeks: the initial season is exact, every one-step error is 0 for any parameters,
    # so tomorrow (index 28, weekday 0) is the pattern's first value.
    pattern = money("100", "250.50", "80", "0", "300", "410", "90")
    assert holt_winters_forecast(pattern * 4) == Decimal("100.00")


def test_holt_winters_under_two_weeks_is_seasonal_naive() -> None:
    revenues = money(5, 6, 7, 8, 9, 10, 11, 12, 13)
    assert holt_winters_forecast(revenues) == Decimal("7.00")  # index 9 - 7 = 2


def test_holt_winters_on_a_constant_series_predicts_the_constant() -> None:
    assert holt_winters_forecast(money(75) * 30) == Decimal("75.00")


# --- backtest metrics, headline and intervals, by hand ---------------------------------------------------

# 10 days; the backtest needs 7 training days, so it predicts days 7, 8, 9 (actuals 40, 0, 30, sum 70).
# MASE scale: naive MAE over days 0..6 = 6 changes of 10 / 6 = 10.
TINY = money(10, 20, 10, 20, 10, 20, 10, 40, 0, 30)


@pytest.mark.parametrize(
    ("name", "mae", "wape", "mase"),
    [
        # predictions 10, 40, 0 -> errors 30, -40, 30: MAE 100/3, WAPE 100/70, MASE 3.333
        ("naive", "33.33", "142.86", "3.333"),
        # predictions days 0, 1, 2 = 10, 20, 10 -> errors 30, -20, 20: MAE 70/3, WAPE 100 %, MASE 2.333
        ("seasonal_naive", "23.33", "100.00", "2.333"),
        # window 1: 10 + (10 - 20) = 0; 40 + 30 = 70; 0 - 40 -> 0. Errors 40, -70, 30: MAE 140/3
        ("moving_average", "46.67", "200.00", "4.667"),
    ],
)
def test_backtest_metrics_by_hand(name: str, mae: str, wape: str, mase: str) -> None:
    score = by_name(forecast_next_day(calendar(10), TINY, window=1), name).backtest
    assert (score.points, score.mae, score.wape_pct, score.mase) == (3, Decimal(mae), Decimal(wape), Decimal(mase))


def test_tiny_series_headline_and_no_interval() -> None:
    forecast = forecast_next_day(calendar(10), TINY, window=1)
    # seasonal naive, weekday mean (one week available) and Holt-Winters (< 14 days) all score MASE 2.333:
    # the tie goes to the first of them in the model list.
    assert forecast.method == "seasonal_naive"
    assert forecast.value == Decimal("20.00")  # tomorrow (index 10) = index 3
    assert forecast.moving_average == Decimal("60.00")  # window 1: 30 + (30 - 0)
    assert forecast.day == date(2024, 1, 11)
    assert (forecast.lower, forecast.upper) == (None, None)  # 3 errors are too few for an interval


def test_interval_from_error_percentiles_by_hand() -> None:
    # Days 7..11 rise from 100 by +10, -10, +30, 0, +20, so the naive errors are -10, 0, 10, 20, 30 (sorted).
    # 10th percentile at position 0.4: -10 + 0.4 * 10 = -6; 90th at position 3.6: 20 + 0.6 * 10 = 26.
    revenues = money(0, 0, 0, 0, 0, 50, 100, 110, 100, 130, 130, 150)
    naive = by_name(forecast_next_day(calendar(12), revenues, window=5, backtest_days=5), "naive")
    assert naive.backtest.points == 5
    assert (naive.value, naive.lower, naive.upper) == (Decimal("150.00"), Decimal("144.00"), Decimal("176.00"))


def test_interval_always_contains_the_value() -> None:
    # A steady +10 a day: every naive error is +10, so the raw interval would be [value + 10, value + 10].
    revenues = [Decimal(10 * day) for day in range(20)]
    naive = by_name(forecast_next_day(calendar(20), revenues, window=5), "naive")
    assert (naive.lower, naive.value, naive.upper) == (Decimal("190.00"), Decimal("190.00"), Decimal("200.00"))


def test_no_data() -> None:
    forecast = forecast_next_day([], [], window=5)
    assert (forecast.day, forecast.value, forecast.method) == (None, Decimal("0.00"), "moving_average")
    assert (forecast.moving_average, forecast.window, forecast.lower, forecast.upper) == (
        Decimal("0.00"),
        5,
        None,
        None,
    )
    assert all(model.backtest.points == 0 and model.backtest.mase is None for model in forecast.models)


def test_one_day() -> None:
    forecast = forecast_next_day([START], money("99.99"), window=5)
    assert (forecast.day, forecast.value, forecast.method) == (date(2024, 1, 2), Decimal("99.99"), "moving_average")
    assert [model.value for model in forecast.models] == [Decimal("99.99")] * len(forecast.models)


@pytest.mark.parametrize(("level", "wape"), [(0, None), (100, Decimal("0.00"))])
def test_flat_history_gives_undefined_mase_not_an_error(level: int, wape: Decimal | None) -> None:
    forecast = forecast_next_day(calendar(40), [Decimal(level)] * 40, window=5)
    for model in forecast.models:
        assert model.value == Decimal(level)
        assert (model.backtest.points, model.backtest.mae) == (28, Decimal("0.00"))
        assert model.backtest.mase is None  # the naive scale is 0
        assert model.backtest.wape_pct == wape  # all-zero actuals leave WAPE undefined too
    assert forecast.method == "moving_average"  # every model ties at MAE 0: the seed stays


def test_zero_history_before_a_first_sale() -> None:
    revenues = [Decimal(0)] * 30 + money(500)
    forecast = forecast_next_day(calendar(31), revenues, window=5, backtest_days=3)
    assert all(model.backtest.mase is None for model in forecast.models)  # scale over 28 zero days is 0
    assert forecast.method == "moving_average"  # the tie on MAE (500/3 for everyone) keeps the seed


def test_no_backtest_keeps_the_seed() -> None:
    revenues = money(10, 50, 10, 50, 10, 50, 10, 50, 10, 50)
    forecast = forecast_next_day(calendar(10), revenues, window=5, backtest_days=0)
    assert forecast.method == "moving_average"
    assert forecast.value == forecast.moving_average


@pytest.mark.parametrize(
    ("days", "revenues"),
    [(calendar(3), money(1, 2)), ([START, START + timedelta(days=2)], money(1, 2))],
)
def test_rejects_a_series_that_is_not_a_calendar(days: list[date], revenues: list[Decimal]) -> None:
    with pytest.raises(ValueError):
        forecast_next_day(days, revenues, window=5)


@settings(max_examples=40, deadline=None)
@given(series_strategy, windows)
def test_headline_is_the_min_mase_model(revenues: list[Decimal], window: int) -> None:
    forecast = forecast_next_day(calendar(len(revenues)), revenues, window)
    headline = by_name(forecast, forecast.method)
    assert (forecast.value, forecast.lower, forecast.upper) == (headline.value, headline.lower, headline.upper)
    assert forecast.moving_average == moving_average_forecast(revenues, window)
    defined = [model.backtest.mase for model in forecast.models if model.backtest.mase is not None]
    if defined:
        assert headline.backtest.mase == min(defined)
    for model in forecast.models:
        assert model.value >= 0 and model.value.as_tuple().exponent == -2
        if model.lower is not None and model.upper is not None:
            assert 0 <= model.lower <= model.value <= model.upper
