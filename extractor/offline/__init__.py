"""The offline extraction backend: sentences, cues, a small trained detector, dates.

Its names load on first use (:pep:`562`): importing the package compiles no pattern, so that
:mod:`extractor.offline.identity` and :class:`DeferredOffline` cost nothing until a document is
extracted.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from extractor.offline.actions import make_action
    from extractor.offline.dates import DueDate, find_due
    from extractor.offline.deferred import DeferredOffline
    from extractor.offline.extractor import OfflineExtractor
    from extractor.offline.model import DetectorModel, default_model
    from extractor.offline.sentences import sentences, split_sentences

_HOMES = {
    "DeferredOffline": "deferred",
    "DetectorModel": "model",
    "DueDate": "dates",
    "OfflineExtractor": "extractor",
    "default_model": "model",
    "find_due": "dates",
    "make_action": "actions",
    "sentences": "sentences",
    "split_sentences": "sentences",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{home}"), name)


__all__ = [
    "DeferredOffline",
    "DetectorModel",
    "DueDate",
    "OfflineExtractor",
    "default_model",
    "find_due",
    "make_action",
    "sentences",
    "split_sentences",
]
