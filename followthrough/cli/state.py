"""What every CLI command shares: resolved settings, consoles, the store."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:  # imported where used: ``followthrough --help`` loads neither rich's console nor the store
    from rich.console import Console

    from followthrough.config import Settings
    from store import Store


def _console(*, stderr: bool) -> Console:
    from rich.console import Console  # noqa: PLC0415 - see TYPE_CHECKING above

    # emoji=False: text from files and mail is printed as written (rich made "deals.csv:100:" "deals.csv💯")
    return (
        Console(stderr=True, soft_wrap=True, emoji=False) if stderr else Console(soft_wrap=False, emoji=False)
    )


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
    _out: Console | None = field(default=None, repr=False)
    _err: Console | None = field(default=None, repr=False)
    _settings: Settings | None = None

    @property
    def out(self) -> Console:
        """Standard output's console, made on first use (a ``--json`` run prints through neither)."""
        if self._out is None:
            self._out = _console(stderr=False)
        return self._out

    @property
    def err(self) -> Console:
        """Standard error's console (progress, problems, notes), made on first use."""
        if self._err is None:
            self._err = _console(stderr=True)
        return self._err

    def lift(self, name: str, value: object) -> None:
        """Take a global option given after the command (``commitments list --as-of 2026-03-16``):
        ``name`` is the root callback's parameter name, ``value`` as its option parsed it."""
        if name == "as_of" and isinstance(value, date):
            self.as_of = value.isoformat()
        elif name in ("database", "domains") and isinstance(value, str):
            setattr(self, name, value)
        elif name == "quiet" and value is True:
            self.quiet = True
        else:
            raise ValueError(f"no global option {name!r}")
        self._settings = None

    def settings(self, *, extractor: str | None = None, model: str | None = None) -> Settings:
        from followthrough.config import Settings  # noqa: PLC0415 - see TYPE_CHECKING above

        if self._settings is None or extractor or model:
            self._settings = Settings.resolve(
                database=self.database,
                as_of=self.as_of,
                domains=self.domains,
                extractor=extractor,
                model=model,
            )
        return self._settings

    def again(self) -> str:
        """The command line a follow-up command starts with: ``followthrough``, the database when one
        was given (its password hidden), and the day (``--as-of``), so that it reads what this did."""
        words = ["followthrough"]
        if self.database:
            from sqlalchemy.engine import make_url  # noqa: PLC0415 - see TYPE_CHECKING above

            try:
                shown = make_url(self.database).render_as_string(hide_password=True)
            except (ValueError, TypeError):  # not a URL the store would open: said as given
                shown = self.database
            words += ["--db", shlex.quote(shown)]
        words += ["--as-of", self.settings().as_of.isoformat()]
        return " ".join(words)

    def company_domains(self, store: Store) -> set[str]:
        """Our own email domains: ``--company-domains`` or the environment, else the CRM deal owners'."""
        return self.settings().company_domains or store.company_domains_from_crm()

    def open_store(self) -> Store:
        """The store at the resolved database URL, opened (and migrated), ranking requests against
        ``FOLLOWTHROUGH_RESPONSE_HOURS``: use it as ``with st.open_store() as store:``, which closes it.
        :class:`StoreError` if it cannot open, :class:`ConfigError` for a bad response target."""
        from followthrough.config import response_hours  # noqa: PLC0415 - see TYPE_CHECKING above
        from store import Store  # noqa: PLC0415

        url = self.settings().database_url
        _check_sqlite_folder(url)
        return Store(url, response_hours=response_hours())


def _check_sqlite_folder(url: str) -> None:
    """:class:`ConfigError` (one line, exit code 1) when ``url`` is a SQLite file in a folder that does
    not exist: a mistyped ``--database`` never creates folders (nor an empty database in them). The
    default database's folder (``FOLLOWTHROUGH_HOME``) is made by :func:`followthrough.config.database_url`;
    ``make demo`` makes ``.demo`` itself. An unreadable URL is left to :class:`store.Store` to report."""
    from sqlalchemy.engine import make_url  # noqa: PLC0415 - loaded with the store anyway
    from sqlalchemy.exc import ArgumentError  # noqa: PLC0415

    from followthrough.errors import ConfigError  # noqa: PLC0415

    try:
        parsed = make_url(url)
    except ArgumentError:
        return
    name = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or name in ("", ":memory:") or name.startswith("file:"):
        return
    folder = Path(name).expanduser().parent
    if not folder.is_dir():
        raise ConfigError(
            f"the database's folder {folder} does not exist: create it (mkdir -p {folder}) or fix "
            "--database / FOLLOWTHROUGH_DATABASE_URL"
        )


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    assert isinstance(obj, State)
    return obj
