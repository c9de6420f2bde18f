"""What every CLI command shares: resolved settings, consoles, the store."""

from __future__ import annotations

from dataclasses import dataclass, field

import typer
from rich.console import Console

from followthrough.config import Settings, response_hours
from store import Store

OWNER_HELP = 'A person: an email, a local part ("marco"), a first or a full name.'
"""How ``--owner`` is matched (see :mod:`store.lookup`); shared by every command that takes it."""


def not_blank(value: str) -> str:
    """An option's text as given (a typer ``parser``); a usage error (exit 2) when it is empty or blank:
    ``--owner ''`` is a mistake, never "everyone"."""
    if not value.strip():
        raise typer.BadParameter("must not be blank")
    return value


@dataclass
class State:
    """Global options, resolved once per invocation (see ``followthrough --help``)."""

    as_of: str | None = None
    database: str | None = None
    domains: str | None = None
    quiet: bool = False
    out: Console = field(default_factory=lambda: Console(soft_wrap=False))
    err: Console = field(default_factory=lambda: Console(stderr=True, soft_wrap=True))
    _settings: Settings | None = None

    def settings(self, *, extractor: str | None = None, model: str | None = None) -> Settings:
        if self._settings is None or extractor or model:
            self._settings = Settings.resolve(
                database=self.database,
                as_of=self.as_of,
                domains=self.domains,
                extractor=extractor,
                model=model,
            )
        return self._settings

    def company_domains(self, store: Store) -> set[str]:
        """Our own email domains: ``--company-domains`` or the environment, else the CRM deal owners'."""
        return self.settings().company_domains or store.company_domains_from_crm()

    def open_store(self) -> Store:
        """The store at the resolved database URL, opened (and migrated), ranking requests against
        ``FOLLOWTHROUGH_RESPONSE_HOURS``: use it as ``with st.open_store() as store:``, which closes it.
        :class:`StoreError` if it cannot open, :class:`ConfigError` for a bad response target."""
        return Store(self.settings().database_url, response_hours=response_hours())


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    assert isinstance(obj, State)
    return obj
