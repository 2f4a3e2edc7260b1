"""The data-quality side of ``/api/v1``: the file ledger, a file's rejected rows, runs, the latest report.

These answers read the tables directly (read-only transactions); they are small and never cached,
so a file loaded a second ago is listed at once.
"""

from __future__ import annotations

import json
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from autosight.web import queries
from autosight.web.problems import ApiProblem, problem_responses
from autosight.web.routes import Limit, Offset, Source

REPORT_NAME = "report.json"
REPORT_HTML_NAME = "report.html"
# report.html is one self-contained file: an inline stylesheet and inline SVG, no script, nothing to fetch. The
# dashboard's policy (style-src 'self') would leave it unstyled; this one lets its own <style> apply, nothing else.
REPORT_HTML_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; "
                      "base-uri 'none'; form-action 'none'")


class LedgerFile(BaseModel):
    """One load attempt of a file, as the ingestion ledger records it."""

    model_config = ConfigDict(extra="allow")

    file_id: int
    source_path: str
    sha256: str
    size_bytes: int
    status: Literal["active", "replaced", "refused"]
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    message: str
    started_at: str
    finished_at: str
    replaced_by: int | None


class FilesPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[LedgerFile]


class RejectedRow(BaseModel):
    line: int
    reason: str
    detail: str
    raw_text: str


class RejectsPage(BaseModel):
    file: LedgerFile
    total: int
    limit: int
    offset: int
    items: list[RejectedRow]


class Run(BaseModel):
    """A run: a batch run (`python main.py`, from cron or by hand), a scheduled inbox run of the server, or an
    upload."""

    run_id: int
    kind: Literal["batch", "inbox", "upload"]
    started_at: str
    finished_at: str
    outcome: Literal["ok", "refused", "busy", "failed"]
    exit_code: int | None
    files: int | None
    rows_loaded: int | None
    rows_rejected: int | None
    message: str


class RunsPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[Run]


# A rejected row keeps up to 100,000 characters of raw text: 1,000 of them were a 100-MB answer, built in memory,
# that any reader could ask for again and again. 100 rows are 10 MB at most.
MAX_REJECTS_PAGE = 100
RejectsLimit = Annotated[int, Query(ge=1, le=MAX_REJECTS_PAGE, description="Page size (a raw text may be 100,000 "
                                    "characters long)")]
FileId = Annotated[int, Path(ge=1, le=2**63 - 1, description="file_id from GET /api/v1/files")]


def build_router(output_dir: FilePath) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["data quality"])

    @router.get("/files", summary="The ingestion ledger: every file load with its outcome and row counts",
                responses=problem_responses(400, 401))
    def files(source: Source, limit: Limit = 50, offset: Offset = 0,
              status: Annotated[Literal["active", "replaced", "refused"] | None, Query()] = None) -> FilesPage:
        with source.reading() as connection:
            total, items = queries.files_page(connection, status, limit, offset)
        return FilesPage(total=total, limit=limit, offset=offset, items=[LedgerFile(**item) for item in items])

    @router.get("/files/{file_id}/rejects", summary="A file's rejected rows: line number, reason, raw text",
                responses=problem_responses(400, 401, 404))
    def rejects(file_id: FileId, source: Source, limit: RejectsLimit = MAX_REJECTS_PAGE,
                offset: Offset = 0) -> RejectsPage:
        with source.reading() as connection:
            entry = queries.one_file(connection, file_id)
            if entry is None:
                raise ApiProblem(404, "unknown-file", f"no file with file_id {file_id} in the ledger")
            total, items = queries.rejects_page(connection, file_id, limit, offset)
        return RejectsPage(file=LedgerFile(**entry), total=total, limit=limit, offset=offset,
                           items=[RejectedRow(**item) for item in items])

    @router.get("/runs", summary="Runs: batch runs of main.py (cron's), the server's scheduled inbox runs and "
                "uploads, newest first",
                responses=problem_responses(400, 401))
    def runs(source: Source, limit: Limit = 50, offset: Offset = 0) -> RunsPage:
        with source.reading() as connection:
            total, items = queries.runs_page(connection, limit, offset)
        return RunsPage(total=total, limit=limit, offset=offset, items=[Run(**item) for item in items])

    @router.get("/report", summary="The latest report.json written by a batch run, as written",
                responses={200: {"description": "report.json",
                                 "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Report"}}}},
                           **problem_responses(401, 404)})
    def latest_report() -> Response:
        return Response(_read_output(output_dir / REPORT_NAME), media_type="application/json")

    @router.get("/report.html", summary="The latest report.html written by a batch run",
                responses={200: {"description": "report.html",
                                 "content": {"text/html": {"schema": {"type": "string"}}}},
                           **problem_responses(401, 404)})
    def latest_report_html() -> Response:
        return Response(_read_output(output_dir / REPORT_HTML_NAME), media_type="text/html; charset=utf-8",
                        headers={"Content-Security-Policy": REPORT_HTML_POLICY})

    return router


def _read_output(path: FilePath) -> bytes:
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        raise ApiProblem(404, "no-report", f"no {path.name} yet: a batch run (python main.py, or the inbox "
                         "schedule) writes it") from None
    if path.suffix == ".json":
        json.loads(content)  # written atomically, so always whole; a foreign file would fail here, loudly
    return content


def healthz_body(database_ok: bool, version: tuple[int, int] | None, last_run: dict[str, Any] | None,
                 schedule: dict[str, Any] | None, last_batch_run: dict[str, Any] | None) -> dict[str, Any]:
    """/healthz: ``last_run`` is the schedule's last inbox run, ``last_batch_run`` the newest `python main.py` run
    (cron's), in the same shape."""
    return {"status": "ok" if database_ok else "degraded", "database": "ok" if database_ok else "unreachable",
            "data_version": None if version is None else {"newest_file_id": version[0], "ledger_entries": version[1]},
            "schedule": schedule, "last_run": last_run, "last_batch_run": last_batch_run}
