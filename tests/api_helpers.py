"""Shared set-up of the API tests: the app over a test database, as ``python api.py`` builds it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

PROJECT_DIR = Path(__file__).resolve().parents[1]
TOKEN = "test-token-0123456789abcdef"


def run_main(database_url: str, cwd: Path, *args: str, env: Mapping[str, str] | None = None
             ) -> subprocess.CompletedProcess[str]:
    """``python main.py ARGS`` as cron runs it, against ``database_url``."""
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith(("DB_", "DATABASE_URL", "AUTOSIGHT_", "CSV_PATH", "OUTPUT_DIR", "INBOX_"))}
    environment.update({"DATABASE_URL": database_url, **(env or {})})
    return subprocess.run([sys.executable, str(PROJECT_DIR / "main.py"), *args], cwd=cwd, env=environment,
                          capture_output=True, text=True, timeout=180, check=False)


@contextmanager
def api_client(environ: Mapping[str, str], *, token_for_reads: bool = False) -> Iterator[TestClient]:
    """The application ``api.py`` would serve with these settings, lifespan included."""
    from autosight.web.app import create_app
    from autosight.web.config import load_web_config
    from settings import load_settings

    app = create_app(load_settings(environ), load_web_config(environ), "testrun", token_for_reads=token_for_reads)
    with TestClient(app) as client:
        yield client


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def api_environment(**settings: str) -> dict[str, str]:
    """The environment of a server process: these settings only, none leaking in from the test run's."""
    from settings import SETTING_NAMES

    return {**{k: v for k, v in os.environ.items() if k not in SETTING_NAMES}, **settings}


def start_api(port: int, cwd: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    """``python api.py --port PORT``, once it answers /healthz."""
    process = subprocess.Popen([sys.executable, str(PROJECT_DIR / "api.py"), "--port", str(port)], cwd=cwd,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(600):
        if process.poll() is not None:
            raise AssertionError(f"api.py exited: {process.communicate()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise AssertionError("api.py did not answer")
