"""Signing in and out: ``GET /login`` (the form), ``POST /login`` (field ``token``), ``POST /logout``.

Sign-in checks the API token (:meth:`store.ApiTokens.verify`: unknown and revoked tokens are refused
alike) and starts a session, a row in the store that sign-out deletes (:mod:`followthrough.web.session`).
A missing or wrong token is the login page again with one line saying so (401), never which part was
wrong; the token is never echoed back into the page. Both POSTs are CSRF-checked: a sign-in from
another site's page is refused (403); a script's bare ``POST /login`` with only the ``token`` field
(``curl -d "token=$TOKEN" http://127.0.0.1:8000/login``) signs in; a browser's form must send back the
CSRF value of the form it was given (see :func:`followthrough.web.session.login_form_ok`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from followthrough.web.context import (
    PageError,
    Viewer,
    backing,
    render,
    safe_next,
    sessions,
    viewer,
)
from followthrough.web.errors import PageRoute
from followthrough.web.session import MAX_AGE_S, csrf_ok, login_form_ok, same_origin

router = APIRouter(include_in_schema=False, route_class=PageRoute)

MAX_TOKEN_LEN = 512


def _login_page(request: Request, next_path: str, *, error: str | None = None, status: int = 200) -> Response:
    """The form, with a fresh pre-session CSRF value in it and in its signed cookie."""
    jar = sessions(request)
    csrf = jar.new_login_csrf()
    response = render(request, "login.html", {"next": next_path, "error": error, "csrf": csrf}, status=status)
    jar.set_login_csrf(request, response, csrf)
    return response


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, next: Annotated[str | None, Query()] = None) -> Response:
    """The sign-in form (a signed-in visitor goes straight on to ``next``)."""
    target = safe_next(next)
    session = sessions(request).read(request)
    if session is not None:
        principal = await run_in_threadpool(backing(request).api_tokens.session_principal, session.sid)
        if principal is not None:
            return RedirectResponse(target, status_code=303)
    return _login_page(request, target)


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    """Check the token, start a session, go on to ``next`` (303); the form again (401) when it fails."""
    form = await request.form()
    token = str(form.get("token") or "").strip()
    target = safe_next(str(form.get("next") or "/"))
    jar = sessions(request)
    if not same_origin(request):
        return _login_page(
            request, target, error="Sign-in from another site's page is refused. Use this form.", status=403
        )
    tokens = backing(request).api_tokens
    principal = None
    if token and len(token) <= MAX_TOKEN_LEN:
        principal = await run_in_threadpool(tokens.verify, token)
    if principal is None:
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        sent_as_form = kind in ("", "application/x-www-form-urlencoded", "multipart/form-data")
        return _login_page(
            request,
            target,
            error="That token is not valid (missing, unknown or revoked). Create one with "
            "`followthrough tokens create --name NAME`."
            if sent_as_form or token
            else "Send the token as the form field `token` (application/x-www-form-urlencoded).",
            status=401,
        )
    submitted = form.get("csrf_token")
    if not login_form_ok(jar, request, None if submitted is None else str(submitted)):
        return _login_page(
            request, target, error="The sign-in form had expired. Paste your token again.", status=403
        )
    session = jar.new()
    await run_in_threadpool(
        tokens.start_session, principal.id, session.sid, lifetime=timedelta(seconds=MAX_AGE_S)
    )
    response = RedirectResponse(target, status_code=303)
    jar.start(request, response, session)
    return response


@router.post("/logout")
async def logout(request: Request, who: Annotated[Viewer, Depends(viewer)]) -> Response:
    """End the session for good (CSRF-checked; its stored row is deleted, so a copy of the cookie is
    refused from then on) and go to the sign-in page."""
    form = await request.form()
    if not same_origin(request) or not csrf_ok(who.session, str(form.get("csrf_token") or "")):
        raise PageError(403, "Form expired", "This form is no longer valid: reload the page and try again.")
    await run_in_threadpool(backing(request).api_tokens.end_session, who.session.sid)
    response = RedirectResponse("/login", status_code=303)
    sessions(request).end(response)
    return response
