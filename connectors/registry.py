"""An explicit registry of connectors, filled by the ``@register`` decorator."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from connectors.base import Connector

_REGISTRY: dict[str, type[Connector]] = {}

C = TypeVar("C", bound=type[Connector])


def register(name: str) -> Callable[[C], C]:
    """Class decorator: make a connector known under ``name``."""

    def deco(cls: C) -> C:
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"connector {name!r} is already registered")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return deco


def registered() -> dict[str, type[Connector]]:
    """Name → connector class, in registration order."""
    _load_builtin()
    return dict(_REGISTRY)


def connector_for(path: Path) -> type[Connector] | None:
    """The first registered connector that reads ``path``, or ``None``."""
    for cls in registered().values():
        if cls.detect(path):
            return cls
    return None


def _load_builtin() -> None:
    # Importing the modules runs their @register decorators.
    import connectors.email  # noqa: F401
    import connectors.meetings  # noqa: F401
    import connectors.slack  # noqa: F401
