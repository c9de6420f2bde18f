"""The offline backend, loaded on its first document.

Loading :class:`~extractor.offline.extractor.OfflineExtractor` compiles some four hundred patterns
and reads the detector model: tens of milliseconds, which a run with nothing new to extract (the
usual re-run) would spend for nothing. :class:`DeferredOffline` knows its cache key from the files
alone (:mod:`extractor.offline.identity`) and loads the backend when a document is to be extracted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

from extractor.base import Extractor
from extractor.offline import identity
from extractor.offline.budget import offline_budget_s
from followthrough.types import ExtractedItem, SourceDocument

if TYPE_CHECKING:
    from extractor.offline.extractor import OfflineExtractor


class DeferredOffline(Extractor):
    """:class:`OfflineExtractor` with the shipped model, built on the first :meth:`extract`.

    Same ``name``, ``model``, ``prompt_version`` and so ``cache_key`` as the backend it stands for,
    same output. A bad ``FOLLOWTHROUGH_OFFLINE_BUDGET_S`` is a :class:`ConfigError` here, at once.
    """

    name: ClassVar[str] = "offline"

    def __init__(
        self, *, company_domains: set[str] | None = None, directory: Mapping[str, str] | None = None
    ):
        self._domains = company_domains
        self._directory = directory
        self.budget_s = offline_budget_s(None)
        self._loaded: OfflineExtractor | None = None

    @property
    def prompt_version(self) -> str:
        """The shipped rules and model (:func:`extractor.offline.identity.prompt_version`)."""
        return identity.prompt_version(identity.text_digest(identity.model_text()))

    def loaded(self) -> OfflineExtractor:
        """The backend itself (loaded on the first call)."""
        if self._loaded is None:
            from extractor.offline.extractor import OfflineExtractor  # noqa: PLC0415 - the point of this class

            self._loaded = OfflineExtractor(
                company_domains=self._domains, directory=self._directory, budget_s=self.budget_s
            )
        return self._loaded

    def extract(self, doc: SourceDocument) -> list[ExtractedItem]:
        return self.loaded().extract(doc)
