"""Extractors find commitments and requests in a :class:`SourceDocument`.

Each backend subclasses :class:`extractor.base.Extractor`. ``extractor`` never
imports ``store`` or ``connectors``.
"""

from extractor.base import ExtractionResult, Extractor

__all__ = ["ExtractionResult", "Extractor"]
