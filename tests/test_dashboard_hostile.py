"""The dashboard under hostile data: product and file names holding markup, script URLs, template syntax, bidi
overrides, line breaks and 200 characters without a space. Nothing they hold runs, every one is shown as the text
it is, and the page keeps its layout on a desktop and on a phone."""

from __future__ import annotations

import json
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from api_helpers import TOKEN, api_environment, free_port, run_main, start_api
from browser import chromium

from autosight import scratch

HOSTILE_NAMES = [
    "<script>window.pwned = 1</script>",
    '"><img src=x onerror="window.pwned = 2">',
    "javascript:window.pwned = 3",
    "<svg onload=window.pwned=4>",
    "{{constructor.constructor('window.pwned = 5')()}}",
    "\u202eunterminated override",
    "line one\nline two",
    "W" * 200,
    "\uff21" * 200,  # full-width letters: no break opportunity either
]
# A file whose name reverses what follows it (RIGHT-TO-LEFT OVERRIDE, never closed).
HOSTILE_FILE = "\u202eslaes.csv"
WIDTHS = (1280, 390)


@pytest.fixture(scope="module")
def shop(server_dsn: str) -> Iterator[tuple[str, Path]]:
    """(database, folder): 60 days of sales of the hostile products, three rejected rows in a hostile file, loaded
    by main.py (report.html in folder/out)."""
    with tempfile.TemporaryDirectory(prefix="autosight-hostile-dash-") as folder, \
            scratch.scratch_database(server_dsn, "autosight_hostile_dash") as dsn:
        tmp = Path(folder)
        lines = ["sale_date,product_name,quantity,price"]
        for day in range(60):
            for rank, name in enumerate(HOSTILE_NAMES):
                quoted = '"' + name.replace('"', '""') + '"'
                lines.append(f"{date(2024, 1, 1) + timedelta(days=day)},{quoted},{rank + 1},2.50")
        lines += ["2024-02-30,Mug,1,7.25", "2024-01-05,Mug,lots,7.25", f"2024-01-06,{'X' * 300},1,2.50"]
        source = tmp / HOSTILE_FILE
        source.write_text("\n".join(lines) + "\n", encoding="utf-8")
        result = run_main(dsn, tmp, "--csv", str(source), "--output-dir", str(tmp / "out"))
        assert result.returncode == 0, result.stderr
        yield dsn, tmp


@pytest.fixture(scope="module")
def server(shop: tuple[str, Path]) -> Iterator[str]:
    """``python api.py`` over the shop."""
    dsn, tmp = shop
    env = api_environment(DATABASE_URL=dsn, OUTPUT_DIR=str(tmp / "out"), LOG_FILE=str(tmp / "api.log"))
    port = free_port()
    process = start_api(port, tmp, env)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.communicate(timeout=30)


@pytest.fixture(params=WIDTHS, ids=[f"{width}px" for width in WIDTHS])
def page(server: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A dashboard page recording console errors, page errors, dialogs and every request it makes."""
    with chromium() as browser:
        context = browser.new_context(viewport={"width": request.param, "height": 900})
        page = context.new_page()
        page.problems = []  # type: ignore[attr-defined]
        page.requests = []  # type: ignore[attr-defined]
        page.on("console", lambda message: message.type == "error" and page.problems.append(message.text))
        page.on("pageerror", lambda error: page.problems.append(str(error)))
        page.on("dialog", lambda dialog: (page.problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
        page.on("request", lambda request: page.requests.append(request.url))
        page.goto(f"{server}/?days=")
        page.wait_for_selector("#products-table tbody tr")
        page.wait_for_selector("#files-table tbody tr")
        yield page
        context.close()


def page_width(page: Any) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


def test_hostile_names_are_shown_as_text_nothing_runs_and_the_layout_holds(page, server):
    from playwright.sync_api import expect

    width = page.viewport_size["width"]
    rows = page.locator("#products-table tbody tr")
    assert sorted(rows.nth(i).get_attribute("data-product") for i in range(rows.count())) == sorted(HOSTILE_NAMES)
    widths = {"ranking": page_width(page)}
    for name in HOSTILE_NAMES:
        page.locator("#products-table tbody tr").filter(has=page.locator(f"td[title={_css_string(name)}]")).click()
        page.wait_for_function("name => document.querySelector('#product-title').textContent === name", arg=name)
        expect(page.locator("#product-chart .revenue-line")).to_have_count(1)
        widths[name] = page_width(page)
        page.mouse.move(width // 2, 300)
    page.locator("#files-table tbody tr.clickable").first.click()
    page.wait_for_selector("#rejects-table tbody tr")
    widths["rejects"] = page_width(page)
    page.screenshot(path=str(Path(tempfile.gettempdir()) / f"autosight-hostile-{width}.png"), full_page=True)

    assert page.problems == []
    assert page.evaluate("window.pwned") is None
    assert page.locator("img, svg script, iframe, object, embed").count() == 0
    assert all(url.startswith(server) for url in page.requests), page.requests
    assert {step: value for step, value in widths.items() if value > width} == {}


# Where a piece of an element's text is drawn: [left, right] of the first occurrence of ``needle``.
TEXT_BOX = """([selector, needle]) => {
  const walker = document.createTreeWalker(document.querySelector(selector), NodeFilter.SHOW_TEXT);
  const nodes = [];
  while (walker.nextNode()) nodes.push(walker.currentNode);
  const text = nodes.map((node) => node.data).join("");
  let start = text.indexOf(needle), end = start + needle.length;
  const range = document.createRange();
  for (const node of nodes) {
    if (start >= 0 && start <= node.data.length) { range.setStart(node, start); start = -1; }
    else if (start >= 0) start -= node.data.length;
    if (end <= node.data.length) { range.setEnd(node, end); break; }
    end -= node.data.length;
  }
  const box = range.getBoundingClientRect();
  return [box.left, box.right];
}"""


def test_a_bidi_override_in_a_file_name_does_not_reorder_the_text_around_it(page):
    """The rejected rows' heading names the file, then the count: with the name's override never closed, the
    count was drawn reversed, left of the name ("Rejected rows of (3) vsc.seals")."""
    page.locator("#files-table tbody tr.clickable").first.click()
    page.wait_for_selector("#rejects-table tbody tr")
    name_box = page.evaluate(TEXT_BOX, ["#rejects-title", HOSTILE_FILE])
    count_box = page.evaluate(TEXT_BOX, ["#rejects-title", "(3)"])
    assert count_box[0] >= name_box[1] - 0.5, (name_box, count_box)
    assert page.problems == []


def _css_string(text: str) -> str:
    """``text`` as a CSS string literal (attribute selectors), whatever it holds."""
    return '"' + "".join(f"\\{ord(char):x} " for char in text) + '"'


def test_the_served_report_html_is_styled_and_holds_its_width(page, server):
    """The dashboard links the latest report.html: served with the dashboard's policy (style-src 'self'), its
    inline stylesheet was blocked and it showed unstyled (the hostile names' table 3,201 px wide); its own policy
    lets its stylesheet apply and still runs no script and fetches nothing."""
    width = page.viewport_size["width"]
    page.problems.clear()
    page.requests.clear()
    answer = page.goto(f"{server}/api/v1/report.html")
    page.wait_for_load_state("load")
    policy = answer.headers["content-security-policy"]

    assert page.problems == []
    assert page.requests == [f"{server}/api/v1/report.html"]
    assert page.evaluate("getComputedStyle(document.querySelector('.page')).maxWidth") == "800px"
    assert page_width(page) <= width
    assert "default-src 'none'" in policy and "script-src" not in policy


def test_a_click_whose_request_fails_says_so_on_the_page(page):
    """The drill-down's request answered with a problem (here 503, the database gone): the page says so, with
    the problem's detail; it was an unhandled rejection, and the click seemed to do nothing."""
    detail = "the database is unreachable: \u202eslaes (try again later)"
    page.route("**/api/v1/products/**", lambda route: route.fulfill(
        status=503, content_type="application/problem+json",
        body=json.dumps({"type": "about:blank", "title": "Service Unavailable", "status": 503, "detail": detail})))
    page.locator("#products-table tbody tr").first.click()
    page.wait_for_selector("#notice:not([hidden])")

    assert page.locator("#notice").evaluate("node => node.textContent") == f"Could not load the product: {detail}"
    assert [problem for problem in page.problems if "503" not in problem] == []


@pytest.fixture
def token_server(shop: tuple[str, Path]) -> Iterator[str]:
    """The app as ``python api.py --host <an outside address>`` builds it (every read needs the token), served on
    loopback by uvicorn in this process."""
    import uvicorn

    from autosight.web.app import create_app
    from autosight.web.config import load_web_config
    from settings import load_settings

    dsn, tmp = shop
    environ = {"DATABASE_URL": dsn, "OUTPUT_DIR": str(tmp / "out"), "AUTOSIGHT_API_TOKEN": TOKEN}
    app = create_app(load_settings(environ), load_web_config(environ), "token", token_for_reads=True)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_with_the_token_the_report_link_downloads_the_latest_report_html(token_server, shop):
    """On a server that wants the token for reads, the footer's plain link to report.html got 401 (a link cannot
    send the token): the dashboard now fetches it with the token and hands it over as a download."""
    with chromium() as browser:
        context = browser.new_context(accept_downloads=True)
        page = context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(f"{token_server}/")
        page.fill("#token", TOKEN)
        page.click("#token-form button[type=submit]")
        page.wait_for_selector("#products-table tbody tr")
        with page.expect_download() as download:
            page.click("#report-link")
        saved = Path(download.value.path()).read_bytes()
        context.close()
    assert saved == (shop[1] / "out" / "report.html").read_bytes()
    assert problems == []
