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
request response target        FOLLOWTHROUGH_RESPONSE_HOURS  24 (hours; per tier: "24, tier 1=4")
silent account after           FOLLOWTHROUGH_SILENT_DAYS     30, tier 1=14 (days)
offline time per document      FOLLOWTHROUGH_OFFLINE_BUDGET  20 (seconds; read by ``extractor.offline``)
dashboard address in links     FOLLOWTHROUGH_PUBLIC_URL      http://127.0.0.1:8000 (``public_url``)
notifications: SMTP            FOLLOWTHROUGH_SMTP_URL,       none (read by ``followthrough.notify``)
                               FOLLOWTHROUGH_MAIL_FROM
notifications: Slack           FOLLOWTHROUGH_SLACK_WEBHOOK_  none (read by ``followthrough.notify``)
                               URL, SLACK_BOT_TOKEN,
                               FOLLOWTHROUGH_SLACK_API_URL
=============================  ============================  =========================================

The LLM's own settings (default model, whether one is configured, endpoint and
key) have one home, :mod:`extractor.llm_config`; the spelling of a database
URL has one, :func:`store.normalize_url`. This module asks them.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from extractor.llm_config import DEFAULT_MODEL, llm_configured, model_name
from followthrough.errors import ConfigError
from followthrough.types import TieredValue, normalize_domains, tier_key


class ExtractorName(StrEnum):
    """The extraction backends: ``offline`` (the bundled detector) or ``openai`` (an OpenAI-compatible
    LLM). A member is the string the ``--extractor`` option and ``FOLLOWTHROUGH_EXTRACTOR`` take."""

    OFFLINE = "offline"
    OPENAI = "openai"


def home_dir() -> Path:
    """Where followthrough keeps its default database."""
    env = os.environ.get("FOLLOWTHROUGH_HOME")
    return Path(env).expanduser() if env else Path.home() / ".followthrough"


def database_url(explicit: str | None = None) -> str:
    """The SQLAlchemy URL of the store (``postgres://`` spelled for psycopg 3, see :func:`normalize_url`)."""
    if explicit is not None and not explicit.strip():
        raise ConfigError("the database URL is empty: give --database URL, or leave the option out")
    url = explicit or os.environ.get("FOLLOWTHROUGH_DATABASE_URL")
    if url:
        from store import normalize_url  # noqa: PLC0415 - the store (SQLAlchemy) loads only when asked

        return normalize_url(url)
    home = home_dir()
    home.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{home / 'followthrough.db'}"


def parse_domains(value: str | None) -> set[str]:
    """``"northwind.io, @acme.com"`` → ``{"northwind.io", "acme.com"}``."""
    if not value:
        return set()
    return set(normalize_domains(value.split(",")))


def company_domains(explicit: str | None = None) -> set[str]:
    """Configured company domains; empty means "derive them from the CRM"."""
    return parse_domains(explicit or os.environ.get("FOLLOWTHROUGH_COMPANY_DOMAINS"))


def extractor_name(explicit: str | None = None) -> ExtractorName:
    """Which backend extracts: the flag, the environment, or by what is configured.

    Raises :class:`ConfigError` for a name that is not an :class:`ExtractorName` (any case).
    """
    name = explicit or os.environ.get("FOLLOWTHROUGH_EXTRACTOR")
    if name:
        name = name.strip().lower()
        try:
            return ExtractorName(name)
        except ValueError:
            raise ConfigError(
                f"unknown extractor {name!r}: choose one of {', '.join(ExtractorName)}"
            ) from None
    if llm_configured():
        return ExtractorName.OPENAI
    return ExtractorName.OFFLINE


RESPONSE_HOURS_ENV = "FOLLOWTHROUGH_RESPONSE_HOURS"
DEFAULT_RESPONSE_HOURS = TieredValue(24.0)
"""Hours within which an inbound request should get an answer from us (any tier)."""
RESPONSE_HOURS_EXAMPLE = "24, tier 1=8"
SILENT_DAYS_ENV = "FOLLOWTHROUGH_SILENT_DAYS"
DEFAULT_SILENT_DAYS = TieredValue(30.0, (("1", 14.0),))
"""Days without a message or meeting from our side after which an account is silent (tier 1: 14)."""
SILENT_DAYS_EXAMPLE = "30, tier 1=14"


def parse_tiered(name: str, value: str | None, default: TieredValue, *, example: str) -> TieredValue:
    """``"30, tier 1=14, enterprise=21"`` → 30 by default, 14 for tier 1, 21 for Enterprise.

    A bare number sets the default; ``TIER=NUMBER`` sets one tier (matched by
    :func:`~followthrough.types.tier_key`, so ``tier 1``, ``Tier1`` and ``1`` are
    one tier). Unset or empty: ``default``. Tiers not named keep ``default``'s
    overrides. Raises :class:`ConfigError` naming ``name`` for anything else, with ``example`` (a
    valid value of that setting, ``"30, tier 1=14"``) to show how it is written.
    """
    if value is None or not value.strip():
        return default
    base = default.default
    overrides = dict(default.overrides)
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        tier, sep, number = part.rpartition("=")
        try:
            amount = float(number)
        except ValueError:
            amount = math.nan
        if not (math.isfinite(amount) and amount > 0) or (sep and not tier_key(tier)):
            raise ConfigError(
                f"{name}={value!r}: {part!r} is not a positive number or TIER=NUMBER (e.g. {example!r})"
            )
        if sep:
            overrides[tier_key(tier)] = amount
        else:
            base = amount
    return TieredValue(base, tuple(sorted(overrides.items())))


def response_hours(explicit: str | None = None) -> TieredValue:
    """The response target for inbound requests, in hours (``FOLLOWTHROUGH_RESPONSE_HOURS``; default 24)."""
    return parse_tiered(
        RESPONSE_HOURS_ENV,
        explicit or os.environ.get(RESPONSE_HOURS_ENV),
        DEFAULT_RESPONSE_HOURS,
        example=RESPONSE_HOURS_EXAMPLE,
    )


def silent_days(explicit: str | None = None) -> TieredValue:
    """Days without word from our side that make an account silent (``FOLLOWTHROUGH_SILENT_DAYS``)."""
    return parse_tiered(
        SILENT_DAYS_ENV,
        explicit or os.environ.get(SILENT_DAYS_ENV),
        DEFAULT_SILENT_DAYS,
        example=SILENT_DAYS_EXAMPLE,
    )


def parse_as_of(value: str | None) -> date:
    """``--as-of``: an ISO date; today (UTC) when not given."""
    if not value:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(value.strip())
    except ValueError as e:
        raise ConfigError(f"--as-of {value!r} is not a date: use YYYY-MM-DD") from e


PUBLIC_URL_ENV = "FOLLOWTHROUGH_PUBLIC_URL"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
"""Where ``followthrough serve`` listens by default: the dashboard's address when none is configured."""


def public_url(explicit: str | None = None) -> str:
    """The dashboard's address as people reach it, without a trailing slash: links in notifications
    and CRM tasks are ``{public_url()}/items/{id}``. From ``explicit``, else ``FOLLOWTHROUGH_PUBLIC_URL``,
    else ``http://127.0.0.1:8000``. :class:`ConfigError` for anything but an ``http(s)://host`` URL."""
    value = (explicit or os.environ.get(PUBLIC_URL_ENV) or "").strip() or DEFAULT_PUBLIC_URL
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(
            f"{PUBLIC_URL_ENV}={value!r} is not an http(s) address: use e.g. https://followthrough.example.com"
        )
    return value.rstrip("/")


@dataclass
class Settings:
    """What one CLI invocation runs with."""

    database_url: str
    as_of: date
    company_domains: set[str] = field(default_factory=set)
    extractor: ExtractorName = ExtractorName.OFFLINE
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
