"""The REST API serves report.json's figures for any period, the ledger, rejects, uploads and runs.

Expected figures come from report.json written by ``python main.py`` with the same period flags (and
for one product's days, from the CSV with Decimal): never from the API's own code.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from api_helpers import TOKEN, api_client, bearer, run_main
from processes import single_line
from test_report_figures import BAD_ROWS, read_csv, write_csv

import db
import errors
from settings import load_settings

PERIODS = [
    ([], {}),
    (["--days", "20"], {"days": "20"}),
    (["--from", "2024-01-15", "--to", "2024-02-11"], {"from": "2024-01-15", "to": "2024-02-11"}),
    (["--to", "2024-02-22", "--days", "10"], {"to": "2024-02-22", "days": "10"}),
    (["--from", "2024-02-19", "--to", "2024-02-25"], {"from": "2024-02-19", "to": "2024-02-25"}),  # returns, Sunday
]


@pytest.fixture
def shop(database_url: str, tmp_path: Path) -> dict[str, Any]:
    """The generated shop (Sundays and holidays closed, returns, two bad rows) loaded by main.py."""
    csv_path = write_csv(tmp_path / "shop.csv")
    result = run_main(database_url, tmp_path, "--csv", str(csv_path), "--output-dir", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    environ = {"DATABASE_URL": database_url, "OUTPUT_DIR": str(tmp_path / "out"), "AUTOSIGHT_API_TOKEN": TOKEN,
               "UPLOAD_DIR": str(tmp_path / "uploads"), "LOG_FILE": str(tmp_path / "api.log")}
    return {"csv": csv_path, "environ": environ, "tmp": tmp_path, "url": database_url}


def figures(report: dict[str, Any]) -> dict[str, Any]:
    """A report without what differs from one build to the next (its time and run id)."""
    return {key: value for key, value in report.items() if key not in ("generated_at", "run_id")}


@pytest.mark.parametrize(("flags", "params"), PERIODS, ids=["all", "last-20", "from-to", "to-days", "returns-week"])
def test_api_figures_equal_report_json_for_the_same_period(shop, flags, params):
    output = shop["tmp"] / "period"
    result = run_main(shop["url"], shop["tmp"], "--skip-ingest", "--output-dir", str(output), *flags)
    assert result.returncode == 0, result.stderr
    report = json.loads((output / "report.json").read_text())

    with api_client(shop["environ"]) as client:
        summary = client.get("/api/v1/summary", params=params).json()
        days = client.get("/api/v1/days", params=params).json()
        forecast = client.get("/api/v1/forecast", params=params).json()
        products = client.get("/api/v1/products", params={**params, "limit": 1000}).json()

    assert summary["period"] == days["period"] == forecast["period"] == products["period"] == report["period"]
    assert summary["executive_summary"] == report["executive_summary"]
    assert summary["notes"] == report["notes"]
    assert {key: value for key, value in days.items() if key != "period"} == report["trend_analysis"]
    assert {key: value for key, value in forecast.items() if key != "period"} == report["prediction"]
    assert products["items"] == report["product_performance"]
    assert products["total"] == len(report["product_performance"])


def test_the_latest_report_is_the_batch_runs_file(shop):
    with api_client(shop["environ"]) as client:
        answer = client.get("/api/v1/report")
        html = client.get("/api/v1/report.html")
    assert answer.status_code == 200
    assert answer.json() == json.loads((shop["tmp"] / "out" / "report.json").read_text())
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert html.text == (shop["tmp"] / "out" / "report.html").read_text()


def test_products_sort_and_page(shop):
    with api_client(shop["environ"]) as client:
        everything = client.get("/api/v1/products", params={"limit": 1000}).json()["items"]
        page = client.get("/api/v1/products", params={"limit": 2, "offset": 1}).json()
        by_quantity = client.get("/api/v1/products", params={"sort": "quantity", "order": "desc"}).json()["items"]
        by_name = client.get("/api/v1/products", params={"sort": "product"}).json()["items"]

    assert [p["rank"] for p in everything] == sorted(p["rank"] for p in everything)
    assert page["items"] == everything[1:3] and page["total"] == len(everything)
    assert [p["quantity"] for p in by_quantity] == sorted((p["quantity"] for p in everything), reverse=True)
    assert [p["product"] for p in by_name] == sorted(p["product"] for p in everything)


def cents(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def test_one_products_days_match_the_csv(shop):
    rows, _ = read_csv(shop["csv"])
    start, end = date(2024, 2, 12), date(2024, 2, 25)
    revenue: dict[date, Decimal] = defaultdict(Decimal)
    quantity: dict[date, int] = defaultdict(int)
    for row in rows:
        if row.product == "Mug" and start <= row.day <= end:
            revenue[row.day] += row.revenue
            quantity[row.day] += row.quantity

    with api_client(shop["environ"]) as client:
        answer = client.get("/api/v1/products/Mug", params={"from": start.isoformat(), "to": end.isoformat()})

    assert answer.status_code == 200
    body = answer.json()
    expected_days = [(start + timedelta(n)).isoformat() for n in range((end - start).days + 1)]
    assert [day["date"] for day in body["days"]] == expected_days
    assert [day["revenue"] for day in body["days"]] == [cents(revenue[date.fromisoformat(d)]) for d in expected_days]
    assert [day["quantity"] for day in body["days"]] == [quantity[date.fromisoformat(d)] for d in expected_days]
    assert body["product"] == "Mug" and body["revenue"] == cents(sum(revenue.values(), Decimal(0)))


def test_unknown_product_and_file_are_404_problems(shop):
    with api_client(shop["environ"]) as client:
        product = client.get("/api/v1/products/No Such Thing")
        rejects = client.get("/api/v1/files/999999/rejects")
    for answer in (product, rejects):
        assert answer.status_code == 404
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["status"] == 404 and answer.json()["detail"]


@pytest.mark.parametrize("params", [{"days": "0"}, {"days": "x"}, {"from": "2024-13-01"},
                                    {"from": "2024-03-01", "to": "2024-02-01"}, {"limit": "0"}, {"sort": "price"}])
def test_bad_parameters_are_400_problems(shop, params):
    with api_client(shop["environ"]) as client:
        answer = client.get("/api/v1/products", params=params)
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["status"] == 400 and problem["title"] == "Bad Request" and problem["detail"]


def bad_line_numbers(csv_path: Path) -> dict[int, str]:
    lines = csv_path.read_text().splitlines()
    return {number: line for number, line in enumerate(lines, start=1) if line in BAD_ROWS.values()}


def test_the_ledger_and_a_files_rejects_with_line_numbers(shop):
    with api_client(shop["environ"]) as client:
        ledger = client.get("/api/v1/files").json()
        [entry] = ledger["items"]
        rejects = client.get(f"/api/v1/files/{entry['file_id']}/rejects").json()
        second_page = client.get(f"/api/v1/files/{entry['file_id']}/rejects", params={"limit": 1, "offset": 1}).json()

    rows, _ = read_csv(shop["csv"])
    assert (entry["status"], entry["rows_loaded"], entry["rows_rejected"]) == ("active", len(rows), 2)
    assert entry["source_path"] == str(shop["csv"].resolve())
    assert {row["line"]: row["raw_text"] for row in rejects["items"]} == bad_line_numbers(shop["csv"])
    assert rejects["total"] == 2 and second_page["items"] == rejects["items"][1:]


def upload(client: Any, name: str, content: bytes, token: str = TOKEN) -> Any:
    return client.post("/api/v1/files", files={"file": (name, content, "text/csv")}, headers=bearer(token))


def test_upload_loads_then_is_unchanged_then_replaces_and_the_figures_follow(shop):
    first = b"sale_date,product_name,quantity,price\n2024-03-09,Kettle,2,30.00\n"
    second = b"sale_date,product_name,quantity,price\n2024-03-09,Kettle,3,30.00\n"
    with api_client(shop["environ"]) as client:
        before = client.get("/api/v1/summary").json()["executive_summary"]["total_revenue"]
        loaded = upload(client, "extra.csv", first)
        after_load = client.get("/api/v1/summary").json()["executive_summary"]["total_revenue"]
        unchanged = upload(client, "extra.csv", first)
        replaced = upload(client, "extra.csv", second)
        after_replace = client.get("/api/v1/summary").json()["executive_summary"]["total_revenue"]
        runs = client.get("/api/v1/runs").json()

    assert (loaded.status_code, loaded.json()["status"], loaded.json()["rows_loaded"]) == (201, "loaded", 1)
    assert (unchanged.status_code, unchanged.json()["status"]) == (200, "unchanged")
    assert (replaced.status_code, replaced.json()["status"]) == (201, "replaced")
    assert Decimal(str(after_load)) - Decimal(str(before)) == Decimal("60.00")
    assert Decimal(str(after_replace)) - Decimal(str(before)) == Decimal("90.00")
    assert (shop["tmp"] / "uploads" / "extra.csv").read_bytes() == second
    assert [(run["kind"], run["outcome"]) for run in runs["items"]] == [("upload", "ok")] * 3 + [("batch", "ok")]


def test_a_refused_upload_is_422_with_the_reasons(shop):
    bad = b"sale_date,product_name,quantity,price\n" + b"2024-02-30,Mug,1,7.25\n" * 5 + b"2024-03-01,Mug,1,7.25\n"
    with api_client(shop["environ"]) as client:
        answer = upload(client, "bad.csv", bad)
        ledger = client.get("/api/v1/files", params={"status": "refused"}).json()
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    outcome = problem["outcome"]
    assert (outcome["status"], outcome["rows_read"], outcome["rows_loaded"]) == ("refused", 6, 0)
    assert outcome["rejections_by_reason"]["bad_date"] == 5  # the good row is counted as refused with its file
    assert "bad_date: 5 row(s)" in problem["errors"]
    assert ledger["total"] == 1


def test_an_upload_while_a_batch_run_holds_the_lock_is_409_with_retry_after(shop):
    settings = load_settings(shop["environ"])
    with api_client(shop["environ"]) as client, db.run_lock(db.target_from_settings(settings)):
        answer = upload(client, "late.csv", b"sale_date,product_name,quantity,price\n2024-03-09,Mug,1,7.25\n")
        ledger = client.get("/api/v1/files").json()
    assert answer.status_code == 409
    assert answer.headers["retry-after"].isdigit()
    assert answer.json()["status"] == 409
    assert ledger["total"] == 1  # nothing loaded


def test_healthz_reports_the_database_and_data_version(shop):
    with api_client(shop["environ"]) as client:
        health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json()["database"] == "ok"
    assert health.json()["data_version"]["ledger_entries"] == 1


RUN_FIELDS = {"kind", "started_at", "finished_at", "outcome", "exit_code", "files", "rows_loaded", "rows_rejected",
              "message"}


def test_healthz_shows_the_newest_batch_run_for_a_monitor(shop):
    rows, rejected = read_csv(shop["csv"])
    with api_client(shop["environ"]) as client:
        health = client.get("/healthz").json()
    assert (health["status"], health["schedule"], health["last_run"]) == ("ok", None, None)  # no schedule here
    batch = health["last_batch_run"]
    assert set(batch) == RUN_FIELDS  # the shape of last_run
    assert (batch["kind"], batch["outcome"], batch["exit_code"], batch["files"], batch["rows_loaded"],
            batch["rows_rejected"], batch["message"]) == ("batch", "ok", 0, 1, len(rows), sum(rejected.values()), "")
    assert batch["started_at"] <= batch["finished_at"]

    blocked = shop["tmp"] / "blocked"
    (blocked / "rejects.csv").mkdir(parents=True)  # the next run cannot write its outputs
    result = run_main(shop["url"], shop["tmp"], "--csv", str(shop["csv"]), "--output-dir", str(blocked))
    assert result.returncode == errors.CANT_CREATE, result.stderr
    with api_client(shop["environ"]) as client:
        newest = client.get("/healthz").json()["last_batch_run"]
    assert (newest["outcome"], newest["exit_code"], newest["files"]) == ("failed", errors.CANT_CREATE, 0)
    assert newest["message"] == single_line(result.stderr)
    assert datetime.fromisoformat(newest["started_at"]) > datetime.fromisoformat(batch["finished_at"])


def test_healthz_without_a_batch_run_has_none(database_url, tmp_path):
    environ = {"DATABASE_URL": database_url, "OUTPUT_DIR": str(tmp_path / "out"), "LOG_FILE": str(tmp_path / "api.log")}
    with api_client(environ) as client:
        health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json()["last_batch_run"] is None and health.json()["last_run"] is None


def test_the_inbox_schedule_runs_main_py_and_records_the_outcome(shop, monkeypatch):
    from autosight.web.scheduler import InboxScheduler

    inbox = shop["tmp"] / "inbox"
    inbox.mkdir()
    (inbox / "day.csv").write_text("sale_date,product_name,quantity,price\n2024-03-09,Kettle,1,30.00\n"
                                   "2024-03-09,Kettle,x,30.00\n" + "2024-03-09,Mug,1,7.25\n" * 20)
    output = shop["tmp"] / "scheduled"
    for key, value in {**shop["environ"], "OUTPUT_DIR": str(output)}.items():
        monkeypatch.setenv(key, value)
    target = db.target_from_settings(load_settings(shop["environ"]))

    run = InboxScheduler(target, inbox, 60).run_once()

    assert (run.outcome, run.exit_code, run.files, run.rows_loaded, run.rows_rejected) == ("ok", 0, 1, 21, 1)
    assert (output / "report.json").is_file() and (output / "report.html").is_file()
    with api_client(shop["environ"]) as client:
        runs = client.get("/api/v1/runs").json()
    assert runs["items"][0]["kind"] == "inbox" and runs["items"][0]["rows_loaded"] == 21
    # recorded once, by the scheduler: its child main.py adds no 'batch' record (the one listed is the shop's load)
    assert [item["kind"] for item in runs["items"]] == ["inbox", "batch"]


def scheduled_run_with(shop, monkeypatch, **settings: str):
    """One tick of the schedule over an empty inbox, its child main.py run with ``settings`` on top of the shop's;
    the scheduler itself records on the shop's database."""
    from autosight.web.scheduler import InboxScheduler

    inbox = shop["tmp"] / "empty-inbox"
    inbox.mkdir(exist_ok=True)
    for key, value in {**shop["environ"], "OUTPUT_DIR": str(shop["tmp"] / "scheduled"), **settings}.items():
        monkeypatch.setenv(key, value)
    return InboxScheduler(db.target_from_settings(load_settings(shop["environ"])), inbox, 60).run_once()


def test_a_scheduled_run_that_finds_the_lock_held_is_busy(shop, monkeypatch):
    holder = psycopg2.connect(shop["url"])
    try:
        holder.cursor().execute("SELECT pg_advisory_lock(%s)", (db.RUN_LOCK_KEY,))
        run = scheduled_run_with(shop, monkeypatch)
    finally:
        holder.close()

    assert (run.outcome, run.exit_code) == ("busy", errors.TRY_AGAIN)


def test_a_scheduled_run_whose_database_is_unreachable_failed_rather_than_busy(shop, monkeypatch):
    # Exit 75 ends both; only a held lock is 'busy', which a monitor may ignore until the next tick.
    run = scheduled_run_with(shop, monkeypatch, DATABASE_URL="postgresql://postgres@127.0.0.1:9/nowhere",
                             CONNECT_RETRIES="1", CONNECT_RETRY_DELAY="0")

    assert (run.outcome, run.exit_code) == ("failed", errors.TRY_AGAIN)
    assert "127.0.0.1" in run.message


def test_openapi_documents_every_endpoint(shop):
    with api_client(shop["environ"]) as client:
        document = client.get("/openapi.json").json()
    assert set(document["paths"]) == {
        "/api/v1/summary", "/api/v1/days", "/api/v1/products", "/api/v1/products/{product}", "/api/v1/forecast",
        "/api/v1/files", "/api/v1/files/{file_id}/rejects", "/api/v1/runs", "/api/v1/report",
        "/api/v1/report.html", "/healthz"}
    assert "Report" in document["components"]["schemas"]
    assert "multipart/form-data" in document["paths"]["/api/v1/files"]["post"]["requestBody"]["content"]


def test_the_upload_csv_rows_are_counted_read_equals_loaded_plus_rejected(shop):
    content = "sale_date,product_name,quantity,price\n" + "".join(
        f"2024-03-0{1 + n % 8},Mug,{n + 1},7.25\n" for n in range(30))
    with api_client(shop["environ"]) as client:
        answer = upload(client, "thirty.csv", content.encode())
    body = answer.json()
    assert answer.status_code == 201
    assert body["rows_read"] == body["rows_loaded"] + body["rows_rejected"] == 30
    with (shop["tmp"] / "uploads" / "thirty.csv").open(newline="") as stream:
        assert len(list(csv.DictReader(stream))) == 30
