"""Load test of the HTTP API on loopback: requests/s, p50/p99 latency and errors under concurrent clients.

Why: the dashboard and other clients hit ``summary``, ``days`` and ``products`` all day; the API serves
them from reports cached per data version, so its latency should not depend on the 5M rows behind it.

What it does: loads a history (default 5,000,000 rows over 3 years, 100 products, generated and loaded
as ``bench/analysis.py`` does) into a fresh database, starts ``python api.py`` on a free loopback port,
warms the three periods used, then runs ``--clients`` concurrent keep-alive clients for ``--seconds``
over ``summary``, ``days`` and ``products`` (each for the whole history and for the last 90 days), and
measures the dashboard's first paint in Chromium (when /usr/bin/chromium exists), and prints one
Markdown table row. The clients run in this process (asyncio, raw HTTP/1.1): on a 2-core
machine they share the CPU with the server, so the figures are a floor.

Run from the repository root::

    python bench/api.py [--rows 5000000] [--days 1096] [--clients 32] [--seconds 20]
                        [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

Without ``--database-url`` an embedded PostgreSQL is started in a temporary folder and removed afterwards;
with it, a database is created on that server for the run and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import psycopg2

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

import db  # noqa: E402
from autosight import scratch  # noqa: E402
from settings import SETTING_NAMES  # noqa: E402

FIRST_DAY = date(2023, 1, 1)
PRODUCTS = 100
PATHS = ("/api/v1/summary", "/api/v1/days", "/api/v1/products?limit=50",
         "/api/v1/summary?days=90", "/api/v1/days?days=90", "/api/v1/products?days=90&limit=50")
START_PATIENCE_SECONDS = 120
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def _history_generator():  # type: ignore[no-untyped-def]
    """bench/analysis.py's generator and loader (a module named like the top-level analysis.py)."""
    spec = importlib.util.spec_from_file_location("bench_analysis", PROJECT_DIR / "bench" / "analysis.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@dataclass
class Results:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def load_history(dsn: str, rows: int, days: int, folder: Path) -> None:
    generator = _history_generator()
    connection = psycopg2.connect(dsn)
    try:
        db.migrate(connection)
        batch = generator.Batch(FIRST_DAY, days, max(1, rows // days), "api")
        generator.load(connection, batch, generator.product_prices(PRODUCTS), folder)
    finally:
        connection.close()


def start_server(dsn: str, port: int, folder: Path) -> subprocess.Popen[bytes]:
    env = {key: value for key, value in os.environ.items() if key not in SETTING_NAMES}
    env.update(DATABASE_URL=dsn, LOG_FILE=str(folder / "api.log"), OUTPUT_DIR=str(folder / "out"))
    process = subprocess.Popen([sys.executable, str(PROJECT_DIR / "api.py"), "--port", str(port)], cwd=folder,
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + START_PATIENCE_SECONDS
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the API server did not start")


def warm(port: int) -> float:
    """Build every report the load test asks for (first requests after start or after an ingest); seconds."""
    started = time.perf_counter()
    for path in PATHS:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=120) as answer:
            answer.read()
    return time.perf_counter() - started


async def client(port: int, index: int, stop_at: float, results: Results) -> None:
    """One keep-alive connection sending requests back to back, round-robin over PATHS."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    turn = index
    try:
        while time.perf_counter() < stop_at:
            path = PATHS[turn % len(PATHS)]
            turn += 1
            started = time.perf_counter()
            writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
            await writer.drain()
            status, length = await _read_head(reader)
            await reader.readexactly(length)
            results.latencies.append(time.perf_counter() - started)
            if status != 200:
                results.errors += 1
    except (OSError, asyncio.IncompleteReadError):
        results.errors += 1
    finally:
        writer.close()


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, int]:
    status_line = await reader.readline()
    status = int(status_line.split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    return status, length


async def load_test(port: int, clients: int, seconds: float) -> tuple[Results, float]:
    results = Results()
    started = time.perf_counter()
    stop_at = started + seconds
    await asyncio.gather(*(client(port, index, stop_at, results) for index in range(clients)))
    return results, time.perf_counter() - started


def first_paint(port: int) -> tuple[float, float] | None:
    """(first contentful paint, KPIs shown) of the dashboard in Chromium, in seconds; None without Chromium.

    Measured once the reports are warm, as a manager opening the dashboard in the morning finds them.
    """
    if not CHROMIUM.exists():
        return None
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            started = time.perf_counter()
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_selector("#kpi-revenue")
            shown = time.perf_counter() - started
            paint = page.evaluate("performance.getEntriesByName('first-contentful-paint')[0].startTime") / 1000
        finally:
            browser.close()
    return paint, shown


def percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--days", type=int, default=1096)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--database-url", help="a PostgreSQL server to create the bench database on")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="autosight-bench-api-") as name, \
            scratch.server_or_temporary_embedded(args.database_url) as server_dsn, \
            scratch.scratch_database(server_dsn, "autosight_bench_api") as dsn:
        folder = Path(name)
        load_history(dsn, args.rows, args.days, folder)
        port = free_port()
        server = start_server(dsn, port, folder)
        try:
            cold = warm(port)
            paint = first_paint(port)
            results, elapsed = asyncio.run(load_test(port, args.clients, args.seconds))
        finally:
            server.terminate()
            server.wait(30)
    ordered = sorted(results.latencies)
    print("| rows | days | clients | seconds | requests | requests/s | p50 | p99 | max | errors | first build |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {args.rows:,} | {args.days:,} | {args.clients} | {elapsed:.1f} | {len(ordered):,} | "
          f"{len(ordered) / elapsed:,.0f} | {statistics.median(ordered) * 1000:.1f} ms | "
          f"{percentile(ordered, 0.99) * 1000:.1f} ms | {ordered[-1] * 1000:.1f} ms | {results.errors} | "
          f"{cold:.2f} s |")
    if paint is not None:
        print(f"\ndashboard: first contentful paint {paint[0] * 1000:.0f} ms, KPIs shown {paint[1] * 1000:.0f} ms")
    return 0 if results.errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
