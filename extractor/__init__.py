"""Extractors find commitments and requests in a :class:`SourceDocument`.

Each backend subclasses :class:`extractor.base.Extractor`. ``extractor`` never
imports ``store`` or ``connectors``.

Public surface (``__all__``, pinned by a test): the base class, what one
document's extraction produced (:class:`ExtractionResult`) or why it failed and
what it cost (:class:`ExtractionFailed`), and the offline detector. The
OpenAI-compatible backend (:mod:`extractor.openai_backend`) and its settings
(:mod:`extractor.llm_settings`, :mod:`extractor.llm_config`) are imported by
name where the backend is built, so the offline path never loads ``openai``;
the offline detector loads on first use (:pep:`562`), so importing the package
compiles none of its patterns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from extractor.base import ExtractionFailed, ExtractionResult, Extractor

if TYPE_CHECKING:
    from extractor.offline import OfflineExtractor


def __getattr__(name: str) -> Any:
    if name == "OfflineExtractor":
        from extractor.offline.extractor import OfflineExtractor  # noqa: PLC0415 - loaded on first use

        return OfflineExtractor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["ExtractionFailed", "ExtractionResult", "Extractor", "OfflineExtractor"]
