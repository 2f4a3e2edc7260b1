"""The dashboard in a real browser: loads without a console error or an outside request, shows the API's
figures, and the period picker and the product drill-down change what is shown."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_helpers import api_environment, free_port, run_main, start_api
from browser import chromium
from processes import single_line
from test_report_figures import read_csv, write_csv

import errors
from autosight import scratch

SCREENSHOTS = Path(os.environ.get("AUTOSIGHT_SCREENSHOTS", tempfile.gettempdir())) / "autosight-dashboard"


@dataclass(frozen=True)
class Shop:
    """The generated shop (closed Sundays and holidays, returns, two rejected rows) loaded by one main.py run."""

    dsn: str
    folder: Path
    csv: Path
    started: datetime  # around the batch run
    finished: datetime


@pytest.fixture(scope="module")
def shop(server_dsn: str) -> Iterator[Shop]:
    with tempfile.TemporaryDirectory(prefix="autosight-dash-") as folder, \
            scratch.scratch_database(server_dsn, "autosight_dash") as dsn:
        tmp = Path(folder)
        csv_path = write_csv(tmp / "shop.csv")
        started = datetime.now(UTC)
        result = run_main(dsn, tmp, "--csv", str(csv_path), "--output-dir", str(tmp / "out"), env={"CURRENCY": "EUR"})
        assert result.returncode == 0, result.stderr
        yield Shop(dsn, tmp, csv_path, started, datetime.now(UTC))


@pytest.fixture(scope="module")
def server(shop: Shop) -> Iterator[str]:
    """``python api.py`` over the shop."""
    env = api_environment(DATABASE_URL=shop.dsn, OUTPUT_DIR=str(shop.folder / "out"),
                          LOG_FILE=str(shop.folder / "api.log"), CURRENCY="EUR")
    port = free_port()
    process = start_api(port, shop.folder, env)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.communicate(timeout=30)


@pytest.fixture
def page(server: str) -> Iterator[Any]:
    """A page of the dashboard, recording console errors, page errors and every request it makes."""
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.problems = []  # type: ignore[attr-defined]
        page.requests = []  # type: ignore[attr-defined]
        page.on("console", lambda message: message.type == "error" and page.problems.append(message.text))
        page.on("pageerror", lambda error: page.problems.append(str(error)))
        page.on("request", lambda request: page.requests.append(request.url))
        yield page
        context.close()


def money(value: float) -> str:
    return f"{value:,.2f} EUR"


def api(server: str, path: str, **params: str) -> Any:
    return httpx.get(f"{server}/api/v1{path}", params=params, timeout=30).json()


def kpi(page: Any, name: str) -> str:
    return str(page.locator(f"#kpi-{name} .value").inner_text())


def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def open_dashboard(page: Any, server: str, query: str = "") -> None:
    page.goto(f"{server}/{query}")
    page.wait_for_selector("#kpi-revenue")
    page.wait_for_selector("#files-table tbody tr")


def test_the_dashboard_loads_cleanly_and_shows_the_apis_figures(page, server):
    open_dashboard(page, server)
    shot(page, "default")

    summary = api(server, "/summary", days="90")
    figures = summary["executive_summary"]
    assert page.problems == []
    assert all(url.startswith(server) for url in page.requests), page.requests
    assert kpi(page, "revenue") == money(figures["total_revenue"])
    assert kpi(page, "average") == money(figures["average_daily_revenue"])
    assert kpi(page, "top") == figures["top_product"]["product"]
    assert kpi(page, "forecast") == money(api(server, "/forecast", days="90")["value"])
    period = summary["period"]
    assert page.locator("#period-text").inner_text().startswith(f"{period['start']} → {period['end']}")
    assert page.locator("#revenue-chart .revenue-line").count() == 1
    assert page.locator("#revenue-chart .closed-day").count() > 0  # Sundays and holidays
    assert page.locator("#revenue-chart .forecast-band").count() == 1
    assert page.locator("#heatmap .heat-cell").count() == period["days"]
    products = api(server, "/products", days="90", limit="1000")["items"]
    assert page.locator("#products-table tbody tr").count() == min(len(products), 15)
    assert page.locator("#products-table tbody tr").first.get_attribute("data-product") == products[0]["product"]


def test_the_period_picker_changes_the_figures(page, server):
    from playwright.sync_api import expect

    open_dashboard(page, server)
    page.click(".presets button[data-days='30']")
    expect(page.locator("#period-text")).to_contain_text("30 days")
    last_30 = api(server, "/summary", days="30")["executive_summary"]["total_revenue"]
    assert kpi(page, "revenue") == money(last_30)

    page.click(".presets button[data-days='']")
    expect(page.locator("#period-text")).to_contain_text("69 days")
    everything = api(server, "/summary")["executive_summary"]["total_revenue"]
    assert kpi(page, "revenue") == money(everything) != money(last_30)

    page.fill("#from", "2024-01-15")
    page.fill("#to", "2024-02-11")
    page.click("#period-form button[type=submit]")
    expect(page.locator("#period-text")).to_contain_text("2024-01-15 → 2024-02-11")
    chosen = api(server, "/summary", **{"from": "2024-01-15", "to": "2024-02-11"})["executive_summary"]
    assert kpi(page, "revenue") == money(chosen["total_revenue"])
    assert page.locator("#heatmap .heat-cell").count() == 28
    assert "from=2024-01-15" in page.url
    shot(page, "period")
    assert page.problems == []


def test_the_product_drill_down_shows_one_product(page, server):
    open_dashboard(page, server, "?days=")
    row = page.locator("#products-table tbody tr").nth(1)
    name = row.get_attribute("data-product")
    row.click()
    from playwright.sync_api import expect

    expect(page.locator("#product-title")).to_have_text(name)
    detail = api(server, f"/products/{name}")

    assert money(detail["revenue"]) in page.locator("#product-note").inner_text()
    assert page.locator("#product-chart .revenue-line").count() == 1
    assert "selected" in (row.get_attribute("class") or "")
    shot(page, "product")
    assert page.problems == []


def test_a_files_rejected_rows_are_listed_with_line_numbers(page, server):
    open_dashboard(page, server)
    page.locator("#files-table tbody tr.clickable").first.click()
    page.wait_for_selector("#rejects-table tbody tr")
    lines = page.locator("#rejects-table tbody tr td:first-child").all_inner_texts()
    file_id = api(server, "/files")["items"][0]["file_id"]
    expected = [str(row["line"]) for row in api(server, f"/files/{file_id}/rejects")["items"]]
    assert lines == expected and len(lines) == 2
    shot(page, "rejects")


def run_cells(row: Any) -> list[str]:
    return [text.strip() for text in row.locator("td").all_inner_texts()]


def local_minutes(first: datetime, last: datetime) -> set[str]:
    """How the page may show a moment between ``first`` and ``last``: local time (the browser's is this process's),
    to the minute; every minute between them (a run on a loaded machine may take more than one)."""
    minute = first.replace(second=0, microsecond=0)
    shown = set()
    while minute <= last:
        shown.add(minute.astimezone().strftime("%Y-%m-%d %H:%M"))
        minute += timedelta(minutes=1)
    return shown


def test_recent_runs_show_the_batch_run_and_mark_a_failed_one(page, server, shop):
    from playwright.sync_api import expect

    rows, rejected = read_csv(shop.csv)
    open_dashboard(page, server)
    page.wait_for_selector("#runs-table tbody tr.run")

    [batch] = page.locator("#runs-table tbody tr.run").all()
    when, *figures = run_cells(batch)
    assert when in local_minutes(shop.started, shop.finished)
    assert figures == ["cron / manual", "ok", "1", f"{len(rows):,}", str(sum(rejected.values()))]
    assert sum(rejected.values()) == 2
    assert page.locator("#runs-table tr.run-message").count() == 0  # an ok run has no message
    expect(page.locator("#last-run")).to_have_class("last-run ok")
    expect(page.locator("#last-run")).to_contain_text(f"Last run ok · {when} (cron / manual) · 1 file, {len(rows):,} "
                                                       "rows loaded, 2 rejected")
    shot(page, "runs-ok")

    # the next night's run cannot write its outputs: nothing new loaded, the run failed (main.py's exit 73)
    (shop.folder / "blocked" / "rejects.csv").mkdir(parents=True)
    result = run_main(shop.dsn, shop.folder, "--csv", str(shop.csv), "--output-dir", str(shop.folder / "blocked"),
                      env={"CURRENCY": "EUR"})
    assert result.returncode == errors.CANT_CREATE, result.stderr
    page.reload()
    page.wait_for_selector("#runs-table tbody tr.run + tr.run-message")

    failed, ok = page.locator("#runs-table tbody tr.run").all()
    assert run_cells(failed)[1:] == ["cron / manual", "failed", "0", "0", "0"]
    assert "failed" in (failed.get_attribute("class") or "").split()
    assert run_cells(ok) == [when, *figures]
    message = page.locator("#runs-table tbody tr.run-message")
    assert message.count() == 1 and message.get_attribute("data-run") == failed.get_attribute("data-run")
    assert message.inner_text().strip() == single_line(result.stderr)  # the server's text, shown as text
    expect(page.locator("#last-run")).to_have_class("last-run failed")
    expect(page.locator("#last-run")).to_contain_text("Last run FAILED")
    page.locator("#last-run").click()
    expect(page.locator("#runs")).to_be_in_viewport()
    shot(page, "runs-failed")
    assert page.problems == []


def test_the_banner_says_so_when_no_run_came_for_a_day_and_a_half(page, server, shop):
    """A nightly tool: when cron stopped running, the page says so instead of showing an old run as news."""
    from playwright.sync_api import expect

    banner = page.locator("#last-run")
    page.clock.set_fixed_time(shop.finished + timedelta(hours=35))  # the browser's clock; the server's is real
    open_dashboard(page, server)
    expect(banner).to_contain_text("Last run")
    expect(banner).not_to_contain_text("No ingestion run")
    expect(banner).not_to_have_class(re.compile(r"\bstale\b"))

    page.clock.set_fixed_time(shop.finished + timedelta(days=3, hours=1))
    open_dashboard(page, server)
    expect(banner).to_contain_text("No ingestion run for 3 days · Last run")
    expect(banner).to_have_class(re.compile(r"\bstale\b"))
    shot(page, "runs-stale")
    assert page.problems == []
