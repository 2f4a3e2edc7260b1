"""Cron's runs in the run history: every `python main.py` that reaches the database records itself in ``runs`` as
kind 'batch', listed by GET /api/v1/runs next to the server's own runs.

The runs are made in this process through main.main; the expected counts are those of the files written here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from api_helpers import api_client
from processes import single_line

import db
import errors

HEADER = "sale_date,product_name,quantity,price\n"
GOOD = [f"2024-05-{day:02d},Tea,{day},3.50\n" for day in range(1, 21)]
BAD = ["2024-05-03,Tea,1,not-a-price\n"]


def write(path: Path, lines: list[str]) -> Path:
    path.write_text(HEADER + "".join(lines))
    return path


def listed_runs(database_url: str, tmp_path: Path) -> dict[str, Any]:
    environ = {"DATABASE_URL": database_url, "OUTPUT_DIR": str(tmp_path / "out"),
               "LOG_FILE": str(tmp_path / "api.log")}
    with api_client(environ) as client:
        answer = client.get("/api/v1/runs")
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    return body


def counts(run: dict[str, Any]) -> tuple[Any, ...]:
    return run["kind"], run["outcome"], run["exit_code"], run["files"], run["rows_loaded"], run["rows_rejected"]


def test_a_cron_run_is_listed_once_as_batch_with_what_it_loaded(run_main, tmp_path, database_url):
    result = run_main("--csv", str(write(tmp_path / "day.csv", GOOD + BAD)), "--output-dir", "out")

    assert result.returncode == 0, result.stderr
    runs = listed_runs(database_url, tmp_path)
    assert runs["total"] == 1
    [run] = runs["items"]
    assert counts(run) == ("batch", "ok", 0, 1, len(GOOD), len(BAD))
    assert run["message"] == ""
    assert run["started_at"] <= run["finished_at"]


def test_a_second_run_with_nothing_new_records_no_files(run_main, tmp_path, database_url):
    path = write(tmp_path / "day.csv", GOOD)
    assert run_main("--csv", str(path), "--output-dir", "out").returncode == 0

    result = run_main("--csv", str(path), "--output-dir", "out")

    assert result.returncode == 0, result.stderr
    runs = listed_runs(database_url, tmp_path)
    assert [counts(run) for run in runs["items"]] == [("batch", "ok", 0, 0, 0, 0),
                                                      ("batch", "ok", 0, 1, len(GOOD), 0)]


def test_a_run_that_finds_the_lock_held_is_recorded_busy(run_main, tmp_path, database_url, request):
    assert run_main("--csv", str(write(tmp_path / "day.csv", GOOD)), "--output-dir", "out").returncode == 0
    request.getfixturevalue("lock_holder")

    result = run_main("--csv", str(write(tmp_path / "next.csv", BAD)), "--output-dir", "out")

    assert result.returncode == errors.TRY_AGAIN
    newest = listed_runs(database_url, tmp_path)["items"][0]
    assert counts(newest) == ("batch", "busy", errors.TRY_AGAIN, 0, 0, 0)
    assert newest["message"] == single_line(result.stderr) == f"autosight: error: {db.LOCK_HELD}"


def test_a_refused_file_makes_a_refused_run_with_its_ledger_entry(run_main, tmp_path, database_url):
    refused = write(tmp_path / "refused.csv", GOOD[:2] + BAD * 3)  # 60 % rejected, over the 10 % threshold

    result = run_main("--csv", str(write(tmp_path / "day.csv", GOOD)), str(refused), "--output-dir", "out")

    assert result.returncode == errors.INPUT_REFUSED
    [run] = listed_runs(database_url, tmp_path)["items"]
    # a refused file loads none of its rows: every row it holds is counted rejected, in its ledger entry
    assert counts(run) == ("batch", "refused", errors.INPUT_REFUSED, 2, len(GOOD), 5)
    assert run["message"] == single_line(result.stderr)


def test_a_run_failing_after_its_load_is_recorded_failed_with_the_files_it_stored(run_main, tmp_path, database_url):
    (tmp_path / "out" / "rejects.csv").mkdir(parents=True)  # a folder where the rejects file should go

    result = run_main("--csv", str(write(tmp_path / "day.csv", GOOD + BAD)), "--output-dir", "out")

    assert result.returncode == errors.CANT_CREATE
    [run] = listed_runs(database_url, tmp_path)["items"]
    assert counts(run) == ("batch", "failed", errors.CANT_CREATE, 1, len(GOOD), len(BAD))  # the load was committed
    assert run["message"] == single_line(result.stderr)
    assert run["message"].startswith("autosight: error: cannot write the outputs in out: ")


def test_a_run_refused_before_the_database_records_nothing(run_main, tmp_path, database_url):
    assert run_main("--csv", str(write(tmp_path / "day.csv", GOOD)), "--output-dir", "out").returncode == 0

    result = run_main("--csv", str(tmp_path / "missing.csv"), "--output-dir", "out")

    assert result.returncode == errors.NO_INPUT
    assert listed_runs(database_url, tmp_path)["total"] == 1


def test_a_run_the_scheduler_started_is_left_to_the_scheduler(run_main, tmp_path, database_url):
    """The scheduler marks its child (autosight/runs.py) and records it itself, as 'inbox' (tests/test_api.py)."""
    result = run_main("--csv", str(write(tmp_path / "day.csv", GOOD)), "--output-dir", "out",
                      env={"AUTOSIGHT_STARTED_BY": "scheduler"})

    assert result.returncode == 0, result.stderr
    assert listed_runs(database_url, tmp_path)["total"] == 0
