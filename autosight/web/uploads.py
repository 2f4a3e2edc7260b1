"""``POST /api/v1/files``: a CSV upload through the same ingestion and run lock as main.py.

The body is streamed to a private staging file (memory stays flat whatever the size) and cut off with
413 as soon as it passes UPLOAD_MAX_MB. Under the run lock the file is moved to
``UPLOAD_DIR/<name>`` and loaded by main.py's own step (``main.ingest``): the same content twice is a no-op, and
a new upload under the same name replaces what that name loaded before, exactly as a file in the inbox. A refused
upload (or one that fails) puts back what the name held before, so that UPLOAD_DIR keeps holding what is loaded.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.datastructures import UploadFile
from starlette.types import Message

import db
import main
from autosight.run_results import FileOutcome
from autosight.runs import RunRecord, record_run
from autosight.web.auth import require_token
from autosight.web.problems import ApiProblem, problem_responses
from errors import DatabaseUnavailable, LockHeld
from logger_config import get_logger
from settings import Settings

log = get_logger(__name__)

# A plain file name: no folder part, no leading dot, printable, ending in .csv.
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._()+-]{0,150}\.csv$", re.IGNORECASE)
STAGING = ".incoming"
RETRY_AFTER_SECONDS = "60"
BUSY = "another run (a batch run, the inbox schedule or another upload) holds the lock"
COPY_CHUNK = 1 << 20


class UploadOutcome(BaseModel):
    """What the ingestion did with the uploaded file (as data_quality.files in report.json)."""

    name: str
    path: str
    sha256: str | None
    status: str
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    rejections_by_reason: dict[str, int]
    message: str


UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary",
                            "description": "The CSV file; its name (a plain name ending in .csv) identifies it"}}}}}}}


def upload_dir(settings: Settings, configured: Path | None) -> Path:
    return configured if configured is not None else settings.data_dir / "uploads"


def build_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["uploads"])

    @router.post("/files", summary="Upload a CSV file: loaded through the same ingestion and run lock as main.py",
                 status_code=201, dependencies=[Depends(require_token)], openapi_extra=UPLOAD_BODY,
                 responses={200: {"model": UploadOutcome, "description": "Unchanged: this content is already loaded"},
                            201: {"model": UploadOutcome,
                                  "description": "Loaded (or replaced the name's earlier file)"},
                            **problem_responses(400, 401, 409, 413, 415, 422, 503, 507)})
    async def upload(request: Request) -> JSONResponse:
        state = request.app.state
        folder = upload_dir(state.settings, state.web.upload_dir)
        name, staged = await _receive(request, folder / STAGING, state.web.upload_limit_bytes)
        try:
            outcome = await run_in_threadpool(_ingest_locked, state.source.target, state.settings, staged,
                                              folder / name)
        finally:
            staged.unlink(missing_ok=True)
            state.source.forget_version()  # the next request sees this load at once
        return _answer(request, name, outcome)

    return router


async def _receive(request: Request, staging: Path, limit: int) -> tuple[str, Path]:
    """Stream the multipart body's ``file`` to a staging file; (its checked name, the staging path)."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise ApiProblem(415, "not-multipart", "send the CSV as multipart/form-data in a field named 'file' "
                         "(curl -F file=@sales.csv)")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiProblem(413, "too-large", _too_large(limit))
    limited = Request(request.scope, receive=_limited_receive(request, limit))
    try:
        form = await limited.form(max_files=1, max_fields=0)
    except ApiProblem:
        raise
    except Exception as error:  # malformed multipart: Starlette raises its own parsing errors
        raise ApiProblem(400, "bad-multipart", f"the request body is not valid multipart/form-data: {error}") from None
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ApiProblem(400, "no-file", "no file in the form field 'file' (curl -F file=@sales.csv)")
        name = checked_name(upload.filename)
        staging.mkdir(parents=True, exist_ok=True)
        staged = staging / f"{uuid.uuid4().hex}.part"
        await run_in_threadpool(_copy, upload, staged)
    finally:
        await form.close()
    return name, staged


def _too_large(limit: int) -> str:
    return f"the upload is larger than UPLOAD_MAX_MB ({limit // (1024 * 1024)} MB): split the file, or raise the limit"


def _limited_receive(request: Request, limit: int) -> Any:
    received = 0

    async def receive() -> Message:
        nonlocal received
        message = await request.receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise ApiProblem(413, "too-large", _too_large(limit))
        return message
    return receive


def checked_name(filename: str | None) -> str:
    """The upload's name, if it is a plain file name; names with folders, '..' or odd characters are refused."""
    if not filename or not SAFE_NAME.match(filename) or ".." in filename:
        raise ApiProblem(400, "bad-file-name", f"the file name {filename!r} is not a plain name ending in .csv "
                         "(letters, digits, space, . _ - + ( ); no folders)")
    return filename


def _copy(upload: UploadFile, staged: Path) -> None:
    """Write the upload to its staging file; on a failure (a full disk) no part of it stays behind."""
    descriptor = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as target:
            upload.file.seek(0)
            shutil.copyfileobj(upload.file, target, COPY_CHUNK)
    except BaseException as error:
        staged.unlink(missing_ok=True)
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            raise ApiProblem(507, "insufficient-storage", f"no room for the upload in UPLOAD_DIR: {error.strerror}",
                             headers={"Retry-After": RETRY_AFTER_SECONDS}) from None
        raise


def _ingest_locked(target: db.Target, settings: Settings, staged: Path, final: Path) -> FileOutcome:
    """Take the run lock (or answer 409 at once), put the file in place, load it, record the run."""
    started = datetime.now(UTC)
    try:
        with db.run_lock(target) as lock, _placed(staged, final) as placed:
            connection = db.connect(target)
            try:
                [outcome] = main.ingest(connection, lock, [final], main.load_options(settings))
            finally:
                connection.close()
            placed.keep = outcome.status != "refused"
    except LockHeld:
        _record(target, started, "busy", None, BUSY)
        raise ApiProblem(409, "run-in-progress", f"{BUSY} on the database: try again later",
                         headers={"Retry-After": RETRY_AFTER_SECONDS}) from None
    except DatabaseUnavailable as error:
        _record(target, started, "failed", None, str(error))
        raise ApiProblem(503, "database-unavailable", str(error),
                         headers={"Retry-After": RETRY_AFTER_SECONDS}) from None
    _record(target, started, "refused" if outcome.status == "refused" else "ok", outcome, outcome.message)
    return outcome


@dataclass
class _Placement:
    keep: bool = False


@contextlib.contextmanager
def _placed(staged: Path, final: Path) -> Iterator[_Placement]:
    """Move the staged upload to ``final`` for the ingestion; unless told to keep it, put back what ``final`` was.

    A refused replacement leaves the name's earlier rows loaded (the ledger keeps them active), so the earlier
    file must stay on disk beside them; a failed or refused new name leaves no file behind.
    """
    previous = staged.with_suffix(".previous")
    had_previous = final.exists()
    if had_previous:
        os.replace(final, previous)
    os.replace(staged, final)
    placement = _Placement()
    try:
        yield placement
    finally:
        if placement.keep:
            previous.unlink(missing_ok=True)
        elif had_previous:
            os.replace(previous, final)
        else:
            final.unlink(missing_ok=True)


def _record(target: db.Target, started: datetime, outcome: str, file: FileOutcome | None, message: str) -> None:
    with contextlib.suppress(Exception):
        record_run(target, RunRecord(
            kind="upload", started_at=started, finished_at=datetime.now(UTC), outcome=outcome,
            files=None if file is None else 1, rows_loaded=None if file is None else file.rows_loaded,
            rows_rejected=None if file is None else file.rows_rejected, message=message))


def _answer(request: Request, name: str, outcome: FileOutcome) -> JSONResponse:
    body = UploadOutcome(name=name, path=outcome.path, sha256=outcome.sha256, status=outcome.status,
                         rows_read=outcome.rows_read, rows_loaded=outcome.rows_loaded,
                         rows_rejected=outcome.rows_rejected, rejections_by_reason=outcome.rejections_by_reason,
                         message=outcome.message).model_dump()
    if outcome.status == "refused":
        reasons = [f"{reason}: {count} row(s)" for reason, count in outcome.rejections_by_reason.items()]
        raise ApiProblem(422, "file-refused", outcome.message or "the file was refused", errors=reasons or None,
                         extra={"outcome": body})
    return JSONResponse(body, status_code=200 if outcome.status == "unchanged" else 201)
