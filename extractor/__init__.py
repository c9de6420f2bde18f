"""Extractors find commitments and requests in a :class:`SourceDocument`.

Each backend subclasses :class:`extractor.base.Extractor`. ``extractor`` never
imports ``store`` or ``connectors``.

Public surface (``__all__``, pinned by a test): the base class, what one
document's extraction produced (:class:`ExtractionResult`) or why it failed and
what it cost (:class:`ExtractionFailed`), and the offline detector. The
OpenAI-compatible backend (:mod:`extractor.openai_backend`) and its settings
(:mod:`extractor.llm_settings`, :mod:`extractor.llm_config`) are imported by
name where the backend is built, so the offline path never loads ``openai``.
"""

from extractor.base import ExtractionFailed, ExtractionResult, Extractor
from extractor.offline import OfflineExtractor

__all__ = ["ExtractionFailed", "ExtractionResult", "Extractor", "OfflineExtractor"]
