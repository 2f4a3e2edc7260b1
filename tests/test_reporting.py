"""report.json is a contract: valid against its schema for any history, money to the cent, written atomically."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

import reporting
from autosight.run_results import (
    AnalysisResult,
    BacktestScore,
    DailyRevenue,
    DataQuality,
    FileOutcome,
    Forecast,
    ModelForecast,
    Period,
    ProductPerformance,
    TrendDay,
)
from reporting import ReportValidationError, build_report, load_schema, write_report

GENERATED_AT = datetime(2024, 3, 5, 6, 0, tzinfo=UTC)
DAY = date(2024, 3, 1)
SHA = "ab" * 32


def validate(report: dict[str, Any]) -> None:
    Draft202012Validator(load_schema(), format_checker=Draft202012Validator.FORMAT_CHECKER).validate(report)


def days(*revenues: str) -> list[DailyRevenue]:
    return [DailyRevenue(DAY + timedelta(n), Decimal(r), 1, 1) for n, r in enumerate(revenues)]


def empty_analysis() -> AnalysisResult:
    return AnalysisResult(Period(None, None), [], [], [], Decimal("20"))


def one_day_analysis() -> AnalysisResult:
    return AnalysisResult(
        period=Period(DAY, DAY),
        daily=days("50.00"),
        products=[ProductPerformance("Tea", 5, Decimal("50.00"), Decimal("100"), 1)],
        trends=[TrendDay(DAY, Decimal("50.00"), None, "No Baseline")],
        strong_growth_pct=Decimal("20"),
        total_revenue=Decimal("50.00"),
        total_quantity=5,
        transactions=1,
    )


def multi_day_analysis() -> AnalysisResult:
    """Four days with ties for best (2nd and 3rd) and worst (1st and 4th), and a mean of 100.005."""
    daily = days("0.00", "200.01", "200.01", "0.00")
    return AnalysisResult(
        period=Period(DAY, DAY + timedelta(3)),
        daily=daily,
        products=[
            ProductPerformance("Café crème", 30, Decimal("300.01"), Decimal("74.99875"), 1),
            ProductPerformance("Tea", 7, Decimal("100.01"), Decimal("25.00125"), 2),
        ],
        trends=[
            TrendDay(daily[0].day, daily[0].revenue, None, "No Baseline"),
            TrendDay(daily[1].day, daily[1].revenue, None, "No Baseline"),
            TrendDay(daily[2].day, daily[2].revenue, Decimal("0.00"), "No Change"),
            TrendDay(daily[3].day, daily[3].revenue, Decimal("-100.00"), "Decline"),
        ],
        strong_growth_pct=Decimal("20"),
        total_revenue=Decimal("400.02"),
        total_quantity=37,
        transactions=7,
    )


def forecast(day: date | None = DAY + timedelta(4), value: str = "123.455") -> Forecast:
    model = ModelForecast(
        name="moving_average",
        description="weighted mean of the last changes",
        value=Decimal(value),
        lower=Decimal("90.1"),
        upper=Decimal("150.999"),
        backtest=BacktestScore(points=3, mae=Decimal("10.005"), wape_pct=Decimal("12.345"), mase=Decimal("0.85349")),
    )
    return Forecast(
        day=day,
        value=Decimal(value),
        method="moving_average",
        moving_average=Decimal(value),
        window=5,
        lower=Decimal("90.1"),
        upper=Decimal("150.999"),
        interval_level_pct=80,
        models=[model],
    )


def empty_forecast() -> Forecast:
    return Forecast(None, Decimal("0"), "moving_average", Decimal("0"), 5, None, None, 80)


def data_quality(*files: FileOutcome) -> DataQuality:
    return DataQuality(list(files), rows_read=12, rows_loaded=11, rows_rejected=1, rejections_by_reason={"bad date": 1})


def multi_day_report() -> dict[str, Any]:
    outcome = FileOutcome("in/sales.csv", SHA, "loaded", 12, 11, 1, {"bad date": 1}, "rejects.csv", "ok")
    return build_report(multi_day_analysis(), forecast(), data_quality(outcome), "run42", GENERATED_AT)


def test_the_schema_is_valid_draft_2020_12() -> None:
    Draft202012Validator.check_schema(load_schema())


def test_the_trend_labels_are_the_schemas() -> None:
    assert list(reporting.TREND_LABELS) == load_schema()["$defs"]["trend"]["enum"]


def test_multi_day_summary_matches_hand_computed_figures() -> None:
    report = multi_day_report()

    validate(report)
    assert report["executive_summary"] == {
        "total_revenue": 400.02,
        "total_quantity": 37,
        "transactions": 7,
        "products": 2,
        "average_daily_revenue": 100.01,  # 400.02 / 4 = 100.005, half up
        "best_day": {"date": "2024-03-02", "revenue": 200.01},  # tie with 03-03: earliest wins
        "worst_day": {"date": "2024-03-01", "revenue": 0.0},  # tie with 03-04: earliest wins
        "top_product": {"product": "Café crème", "revenue": 300.01},
        "lowest_product": {"product": "Tea", "revenue": 100.01},
        "latest_change": {"date": "2024-03-04", "change_pct": -100.0, "trend": "Decline", "week_over_week_pct": None},
        "predicted_next_day_revenue": 123.46,
        # added in schema 1.1: every day of this hand-built history is a trading day with a sale
        "predicted_next_day": "2024-03-05",
        "trading_days": 4,
        "closed_days": 0,
        "no_sales_trading_days": 0,
    }
    assert report["period"] == {"start": "2024-03-01", "end": "2024-03-04", "days": 4}
    assert report["notes"] == []


def test_multi_day_sections_carry_every_figure_rounded() -> None:
    report = multi_day_report()

    assert [p["revenue_share_pct"] for p in report["product_performance"]] == [75.0, 25.0]
    assert report["trend_analysis"]["thresholds"] == {"strong_growth_pct": 20.0}
    assert report["trend_analysis"]["counts"] == {
        "Strong Growth": 0,
        "Moderate Growth": 0,
        "No Change": 1,
        "Decline": 1,
        "No Baseline": 2,
        "Closed": 0,
    }
    assert report["trend_analysis"]["days"][3] == {
        "date": "2024-03-04",
        "revenue": 0.0,
        "change_pct": -100.0,
        "trend": "Decline",
        "week_over_week_pct": None,
        "closed_reason": None,
        "moving_average": None,  # key added on purpose: 4 trading days never fill the window of 5
    }
    assert report["trend_analysis"]["moving_average_window"] == 5
    prediction = report["prediction"]
    assert (prediction["date"], prediction["value"], prediction["lower"], prediction["upper"]) == (
        "2024-03-05",
        123.46,
        90.1,
        151.0,
    )
    assert prediction["models"][0]["backtest"] == {"points": 3, "mae": 10.01, "wape_pct": 12.35, "mase": 0.853}
    assert report["data_quality"]["files"][0]["status"] == "loaded"
    assert report["data_quality"]["rejections_by_reason"] == {"bad date": 1}


def test_an_empty_database_gives_a_valid_report_that_says_there_is_no_data() -> None:
    report = build_report(empty_analysis(), empty_forecast(), data_quality(), "run42", GENERATED_AT)

    validate(report)
    summary = report["executive_summary"]
    assert report["period"] == {"start": None, "end": None, "days": 0}
    assert (summary["total_revenue"], summary["transactions"], summary["products"]) == (0.0, 0, 0)
    for key in ("average_daily_revenue", "best_day", "worst_day", "top_product", "lowest_product", "latest_change"):
        assert summary[key] is None
    assert summary["predicted_next_day_revenue"] == 0.0
    assert report["product_performance"] == []
    assert report["trend_analysis"]["days"] == []
    assert set(report["trend_analysis"]["counts"].values()) == {0}
    assert report["prediction"]["date"] is None
    # the same empty analysis comes from an empty database and from --from/--to outside the data
    assert report["notes"][0].startswith("No sales data in the report period (none loaded yet, or none in the chosen")


def test_a_one_day_history_gives_a_valid_report() -> None:
    report = build_report(one_day_analysis(), forecast(DAY + timedelta(1), "50"), data_quality(), "r", GENERATED_AT)

    validate(report)
    summary = report["executive_summary"]
    assert summary["average_daily_revenue"] == 50.0
    assert summary["best_day"] == summary["worst_day"] == {"date": "2024-03-01", "revenue": 50.0}
    assert summary["latest_change"] == {"date": "2024-03-01", "change_pct": None, "trend": "No Baseline",
                                        "week_over_week_pct": None}
    assert report["trend_analysis"]["counts"]["No Baseline"] == 1
    assert "one day" in report["notes"][0]


@pytest.mark.parametrize(
    ("amount", "expected", "text"),
    [
        (Decimal("2.005"), 2.01, "2.01"),
        (Decimal("2.0049999"), 2.0, "2.0"),
        (Decimal("-2.005"), -2.01, "-2.01"),
        (Decimal("-0.001"), 0.0, "0.0"),
        (Decimal("6737218987.115"), 6737218987.12, "6737218987.12"),
        (2.005, 2.01, "2.01"),
    ],
)
def test_money_is_rounded_half_up_to_the_cent(amount: Decimal | float, expected: float, text: str) -> None:
    # A float on purpose too (2.005): the report rounds what it is given as the text a person sees.
    analysis = replace(multi_day_analysis(), total_revenue=amount)  # type: ignore[arg-type]
    report = build_report(analysis, forecast(), data_quality(), "run42", GENERATED_AT)

    total = report["executive_summary"]["total_revenue"]
    assert total == expected
    assert json.dumps(total) == text


def test_generated_at_is_written_in_utc() -> None:
    paris = datetime(2024, 3, 5, 8, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    report = build_report(empty_analysis(), empty_forecast(), data_quality(), "run42", paris)

    assert report["generated_at"] == "2024-03-05T06:00:00Z"


def test_a_naive_generated_at_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        build_report(empty_analysis(), empty_forecast(), data_quality(), "run42", datetime(2024, 3, 5))


def test_refused_files_are_named_in_the_notes() -> None:
    refused = FileOutcome("in/bad.csv", SHA, "refused", 10, 0, 10, {"bad price": 10}, None, "too many rejects")
    report = build_report(multi_day_analysis(), forecast(), data_quality(refused), "run42", GENERATED_AT)

    validate(report)
    assert report["notes"] == ["Refused, nothing loaded from: in/bad.csv (see data_quality.files)."]


def test_write_report_writes_indented_utf8_json_with_a_final_newline(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    report = multi_day_report()

    write_report(target, report)

    text = target.read_bytes().decode("utf-8")
    assert text.endswith("}\n")
    assert '\n  "schema_version": "1.1",' in text
    assert "Café crème" in text
    assert json.loads(text) == report


def break_period(report: dict[str, Any]) -> None:
    report["period"]["days"] = -1


def break_date(report: dict[str, Any]) -> None:
    report["executive_summary"]["best_day"]["date"] = "2024-02-30"


def break_trend(report: dict[str, Any]) -> None:
    report["trend_analysis"]["days"][0]["trend"] = "Growth"


def break_generated_at(report: dict[str, Any]) -> None:
    report["generated_at"] = "2024-03-05T08:00:00+02:00"


def drop_summary(report: dict[str, Any]) -> None:
    del report["executive_summary"]


@pytest.mark.parametrize(
    ("damage", "where"),
    [
        (break_period, "$.period.days"),
        (break_date, "$.executive_summary.best_day.date"),
        (break_trend, "$.trend_analysis.days[0].trend"),
        (break_generated_at, "$.generated_at"),
        (drop_summary, "executive_summary"),
    ],
)
def test_an_invalid_report_leaves_the_previous_file_untouched(tmp_path: Path, damage: Any, where: str) -> None:
    target = tmp_path / "report.json"
    write_report(target, multi_day_report())
    before = target.read_bytes()
    report = multi_day_report()
    damage(report)

    with pytest.raises(
        ReportValidationError, match=rf"report does not match report\.schema\.json: .*{re.escape(where)}"
    ):
        write_report(target, report)

    assert target.read_bytes() == before
    assert [path.name for path in tmp_path.iterdir()] == ["report.json"]


def test_a_report_that_is_not_json_leaves_no_file(tmp_path: Path) -> None:
    report = multi_day_report()
    report["executive_summary"]["total_revenue"] = float("nan")

    with pytest.raises(ValueError):
        write_report(tmp_path / "report.json", report)

    assert list(tmp_path.iterdir()) == []


def test_additions_at_the_top_level_are_allowed(tmp_path: Path) -> None:
    report = multi_day_report()
    report["dashboard_hint"] = {"colour": "green"}

    write_report(tmp_path / "report.json", report)


# The keys PRODUCT.md names, section by section: the schema must require every one of them by exactly this name.
PRODUCT_KEYS: dict[str, set[str]] = {
    "": {"schema_version", "generated_at", "period", "executive_summary", "product_performance", "trend_analysis",
         "prediction", "data_quality"},
    "period": {"start", "end", "days"},
    "executive_summary": {"total_revenue", "total_quantity", "transactions", "products", "average_daily_revenue",
                          "best_day", "worst_day", "top_product", "lowest_product", "latest_change",
                          "predicted_next_day_revenue"},
    "executive_summary.best_day": {"date", "revenue"},
    "executive_summary.worst_day": {"date", "revenue"},
    "executive_summary.top_product": {"product", "revenue"},
    "executive_summary.lowest_product": {"product", "revenue"},
    "executive_summary.latest_change": {"date", "change_pct", "trend"},
    "product_performance[]": {"product", "quantity", "revenue", "revenue_share_pct", "rank"},
    "trend_analysis": {"thresholds", "days", "counts"},
    "trend_analysis.days[]": {"date", "revenue", "change_pct", "trend"},
    "prediction": {"date", "value", "method", "moving_average", "window"},
    "data_quality": {"files", "rows_read", "rows_loaded", "rows_rejected", "rejections_by_reason"},
}


def schema_node(schema: dict[str, Any], dotted: str) -> dict[str, Any]:
    """The subschema at ``a.b[]`` (``[]``: the items of an array), following local $refs."""
    node = schema
    for part in filter(None, dotted.split(".")):
        node = node["properties"][part.removesuffix("[]")]
        if part.endswith("[]"):
            node = node["items"]
        if "$ref" in node:
            node = schema["$defs"][node["$ref"].rsplit("/", 1)[1]]
    return node


def report_node(report: dict[str, Any], dotted: str) -> dict[str, Any]:
    node: Any = report
    for part in filter(None, dotted.split(".")):
        node = node[part.removesuffix("[]")]
        if part.endswith("[]"):
            node = node[0]
    return node


@pytest.mark.parametrize("section", list(PRODUCT_KEYS))
def test_the_schema_requires_every_key_product_md_names(section: str) -> None:
    assert PRODUCT_KEYS[section] <= set(schema_node(load_schema(), section)["required"])
    assert PRODUCT_KEYS[section] <= set(report_node(multi_day_report(), section))


def add_summary_key(report: dict[str, Any]) -> None:
    report["executive_summary"]["median_daily_revenue"] = 100.0


def add_file_key(report: dict[str, Any]) -> None:
    report["data_quality"]["files"][0]["encoding"] = "utf-8"


def add_backtest_key(report: dict[str, Any]) -> None:
    report["prediction"]["models"][0]["backtest"]["rmse"] = 12.5


def add_day_key(report: dict[str, Any]) -> None:
    report["trend_analysis"]["days"][0]["weekday"] = "Friday"


@pytest.mark.parametrize("addition", [add_summary_key, add_file_key, add_backtest_key, add_day_key])
def test_keys_added_inside_a_section_are_allowed(tmp_path: Path, addition: Any) -> None:
    """PRODUCT.md: keys may be added, never renamed. A dashboard that validates with this schema must accept a
    report that has gained a key, and the nightly run must not fail because ingestion reports one more figure."""
    report = multi_day_report()
    addition(report)

    write_report(tmp_path / "report.json", report)

    assert json.loads((tmp_path / "report.json").read_text(encoding="utf-8")) == report


def test_a_renamed_key_is_refused(tmp_path: Path) -> None:
    report = multi_day_report()
    report["executive_summary"]["revenue_total"] = report["executive_summary"].pop("total_revenue")

    with pytest.raises(ReportValidationError, match="total_revenue"):
        write_report(tmp_path / "report.json", report)
