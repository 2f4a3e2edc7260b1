"""AutoSight: the nightly sales pipeline, orchestrating one module per step.

settings -> db (server, schema, lock) -> ingestion -> analysis -> forecasting -> visualization
-> reporting, each step logged with its duration and counts in autosight.log.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import importlib
import logging
import os
import signal
import sys
import threading
import traceback
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, NoReturn

import psycopg2

import cli
import db
import errors
import ingestion
from analysis import PeriodFilter, analyze
from atomic_io import remove_leftover_temporaries
from autosight import file_identity, output_cache, runs
from autosight.html_report import write_report_html
from autosight.run_results import AnalysisResult, DataQuality, FileOutcome, Forecast, RejectsFile
from csv_format import open_regular
from forecasting import forecast_from_analysis
from logger_config import LogSession, get_logger, mask_secrets, setup_logging, timed_step
from reporting import build_report, write_report
from settings import RunConfig, Settings

log = get_logger("main")

PROJECT_DIR = Path(__file__).resolve().parent
SAMPLE_CSV = PROJECT_DIR / "data" / "sample_sales.csv"
OUTPUT_NAMES = ("report.json", "report.html", "revenue.png", "products.png", "rejects.csv", output_cache.STATE_FILE)
CHART_CODE = (PROJECT_DIR / "visualization.py",)
LOG_FILE_MODE = 0o600


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None,
         stdout: IO[str] | None = None, stderr: IO[str] | None = None) -> int:
    """Run AutoSight as `python main.py ARGS` would, and return its exit status.

    Callable in-process (the tests do): ``environ`` replaces os.environ as the source of settings
    (`.env` of the working directory still applies), ``stdout`` / ``stderr`` the process's streams;
    the umask, the signal handlers and the logging it installs are undone before it returns.
    """
    stderr = stderr or sys.stderr
    with _process_setup():
        try:
            args = cli.build_parser(stdout, stderr).parse_args(argv)
        except SystemExit as exit_:  # --help, or a malformed command line (already printed by argparse)
            return exit_.code if isinstance(exit_.code, int) else errors.USAGE
        try:
            config = cli.config_from_arguments(args, environ)
        except errors.FAILURES as error:
            return _fail(error, args.verbose, stderr)
        return _logged_run(config, argv, stderr)


@contextlib.contextmanager
def _process_setup() -> Iterator[None]:
    """What a run sets for the whole process, put back afterwards: the umask, the SIGTERM/SIGINT handlers (in
    the main thread only: elsewhere Python allows none), and library warnings sent to the log."""
    umask = os.umask(0o077)  # outputs, rejects, logs and the database files are private to their owner
    handlers = {}
    if threading.current_thread() is threading.main_thread():
        handlers = {signum: signal.signal(signum, _interrupt) for signum in (signal.SIGTERM, signal.SIGINT)}
    # Library warnings would reach stderr, and cron mails anything on stderr: they go to the log instead.
    logging.captureWarnings(True)
    try:
        yield
    finally:
        logging.captureWarnings(False)
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
        os.umask(umask)


def _logged_run(config: RunConfig, argv: Sequence[str] | None, stderr: IO[str]) -> int:
    """The run with its log installed (and removed after): the exit status, and on failure its line on stderr."""
    secrets = config.settings.secrets
    try:
        session = _start_logging(config.settings)
    except errors.FAILURES as error:
        return _fail(error, config.verbose, stderr, secrets)
    arguments = sys.argv[1:] if argv is None else list(argv)
    try:
        log.info("run started: %s", " ".join(arguments) or "(no arguments)")
        code = _outcome(config, session.run_id, stderr)
        log.info("run finished with exit status %d", code)
        return code
    finally:
        session.close()


def _outcome(config: RunConfig, run_id: str, stderr: IO[str]) -> int:
    try:
        return run(config, run_id)
    except (Exception, errors.Interrupted) as error:
        failure = _as_failure(error)
        if isinstance(failure, errors.FAILURES):
            log.error("run failed: %s", failure, exc_info=True)
        elif isinstance(failure, psycopg2.Error):
            log.critical("unexpected database error", exc_info=True)
        else:
            log.critical("unexpected error", exc_info=True)
        return _fail(failure, config.verbose, stderr, config.settings.secrets)


def _as_failure(error: BaseException) -> BaseException:
    """What the user is told: a database that failed mid-run as such (db.failure_of_database), else ``error``."""
    if isinstance(error, psycopg2.Error):
        return db.failure_of_database(error) or error
    return error


def _interrupt(signum: int, _frame: object) -> None:
    """Turn SIGTERM (a cron timeout, a shutdown) and Ctrl-C into an exception, so that the run unwinds:
    the open transaction rolls back, the lock is released and the embedded server stopped."""
    raise errors.Interrupted(f"stopped by {signal.Signals(signum).name}: nothing half-stored; the next run carries on")


def _fail(error: BaseException, verbose: bool, stderr: IO[str], secrets: Iterable[str] = ()) -> int:
    """One line on stderr (the traceback only with --verbose); the exit code of the failure."""
    if verbose:
        print(mask_secrets("".join(traceback.format_exception(error)), secrets), file=stderr, end="")
    code, line = _failure_line(error, secrets)
    print(line, file=stderr)
    return code


def _failure_line(error: BaseException, secrets: Iterable[str]) -> tuple[int, str]:
    """The exit code of a failure and its one line on stderr, which is also the message of its record in runs."""
    if isinstance(error, errors.FAILURES):
        return error.exit_code, f"autosight: error: {_one_line(mask_secrets(str(error), secrets))}"
    text = _one_line(mask_secrets(f"{type(error).__name__}: {error}", secrets))
    return errors.SOFTWARE, f"autosight: unexpected error: {text} (details in the log; --verbose shows the traceback)"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _start_logging(settings: Settings) -> LogSession:
    try:
        session = setup_logging(settings.log_file, settings.log_level, secrets=settings.secrets)
    except OSError as error:
        raise errors.OutputNotWritable(f"cannot write the log file {settings.log_file}: {_reason(error)} "
                                       "(set LOG_FILE to a writable path)") from error
    with contextlib.suppress(PermissionError):  # a log created before umask 077 was set, if it is ours
        os.chmod(settings.log_file, LOG_FILE_MODE)
    return session


def _reason(error: OSError) -> str:
    """The system's reason, naming the path it is about ("File exists: /srv/out" says which part of a path failed)."""
    if error.strerror and error.filename:
        return f"{error.strerror}: {error.filename}"
    return error.strerror or str(error)


def _check_output_dir(output_dir: Path) -> None:
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise errors.OutputNotWritable(f"cannot create the output folder {output_dir}: {_reason(error)}") from error
    if not os.access(output_dir, os.W_OK | os.X_OK):
        raise errors.OutputNotWritable(f"the output folder {output_dir} is not writable "
                                       "(choose another with --output-dir or OUTPUT_DIR)")


def run(config: RunConfig, run_id: str) -> int:
    """The pipeline for ``config``, logging wherever logging is set up; returns 0, or raises InputRefused
    (exit 65) once every other file is loaded and the outputs are written, when a file was refused. Other
    failures raise an AutoSightError (or psycopg2.Error: see db.failure_of_database) carrying its exit code.
    A run that reaches the database records itself in the runs table, unless the API's scheduler started it."""
    settings, started = config.settings, datetime.now(UTC)
    _check_output_dir(settings.output_dir)
    _check_inputs(config)
    with db.database_target(settings) as target:
        log.info("database: %s", target.description)
        with _recorded_lock(target, config, started) if config.recorded else _run_lock(target, config) as lock:
            outcomes = _locked_run(target, lock, config, run_id)
            refused = [outcome for outcome in outcomes if outcome.status == "refused"]
            if refused:
                raise errors.InputRefused(_refusal_summary(refused))
    return errors.OK


def _run_lock(target: db.Target, config: RunConfig) -> contextlib.AbstractContextManager[db.RunLock]:
    settings = config.settings
    return db.run_lock(target, config.wait_seconds, settings.connect_retries, settings.connect_retry_delay)


@contextlib.contextmanager
def _recorded_lock(target: db.Target, config: RunConfig, started: datetime) -> Iterator[db.RunLock]:
    """The run lock for the block, and the run's record in the runs table as kind 'batch' (autosight/runs.py) when
    it ends, with the exit code and stderr line it ends with: a run that took the lock, on the lock's connection
    (one statement, no connection to open); one that found it held (busy, 75) on a connection of its own, the
    lock's being closed. A failure to record is logged; the run's outcome stays what it is."""
    secrets = config.settings.secrets
    with contextlib.ExitStack() as stack:
        try:
            lock = stack.enter_context(_run_lock(target, config))
        except errors.LockHeld as error:
            busy = _run_record(started, error, secrets)
            runs.record_run(target, dataclasses.replace(busy, files=0, rows_loaded=0, rows_rejected=0))
            raise
        try:
            yield lock
        except (Exception, errors.Interrupted) as error:
            runs.record_batch_run(lock, _run_record(started, error, secrets))
            raise
        runs.record_batch_run(lock, _run_record(started, None, secrets))


def _run_record(started: datetime, error: BaseException | None, secrets: Iterable[str]) -> runs.RunRecord:
    """A batch run's record, finished now: ok, or the outcome, exit code and stderr line of ``error``."""
    finished = datetime.now(UTC)
    if error is None:
        return runs.RunRecord("batch", started, finished, "ok", errors.OK)
    code, line = _failure_line(_as_failure(error), secrets)
    outcome = ("busy" if isinstance(error, errors.LockHeld)
               else "refused" if isinstance(error, errors.InputRefused) else "failed")
    return runs.RunRecord("batch", started, finished, outcome, code, message=line)


def _locked_run(target: db.Target, lock: db.RunLock, config: RunConfig, run_id: str) -> list[FileOutcome]:
    """Everything that reads or writes shared state, outputs included: one run at a time does it."""
    settings = config.settings
    _remove_leftover_outputs(settings.output_dir)
    connection = db.connect(target, settings.connect_retries, settings.connect_retry_delay)
    try:
        outcomes, analysis, quality = _database_steps(connection, lock, config)
    finally:
        connection.close()
    lock.ensure_held()
    with _writing_outputs(settings.output_dir):
        _output_steps(settings, analysis, quality, run_id)
    return outcomes


def _remove_leftover_outputs(output_dir: Path) -> None:
    """Temporary files of a killed run's outputs: never read by anyone, removed by the next run."""
    for name in OUTPUT_NAMES:
        for leftover in remove_leftover_temporaries(output_dir / name):
            log.info("removed %s, left by an interrupted run", leftover)


@contextlib.contextmanager
def _writing_outputs(output_dir: Path) -> Iterator[None]:
    try:
        yield
    except OSError as error:
        raise errors.OutputNotWritable(f"cannot write the outputs in {output_dir}: {_reason(error)} "
                                       "(free some space, or choose another --output-dir)") from error


def _check_inputs(config: RunConfig) -> None:
    """Refuse a missing or unreadable input before touching the database: a typo in a crontab loads nothing."""
    if config.skip_ingest:
        return
    if config.inbox is not None:
        _check_folder(config.inbox)
    elif config.csv_files:
        for path in config.csv_files:
            _check_file(path, "--csv")
    elif config.settings.csv_path is not None:
        _check_file(config.settings.csv_path, "CSV_PATH")


def _check_file(path: Path, source: str) -> None:
    """A regular, readable file (a FIFO, device, folder or dangling link exits 66 at once, never blocks)."""
    with open_regular(path, source):
        pass


def _check_folder(path: Path) -> None:
    try:
        with os.scandir(path):
            pass
    except FileNotFoundError:
        raise errors.InputMissing(f"{path}: no such folder (--inbox)") from None
    except NotADirectoryError:
        raise errors.InputMissing(f"{path}: is a file, not a folder (--inbox takes a folder of CSV files)") from None
    except OSError as error:
        raise errors.InputMissing(f"{path}: cannot be read: {error.strerror} (--inbox)") from None


def _refusal_summary(refused: list[FileOutcome]) -> str:
    first = refused[0].message
    more = f" (and {len(refused) - 1} more file(s) refused, see the log)" if len(refused) > 1 else ""
    return f"{first}{more}"


def _database_steps(connection: psycopg2.extensions.connection, lock: db.RunLock,
                    config: RunConfig) -> tuple[list[FileOutcome], AnalysisResult, DataQuality]:
    settings = config.settings
    _prefetch_forecast_code()
    with timed_step(log, "schema") as counts:
        counts["version"] = db.migrate(connection)
    with timed_step(log, "ingest") as counts:
        paths = _files_to_ingest(connection, config)
        outcomes = ingest(connection, lock, paths, load_options(settings))
        with _writing_outputs(settings.output_dir):
            outcomes, rejects = _with_rejects_csv(connection, outcomes, settings.output_dir)
        counts.update(files=len(paths), rows_loaded=sum(o.rows_loaded for o in outcomes),
                      rows_rejected=sum(o.rows_rejected for o in outcomes),
                      refused=sum(o.status == "refused" for o in outcomes))
    ingestion.check_stored_dates(connection, settings.bounds)
    with timed_step(log, "analysis") as counts:
        period = PeriodFilter(config.date_from, config.date_to, config.days)
        analysis, quality = analyse_period(connection, period, settings, outcomes, rejects)
        counts.update(days=analysis.period.days, products=len(analysis.products),
                      closed_days=analysis.summary.closed_days)
    return outcomes, analysis, quality


def _prefetch_forecast_code() -> None:
    """Import numpy (the forecast's Holt-Winters fit, 40 ms of imports) in the background while PostgreSQL reads
    the inbox's ledger and the analysis's aggregates: even a night with nothing new forecasts."""
    threading.Thread(target=importlib.import_module, args=("numpy",), name="prefetch-forecast", daemon=True).start()


def _prefetch_charts_code() -> None:
    """Import the charts' code (matplotlib: most of the charts step) in the background while PostgreSQL loads the
    files, so that the charts step only draws. A run without files to read does not pay for it in advance."""
    threading.Thread(target=importlib.import_module, args=("visualization",), name="prefetch-charts",
                     daemon=True).start()


def ingest(connection: psycopg2.extensions.connection, lock: db.RunLock, paths: list[Path],
           options: ingestion.LoadOptions) -> list[FileOutcome]:
    """One file (one transaction) at a time, making sure before each that the run still holds its lock; the files
    unchanged since they were loaded (same size, modification time and inode) are not even read.

    Public, with ``load_options``, for the API's uploads: they go through the very same steps."""
    unchanged = file_identity.unchanged_files(connection, paths)
    _log_unchanged(list(unchanged.values()))
    if len(unchanged) < len(paths):
        _prefetch_charts_code()
    to_load = [path for path in paths if path not in unchanged]
    loaded = iter(ingestion.ingest_files(connection, to_load, options, before_each=lock.ensure_held))
    return [unchanged[path] if path in unchanged else next(loaded) for path in paths]


def _log_unchanged(unchanged: list[FileOutcome]) -> None:
    """One record for them all, a line per file: a night with 3,650 unchanged files logs in one write."""
    if unchanged:
        lines = "".join(f"\nfile {outcome.path}: unchanged, read=0 loaded=0 rejected=0" for outcome in unchanged)
        log.info("%d file(s) unchanged since loaded (same size, modification time and inode), not read:%s",
                 len(unchanged), lines)


def load_options(settings: Settings) -> ingestion.LoadOptions:
    return ingestion.LoadOptions(column_map=settings.column_map, date_format=settings.date_format,
                                 encoding=settings.encoding, reject_threshold_pct=settings.reject_threshold_pct,
                                 bounds=settings.bounds)


def _files_to_ingest(connection: psycopg2.extensions.connection, config: RunConfig) -> list[Path]:
    if config.skip_ingest:
        return []
    if config.csv_files:
        return list(config.csv_files)
    if config.inbox:
        return ingestion.inbox_files(config.inbox)
    if config.settings.csv_path is not None:
        return [config.settings.csv_path]
    if ingestion.nothing_loaded_yet(connection):
        log.info("first run with no CSV_PATH: loading the bundled sample %s", SAMPLE_CSV)
        return [SAMPLE_CSV]
    return []


def _with_rejects_csv(connection: psycopg2.extensions.connection, outcomes: list[FileOutcome],
                      output_dir: Path) -> tuple[list[FileOutcome], RejectsFile]:
    rejects = ingestion.write_rejects_csv(connection, outcomes, output_dir / "rejects.csv")
    if rejects.path is None:
        return outcomes, rejects
    log.info("%d rejected rows written to %s", rejects.rows, rejects.path)
    return [dataclasses.replace(o, rejects_csv=rejects.path) if o.rows_rejected else o for o in outcomes], rejects


def analyse_period(connection: psycopg2.extensions.connection, period: PeriodFilter, settings: Settings,
                   outcomes: list[FileOutcome], rejects: RejectsFile | None = None
                   ) -> tuple[AnalysisResult, DataQuality]:
    """The analysis of a period and the data quality of ``outcomes``' files: report.json's inputs.

    Public, with ``forecast_for`` and ``report_for``, because the HTTP API (autosight/web) builds its
    reports with them: the API and report.json can only agree if they are built by the same steps.
    """
    analysis = analyze(connection, period, settings.strong_growth_pct, settings.calendar_rules)
    return analysis, ingestion.data_quality(connection, outcomes, rejects)


def forecast_for(analysis: AnalysisResult, settings: Settings) -> Forecast:
    return forecast_from_analysis(analysis, settings.ma_window, settings.backtest_days)


def report_for(analysis: AnalysisResult, forecast: Forecast, quality: DataQuality, run_id: str,
               settings: Settings) -> dict[str, Any]:
    """report.json's content (validated only when written)."""
    return build_report(analysis, forecast, quality, run_id, datetime.now(UTC), currency=settings.currency)


def _draw_if_changed(path: Path, drawing: str, *args: object, **kwargs: object) -> bool:
    """Draw ``path`` with visualization's function ``drawing`` unless the file there was drawn from these very
    arguments by this very code (autosight/output_cache.py); whether it was drawn."""
    fingerprint = output_cache.fingerprint(CHART_CODE, drawing, args, kwargs)
    if output_cache.is_current(path, fingerprint):
        return False
    # Imported here: matplotlib is most of the start-up time, which failures, --help and a night with nothing new
    # need not pay.
    import visualization

    getattr(visualization, drawing)(path, *args, **kwargs)
    output_cache.record(path, fingerprint)
    return True


def _output_steps(settings: Settings, analysis: AnalysisResult, quality: DataQuality, run_id: str) -> None:
    with timed_step(log, "forecast") as counts:
        forecast = forecast_for(analysis, settings)
        counts.update(method=forecast.method, value=forecast.value, moving_average=forecast.moving_average)
    output_dir = settings.output_dir
    with timed_step(log, "charts") as counts:
        drawn = [_draw_if_changed(output_dir / "revenue.png", "draw_revenue_chart", analysis.daily, forecast,
                                  settings.ma_window, currency=settings.currency,
                                  lead_in=analysis.lead_in(settings.ma_window)),
                 _draw_if_changed(output_dir / "products.png", "draw_products_chart", analysis.products,
                                  period=analysis.period, currency=settings.currency)]
        counts.update(drawn=sum(drawn), unchanged=len(drawn) - sum(drawn))
    with timed_step(log, "report") as counts:
        report = report_for(analysis, forecast, quality, run_id, settings)
        write_report(output_dir / "report.json", report)
        write_report_html(output_dir / "report.html", report)
        counts.update(path=output_dir / "report.json")


def _exit_at_once(status: int) -> NoReturn:
    """End the process with ``status`` without the interpreter's teardown: freeing every module's objects took
    0.1 s after a run that drew charts (matplotlib's), and a finished run needs none of it (outputs and log
    closed, server stopped). The exit handlers still run and the standard streams are flushed, as at a normal
    exit; a stream that cannot be flushed (a closed pipe) changes nothing, as nothing is printed on success.
    Under a profiler or a tracer (`python -m cProfile main.py`, coverage) the process exits normally, so that
    they write their results."""
    if sys.getprofile() is not None or sys.gettrace() is not None:
        sys.exit(status)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError, AttributeError):  # closed, or None without a console
            stream.flush()
    os._exit(status)


if __name__ == "__main__":
    _exit_at_once(main())
