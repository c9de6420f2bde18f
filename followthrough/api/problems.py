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
:class:`store.Unresolved`               422 (an owner, deal or account that names none, or several)
:class:`store.InvalidStatus`            422 (a status the item cannot take)
:class:`store.admission.Unstorable`     422 (a value the database cannot hold)
the database unreachable, locked, down  503 with ``Retry-After``
any other database or driver error      500
:class:`ExtractionError`                502
Starlette HTTP errors (404 route, 405)  their status
anything else                           500
======================================  ======

A database error (a :class:`StoreError`, a SQLAlchemy error or a driver's
own) answers a fixed detail, never the database's words: those can quote SQL,
parameters or the server's address. What went wrong is logged instead, with
the method and path (never the headers or the query string) and passed
through :func:`~followthrough.redaction.redact`. So is an unexpected
exception: its traceback goes to the log, redacted, and never into a body
(:class:`CatchAll`). An :class:`ExtractionError` does say why (the backend's
reason helps whoever sent the document), redacted too: an upstream error
can echo a key or an ``Authorization`` header.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import traceback
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from followthrough.errors import ExtractionError, StoreError
from followthrough.redaction import redact
from store import InvalidCursor, InvalidStatus, NotFound, Unresolved, Unstorable

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


_UNION_MEMBER = re.compile(r"^[\w-]+\[.*\]$")
"""A pydantic union member's tag in an error's place (``str-enum[CommitmentStatus]``, ``literal['all']``)."""
_PARAMETERS = ("query", "path", "header", "cookie")
_CHOICE_ERRORS = ("enum", "literal_error")


def _place(raw: Any) -> list[str | int]:
    """An error's place without pydantic's union member tags: a query parameter's is ``[query, name]``
    (a list's item adds its index), never a Python type name."""
    loc = [x if isinstance(x, int) else str(x) for x in raw]
    if loc and loc[0] in _PARAMETERS:
        return [*loc[:2], *(x for x in loc[2:] if isinstance(x, int))]
    return [x for x in loc if isinstance(x, int) or not _UNION_MEMBER.match(x)]


def _choices(error: Mapping[str, Any]) -> list[str]:
    """The values an enum or literal accepts, as pydantic's ``ctx.expected`` lists them."""
    expected = str((error.get("ctx") or {}).get("expected", ""))
    return re.findall(r"'((?:[^'\\]|\\.)*)'", expected)


def _field_errors(exc: RequestValidationError) -> list[FieldError]:
    """One :class:`FieldError` a place, worded for people: an enum or literal (or a union of them, as
    ``status``: a status or ``all``) says ``must be one of: open, done, ...``; no pydantic type name nor
    "Value error," prefix."""
    out: list[FieldError] = []
    choices: dict[tuple[str | int, ...], FieldError] = {}
    for e in exc.errors():
        loc = _place(e.get("loc", ()))
        kind = str(e.get("type", "invalid"))
        allowed = _choices(e) if kind in _CHOICE_ERRORS else []
        if allowed:
            known = choices.get(tuple(loc))
            values = [*(known.msg.split(": ", 1)[1].split(", ") if known else []), *allowed]
            msg = "must be one of: " + ", ".join(dict.fromkeys(values))
            if known is not None:
                known.msg = msg
                continue
            choices[tuple(loc)] = error = FieldError(loc=loc, msg=msg, type=kind)
            out.append(error)
            continue
        msg = (
            str(e.get("msg", "invalid")).removeprefix("Value error, ").replace("Input should be ", "must be ")
        )
        out.append(FieldError(loc=loc, msg=msg, type=kind))
    return out


def _summary(errors: list[FieldError]) -> str:
    parts = []
    for e in errors[:5]:
        place = e.loc[1:] if e.loc and e.loc[0] in _PARAMETERS else [x for x in e.loc if x != "body"]
        where = ".".join(str(x) for x in place) or "body"
        parts.append(f"{where} {e.msg}" if e.msg.startswith("must ") else f"{where}: {e.msg}")
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


async def _invalid_status(request: Request, exc: Exception) -> JSONResponse:
    return problem_response(
        422, str(exc), errors=[FieldError(loc=["body", "status"], msg=str(exc), type="value_error")]
    )


async def _unresolved(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Unresolved)
    return problem_response(
        422, str(exc), errors=[FieldError(loc=["query", exc.field], msg=str(exc), type="value_error")]
    )


DATABASE_UNAVAILABLE = "the database is unavailable, retry later"
DATABASE_ERROR = "database error; the server log has the details"
INTERNAL_ERROR = "internal server error; the server log has the details"
RETRY_DATABASE_S = 5
"""``Retry-After`` (seconds) on a 503 for an unavailable database."""

_UNAVAILABLE_NAMES = frozenset({"OperationalError", "InterfaceError", "DisconnectionError", "TimeoutError"})
"""Error classes (SQLAlchemy's and DB-API drivers') that mean the database is down, busy or unreachable."""


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from (``__cause__``/``__context__``), nearest first."""
    out: list[BaseException] = []
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen and len(out) < 20:
        seen.add(id(cur))
        out.append(cur)
        cur = cur.__cause__ or cur.__context__
    return out


def _is_driver_error(exc: BaseException) -> bool:
    """A DB-API driver's own error (sqlite3, psycopg) that SQLAlchemy did not wrap."""
    return isinstance(exc, sqlite3.Error) or type(exc).__module__.split(".")[0] in ("psycopg", "psycopg2")


def is_database_error(exc: BaseException) -> bool:
    """True for a :class:`StoreError` (but a client's: NotFound, InvalidCursor, Unresolved, InvalidStatus),
    a SQLAlchemy error or a driver error."""
    if isinstance(exc, NotFound | InvalidCursor | Unresolved | InvalidStatus):
        return False
    return isinstance(exc, StoreError | sa_exc.SQLAlchemyError) or _is_driver_error(exc)


def _unavailable(exc: BaseException) -> bool:
    """The database is down, locked or unreachable (worth a retry), as opposed to refusing a statement
    or a value (a bug or a value no check caught: retrying will not help)."""
    for e in _chain(exc):
        if isinstance(e, sa_exc.SQLAlchemyError | sqlite3.Error) or _is_driver_error(e):
            if isinstance(e, sa_exc.DBAPIError) and e.orig is not None:
                e = e.orig
            return any(c.__name__ in _UNAVAILABLE_NAMES for c in type(e).__mro__)
        if isinstance(e, ArithmeticError | ValueError | TypeError):  # a value the driver could not bind
            return False
    return True  # a StoreError of our own (connection refused, locked too long, ...): the database's state


def _where(scope_or_request: Request | Scope) -> str:
    if isinstance(scope_or_request, Request):
        return f"{scope_or_request.method} {scope_or_request.url.path}"
    return f"{scope_or_request.get('method', '?')} {scope_or_request.get('path', '?')}"


def _reason(exc: BaseException) -> str:
    """Every message in ``exc``'s chain on one line, redacted: for the log only."""
    parts = [f"{type(e).__name__}: {' '.join(str(e).split())}"[:2000] for e in _chain(exc)]
    return redact(" <- ".join(parts))


def _unstorable_detail(exc: BaseException) -> str | None:
    """What a 422 says about a value the database cannot hold: our own check's words, never a driver's."""
    for e in _chain(exc):
        if isinstance(e, Unstorable):
            own = e.__cause__ is None or not (
                isinstance(e.__cause__, sa_exc.SQLAlchemyError) or _is_driver_error(e.__cause__)
            )
            reason = str(e) if own else "a value in it is outside what the database can hold"
            return f"the document cannot be stored: {redact(reason)}"
    return None


def database_problem(where: Request | Scope, exc: BaseException) -> JSONResponse:
    """The answer to a database error: 422 for a value the database cannot hold (the client's to fix),
    503 (retry later) or 500, with a fixed detail; the reason is logged."""
    unstorable = _unstorable_detail(exc)
    if unstorable is not None:
        log.warning("unstorable value on %s: %s", _where(where), _reason(exc))
        return problem_response(422, unstorable)
    if _unavailable(exc):
        log.error("database unavailable on %s: %s", _where(where), _reason(exc))
        return problem_response(503, DATABASE_UNAVAILABLE, headers={"Retry-After": str(RETRY_DATABASE_S)})
    log.error("database error on %s: %s", _where(where), _reason(exc))
    return problem_response(500, DATABASE_ERROR)


def internal_problem(where: Request | Scope, exc: BaseException) -> JSONResponse:
    """The answer to an exception nobody expected: 500, its traceback (redacted) in the log only."""
    if is_database_error(exc):
        return database_problem(where, exc)
    # Logged with the method and path only: never the headers (they carry the token) nor the query.
    tb = redact("".join(traceback.format_exception(exc)))
    log.error("internal error on %s: %s", _where(where), tb)
    return problem_response(500, INTERNAL_ERROR)


def extraction_detail(exc: BaseException) -> str:
    """What a 502 says: the backend's reason, on one line, capped, with every credential masked."""
    reason = redact(" ".join(str(exc).split()))
    if len(reason) > 500:
        reason = reason[:500] + "..."
    return (
        f"extraction failed: {reason or type(exc).__name__}. "
        "The document is stored; `followthrough extract` retries it."
    )


async def _store(request: Request, exc: Exception) -> JSONResponse:
    return database_problem(request, exc)


async def _extraction(request: Request, exc: Exception) -> JSONResponse:
    log.warning("extraction failed on %s: %s", _where(request), _reason(exc))
    return problem_response(502, extraction_detail(exc))


async def _internal(request: Request, exc: Exception) -> JSONResponse:
    return internal_problem(request, exc)


class CatchAll:
    """ASGI middleware: an exception that no handler answered is a problem, never a traceback.

    Starlette's last-resort handler answers 500 but then re-raises, so the
    server logs the raw traceback as well; this middleware (inside it) answers
    and logs once, redacted (:func:`internal_problem`). A database error that
    escaped the routes' handlers (raised in a middleware, or a driver error
    SQLAlchemy did not wrap) gets the database answer (503 or 500).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        except Exception as exc:
            if started:  # too late to answer: the server closes the connection
                log.error("error after the response started on %s: %s", _where(scope), _reason(exc))
                raise
            await internal_problem(scope, exc)(scope, receive, send)


def install(app: FastAPI) -> None:
    """Register the problem+json handlers on ``app``."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    # Most specific first: Starlette looks handlers up along the exception's MRO.
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(InvalidCursor, _bad_cursor)
    app.add_exception_handler(Unresolved, _unresolved)
    app.add_exception_handler(InvalidStatus, _invalid_status)
    app.add_exception_handler(StoreError, _store)
    app.add_exception_handler(sa_exc.SQLAlchemyError, _store)
    app.add_exception_handler(sqlite3.Error, _store)
    app.add_exception_handler(ExtractionError, _extraction)
    app.add_exception_handler(Exception, _internal)


_DESCRIPTIONS = {
    400: "The body could not be parsed (it is not JSON).",
    401: "Missing, unknown or revoked bearer token.",
    403: "The token is read-only and this operation writes.",
    404: "No such commitment or deal.",
    413: "The request body is larger than the server's limit.",
    422: "The request is invalid; `errors` lists each bad field.",
    502: "The extraction backend failed (an error, or an answer that is not a chat completion).",
    503: "The database is unavailable, or (POST /v1/documents) the extraction did not finish within the "
    "server's time budget or the server is busy extracting: retry after `Retry-After` seconds.",
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
