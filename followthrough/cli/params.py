"""What a command's parameters look like to the person typing them: the id argument every command
shares, and usage errors worded as one plain sentence.

- :func:`id_argument` / :data:`IdArg`: every id a command takes (``commitments show ID``, ``edit``,
  ``split``, ...) is an integer from 1 to :data:`ID_MAX`, shown as ``ID``; any other value is a usage
  error (exit code 2), the same everywhere.
- :data:`LIST_LIMIT`: the rows ``commitments list`` prints by default (the report names it in its hints).
- :func:`plain_message`: typer checks values with pydantic, whose messages carry its own wording
  (``Value error, 'xml' is not one of 'jsonl', 'csv'.``, ``Input should be a valid integer, unable to
  parse string as an integer``). :class:`followthrough.cli.lazy.RootGroup` rewrites every usage error
  with it before it is shown: ``'xml' is not one of: jsonl, csv``, ``'abc' is not a whole number``,
  ``0 is out of range: give 1 to 2147483647``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

import typer

__all__ = ["ID_MAX", "IdArg", "id_argument", "not_one_of", "plain_message"]

ID_MAX = 2**31 - 1
"""The largest id a command accepts: the store's ids are 32-bit integers (SQLite and PostgreSQL)."""

_PYDANTIC_PREFIXES = ("Value error, ", "Assertion failed, ")


def id_argument(help_text: str) -> Any:
    """An id argument: an integer 1..:data:`ID_MAX`, shown as ``ID`` (see the module docstring)."""
    return typer.Argument(min=1, max=ID_MAX, metavar="ID", help=help_text, show_default=False)


IdArg = Annotated[int, id_argument("Commitment id (see `commitments list`).")]
"""A commitment's id (``commitments show ID``)."""


def not_one_of(value: object, choices: Iterable[object]) -> str:
    """The one wording of a value that is none of ``choices``: ``'xml' is not one of: jsonl, csv``."""
    shown = value if isinstance(value, str) and value.startswith("'") else repr(value)
    return f"{shown} is not one of: {', '.join(str(c) for c in choices)}"


def _choices(param: Any) -> tuple[object, ...] | None:
    descriptor = getattr(param, "type_descriptor", None)
    choices = getattr(descriptor, "choices", None) if descriptor is not None else None
    if not choices:
        return None
    return tuple(getattr(c, "value", c) for c in choices)


def _bounds(param: Any) -> tuple[object, object] | None:
    descriptor = getattr(param, "type_descriptor", None)
    info = getattr(descriptor, "parameter_info", None)
    low, high = getattr(info, "min", None), getattr(info, "max", None)
    if low is None and high is None:
        return None
    return low, high


def _range_text(low: object, high: object) -> str:
    if low is not None and high is not None:
        return f"give {low} to {high}"
    return f"give at least {low}" if low is not None else f"give at most {high}"


def plain_message(message: str, param: Any = None, cause: BaseException | None = None) -> str:
    """``message`` (a usage error's text) in plain words, without pydantic's wording.

    ``param``: the click parameter the value was for (its choices and range name the allowed values);
    ``cause``: the :class:`pydantic.ValidationError` typer raised the error from, if any (it holds the
    value typed). A message that is already plain comes back unchanged.
    """
    first: dict[str, Any] = {}
    errors = getattr(cause, "errors", None)
    if callable(errors):
        found = errors()
        first = dict(found[0]) if found else {}
    kind = str(first.get("type", ""))
    given = first.get("input")
    choices = _choices(param)
    if choices is not None and (kind == "value_error" or " is not one of " in message):
        shown = repr(given) if given is not None else message.split(" is not one of ")[0]
        for prefix in _PYDANTIC_PREFIXES:
            shown = shown.removeprefix(prefix)
        return not_one_of(shown, choices)
    if kind in ("int_parsing", "int_from_float"):
        return f"{given!r} is not a whole number"
    if kind in ("float_parsing", "finite_number"):
        return f"{given!r} is not a number"
    bounds = _bounds(param)
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than") and bounds:
        return f"{given} is out of range: {_range_text(*bounds)}"
    for prefix in _PYDANTIC_PREFIXES:
        message = message.removeprefix(prefix)
    return message.replace("Input should be ", "must be ")


LIST_LIMIT = 200
"""Rows ``commitments list`` prints unless told (``--limit``)."""
