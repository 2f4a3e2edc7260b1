"""Next-day revenue forecast: the seed's moving average plus simple baselines, chosen by an honest backtest.

Why several models: daily shop revenue is mostly noise around a level with a weekly pattern, and the seed's
trend-extrapolating moving average chases that noise. Every model is scored on a rolling-origin one-step
backtest (day ``t`` predicted from days ``< t`` only) and the headline is the model with the lowest MASE, so
the report never claims more accuracy than was measured. The seed's figure is always computed and reported.

Money stays ``Decimal`` at the edges; Holt-Winters alone computes in float internally (its smoothing is an
approximation anyway) and is returned as ``Decimal``. Every forecast is clamped at 0 and rounded to the cent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from itertools import pairwise, product

from analysis_types import CENT, MASE_STEP, BacktestScore, Forecast, ModelForecast

ZERO = Decimal(0)
SEASON = 7
INTERVAL_LEVEL_PCT = 80
MIN_TRAINING_DAYS = SEASON  # a backtest origin needs one full week behind it, so seasonal models are seasonal
MIN_INTERVAL_ERRORS = 5  # fewer errors than this give no meaningful 10th/90th percentile
WEEKDAY_MEAN_WEEKS = 4
HW_MIN_DAYS = 2 * SEASON  # two full seasons: one to initialise, one to start learning
HW_HISTORY_DAYS = 16 * SEASON
HW_ALPHAS = (0.05, 0.1, 0.2, 0.3, 0.5)
HW_BETAS = (0.0, 0.05, 0.1)
HW_GAMMAS = (0.05, 0.1, 0.2, 0.3)


def _to_cents(value: Decimal) -> Decimal:
    """Clamp at 0 (revenue forecasts are never negative) and round to the cent, half up."""
    return max(ZERO, value).quantize(CENT, rounding=ROUND_HALF_UP)


def moving_average_forecast(revenues: Sequence[Decimal], window: int) -> Decimal:
    """The seed's prediction (PRODUCT.md): last day + weighted mean of the last ``window`` day-over-day changes.

    Changes are absolute money (``r[t] - r[t-1]``), weighted 1..k with the most recent heaviest, where k is
    ``window`` or the number of changes available if fewer. No change: the last day (0 with no data).
    """
    if window < 1:
        raise ValueError(f"moving-average window must be at least 1, got {window}")
    if not revenues:
        return _to_cents(ZERO)
    changes = [revenues[i] - revenues[i - 1] for i in range(1, len(revenues))][-window:]
    weighted = sum((weight * change for weight, change in enumerate(changes, start=1)), ZERO)
    weights = len(changes) * (len(changes) + 1) // 2
    step = weighted / weights if weights else ZERO
    return _to_cents(revenues[-1] + step)


def naive_forecast(revenues: Sequence[Decimal]) -> Decimal:
    """Tomorrow = today: the benchmark every MASE is measured against."""
    return _to_cents(revenues[-1] if revenues else ZERO)


def seasonal_naive_forecast(revenues: Sequence[Decimal]) -> Decimal:
    """Tomorrow = the same weekday last week; naive with less than a week of data."""
    if len(revenues) < SEASON:
        return naive_forecast(revenues)
    return _to_cents(revenues[-SEASON])


def weekday_mean_forecast(revenues: Sequence[Decimal], weeks: int = WEEKDAY_MEAN_WEEKS) -> Decimal:
    """Mean of the same weekday over the last ``weeks`` weeks (those available); naive with under a week.

    Averaging a few weeks keeps the weekly pattern of seasonal naive but divides its noise.
    """
    same_weekday = list(revenues[-SEASON::-SEASON])[:weeks]
    if not same_weekday:
        return naive_forecast(revenues)
    return _to_cents(sum(same_weekday, ZERO) / len(same_weekday))


def _holt_winters_run(series: Sequence[float], alpha: float, beta: float, gamma: float) -> tuple[float, float]:
    """One additive Holt-Winters pass; returns (in-sample one-step SSE, next-step forecast).

    Initialised from the first two weeks: level = first week's mean, trend = 0 (so beta = 0 is the
    trend-free model and a trend is only kept when the data earns it), seasonal = mean deviation of each
    weekday from its week's mean. One-step errors are summed from the second week on.
    """
    first, second = series[:SEASON], series[SEASON : 2 * SEASON]
    mean1, mean2 = sum(first) / SEASON, sum(second) / SEASON
    season = [((a - mean1) + (b - mean2)) / 2 for a, b in zip(first, second, strict=True)]
    level, trend, sse = mean1, 0.0, 0.0
    for t in range(SEASON, len(series)):
        index = t % SEASON
        error = series[t] - (level + trend + season[index])
        sse += error * error
        new_level = alpha * (series[t] - season[index]) + (1 - alpha) * (level + trend)
        trend = beta * (new_level - level) + (1 - beta) * trend
        season[index] = gamma * (series[t] - new_level) + (1 - gamma) * season[index]
        level = new_level
    return sse, level + trend + season[len(series) % SEASON]


def holt_winters_forecast(revenues: Sequence[Decimal]) -> Decimal:
    """Additive Holt-Winters (period 7) on the last ``HW_HISTORY_DAYS`` days; seasonal naive under 14 days.

    Smoothing parameters come from a small grid, minimising the in-sample one-step SSE (no future data).
    The history is capped so the level and weekday pattern follow the recent shop, not last year's (and so
    the grid stays cheap inside the backtest). Alpha stops at 0.05: over 16 weeks a smaller alpha would leave
    the level mostly at the first week's mean, an artefact of the initialisation rather than an estimate.
    """
    if len(revenues) < HW_MIN_DAYS:
        return seasonal_naive_forecast(revenues)
    series = [float(value) for value in revenues[-HW_HISTORY_DAYS:]]
    runs = (_holt_winters_run(series, *params) for params in product(HW_ALPHAS, HW_BETAS, HW_GAMMAS))
    _, forecast = min(runs, key=lambda run: run[0])
    return _to_cents(Decimal(forecast))


@dataclass(frozen=True)
class _Model:
    name: str
    description: str
    predict: Callable[[Sequence[Decimal]], Decimal]


def _models(window: int) -> list[_Model]:
    """The candidates, seed first: on an exact tie the earlier (simpler, familiar) model stays the headline."""
    return [
        _Model(
            "moving_average",
            f"last day + weighted mean of the last {window} day-over-day changes (the seed's method)",
            partial(moving_average_forecast, window=window),
        ),
        _Model("naive", "last day's revenue", naive_forecast),
        _Model(
            "seasonal_naive",
            "same weekday last week (last day with under 7 days)",
            seasonal_naive_forecast,
        ),
        _Model(
            "weekday_mean",
            f"mean of the same weekday over the last {WEEKDAY_MEAN_WEEKS} weeks (last day with under 7 days)",
            weekday_mean_forecast,
        ),
        _Model(
            "holt_winters",
            "additive Holt-Winters, period 7, grid-searched smoothing (seasonal naive with under 14 days)",
            holt_winters_forecast,
        ),
    ]


def _naive_scale(training: Sequence[Decimal]) -> Decimal | None:
    """In-sample MAE of the one-step naive forecast: MASE's denominator; None when undefined or zero."""
    if len(training) < 2:
        return None
    total = sum((abs(training[i] - training[i - 1]) for i in range(1, len(training))), ZERO)
    return total / (len(training) - 1) if total else None


def _score(errors: Sequence[Decimal], actuals: Sequence[Decimal], scale: Decimal | None) -> BacktestScore:
    """MAE, WAPE % and MASE of one model's backtest errors; a zero denominator gives None, not an error."""
    if not errors:
        return BacktestScore(points=0, mae=None, wape_pct=None, mase=None)
    absolute = sum((abs(error) for error in errors), ZERO)
    mae = absolute / len(errors)
    volume = sum((abs(actual) for actual in actuals), ZERO)
    wape = (absolute / volume * 100).quantize(CENT, rounding=ROUND_HALF_UP) if volume else None
    mase = (mae / scale).quantize(MASE_STEP, rounding=ROUND_HALF_UP) if scale else None
    return BacktestScore(len(errors), mae.quantize(CENT, rounding=ROUND_HALF_UP), wape, mase)


def _quantile(ordered: Sequence[Decimal], fraction: Decimal) -> Decimal:
    """Linear-interpolation quantile of sorted values (the usual 'type 7' definition)."""
    position = (len(ordered) - 1) * fraction
    below = int(position)
    if below + 1 >= len(ordered):
        return ordered[below]
    return ordered[below] + (ordered[below + 1] - ordered[below]) * (position - below)


def _interval(value: Decimal, errors: Sequence[Decimal]) -> tuple[Decimal | None, Decimal | None]:
    """80 % interval: the value shifted by the 10th and 90th percentile of backtest errors (actual - forecast).

    Clamped at 0 and widened, if needed, to contain the value itself, so lower <= value <= upper always.
    None with fewer than ``MIN_INTERVAL_ERRORS`` errors.
    """
    if len(errors) < MIN_INTERVAL_ERRORS:
        return None, None
    ordered = sorted(errors)
    tail = Decimal(100 - INTERVAL_LEVEL_PCT) / 200
    lower = _to_cents(value + _quantile(ordered, tail))
    upper = _to_cents(value + _quantile(ordered, 1 - tail))
    return min(lower, value), max(upper, value)


def _evaluate(model: _Model, revenues: Sequence[Decimal], origins: range, scale: Decimal | None) -> ModelForecast:
    """Backtest one model over ``origins`` (each day predicted from the days before it only), then forecast."""
    errors = [revenues[t] - model.predict(revenues[:t]) for t in origins]
    actuals = [revenues[t] for t in origins]
    value = model.predict(revenues)
    lower, upper = _interval(value, errors)
    return ModelForecast(model.name, model.description, value, lower, upper, _score(errors, actuals, scale))


def _headline(models: Sequence[ModelForecast]) -> ModelForecast:
    """Lowest backtest MASE; ties or undefined MASE: lowest MAE; no backtest at all: the seed (first)."""
    scored = [model for model in models if model.backtest.mae is not None]
    if not scored:
        return models[0]
    return min(
        scored,
        key=lambda m: (m.backtest.mase is None, m.backtest.mase or ZERO, m.backtest.mae or ZERO),
    )


def _check_series(days: Sequence[date], revenues: Sequence[Decimal]) -> None:
    """Seasonal models index by position, so the series must be a gap-free calendar."""
    if len(days) != len(revenues):
        raise ValueError(f"{len(days)} days but {len(revenues)} revenues")
    for before, after in pairwise(days):
        if after - before != timedelta(days=1):
            raise ValueError(f"days must be consecutive: {before} is followed by {after}")


def forecast_next_day(
    days: Sequence[date], revenues: Sequence[Decimal], window: int, backtest_days: int = 28
) -> Forecast:
    """Forecast the day after ``days[-1]`` with every model and pick the headline by backtest MASE.

    The backtest predicts each of the last ``backtest_days`` days (keeping at least ``MIN_TRAINING_DAYS`` of
    training) from the days before it. MASE is scaled by the naive one-step MAE of the days before the backtest
    window, the same scale for every model so that their MASEs compare.
    """
    _check_series(days, revenues)
    series = list(revenues)
    origins = range(max(MIN_TRAINING_DAYS, len(series) - max(backtest_days, 0)), len(series))
    scale = _naive_scale(series[: origins.start]) if origins else None
    models = [_evaluate(model, series, origins, scale) for model in _models(window)]
    best = _headline(models)
    return Forecast(
        day=days[-1] + timedelta(days=1) if days else None,
        value=best.value,
        method=best.name,
        moving_average=models[0].value,
        window=window,
        lower=best.lower,
        upper=best.upper,
        interval_level_pct=INTERVAL_LEVEL_PCT,
        models=models,
    )
