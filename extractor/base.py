"""The base class every extraction backend derives from."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from followthrough.types import ExtractedItem, SourceDocument


class Extractor(ABC):
    """Finds the commitments and requests in one document.

    ``extract(doc)`` is the one required method. It returns items whose
    evidence is aligned to ``doc.text`` (offsets set, alignment status set).
    ``name`` and ``version`` identify the backend in the cache key and in each
    stored extraction; ``model`` names the model (``"offline"`` for the
    embedded detector).
    """

    name: ClassVar[str]
    version: ClassVar[str] = "1"

    @property
    def model(self) -> str:
        return self.name

    @abstractmethod
    def extract(self, doc: SourceDocument) -> list[ExtractedItem]:
        """Return every commitment and request found in ``doc``."""
