"""Schemathesis against the app's own OpenAPI document: every operation, generated inputs, no 5xx, every
answer (status, content type, headers, body) as documented."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from api_helpers import TOKEN, bearer, run_main
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from test_report_figures import write_csv

from autosight import scratch


@pytest.fixture(scope="module")
def api_schema(server_dsn: str) -> Iterator[Any]:
    """The app over the generated shop (closed days, returns, rejects), as `python api.py` serves it."""
    from autosight.web.app import create_app
    from autosight.web.config import load_web_config
    from settings import load_settings

    with tempfile.TemporaryDirectory(prefix="autosight-schema-") as folder, \
            scratch.scratch_database(server_dsn, "autosight_schema") as dsn:
        tmp = Path(folder)
        result = run_main(dsn, tmp, "--csv", str(write_csv(tmp / "shop.csv")), "--output-dir", str(tmp / "out"))
        assert result.returncode == 0, result.stderr
        environ = {"DATABASE_URL": dsn, "OUTPUT_DIR": str(tmp / "out"), "AUTOSIGHT_API_TOKEN": TOKEN,
                   "UPLOAD_DIR": str(tmp / "uploads"), "UPLOAD_MAX_MB": "1"}
        app = create_app(load_settings(environ), load_web_config(environ), "schema", token_for_reads=False)
        yield schemathesis.openapi.from_asgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(case: Any) -> None:
    """Every check but "a schema-valid request is accepted": a period whose `from` is after its `to` is
    well-formed per the schema (it cannot say "from <= to") yet refused with 400, as main.py refuses it."""
    case.call_and_validate(headers=bearer(), excluded_checks=[positive_data_acceptance])
