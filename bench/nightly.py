r"""The nightly run, end to end: nothing new in the inbox, then one new small file, with years of files loaded.

Why: cron runs `python main.py --inbox DIR` every night; with ten years of daily exports in the folder
(3,650 files), a night with nothing new must cost about nothing (target 1.0 s on a PostgreSQL server),
and a night with one new file little more (1.5 s). Each figure is the wall-clock time of a whole
`python main.py` process, interpreter start-up included, as cron sees it; the log's step durations
say where the time goes. With the embedded server, its start and stop are measured too (from the log).

Run from the repository root::

    python bench/nightly.py --files 1000 3650 [--repeat 3] [--database-url URL] [--rows-per-file 300]
    python bench/nightly.py --whole-run 1000000 --database-url URL [--repeat 3]

``--whole-run N`` times instead a whole `python main.py --csv FILE` of N canonical rows into an empty
database (schema, ingest, analysis, forecast, charts, report) against `psql -c "\copy ..."` of the same
file into an unconstrained table, both end to end as processes, alternated, in fresh databases.

With ``--database-url`` (a server) a scratch database is created on it per size and dropped after;
without it an embedded PostgreSQL is used, in a temporary data folder. The inbox is filled and loaded
once per size (that first load is reported, not the point), then each measured run happens
``--repeat`` times and the median is printed.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))
sys.path.insert(0, str(PROJECT_DIR / "bench"))

from autosight import scratch  # noqa: E402
from scripts.generate_sample_data import PRODUCTS, QUANTITIES, QUANTITY_WEIGHTS  # noqa: E402
from settings import SETTING_NAMES  # noqa: E402

SEED = 20261202
FIRST_DAY = date(2016, 1, 1)
STEP_LINE = re.compile(r" step (\w+) finished in (\d+\.\d+) s")
EMBEDDED_READY = re.compile(r"embedded PostgreSQL in .* ready in (\d+\.\d+) s")
EMBEDDED_STOPPED = re.compile(r"embedded PostgreSQL stopped in (\d+\.\d+) s")
TARGETS = {"no-op": 1.0, "one new file": 1.5}  # seconds, on a server, with 3,650 files loaded


@dataclass
class Run:
    """One `python main.py` process: its wall-clock time and what its log says about it."""

    seconds: float
    cpu_seconds: float = 0.0  # the main.py process's own CPU time (user + system): what a busy machine does not inflate
    steps: dict[str, float] = field(default_factory=dict)
    embedded_start: float | None = None
    embedded_stop: float | None = None


def write_day(folder: Path, day_index: int, rows: int) -> Path:
    """One day's export: ``rows`` sales of that day (a seeded, reproducible mix of the sample's products)."""
    rng = random.Random(SEED + day_index)
    day = FIRST_DAY + timedelta(days=day_index)
    path = folder / f"sales_{day.isoformat()}.csv"
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(["sale_date", "product_name", "quantity", "price"])
        for _ in range(rows):
            name, price, _weight = rng.choice(PRODUCTS)
            writer.writerow([day.isoformat(), name, rng.choices(QUANTITIES, QUANTITY_WEIGHTS)[0], price])
    exported = datetime.combine(day, datetime.min.time()).timestamp() + 23 * 3600  # at closing time, as a till would
    os.utime(path, (exported, exported))  # (a file modified moments before it is read is hashed again next night)
    return path


def run_main(source: list[str], workdir: Path, env: dict[str, str]) -> Run:
    """`python main.py SOURCE --output-dir out` in ``workdir``, timed, with the step durations of its log."""
    log_file = workdir / "autosight.log"
    log_file.unlink(missing_ok=True)
    cpu_before = _children_cpu()
    started = time.perf_counter()
    result = subprocess.run([sys.executable, str(PROJECT_DIR / "main.py"), *source, "--output-dir",
                             str(workdir / "out")], cwd=workdir, env=env, capture_output=True, text=True,
                            check=False)
    seconds = time.perf_counter() - started
    cpu_seconds = _children_cpu() - cpu_before
    if result.returncode != 0:
        raise SystemExit(f"main.py exited {result.returncode}: {result.stderr.strip()}")
    log = log_file.read_text()
    run = Run(seconds, cpu_seconds, {name: float(value) for name, value in STEP_LINE.findall(log)})
    if ready := EMBEDDED_READY.search(log):
        run.embedded_start = float(ready.group(1))
    if stopped := EMBEDDED_STOPPED.search(log):
        run.embedded_stop = float(stopped.group(1))
    return run


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def median_run(runs: list[Run]) -> Run:
    def middle(values: list[float | None]) -> float | None:
        present = [value for value in values if value is not None]
        return statistics.median(present) if present else None

    steps = {name: statistics.median(run.steps.get(name, 0.0) for run in runs) for name in runs[0].steps}
    return Run(statistics.median(run.seconds for run in runs), statistics.median(run.cpu_seconds for run in runs),
               steps, middle([run.embedded_start for run in runs]), middle([run.embedded_stop for run in runs]))


def describe(label: str, files: int, run: Run) -> str:
    steps = " ".join(f"{name}={seconds:.2f}" for name, seconds in run.steps.items())
    embedded = ""
    if run.embedded_start is not None:
        embedded = f" embedded start={run.embedded_start:.2f} stop={run.embedded_stop or 0:.2f}"
    return f"{files:>5} files  {label:<13} {run.seconds:6.2f} s (cpu {run.cpu_seconds:5.2f} s)  ({steps}){embedded}"


@contextmanager
def database_env(database_url: str | None) -> Iterator[dict[str, str]]:
    """The environment of the measured runs: a scratch database on the server, or a fresh embedded one."""
    # Cron's environment: no AutoSight setting, and Python may cache its bytecode (this machine's shell forbids it
    # with PYTHONDONTWRITEBYTECODE, which would add compiling every module to every run).
    base = {key: value for key, value in os.environ.items()
            if key not in SETTING_NAMES and key != "PYTHONDONTWRITEBYTECODE"}
    if database_url:
        with scratch.scratch_database(database_url, "bench_nightly") as dsn:
            yield {**base, "DATABASE_URL": dsn}
        return
    with tempfile.TemporaryDirectory(prefix="autosight-bench-") as folder:
        yield {**base, "AUTOSIGHT_DATA_DIR": str(Path(folder) / "data")}


def measure(files: int, rows: int, repeat: int, database_url: str | None) -> list[str]:
    lines = []
    with tempfile.TemporaryDirectory(prefix="autosight-nightly-") as folder, database_env(database_url) as env:
        workdir, inbox = Path(folder), Path(folder) / "inbox"
        inbox.mkdir()
        for day_index in range(files):
            write_day(inbox, day_index, rows)
        nightly = ["--inbox", str(inbox)]
        first = run_main(nightly, workdir, env)
        lines.append(describe("first load", files, first))
        no_op = median_run([run_main(nightly, workdir, env) for _ in range(repeat)])
        lines.append(describe("no-op", files, no_op))
        new_file_runs = []
        for extra in range(repeat):
            write_day(inbox, files + extra, rows)
            new_file_runs.append(run_main(nightly, workdir, env))
        lines.append(describe("one new file", files, median_run(new_file_runs)))
    return lines


def whole_run(rows: int, repeat: int, database_url: str) -> list[str]:
    """Median seconds of `main.py --csv` and of `psql \\copy` over the same file, and their ratio."""
    from ingest import write_file  # bench/ingest.py: the same canonical rows as the ingestion benchmark

    times: dict[str, list[float]] = {"main.py": [], "psql \\copy": []}
    steps: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="autosight-whole-") as folder:
        workdir, csv_file = Path(folder), Path(folder) / "sales.csv"
        write_file(csv_file, rows)
        for _ in range(repeat):
            with database_env(database_url) as env:
                started = time.perf_counter()
                with csv_file.open("rb") as stream:  # psql's stdin: "pstdin" below
                    subprocess.run(["psql", env["DATABASE_URL"], "-q", "-v", "ON_ERROR_STOP=1", "-c",
                                    "CREATE TABLE plain (sale_date date, product_name text, quantity integer,"
                                    " price numeric)", "-c", "\\copy plain FROM pstdin WITH (FORMAT csv, HEADER)"],
                                   stdin=stream, check=True, capture_output=True)
                times["psql \\copy"].append(time.perf_counter() - started)
            with database_env(database_url) as env:
                shutil.rmtree(workdir / "out", ignore_errors=True)  # a first run: its charts are drawn
                run = run_main(["--csv", str(csv_file)], workdir, env)
                times["main.py"].append(run.seconds)
                steps.append(run)
    copy_seconds, main_seconds = statistics.median(times["psql \\copy"]), statistics.median(times["main.py"])
    return [f"{rows:>10,} rows  psql \\copy {copy_seconds:6.2f} s   main.py --csv {main_seconds:6.2f} s   "
            f"ratio {main_seconds / copy_seconds:.2f}x",
            describe("main.py steps", 1, median_run(steps))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, nargs="+", default=[1000, 3650])
    parser.add_argument("--whole-run", type=int, metavar="ROWS",
                        help="time `main.py --csv` of ROWS rows against psql \\copy instead (needs --database-url)")
    parser.add_argument("--rows-per-file", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url", help="a PostgreSQL server (default: the embedded server)")
    args = parser.parse_args()
    if args.whole_run:
        if not args.database_url:
            parser.error("--whole-run compares with psql: give the server with --database-url")
        print(f"# whole run against psql \\copy on the server, median of {args.repeat}")
        for line in whole_run(args.whole_run, args.repeat, args.database_url):
            print(line, flush=True)
        return
    where = "server" if args.database_url else "embedded server"
    print(f"# nightly --inbox runs on the {where}, {args.rows_per_file} rows per file, median of {args.repeat}")
    for files in args.files:
        for line in measure(files, args.rows_per_file, args.repeat, args.database_url):
            print(line, flush=True)


if __name__ == "__main__":
    main()
