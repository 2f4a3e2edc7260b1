"""RFC 9457 problem details: every error the API returns is ``application/problem+json``.

Clients get one shape for every failure (a bad parameter, a missing product, a refused upload, the
lock held by a batch run), with a plain-language ``detail`` and, where useful, the list of ``errors``.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount

from logger_config import get_logger

log = get_logger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://autosight.invalid/problems/"  # identifiers, not pages (RFC 9457 allows that)


class Problem(BaseModel):
    """An RFC 9457 problem details object."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[str] | None = None


class ApiProblem(Exception):
    """Raised by a route to answer with a problem; ``headers`` e.g. Retry-After."""

    def __init__(self, status: int, slug: str, detail: str, *, errors: list[str] | None = None,
                 headers: dict[str, str] | None = None, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra or {}


def problem_response(request: Request, status: int, slug: str, detail: str, *, errors: list[str] | None = None,
                     headers: dict[str, str] | None = None, extra: dict[str, Any] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"type": TYPE_BASE + slug, "title": HTTPStatus(status).phrase, "status": status,
                            "detail": detail, "instance": request.url.path, **(extra or {})}
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` entries of the problems a route can answer with (and any other error)."""
    entry = {"model": Problem, "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    described: dict[int | str, dict[str, Any]] = {
        status: {**entry, "description": HTTPStatus(status).phrase} for status in statuses}
    return {**described, "default": {**entry, "description": "Any other error, as problem details"}}


def install(app: FastAPI) -> None:
    """Answer every error, FastAPI's own included, with problem details."""

    @app.exception_handler(ApiProblem)
    async def api_problem(request: Request, problem: ApiProblem) -> JSONResponse:
        return problem_response(request, problem.status, problem.slug, problem.detail, errors=problem.errors,
                                headers=problem.headers, extra=problem.extra)

    @app.exception_handler(RequestValidationError)
    async def bad_parameters(request: Request, error: RequestValidationError) -> JSONResponse:
        messages = [_validation_message(item) for item in error.errors()]
        return problem_response(request, 400, "bad-parameter", "; ".join(messages), errors=messages)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        detail = error.detail if isinstance(error.detail, str) else HTTPStatus(error.status_code).phrase
        slug = "not-found" if error.status_code == 404 else f"http-{error.status_code}"
        headers = getattr(error, "headers", None)
        if error.status_code == 405:  # Starlette names only the first matching route's methods
            headers = {"Allow": ", ".join(_allowed_methods(request))}
        return problem_response(request, error.status_code, slug, detail, headers=headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=error)
        return problem_response(request, 500, "internal", "unexpected error: the server log has the details")


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (GET, HEAD and POST on /api/v1/files), asked of the routes
    themselves (included routers hold theirs out of sight); HEAD wherever GET is (app.HeadAsGet)."""
    methods = {method for method in ("GET", "POST", "PUT", "PATCH", "DELETE") for route in request.app.router.routes
               if route.matches({**request.scope, "method": method})[0] == Match.FULL and not isinstance(route, Mount)}
    return sorted(methods | ({"HEAD"} if "GET" in methods else set()))


def _validation_message(item: dict[str, Any]) -> str:
    location = ".".join(str(part) for part in item.get("loc", ()) if part not in ("query", "path", "body"))
    return f"{location or 'request'}: {item.get('msg', 'invalid')}"
