"""Which stored commitment each newly extracted item of a document restates (used by :mod:`store.recording`).

A document is extracted again when its content changed (the same ``(source, external_id)``
read with other text: meeting notes edited, a message re-exported) or under the same
cache key after a failure. What earlier extractions stored for it:

- **owned**: commitments first found in it under the same cache key, and those first
  found in it under any key whose evidence no longer matches its text (*stale*: the
  text at the evidence offsets is not the quote any more);
- **merged**: commitments of other documents that hold evidence from it.

Evidence a merge moved to a survivor (``merged_from``) is attributed to the merged
commitment it came from, not to the survivor that holds it.

Each new item is matched to at most one earlier commitment, in passes; each pass sees
only the items and commitments not matched yet:

1. owned, the same quote (normalized words);
2. owned, the same span key (type and offsets), when its evidence is not stale;
3. merged, the same quote;
4. the same promise restated (owned first, then merged), best pair first: a grounded
   item and a grounded (or retired: flag ``stale``) commitment, the same type and the
   same owner (a field a person corrected is not compared),
   and either an old quote that, found again in the new text, overlaps the item's
   evidence, or quotes or actions whose word sequences are at least :data:`SIMILAR`
   alike (:func:`similarity`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from followthrough.types import ExtractedItem, ItemFlag
from store.models import CommitmentRow, DocumentRow, EvidenceRow

SIMILAR = 0.6
"""The least :func:`similarity` of quotes or actions for pass 4 to take an item for an earlier promise."""


def norm(text: str | None) -> str:
    """Lowercase words only: for comparing actions, owners and quotes."""
    return " ".join(re.findall(r"\w+", (text or "").lower()))


def similarity(a: str | None, b: str | None) -> float:
    """How alike two texts are, 0..1: difflib's ratio over their word sequences (2·matches / total)."""
    x, y = norm(a).split(), norm(b).split()
    if not x or not y:
        return 0.0
    return SequenceMatcher(None, x, y, autojunk=False).ratio()


def is_stale(e: EvidenceRow, text: str) -> bool:
    """Whether grounded evidence no longer sits at its offsets in ``text`` (ungrounded evidence never is)."""
    if e.char_start is None or e.char_end is None:
        return False
    return text[e.char_start : e.char_end] != e.quote


def find_again(quote: str, text: str, near: int | None) -> int | None:
    """Where ``quote`` occurs in ``text`` nearest to ``near`` (a character offset), or ``None``."""
    if not quote:
        return None
    starts: list[int] = []
    at = text.find(quote)
    while at >= 0:
        starts.append(at)
        at = text.find(quote, at + 1)
    if not starts:
        return None
    return min(starts, key=lambda s: (abs(s - (near or 0)), s))


def realign(e: EvidenceRow, text: str) -> bool:
    """Move grounded evidence to where its quote now occurs in ``text``; ``False`` if it occurs nowhere."""
    if not is_stale(e, text):
        return True
    start = find_again(e.quote, text, e.char_start)
    if start is None:
        return False
    e.char_start, e.char_end = start, start + len(e.quote)
    return True


@dataclass(frozen=True)
class Match:
    """An earlier commitment an item restates; ``owned``: first found in this document (updated in place)."""

    commitment: CommitmentRow
    owned: bool


class Previous:
    """What earlier extractions stored for one document, to match with its new items (module docstring)."""

    def __init__(self, s: Session, doc: DocumentRow, cache_key: str) -> None:
        self.doc = doc
        rows = s.scalars(select(EvidenceRow).where(EvidenceRow.document_id == doc.id)).all()
        self.said: dict[int, list[EvidenceRow]] = {}
        for e in rows:
            self.said.setdefault(e.merged_from or e.commitment_id, []).append(e)
        opts = (selectinload(CommitmentRow.evidence), selectinload(CommitmentRow.link))
        mine = s.scalars(
            select(CommitmentRow).where(CommitmentRow.document_id == doc.id).options(*opts)
        ).all()
        self.owned = {c.id: c for c in mine if c.cache_key == cache_key or self.stale(c)}
        holders = {e.commitment_id for e in rows if e.merged_from is None} - {c.id for c in mine}
        others = (
            s.scalars(select(CommitmentRow).where(CommitmentRow.id.in_(holders)).options(*opts)).all()
            if holders
            else []
        )
        self.merged = {c.id: c for c in others}

    def evidence(self, c: CommitmentRow) -> list[EvidenceRow]:
        """This document's evidence attributed to ``c``."""
        return self.said.get(c.id, [])

    def stale(self, c: CommitmentRow) -> bool:
        """Whether some of this document's evidence for ``c`` no longer matches its text."""
        return any(is_stale(e, self.doc.text) for e in self.evidence(c))

    def _quotes(self, c: CommitmentRow) -> set[str]:
        return {norm(e.quote) for e in self.evidence(c)}

    def match(
        self,
        items: Sequence[ExtractedItem],
        span_keys: Sequence[str],
        corrected: Callable[[CommitmentRow], frozenset[str]],
    ) -> list[Match | None]:
        """For each item, the earlier commitment it restates (or ``None``); those matched leave the pools.

        ``corrected(c)``: the fields a person corrected on ``c`` (they are not compared).
        """
        found: list[Match | None] = [None] * len(items)
        fixed: dict[int, frozenset[str]] = {}

        def corrected_once(c: CommitmentRow) -> frozenset[str]:
            if c.id not in fixed:
                fixed[c.id] = corrected(c)
            return fixed[c.id]

        def exact(
            pool: dict[int, CommitmentRow], owned: bool, key: Callable[[int, CommitmentRow], bool]
        ) -> None:
            for i, item in enumerate(items):
                if found[i] is not None:
                    continue
                hits = [c for c in pool.values() if key(i, c)]
                if hits:
                    hits.sort(key=lambda c: _preference(c, item))
                    found[i] = Match(pool.pop(hits[0].id), owned)

        exact(self.owned, True, lambda i, c: norm(items[i].evidence.quote) in self._quotes(c))
        exact(self.owned, True, lambda i, c: c.span_key == span_keys[i] and not self.stale(c))
        exact(self.merged, False, lambda i, c: norm(items[i].evidence.quote) in self._quotes(c))
        for pool, owned in ((self.owned, True), (self.merged, False)):
            pairs = [
                (score, i, c.id)
                for i, item in enumerate(items)
                if found[i] is None and item.grounded
                for c in pool.values()
                if (score := self._restates(c, item, corrected_once)) >= SIMILAR
            ]
            for _, i, cid in sorted(pairs, key=lambda p: (-p[0], p[1], p[2])):
                if found[i] is None and cid in pool:
                    found[i] = Match(pool.pop(cid), owned)
        return found

    def _restates(
        self, c: CommitmentRow, item: ExtractedItem, corrected: Callable[[CommitmentRow], frozenset[str]]
    ) -> float:
        """How surely ``item`` is ``c`` restated (pass 4), 0..1; 0 when type or owner differ."""
        flags = c.flags or []
        if ItemFlag.UNGROUNDED in flags and ItemFlag.STALE not in flags:
            return 0.0  # an ungrounded extraction is never taken for a grounded one; a retired item may be
        fixed = corrected(c)
        if "type" not in fixed and c.type != item.type:
            return 0.0
        if "owner" not in fixed and not _same_owner(c, item):
            return 0.0
        ev = item.evidence
        quotes = [e.quote for e in self.evidence(c)]
        for e in self.evidence(c):
            start = find_again(e.quote, self.doc.text, e.char_start)
            if start is not None and ev.char_start is not None and ev.char_end is not None:
                if start < ev.char_end and ev.char_start < start + len(e.quote):
                    return 1.0
        score = max((similarity(q, ev.quote) for q in quotes), default=0.0)
        if "action" not in fixed:
            score = max(score, similarity(c.action, item.action))
        return score

    def claim(self, cid: int) -> None:
        """``cid`` took a new item another way (a duplicate): it is not left over."""
        self.owned.pop(cid, None)
        self.merged.pop(cid, None)


def _preference(c: CommitmentRow, item: ExtractedItem) -> tuple[bool, bool, bool, int]:
    """Among several earlier commitments with the item's quote: the same grounding, type and action first."""
    return (
        (ItemFlag.UNGROUNDED not in (c.flags or [])) != item.grounded,
        c.type != item.type,
        norm(c.action) != norm(item.action),
        c.id,
    )


def _same_owner(c: CommitmentRow, item: ExtractedItem) -> bool:
    """Same owner: the same email when both have one, else the same name words."""
    if c.owner_email and item.owner_email:
        return c.owner_email.lower() == item.owner_email.lower()
    return norm(c.owner) == norm(item.owner)
