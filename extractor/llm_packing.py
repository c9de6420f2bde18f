"""Several short documents per request: which go together, whose items are whose, who pays for what.

The fixed part of a request (system prompt, schema, few-shot turns) costs the
same whether it carries one 90-token email or eight, so short documents share
requests (:class:`~extractor.llm_settings.Packing` bounds them):

* :class:`Packer` groups documents as they stream in: the messages of one
  thread stay together and in order, a thread is held (up to ``lookahead``
  documents in all) while its next message may still come, and short threads
  and documents without a thread fill one request together;
* :func:`assign` gives each item of the reply to the document it names (its
  ``message`` id); in a one-document request every item is that document's;
* :func:`apportion` splits a request's tokens and calls between its documents
  (largest remainder: the shares are whole numbers and add up to the total),
  so each document's :class:`~extractor.base.ExtractionResult` carries its part.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from extractor.base import ExtractionFailed, ExtractionResult
from extractor.chunking import Chunk
from extractor.llm_messages import Part
from extractor.llm_settings import Packing
from extractor.wire import WireItem
from followthrough.types import SourceDocument

__all__ = ["Entry", "Packer", "apportion", "assign", "share"]


@dataclass(frozen=True)
class Entry:
    """A document sent whole (one chunk) in a shared request: ``chunk`` is all of ``doc.text``."""

    doc: SourceDocument
    chunk: Chunk


@dataclass
class _Group:
    """Entries waiting to be sent together (one thread's, or one request's)."""

    entries: list[Entry] = field(default_factory=list)
    tokens: int = 0

    def add(self, entries: Sequence[Entry]) -> None:
        self.entries.extend(entries)
        self.tokens += sum(e.chunk.tokens for e in entries)


class Packer:
    """Turns a stream of short documents into requests: :meth:`add` each, then :meth:`flush` at the end.

    Each call returns the requests that are complete (lists of :class:`Entry`, in the order to send them).
    At most ``packing.lookahead`` documents wait in threads, plus one request being filled.
    """

    def __init__(self, packing: Packing) -> None:
        self.packing = packing
        self._threads: dict[str, _Group] = {}
        self._held = 0
        self._open = _Group()

    def add(self, entry: Entry) -> list[list[Entry]]:
        """Take ``entry``; the requests it completes."""
        ready: list[list[Entry]] = []
        key = entry.doc.thread_id
        if not key:  # no later message to wait for
            self._release([entry], ready)
            return ready
        group = self._threads.get(key)
        if group is not None and not self._fits(group, [entry]):
            self._release(self._drop(key), ready)
            group = None
        if group is None:
            group = self._threads[key] = _Group()
        group.add([entry])
        self._held += 1
        if len(group.entries) >= self.packing.max_documents:
            self._release(self._drop(key), ready)
        while self._held > self.packing.lookahead:
            self._release(self._drop(next(iter(self._threads))), ready)  # the thread waiting longest
        return ready

    def flush(self) -> list[list[Entry]]:
        """Every request still waiting."""
        ready: list[list[Entry]] = []
        for key in list(self._threads):
            self._release(self._drop(key), ready)
        if self._open.entries:
            ready.append(self._open.entries)
            self._open = _Group()
        return ready

    def _fits(self, group: _Group, entries: Sequence[Entry]) -> bool:
        tokens = group.tokens + sum(e.chunk.tokens for e in entries)
        return (
            len(group.entries) + len(entries) <= self.packing.max_documents
            and tokens <= self.packing.max_tokens
        )

    def _drop(self, key: str) -> list[Entry]:
        group = self._threads.pop(key)
        self._held -= len(group.entries)
        return group.entries

    def _release(self, entries: list[Entry], ready: list[list[Entry]]) -> None:
        """Put a whole thread (or one document) in the request being filled, sending what is complete."""
        if self._open.entries and not self._fits(self._open, entries):
            # The fuller of the two is sent; the other waits for more.
            if len(entries) > len(self._open.entries):
                ready.append(entries)
                return
            ready.append(self._open.entries)
            self._open = _Group()
        self._open.add(entries)
        if len(self._open.entries) >= self.packing.max_documents:
            ready.append(self._open.entries)
            self._open = _Group()


def assign(items: Sequence[WireItem], parts: Sequence[Part]) -> tuple[list[list[WireItem]], list[WireItem]]:
    """Each part's items (in reply order), and the items that name no part of the request.

    In a request of one part every item is that part's, whatever id it gives. Otherwise an item belongs
    to the part whose id it names, and one naming none (or an id the request lacks) is no part's: its
    quote is never looked for in another document.
    """
    if len(parts) == 1:
        return [list(items)], []
    index = {part.id: i for i, part in enumerate(parts)}
    mine: list[list[WireItem]] = [[] for _ in parts]
    unnamed: list[WireItem] = []
    for item in items:
        i = index.get(item.message)
        if i is None:
            unnamed.append(item)
        else:
            mine[i].append(item)
    return mine, unnamed


def apportion(total: int, weights: Sequence[int]) -> list[int]:
    """``total`` split in proportion to ``weights`` (all zero: equally), whole numbers that add up to it.

    Largest remainder: each share is rounded down, and the units left go to the largest remainders
    (ties: the earlier weight). ``apportion(10, [1, 1, 1]) == [4, 3, 3]``.
    """
    if not weights:
        return []
    w = [max(0, x) for x in weights]
    whole = sum(w)
    if whole == 0:
        w, whole = [1] * len(w), len(w)
    shares = [total * x // whole for x in w]
    left = total - sum(shares)
    by_remainder = sorted(range(len(w)), key=lambda i: (-(total * w[i] % whole), i))
    for i in by_remainder[:left]:
        shares[i] += 1
    return shares


def share(
    spent: ExtractionResult,
    outcomes: Sequence[ExtractionResult | ExtractionFailed],
    *,
    prompt_weights: Sequence[int],
    completion_weights: Sequence[int],
) -> None:
    """Add a request's cost in ``spent`` to its documents' outcomes (to a failure's ``spent``).

    Prompt tokens and calls in proportion to ``prompt_weights`` (the documents' sizes), completion tokens
    to ``completion_weights`` (their items); the shares add up to ``spent``'s totals.
    """
    calls = apportion(spent.llm_calls, prompt_weights)
    prompt = apportion(spent.prompt_tokens, prompt_weights)
    completion = apportion(spent.completion_tokens, completion_weights)
    for outcome, c, p, r in zip(outcomes, calls, prompt, completion, strict=True):
        result = outcome.spent if isinstance(outcome, ExtractionFailed) else outcome
        result.llm_calls += c
        result.prompt_tokens += p
        result.completion_tokens += r
