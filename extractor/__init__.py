"""Extractors find commitments and requests in a :class:`SourceDocument`.

Each backend subclasses :class:`extractor.base.Extractor`. ``extractor`` never
imports ``store`` or ``connectors``.
"""

from extractor.base import Extractor

__all__ = ["Extractor"]
