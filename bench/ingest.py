"""Ingestion speed against a plain COPY of the same file, measured in the same run.

Why: AutoSight validates every value, keeps a ledger and builds a daily x product rollup, all in one
transaction; issue 13's acceptance is that this costs at most 1.5x a bare COPY of the same file into an
unconstrained table (2.0x with a few rejected rows; issue 3 asked 2.0x), with a peak RSS under 200 MB. Each
measurement runs in a fresh subprocess on a fresh database, so that the RSS reported (``ru_maxrss``) belongs to
that measurement alone.

Run from the repository root::

    python bench/ingest.py --rows 1000000 5000000 [--validating] [--repeat 3] [--database-url URL]

Without ``--database-url`` an embedded PostgreSQL is started in a temporary folder (the default user
setup) and removed afterwards. With it, a database per measurement is created on that server and dropped.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import psycopg2
import psycopg2.extensions
from psycopg2 import sql

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

import db  # noqa: E402
import ingestion  # noqa: E402
from autosight import scratch  # noqa: E402
from scripts.generate_sample_data import PRODUCTS, QUANTITIES, QUANTITY_WEIGHTS, RETURN_PROBABILITY  # noqa: E402

SEED = 20260630
FIRST_DAY = date(2023, 1, 1)
DAYS = 3 * 365  # three years of trading: about 11,000 day x product groups in the rollup
PLAIN_TABLE = "plain_copy"
GENERATOR_BLOCK = 100_000
KINDS = ("copy", "autosight", "rejects", "validating")
# The "rejects" file: the same number of clean rows with this block in the middle and at the very end (issue 13.3:
# one bad row at the end of a 1M-row file used to send the whole file down the validating path). Per block: a
# blank line (not a row), a bad price and a date past the bounds (rejected), a '$' price (loaded, diverted).
REJECTS_BLOCK = "\n2024-06-01,Widget,1,oops\n9999-12-31,Widget,1,2.00\n2024-06-01,Widget,1,$2.00\n"
REJECTS_PER_BLOCK, LOADED_PER_BLOCK = 2, 1
# Issue 13's targets (issue 3 asked 2.0x): the ingestion at most 1.5x the plain COPY, a file with a few rejected
# rows at most 2.0x.
MAX_REJECTS_RATIO = 2.0
MAX_RATIO = 1.5
MAX_RSS_MB = 200.0


@dataclass(frozen=True)
class Measurement:
    kind: str
    rows: int
    seconds: float
    client_cpu: float  # CPU seconds of this process (not the server's) over the same time
    max_rss_mb: float
    path: str  # how AutoSight loaded the file ("copy" or "validated"); "-" for the plain COPY

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds


# ---------------------------------------------------------------------------------------------
# The input file


def canonical_lines(rows: int, seed: int = SEED) -> Iterator[str]:
    """``rows`` canonical CSV lines in date order: the bundled sample's products, prices and quantities.

    Deterministic (fixed seed) and fast: product fields are quoted once, and the random choices are drawn a
    block at a time, so that memory stays flat however many rows are asked for.
    """
    rng = random.Random(seed)
    products = [(_csv_field(name), f"{price:.2f}") for name, price, _ in PRODUCTS]
    weights = [weight for _, _, weight in PRODUCTS]
    days = [(FIRST_DAY + timedelta(days=offset)).isoformat() for offset in range(DAYS)]
    for block_start in range(0, rows, GENERATOR_BLOCK):
        size = min(GENERATOR_BLOCK, rows - block_start)
        chosen = rng.choices(range(len(products)), weights=weights, k=size)
        quantities = rng.choices(QUANTITIES, weights=QUANTITY_WEIGHTS, k=size)
        for offset in range(size):
            quantity = -quantities[offset] if rng.random() < RETURN_PROBABILITY else quantities[offset]
            name, price = products[chosen[offset]]
            yield f"{days[(block_start + offset) * DAYS // rows]},{name},{quantity},{price}\n"


def _csv_field(value: str) -> str:
    """The value as one CSV field, quoted when it holds a comma, a quote or a newline."""
    return '"' + value.replace('"', '""') + '"' if any(char in value for char in ',"\n') else value


def write_file(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as stream:
        stream.write("sale_date,product_name,quantity,price\n")
        stream.writelines(canonical_lines(rows))


def write_file_with_rejects(path: Path, rows: int) -> None:
    """``rows`` clean rows with REJECTS_BLOCK after the first half and at the end."""
    with path.open("w", encoding="utf-8", newline="") as stream:
        stream.write("sale_date,product_name,quantity,price\n")
        stream.writelines(canonical_lines(rows // 2))
        stream.write(REJECTS_BLOCK)
        stream.writelines(canonical_lines(rows - rows // 2, SEED + 1))
        stream.write(REJECTS_BLOCK)


# ---------------------------------------------------------------------------------------------
# One measurement (run in a subprocess of its own)


def measure(kind: str, dsn: str, path: Path, rows: int) -> Measurement:
    """Time one load of ``path`` into the (fresh) database ``dsn``; schema set-up is not timed."""
    connection = psycopg2.connect(dsn)
    try:
        if kind == "copy":
            (seconds, client_cpu), load_path = _plain_copy(connection, path), "-"
        else:
            db.migrate(connection)
            seconds, client_cpu = _autosight(connection, path, rows, kind)
            load_path = _load_path(connection)
    finally:
        connection.close()
    return Measurement(kind, rows, seconds, client_cpu, peak_rss_mb(), load_path)


def _timer() -> Callable[[], tuple[float, float]]:
    """Start timing; the function returned gives (elapsed seconds, CPU seconds of this process) since."""
    wall, cpu = time.perf_counter(), time.process_time()
    return lambda: (time.perf_counter() - wall, time.process_time() - cpu)


def peak_rss_mb() -> float:
    """Peak RSS of this process in MB.

    On Linux, ``ru_maxrss`` survives exec: a child starts with its parent's peak (here, the generator's), so
    the kernel's own high-water mark of this address space (VmHWM) is read instead when it is there.
    """
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _plain_copy(connection: psycopg2.extensions.connection, path: Path) -> tuple[float, float]:
    """CREATE TABLE + COPY + COMMIT in one transaction: the fastest a bare COPY of the file gets."""
    elapsed = _timer()
    with connection, connection.cursor() as cursor, path.open("rb") as stream:
        cursor.execute(sql.SQL("CREATE TABLE {} (sale_date date, product_name text, quantity integer,"
                               " price numeric)").format(sql.Identifier(PLAIN_TABLE)))
        cursor.copy_expert(sql.SQL("COPY {} FROM STDIN WITH (FORMAT csv, HEADER true)")
                           .format(sql.Identifier(PLAIN_TABLE)), stream)
    return elapsed()


def _autosight(connection: psycopg2.extensions.connection, path: Path, rows: int, kind: str) -> tuple[float, float]:
    """ingestion.ingest_file end to end: hash pass, COPY, validation, rollup, ledger, commit."""
    elapsed = _timer()
    options = ingestion.LoadOptions(allow_fast_path=kind != "validating")
    outcome = ingestion.ingest_file(connection, path, options)
    times = elapsed()
    blocks = 2 if kind == "rejects" else 0
    expected = (rows + blocks * LOADED_PER_BLOCK, blocks * REJECTS_PER_BLOCK)
    if (outcome.rows_loaded, outcome.rows_rejected) != expected:
        raise SystemExit(f"AutoSight loaded {outcome.rows_loaded} rows and rejected {outcome.rows_rejected},"
                         f" not {expected} ({outcome})")
    return times


def _load_path(connection: psycopg2.extensions.connection) -> str:
    """How AutoSight loaded the file: "copy" (the fast path) or "validated"."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT load_options->>'path' FROM loaded_files")
        return str(cursor.fetchone()[0])


def _run_measurement(kind: str, server_dsn: str, path: Path, rows: int) -> Measurement:
    """Run ``measure`` in a fresh Python process, on a database created for it and dropped after."""
    with scratch.scratch_database(server_dsn, f"bench_{kind}") as dsn:
        result = subprocess.run([sys.executable, __file__, "--measure", kind, "--dsn", dsn, "--file", str(path),
                                 "--rows", str(rows)], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise SystemExit(f"measurement {kind} failed:\n{result.stderr}")
        return Measurement(**json.loads(result.stdout))


# ---------------------------------------------------------------------------------------------
# The run: generate, measure, report




def bench_size(server_dsn: str, folder: Path, rows: int, kinds: list[str], repeat: int) -> list[Measurement]:
    """Generate the file once, then alternate the measurements ``repeat`` times."""
    path = folder / f"canonical_{rows}.csv"
    with_rejects = folder / f"rejects_{rows}.csv"
    started = time.perf_counter()
    write_file(path, rows)
    if "rejects" in kinds:
        write_file_with_rejects(with_rejects, rows)
    print(f"\n{rows:,} rows: {path.stat().st_size / 2**20:.1f} MiB generated in {time.perf_counter() - started:.1f} s",
          flush=True)
    results = []
    for _ in range(repeat):
        for kind in kinds:
            result = _run_measurement(kind, server_dsn, with_rejects if kind == "rejects" else path, rows)
            print(f"  {kind:<10} {result.seconds:7.2f} s  {result.rows_per_second:>12,.0f} rows/s"
                  f"  client CPU {result.client_cpu:6.2f} s  peak RSS {result.max_rss_mb:6.1f} MB"
                  f"  (path: {result.path})", flush=True)
            results.append(result)
    path.unlink()
    with_rejects.unlink(missing_ok=True)
    return results


def summary(rows: int, results: list[Measurement]) -> tuple[str, bool]:
    """One line per size: median rows/s, the ratio AutoSight / plain COPY, peak RSS; and whether acceptance holds."""
    median = {kind: statistics.median(r.seconds for r in results if r.kind == kind)
              for kind in KINDS if any(r.kind == kind for r in results)}
    peak = {kind: max(r.max_rss_mb for r in results if r.kind == kind) for kind in median}
    ratio = median["autosight"] / median["copy"]
    parts = [f"{rows:>10,} rows", f"plain COPY {rows / median['copy']:>10,.0f} rows/s ({peak['copy']:.0f} MB)",
             f"AutoSight {rows / median['autosight']:>10,.0f} rows/s ({peak['autosight']:.0f} MB)",
             f"ratio {ratio:.2f}x"]
    passed = ratio <= MAX_RATIO and peak["autosight"] < MAX_RSS_MB
    if "rejects" in median:
        rejects_ratio = median["rejects"] / median["autosight"]
        parts.append(f"few rejects {rows / median['rejects']:,.0f} rows/s ({rejects_ratio:.2f}x the clean file, "
                     f"{median['rejects'] / median['copy']:.2f}x COPY, {peak['rejects']:.0f} MB)")
        passed = passed and median["rejects"] / median["copy"] <= MAX_REJECTS_RATIO
    if "validating" in median:
        parts.append(f"validating path {rows / median['validating']:,.0f} rows/s "
                     f"({median['validating'] / median['copy']:.1f}x, {peak['validating']:.0f} MB)")
    return " | ".join(parts), passed


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000], metavar="N",
                        help="sizes to measure (default: 1000000)")
    parser.add_argument("--database-url", help="server to measure on (default: embedded PostgreSQL in a temp folder)")
    parser.add_argument("--validating", action="store_true",
                        help="also time the validating path (every row parsed in Python), for information")
    parser.add_argument("--repeat", type=int, default=1, help="alternate the measurements N times; medians reported")
    parser.add_argument("--measure", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--dsn", help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # A plain `kill` then still stops the embedded server and removes the temporary folders (finally blocks).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.measure:  # the child process of one measurement
        print(json.dumps(measure(args.measure, args.dsn, args.file, args.rows[0]).__dict__))
        return 0
    kinds = ["copy", "autosight", "rejects", *(["validating"] if args.validating else [])]
    lines, passed = [], True
    with (scratch.server_or_temporary_embedded(args.database_url) as server_dsn,
          tempfile.TemporaryDirectory(prefix="autosight-bench-csv-") as tmp):
        os.chmod(tmp, 0o755)
        for rows in args.rows:
            line, ok = summary(rows, bench_size(server_dsn, Path(tmp), rows, kinds, args.repeat))
            lines.append(line)
            passed = passed and ok
    print("\n" + "\n".join(lines))
    print(f"acceptance (ratio <= {MAX_RATIO}x, peak RSS < {MAX_RSS_MB:.0f} MB, few rejects <= {MAX_REJECTS_RATIO}x"
          f" COPY): {'met' if passed else 'NOT met'}")
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
