"""The command line of `python main.py` (see README "Command line"), and the run configuration it makes
with the settings: flags override settings, and everything is validated here, once."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import IO, TYPE_CHECKING, NoReturn

import csv_format
import csv_values
from autosight import runs
from errors import ConfigError, UsageError

if TYPE_CHECKING:
    from _typeshed import SupportsWrite
from settings import RunConfig, Settings, load_settings, parse_column_map, percentage, read_environment

EPILOG = """\
exit status:
  0   success (nothing is printed on stdout)
  2   bad command line
  65  input refused: a file could not be loaded (bad format, too many rejected rows)
  66  an input file or folder is missing or unreadable
  70  unexpected internal error (see autosight.log)
  73  the output folder or the log file cannot be written
  75  try again later: another run holds the lock, or the database is unreachable
  78  bad configuration (.env / environment, database credentials)

settings (.env or environment; the environment wins): DATABASE_URL or DB_HOST, DB_PORT, DB_NAME,
DB_USER, DB_PASSWORD (none: embedded PostgreSQL in AUTOSIGHT_DATA_DIR, default .autosight/),
CSV_PATH, OUTPUT_DIR, COLUMN_MAP, DATE_FORMAT, CSV_ENCODING, REJECT_THRESHOLD_PCT, STRONG_GROWTH_PCT,
MA_WINDOW, BACKTEST_DAYS, CLOSED_WEEKDAYS, CLOSED_DATES, CLOSED_DATES_FILE, LOG_FILE, LOG_LEVEL,
CONNECT_RETRIES, CONNECT_RETRY_DELAY; the row gate's bounds EARLIEST_SALE_DATE, MAX_FUTURE_DAYS,
MAX_QUANTITY, MAX_UNIT_PRICE, MAX_LINE_TOTAL, PRODUCT_NAME_MAX_CHARS, and CURRENCY.
The HTTP server (python api.py) also reads AUTOSIGHT_API_TOKEN, UPLOAD_MAX_MB, UPLOAD_DIR, CORS_ORIGINS,
INBOX_DIR and INBOX_INTERVAL_MINUTES.
"""


class _OneLineErrorParser(argparse.ArgumentParser):
    """A bad command line is one line on stderr, like every other failure (cron mails stderr); --help and the
    error go to the streams given (main.py's, which a caller running it in-process may replace)."""

    def __init__(self, *args: object, stdout: IO[str] | None = None, stderr: IO[str] | None = None,
                 **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.stdout, self.stderr = stdout, stderr

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"autosight: error: {message} (see python main.py --help)\n")

    def _print_message(self, message: str, file: SupportsWrite[str] | None = None) -> None:
        if message:
            stream = self.stderr if file is sys.stderr else self.stdout
            (stream or file or sys.stdout).write(message)


def run_config(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None,
               stdout: IO[str] | None = None, stderr: IO[str] | None = None) -> RunConfig:
    """The configuration of a run: the settings (`.env` and ``environ``, default os.environ) with the flags of
    ``argv`` applied. A bad flag raises UsageError, a bad setting ConfigError; --help and a malformed command
    line raise SystemExit (argparse's way), having written to ``stdout`` / ``stderr``."""
    return config_from_arguments(build_parser(stdout, stderr).parse_args(argv), environ)


def config_from_arguments(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> RunConfig:
    """The run configuration of parsed arguments, with the settings of `.env` and ``environ``."""
    settings = _with_flags(load_settings(read_environment(environ)), args)
    if args.wait < 0:
        raise UsageError("--wait must be a number of seconds, 0 or more")
    if args.date_from and args.date_to and args.date_from > args.date_to:
        raise UsageError(f"--from {args.date_from} is after --to {args.date_to}")
    return RunConfig(settings=settings, csv_files=tuple(args.csv or ()), inbox=args.inbox,
                     skip_ingest=args.skip_ingest, date_from=args.date_from, date_to=args.date_to, days=args.days,
                     wait_seconds=args.wait, verbose=args.verbose,
                     recorded=not runs.started_by_scheduler(os.environ if environ is None else environ))


def _with_flags(settings: Settings, args: argparse.Namespace) -> Settings:
    """Command-line flags override settings."""
    if args.output_dir is not None:
        settings = dataclasses.replace(settings, output_dir=args.output_dir)
    if args.map is not None:
        settings = dataclasses.replace(settings, column_map=parse_column_map(args.map))
    if args.date_format is not None:
        try:
            csv_values.check_date_format(args.date_format)
        except ValueError as error:
            raise UsageError(f"--date-format: {error}") from None
        settings = dataclasses.replace(settings, date_format=args.date_format)
    if args.encoding is not None:
        csv_format.decoding_name(args.encoding)  # a wrong name stops the run before anything is loaded
        settings = dataclasses.replace(settings, encoding=args.encoding)
    if args.reject_threshold is not None:
        try:
            threshold = percentage(args.reject_threshold, "--reject-threshold")
        except ConfigError:
            raise UsageError("--reject-threshold must be a percentage between 0 and 100") from None
        settings = dataclasses.replace(settings, reject_threshold_pct=threshold)
    return settings


def build_parser(stdout: IO[str] | None = None, stderr: IO[str] | None = None) -> argparse.ArgumentParser:
    parser = _OneLineErrorParser(
        stdout=stdout, stderr=stderr,
        prog="main.py",
        description="AutoSight: load sales CSV exports into PostgreSQL, analyse revenue and trends, forecast "
                    "the next day, and write revenue.png, products.png, report.json and autosight.log.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--csv", nargs="+", type=Path, metavar="FILE",
                        help="ingest these CSV files (default: CSV_PATH, or the bundled sample on a first run)")
    source.add_argument("--inbox", type=Path, metavar="DIR",
                        help="ingest every *.csv in DIR not loaded before, in name order (cron's usual mode)")
    source.add_argument("--skip-ingest", action="store_true",
                        help="load nothing; analyse and report what is already in the database")
    parser.add_argument("--output-dir", type=Path, metavar="DIR",
                        help="where revenue.png, products.png, report.json and rejects.csv go "
                             "(default: OUTPUT_DIR or the working directory)")
    parser.add_argument("--map", metavar="canonical=source,...",
                        help="column mapping, e.g. sale_date=ORDERDATE,product_name=PRODUCTLINE,"
                             "quantity=QUANTITYORDERED,price=PRICEEACH; revenue=COLUMN takes a line-total "
                             "column instead of price (unit price = total / quantity); quantity=N (a whole "
                             "number naming no column) gives every row the quantity N")
    parser.add_argument("--date-format", metavar="FMT",
                        help="strptime format of the dates, e.g. %%d/%%m/%%Y, when they are not ISO and cannot "
                             "be detected unambiguously ('/', '-' and '.' are interchangeable)")
    parser.add_argument("--encoding", metavar="NAME", help="file encoding when it is not UTF-8, e.g. cp1252")
    parser.add_argument("--reject-threshold", metavar="PCT",
                        help="refuse a file whose rejected rows exceed PCT %% of its rows "
                             "(default REJECT_THRESHOLD_PCT or 10)")
    period = parser.add_argument_group("report period (default: all the data)")
    period.add_argument("--from", dest="date_from", type=date.fromisoformat, metavar="YYYY-MM-DD",
                        help="first day of the report")
    period.add_argument("--to", dest="date_to", type=date.fromisoformat, metavar="YYYY-MM-DD",
                        help="last day of the report")
    period.add_argument("--days", type=_positive_int, metavar="N", help="only the last N days of the data")
    parser.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                        help="if another run holds the lock, wait up to SECONDS for it instead of exiting 75")
    parser.add_argument("--verbose", action="store_true", help="print the traceback of a failure on stderr")
    return parser


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of at least 1")
    return int(text)
