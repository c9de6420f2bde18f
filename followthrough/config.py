"""Settings, resolved at call time in one documented order.

Each setting comes from, first to last: an explicit CLI flag, then the
environment, then a built-in default. Nothing is read at import time.

=============================  ============================  =========================================
setting                        environment                   default
=============================  ============================  =========================================
database URL                   FOLLOWTHROUGH_DATABASE_URL    sqlite file in $FOLLOWTHROUGH_HOME
data directory                 FOLLOWTHROUGH_HOME            ~/.followthrough
company domains                FOLLOWTHROUGH_COMPANY_DOMAINS the domains of the CRM's deal owners
extractor                      FOLLOWTHROUGH_EXTRACTOR       openai if OPENAI_API_KEY or
                                                             OPENAI_BASE_URL is set, else offline
model                          FOLLOWTHROUGH_MODEL           gpt-4o-mini
API request body limit         FOLLOWTHROUGH_MAX_BODY_BYTES  10 MiB (read by ``followthrough.api``)
=============================  ============================  =========================================

The LLM's own settings (default model, whether one is configured, endpoint and
key) have one home, :mod:`extractor.llm_config`; the spelling of a database
URL has one, :func:`store.normalize_url`. This module asks them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from extractor.llm_config import DEFAULT_MODEL, llm_configured, model_name
from followthrough.errors import ConfigError
from store import normalize_url

EXTRACTORS = ("offline", "openai")


def home_dir() -> Path:
    """Where followthrough keeps its default database."""
    env = os.environ.get("FOLLOWTHROUGH_HOME")
    return Path(env).expanduser() if env else Path.home() / ".followthrough"


def database_url(explicit: str | None = None) -> str:
    """The SQLAlchemy URL of the store (``postgres://`` spelled for psycopg 3, see :func:`normalize_url`)."""
    url = explicit or os.environ.get("FOLLOWTHROUGH_DATABASE_URL")
    if url:
        return normalize_url(url)
    home = home_dir()
    home.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{home / 'followthrough.db'}"


def parse_domains(value: str | None) -> set[str]:
    """``"northwind.io, @acme.com"`` → ``{"northwind.io", "acme.com"}``."""
    if not value:
        return set()
    return {d.strip().lower().lstrip("@") for d in value.split(",") if d.strip()}


def company_domains(explicit: str | None = None) -> set[str]:
    """Configured company domains; empty means "derive them from the CRM"."""
    return parse_domains(explicit or os.environ.get("FOLLOWTHROUGH_COMPANY_DOMAINS"))


def extractor_name(explicit: str | None = None) -> str:
    """Which backend extracts: the flag, the environment, or by what is configured."""
    name = explicit or os.environ.get("FOLLOWTHROUGH_EXTRACTOR")
    if name:
        name = name.strip().lower()
        if name not in EXTRACTORS:
            raise ConfigError(f"unknown extractor {name!r}: choose one of {', '.join(EXTRACTORS)}")
        return name
    if llm_configured():
        return "openai"
    return "offline"


def parse_as_of(value: str | None) -> date:
    """``--as-of``: an ISO date; today (UTC) when not given."""
    if not value:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(value.strip())
    except ValueError as e:
        raise ConfigError(f"--as-of {value!r} is not a date: use YYYY-MM-DD") from e


@dataclass
class Settings:
    """What one CLI invocation runs with."""

    database_url: str
    as_of: date
    company_domains: set[str] = field(default_factory=set)
    extractor: str = "offline"
    model: str = DEFAULT_MODEL

    @classmethod
    def resolve(
        cls,
        *,
        database: str | None = None,
        as_of: str | None = None,
        domains: str | None = None,
        extractor: str | None = None,
        model: str | None = None,
    ) -> Settings:
        return cls(
            database_url=database_url(database),
            as_of=parse_as_of(as_of),
            company_domains=company_domains(domains),
            extractor=extractor_name(extractor),
            model=model_name(model),
        )
