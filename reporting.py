"""report.json: built from the analysis, the forecast and the data-quality figures, then written safely.

Dashboards and executives read this file every morning, so its shape is a contract
(``schemas/report.schema.json``, PRODUCT.md). The inputs carry exact Decimals; numbers are rounded
half up only here, where they become JSON, so that derived figures (the daily average) come from exact
values. A report is validated before it replaces the previous one: a bug upstream leaves yesterday's
good file in place instead of a broken one.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, replace
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from atomic_io import write_bytes_atomically
from autosight.run_results import (
    CENT,
    MASE_STEP,
    TREND_LABELS,
    AnalysisResult,
    BacktestScore,
    DataQuality,
    DayAmount,
    FileOutcome,
    Forecast,
    ForecastDay,
    ModelForecast,
    Period,
    PeriodComparison,
    ProductPerformance,
    SeriesForecast,
    Span,
    TrendDay,
)
from autosight.trading_calendar import CLOSED_REASONS, WEEKDAY_NAMES, trading_day_averages

SCHEMA_VERSION = "1.1"
SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "report.schema.json"
MAX_ERRORS_SHOWN = 5



class ReportValidationError(ValueError):
    """The report does not match its schema: a bug upstream, caught before the file is replaced."""


def load_schema() -> dict[str, Any]:
    """The JSON Schema of report.json, read from the file that is published with the project."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def build_report(
    analysis: AnalysisResult,
    forecast: Forecast,
    data_quality: DataQuality,
    run_id: str,
    generated_at: datetime,
    currency: str | None = None,
) -> dict[str, Any]:
    """Assemble the report as plain JSON values (money rounded to cents), ready for ``write_report``."""
    report: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id,
        "generated_at": _utc_timestamp(generated_at),
        "notes": _notes(analysis, data_quality),
        "period": _period(analysis.period),
        "executive_summary": _executive_summary(analysis, forecast),
        "calendar": _calendar(analysis),
        "periods": {comparison.name: _comparison(comparison) for comparison in analysis.periods},
        "product_performance": [_product(product) for product in analysis.products],
        "trend_analysis": _trend_analysis(analysis, forecast.window),
        "prediction": _prediction(forecast),
        "data_quality": _data_quality(analysis, data_quality),
    }
    if currency is not None:
        report["currency"] = currency
    return report


def write_report(path: Path, report: dict[str, Any]) -> None:
    """Validate ``report`` against the schema, then replace ``path`` atomically.

    Raises ReportValidationError (and leaves ``path`` untouched) when the report does not match.
    """
    _validate(report)
    content = json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    write_bytes_atomically(Path(path), content.encode("utf-8"))


def _validate(report: dict[str, Any]) -> None:
    """The schema check, by jsonschema-rs: a report of ten years of days and inbox files takes it about 3 ms,
    where the pure-Python jsonschema took seconds (most of a nightly run)."""
    import jsonschema_rs  # imported here: --help and failures need not load it

    validator = jsonschema_rs.Draft202012Validator(load_schema(), validate_formats=True)
    errors = sorted((_json_path(error.instance_path), error.message) for error in validator.iter_errors(report))
    if not errors:
        return
    shown = "; ".join(f"{where}: {message}" for where, message in errors[:MAX_ERRORS_SHOWN])
    more = f" (and {len(errors) - MAX_ERRORS_SHOWN} more)" if len(errors) > MAX_ERRORS_SHOWN else ""
    raise ReportValidationError(f"report does not match {SCHEMA_PATH.name}: {shown}{more}")


def _json_path(parts: list[str | int]) -> str:
    """["trend_analysis", "days", 0, "trend"] -> "$.trend_analysis.days[0].trend"."""
    return "$" + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in parts)


def _number(value: Decimal | int | float, step: Decimal = CENT) -> float:
    """Round half up to ``step`` and return a JSON number.

    A float is read through its shortest text so that 2.005 rounds as the 2.005 a person sees.
    """
    exact = value if isinstance(value, Decimal) else Decimal(str(value))
    return float(exact.quantize(step, rounding=ROUND_HALF_UP)) + 0.0  # + 0.0 turns -0.0 into 0.0


def _optional_number(value: Decimal | None, step: Decimal = CENT) -> float | None:
    return None if value is None else _number(value, step)


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def _utc_timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC; a naive time is refused because its zone, and so the instant, is unknown."""
    if moment.utcoffset() is None:
        raise ValueError("generated_at must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _notes(analysis: AnalysisResult, data_quality: DataQuality) -> list[str]:
    """Plain-language caveats, so that a reader of nulls and zeros knows why they are there."""
    notes: list[str] = []
    if analysis.period.days == 0:
        notes.append("No sales data in the report period (none loaded yet, or none in the chosen dates): "
                     "figures that need at least one day are null.")
    elif analysis.period.days == 1:
        notes.append("Only one day of sales: there is no day-over-day change yet.")
    refused = [outcome.path for outcome in data_quality.files if outcome.status == "refused"]
    if refused:
        notes.append(f"Refused, nothing loaded from: {', '.join(refused)} (see data_quality.files).")
    return notes


def _period(period: Period) -> dict[str, Any]:
    return {"start": _iso(period.start), "end": _iso(period.end), "days": period.days}


def _executive_summary(analysis: AnalysisResult, forecast: Forecast) -> dict[str, Any]:
    """Headline figures; average, best and worst are over trading days (PRODUCT.md), computed in analysis."""
    products, summary = analysis.products, analysis.summary
    return {
        "total_revenue": _number(analysis.total_revenue),
        "total_quantity": analysis.total_quantity,
        "transactions": analysis.transactions,
        "products": len(products),
        "average_daily_revenue": _optional_number(summary.average_per_trading_day),
        "best_day": _day_revenue(summary.best_day),
        "worst_day": _day_revenue(summary.worst_day),
        "top_product": _product_revenue(products[0] if products else None),
        "lowest_product": _product_revenue(products[-1] if products else None),
        "latest_change": _latest_change(summary.latest_change),
        "predicted_next_day_revenue": _number(forecast.value),
        "predicted_next_day": _iso(forecast.day),
        "trading_days": summary.trading_days,
        "closed_days": summary.closed_days,
        "no_sales_trading_days": summary.no_sales_trading_days,
    }


def _day_revenue(day: DayAmount | None) -> dict[str, Any] | None:
    return None if day is None else {"date": day.day.isoformat(), "revenue": _number(day.revenue)}


def _product_revenue(product: ProductPerformance | None) -> dict[str, Any] | None:
    return None if product is None else {"product": product.product, "revenue": _number(product.revenue)}


def _latest_change(trend: TrendDay | None) -> dict[str, Any] | None:
    if trend is None:
        return None
    return {"date": trend.day.isoformat(), "change_pct": _optional_number(trend.change_pct), "trend": trend.trend,
            "week_over_week_pct": _optional_number(trend.week_over_week_pct)}


def _calendar(analysis: AnalysisResult) -> dict[str, Any]:
    """Which days of the period are closed and why, and what the calendar expects after the last day."""
    calendar = analysis.calendar
    closed = [day for day in analysis.daily if not day.trading]
    setting = calendar.rules.closed_weekdays
    return {
        "closed_weekdays_setting": None if setting is None else [WEEKDAY_NAMES[day] for day in sorted(setting)],
        "closed_weekdays_detected": [WEEKDAY_NAMES[day] for day in calendar.detected_weekdays],
        "closed_weekdays_ahead": [WEEKDAY_NAMES[day] for day in sorted(calendar.closed_weekdays_now)],
        "closed_dates_setting": len(calendar.rules.closed_dates),
        "trading_days": len(analysis.daily) - len(closed),
        "closed_days": len(closed),
        "closed_by_reason": {reason: sum(day.closed_reason == reason for day in closed) for reason in CLOSED_REASONS},
        "closed": [{"date": day.day.isoformat(), "reason": day.closed_reason} for day in closed],
    }


def _comparison(comparison: PeriodComparison) -> dict[str, Any]:
    return {
        "current": _span(comparison.current),
        "previous": None if comparison.previous is None else _span(comparison.previous),
        "change_pct": _optional_number(comparison.change_pct),
    }


def _span(span: Span) -> dict[str, Any]:
    return {"start": span.start.isoformat(), "end": span.end.isoformat(), "revenue": _number(span.revenue),
            "trading_days": span.trading_days}


def _data_quality(analysis: AnalysisResult, data_quality: DataQuality) -> dict[str, Any]:
    """The files' figures, plus the analysis's warnings (days without sales on the trading calendar)."""
    section = asdict(replace(data_quality, files=[]))
    section["files"] = [_file_outcome(outcome) for outcome in data_quality.files]
    section["warnings"] = [*section.get("warnings", []), *(
        {"code": warning.code, "date": warning.day.isoformat(), "message": warning.message}
        for warning in analysis.warnings)]
    return section


def _file_outcome(outcome: FileOutcome) -> dict[str, Any]:
    """``asdict(outcome)`` without its deep copy of every value (3,650 inbox files a night): the fields are flat
    values, the reasons' counts a dict of numbers."""
    entry = dict(vars(outcome))
    entry["rejections_by_reason"] = dict(outcome.rejections_by_reason)
    return entry


def _product(product: ProductPerformance) -> dict[str, Any]:
    return {
        "product": product.product,
        "quantity": product.quantity,
        "revenue": _number(product.revenue),
        "revenue_share_pct": _optional_number(product.revenue_share_pct),
        "rank": product.rank,
    }


def _trend_analysis(analysis: AnalysisResult, window: int) -> dict[str, Any]:
    counts = Counter(trend.trend for trend in analysis.trends)
    averages = trading_day_averages([(day.revenue, day.trading) for day in analysis.daily], window,
                                    analysis.lead_in(window))
    return {
        "thresholds": {"strong_growth_pct": _number(analysis.strong_growth_pct)},
        "moving_average_window": window,
        "days": [
            {
                "date": trend.day.isoformat(),
                "revenue": _number(trend.revenue),
                "change_pct": _optional_number(trend.change_pct),
                "trend": trend.trend,
                "week_over_week_pct": _optional_number(trend.week_over_week_pct),
                "closed_reason": day.closed_reason,
                "moving_average": _optional_number(average),
            }
            for trend, day, average in zip(analysis.trends, analysis.daily, averages, strict=True)
        ],
        "counts": {label: counts[label] for label in TREND_LABELS},
    }


def _prediction(forecast: Forecast) -> dict[str, Any]:
    return {
        "date": _iso(forecast.day),
        "value": _number(forecast.value),
        "method": forecast.method,
        "moving_average": _number(forecast.moving_average),
        "window": forecast.window,
        "lower": _optional_number(forecast.lower),
        "upper": _optional_number(forecast.upper),
        "interval_level_pct": forecast.interval_level_pct,
        "models": [_model(model) for model in forecast.models],
        "backtest": _backtest(forecast.backtest),
        "interval_coverage_pct": _optional_number(forecast.interval_coverage_pct),
        "week": [_forecast_day(day) for day in forecast.week],
        "products": [_series_forecast(series) for series in forecast.products],
    }


def _model(model: ModelForecast) -> dict[str, Any]:
    return {
        "name": model.name,
        "description": model.description,
        "value": _number(model.value),
        "lower": _optional_number(model.lower),
        "upper": _optional_number(model.upper),
        "backtest": _backtest(model.backtest),
    }


def _backtest(score: BacktestScore | None) -> dict[str, Any] | None:
    if score is None:
        return None
    return {
        "points": score.points,
        "mae": _optional_number(score.mae),
        "wape_pct": _optional_number(score.wape_pct),
        "mase": _optional_number(score.mase, MASE_STEP),
    }


def _forecast_day(day: ForecastDay) -> dict[str, Any]:
    return {"date": day.day.isoformat(), "value": _number(day.value), "lower": _optional_number(day.lower),
            "upper": _optional_number(day.upper), "closed": day.closed}


def _series_forecast(series: SeriesForecast) -> dict[str, Any]:
    return {"product": series.name,
            "method": series.method, "backtest": _backtest(series.backtest),
            "interval_coverage_pct": _optional_number(series.interval_coverage_pct),
            "days": [_forecast_day(day) for day in series.days]}
