"""The trading calendar: which days without sales are closed days and which are trading days (PRODUCT.md).

A shop that closes on Mondays, for a holiday or for a week in August has days without sales that say nothing
about its business; counting them as zero-revenue days labels every closed day "Decline -100 %", dilutes the
daily average and drags seasonal forecasts down. A day without sales is *closed* when

* it is listed in ``CLOSED_DATES`` (reason ``closed_date``),
* its weekday is in ``CLOSED_WEEKDAYS`` (``closed_weekday``), or, when that setting is not given, the shop did
  not sell on that weekday for ``DETECTED_WEEKDAY_WEEKS`` or more weeks in a row while it sold on most other days
  of those weeks, or on nearly all those on the weekdays it sold at all (a shop open at weekends only)
  (``detected_closed_weekday``: detected run by run, so a shop that moves its closing day from Sunday to Monday
  is followed),
* it lies in a run of ``CLOSURE_MIN_DAYS`` or more consecutive days without sales (``closure``).

Any other day without sales is a trading day with revenue 0 (``no_sales_on_trading_day`` warning: a missing
export is the usual cause). A day with sales is always a trading day, whatever the settings say.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from errors import ConfigError

CLOSURE_MIN_DAYS = 3
# Three same weekdays in a row without sales: two are not enough (Christmas and New Year's Day fall on the same
# weekday, and a missing export may repeat once), and a new closing day is recognised from its third week.
DETECTED_WEEKDAY_WEEKS = 3
OPEN_SHARE = 0.5  # ... and only where the shop sold on at least half of the other days of those weeks,
# or on three quarters of those on the weekdays it sold at all in them: a shop with fixed opening days (weekends
# only sells on 2 days of 7, and its Mondays are closed too), where a sparse order book scatters its sales
REGULAR_SHARE = 0.75

CLOSED_DATE = "closed_date"
CLOSED_WEEKDAY = "closed_weekday"
DETECTED_CLOSED_WEEKDAY = "detected_closed_weekday"
CLOSURE = "closure"
CLOSED_REASONS = (CLOSED_DATE, CLOSED_WEEKDAY, DETECTED_CLOSED_WEEKDAY, CLOSURE)

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:\.\.(\d{4}-\d{2}-\d{2}))?$")
MAX_RANGE_DAYS = 3660  # a typo like 2025..2052 would otherwise expand into tens of thousands of days


@dataclass(frozen=True)
class CalendarRules:
    """The calendar settings: ``closed_weekdays`` None means "detect them from the history"."""

    closed_weekdays: frozenset[int] | None = None
    closed_dates: frozenset[date] = field(default_factory=frozenset)


@dataclass(frozen=True)
class TradingCalendar:
    """Why each closed day of the history is closed, and which weekdays are closed after its last day."""

    first: date | None
    last: date | None
    closed: dict[date, str]
    rules: CalendarRules
    closed_weekdays_now: frozenset[int]  # set or detected as of the last day: the forecast's future closed weekdays

    def is_trading(self, day: date) -> bool:
        return day not in self.closed

    def reason(self, day: date) -> str | None:
        return self.closed.get(day)

    def is_closed_ahead(self, day: date) -> bool:
        """Whether a day after the history is expected closed: a listed date or a closed weekday."""
        return day in self.rules.closed_dates or day.weekday() in self.closed_weekdays_now

    @property
    def detected_weekdays(self) -> list[int]:
        """Weekdays detected closed somewhere in the history (none when CLOSED_WEEKDAYS is set)."""
        return sorted({day.weekday() for day, reason in self.closed.items() if reason == DETECTED_CLOSED_WEEKDAY})


def build_calendar(first: date | None, sale_days: Iterable[date], rules: CalendarRules) -> TradingCalendar:
    """Classify every day from ``first`` to the last sale day; ``sale_days`` are the days with at least one sale."""
    with_sales = set(sale_days)
    if first is None or not with_sales:
        return TradingCalendar(None, None, {}, rules, frozenset(rules.closed_weekdays or ()))
    last = max(with_sales)
    days = [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
    empty = [day for day in days if day not in with_sales]
    detected = _detected_weekday_days(days, with_sales) if rules.closed_weekdays is None else set()
    in_closure = _closure_days(empty)
    closed: dict[date, str] = {}
    for day in empty:
        reason = _reason(day, rules, detected, in_closure)
        if reason is not None:
            closed[day] = reason
    return TradingCalendar(first, last, closed, rules, _weekdays_closed_at_end(days, with_sales, rules))


def _reason(day: date, rules: CalendarRules, detected: set[date], in_closure: set[date]) -> str | None:
    """The first reason that applies, settings before detection."""
    if day in rules.closed_dates:
        return CLOSED_DATE
    if rules.closed_weekdays is not None and day.weekday() in rules.closed_weekdays:
        return CLOSED_WEEKDAY
    if day in detected:
        return DETECTED_CLOSED_WEEKDAY
    if day in in_closure:
        return CLOSURE
    return None


def _same_weekday_runs(days: Sequence[date], with_sales: set[date]) -> list[list[date]]:
    """Runs of consecutive same-weekday occurrences without sales (e.g. four Mondays in a row)."""
    runs: list[list[date]] = []
    current: dict[int, list[date]] = {weekday: [] for weekday in range(7)}
    for day in days:
        run = current[day.weekday()]
        if day in with_sales:
            if run:
                runs.append(run)
            current[day.weekday()] = []
        else:
            run.append(day)
    runs.extend(run for run in current.values() if run)
    return runs


def _closed_weekday_runs(days: Sequence[date], with_sales: set[date]) -> list[list[date]]:
    """Runs of ``DETECTED_WEEKDAY_WEEKS`` or more same weekdays in a row without sales, while the shop sold on most
    other days of those weeks: a sparse order book (sales on a few days a week, any weekday) has long runs of
    every weekday without sales, and none of them is a closing day. A shop open on Saturdays and Sundays only
    sells on 2 days of 7, but on every one of those weekdays: its Mondays are closed too, where a sparse order
    book sells on a few scattered days of each weekday it sold on at all."""
    detected = []
    for run in _same_weekday_runs(days, with_sales):
        if len(run) < DETECTED_WEEKDAY_WEEKS:
            continue
        others = [day for offset in range(-6, (run[-1] - run[0]).days + 7)
                  if offset % 7 and days[0] <= (day := run[0] + timedelta(days=offset)) <= days[-1]]
        sold = sum(day in with_sales for day in others)
        open_weekdays = {day.weekday() for day in others if day in with_sales}
        on_open_weekdays = sum(day.weekday() in open_weekdays for day in others)
        if sold and (sold >= OPEN_SHARE * len(others) or sold >= REGULAR_SHARE * on_open_weekdays):
            detected.append(run)
    return detected


def _detected_weekday_days(days: Sequence[date], with_sales: set[date]) -> set[date]:
    return {day for run in _closed_weekday_runs(days, with_sales) for day in run}


def _weekdays_closed_at_end(days: Sequence[date], with_sales: set[date], rules: CalendarRules) -> frozenset[int]:
    """The setting, or the weekdays whose latest occurrences form a detected run reaching the history's end."""
    if rules.closed_weekdays is not None:
        return rules.closed_weekdays
    tail = days[-7:]
    return frozenset(run[-1].weekday() for run in _closed_weekday_runs(days, with_sales) if run[-1] in tail)


def _closure_days(empty: Sequence[date]) -> set[date]:
    """Days in a run of ``CLOSURE_MIN_DAYS`` or more consecutive calendar days without sales."""
    closure: set[date] = set()
    run: list[date] = []
    for day in [*empty, None]:
        if day is not None and run and day - run[-1] == timedelta(days=1):
            run.append(day)
            continue
        if len(run) >= CLOSURE_MIN_DAYS:
            closure.update(run)
        run = [day] if day is not None else []
    return closure


# --- settings -----------------------------------------------------------------------------------------------


def parse_closed_weekdays(text: str | None, source: str = "CLOSED_WEEKDAYS") -> frozenset[int] | None:
    """``Mon,Sun`` (names or 3-letter abbreviations, any case) -> {0, 6}; unset -> None (detect);
    ``none`` -> no closed weekday and no detection."""
    if text is None or not text.strip():
        return None
    if text.strip().lower() == "none":
        return frozenset()
    weekdays: set[int] = set()
    for item in filter(None, (part.strip().lower() for part in re.split(r"[,\s]+", text))):
        matches = [index for index, name in enumerate(WEEKDAY_NAMES)
                   if len(item) >= 3 and name.lower().startswith(item)]
        if len(matches) != 1:
            raise ConfigError(f"{source}: '{item}' is not a weekday (use names like Mon,Sun, or none)")
        weekdays.add(matches[0])
    return frozenset(weekdays)


def parse_closed_dates(text: str | None, source: str = "CLOSED_DATES") -> frozenset[date]:
    """``2025-12-25, 2025-12-31..2026-01-02`` (dates and inclusive ranges, separated by commas, spaces or lines;
    ``#`` starts a comment) -> the set of days."""
    days: set[date] = set()
    for line in (text or "").splitlines():
        compact = re.sub(r"\s*\.\.\s*", "..", line.split("#")[0])
        for item in filter(None, re.split(r"[,\s]+", compact)):
            days.update(_date_range(item, source))
    return frozenset(days)


def closed_dates_setting(inline: str | None, file: str | None) -> frozenset[date]:
    """``CLOSED_DATES`` and the dates of ``CLOSED_DATES_FILE``, together."""
    from_file = read_closed_dates_file(Path(file)) if file else frozenset()
    return parse_closed_dates(inline) | from_file


def read_closed_dates_file(path: Path, source: str = "CLOSED_DATES_FILE") -> frozenset[date]:
    """The dates of a file in the ``CLOSED_DATES`` syntax, one or more per line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{source}: cannot read {path}: {error}") from None
    return parse_closed_dates(text, f"{source} {path}")


def _date_range(item: str, source: str) -> list[date]:
    match = _RANGE.match(item)
    if match is None:
        raise ConfigError(f"{source}: '{item}' is neither a date YYYY-MM-DD nor a range YYYY-MM-DD..YYYY-MM-DD")
    try:
        start = date.fromisoformat(match.group(1))
        end = date.fromisoformat(match.group(2)) if match.group(2) else start
    except ValueError as error:
        raise ConfigError(f"{source}: '{item}': {error}") from None
    if end < start or (end - start).days >= MAX_RANGE_DAYS:
        raise ConfigError(f"{source}: '{item}' must go forward and span less than {MAX_RANGE_DAYS} days")
    return [start + timedelta(days=offset) for offset in range((end - start).days + 1)]


def trading_day_averages(revenues: Sequence[tuple[Decimal, bool]], window: int,
                         lead_in: Sequence[Decimal] = ()) -> list[Decimal | None]:
    """The moving-average line of the charts, one value per calendar day given as (revenue, is trading day):
    the exact mean of the last ``window`` trading days up to that day; None on closed days and before the
    first full window. ``lead_in``: the revenues of the trading days before the first day (a report of the last
    10 days still has the line from its first day, from the days before it).

    Computed here once: report.json carries it per day, revenue.png draws it and the dashboard reads it from
    the API, so that the three always show the same line.
    """
    averages: list[Decimal | None] = []
    recent: deque[Decimal] = deque(lead_in, maxlen=window)
    for revenue, trading in revenues:
        if not trading:
            averages.append(None)
            continue
        recent.append(revenue)
        averages.append(sum(recent, Decimal(0)) / window if len(recent) == window else None)
    return averages
