"""The dashboard: server-rendered pages over the store, at ``/`` of ``followthrough serve``.

Pages (Jinja2, autoescaped; htmx for progressive enhancement, every page works without JavaScript):
``/`` Needs attention, ``/mine`` My items, ``/deals`` (and ``/deals/{crm_id}``), ``/accounts``,
``/items/{id}``, ``/review``; ``/login`` and ``/logout``; actions at ``POST /items/{id}/actions``.
Every asset (CSS, htmx, the docs' Swagger UI and ReDoc) is served from the package at ``/static``:
nothing loads from a CDN.

Sign-in takes an API token (``followthrough tokens create``) and starts a signed session
(:mod:`followthrough.web.session`); read-only tokens see every page but no action form, and their
POSTs are refused (403). The package reads the running app's store through
:class:`~followthrough.web.context.Backing` and never imports :mod:`followthrough.api`.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from followthrough.web import auth, errors, item, pages
from followthrough.web.context import STATIC_DIR
from followthrough.web.session import Sessions, session_secret


def install(app: FastAPI, *, secret: str | None = None) -> None:
    """Mount the dashboard on ``app`` (whose ``app.state.api`` the lifespan sets to a
    :class:`~followthrough.web.context.Backing`): its routes, ``/static``, its error pages.

    ``secret``: the session key (default: :func:`~followthrough.web.session.session_secret`);
    :class:`~followthrough.errors.ConfigError` when none can be had.
    """
    app.state.web_sessions = Sessions(session_secret(secret))
    for router in (auth.router, pages.router, item.router):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    errors.install(app)


__all__ = ["install"]
