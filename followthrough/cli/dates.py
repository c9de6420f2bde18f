"""Dates as people type them, for every date option of the command line.

Every date option (``--as-of``, ``--due-before``, ``snooze --until``, ``edit --due``, and any
new one) reads its value with :func:`day` (or :func:`as_of_day` for ``--as-of`` itself), so they
all accept the same forms:

=====================================  ==============================================================
form                                   read as
=====================================  ==============================================================
``2026-03-20``                         ISO 8601 (always)
``03/20/2026``, ``03.20.2026``         month/day/year; day/month/year with
                                       ``FOLLOWTHROUGH_DATE_ORDER=DMY`` (default ``MDY``)
``tomorrow``, ``next friday``,         resolved against ``--as-of`` (today when not given) by the very
``in 2 weeks``, ``end of month``,      rules the extractor resolves a deadline in a message with
``March 20``                           (:func:`extractor.offline.dates.find_due`)
=====================================  ==============================================================

``--as-of`` itself resolves a phrase against today's date (UTC). A value that is none of these is a
usage error (exit code 2) that shows an example. The HTTP API is stricter on purpose: its date query
parameters and fields take ISO ``YYYY-MM-DD`` only.

The extractor's rules are imported only when a phrase has to be resolved, so ``--help`` stays fast.
"""

from __future__ import annotations

import os
import re
from contextvars import ContextVar
from datetime import UTC, date, datetime
from typing import Literal

import typer

from followthrough.errors import ConfigError

__all__ = [
    "DATE_HELP",
    "DATE_ORDER_ENV",
    "METAVAR",
    "as_of_day",
    "date_order",
    "day",
    "example",
    "parse_day",
    "set_reference",
]

DATE_ORDER_ENV = "FOLLOWTHROUGH_DATE_ORDER"
"""How a numeric date with slashes or dots is read: ``MDY`` (03/20/2026, the default) or ``DMY``."""

METAVAR = "DATE"
DATE_HELP = (
    "2026-03-20, 03/20/2026 (see FOLLOWTHROUGH_DATE_ORDER) or a phrase: tomorrow, next friday, in 2 weeks."
)
"""The forms, for an option's help text."""

_PHRASES = ('"tomorrow"', '"next friday"', '"in 2 weeks"')


def example(also: str | None = None) -> str:
    """The forms a date error shows: ``e.g. 2026-03-20, 03/20/2026, "tomorrow", ...``, the numeric one
    in the order ``FOLLOWTHROUGH_DATE_ORDER`` sets (20/03/2026 with ``DMY``); ``also``: one more value
    the option takes (``none``), named last."""
    numeric = "03/20/2026" if date_order() == "MDY" else "20/03/2026"
    forms = ["2026-03-20", numeric, *_PHRASES, *([also] if also else [])]
    return "e.g. " + ", ".join(forms[:-1]) + " or " + forms[-1]


_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")
_NUMERIC = re.compile(r"(\d{1,2})([/.])(\d{1,2})\2(\d{4})")

_reference: ContextVar[date | None] = ContextVar("followthrough_cli_reference_day", default=None)
"""The day phrases resolve against in this invocation: ``--as-of`` once read (``None``: today)."""


def set_reference(value: date | None) -> None:
    """Resolve later phrases ("next friday") against ``value`` (``--as-of``); ``None``: today."""
    _reference.set(value)


def today() -> date:
    """Today's date (UTC), as ``--as-of`` defaults to (:func:`followthrough.config.parse_as_of`)."""
    return datetime.now(UTC).date()


def date_order() -> Literal["MDY", "DMY"]:
    """``FOLLOWTHROUGH_DATE_ORDER``: ``MDY`` (the default) or ``DMY``; :class:`ConfigError` otherwise."""
    raw = os.environ.get(DATE_ORDER_ENV, "").strip().upper()
    if raw in ("", "MDY"):
        return "MDY"
    if raw == "DMY":
        return "DMY"
    raise ConfigError(f"{DATE_ORDER_ENV}={raw!r} is not MDY or DMY")


def parse_day(text: str, reference: date, *, also: str | None = None) -> date:
    """The date ``text`` means, a phrase resolved against ``reference``.

    :class:`typer.BadParameter` (a usage error, exit code 2) with an example (:func:`example`, naming
    ``also`` too) when ``text`` is no date, a date the calendar lacks (``2026-02-30``), or a phrase
    with no day ("asap") or with more after it.
    """
    value = text.strip()
    problem = f"{text!r} is not a date: use {example(also)}"
    try:
        if _ISO.fullmatch(value):
            return date.fromisoformat(value)
        numeric = _NUMERIC.fullmatch(value)
        if numeric:
            first, _, second, year = numeric.groups()
            month, dom = (first, second) if date_order() == "MDY" else (second, first)
            return date(int(year), int(month), int(dom))
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a day of the calendar: use {example(also)}") from None
    from extractor.offline.dates import find_due  # noqa: PLC0415 - only a phrase needs the extractor's rules

    found = find_due(value, reference, dayfirst=date_order() == "DMY") if value else None
    if found is None or found.due is None or found.start != 0 or found.end != len(value):
        raise typer.BadParameter(problem)
    return found.due


def day(text: str, *, also: str | None = None) -> date:
    """A typer ``parser`` for a date option: :func:`parse_day` against ``--as-of`` (or today)."""
    return parse_day(text, _reference.get() or today(), also=also)


def as_of_day(text: str) -> date:
    """The ``--as-of`` parser: :func:`parse_day` against today; later phrases resolve against it."""
    value = parse_day(text, today())
    set_reference(value)
    return value
