"""report.html: written beside report.json by every batch run, self-contained, escaped, readable offline."""

from __future__ import annotations

import json
import re
import stat
from html import escape
from pathlib import Path

from api_helpers import run_main
from browser import chromium
from test_report_figures import write_csv

from autosight.html_report import render_report_html


def batch(database_url: str, tmp_path: Path) -> Path:
    output = tmp_path / "out"
    result = run_main(database_url, tmp_path, "--csv", str(write_csv(tmp_path / "shop.csv")),
                      "--output-dir", str(output), env={"CURRENCY": "EUR"})
    assert result.returncode == 0, result.stderr
    return output


def test_every_batch_run_writes_a_private_self_contained_report_html(database_url, tmp_path):
    output = batch(database_url, tmp_path)
    html = (output / "report.html").read_text(encoding="utf-8")
    report = json.loads((output / "report.json").read_text())

    assert stat.S_IMODE((output / "report.html").stat().st_mode) == 0o600
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)  # nothing fetched from anywhere
    assert "@import" not in html and "url(" not in html
    total = f"{report['executive_summary']['total_revenue']:,.2f} EUR"
    assert total in html
    for product in report["product_performance"]:
        assert product["product"] in html
    assert list(output.glob(".*.tmp")) == []


def test_text_from_the_data_is_escaped():
    report = json.loads((Path(__file__).parent / "data" / "report_html_fixture.json").read_text())
    report["product_performance"][0]["product"] = "<script>alert('x')</script> & Co"
    report["executive_summary"]["top_product"]["product"] = "<img src=x onerror=alert(1)>"

    html = render_report_html(report)

    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; Co" in html


def test_report_html_renders_with_the_network_disabled(database_url, tmp_path):
    output = batch(database_url, tmp_path)
    with chromium() as browser:
        context = browser.new_context(offline=True, viewport={"width": 900, "height": 1200})
        page = context.new_page()
        failed: list[str] = []
        errors: list[str] = []
        page.on("requestfailed", lambda request: failed.append(request.url))
        page.on("console", lambda message: message.type == "error" and errors.append(message.text))
        page.goto((output / "report.html").as_uri())
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        charts = page.locator("svg").count()
        title = page.title()
        width = page.evaluate("document.querySelector('svg').getBoundingClientRect().width")
        context.close()
    assert failed == [] and errors == []
    assert charts >= 2 and width > 300
    assert title.startswith("AutoSight sales report 2024-01-01")


def test_the_revenue_line_crosses_closed_days_without_a_dip_to_zero():
    # The fixture's shop is closed on Mondays (revenue 0): the line joins the trading days only, one point each.
    report = json.loads((Path(__file__).parent / "data" / "report_html_fixture.json").read_text())
    days = report["trend_analysis"]["days"]
    trading = [day["revenue"] for day in days if day["trend"] != "Closed"]
    assert len(trading) < len(days) and min(trading) > 0

    html = render_report_html(report)

    points = re.search(r'<polyline [^>]*points="([^"]+)"', html).group(1).split()
    zero = float(re.search(r'y1="([\d.]+)"[^>]*/><text [^>]*>0</text>', html).group(1))  # the axis line at 0
    assert len(points) == len(trading)
    assert all(float(point.split(",")[1]) < zero for point in points)


def test_a_forecast_without_a_trading_day_ahead_says_so():
    report = json.loads((Path(__file__).parent / "data" / "report_html_fixture.json").read_text())
    day = report["prediction"]["date"]
    assert day is not None and f"Next trading day {day}: " in render_report_html(report)
    report["prediction"].update(date=None, value=0.0, lower=None, upper=None)  # every weekday listed closed

    html = render_report_html(report)

    assert "No trading day ahead to forecast" in html and "None" not in html


def test_files_unchanged_since_loaded_are_one_line_and_the_others_a_row_each():
    report = json.loads((Path(__file__).parent / "data" / "report_html_fixture.json").read_text())
    unchanged = {"path": "/inbox/sales_2025-01-01.csv", "sha256": None, "status": "unchanged", "rows_read": 0,
                 "rows_loaded": 0, "rows_rejected": 0, "rejections_by_reason": {}, "rejects_csv": None, "message": ""}
    loaded = {**unchanged, "path": "/inbox/sales_2025-01-04.csv", "status": "loaded", "rows_read": 1200,
              "rows_loaded": 1199, "rows_rejected": 1}
    report["data_quality"]["files"] = [unchanged, {**unchanged, "path": "/inbox/sales_2025-01-02.csv"},
                                       {**unchanged, "path": "/inbox/sales_2025-01-03.csv"}, loaded]

    html = render_report_html(report)

    assert "3 file(s) unchanged since loaded, not read again" in html
    assert "sales_2025-01-01.csv" not in html
    assert ('<tr><td>sales_2025-01-04.csv</td><td>loaded</td><td class="num">1,200</td>'
            '<td class="num">1,199</td><td class="num">1</td></tr>') in html


# How far the key-figure cards reach past the page's text column (its content box), in CSS pixels.
OVERFLOW_OF_THE_CARDS = """(() => {
  const sheet = document.querySelector('.page');
  const column = sheet.getBoundingClientRect().right - parseFloat(getComputedStyle(sheet).paddingRight);
  return Math.max(...[...document.querySelectorAll('.kpis td')].map((cell) => cell.getBoundingClientRect().right))
    - column;
})()"""


def test_the_key_figures_stay_within_the_page_whatever_their_length(database_url, tmp_path):
    """Eight-figure totals and long product names (one without a space) wrap inside their cards, and a batch's
    report fits a phone: the page a manager opens from a mail never scrolls sideways."""
    report = json.loads((Path(__file__).parent / "data" / "report_html_fixture.json").read_text())
    summary = report["executive_summary"]
    summary["total_revenue"] = summary["average_daily_revenue"] = 10_032_628.85
    page_path = tmp_path / "report.html"
    names = ("Espresso Beans 1kg", "X" * 200, "Deluxe Stainless Steel Pour-Over Kettle with Thermometer, 1.2 l, Black")
    with chromium() as browser:
        for width in (1100, 390):  # a desktop mail client, a phone
            context = browser.new_context(viewport={"width": width, "height": 900})
            page = context.new_page()
            for name in names:
                summary["top_product"]["product"] = name
                page_path.write_text(render_report_html(report), encoding="utf-8")
                page.goto(page_path.as_uri())
                assert page.evaluate(OVERFLOW_OF_THE_CARDS) <= 0.5, (width, name)
                assert name in page.locator(".kpis").inner_text().replace("\n", "")
                assert page.evaluate("document.documentElement.scrollWidth") <= width
            page.goto((batch(database_url, tmp_path) / "report.html").as_uri())
            assert page.evaluate("document.documentElement.scrollWidth") <= width, width
            context.close()


def test_long_names_in_the_tables_notes_and_warnings_wrap_within_the_page():
    """A 200-character name without a space (in Latin or full-width letters) in the product table, a long file
    name in the data-quality table, a long note and warning: the page never scrolls sideways, on a desktop mail
    client or a phone (the product table once made a 1,100-px page 2,840 px wide)."""
    report = json.loads((Path(__file__).parent / "data" / "report_html_fixture.json").read_text())
    long_names = ["W" * 200, "\uff21" * 200, "\ufdfa" * 60]
    for product, name in zip(report["product_performance"], long_names, strict=False):
        product["product"] = name
    quality = report["data_quality"]
    quality["files"][0] = {**quality["files"][0], "path": "/inbox/" + "x" * 250 + ".csv"}
    quality["warnings"] = ["no_sales_on_trading_day: " + "y" * 300]
    report["notes"] = ["z" * 300]
    html = render_report_html(report)
    assert all(escape(name) in html for name in long_names)
    with chromium() as browser:
        for width in (1100, 390):
            context = browser.new_context(viewport={"width": width, "height": 900})
            page = context.new_page()
            page.set_content(html)
            assert page.evaluate("document.documentElement.scrollWidth") <= width, width
            context.close()
