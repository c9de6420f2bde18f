"""The base class every extraction backend derives from."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from followthrough.errors import ExtractionError
from followthrough.types import ExtractedItem, SourceDocument


@dataclass
class ExtractionResult:
    """What one document's extraction produced and what it cost."""

    items: list[ExtractedItem] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    llm_calls: int = 0
    prefiltered: bool = False
    """True when the pre-filter decided the document needs no model call."""
    tokens_saved: int = 0
    """Prompt tokens the pre-filter kept away from the model."""
    ungrounded: int = 0
    """Items the model returned whose evidence could not be found in the source."""
    unconfirmed: int = 0
    """Model items the offline detector does not read as the stated act (flag ``unconfirmed``: a person
    confirms them)."""
    instruction_like: int = 0
    """Model items whose evidence reads as an instruction to the model (flag ``instruction``: prompt
    injection is never an open item)."""


class ExtractionFailed(ExtractionError):
    """One document could not be extracted; :attr:`spent` is what the attempt cost before it failed.

    Raised (or returned by :meth:`Extractor.run_safely`) for one document, after the
    backend's own retries, as instructor's ``InstructorRetryException`` carries the
    usage of the failed attempts: the caller records the document failed *and* the
    tokens, calls and counters spent on it, without knowing which backend ran.
    ``spent.items`` is always empty.
    """

    def __init__(self, message: str, spent: ExtractionResult | None = None) -> None:
        super().__init__(message)
        self.spent = spent if spent is not None else ExtractionResult()
        self.spent.items = []

    @classmethod
    def wrap(cls, error: ExtractionError) -> ExtractionFailed:
        """``error`` as an :class:`ExtractionFailed` (itself when it already is one; else nothing spent)."""
        if isinstance(error, ExtractionFailed):
            return error
        failed = cls(str(error))
        failed.budget_s = error.budget_s
        failed.__cause__ = error
        return failed


class Extractor(ABC):
    """Finds the commitments and requests in one document.

    ``extract(doc)`` is the one required method. It returns items whose
    evidence is aligned to ``doc.text`` (offsets and alignment status set).
    ``name``, ``model`` and ``prompt_version`` identify the backend in the
    cache key and in each stored extraction.

    ``run``/``run_many`` add accounting and batching; backends that call a
    remote model override them (concurrency, rate limits, token counts).
    """

    name: ClassVar[str]
    version: ClassVar[str] = "1"
    budget_s: float | None = None
    """The time budget of one document, in seconds, for a backend that has one (the offline extractor):
    a document whose failure spent a budget at least this large is not tried again unless asked
    (:attr:`~followthrough.errors.ExtractionError.budget_s`). ``None``: every failure is tried again."""

    @property
    def model(self) -> str:
        return self.name

    @property
    def prompt_version(self) -> str:
        """Identifies the prompt (or rule set / detector model) in use."""
        return self.version

    @property
    def cache_key(self) -> str:
        """Results are cached by (content hash, this key)."""
        return f"{self.name}:{self.model}:{self.prompt_version}"

    def estimate_cost(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        """Estimated USD for these tokens; ``None`` when unknown (and for backends that call no model)."""
        return None

    @abstractmethod
    def extract(self, doc: SourceDocument) -> list[ExtractedItem]:
        """Return every commitment and request found in ``doc``."""

    def run(self, doc: SourceDocument) -> ExtractionResult:
        """Extract one document and report what it cost."""
        return ExtractionResult(items=self.extract(doc))

    def run_many(
        self, docs: Iterable[SourceDocument]
    ) -> Iterator[tuple[SourceDocument, ExtractionResult | ExtractionFailed]]:
        """Extract many documents, yielding each as it completes.

        A document that fails yields its :class:`ExtractionFailed` instead of a
        result, so one failure never stops the batch: an unexpected exception
        in a backend (a bug, or a value no code path foresaw) is turned into
        one too, naming its type, so the document is recorded failed with the
        reason and the next one is extracted.
        """
        for doc in docs:
            yield doc, self.run_safely(doc)

    def run_safely(self, doc: SourceDocument) -> ExtractionResult | ExtractionFailed:
        """:meth:`run`, with any failure returned as an :class:`ExtractionFailed` (never raised)."""
        try:
            return self.run(doc)
        except ExtractionError as e:
            return ExtractionFailed.wrap(e)
        except (ArithmeticError, LookupError, ValueError, TypeError, AttributeError, RecursionError) as e:
            return ExtractionFailed.wrap(unexpected(e))

    def close(self) -> None:  # noqa: B027 - optional hook, not abstract: most backends hold nothing
        """Release clients and pools (nothing to release by default)."""


def unexpected(e: BaseException) -> ExtractionError:
    """An :class:`ExtractionError` for an exception no backend foresaw: its type and message, one line."""
    message = (str(e).strip().splitlines() or [""])[0][:300]
    error = ExtractionError(f"internal error while extracting ({type(e).__name__}: {message})")
    error.__cause__ = e
    return error
