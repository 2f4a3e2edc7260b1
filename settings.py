"""Settings from `.env` and the environment (the real environment wins), validated once; and the run
configuration, which is the settings with the command line's flags applied (built by cli.py).

Names follow PRODUCT.md: DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_PASSWORD or DATABASE_URL select a
server; with none of them set, an embedded PostgreSQL is used.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

import psycopg2.extensions
from dotenv import dotenv_values

from autosight.bounds import Bounds
from autosight.trading_calendar import CalendarRules, closed_dates_setting, parse_closed_weekdays
from csv_format import CANONICAL_COLUMNS, decoding_name
from csv_values import check_date_format
from errors import ConfigError, UsageError

# Product names are part of the rollup's primary key: a btree entry holds at most about 2,700 bytes, and a
# character takes up to 4 bytes in UTF-8, so 600 characters (2,400 bytes) is the most that always fits.
PRODUCT_NAME_CEILING = 600
# Amount bounds: sums of up to 10^9 rows at the bound stay within Python's 28-digit Decimal context.
AMOUNT_CEILING = Decimal(10) ** 15
DB_VARIABLES = ("DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD")
# The HTTP server's own settings (api.py; read by autosight/web/config.py).
API_SETTING_NAMES = ("AUTOSIGHT_API_TOKEN", "UPLOAD_MAX_MB", "UPLOAD_DIR", "CORS_ORIGINS", "INBOX_DIR",
                     "INBOX_INTERVAL_MINUTES")
# Every setting read from .env or the environment, and only these: .env.example documents each one, and the
# tests clear each one from the environment of their runs (a developer's own LOG_FILE must not leak in).
SETTING_NAMES = (
    "DATABASE_URL", *DB_VARIABLES, "CONNECT_RETRIES", "CONNECT_RETRY_DELAY", "AUTOSIGHT_DATA_DIR",
    "CSV_PATH", "COLUMN_MAP", "DATE_FORMAT", "CSV_ENCODING", "REJECT_THRESHOLD_PCT",
    "EARLIEST_SALE_DATE", "MAX_FUTURE_DAYS", "MAX_QUANTITY", "MAX_UNIT_PRICE", "MAX_LINE_TOTAL",
    "PRODUCT_NAME_MAX_CHARS", "CURRENCY",
    "STRONG_GROWTH_PCT", "MA_WINDOW", "BACKTEST_DAYS", "CLOSED_WEEKDAYS", "CLOSED_DATES", "CLOSED_DATES_FILE",
    "OUTPUT_DIR", "LOG_FILE", "LOG_LEVEL", *API_SETTING_NAMES,
)
MAPPABLE_COLUMNS = (*CANONICAL_COLUMNS, "revenue")


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    db_params: dict[str, str] = field(default_factory=dict)
    data_dir: Path = Path(".autosight")
    csv_path: Path | None = None
    output_dir: Path = Path(".")
    log_file: Path = Path("autosight.log")
    log_level: str = "INFO"
    column_map: dict[str, str] = field(default_factory=dict)
    date_format: str | None = None
    encoding: str = "utf-8"
    strong_growth_pct: Decimal = Decimal("20")
    ma_window: int = 5
    reject_threshold_pct: Decimal = Decimal("10")
    backtest_days: int = 14
    connect_retries: int = 3
    connect_retry_delay: float = 1.0
    closed_weekdays: frozenset[int] | None = None  # None: detected from the history
    closed_dates: frozenset[date] = frozenset()
    bounds: Bounds = field(default_factory=Bounds)  # the row gate's (README, "Bad input"), CURRENCY included

    @property
    def currency(self) -> str:
        """ISO 4217 code of every amount (CURRENCY)."""
        return self.bounds.currency

    @property
    def uses_embedded_database(self) -> bool:
        return self.database_url is None and not self.db_params

    @property
    def secrets(self) -> tuple[str, ...]:
        """The database password, however given: masked wherever it could be printed or logged (the password of
        a malformed DATABASE_URL, which libpq cannot parse, is masked by logger_config's URI pattern)."""
        from_url = None
        with contextlib.suppress(psycopg2.ProgrammingError):
            from_url = psycopg2.extensions.parse_dsn(self.database_url or "").get("password")
        return tuple(secret for secret in (from_url, self.db_params.get("DB_PASSWORD")) if secret)

    @property
    def calendar_rules(self) -> CalendarRules:
        return CalendarRules(self.closed_weekdays, self.closed_dates)


@dataclass(frozen=True)
class RunConfig:
    """Everything one run does, from the settings and the command line, validated once (cli.run_config)."""

    settings: Settings = field(default_factory=Settings)
    csv_files: tuple[Path, ...] = ()  # --csv
    inbox: Path | None = None  # --inbox
    skip_ingest: bool = False  # --skip-ingest
    date_from: date | None = None
    date_to: date | None = None
    days: int | None = None
    wait_seconds: float = 0.0
    verbose: bool = False
    recorded: bool = True  # stored in the runs table as 'batch'; not when the API's scheduler records the run


def read_environment(environ: Mapping[str, str] | None = None, env_file: Path | None = None) -> dict[str, str]:
    """The settings of `.env` (if present) under those of the environment (``os.environ`` by default), which win."""
    merged: dict[str, str] = {}
    path = env_file if env_file is not None else Path.cwd() / ".env"
    if path.is_file():
        merged.update({key: value for key, value in dotenv_values(path).items() if value is not None})
    merged.update(os.environ if environ is None else environ)
    return {name: value for name, value in merged.items() if name in SETTING_NAMES}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build validated settings from ``environ`` (default: `.env` and the environment); raise ConfigError naming
    the bad variable."""
    env = _Environment(read_environment() if environ is None else environ)
    text = env.text
    return Settings(
        database_url=text("DATABASE_URL"),
        db_params={name: env.raw(name) for name in DB_VARIABLES if env.raw(name)},
        data_dir=Path(text("AUTOSIGHT_DATA_DIR") or ".autosight"),
        csv_path=Path(value) if (value := text("CSV_PATH")) else None,
        output_dir=Path(text("OUTPUT_DIR") or "."),
        log_file=Path(text("LOG_FILE") or "autosight.log"),
        log_level=_log_level(text("LOG_LEVEL") or "INFO"),
        column_map=parse_column_map(text("COLUMN_MAP") or "", source="COLUMN_MAP"),
        date_format=_date_format(text("DATE_FORMAT")),
        encoding=_encoding(text("CSV_ENCODING") or "utf-8"),
        strong_growth_pct=_non_negative(env, "STRONG_GROWTH_PCT", "20"),
        ma_window=_positive_int(env, "MA_WINDOW", 5),
        reject_threshold_pct=_percentage(env, "REJECT_THRESHOLD_PCT", "10"),
        # at least forecasting.MIN_SELECTION_ERRORS: with fewer one-step errors no model is ever chosen, and the
        # headline would stay the seed's moving average for good
        backtest_days=_whole_number(env, "BACKTEST_DAYS", 14, 3, 3660),
        connect_retries=_positive_int(env, "CONNECT_RETRIES", 3),
        connect_retry_delay=float(_non_negative(env, "CONNECT_RETRY_DELAY", "1")),
        closed_weekdays=parse_closed_weekdays(text("CLOSED_WEEKDAYS")),
        closed_dates=closed_dates_setting(text("CLOSED_DATES"), text("CLOSED_DATES_FILE")),
        bounds=_bounds(env),
    )


def _bounds(env: _Environment) -> Bounds:
    return Bounds(
        earliest_date=_iso_date(env, "EARLIEST_SALE_DATE", "2000-01-01"),
        max_future_days=_whole_number(env, "MAX_FUTURE_DAYS", 1, 0, 366),
        max_quantity=_whole_number(env, "MAX_QUANTITY", 1_000_000, 1, 10**9),
        max_unit_price=_bounded_amount(env, "MAX_UNIT_PRICE", "1000000000"),
        max_line_total=_bounded_amount(env, "MAX_LINE_TOTAL", "1000000000000000"),
        product_name_max_chars=_whole_number(env, "PRODUCT_NAME_MAX_CHARS", 200, 1, PRODUCT_NAME_CEILING),
        currency=_currency(env),
    )


@dataclass(frozen=True)
class _Environment:
    """The values of the settings, each looked up by a name that must be in SETTING_NAMES."""

    values: Mapping[str, str]

    def raw(self, name: str) -> str:
        if name not in SETTING_NAMES:
            raise KeyError(f"{name} is not in SETTING_NAMES")
        return self.values.get(name, "").strip()

    def text(self, name: str) -> str | None:
        return self.raw(name) or None


def parse_column_map(text: str, source: str = "--map") -> dict[str, str]:
    """Parse ``canonical=source,...`` into {canonical: source column}."""
    mapping: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        canonical, separator, column = item.partition("=")
        canonical = canonical.strip().lower()
        if not separator or not column.strip():
            raise ConfigError(f"{source}: '{item}' is not of the form canonical=COLUMN")
        if canonical not in MAPPABLE_COLUMNS:
            allowed = ", ".join(MAPPABLE_COLUMNS)
            raise ConfigError(f"{source}: unknown column '{canonical}' (use one of {allowed})")
        mapping[canonical] = column.strip()
    if "revenue" in mapping and "price" in mapping:
        raise ConfigError(f"{source}: map either price= (unit price) or revenue= (line total), not both")
    return mapping


def _date_format(value: str | None) -> str | None:
    return None if value is None else _checked("DATE_FORMAT", value, check_date_format, ValueError)


def _encoding(value: str) -> str:
    """CSV_ENCODING, checked before any file is read (a wrong one would stop the run at its first file)."""
    return _checked("CSV_ENCODING", value, decoding_name, UsageError)


def _checked(name: str, value: str, check: Callable[[str], object], failure: type[Exception]) -> str:
    """``value`` of the setting ``name`` once ``check`` accepts it; its ``failure`` is the setting's ConfigError."""
    try:
        check(value)
    except failure as error:
        raise ConfigError(f"{name}: {error}") from None
    return value


def _log_level(value: str) -> str:
    level = value.upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"LOG_LEVEL: '{value}' is not one of DEBUG, INFO, WARNING, ERROR")
    return level


def _decimal(env: _Environment, name: str, default: str) -> Decimal:
    return decimal_value(env.raw(name) or default, name)


def decimal_value(raw: str, name: str) -> Decimal:
    """``raw`` as a finite Decimal; ConfigError naming the setting or flag ``name`` otherwise."""
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ConfigError(f"{name}: '{raw}' is not a number") from None
    if not value.is_finite():
        raise ConfigError(f"{name}: '{raw}' is not a finite number")
    return value


def _non_negative(env: _Environment, name: str, default: str) -> Decimal:
    """Delays and thresholds: a negative growth threshold would call a decline "Strong Growth"."""
    value = _decimal(env, name, default)
    if value < 0:
        raise ConfigError(f"{name}: {value} is negative")
    return value


def _percentage(env: _Environment, name: str, default: str) -> Decimal:
    return percentage(env.raw(name) or default, name)


def percentage(raw: str, name: str) -> Decimal:
    """A percentage from 0 to 100, from a setting or a flag (one validation, one type: Decimal)."""
    value = decimal_value(raw, name)
    if not Decimal(0) <= value <= Decimal(100):
        raise ConfigError(f"{name}: {value} is not a percentage between 0 and 100")
    return value


def _positive_int(env: _Environment, name: str, default: int) -> int:
    raw = env.raw(name) or str(default)
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"{name}: '{raw}' is not a whole number of at least 1")
    return int(raw)


def _whole_number(env: _Environment, name: str, default: int, low: int, high: int) -> int:
    raw = env.raw(name) or str(default)
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise ConfigError(f"{name}: '{raw}' is not a whole number between {low} and {high}")
    return int(raw)


def _bounded_amount(env: _Environment, name: str, default: str) -> Decimal:
    value = _decimal(env, name, default)
    if not Decimal(0) < value <= AMOUNT_CEILING:
        raise ConfigError(f"{name}: {value} is not an amount above 0 and at most {AMOUNT_CEILING:,}")
    return value


def _iso_date(env: _Environment, name: str, default: str) -> date:
    raw = env.raw(name) or default
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        raise ConfigError(f"{name}: '{raw}' is not a date written YYYY-MM-DD") from None
    if value.year < 1900:
        raise ConfigError(f"{name}: {raw} is before 1900")
    return value


def _currency(env: _Environment) -> str:
    raw = env.raw("CURRENCY") or "USD"
    if not (len(raw) == 3 and raw.isascii() and raw.isalpha()):
        raise ConfigError(f"CURRENCY: '{raw}' is not a three-letter ISO 4217 code such as USD or EUR")
    return raw.upper()
