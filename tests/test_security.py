"""Security: hostile data stays data, secrets stay secret, files and the embedded server stay private."""

from __future__ import annotations

import ast
import csv
import json
import os
import re
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from network import closed_port
from processes import PROJECT_DIR, embedded_data_dir

import db
import errors
from settings import SETTING_NAMES

SECRET = "Hunter2-S3cret"
HOSTILE_NAMES = (
    "'); DROP TABLE sales_data; --",
    'Robert"); DELETE FROM loaded_files WHERE (""="',
    "%s %(name)s {0} $1 :name ?",
    "\\N",  # COPY's NULL marker in text format
    "<script>alert('x')</script>",
    'Mug "Classic", White',
    "Café ☕ 日本語",
)


def test_hostile_product_names_are_stored_and_reported_verbatim(run_main, tmp_path, database_url):
    sales = tmp_path / "hostile.csv"
    with sales.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["sale_date", "product_name", "quantity", "price"])
        writer.writerows((f"2024-07-{day:02d}", name, day, "1.25") for day, name in enumerate(HOSTILE_NAMES, 1))
    result = run_main("--csv", str(sales), "--output-dir", "out")

    assert (result.returncode, result.stderr) == (0, "")
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert {row["product"] for row in report["product_performance"]} == set(HOSTILE_NAMES)
    connection = psycopg2.connect(database_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT product_name FROM sales_data")
            assert {name for (name,) in cursor.fetchall()} == set(HOSTILE_NAMES)
            cursor.execute("SELECT count(*) FROM loaded_files")
            assert cursor.fetchone() == (1,)
    finally:
        connection.close()


SQL_STATEMENTS = (r"SELECT\b.*\bFROM", r"INSERT\s+INTO", r"UPDATE\s+\S*\s+SET", r"DELETE\s+FROM", r"DROP\s+TABLE",
                  r"CREATE\s+(TEMP\s+)?TABLE", r"COPY\s+\S*\s*(\([^)]*\)\s*)?(FROM|TO)\b", r"TRUNCATE\s+\S+")
SQL_TEXT = re.compile(r"\b(" + "|".join(SQL_STATEMENTS) + ")", re.IGNORECASE | re.DOTALL)


def _interpolated_texts(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, literal text) of every string Python itself interpolates: f-strings, "..." % x, "...".format(x)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr) and any(isinstance(part, ast.FormattedValue) for part in node.values):
            yield node.lineno, "".join(str(part.value) for part in node.values if isinstance(part, ast.Constant))
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and isinstance(node.left, ast.Constant):
            yield node.lineno, str(node.left.value)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format"
              and isinstance(node.func.value, ast.Constant)):
            yield node.lineno, str(node.func.value.value)


def test_no_sql_is_built_by_string_formatting():
    """Values go to PostgreSQL as parameters, identifiers through psycopg2.sql: never pasted into SQL text."""
    sources = [*PROJECT_DIR.glob("*.py"), *PROJECT_DIR.glob("bench/*.py"), *PROJECT_DIR.glob("scripts/*.py")]
    offenders = [f"{path.name}:{line}" for path in sources
                 for line, text in _interpolated_texts(ast.parse(path.read_text(), str(path)))
                 if SQL_TEXT.search(text)]

    assert len(sources) > 10
    assert offenders == []


def test_the_sql_check_catches_formatted_sql():
    tree = ast.parse('cursor.execute(f"SELECT * FROM sales WHERE product = \'{name}\'")\n'
                     'cursor.execute("DELETE FROM %s" % table)\n'
                     'cursor.copy_expert("COPY {} (a, b) FROM STDIN".format(table), stream)\n'
                     'log.info(f"plain COPY refused {n} rows")\n')

    assert [line for line, text in _interpolated_texts(tree) if SQL_TEXT.search(text)] == [1, 2, 3]


def failed_run_output(run_main, tmp_path: Path, env: dict[str, str], verbose: bool) -> str:
    result = run_main("--skip-ingest", *(["--verbose"] if verbose else []),
                      env={"CONNECT_RETRIES": "2", "CONNECT_RETRY_DELAY": "0", **env})
    assert result.returncode in (errors.TRY_AGAIN, errors.CONFIG)
    assert result.stderr.strip()
    return result.stdout + result.stderr + (tmp_path / "autosight.log").read_text()


@pytest.mark.parametrize("verbose", [False, True], ids=["quiet", "verbose"])
def test_password_in_database_url_never_reaches_stderr_or_log(run_main, tmp_path, verbose):
    with closed_port() as port:
        url = f"postgresql://clerk:{SECRET}@127.0.0.1:{port}/sales"
        output = failed_run_output(run_main, tmp_path, {"DATABASE_URL": url}, verbose)

    assert SECRET not in output
    assert f"clerk@127.0.0.1:{port}/sales" in output  # still says which server failed


@pytest.mark.parametrize("verbose", [False, True], ids=["quiet", "verbose"])
def test_db_password_never_reaches_stderr_or_log(run_main, tmp_path, verbose):
    with closed_port() as port:
        env = {"DATABASE_URL": "", "DB_HOST": "127.0.0.1", "DB_PORT": str(port), "DB_USER": "clerk",
               "DB_PASSWORD": SECRET}
        output = failed_run_output(run_main, tmp_path, env, verbose)

    assert SECRET not in output
    assert f"clerk@127.0.0.1:{port}" in output


@pytest.mark.parametrize("verbose", [False, True], ids=["quiet", "verbose"])
def test_refused_password_never_reaches_stderr_or_log(run_main, tmp_path, password_server, verbose):
    output = failed_run_output(run_main, tmp_path, {"DATABASE_URL": password_server.url(SECRET)}, verbose)

    assert SECRET not in output
    assert "refused the credentials" in output


@pytest.mark.parametrize("verbose", [False, True], ids=["quiet", "verbose"])
def test_password_in_a_malformed_database_url_is_not_echoed(run_main, tmp_path, verbose):
    output = failed_run_output(run_main, tmp_path, {"DATABASE_URL": f"postgresql://clerk:{SECRET}@host/db?x=1"},
                               verbose)

    assert SECRET not in output


def private(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) & 0o077 == 0


def test_outputs_rejects_and_log_are_private_to_their_owner(run_main, tmp_path):
    old_log = tmp_path / "autosight.log"
    old_log.write_text("")
    old_log.chmod(0o644)  # left by an older version, readable by everyone
    sales = tmp_path / "sales.csv"
    rows = [f"2024-07-{day:02d},Tea,{day},2.50" for day in range(1, 21)]
    sales.write_text("sale_date,product_name,quantity,price\n" + "\n".join([*rows, "2024-07-21,Tea,two,2.50"]) + "\n")
    result = run_main("--csv", str(sales), "--output-dir", "out")

    assert (result.returncode, result.stderr) == (0, "")
    outputs = sorted(path.name for path in (tmp_path / "out").iterdir())
    assert {"report.json", "revenue.png", "rejects.csv"} <= set(outputs)
    assert [name for name in outputs if not private(tmp_path / "out" / name)] == []
    assert private(tmp_path / "out")
    assert private(old_log)


def test_embedded_server_listens_on_a_private_unix_socket_only():
    with embedded_data_dir() as data, db.embedded_server(data) as target:
        connection = psycopg2.connect(**target.connect_kwargs)
        try:
            with connection.cursor() as cursor:
                cursor.execute("SHOW listen_addresses")
                assert cursor.fetchone() == ("",)  # no TCP at all
                cursor.execute("SHOW unix_socket_directories")
                (socket_folder,) = cursor.fetchone()
        finally:
            connection.close()
        pgdata = (data / "pgdata").resolve()

        assert Path(socket_folder) == pgdata
        assert stat.S_IMODE(pgdata.stat().st_mode) == 0o700  # only the server's user (and root) reach the socket


def test_embedded_server_refuses_a_data_folder_too_deep_for_a_private_socket(run_main, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("only as root would the library move the socket to a world-writable folder")
    deep = tmp_path / ("d" * 100)
    result = run_main("--skip-ingest", env={"DATABASE_URL": "", "AUTOSIGHT_DATA_DIR": str(deep)})

    assert result.returncode == errors.CONFIG
    assert "is too deep for the embedded server's Unix socket" in result.stderr
    assert not (deep / "pgdata").exists()


def test_dotenv_is_never_committed_but_its_example_is():
    if shutil.which("git") is None or not (PROJECT_DIR / ".git").exists():
        pytest.skip("not a git checkout")

    def ignored(name: str) -> bool:
        return subprocess.run(["git", "check-ignore", "--no-index", "-q", name], cwd=PROJECT_DIR,
                              check=False).returncode == 0

    assert ignored(".env")
    assert not ignored(".env.example")


def setting_names() -> set[str]:
    """The environment variables settings.py reads: SETTING_NAMES, the only names it may look up."""
    return set(SETTING_NAMES)


def test_env_example_documents_every_setting_and_nothing_else():
    documented = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", (PROJECT_DIR / ".env.example").read_text(), re.MULTILINE))

    assert "DATABASE_URL" in setting_names() and "MA_WINDOW" in setting_names()
    assert documented == setting_names()
