"""Revenue forecasts on the trading calendar: the next trading day and the week ahead, chosen by a nested backtest.

Why several models: daily shop revenue is mostly noise around a level with a weekly pattern, and the seed's
trend-extrapolating moving average chases that noise. Every model learns from trading days only (a closed day is
not a zero the shop earned, so it must not drag a weekly pattern down) and predicts the k-th next trading day.

Why *nested*: choosing the model with the best backtest and then reporting that same backtest flatters the choice
(the winner of 5 noisy scores is partly lucky). So the choice itself is backtested: at every origin the model is
picked by its one-step errors over the ``backtest_days`` trading days before that origin only, and the error of
*that* pick is what the reported score (MAE, WAPE, MASE) measures. The 80 % intervals come from the same honest
errors, per horizon (their 10th and 90th percentiles around the forecast), and their coverage is measured the
same way: at each origin with the errors of earlier origins only.

Money stays ``Decimal`` at the edges; the models compute in float internally (their estimates are approximations
anyway) and every forecast is clamped at 0 and rounded to the cent. The seed's figure is always computed exactly.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import accumulate, pairwise, product

from autosight.run_results import (
    CENT,
    MASE_STEP,
    AnalysisResult,
    BacktestScore,
    Forecast,
    ForecastDay,
    ModelForecast,
    SeriesForecast,
)

ZERO = Decimal(0)
SEASON = 7
HORIZON_DAYS = 7  # the week ahead, in calendar days
INTERVAL_LEVEL_PCT = 80
MIN_TRAINING_DAYS = SEASON  # a backtest origin needs a week of trading days behind it
MIN_SELECTION_ERRORS = 3  # fewer one-step errors than this choose nothing: the seed stays
MIN_INTERVAL_ERRORS = 5  # fewer errors than this give no meaningful 10th/90th percentile
NESTED_ORIGINS = 56  # trading days scored by the nested backtest
DEFAULT_BACKTEST_DAYS = 14  # the BACKTEST_DAYS setting's default: the selection window, in trading days
# The intervals come from the nested errors of the last 28 origins only: recent errors follow the current choice and
# sales level (with 56, walmart_10k's interval covered 91 % of its days, more than the 80 % it claims).
INTERVAL_ORIGINS = 28
WEEKDAY_LEVEL_FLOOR = 0.25  # a weekday's level (Backtest.weekday_level) is at least this share of the overall level
# Origins forecast before the scored ones (at least the selection window): the first scored choice has a full window
# behind it, and Holt-Winters' parameters are fitted on the weeks before the first of them whatever BACKTEST_DAYS is.
WARMUP_ORIGINS = 28
WEEKDAY_MEAN_WEEKS = 4
# The models the nested backtest chooses from; the others are scored and reported but never chosen. The seed's
# moving average, naive and seasonal naive forecast from one or two days, so their scores swing most from window to
# window and a lucky window made them the headline for the days after it. The mean-based models lose to their
# median twins on absolute error (daily revenue is skewed: a few big orders). Fewer candidates also means less
# winning on luck (bench/FORECAST_RESULTS.md: out-of-sample MASE lower on all 5 shared daily series, with the
# 14-day window and 28 interval errors; all three were chosen on those same series).
SELECTABLE = ("holt_winters", "recent_median", "weekday_median", "median_combination")
RECENT_MEAN_DAYS = 28
WEEKDAY_MEDIAN_WEEKS = 8
HW_HISTORY_DAYS = 16 * SEASON  # trading days Holt-Winters fits its parameters on and warms up over
HW_INIT_DAYS = 2 * SEASON
HW_ALPHAS = (0.05, 0.1, 0.2, 0.3, 0.5)
HW_BETAS = (0.0, 0.05, 0.1)
HW_GAMMAS = (0.05, 0.1, 0.2, 0.3)
HW_DEFAULT = (0.2, 0.0, 0.1)  # too short a history to fit: a middle-of-the-grid choice
# How far ahead the next trading day is looked for when many days are closed (a listed closure of months): ten
# years, as far as a CLOSED_DATES range reaches. Beyond, or with every weekday closed, there is none: no headline.
HEADLINE_SEARCH_DAYS = 3661


def _to_cents(value: Decimal) -> Decimal:
    """Clamp at 0 (revenue forecasts are never negative) and round to the cent, half up."""
    return max(ZERO, value).quantize(CENT, rounding=ROUND_HALF_UP)


def _float_to_cents(value: float) -> Decimal:
    return _to_cents(Decimal(repr(value)))


def moving_average_forecast(revenues: Sequence[Decimal], window: int) -> Decimal:
    """The seed's prediction (PRODUCT.md) over trading days: last trading day + weighted mean of the last
    ``window`` changes between consecutive trading days.

    Changes are absolute money (``r[t] - r[t-1]``), weighted 1..k with the most recent heaviest, where k is
    ``window`` or the number of changes available if fewer. No change: the last day (0 with no data).
    """
    if window < 1:
        raise ValueError(f"moving-average window must be at least 1, got {window}")
    if not revenues:
        return _to_cents(ZERO)
    tail = revenues[-(window + 1):]
    weighted = ZERO
    for weight in range(1, len(tail)):  # change ``weight``, oldest first; summed in this order, as exact as money
        weighted += weight * (tail[weight] - tail[weight - 1])
    weights = (len(tail) - 1) * len(tail) // 2
    step = weighted / weights if weights else ZERO
    return _to_cents(revenues[-1] + step)


# --- the trading-day series and its models -----------------------------------------------------------------


@dataclass
class _Series:
    """Trading days only: their dates, exact revenues, float revenues and, per weekday, their positions."""

    dates: list[date]
    exact: list[Decimal]
    values: list[float] = field(init=False)
    by_weekday: dict[int, list[int]] = field(init=False)

    def __post_init__(self) -> None:
        self.values = [float(value) for value in self.exact]
        self.by_weekday = {weekday: [] for weekday in range(SEASON)}
        for index, day in enumerate(self.dates):
            self.by_weekday[day.weekday()].append(index)

    def same_weekday_before(self, weekday: int, cut: int, count: int) -> list[float]:
        """Revenues of the last ``count`` trading days on ``weekday`` before position ``cut``, latest last."""
        positions = self.by_weekday[weekday]
        end = bisect_left(positions, cut)
        return [self.values[index] for index in positions[max(0, end - count):end]]


Predict = Callable[[_Series, int, Sequence[date]], list[float]]


def _naive(series: _Series, cut: int, targets: Sequence[date]) -> list[float]:
    """Every future trading day = the last trading day."""
    return [series.values[cut - 1] if cut else 0.0] * len(targets)


def _seasonal_naive(series: _Series, cut: int, targets: Sequence[date]) -> list[float]:
    """The last trading day on the same weekday; naive when there is none yet."""
    last = series.values[cut - 1] if cut else 0.0
    return [next(iter(series.same_weekday_before(day.weekday(), cut, 1)), last) for day in targets]


def _weekday_mean(series: _Series, cut: int, targets: Sequence[date]) -> list[float]:
    """Mean of the last ``WEEKDAY_MEAN_WEEKS`` trading days on the same weekday: seasonal naive with less noise."""
    last = series.values[cut - 1] if cut else 0.0
    predictions = []
    for day in targets:
        same = series.same_weekday_before(day.weekday(), cut, WEEKDAY_MEAN_WEEKS)
        predictions.append(sum(same) / len(same) if same else last)
    return predictions


def _recent_mean(series: _Series, cut: int, targets: Sequence[date]) -> list[float]:
    """Mean of the last ``RECENT_MEAN_DAYS`` trading days, flat: the best guess when days are mostly noise."""
    recent = series.values[max(0, cut - RECENT_MEAN_DAYS):cut]
    return [sum(recent) / len(recent) if recent else 0.0] * len(targets)


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _recent_median(series: _Series, cut: int, targets: Sequence[date]) -> list[float]:
    """Median of the last ``RECENT_MEAN_DAYS`` trading days, flat: on skewed days (a few big orders, many small
    days) the median, not the mean, is the figure with the smallest absolute error."""
    recent = series.values[max(0, cut - RECENT_MEAN_DAYS):cut]
    return [_median(recent) if recent else 0.0] * len(targets)


def _weekday_median(series: _Series, cut: int, targets: Sequence[date]) -> list[float]:
    """Median of the last ``WEEKDAY_MEDIAN_WEEKS`` trading days on the same weekday."""
    last = series.values[cut - 1] if cut else 0.0
    predictions = []
    for day in targets:
        same = series.same_weekday_before(day.weekday(), cut, WEEKDAY_MEDIAN_WEEKS)
        predictions.append(_median(same) if same else last)
    return predictions


class _Combination:
    """The mean of several models' forecasts: averaging models that err differently cancels part of their errors
    (the most robust finding of the M3/M4 forecasting competitions). The weekday blend is one too: half weekday
    mean, half recent mean, the weekday pattern shrunk towards the level, since 4 weeks of one weekday estimate it
    with much noise."""

    def __init__(self, *parts: Predict) -> None:
        self.parts = parts

    def __call__(self, series: _Series, cut: int, targets: Sequence[date]) -> list[float]:
        forecasts = [part(series, cut, targets) for part in self.parts]
        return [sum(values) / len(values) for values in zip(*forecasts, strict=True)]


def _moving_average_model(window: int) -> Predict:
    """The seed's rule, applied again on its own forecasts for the days after the next (the rule's own trend)."""

    def predict(series: _Series, cut: int, targets: Sequence[date]) -> list[float]:
        tail = list(series.exact[max(0, cut - window - 1):cut])
        predictions = []
        for _ in targets:
            value = moving_average_forecast(tail, window)
            predictions.append(float(value))
            tail = [*tail[1:], value] if len(tail) > window else [*tail, value]
        return predictions

    return predict


class _HoltWinters:
    """Additive Holt-Winters whose season is the weekday (not the position), stepping over trading days only.

    Parameters are grid-searched once per series, on the ``HW_HISTORY_DAYS`` trading days before the first
    backtest origin (so no backtest day informs them); one pass then records the state at every origin.
    """

    def __init__(self, series: _Series, first_cut: int) -> None:
        self.states: dict[int, tuple[float, float, list[float]]] = {}
        start = max(0, first_cut - HW_HISTORY_DAYS)
        values = series.values
        weekdays = [day.weekday() for day in series.dates]
        params = _fit_holt_winters(values[start:first_cut], weekdays[start:first_cut])
        level, trend, season = _hw_initial(values[start:], weekdays[start:])
        alpha, beta, gamma = params
        for index in range(start, len(values)):
            if index >= first_cut:
                self.states[index] = (level, trend, list(season))
            weekday, value = weekdays[index], values[index]
            new_level = alpha * (value - season[weekday]) + (1 - alpha) * (level + trend)
            trend = beta * (new_level - level) + (1 - beta) * trend
            season[weekday] = gamma * (value - new_level) + (1 - gamma) * season[weekday]
            level = new_level
        self.states[len(values)] = (level, trend, list(season))

    def __call__(self, series: _Series, cut: int, targets: Sequence[date]) -> list[float]:
        level, trend, season = self.states[cut]
        return [level + step * trend + season[day.weekday()] for step, day in enumerate(targets, start=1)]


def _hw_initial(values: Sequence[float], weekdays: Sequence[int]) -> tuple[float, float, list[float]]:
    """Level = mean of the first two weeks of trading days, trend 0, season = each weekday's mean deviation."""
    first = values[:HW_INIT_DAYS]
    level = sum(first) / len(first) if first else 0.0
    season = [0.0] * SEASON
    for weekday in range(SEASON):
        same = [value for value, day in zip(first, weekdays[:HW_INIT_DAYS], strict=False) if day == weekday]
        season[weekday] = sum(same) / len(same) - level if same else 0.0
    return level, 0.0, season


def _fit_holt_winters(values: Sequence[float], weekdays: Sequence[int]) -> tuple[float, float, float]:
    """The grid's parameters with the lowest in-sample one-step squared error, all of them run at once (numpy)."""
    if len(values) < HW_INIT_DAYS + SEASON:
        return HW_DEFAULT
    import numpy as np  # imported here: a third of the program's imports, which --help and failures need not pay

    grid = np.array(list(product(HW_ALPHAS, HW_BETAS, HW_GAMMAS)))
    alpha, beta, gamma = grid[:, 0], grid[:, 1], grid[:, 2]
    level0, _, season0 = _hw_initial(values, weekdays)
    level, trend = np.full(len(grid), level0), np.zeros(len(grid))
    season = np.tile(np.array(season0), (len(grid), 1))
    sse = np.zeros(len(grid))
    for index in range(HW_INIT_DAYS, len(values)):
        weekday, value = weekdays[index], values[index]
        error = value - (level + trend + season[:, weekday])
        sse += error * error
        new_level = alpha * (value - season[:, weekday]) + (1 - alpha) * (level + trend)
        trend = beta * (new_level - level) + (1 - beta) * trend
        season[:, weekday] = gamma * (value - new_level) + (1 - gamma) * season[:, weekday]
        level = new_level
    best = grid[int(np.argmin(sse))]
    return float(best[0]), float(best[1]), float(best[2])


@dataclass(frozen=True)
class _Model:
    name: str
    description: str


def _models(window: int) -> list[_Model]:
    """The candidates, seed first: on an exact tie the earlier (simpler, familiar) model stays the headline."""
    return [
        _Model("moving_average",
               f"last trading day + weighted mean of the last {window} changes between trading days (the seed's)"),
        _Model("naive", "last trading day's revenue"),
        _Model("seasonal_naive", "last trading day on the same weekday"),
        _Model("weekday_mean", f"mean of the last {WEEKDAY_MEAN_WEEKS} trading days on the same weekday"),
        _Model("holt_winters", "additive Holt-Winters over trading days, weekday season, grid-searched smoothing"),
        _Model("recent_mean", f"mean of the last {RECENT_MEAN_DAYS} trading days"),
        _Model("weekday_blend", "half weekday mean, half recent mean (the weekday pattern shrunk to the level)"),
        _Model("combination", "mean of Holt-Winters, weekday mean and recent mean"),
        _Model("recent_median", f"median of the last {RECENT_MEAN_DAYS} trading days"),
        _Model("weekday_median", f"median of the last {WEEKDAY_MEDIAN_WEEKS} trading days on the same weekday"),
        _Model("median_combination", "mean of Holt-Winters, weekday median and recent median"),
    ]


# --- the nested backtest --------------------------------------------------------------------------------------


@dataclass
class _Backtest:
    """Every model's forecasts at every origin, the nested choice at each origin and the errors of that choice."""

    series: _Series
    future: list[date]  # the trading days after the history that are forecast
    window: int
    names: list[str]
    first_cut: int
    scored: range  # origins whose one-step error enters the scores
    forecasts: list[dict[int, list[float]]]  # per model: origin -> forecasts of the next trading days
    choice: dict[int, int]  # origin -> index of the model chosen from the errors before it
    levels: dict[int, float] = field(default_factory=dict)  # origin -> ``level``, computed once
    weekday_levels: dict[tuple[int, int], float] = field(default_factory=dict)  # (origin, weekday) -> its level
    chosen_cache: dict[int, dict[int, float]] = field(default_factory=dict)

    def targets(self, cut: int) -> list[date]:
        n = len(self.series.dates)
        # at least one step: the one-step errors choose the model even when no trading day is ahead
        return self.future if cut == n else self.series.dates[cut:min(n, cut + max(1, len(self.future)))]

    def one_step_error(self, model: int, cut: int) -> float:
        return self.series.values[cut] - self.forecasts[model][cut][0]

    def headline_errors(self, step: int, before: int, weekday: int) -> list[float]:
        """Errors of the nested choice ``step`` trading days ahead, from the last origins whose target is before
        ``before`` (at most ``INTERVAL_ORIGINS`` of them), each rescaled from the level of its own target's weekday
        to that of ``weekday`` as of ``before``."""
        raw = self.chosen_errors(step)
        return self.rescaled([(cut, error) for cut in range(max(self.first_cut, before - step - INTERVAL_ORIGINS + 1),
                                                            before - step + 1) if (error := raw.get(cut)) is not None],
                             step, before, weekday)

    def rescaled(self, errors: Sequence[tuple[int, float]], step: int, before: int, weekday: int) -> list[float]:
        """Errors made at origins (``step`` trading days ahead), each rescaled from the level of its target's
        weekday to that of ``weekday`` as of ``before``."""
        level_now, dates = self.weekday_level(before, weekday), self.series.dates
        return [error * level_now / level if (level := self.weekday_level(cut, dates[cut + step - 1].weekday()))
                and level_now else error for cut, error in errors]

    def weekday_level(self, cut: int, weekday: int) -> float:
        """The sales level of ``weekday`` as of origin ``cut``: the median of its last ``WEEKDAY_MEDIAN_WEEKS`` trading
        days, but at least ``WEEKDAY_LEVEL_FLOOR`` of the overall ``level`` (a weekday of almost no sales would blow
        its errors up); the overall level while the weekday has no trading day yet. A shop's Saturday of 1,500 is
        missed by hundreds where its Sunday of 20 is missed by a few: with one level for every day, Saturday's
        interval held a third of the Saturdays and Sunday's was ten times too wide."""
        key = (cut, weekday)
        if key not in self.weekday_levels:
            same = self.series.same_weekday_before(weekday, cut, WEEKDAY_MEDIAN_WEEKS)
            level = self.level(cut)
            self.weekday_levels[key] = max(_median([abs(value) for value in same]), WEEKDAY_LEVEL_FLOOR * level) \
                if same else level
        return self.weekday_levels[key]

    def chosen_errors(self, step: int) -> dict[int, float]:
        """Origin -> error of the model chosen there, ``step`` trading days ahead (computed once per step)."""
        if step not in self.chosen_cache:
            n = len(self.series.values)
            self.chosen_cache[step] = {
                cut: self.series.values[cut + step - 1] - self.forecasts[chosen][cut][step - 1]
                for cut, chosen in self.choice.items() if cut + step - 1 < n}
        return self.chosen_cache[step]

    def level(self, cut: int) -> float:
        """Median absolute revenue of the ``RECENT_MEAN_DAYS`` trading days before ``cut`` (the floor of
        ``weekday_level``, by which errors are rescaled from their day to the day they bound, so that a shop that
        doubled its sales gets intervals twice as wide).
        The median, not the mean: one big order would otherwise raise the level of the 28 origins after it a
        thousandfold, and their rescaled errors made today's interval a few cents wide (or, with the order among
        today's 28 days, hundreds of times too wide)."""
        if cut not in self.levels:
            recent = self.series.values[max(0, cut - RECENT_MEAN_DAYS):cut]
            self.levels[cut] = _median([abs(value) for value in recent]) if recent else 0.0
        return self.levels[cut]


def _once_per_origin(predict: Predict) -> Predict:
    """``predict`` remembering its forecasts by origin: within one backtest an origin's targets are always the same
    days, and three models share the weekday and recent means (two the medians)."""
    forecasts: dict[int, list[float]] = {}

    def remembered(series: _Series, cut: int, targets: Sequence[date]) -> list[float]:
        if cut not in forecasts:
            forecasts[cut] = predict(series, cut, targets)
        return forecasts[cut]

    return remembered


def _backtest(series: _Series, future: list[date], window: int, inner: int) -> _Backtest:
    n = len(series.values)
    first_cut = min(n, max(MIN_TRAINING_DAYS, n - NESTED_ORIGINS - max(inner, WARMUP_ORIGINS) - MIN_SELECTION_ERRORS))
    holt_winters = _HoltWinters(series, first_cut)
    # The combinations' parts are forecast once per origin, and their forecasts shared with the parts' own models.
    weekday_mean, recent_mean = _once_per_origin(_weekday_mean), _once_per_origin(_recent_mean)
    weekday_median, recent_median = _once_per_origin(_weekday_median), _once_per_origin(_recent_median)
    predictors: list[Predict] = [_moving_average_model(window), _naive, _seasonal_naive, weekday_mean,
                                 holt_winters, recent_mean, _Combination(weekday_mean, recent_mean),
                                 _Combination(holt_winters, weekday_mean, recent_mean), recent_median,
                                 weekday_median, _Combination(holt_winters, weekday_median, recent_median)]
    models = _models(window)
    selectable = [index for index, model in enumerate(models) if model.name in SELECTABLE]
    backtest = _Backtest(series, future, window, [model.name for model in models], first_cut,
                         range(max(first_cut + MIN_SELECTION_ERRORS, n - NESTED_ORIGINS), n), [], {})
    targets = {cut: backtest.targets(cut) for cut in range(first_cut, n + 1)}
    for predict in predictors:
        backtest.forecasts.append({cut: predict(series, cut, days) for cut, days in targets.items()})
    # running sums of each model's absolute one-step errors: the error over any window in constant time
    sums = [list(accumulate((abs(backtest.one_step_error(model, cut)) for cut in range(first_cut, n)), initial=0.0))
            for model in range(len(predictors))]
    for cut in range(first_cut + MIN_SELECTION_ERRORS, n + 1):
        start = max(first_cut, cut - inner)
        totals = {model: sums[model][cut - first_cut] - sums[model][start - first_cut]
                  for model in selectable}
        backtest.choice[cut] = _choose(totals, cut - start)
    return backtest


def _choose(totals: dict[int, float], errors: int) -> int:
    """The selectable model with the lowest total absolute one-step error; the first on ties; the seed's model
    when there are too few errors to choose from."""
    if errors < MIN_SELECTION_ERRORS:
        return 0
    return min(totals, key=lambda model: (round(totals[model], 6), model))


def _quantile(ordered: Sequence[float], fraction: float) -> float:
    """Quantile at plotting position p(n + 1) (Hyndman-Fan type 6): slightly wider than type 7 on few errors,
    which keeps the coverage of an interval built from a few dozen errors near its nominal level."""
    position = min(max(fraction * (len(ordered) + 1) - 1, 0.0), len(ordered) - 1.0)
    below = int(position)
    if below + 1 >= len(ordered):
        return ordered[below]
    return ordered[below] + (ordered[below + 1] - ordered[below]) * (position - below)


def _interval(value: float, errors: Sequence[float]) -> tuple[float, float] | None:
    """The value shifted by the 10th and 90th percentile of errors (actual - forecast), clamped at 0 and widened
    to contain the value; None with fewer than ``MIN_INTERVAL_ERRORS`` errors."""
    if len(errors) < MIN_INTERVAL_ERRORS:
        return None
    ordered = sorted(errors)
    tail = (100 - INTERVAL_LEVEL_PCT) / 200
    lower = max(0.0, value + _quantile(ordered, tail))
    upper = max(0.0, value + _quantile(ordered, 1 - tail))
    return min(lower, max(value, 0.0)), max(upper, max(value, 0.0))


def _coverage(backtest: _Backtest) -> Decimal | None:
    """Share of scored origins whose actual fell inside the interval built from earlier origins' errors only."""
    hits = total = 0
    for cut in backtest.scored:
        chosen = backtest.choice[cut]
        interval = _interval(backtest.forecasts[chosen][cut][0],
                             backtest.headline_errors(1, cut, backtest.series.dates[cut].weekday()))
        if interval is None:
            continue
        total += 1
        hits += interval[0] <= backtest.series.values[cut] <= interval[1]
    return (Decimal(100 * hits) / total).quantize(CENT, rounding=ROUND_HALF_UP) if total else None


def _naive_scale(training: Sequence[float]) -> float | None:
    """In-sample MAE of the one-step naive forecast: MASE's denominator; None when undefined or zero."""
    if len(training) < 2:
        return None
    total = sum(abs(after - before) for before, after in pairwise(training))
    return total / (len(training) - 1) if total else None


def _score(errors: Sequence[float], actuals: Sequence[float], scale: float | None) -> BacktestScore:
    """MAE, WAPE % and MASE of backtest errors; a zero denominator gives None, not an error."""
    if not errors:
        return BacktestScore(points=0, mae=None, wape_pct=None, mase=None)
    mae = Decimal(repr(sum(abs(error) for error in errors) / len(errors)))
    volume = Decimal(repr(sum(abs(actual) for actual in actuals)))
    wape = (mae * len(errors) / volume * 100).quantize(CENT, rounding=ROUND_HALF_UP) if volume else None
    mase = (mae / Decimal(repr(scale))).quantize(MASE_STEP, rounding=ROUND_HALF_UP) if scale else None
    return BacktestScore(len(errors), mae.quantize(CENT, rounding=ROUND_HALF_UP), wape, mase)


def _scores(backtest: _Backtest) -> tuple[list[BacktestScore], BacktestScore]:
    """Each model's own one-step score and the nested choice's, over the same origins and the same MASE scale."""
    values, scored = backtest.series.values, backtest.scored
    scale = _naive_scale(values[:scored.start]) if scored else None
    actuals = [values[cut] for cut in scored]
    own = [_score([backtest.one_step_error(model, cut) for cut in scored], actuals, scale)
           for model in range(len(backtest.names))]
    nested = _score([backtest.one_step_error(backtest.choice[cut], cut) for cut in scored], actuals, scale)
    return own, nested


# --- public entry points --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Week:
    """The calendar days ahead, which of them are trading days, and the headline's day."""

    days: list[date]
    trading: list[date]
    headline: date | None


def _week_ahead(last: date, is_closed_ahead: Callable[[date], bool]) -> _Week:
    """The week after ``last``; when it has no trading day, the first one after it is forecast (as the headline)."""
    week = [last + timedelta(days=offset) for offset in range(1, HORIZON_DAYS + 1)]
    trading = [day for day in week if not is_closed_ahead(day)]
    if trading:
        return _Week(week, trading, trading[0])
    later = (week[-1] + timedelta(days=offset) for offset in range(1, HEADLINE_SEARCH_DAYS - HORIZON_DAYS + 1))
    headline = next((day for day in later if not is_closed_ahead(day)), None)
    return _Week(week, [headline] if headline else [], headline)


def _day_forecasts(backtest: _Backtest, model: int, week: _Week) -> list[ForecastDay]:
    """The week ahead by ``model``: closed days 0 with [0, 0], trading days with intervals per horizon."""
    n = len(backtest.series.values)
    values = backtest.forecasts[model][n]
    result = []
    for day in week.days:
        if day not in week.trading:
            result.append(ForecastDay(day, ZERO.quantize(CENT), ZERO.quantize(CENT), ZERO.quantize(CENT), closed=True))
            continue
        step = week.trading.index(day) + 1
        interval = _interval(values[step - 1], backtest.headline_errors(step, n, day.weekday()))
        result.append(ForecastDay(day, _float_to_cents(values[step - 1]),
                                  *((_float_to_cents(interval[0]), _float_to_cents(interval[1])) if interval
                                    else (None, None))))
    return result


def forecast_series(name: str, days: Sequence[date], revenues: Sequence[Decimal], window: int,
                    backtest_days: int = DEFAULT_BACKTEST_DAYS, *, closed_days: Collection[date] = (),
                    is_closed_ahead: Callable[[date], bool] | None = None) -> SeriesForecast:
    """The week ahead of one series (a product's revenue on the shop's calendar), by its nested choice."""
    _check_series(days, revenues)
    series = _trading_series(days, revenues, closed_days)
    week = _week_ahead(days[-1], is_closed_ahead or (lambda _day: False))
    backtest = _backtest(series, week.trading, window, backtest_days)
    chosen = backtest.choice.get(len(series.values), 0)
    return SeriesForecast(name, backtest.names[chosen], _day_forecasts(backtest, chosen, week), _scores(backtest)[1],
                          _coverage(backtest))


def forecast_next_day(
    days: Sequence[date], revenues: Sequence[Decimal], window: int, backtest_days: int = DEFAULT_BACKTEST_DAYS, *,
    closed_days: Collection[date] = (), is_closed_ahead: Callable[[date], bool] | None = None,
    products: Mapping[str, Sequence[Decimal]] | None = None,
) -> Forecast:
    """Forecast the next trading day after ``days[-1]`` (and the week ahead) on the trading calendar.

    ``days`` is a gap-free calendar; ``closed_days`` are left out of what the models learn; ``is_closed_ahead``
    says which future days are closed (forecast 0). ``backtest_days`` is the window, in trading days, over which
    the model is chosen at each origin. ``products``: revenues of products over the last days of ``days``
    (all of them or fewer), forecast too.
    """
    _check_series(days, revenues)
    if not days:
        return _empty_forecast(window)
    closed_ahead = is_closed_ahead or (lambda _day: False)
    series = _trading_series(days, revenues, closed_days)
    week = _week_ahead(days[-1], closed_ahead)
    backtest = _backtest(series, week.trading, window, backtest_days)
    own, nested = _scores(backtest)
    n = len(series.values)
    chosen = backtest.choice.get(n, 0)
    models = [_model_forecast(backtest, index, own[index]) for index in range(len(own))]
    headline = models[chosen]
    # the nested errors, as the week's; no trading day ahead (every weekday closed): no interval either
    interval = (_interval(float(headline.value), backtest.headline_errors(1, n, week.headline.weekday()))
                if week.headline else None)
    lower, upper = (_float_to_cents(interval[0]), _float_to_cents(interval[1])) if interval else (None, None)
    return Forecast(
        day=week.headline, value=headline.value, method=headline.name,
        moving_average=moving_average_forecast(series.exact, window), window=window,
        lower=lower, upper=upper, interval_level_pct=INTERVAL_LEVEL_PCT, models=models,
        backtest=nested, interval_coverage_pct=_coverage(backtest), week=_day_forecasts(backtest, chosen, week),
        products=[forecast_series(name, days[len(days) - len(values):], values, window, backtest_days,
                                  closed_days=closed_days, is_closed_ahead=closed_ahead)
                  for name, values in (products or {}).items()],
    )


def forecast_from_analysis(analysis: AnalysisResult, window: int,
                          backtest_days: int = DEFAULT_BACKTEST_DAYS) -> Forecast:
    """The report's forecast: from the whole history up to the period's end, on its trading calendar."""
    history = analysis.history
    return forecast_next_day(
        [day.day for day in history], [day.revenue for day in history], window, backtest_days,
        closed_days={day.day for day in history if not day.trading},
        is_closed_ahead=analysis.calendar.is_closed_ahead, products=analysis.product_histories,
    )


def _model_forecast(backtest: _Backtest, model: int, score: BacktestScore) -> ModelForecast:
    """One model's next-trading-day figure, with an interval from its own one-step errors (sized to the day's
    weekday, as the headline's)."""
    n = len(backtest.series.values)
    value = backtest.forecasts[model][n][0] if backtest.forecasts[model][n] else 0.0
    # The seed's figure is reported exactly (Decimal), not through the float the backtest compares.
    cents = moving_average_forecast(backtest.series.exact, backtest.window) if model == 0 else _float_to_cents(value)
    ahead = backtest.forecasts[model][n]  # empty when no trading day is ahead: no interval around nothing
    errors = [(cut, backtest.one_step_error(model, cut)) for cut in backtest.scored]
    interval = _interval(value, backtest.rescaled(errors, 1, n, backtest.future[0].weekday())) if ahead else None
    low, high = (_float_to_cents(interval[0]), _float_to_cents(interval[1])) if interval else (None, None)
    if low is not None and high is not None:
        low, high = min(low, cents), max(high, cents)
    description = _models(backtest.window)[model].description
    return ModelForecast(backtest.names[model], description, cents, low, high, score)


def _trading_series(days: Sequence[date], revenues: Sequence[Decimal], closed_days: Collection[date]) -> _Series:
    closed = set(closed_days)
    kept = [(day, revenue) for day, revenue in zip(days, revenues, strict=True) if day not in closed]
    return _Series([day for day, _ in kept], [revenue for _, revenue in kept])


def _empty_forecast(window: int) -> Forecast:
    zero = _to_cents(ZERO)
    models = [ModelForecast(model.name, model.description, zero, None, None, BacktestScore(0, None, None, None))
              for model in _models(window)]
    return Forecast(None, zero, models[0].name, zero, window, None, None, INTERVAL_LEVEL_PCT, models,
                    BacktestScore(0, None, None, None), None, [], [])


def _check_series(days: Sequence[date], revenues: Sequence[Decimal]) -> None:
    """The calendar must be gap-free: closed days are passed as ``closed_days``, not left out."""
    if len(days) != len(revenues):
        raise ValueError(f"{len(days)} days but {len(revenues)} revenues")
    for before, after in pairwise(days):
        if after - before != timedelta(days=1):
            raise ValueError(f"days must be consecutive: {before} is followed by {after}")
