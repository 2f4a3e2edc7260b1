"""Running `python main.py` in the background, as cron would, for the tests that race, kill or interrupt it."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil

from settings import SETTING_NAMES

PROJECT_DIR = Path(__file__).resolve().parents[1]
MAIN = PROJECT_DIR / "main.py"
PATIENCE_SECONDS = 60  # a bound on waiting for something that happens in well under a second


def environment(database_url: str | None, **settings: str) -> dict[str, str]:
    """The environment of a run: the test's settings only (no DATABASE_URL: the embedded server); none of
    AutoSight's settings leaks in from the environment of the test run."""
    env = {key: value for key, value in os.environ.items() if key not in SETTING_NAMES}
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    env.update(settings)
    return env


def start_main(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, str(MAIN), *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    """Wait for the process; (exit status, stdout, stderr)."""
    stdout, stderr = process.communicate(timeout=120)
    return process.returncode, stdout, stderr


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition`` until it holds; fail the test (rather than hang) if it never does."""
    deadline = time.monotonic() + PATIENCE_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.005)


def log_says(log_file: Path, text: str) -> Callable[[], bool]:
    return lambda: log_file.is_file() and text in log_file.read_text(errors="replace")


def single_line(stderr: str) -> str:
    """The one line a failure prints on stderr (and no traceback)."""
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def server_processes(pgdata: Path) -> list[psutil.Process]:
    """Live (not zombie) PostgreSQL processes started on ``pgdata``."""
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        if str(pgdata) in (process.info["cmdline"] or []) and process.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(process)
    return found


@contextlib.contextmanager
def embedded_data_dir() -> Iterator[Path]:
    """A data folder for an embedded server, outside pytest's temporary folder: pytest resets that one to
    mode 0700 whenever another session starts, which (as root) locks out the server's own system user."""
    folder = Path(tempfile.mkdtemp(prefix="autosight-test-data-"))
    try:
        yield folder / "data"
    finally:
        shutil.rmtree(folder, ignore_errors=True)
