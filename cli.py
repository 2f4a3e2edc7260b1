"""The command line of `python main.py` (see README "Command line")."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import NoReturn

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
MA_WINDOW, BACKTEST_DAYS, LOG_FILE, LOG_LEVEL, CONNECT_RETRIES, CONNECT_RETRY_DELAY.
"""


class _OneLineErrorParser(argparse.ArgumentParser):
    """A bad command line is one line on stderr, like every other failure (cron mails stderr)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"autosight: error: {message} (see python main.py --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineErrorParser(
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
    parser.add_argument("--reject-threshold", type=float, metavar="PCT",
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
