"""What every CLI command shares: resolved settings, consoles, the store."""

from __future__ import annotations

from dataclasses import dataclass, field

import typer
from rich.console import Console

from followthrough.config import Settings
from store import Store


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

    def open_store(self) -> Store:
        """The store at the resolved database URL, opened (and migrated): use it as
        ``with st.open_store() as store:``, which closes it. :class:`StoreError` if it cannot open."""
        return Store(self.settings().database_url)


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    assert isinstance(obj, State)
    return obj
