"""The ASGI application: API routers, dashboard, problem details, and the server's lifetime.

Starting: the database main.py would use (the embedded PostgreSQL by default, started here and
stopped at shutdown), the schema migrated, read-only connection pool, the inbox schedule if set, and
the default report built once in the background so that the dashboard's first view is served warm.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import db
from analysis import PeriodFilter
from autosight.runs import newest_run
from autosight.web import ledger, problems, routes, uploads
from autosight.web.auth import require_token_for_reads
from autosight.web.config import WebConfig
from autosight.web.openapi_schemas import ReportSchemas
from autosight.web.scheduler import InboxScheduler
from autosight.web.source import DataSource
from logger_config import get_logger
from settings import Settings

log = get_logger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
API_VERSION = "1.0.0"
DASHBOARD_DAYS = 90  # the dashboard's default period (static/dashboard.js)
# The dashboard loads nothing from anywhere else, and the browser is told to enforce it.
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                                  b"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
]


class SecurityHeaders:
    """Plain ASGI middleware (no per-request task switch) adding SECURITY_HEADERS to every response that does not
    set its own (report.html sets a policy that lets its inline stylesheet apply)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                message["headers"] = [*headers, *(header for header in SECURITY_HEADERS if header[0] not in present)]
            await send(message)
        await self.app(scope, receive, send_with_headers)


class ProblemCors(CORSMiddleware):
    """CORS whose refused preflight is problem details, as every other error (Starlette's is plain text)."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != 400:
            return response
        refused = bytes(response.body).decode()
        headers = {name: value for name, value in response.headers.items()
                   if name not in ("content-type", "content-length")}
        return JSONResponse({"type": problems.TYPE_BASE + "cors-refused", "title": "Bad Request", "status": 400,
                             "detail": f"{refused}: CORS_ORIGINS lists the origins allowed to call this API, with "
                                       "GET and POST and the headers Authorization and Content-Type"},
                            status_code=400, headers=headers, media_type=problems.PROBLEM_MEDIA_TYPE)


class HeadAsGet:
    """HEAD is GET without its body (RFC 9110 9.3.2; every general-purpose server supports both): a monitor's
    ``curl -I /healthz`` got 405. The headers, Content-Length included, are the GET's."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            await send({**message, "body": b""} if message["type"] == "http.response.body" else message)
        await self.app({**scope, "method": "GET"}, receive, without_body)


def create_app(settings: Settings, web: WebConfig, run_id: str, *, token_for_reads: bool) -> FastAPI:
    """The application; ``token_for_reads`` when it listens beyond loopback."""
    schemas = ReportSchemas()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with contextlib.ExitStack() as stack:
            target = stack.enter_context(db.database_target(settings))
            log.info("API database: %s", target.description)
            _migrate(target, settings)
            app.state.source = source = DataSource(target, settings, run_id)
            stack.callback(source.close)
            app.state.scheduler = None
            if web.schedules_inbox and web.inbox_dir is not None and web.inbox_interval_minutes is not None:
                scheduler = InboxScheduler(target, web.inbox_dir, web.inbox_interval_minutes, source.forget_version)
                app.state.scheduler = scheduler
                scheduler.start()
                stack.callback(scheduler.stop)
            threading.Thread(target=_warm, args=(source,), name="warm-cache", daemon=True).start()
            yield

    # No /docs or /redoc: their pages load scripts from a CDN, and nothing here may ask another site. No redirect
    # of a trailing slash either: Starlette's wrote the request's Host header into the Location (any host).
    app = FastAPI(title="AutoSight API", version=API_VERSION, lifespan=lifespan, docs_url=None, redoc_url=None,
                  redirect_slashes=False,
                  description="Sales figures of AutoSight: the same figures as report.json for any period, "
                              "the file ledger, uploads and runs. Money: JSON numbers rounded to the cent.")
    app.state.settings, app.state.web, app.state.token_for_reads = settings, web, token_for_reads
    problems.install(app)
    # Declared only where reads need the token, so that the OpenAPI document says what this server asks.
    reads = [Depends(require_token_for_reads)] if token_for_reads else []
    app.state.query_names = None  # routes.known_query_only reads them from the OpenAPI document
    strict = [Depends(routes.known_query_only)]
    app.include_router(routes.build_router(schemas), dependencies=[*reads, *strict])
    app.include_router(ledger.build_router(settings.output_dir), dependencies=[*reads, *strict])
    app.include_router(uploads.build_router(), dependencies=strict)
    _add_health(app, reads)
    _add_dashboard(app)
    app.openapi = lambda: _openapi(app, schemas)  # type: ignore[method-assign]
    if web.cors_origins:
        app.add_middleware(ProblemCors, allow_origins=list(web.cors_origins), allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type"])
    app.add_middleware(SecurityHeaders)
    app.add_middleware(HeadAsGet)
    return app


def _migrate(target: db.Target, settings: Settings) -> None:
    connection = db.connect(target, settings.connect_retries, settings.connect_retry_delay)
    try:
        log.info("schema at version %d", db.migrate(connection))
    finally:
        connection.close()


def _warm(source: DataSource) -> None:
    """Build the dashboard's default period (last 90 days) and the whole history once, so that the first
    view does not wait for them."""
    try:
        for period in (PeriodFilter(last_days=DASHBOARD_DAYS), PeriodFilter()):
            source.report(source.version(), period)
    except Exception:
        log.warning("could not pre-build the default report", exc_info=True)


def _add_health(app: FastAPI, reads: list[Any]) -> None:
    @app.get("/healthz", tags=["health"], dependencies=reads, summary="Liveness, database reachability, the last "
             "scheduled inbox run and the last batch run (cron's)", responses=problems.problem_responses(401))
    def healthz(request: Request) -> JSONResponse:
        source: DataSource = request.app.state.source
        scheduler: InboxScheduler | None = request.app.state.scheduler
        try:
            version: tuple[int, int] | None = source.version()
        except Exception:
            log.warning("health check: database unreachable", exc_info=True)
            version = None
        body = ledger.healthz_body(version is not None, version, scheduler.last if scheduler else None,
                                   scheduler.describe() if scheduler else None,
                                   _last_batch_run(source) if version is not None else None)
        return JSONResponse(body, status_code=200 if version is not None else 503)


def _last_batch_run(source: DataSource) -> dict[str, Any] | None:
    """The newest batch run, read at every call: cron's main.py records it in another process, and a monitor
    alerts on it (failed, or too old). None when none is stored, or when it cannot be read (logged)."""
    try:
        with source.reading() as connection:
            return newest_run(connection, "batch")
    except Exception:
        log.warning("health check: could not read the last batch run", exc_info=True)
        return None


def _add_dashboard(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})


def _openapi(app: FastAPI, schemas: ReportSchemas) -> dict[str, Any]:
    if app.openapi_schema is None:
        document = get_openapi(title=app.title, version=app.version, description=app.description,
                               routes=app.routes)
        document.setdefault("components", {}).setdefault("schemas", {}).update(schemas.components())
        app.openapi_schema = document
    return app.openapi_schema
