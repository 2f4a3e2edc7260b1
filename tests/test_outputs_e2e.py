"""The three outputs through the real command line, as cron runs it: report.json valid against its schema for
every history (none, one day, ten days, the bundled sample), private files in the chosen folder, a log that tells
the whole story, and outputs that a killed run never leaves half written."""

from __future__ import annotations

import csv
import json
import os
import random
import re
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import matplotlib.image
import numpy as np
import pytest
from jsonschema import Draft202012Validator

import visualization
from reporting import load_schema

PROJECT_DIR = Path(__file__).resolve().parents[1]
SAMPLE_CSV = PROJECT_DIR / "data" / "sample_sales.csv"
OUTPUTS = ("report.json", "revenue.png", "products.png")
STEPS = ("schema", "ingest", "analysis", "forecast", "charts", "report")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# <UTC time> <LEVEL> <run id> <logger> <message>, the prefix repeated on every line of a traceback
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z [A-Z]+ (?P<run_id>\S+) \S+ ")
NOT_MONEY_ROUNDED = {"mase"}  # a ratio near 1, given to 3 decimals on purpose
PRODUCTS = (("Espresso 1kg", "24.50"), ("Green Tea", "6.80"), ("Mug", "9.99"), ("Kettle, steel", "54.00"))
PATIENCE_SECONDS = 120  # only bounds a wait for something that takes about a second; never a measured time


# --- data and helpers ----------------------------------------------------------------------------------


def write_sales(path: Path, first_day: date, days: int, *, skip: frozenset[int] = frozenset(), seed: int = 1) -> Path:
    """A canonical CSV with a few sales on each of ``days`` days (none on the day offsets in ``skip``)."""
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["sale_date", "product_name", "quantity", "price"])
        for offset in range(days):
            if offset in skip:
                continue
            for product, price in rng.sample(PRODUCTS, k=rng.randint(1, len(PRODUCTS))):
                writer.writerow([(first_day + timedelta(days=offset)).isoformat(), product, rng.randint(1, 9), price])
    return path


def csv_revenue(*paths: Path) -> Decimal:
    """Total revenue of canonical CSV files, computed here and not by the program."""
    total = Decimal(0)
    for path in paths:
        with path.open(newline="", encoding="utf-8") as stream:
            total += sum((int(row["quantity"]) * Decimal(row["price"]) for row in csv.DictReader(stream)), Decimal(0))
    return total


def cents(amount: Decimal) -> float:
    return float(amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def valid_report(folder: Path) -> dict[str, Any]:
    """report.json of ``folder``, parsed and validated against the published schema, formats included."""
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    Draft202012Validator(load_schema(), format_checker=Draft202012Validator.FORMAT_CHECKER).validate(report)
    assert_rounded_to_cents(report)
    return report


def assert_rounded_to_cents(value: Any, where: str = "$") -> None:
    """Every number of the report has at most 2 decimals (money, percentages), except the named ratios."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key not in NOT_MONEY_ROUNDED:
                assert_rounded_to_cents(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            assert_rounded_to_cents(item, f"{where}[{index}]")
    elif isinstance(value, float):
        assert round(value, 2) == value, f"{where} = {value!r} has more than 2 decimals"


def assert_png(path: Path) -> np.ndarray:
    """A whole PNG: the signature, and matplotlib decodes every pixel of it."""
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    return matplotlib.image.imread(path)


def assert_quiet_success(result: subprocess.CompletedProcess[str]) -> None:
    """Exit 0 and nothing on stdout or stderr, so that cron mails nothing."""
    assert (result.returncode, result.stdout, result.stderr) == (0, "", ""), result


def log_lines(cwd: Path) -> list[str]:
    return (cwd / "autosight.log").read_text(encoding="utf-8").splitlines()


def temp_files(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.glob(".*.tmp"))


def without_run_details(report: dict[str, Any]) -> dict[str, Any]:
    """What a report says about the data: not which run wrote it, when, or what that run did with its files."""
    figures = {key: value for key, value in report.items() if key not in ("run_id", "generated_at")}
    figures["data_quality"] = {key: value for key, value in report["data_quality"].items() if key != "files"}
    return figures


# --- the four histories --------------------------------------------------------------------------------


def test_first_bare_run_reports_the_bundled_sample(run_main, tmp_path: Path) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    result = run_main()
    after = datetime.now(UTC)

    assert_quiet_success(result)
    report = valid_report(tmp_path)
    (sample,) = report["data_quality"]["files"]
    assert Path(sample["path"]).resolve() == SAMPLE_CSV
    assert sample["status"] == "loaded"
    assert report["executive_summary"]["total_revenue"] == cents(csv_revenue(SAMPLE_CSV))
    assert report["period"]["days"] == len(report["trend_analysis"]["days"]) > 30
    assert before <= datetime.fromisoformat(report["generated_at"]) <= after
    assert datetime.fromisoformat(report["generated_at"]).utcoffset() == timedelta(0)
    for name in ("revenue.png", "products.png"):
        assert_png(tmp_path / name)


def test_an_empty_database_gives_a_valid_report_and_charts_that_say_there_is_no_data(run_main, tmp_path: Path) -> None:
    result = run_main("--skip-ingest")

    assert_quiet_success(result)
    report = valid_report(tmp_path)
    assert report["period"] == {"start": None, "end": None, "days": 0}
    assert report["notes"][0].startswith("No sales data")
    assert report["executive_summary"]["total_revenue"] == 0
    assert report["product_performance"] == report["trend_analysis"]["days"] == []
    expected = tmp_path / "expected"
    expected.mkdir()
    visualization.draw_revenue_chart(expected / "revenue.png", [], None, 5)
    visualization.draw_products_chart(expected / "products.png", [])
    for name in ("revenue.png", "products.png"):  # pixel for pixel the chart that reads "No sales data to report"
        assert np.array_equal(assert_png(tmp_path / name), assert_png(expected / name))


def test_a_one_day_history(run_main, tmp_path: Path) -> None:
    day = date(2025, 3, 14)
    sales = write_sales(tmp_path / "one_day.csv", day, 1)

    assert_quiet_success(run_main("--csv", str(sales)))

    report = valid_report(tmp_path)
    summary = report["executive_summary"]
    assert report["period"] == {"start": "2025-03-14", "end": "2025-03-14", "days": 1}
    assert "one day" in report["notes"][0]
    assert summary["total_revenue"] == summary["average_daily_revenue"] == cents(csv_revenue(sales))
    assert summary["best_day"] == summary["worst_day"] == {"date": "2025-03-14", "revenue": summary["total_revenue"]}
    latest = summary["latest_change"]  # schema 1.1 added week_over_week_pct (null here): keys added, none renamed
    assert {key: latest[key] for key in ("date", "change_pct", "trend")} == {
        "date": "2025-03-14", "change_pct": None, "trend": "No Baseline"}
    assert report["prediction"]["date"] == "2025-03-15"
    for name in ("revenue.png", "products.png"):
        assert_png(tmp_path / name)


def test_a_ten_day_history_counts_a_day_without_sales_as_zero(run_main, tmp_path: Path) -> None:
    sales = write_sales(tmp_path / "ten_days.csv", date(2024, 12, 27), 10, skip=frozenset({4}))

    assert_quiet_success(run_main("--csv", str(sales)))

    report = valid_report(tmp_path)
    days = report["trend_analysis"]["days"]
    assert report["period"] == {"start": "2024-12-27", "end": "2025-01-05", "days": 10}
    assert [day["date"] for day in days] == [(date(2024, 12, 27) + timedelta(n)).isoformat() for n in range(10)]
    assert days[4]["revenue"] == 0
    assert report["executive_summary"]["total_revenue"] == cents(csv_revenue(sales))
    assert report["notes"] == []
    assert sum(report["trend_analysis"]["counts"].values()) == 10
    for name in ("revenue.png", "products.png"):
        assert_png(tmp_path / name)


# --- files: where, how private, how stable ------------------------------------------------------------


def test_outputs_go_to_the_output_dir_and_are_private(run_main, tmp_path: Path) -> None:
    sales = write_sales(tmp_path / "sales.csv", date(2025, 1, 1), 5)

    assert_quiet_success(run_main("--csv", str(sales), "--output-dir", "out/nightly"))

    folder = tmp_path / "out" / "nightly"
    valid_report(folder)
    for name in OUTPUTS:
        assert not (tmp_path / name).exists()
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600, name
    assert stat.S_IMODE((tmp_path / "autosight.log").stat().st_mode) == 0o600


def test_a_second_run_with_the_same_data_changes_no_figure(run_main, tmp_path: Path) -> None:
    sales = write_sales(tmp_path / "sales.csv", date(2025, 1, 1), 12)
    assert_quiet_success(run_main("--csv", str(sales)))
    first = valid_report(tmp_path)

    assert_quiet_success(run_main("--csv", str(sales)))

    second = valid_report(tmp_path)
    assert second["run_id"] != first["run_id"]
    assert [f["status"] for f in first["data_quality"]["files"]] == ["loaded"]
    assert [f["status"] for f in second["data_quality"]["files"]] == ["unchanged"]
    assert without_run_details(second) == without_run_details(first)
    assert second["executive_summary"]["total_revenue"] == cents(csv_revenue(sales))


# --- the log ---------------------------------------------------------------------------------------------


def test_the_log_has_the_run_id_on_every_line_and_each_step_with_its_duration(run_main, tmp_path: Path) -> None:
    sales = write_sales(tmp_path / "sales.csv", date(2025, 1, 1), 3)
    assert_quiet_success(run_main("--csv", str(sales)))
    first_run = valid_report(tmp_path)["run_id"]
    assert_quiet_success(run_main("--skip-ingest"))
    second_run = valid_report(tmp_path)["run_id"]

    lines = log_lines(tmp_path)

    run_ids = [match["run_id"] if (match := LOG_LINE.match(line)) else line for line in lines]
    assert set(run_ids) == {first_run, second_run}  # every line belongs to one of the two runs, and says which
    for run_id in (first_run, second_run):
        text = "\n".join(line for line in lines if f" {run_id} " in line)
        for step in STEPS:
            assert re.search(rf" step {step} finished in \d+\.\d{{3}} s", text), (run_id, step)


def test_a_failing_run_puts_the_traceback_in_the_log_and_one_line_on_stderr(run_main, tmp_path: Path) -> None:
    (tmp_path / "not_a_folder").write_text("a file where the output folder should be\n")

    result = run_main("--skip-ingest", "--output-dir", "not_a_folder")

    assert result.returncode == 73
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("autosight: error: ") and "not_a_folder" in line
    lines = log_lines(tmp_path)
    assert all(LOG_LINE.match(line) for line in lines)
    assert len({match["run_id"] for line in lines if (match := LOG_LINE.match(line))}) == 1
    text = "\n".join(lines)
    assert "Traceback (most recent call last)" in text
    assert re.search(r"\| \S*OutputNotWritable: ", text)
    assert not (tmp_path / "report.json").exists()


SECRET = "Pw-7r0ub4dor-S3cret"


@pytest.mark.parametrize(
    "settings",
    [
        pytest.param({"DATABASE_URL": f"postgresql://autosight:{SECRET}@127.0.0.1:1/sales"}, id="DATABASE_URL"),
        pytest.param({"DATABASE_URL": "", "DB_HOST": "127.0.0.1", "DB_PORT": "1", "DB_USER": "autosight",
                      "DB_PASSWORD": SECRET}, id="DB_PASSWORD"),
    ],
)
@pytest.mark.parametrize("verbose", [(), ("--verbose",)], ids=["quiet", "verbose"])
def test_a_failing_connection_never_writes_the_password(
    run_main, tmp_path: Path, settings: dict[str, str], verbose: tuple[str, ...]
) -> None:
    result = run_main("--skip-ingest", *verbose,
                      env={**settings, "CONNECT_RETRIES": "1", "CONNECT_RETRY_DELAY": "0"})

    assert result.returncode == 75
    assert result.stderr.strip()
    log = (tmp_path / "autosight.log").read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in log
    for where in (log, result.stderr, result.stdout):
        assert SECRET not in where
    if not verbose:
        assert len(result.stderr.splitlines()) == 1


# --- interrupted runs ------------------------------------------------------------------------------------


def start_main(database_url: str, cwd: Path, *args: str) -> subprocess.Popen[bytes]:
    """``python main.py ARGS`` in the background, with the settings of the ``run_main`` fixture."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DB_", "DATABASE_URL", "AUTOSIGHT_", "CSV_PATH", "OUTPUT_DIR", "LOG_"))}
    env["DATABASE_URL"] = database_url
    return subprocess.Popen([sys.executable, str(PROJECT_DIR / "main.py"), *args], cwd=cwd, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition`` as fast as is reasonable; fail (rather than hang) if it never holds."""
    deadline = time.monotonic() + PATIENCE_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.001)


def kill_when_logged(database_url: str, cwd: Path, args: tuple[str, ...], text: str, delay: float = 0.0) -> None:
    """Start a run and SIGKILL it ``delay`` seconds after ``text`` appears in its log (sooner if it ends first).

    The delay is a moment chosen at random, never a measured duration: nothing is asserted about time.
    """
    log_file = cwd / "autosight.log"
    seen = log_file.read_text(errors="replace") if log_file.exists() else ""
    process = start_main(database_url, cwd, *args)
    try:
        wait_for(lambda: process.poll() is not None or text in log_file.read_text(errors="replace")[len(seen):],
                 f"{text!r} in the log")
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=PATIENCE_SECONDS)


class Snapshots:
    """The outputs as a reader finds them after each kill, checked against the old and the new run at the end."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.taken: list[tuple[str, dict[str, bytes]]] = []

    def take(self, moment: str) -> None:
        self.taken.append((moment, {name: (self.folder / name).read_bytes() for name in OUTPUTS}))
        valid_report(self.folder)  # parses and matches the schema right now, whoever wrote it
        for name in ("revenue.png", "products.png"):
            assert_png(self.folder / name)

    def assert_each_old_or_new(self, old: dict[str, bytes], new: dict[str, bytes]) -> None:
        new_figures = without_run_details(json.loads(new["report.json"]))
        for moment, files in self.taken:
            for name in ("revenue.png", "products.png"):
                assert files[name] in (old[name], new[name]), f"{name} after a kill at {moment}"
            report = files["report.json"]
            assert report == old["report.json"] or without_run_details(json.loads(report)) == new_figures, (
                f"report.json after a kill at {moment}")


@pytest.fixture
def interrupted_history(run_main, database_url: str, tmp_path: Path) -> Iterator[tuple[Callable[..., None], Snapshots]]:
    """A good run on one month, then the test's killed runs that add another month, then one good run that adds it.

    Yields (kill, snapshots): ``kill(text, delay)`` runs one run killed ``delay`` seconds after ``text`` is
    logged (see ``kill_when_logged``) and takes a snapshot of the outputs.
    After the test body, every snapshot must be the old outputs or the new ones, each file whole, and the good
    run must leave no temporary file behind, even those a killed writer could not remove.
    """
    old_sales = write_sales(tmp_path / "january.csv", date(2025, 1, 1), 31, seed=1)
    new_sales = write_sales(tmp_path / "february.csv", date(2025, 2, 1), 28, seed=2)
    assert_quiet_success(run_main("--csv", str(old_sales)))
    old = {name: (tmp_path / name).read_bytes() for name in OUTPUTS}
    snapshots = Snapshots(tmp_path)
    new_run = ("--csv", str(new_sales), "--wait", "60")  # a killed run's lock dies with its connection

    def kill(text: str, delay: float = 0.0) -> None:
        kill_when_logged(database_url, tmp_path, new_run, text, delay)
        snapshots.take(f"{delay:.3f} s after {text!r}")

    yield kill, snapshots

    assert_quiet_success(run_main(*new_run))
    new = {name: (tmp_path / name).read_bytes() for name in OUTPUTS}
    assert valid_report(tmp_path)["executive_summary"]["total_revenue"] == cents(csv_revenue(old_sales, new_sales))
    assert temp_files(tmp_path) == []
    snapshots.assert_each_old_or_new(old, new)


def test_runs_killed_between_steps_leave_whole_outputs(interrupted_history) -> None:
    kill, snapshots = interrupted_history
    moments = ["step ingest started", "step charts started", "step report started", "step report finished"]

    for moment in moments:
        kill(moment)

    assert len(snapshots.taken) == len(moments)


def test_runs_killed_while_writing_leave_whole_outputs(interrupted_history) -> None:
    """Killed at random moments spread over the charts and report steps, some half way through writing a file."""
    kill, snapshots = interrupted_history
    rng = random.Random(20250301)
    delays = [tenth / 10 + rng.uniform(0.0, 0.1) for tenth in range(6)]

    for delay in delays:
        kill("step charts started", delay)

    assert len(snapshots.taken) == len(delays)


def test_a_run_removes_the_temporary_files_a_killed_writer_left(run_main, tmp_path: Path) -> None:
    leftovers = [".report.json.k1ll3d.tmp", ".revenue.png.abc_12.tmp", ".products.png.x.tmp"]
    others = [".notes.tmp", "report.json.bak", ".report.json.kept"]
    for name in leftovers + others:
        (tmp_path / name).write_bytes(b"half a file")

    assert_quiet_success(run_main("--skip-ingest"))

    assert temp_files(tmp_path) == [".notes.tmp"]
    assert all((tmp_path / name).read_bytes() == b"half a file" for name in others)
    log = (tmp_path / "autosight.log").read_text(encoding="utf-8")
    assert all(name in log for name in leftovers)
