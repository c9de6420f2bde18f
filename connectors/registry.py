"""The registry of readers: name → reader class, in detection order.

The built-in readers are registered here by ``"module:Class"`` name and imported
on first use (as langextract's ``providers/router.py`` ``register_lazy``), so this
module imports no reader module and no reader module imports it. A plugin adds
its class with the ``@register(name)`` decorator; it is asked after the built-ins.

Detection order: the CRM CSV reader first (a CSV with deal or contact columns is
a CRM export), then e-mail (``.eml``, mbox), meetings (notes, WebVTT) and Slack.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from connectors.base import Reader

_ENTRIES: dict[str, str | type[Reader]] = {}
"""Name → ``"module:Class"`` (not imported yet) or the class, in registration order."""

R = TypeVar("R", bound=type[Reader])


def register_lazy(name: str, target: str) -> None:
    """Make the reader ``target`` (``"package.module:Class"``) known under ``name``, unimported.

    Raises ValueError when ``target`` is not ``"module:Class"`` or ``name`` names another reader.
    """
    module, _, attr = target.partition(":")
    if not module or not attr:
        raise ValueError(f"reader target {target!r} is not 'module:Class'")
    _add(name, target)


def register(name: str) -> Callable[[R], R]:
    """Class decorator: make a reader known under ``name``.

    Raises ValueError when ``name`` names another reader.
    """

    def deco(cls: R) -> R:
        _add(name, cls)
        return cls

    return deco


def registered() -> dict[str, type[Reader]]:
    """Name → reader class, in detection order (imports the built-ins not imported yet)."""
    return {name: _resolve(name) for name in list(_ENTRIES)}


def reader_for(path: Path) -> type[Reader] | None:
    """The first registered reader that reads ``path``, or ``None``.

    Imports a built-in reader only when the ones before it have said no.
    """
    for name in list(_ENTRIES):
        cls = _resolve(name)
        if cls.detect(path):
            return cls
    return None


def _target(entry: str | type[Reader]) -> str:
    return entry if isinstance(entry, str) else f"{entry.__module__}:{entry.__qualname__}"


def _add(name: str, entry: str | type[Reader]) -> None:
    old = _ENTRIES.get(name)
    if old is not None and _target(old) != _target(entry):
        raise ValueError(f"reader {name!r} is already registered ({_target(old)})")
    if old is None or not isinstance(entry, str):
        _ENTRIES[name] = entry


def _resolve(name: str) -> type[Reader]:
    """The class registered under ``name``, imported on first use; TypeError if it is not a Reader."""
    entry = _ENTRIES[name]
    if isinstance(entry, str):
        module, _, attr = entry.partition(":")
        cls = getattr(importlib.import_module(module), attr)
        if not (isinstance(cls, type) and issubclass(cls, Reader)):
            raise TypeError(f"{entry} is not a connectors.base.Reader subclass")
        _ENTRIES[name] = entry = cls
    return entry


# The built-ins, in detection order.
register_lazy("crm-csv", "connectors.crm:CrmCsvReader")
register_lazy("eml", "connectors.email:EmlConnector")
register_lazy("mbox", "connectors.email:MboxConnector")
register_lazy("meeting-notes", "connectors.meetings:MeetingNotesConnector")
register_lazy("vtt", "connectors.meetings:VttTranscriptConnector")
register_lazy("slack", "connectors.slack:SlackConnector")
