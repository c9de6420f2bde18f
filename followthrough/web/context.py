"""What every dashboard page shares: the running app's store, the signed-in viewer, the templates.

The dashboard runs inside the API's app (:func:`followthrough.api.create_app` mounts it) but never
imports :mod:`followthrough.api`: it reads what the app started (``app.state.api``) through the
:class:`Backing` protocol, which the API's state satisfies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol, cast
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from followthrough.web.session import Session, Sessions
from store import ApiTokens, Principal, Store

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"


class Backing(Protocol):
    """What the dashboard needs from the running app: the store, its tokens, our company's domains
    and today (or the date the server was started with)."""

    @property
    def store(self) -> Store: ...

    @property
    def api_tokens(self) -> ApiTokens: ...

    @property
    def domains(self) -> set[str]: ...

    def as_of(self) -> date: ...


def backing(request: Request) -> Backing:
    """The app's :class:`Backing` (set when the app starts)."""
    return cast(Backing, request.app.state.api)


def sessions(request: Request) -> Sessions:
    """The app's :class:`Sessions` (made by :func:`followthrough.web.install`)."""
    found = request.app.state.web_sessions
    assert isinstance(found, Sessions)
    return found


class SignInNeeded(Exception):
    """No valid session: the answer is a redirect to ``/login?next=PATH``."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class PageError(Exception):
    """An error shown as a page: ``status`` (404, 403, 400, 422...), a ``title`` and a ``detail``
    sentence that says what to do."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail


@dataclass(frozen=True)
class Viewer:
    """Who is looking: the token (``principal``) and the session (for its CSRF token)."""

    principal: Principal
    session: Session

    @property
    def can_act(self) -> bool:
        """A read-write token: the pages show the action forms."""
        return not self.principal.read_only


async def viewer(request: Request) -> Viewer:
    """The signed-in viewer; :class:`SignInNeeded` when there is no session, it was signed out or
    expired, or its token is revoked."""
    session = sessions(request).read(request)
    principal = None
    if session is not None:
        principal = await run_in_threadpool(backing(request).api_tokens.session_principal, session.sid)
    if session is not None and principal is None and request.method not in {"GET", "HEAD"}:
        # a cookie of a session that has ended (signed out, expired, token revoked): an action is
        # refused outright, not bounced through the sign-in page
        raise PageError(
            403,
            "Signed out",
            "This session has ended (signed out, expired or its token revoked): sign in again.",
        )
    if session is None or principal is None:
        raise SignInNeeded(_come_back_to(request))
    return Viewer(principal=principal, session=session)


def _come_back_to(request: Request) -> str:
    """Where to go after signing in: the page asked for, or for a form posted without a session (it
    expired) the item it was about, else Needs attention."""
    if request.method in {"GET", "HEAD"}:
        return local_path(request)
    path = request.url.path
    return path.removesuffix("/actions") if path.startswith("/items/") else "/"


def local_path(request: Request) -> str:
    """The request's path and query, to come back to after signing in."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def safe_next(value: str | None, default: str = "/") -> str:
    """``value`` when it is a path on this site (``/...``, not ``//host`` nor a URL), else ``default``:
    a ``next`` field can never send a signed-in user to another site."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    if any(ord(ch) < 32 for ch in value):
        return default
    return value


def login_url(next_path: str) -> str:
    return "/login?next=" + quote(safe_next(next_path), safe="/")


_env = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def environment() -> Environment:
    """The templates' Jinja2 environment (autoescape on for every template)."""
    return _env


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    viewer: Viewer | None = None,
) -> HTMLResponse:
    """``template`` rendered with ``context`` plus ``request``, ``viewer`` and ``as_of``."""
    base: dict[str, Any] = {"request": request, "viewer": viewer, "path": request.url.path}
    html = _env.get_template(template).render(base | context)
    return HTMLResponse(html, status_code=status, headers=NO_STORE)


NO_STORE = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
}
"""Headers on every page: nothing a signed-in user saw is kept in a shared cache; nothing but this
site's own files loads (no CDN, no inline script); no other site may frame a page."""
