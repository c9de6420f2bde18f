"""Every error on a dashboard page is a page: friendly words, the right status, never a traceback.

:class:`PageRoute` is the route class of every dashboard route: around the route (its dependencies
included) it turns :class:`~followthrough.web.context.SignInNeeded` into a redirect to the sign-in
page, :class:`~followthrough.web.context.PageError` into that page, a parameter the route does not
take into a 400 page, a database that cannot answer into a 503 page, and anything else into a 500
page (logged once, redacted). :func:`install` also answers a browser's request for an unknown path
(``Accept: text/html``, outside ``/v1``) with a 404 page; API clients keep their problem+json.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from followthrough.errors import StoreError
from followthrough.redaction import redact
from followthrough.web.context import PageError, SignInNeeded, login_url, render

log = logging.getLogger("followthrough.web")

API_PREFIXES = ("/v1", "/openapi.json", "/docs", "/redoc", "/healthz", "/static")


def error_page(request: Request, status: int, title: str, detail: str) -> Response:
    """The error page: ``title``, one ``detail`` sentence, a way back."""
    return render(request, "error.html", {"status": status, "title": title, "detail": detail}, status=status)


def _answer(request: Request, exc: Exception) -> Response:
    if isinstance(exc, SignInNeeded):
        return RedirectResponse(login_url(exc.next_path), status_code=303)
    if isinstance(exc, PageError):
        return error_page(request, exc.status, exc.title, exc.detail)
    if isinstance(exc, RequestValidationError):
        names = sorted({str(e.get("loc", ("", "?"))[-1]) for e in exc.errors()})
        return error_page(
            request, 400, "Bad link", f"This page does not take {', '.join(names) or 'those parameters'}."
        )
    if isinstance(exc, StoreError):
        log.error("dashboard %s %s: %s", request.method, request.url.path, redact(str(exc)))
        return error_page(
            request, 503, "Database unavailable", "The database did not answer. Try again in a moment."
        )
    log.error(
        "dashboard %s %s failed: %s: %s",
        request.method,
        request.url.path,
        type(exc).__name__,
        redact(str(exc).splitlines()[0] if str(exc) else ""),
    )
    return error_page(request, 500, "Something went wrong", "The page could not be shown. Try again later.")


class PageRoute(APIRoute):
    """A dashboard route: its errors are pages (see the module docstring)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:  # every error of a page is answered as a page
                return _answer(request, exc)

        return page


def install(app: FastAPI) -> None:
    """Answer a browser's unknown path with a 404 page (and 405 alike); the API keeps its problems."""
    original = app.exception_handlers.get(StarletteHTTPException)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        page = "text/html" in request.headers.get("accept", "") and not request.url.path.startswith(
            API_PREFIXES
        )
        if page and exc.status_code in (404, 405):
            title = "Page not found" if exc.status_code == 404 else "Not allowed"
            detail = (
                f"There is no page at {request.url.path}."
                if exc.status_code == 404
                else f"{request.method} is not allowed here."
            )
            return error_page(request, exc.status_code, title, detail)
        if original is None:
            raise exc
        result = original(request, exc)
        return await result if isinstance(result, Awaitable) else result

    app.add_exception_handler(StarletteHTTPException, http_error)
