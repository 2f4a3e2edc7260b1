"""The nightly --inbox run does no work twice: files unchanged since loaded are not read, charts drawn from the
same figures are not redrawn; and whatever changed is still seen."""

from __future__ import annotations

import json
import os
import time
from decimal import Decimal
from pathlib import Path

import psycopg2
import pytest

import ingestion

HEADER = "sale_date,product_name,quantity,price\n"


def write_day(folder: Path, day: str, quantity: int, price: str = "2.50") -> Path:
    path = folder / f"sales_{day}.csv"
    path.write_text(f"{HEADER}{day},Tea,{quantity},{price}\n{day},Cake,1,4.00\n")
    return path


def set_mtime(path: Path, seconds_from_now: float) -> None:
    mtime_ns = time.time_ns() + int(seconds_from_now * 1e9)
    os.utime(path, ns=(mtime_ns, mtime_ns))


def stored_revenue(database_url: str) -> Decimal:
    connection = psycopg2.connect(database_url)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute("SELECT coalesce(sum(revenue), 0) FROM sales_with_revenue")
            return Decimal(cursor.fetchone()[0])
    finally:
        connection.close()


def files_in_report(tmp_path: Path) -> dict[str, str]:
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    return {Path(entry["path"]).name: entry["status"] for entry in report["data_quality"]["files"]}


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    for path in (write_day(folder, "2025-03-03", 2), write_day(folder, "2025-03-04", 3)):
        set_mtime(path, -3600)  # exported an hour before the nightly run
    return folder


@pytest.fixture
def files_read(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the files the ingestion opens to hash, in order (the real ingestion, observed)."""
    read: list[str] = []
    real = ingestion.ingest_file

    def observed(connection: psycopg2.extensions.connection, path: Path, options: ingestion.LoadOptions):
        read.append(path.name)
        return real(connection, path, options)

    monkeypatch.setattr(ingestion, "ingest_file", observed)
    return read


def test_files_unchanged_since_loaded_are_not_read_again(run_main, inbox, tmp_path, files_read):
    assert run_main("--inbox", str(inbox), "--output-dir", "out").returncode == 0
    write_day(inbox, "2025-03-05", 4)
    files_read.clear()

    assert run_main("--inbox", str(inbox), "--output-dir", "out").returncode == 0

    assert files_read == ["sales_2025-03-05.csv"]
    assert files_in_report(tmp_path) == {"sales_2025-03-03.csv": "unchanged", "sales_2025-03-04.csv": "unchanged",
                                         "sales_2025-03-05.csv": "loaded"}
    assert "2 file(s) unchanged since loaded" in (tmp_path / "autosight.log").read_text()


def test_a_touched_file_is_hashed_again_and_found_unchanged_then_skipped(run_main, inbox, database_url, files_read):
    assert run_main("--inbox", str(inbox), "--output-dir", "out").returncode == 0
    touched = inbox / "sales_2025-03-03.csv"
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 1_000_000_000))
    files_read.clear()

    assert run_main("--inbox", str(inbox), "--output-dir", "out").returncode == 0
    assert files_read == ["sales_2025-03-03.csv"]
    files_read.clear()
    assert run_main("--inbox", str(inbox), "--output-dir", "out").returncode == 0
    assert files_read == []  # its new identity was recorded
    assert stored_revenue(database_url) == Decimal("2") * Decimal("2.50") + Decimal("3") * Decimal("2.50") + 2 * 4


def test_a_fresh_file_rewritten_keeping_size_and_mtime_is_reloaded(run_main, tmp_path, database_url, files_read):
    # A rewrite in the same tick of a coarse filesystem clock keeps the modification time: a file modified
    # moments before (here: with a clock ahead of ours) is hashed again next run, not taken as unchanged.
    folder = tmp_path / "fresh"
    folder.mkdir()
    path = write_day(folder, "2025-03-03", 2)
    set_mtime(path, 60)
    assert run_main("--inbox", str(folder), "--output-dir", "out").returncode == 0
    before = path.stat()
    write_day(folder, "2025-03-03", 7)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (path.stat().st_ino, path.stat().st_size, path.stat().st_mtime_ns) == (
        before.st_ino, before.st_size, before.st_mtime_ns)
    files_read.clear()

    assert run_main("--inbox", str(folder), "--output-dir", "out").returncode == 0

    assert files_read == ["sales_2025-03-03.csv"]
    assert files_in_report(tmp_path) == {"sales_2025-03-03.csv": "replaced"}
    assert stored_revenue(database_url) == Decimal("7") * Decimal("2.50") + 4


def test_a_file_rewritten_with_the_same_size_is_reloaded(run_main, inbox, database_url, tmp_path):
    assert run_main("--inbox", str(inbox), "--output-dir", "out").returncode == 0
    rewritten = inbox / "sales_2025-03-04.csv"
    size = rewritten.stat().st_size
    write_day(inbox, "2025-03-04", 7)  # one digit for another: the same size, another modification time
    assert rewritten.stat().st_size == size

    assert run_main("--inbox", str(inbox), "--output-dir", "out").returncode == 0

    assert files_in_report(tmp_path)["sales_2025-03-04.csv"] == "replaced"
    assert stored_revenue(database_url) == Decimal("2") * Decimal("2.50") + Decimal("7") * Decimal("2.50") + 2 * 4


def test_charts_of_the_same_figures_are_not_redrawn_but_new_figures_or_a_touched_chart_are(run_main, inbox,
                                                                                          tmp_path):
    assert run_main("--inbox", str(inbox), "--output-dir", "out").returncode == 0
    revenue, products = tmp_path / "out" / "revenue.png", tmp_path / "out" / "products.png"
    first = {path: (path.stat().st_ino, path.stat().st_mtime_ns) for path in (revenue, products)}

    assert run_main("--inbox", str(inbox), "--output-dir", "out").returncode == 0
    assert {path: (path.stat().st_ino, path.stat().st_mtime_ns) for path in (revenue, products)} == first

    revenue.write_bytes(b"edited by hand")
    products.unlink()
    assert run_main("--inbox", str(inbox), "--output-dir", "out").returncode == 0
    assert revenue.read_bytes().startswith(b"\x89PNG") and products.read_bytes().startswith(b"\x89PNG")

    drawn = revenue.stat().st_ino
    write_day(inbox, "2025-03-05", 4)
    assert run_main("--inbox", str(inbox), "--output-dir", "out").returncode == 0
    assert revenue.stat().st_ino != drawn  # new figures: drawn again (written to a new file, renamed into place)


def test_every_run_writes_its_own_report(run_main, inbox, tmp_path):
    run_ids = []
    for _ in range(2):
        assert run_main("--inbox", str(inbox), "--output-dir", "out").returncode == 0
        run_ids.append(json.loads((tmp_path / "out" / "report.json").read_text())["run_id"])

    assert run_ids[0] != run_ids[1]
    assert f" {run_ids[1]} " in (tmp_path / "autosight.log").read_text()


def test_sales_stored_outside_narrowed_bounds_are_refused_naming_their_file(run_main, inbox, tmp_path):
    """The stored dates are checked against the bounds on every run (a quick look at the first and last day, then
    the file that holds them): narrowing EARLIEST_SALE_DATE after a load refuses the run, exit 65, naming it."""
    assert run_main("--inbox", str(inbox), "--output-dir", str(tmp_path / "out")).returncode == 0
    assert run_main("--skip-ingest", "--output-dir", str(tmp_path / "out"),
                    env={"EARLIEST_SALE_DATE": "2025-03-03"}).returncode == 0  # the first day itself is within
    refused = run_main("--skip-ingest", "--output-dir", str(tmp_path / "out"), env={"EARLIEST_SALE_DATE": "2025-03-04"})
    assert refused.returncode == 65
    assert f"{inbox.resolve() / 'sales_2025-03-03.csv'}: sales dated 2025-03-03 are stored" in refused.stderr
