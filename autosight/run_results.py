"""What a run's steps find and hand on: the analysis (period, days, trends, products), the forecast, each
file's outcome and the data quality, as plain values for forecasting, visualization, reporting and the API.

Kept in a module of their own so that the output modules depend on plain data, not on the SQL that
produced it. Money is always ``Decimal``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property

from autosight.trading_calendar import CalendarRules, TradingCalendar

CENT = Decimal("0.01")  # money and percentages are reported to this step (ROUND_HALF_UP)
MASE_STEP = Decimal("0.001")  # a ratio near 1, where the third decimal still tells models apart

STRONG_GROWTH = "Strong Growth"
MODERATE_GROWTH = "Moderate Growth"
NO_CHANGE = "No Change"
DECLINE = "Decline"
NO_BASELINE = "No Baseline"
CLOSED = "Closed"
TREND_LABELS = (STRONG_GROWTH, MODERATE_GROWTH, NO_CHANGE, DECLINE, NO_BASELINE, CLOSED)
NO_SALES_ON_TRADING_DAY = "no_sales_on_trading_day"
SALES_ON_CLOSED_DAY = "sales_on_closed_day"


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
    """One calendar day of the period; days without sales have zeros. ``closed_reason`` is set on closed days
    (see autosight.trading_calendar), None on trading days."""

    day: date
    revenue: Decimal
    quantity: int
    transactions: int
    closed_reason: str | None = None

    @property
    def trading(self) -> bool:
        return self.closed_reason is None


@dataclass(frozen=True)
class TrendDay:
    """Change against the previous trading day, and against the same weekday a week earlier when that was a
    trading day; both None on closed days (trend ``Closed``)."""

    day: date
    revenue: Decimal
    change_pct: Decimal | None
    trend: str
    week_over_week_pct: Decimal | None = None


@dataclass(frozen=True)
class DayAmount:
    day: date
    revenue: Decimal


@dataclass(frozen=True)
class TradingSummary:
    """The period's figures over trading days (PRODUCT.md): closed days count in no average, best or worst."""

    trading_days: int
    closed_days: int
    no_sales_trading_days: int
    average_per_trading_day: Decimal | None
    best_day: DayAmount | None
    worst_day: DayAmount | None
    latest_change: TrendDay | None


@dataclass(frozen=True)
class Span:
    """Revenue of a stretch of days, with how many of them were trading days."""

    start: date
    end: date
    revenue: Decimal
    trading_days: int


@dataclass(frozen=True)
class PeriodComparison:
    """One stretch against an earlier one (``previous`` None where the history does not reach back)."""

    name: str  # last_7_days | month_to_date | year_over_year
    current: Span
    previous: Span | None
    change_pct: Decimal | None


@dataclass(frozen=True)
class DataWarning:
    code: str
    day: date
    message: str


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
    calendar: TradingCalendar = field(default_factory=lambda: TradingCalendar(None, None, {}, CalendarRules(),
                                                                             frozenset()))
    periods: list[PeriodComparison] = field(default_factory=list)
    warnings: list[DataWarning] = field(default_factory=list)
    # Daily revenue of the period's top products over ``history``'s days (same order): the per-product forecasts.
    product_histories: dict[str, list[Decimal]] = field(default_factory=dict)

    def lead_in(self, window: int) -> list[Decimal]:
        """Revenues of the last ``window`` - 1 trading days before the period: where its moving average starts."""
        trading = [day.revenue for day in self.history[:len(self.history) - len(self.daily)] if day.trading]
        return trading[len(trading) - window + 1:] if window > 1 else []

    @cached_property
    def summary(self) -> TradingSummary:
        """Counts, average, best and worst over the period's trading days (ties go to the earliest day), and
        the latest trading day's change: derived here once, for every output."""
        trading = [day for day in self.daily if day.trading]
        total = sum((day.revenue for day in trading), Decimal("0.00"))
        best = max(trading, key=lambda d: (d.revenue, -d.day.toordinal()), default=None)
        worst = min(trading, key=lambda d: (d.revenue, d.day), default=None)
        return TradingSummary(
            trading_days=len(trading),
            closed_days=len(self.daily) - len(trading),
            no_sales_trading_days=sum(day.transactions == 0 for day in trading),
            average_per_trading_day=total / len(trading) if trading else None,
            best_day=DayAmount(best.day, best.revenue) if best else None,
            worst_day=DayAmount(worst.day, worst.revenue) if worst else None,
            latest_change=next((trend for trend in reversed(self.trends) if trend.trend != CLOSED), None),
        )


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
class ForecastDay:
    """One day ahead; a day expected closed is forecast 0 with the interval [0, 0]."""

    day: date
    value: Decimal
    lower: Decimal | None
    upper: Decimal | None
    closed: bool = False


@dataclass(frozen=True)
class SeriesForecast:
    """The week ahead of one series (a product), by the model its nested backtest picks at the last origin."""

    name: str
    method: str
    days: list[ForecastDay]
    backtest: BacktestScore
    interval_coverage_pct: Decimal | None


@dataclass(frozen=True)
class Forecast:
    """The next-trading-day forecast: the headline model plus every model's figures.

    ``moving_average`` is the seed's figure, always computed (PRODUCT.md). ``backtest`` is the nested
    rolling-origin score of the headline procedure (at each origin the model is chosen from earlier data only),
    ``interval_coverage_pct`` the share of those backtest days whose actual fell in the 80 % interval.
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
    backtest: BacktestScore | None = None
    interval_coverage_pct: Decimal | None = None
    week: list[ForecastDay] = field(default_factory=list)
    products: list[SeriesForecast] = field(default_factory=list)


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
class QualityWarning:
    """Something implausible in what was loaded (not a rejection): a reader should look at it."""

    code: str
    message: str


@dataclass(frozen=True)
class RejectsFile:
    """What rejects.csv holds: every rejected row of the files currently loaded, plus those of the files
    refused in this run (``rows`` of them); ``path`` is None when there are none (and no rejects.csv)."""

    path: str | None
    rows: int
    holds: str = "every rejected row of the files currently loaded, plus those of the files refused in this run"


@dataclass(frozen=True)
class DataQuality:
    """Data quality of the run's files plus the database-wide totals of everything loaded."""

    files: list[FileOutcome]
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    rejections_by_reason: dict[str, int]
    warnings: list[QualityWarning] = field(default_factory=list)
    rejects_csv: RejectsFile | None = None
