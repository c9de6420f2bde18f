"""The FastAPI application: :func:`create_app` wires the store, tokens, extractor and routes.

The store is opened (and migrated) and the extractor built once, when the app
starts (its lifespan), not per request. ``as_of`` pins "today" for
deterministic answers (tests, demos); otherwise each request uses today (UTC).

Three ASGI middlewares run before any route: :class:`~followthrough.api.problems.CatchAll`
(outermost: an exception nobody answered is a problem, never a traceback),
:class:`~followthrough.api.auth.BearerAuth` (401/403 for ``/v1`` before the body
or query is looked at), then :class:`~followthrough.api.limits.BodyLimit` (413
for a body over the limit). The access log never shows a credential sent in a
query string (:mod:`followthrough.api.access_log`).

``POST /v1/documents`` extracts on a pool of its own, within a time budget
(:class:`~followthrough.api.extraction.ExtractionQueue`); on shutdown, queued
extractions are dropped and running ones given up to that budget to be stored.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any, Self

from fastapi import Depends, FastAPI
from fastapi.openapi.utils import get_openapi

from extractor import Extractor
from followthrough import __version__, web
from followthrough.api import access_log, docs, problems
from followthrough.api.auth import BearerAuth
from followthrough.api.extraction import ExtractionQueue, extract_timeout
from followthrough.api.limits import BodyLimit, max_body_bytes
from followthrough.api.routes import accounts, commitments, deals, documents, health
from followthrough.api.state import ApiState
from followthrough.api.strict import known_query_only
from followthrough.backends import build_extractor
from followthrough.config import ExtractorName, Settings, response_hours
from store import ApiTokens, Store

DESCRIPTION = """\
Commitments made to customers (and requests customers made to us), found in
email, Slack and meeting notes, linked to CRM deals.

Every `/v1` route needs `Authorization: Bearer <token>`; create a token with
`followthrough tokens create --name NAME` (add `--read-only` for a token that
cannot PATCH or POST). Errors are `application/problem+json`. A request body
over the server's limit (10 MiB unless configured) is refused with 413.
"""


API_LOCK_WAIT_S = 10.0
"""How long a request's write waits for another process holding a SQLite database."""


def create_app(
    database_url: str,
    *,
    as_of: date | None = None,
    settings: Settings | None = None,
    extractor: Extractor | None = None,
    max_body: int | None = None,
    extract_timeout_s: float | None = None,
) -> FastAPI:
    """The API over the store at ``database_url``.

    ``settings`` chooses the extraction backend and company domains (default:
    resolved from the environment, see :mod:`followthrough.config`);
    ``extractor`` replaces the configured backend (tests hand in a fake);
    ``max_body`` caps request bodies in bytes (default: see :mod:`followthrough.api.limits`);
    ``extract_timeout_s`` is how long a request waits for its extraction (default:
    ``FOLLOWTHROUGH_EXTRACT_TIMEOUT``, else 120 s; see :mod:`followthrough.api.extraction`).
    """
    settings = settings or Settings.resolve(database=database_url)
    target = response_hours()  # FOLLOWTHROUGH_RESPONSE_HOURS: a bad value stops the app before it serves
    body_limit = max_body_bytes(max_body)
    budget = extract_timeout(extract_timeout_s)
    access_log.install()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = Store(database_url, response_hours=target)
        store.lock_wait = API_LOCK_WAIT_S  # then 503 with Retry-After: a client retries, it does not hang
        backend = extractor
        queue = ExtractionQueue(budget)
        try:
            domains = settings.company_domains or store.company_domains_from_crm()
            if backend is None:
                backend = build_extractor(settings, domains=domains, directory=store.directory())
            app.state.api = ApiState(
                store=store,
                api_tokens=ApiTokens(store.engine),
                extractor=backend,
                domains=domains,
                fixed_as_of=as_of,
                extractions=queue,
            )
            yield
        finally:
            await asyncio.to_thread(queue.close, budget)
            if backend is not None and extractor is None:
                backend.close()
            store.close()

    app = FastAPI(
        title="followthrough",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        dependencies=[Depends(known_query_only)],
        docs_url=None,  # /docs and /redoc: from the package's own assets (followthrough.api.docs)
        redoc_url=None,
    )
    problems.install(app)
    app.add_middleware(BodyLimit, limit=body_limit)
    app.add_middleware(BearerAuth)
    app.add_middleware(problems.CatchAll)  # added last, so it runs first
    app.include_router(health.router)
    app.include_router(commitments.router)
    app.include_router(deals.router)
    app.include_router(accounts.router)
    app.include_router(documents.router)
    docs.install(app)
    web.install(app)  # the dashboard at / (followthrough.web): pages, /login, /static

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = problems.fix_openapi(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


SERVE_CONFIG_ENV = "FOLLOWTHROUGH_SERVE_CONFIG"
"""Where ``followthrough serve --workers N`` hands its resolved settings to its worker processes (JSON)."""
WORKER_APP = "followthrough.api.app:worker_app"
"""The app factory each worker process of ``followthrough serve --workers N`` runs (uvicorn ``factory``)."""


@dataclass(frozen=True)
class ServeConfig:
    """What ``serve`` resolved (database, a pinned as-of, domains, extractor, model), passed to workers
    as JSON in :data:`SERVE_CONFIG_ENV` so that each one serves exactly what one process would."""

    database_url: str
    as_of: date | None
    company_domains: list[str]
    extractor: str
    model: str

    @classmethod
    def of(cls, settings: Settings, *, fixed_as_of: bool) -> Self:
        """``settings`` as resolved; ``fixed_as_of``: ``--as-of`` was given (else each request's today)."""
        return cls(
            database_url=settings.database_url,
            as_of=settings.as_of if fixed_as_of else None,
            company_domains=sorted(settings.company_domains),
            extractor=str(settings.extractor),
            model=settings.model,
        )

    def export(self) -> None:
        """Put it in this process's environment, which spawned workers inherit."""
        data = asdict(self) | {"as_of": self.as_of.isoformat() if self.as_of else None}
        os.environ[SERVE_CONFIG_ENV] = json.dumps(data)

    @classmethod
    def from_environment(cls) -> Self:
        """What :meth:`export` wrote; ``KeyError`` outside a worker of ``serve``."""
        data = json.loads(os.environ[SERVE_CONFIG_ENV])
        as_of = date.fromisoformat(data["as_of"]) if data["as_of"] else None
        return cls(**(data | {"as_of": as_of}))

    def settings(self) -> Settings:
        return Settings(
            database_url=self.database_url,
            as_of=self.as_of or date.today(),
            company_domains=set(self.company_domains),
            extractor=ExtractorName(self.extractor),
            model=self.model,
        )


def worker_app() -> FastAPI:
    """The app one worker process of ``followthrough serve --workers N`` serves (see :class:`ServeConfig`)."""
    config = ServeConfig.from_environment()
    return create_app(config.database_url, as_of=config.as_of, settings=config.settings())
