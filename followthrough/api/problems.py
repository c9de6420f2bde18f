"""Errors as ``application/problem+json`` (RFC 9457), and the OpenAPI that says so.

Every error the API returns has the same shape, :class:`Problem`: ``type``,
``title`` (the HTTP status phrase), ``status``, ``detail`` (what went wrong, in
words that say how to fix it) and, for validation errors, ``errors`` (one entry
per bad field). Mapping:

======================================  ======
:class:`ApiError`                       its own status (401, 403, 404, 422, ...)
request validation (FastAPI/pydantic)   422
:class:`store.NotFound`                 404
:class:`store.InvalidCursor`            422
other :class:`StoreError`               503 (the database refused or is down)
:class:`ExtractionError`                502
Starlette HTTP errors (404 route, 405)  their status
anything else                           500, logged without request headers
======================================  ======
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from followthrough.errors import ExtractionError, StoreError
from store import InvalidCursor, NotFound

log = logging.getLogger("followthrough.api")

PROBLEM_JSON = "application/problem+json"


class FieldError(BaseModel):
    """One invalid input: where it is (``["query", "limit"]``) and what is wrong with it."""

    model_config = ConfigDict(extra="forbid")

    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """An error (RFC 9457 problem details)."""

    model_config = ConfigDict(extra="forbid")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: list[FieldError] | None = None


class ApiError(Exception):
    """An error with an HTTP status, raised by routes and dependencies."""

    def __init__(self, status: int, detail: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = dict(headers or {})


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_response(
    status: int,
    detail: str | None,
    *,
    errors: list[FieldError] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = Problem(title=_phrase(status), status=status, detail=detail, errors=errors)
    return JSONResponse(
        body.model_dump(mode="json", exclude_none=True),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=dict(headers or {}),
    )


def _field_errors(exc: RequestValidationError) -> list[FieldError]:
    out = []
    for e in exc.errors():
        loc = [x if isinstance(x, int) else str(x) for x in e.get("loc", ())]
        msg = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        out.append(FieldError(loc=loc, msg=msg, type=str(e.get("type", "invalid"))))
    return out


def _summary(errors: list[FieldError]) -> str:
    parts = []
    for e in errors[:5]:
        where = ".".join(str(x) for x in e.loc if x != "body") or "body"
        parts.append(f"{where}: {e.msg}")
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "; ".join(parts) + more


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return problem_response(exc.status, exc.detail, headers=exc.headers)


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _field_errors(exc)
    return problem_response(422, _summary(errors) or "invalid request", errors=errors)


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else None
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no route {request.url.path}: see /openapi.json for the endpoints"
    elif exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}"
    return problem_response(exc.status_code, detail, headers=exc.headers)


async def _not_found(request: Request, exc: Exception) -> JSONResponse:
    return problem_response(404, str(exc))


async def _bad_cursor(request: Request, exc: Exception) -> JSONResponse:
    return problem_response(
        422,
        str(exc),
        errors=[FieldError(loc=["query", "cursor"], msg=str(exc), type="value_error")],
    )


async def _store(request: Request, exc: Exception) -> JSONResponse:
    log.error("store error on %s %s: %s", request.method, request.url.path, exc)
    return problem_response(503, f"the database could not answer: {exc}")


async def _extraction(request: Request, exc: Exception) -> JSONResponse:
    return problem_response(
        502,
        f"extraction failed: {exc}. The document is stored; `followthrough extract` retries it.",
    )


async def _internal(request: Request, exc: Exception) -> JSONResponse:
    # Logged with the path only: never the headers (they carry the token).
    log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(500, "internal server error; the server log has the details")


def install(app: FastAPI) -> None:
    """Register the problem+json handlers on ``app``."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    # Most specific first: Starlette looks handlers up along the exception's MRO.
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(InvalidCursor, _bad_cursor)
    app.add_exception_handler(StoreError, _store)
    app.add_exception_handler(ExtractionError, _extraction)
    app.add_exception_handler(Exception, _internal)


_DESCRIPTIONS = {
    400: "The body could not be parsed (it is not JSON).",
    401: "Missing, unknown or revoked bearer token.",
    403: "The token is read-only and this operation writes.",
    404: "No such commitment or deal.",
    413: "The request body is larger than the server's limit.",
    422: "The request is invalid; `errors` lists each bad field.",
    502: "The extraction backend failed.",
    503: "The database is unavailable.",
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for these error statuses (served as problem+json)."""
    return {c: {"model": Problem, "description": _DESCRIPTIONS.get(c, _phrase(c))} for c in codes}


def fix_openapi(schema: dict[str, Any]) -> dict[str, Any]:
    """Declare every 4xx/5xx body as ``application/problem+json`` (FastAPI writes application/json)."""
    for path in schema.get("paths", {}).values():
        for op in path.values():
            if not isinstance(op, dict):
                continue
            for code, resp in op.get("responses", {}).items():
                content = resp.get("content")
                if str(code)[:1] in ("4", "5") and content and "application/json" in content:
                    content[PROBLEM_JSON] = content.pop("application/json")
    components = schema.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        if unused in components and f"#/components/schemas/{unused}" not in json.dumps(schema.get("paths")):
            components.pop(unused)
    return schema
