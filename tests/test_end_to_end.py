"""The two commands of the README, as a new user runs them: `python main.py` on a fresh machine."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import psycopg2.extensions
import pytest

from settings import SETTING_NAMES

PROJECT_DIR = Path(__file__).resolve().parents[1]
SAMPLE = PROJECT_DIR / "data" / "sample_sales.csv"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def clean_environment(**extra: str) -> dict[str, str]:
    """The user's environment without any database or AutoSight setting."""
    environment = {key: value for key, value in os.environ.items() if key not in SETTING_NAMES}
    environment.update(extra)
    return environment


def run(cwd: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(PROJECT_DIR / "main.py"), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def sample_revenue() -> Decimal:
    """The exact sum of quantity x price over the sample (no row rounded), as the report shows it: to the cent."""
    with SAMPLE.open(newline="") as stream:
        exact = sum((Decimal(row["quantity"]) * Decimal(row["price"]) for row in csv.DictReader(stream)), Decimal("0"))
    return exact.quantize(Decimal("0.01"), ROUND_HALF_UP)


@pytest.fixture
def fresh_folder() -> Iterator[Path]:
    """An empty working folder, as a new user has, with a short path: the embedded server's data folder is
    ``.autosight`` in it, and as root its socket path must stay short (pytest's own temporary folders are too
    deep for it, and pytest resets them to mode 0700, which locks out the server's system user)."""
    folder = Path(tempfile.mkdtemp(prefix="autosight-e2e-")).resolve()
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_fresh_machine_run_uses_embedded_postgres_and_is_repeatable(fresh_folder):
    first = run(fresh_folder, env=clean_environment())

    assert first.returncode == 0, first.stderr
    assert first.stdout == "" and first.stderr == ""
    report = json.loads((fresh_folder / "report.json").read_text())
    assert Decimal(str(report["executive_summary"]["total_revenue"])) == sample_revenue()
    assert (fresh_folder / "revenue.png").read_bytes().startswith(PNG_SIGNATURE)
    log = (fresh_folder / "autosight.log").read_text()
    assert "database: embedded PostgreSQL in " + str(fresh_folder / ".autosight" / "pgdata") in log

    second = run(fresh_folder, env=clean_environment())

    assert second.returncode == 0, second.stderr
    again = json.loads((fresh_folder / "report.json").read_text())
    assert again["executive_summary"] == report["executive_summary"]
    assert again["data_quality"]["rows_loaded"] == report["data_quality"]["rows_loaded"]


def test_db_settings_select_that_server_and_the_log_names_it(database_url, tmp_path):
    params = psycopg2.extensions.parse_dsn(database_url)
    env = clean_environment(DB_HOST=params.get("host", "localhost"), DB_PORT=params.get("port", "5432"),
                            DB_NAME=params["dbname"], DB_USER=params.get("user", "postgres"))

    result = run(tmp_path, "--csv", str(SAMPLE), env=env)

    assert result.returncode == 0, result.stderr
    expected = f"database: server {env['DB_USER']}@{env['DB_HOST']}:{env['DB_PORT']}/{env['DB_NAME']}"
    assert expected in (tmp_path / "autosight.log").read_text()
    assert not (tmp_path / ".autosight").exists()


def test_env_file_is_read_and_the_environment_wins(database_url, tmp_path):
    (tmp_path / ".env").write_text(f"DATABASE_URL={database_url}\nOUTPUT_DIR=from-dotenv\nMA_WINDOW=3\n")

    result = run(tmp_path, "--csv", str(SAMPLE), env=clean_environment(OUTPUT_DIR="from-environment"))

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "from-environment" / "report.json").is_file()
    assert not (tmp_path / "from-dotenv").exists()
    report = json.loads((tmp_path / "from-environment" / "report.json").read_text())
    assert report["prediction"]["window"] == 3


def test_help_documents_every_flag_of_the_contract(tmp_path):
    result = run(tmp_path, "--help", env=clean_environment())

    assert result.returncode == 0
    for flag in ("--csv", "--inbox", "--skip-ingest", "--output-dir", "--map", "--date-format", "--encoding",
                 "exit status", "75", "78"):
        assert flag in result.stdout
