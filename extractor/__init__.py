"""Extractors find commitments and requests in a :class:`SourceDocument`.

Each backend subclasses :class:`extractor.base.Extractor`. ``extractor`` never
imports ``store`` or ``connectors``.
"""

from extractor.base import Extractor
from extractor.offline import OfflineExtractor

__all__ = ["Extractor", "OfflineExtractor"]
