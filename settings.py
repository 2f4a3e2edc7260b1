"""Settings from `.env` and the environment (the real environment wins), validated once.

Names follow PRODUCT.md: DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_PASSWORD or DATABASE_URL select a
server; with none of them set, an embedded PostgreSQL is used. Command-line flags override these
values in main.py.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from dotenv import dotenv_values

from errors import ConfigError

DB_VARIABLES = ("DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD")
CANONICAL_COLUMNS = ("sale_date", "product_name", "quantity", "price")
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
    backtest_days: int = 28
    connect_retries: int = 3
    connect_retry_delay: float = 1.0

    @property
    def uses_embedded_database(self) -> bool:
        return self.database_url is None and not self.db_params


def read_environment(env_file: Path | None = None) -> dict[str, str]:
    """Merge `.env` (if present) under the real environment, which wins."""
    merged: dict[str, str] = {}
    path = env_file if env_file is not None else Path.cwd() / ".env"
    if path.is_file():
        merged.update({key: value for key, value in dotenv_values(path).items() if value is not None})
    merged.update(os.environ)
    return merged


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build validated settings; raise ConfigError naming the bad variable."""
    env = dict(read_environment() if environ is None else environ)

    def text(name: str) -> str | None:
        value = env.get(name, "").strip()
        return value or None

    return Settings(
        database_url=text("DATABASE_URL"),
        db_params={name: env[name].strip() for name in DB_VARIABLES if text(name)},
        data_dir=Path(text("AUTOSIGHT_DATA_DIR") or ".autosight"),
        csv_path=Path(value) if (value := text("CSV_PATH")) else None,
        output_dir=Path(text("OUTPUT_DIR") or "."),
        log_file=Path(text("LOG_FILE") or "autosight.log"),
        log_level=_log_level(text("LOG_LEVEL") or "INFO"),
        column_map=parse_column_map(text("COLUMN_MAP") or "", source="COLUMN_MAP"),
        date_format=text("DATE_FORMAT"),
        encoding=text("CSV_ENCODING") or "utf-8",
        strong_growth_pct=_non_negative(env, "STRONG_GROWTH_PCT", "20"),
        ma_window=_positive_int(env, "MA_WINDOW", 5),
        reject_threshold_pct=_percentage(env, "REJECT_THRESHOLD_PCT", "10"),
        backtest_days=_positive_int(env, "BACKTEST_DAYS", 28),
        connect_retries=_positive_int(env, "CONNECT_RETRIES", 3),
        connect_retry_delay=float(_non_negative(env, "CONNECT_RETRY_DELAY", "1")),
    )


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


def _log_level(value: str) -> str:
    level = value.upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"LOG_LEVEL: '{value}' is not one of DEBUG, INFO, WARNING, ERROR")
    return level


def _decimal(env: Mapping[str, str], name: str, default: str) -> Decimal:
    raw = env.get(name, "").strip() or default
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ConfigError(f"{name}: '{raw}' is not a number") from None
    if not value.is_finite():
        raise ConfigError(f"{name}: '{raw}' is not a finite number")
    return value


def _non_negative(env: Mapping[str, str], name: str, default: str) -> Decimal:
    """Delays and thresholds: a negative growth threshold would call a decline "Strong Growth"."""
    value = _decimal(env, name, default)
    if value < 0:
        raise ConfigError(f"{name}: {value} is negative")
    return value


def _percentage(env: Mapping[str, str], name: str, default: str) -> Decimal:
    value = _decimal(env, name, default)
    if not Decimal(0) <= value <= Decimal(100):
        raise ConfigError(f"{name}: {value} is not a percentage between 0 and 100")
    return value


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip() or str(default)
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"{name}: '{raw}' is not a whole number of at least 1")
    return int(raw)
