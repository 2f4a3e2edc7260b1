"""The read side of ``/api/v1``: parts of report.json for a period, the ledger, rejects, runs, the latest report.

Report-shaped answers are cut from ``DataSource.report`` (main.py's own report building) and served
as cached, pre-encoded JSON; their schemas in the OpenAPI document are the report schema's parts.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from starlette.convertors import Convertor, register_url_convertor

from analysis import PeriodFilter
from autosight.web import queries
from autosight.web.openapi_schemas import ReportSchemas
from autosight.web.problems import ApiProblem, problem_responses
from autosight.web.source import DataSource

MAX_DAYS = 36_500
MAX_PAGE = 1000
SUMMARY_KEYS = ("generated_at", "period", "notes", "executive_summary")
OPTIONAL_SUMMARY_KEYS = ("calendar", "periods", "currency")  # documented when the report schema has them
PRODUCT_SORTS = ("rank", "revenue", "quantity", "product")
FILE_STATUSES = ("active", "replaced", "refused")
JSON = "application/json"


async def known_query_only(request: Request) -> None:
    """Refuse a query parameter the endpoint does not document, or one given twice: a misspelt ``form=`` would
    otherwise answer the whole history as if it were the period asked for, and ``days=7&days=30`` one of them.

    The names are the OpenAPI document's own, so that what is refused is exactly what is not documented.
    """
    known = _documented_query(request.app, request.scope["route"].path_format, request.method)
    given = request.query_params
    unknown = sorted(set(given) - known)
    if unknown:
        raise ApiProblem(400, "unknown-parameter", f"unknown query parameter(s) {', '.join(map(repr, unknown))}: "
                         f"this endpoint takes {', '.join(sorted(known)) or 'none'}")
    repeated = sorted(name for name in set(given) if len(given.getlist(name)) > 1)
    if repeated:
        raise ApiProblem(400, "repeated-parameter", f"query parameter(s) given more than once: {', '.join(repeated)}")


def _documented_query(app: Any, path: str, method: str) -> frozenset[str]:
    """The query parameters the OpenAPI document lists for ``method path`` (the map is built at the first call;
    ``create_app`` sets ``app.state.query_names`` to None)."""
    names: dict[tuple[str, str], frozenset[str]] | None = app.state.query_names
    if names is None:
        names = app.state.query_names = {
            (operation_path, operation_method.upper()): frozenset(
                parameter["name"] for parameter in operation.get("parameters", ()) if parameter["in"] == "query")
            for operation_path, item in app.openapi()["paths"].items() for operation_method, operation in item.items()}
    return names.get((path, method), frozenset())


async def source_of(request: Request) -> DataSource:  # async: no thread hop per request
    source: DataSource = request.app.state.source
    return source


# Years 1000 to 9999, said in the OpenAPI document itself: "to minus days" stays inside Python's calendar.
ISO_DATE = r"^[1-9]\d{3}-\d{2}-\d{2}$"
DateText = Annotated[str | None, Query(pattern=ISO_DATE, json_schema_extra={"format": "date"})]


class AnyText(Convertor[str]):
    """A path parameter that is any text, line breaks included: Starlette's ``path`` is ``.*``, which stops at a
    newline, so a product whose name holds one could not be looked up."""

    regex = r"(?s:.+)"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("anytext", AnyText())


def _day(name: str, text: str | None) -> date | None:
    """A calendar date written YYYY-MM-DD (no timestamps, no other spelling)."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ApiProblem(400, "bad-parameter", f"{name}: {text!r} is not a date (YYYY-MM-DD)") from None


async def period_query(
    start_text: Annotated[DateText, Query(alias="from", description="First day (main.py --from), YYYY-MM-DD")] = None,
    end_text: Annotated[DateText, Query(alias="to", description="Last day (as main.py --to), YYYY-MM-DD")] = None,
    days: Annotated[int | None, Query(ge=1, le=MAX_DAYS, description="Only the last N days of the data "
                                      "(as main.py --days); combines with from/to")] = None,
) -> PeriodFilter:
    """The report period, exactly as main.py's flags choose it (clipped to the days that have data)."""
    start, end = _day("from", start_text), _day("to", end_text)
    if start and end and start > end:
        raise ApiProblem(400, "bad-parameter", f"from {start} is after to {end}")
    return PeriodFilter(start, end, days)


Period = Annotated[PeriodFilter, Depends(period_query)]
Source = Annotated[DataSource, Depends(source_of)]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page size")]
Offset = Annotated[int, Query(ge=0, le=2**62, description="Items to skip")]


def json_bytes(content: bytes) -> Response:
    return Response(content, media_type=JSON)


async def answer(source: DataSource, key: tuple[Any, ...], produce: Callable[[tuple[int, int]], Any]) -> Response:
    """The cached answer for ``key`` at the current data version; built (off the event loop) when missing.

    The hot path (version recently read, answer cached) touches neither the database nor a thread.
    """
    recent = source.recent_version()
    version: tuple[int, int] = recent if recent is not None else await run_in_threadpool(source.version)
    cached = source.cached_response(key, version)
    if cached is not None:
        return json_bytes(cached)
    produced: bytes = await run_in_threadpool(source.response, key, version, lambda: produce(version))
    return json_bytes(produced)


def build_router(schemas: ReportSchemas) -> APIRouter:
    """The read endpoints, with their schemas taken from the report schema."""
    router = APIRouter(prefix="/api/v1", tags=["figures"])
    period_schema = schemas.part("period")
    errors = problem_responses(400, 401)

    documented = [*SUMMARY_KEYS, *(key for key in OPTIONAL_SUMMARY_KEYS if schemas.has(key))]
    summary_schema = schemas.object_of({key: schemas.part(key) for key in documented}, list(SUMMARY_KEYS))

    @router.get("/summary", summary="Headline figures of a period: report.json's executive summary, calendar and "
                "period comparisons",
                responses={200: schemas.json_content(summary_schema, "The period and its headline figures"),
                           **errors})
    async def summary(period: Period, source: Source) -> Response:
        def produce(version: tuple[int, int]) -> dict[str, Any]:
            report = source.report(version, period)
            return {key: report[key] for key in (*SUMMARY_KEYS, *_extra_summary_keys(report))}
        return await answer(source, ("summary", period), produce)

    days_schema = _with_period(schemas.part("trend_analysis"), period_schema)

    @router.get("/days", summary="Every day of a period: revenue, change, trend (report.json's trend_analysis)",
                responses={200: schemas.json_content(days_schema, "The days of the period"), **errors})
    async def days(period: Period, source: Source) -> Response:
        def produce(version: tuple[int, int]) -> dict[str, Any]:
            report = source.report(version, period)
            return {"period": report["period"], **report["trend_analysis"]}
        return await answer(source, ("days", period), produce)

    product_item = schemas.part("product_performance")["items"]
    products_schema = _page_schema(product_item, period_schema)

    @router.get("/products", summary="Products ranked by revenue, sorted and paged",
                responses={200: schemas.json_content(products_schema, "One page of the ranking"), **errors})
    async def products(period: Period, source: Source, limit: Limit = 50, offset: Offset = 0,
                 sort: Annotated[Literal["rank", "revenue", "quantity", "product"], Query()] = "rank",
                 order: Annotated[Literal["asc", "desc"], Query()] = "asc") -> Response:
        def produce(version: tuple[int, int]) -> dict[str, Any]:
            report = source.report(version, period)
            ranked = _sorted_products(report["product_performance"], sort, order)
            return {"period": report["period"], "total": len(ranked), "limit": limit, "offset": offset,
                    "items": ranked[offset:offset + limit]}
        return await answer(source, ("products", period, limit, offset, sort, order), produce)

    product_schema = _product_schema(product_item, period_schema)

    @router.get("/products/{product:anytext}", summary="One product: its ranking figures and its daily series",
                responses={200: schemas.json_content(product_schema, "The product over the period"),
                           **problem_responses(400, 401, 404)})
    async def product(product: Annotated[str, Path(min_length=1, max_length=1000)], period: Period,
                      source: Source) -> Response:
        def produce(version: tuple[int, int]) -> dict[str, Any]:
            report = source.report(version, period)
            figures = next((p for p in report["product_performance"] if p["product"] == product), None)
            if figures is None:
                span = report["period"]
                where = f"the period {span['start']}..{span['end']}" if span["start"] else "a period without any sale"
                raise ApiProblem(404, "unknown-product", f"no sales of the product {product!r} in {where}")
            with source.reading() as connection:
                series = queries.product_days(connection, product, date.fromisoformat(report["period"]["start"]),
                                              date.fromisoformat(report["period"]["end"]))
            return {"period": report["period"], **figures, "days": series}
        if "\x00" in product:
            raise ApiProblem(404, "unknown-product", "no product has a NUL character in its name")
        return await answer(source, ("product", product, period), produce)

    forecast_schema = _with_period(schemas.part("prediction"), period_schema)

    @router.get("/forecast", summary="The forecast after the period's last day (report.json's prediction)",
                responses={200: schemas.json_content(forecast_schema, "Headline and every model's forecast"),
                           **errors})
    async def forecast(period: Period, source: Source) -> Response:
        def produce(version: tuple[int, int]) -> dict[str, Any]:
            report = source.report(version, period)
            return {"period": report["period"], **report["prediction"]}
        return await answer(source, ("forecast", period), produce)

    return router


def _extra_summary_keys(report: dict[str, Any]) -> list[str]:
    """Small top-level report keys other than the big sections (e.g. currency): part of a summary."""
    big = {"product_performance", "trend_analysis", "prediction", "data_quality", "schema_version", "run_id"}
    return [key for key in report if key not in big and key not in SUMMARY_KEYS]


def _sorted_products(ranked: list[dict[str, Any]], sort: str, order: str) -> list[dict[str, Any]]:
    if sort == "rank" and order == "asc":
        return ranked
    if sort == "product":
        keyed = sorted(ranked, key=lambda item: item["product"])
    else:
        keyed = sorted(ranked, key=lambda item: (item[sort], item["rank"]))
    return keyed[::-1] if order == "desc" else keyed


def _with_period(schema: dict[str, Any], period_schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "required": ["period", *schema.get("required", [])],
            "properties": {"period": period_schema, **schema.get("properties", {})}}


def _page_schema(item: dict[str, Any], period_schema: dict[str, Any]) -> dict[str, Any]:
    count = {"type": "integer", "minimum": 0}
    return {"type": "object", "required": ["period", "total", "limit", "offset", "items"],
            "properties": {"period": period_schema, "total": count, "limit": count, "offset": count,
                           "items": {"type": "array", "items": item}}}


def _product_schema(item: dict[str, Any], period_schema: dict[str, Any]) -> dict[str, Any]:
    day = {"type": "object", "required": ["date", "revenue", "quantity", "transactions"],
           "properties": {"date": {"type": "string", "format": "date"}, "revenue": {"type": "number"},
                          "quantity": {"type": "integer"}, "transactions": {"type": "integer", "minimum": 0}}}
    return _with_period({**item, "required": [*item["required"], "days"],
                         "properties": {**item["properties"], "days": {"type": "array", "items": day}}},
                        period_schema)
