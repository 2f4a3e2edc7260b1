"""Value types passed from analysis to forecasting, visualization and reporting.

Kept in a module of their own so that the output modules depend on plain data, not on the SQL that
produced it. Money is always ``Decimal``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

CENT = Decimal("0.01")  # money and percentages are reported to this step (ROUND_HALF_UP)
MASE_STEP = Decimal("0.001")  # a ratio near 1, where the third decimal still tells models apart

STRONG_GROWTH = "Strong Growth"
MODERATE_GROWTH = "Moderate Growth"
NO_CHANGE = "No Change"
DECLINE = "Decline"
NO_BASELINE = "No Baseline"
TREND_LABELS = (STRONG_GROWTH, MODERATE_GROWTH, NO_CHANGE, DECLINE, NO_BASELINE)


@dataclass(frozen=True)
class Period:
    """The calendar covered by a report; ``start``/``end`` are None when there is no data."""

    start: date | None
    end: date | None

    @property
    def days(self) -> int:
        if self.start is None or self.end is None:
            return 0
        return (self.end - self.start).days + 1


@dataclass(frozen=True)
class DailyRevenue:
    """One calendar day of the period; days without sales have zeros."""

    day: date
    revenue: Decimal
    quantity: int
    transactions: int


@dataclass(frozen=True)
class TrendDay:
    day: date
    revenue: Decimal
    change_pct: Decimal | None
    trend: str


@dataclass(frozen=True)
class ProductPerformance:
    product: str
    quantity: int
    revenue: Decimal
    revenue_share_pct: Decimal | None
    rank: int


@dataclass(frozen=True)
class AnalysisResult:
    period: Period
    daily: list[DailyRevenue]
    products: list[ProductPerformance]
    trends: list[TrendDay]
    strong_growth_pct: Decimal
    total_revenue: Decimal = Decimal("0")
    total_quantity: int = 0
    transactions: int = 0
    # Every day from the first sale to the period's end: what the forecast learns from, so that a short
    # report (--days 10) still forecasts from the whole history before its last day.
    history: list[DailyRevenue] = field(default_factory=list)


@dataclass(frozen=True)
class BacktestScore:
    """Rolling-origin one-step errors of one model; None where a measure is undefined (zero denominator)."""

    points: int
    mae: Decimal | None
    wape_pct: Decimal | None
    mase: Decimal | None


@dataclass(frozen=True)
class ModelForecast:
    name: str
    description: str
    value: Decimal
    lower: Decimal | None
    upper: Decimal | None
    backtest: BacktestScore


@dataclass(frozen=True)
class Forecast:
    """The next-day forecast: the headline model plus every model's figures.

    ``moving_average`` is the seed's figure, always computed (PRODUCT.md).
    """

    day: date | None
    value: Decimal
    method: str
    moving_average: Decimal
    window: int
    lower: Decimal | None
    upper: Decimal | None
    interval_level_pct: int
    models: list[ModelForecast] = field(default_factory=list)


@dataclass(frozen=True)
class FileOutcome:
    """What happened to one input file in this run."""

    path: str
    sha256: str | None
    status: str  # loaded | replaced | unchanged | refused
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rejections_by_reason: dict[str, int] = field(default_factory=dict)
    rejects_csv: str | None = None
    message: str = ""


@dataclass(frozen=True)
class DataQuality:
    """Data quality of the run's files plus the database-wide totals of everything loaded."""

    files: list[FileOutcome]
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    rejections_by_reason: dict[str, int]
