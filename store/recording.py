"""Turning one document's extracted items into commitment rows, without duplicates.

Rules (see :meth:`store.Store.record_extraction`):

- An item whose evidence is not grounded is never an open commitment: it is
  kept with status ``dismissed`` and flag ``ungrounded`` so it can be
  inspected and counted, and it is never merged with a grounded one.
- The same item is never stored twice. Two keys find it: the *span key*
  (document, type, evidence offsets) and the *dedup key* (a hash of the
  normalized action, owner and due date within the same thread). A duplicate
  adds its evidence to the existing commitment instead.
- Re-recording a document under the same cache key replaces the items of
  earlier runs: each new item is matched to an earlier one by its evidence text
  (then by span), which is updated in place so that a status the user set
  (done, snoozed, dismissed) and the deal link survive. Earlier items that no
  longer appear are deleted, unless a person touched them: those are kept and
  flagged ``stale``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session, selectinload

from followthrough.types import ExtractedItem
from store.models import (
    CommitmentHistoryRow,
    CommitmentRow,
    DocumentRow,
    EvidenceRow,
    utcnow,
)

SYSTEM_ACTORS = frozenset({"extractor", "linker", "system"})
UNGROUNDED = "ungrounded"
STALE = "stale"


def norm(text: str | None) -> str:
    """Lowercase words only: for comparing actions, owners and quotes."""
    return " ".join(re.findall(r"\w+", (text or "").lower()))


def thread_scope(doc: DocumentRow) -> str:
    return f"{doc.source}:{doc.thread_id}" if doc.thread_id else f"doc:{doc.id}"


def span_key(doc_id: int, item: ExtractedItem) -> str:
    ev = item.evidence
    if not item.grounded:
        quote = hashlib.sha256(norm(ev.quote).encode()).hexdigest()[:16]
        return f"{doc_id}:{item.type}:u:{quote}"
    return f"{doc_id}:{item.type}:{ev.char_start}:{ev.char_end}"


def dedup_key(scope: str, item: ExtractedItem) -> str:
    owner = (item.owner_email or "").lower() or norm(item.owner)
    due = item.due.isoformat() if item.due else ""
    prefix = "u|" if not item.grounded else ""
    raw = f"{prefix}{scope}|{norm(item.action)}|{owner}|{due}"
    if not item.grounded:
        raw += "|" + norm(item.evidence.quote)
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass
class RecordResult:
    ids: list[int] = field(default_factory=list)
    ungrounded: int = 0
    inserted: int = 0
    updated: int = 0
    merged: int = 0
    deleted: int = 0


def _user_touched(s: Session, c: CommitmentRow) -> bool:
    if c.link is not None and c.link.method == "manual":
        return True
    actors = s.scalars(
        select(CommitmentHistoryRow.actor).where(CommitmentHistoryRow.commitment_id == c.id)
    ).all()
    return any(a not in SYSTEM_ACTORS for a in actors)


def _history(
    s: Session,
    cid: int,
    fld: str,
    old: object,
    new: object,
    actor: str = "extractor",
    note: str | None = None,
) -> None:
    s.add(
        CommitmentHistoryRow(
            commitment_id=cid,
            at=utcnow(),
            field=fld,
            old=None if old is None else str(old),
            new=None if new is None else str(new),
            actor=actor,
            note=note,
        )
    )


def _apply(c: CommitmentRow, item: ExtractedItem, *, sk: str, dk: str, run_id: int) -> None:
    c.type = item.type
    c.owner = item.owner
    c.owner_email = item.owner_email.lower() if item.owner_email else None
    c.counterparty = item.counterparty
    c.counterparty_email = item.counterparty_email.lower() if item.counterparty_email else None
    c.action = item.action
    c.due = item.due
    c.due_text = item.due_text
    c.confidence = item.confidence
    c.span_key = sk
    c.dedup_key = dk
    c.run_id = run_id
    c.updated_at = utcnow()


def _evidence_row(c_id: int, doc_id: int, item: ExtractedItem) -> EvidenceRow:
    ev = item.evidence
    grounded = item.grounded
    return EvidenceRow(
        commitment_id=c_id,
        document_id=doc_id,
        quote=ev.quote,
        char_start=ev.char_start if grounded else None,
        char_end=ev.char_end if grounded else None,
        alignment=ev.alignment.value if grounded else "none",
    )


class _Previous:
    """The document's commitments from earlier runs of the same cache key, matched by evidence text."""

    def __init__(self, rows: list[CommitmentRow], doc_id: int) -> None:
        self.rows = {c.id: c for c in rows}
        self.unmatched = dict(self.rows)
        self.doc_id = doc_id

    def _quotes(self, c: CommitmentRow) -> set[str]:
        return {norm(e.quote) for e in c.evidence if e.document_id == self.doc_id}

    def take(self, item: ExtractedItem, sk: str) -> CommitmentRow | None:
        quote = norm(item.evidence.quote)
        grounded = item.grounded
        candidates = [c for c in self.unmatched.values() if quote in self._quotes(c)]
        if not candidates:
            candidates = [c for c in self.unmatched.values() if c.span_key == sk]
        if not candidates:
            return None
        action = norm(item.action)
        candidates.sort(
            key=lambda c: (
                (UNGROUNDED not in (c.flags or [])) != grounded,
                c.type != item.type,
                norm(c.action) != action,
                c.id,
            )
        )
        chosen = candidates[0]
        del self.unmatched[chosen.id]
        return chosen

    def claim(self, cid: int) -> None:
        self.unmatched.pop(cid, None)


def record_items(
    s: Session,
    *,
    doc: DocumentRow,
    run_id: int,
    cache_key: str,
    items: list[ExtractedItem],
) -> RecordResult:
    """Store ``items`` found in ``doc`` (status ok); see the module docstring."""
    result = RecordResult()
    previous = _Previous(
        list(
            s.scalars(
                select(CommitmentRow)
                .where(CommitmentRow.document_id == doc.id, CommitmentRow.cache_key == cache_key)
                .options(selectinload(CommitmentRow.evidence), selectinload(CommitmentRow.link))
            ).all()
        ),
        doc.id,
    )
    scope = thread_scope(doc)
    for item in items:
        grounded = item.grounded
        sk = span_key(doc.id, item)
        dk = dedup_key(scope, item)
        if not grounded:
            result.ungrounded += 1
        # 1. the same item from an earlier run of this document: update it in place
        match = previous.take(item, sk)
        if match is not None:
            _update(s, match, item, doc_id=doc.id, sk=sk, dk=dk, run_id=run_id)
            result.updated += 1
            if grounded:
                _remember(result, match.id)
            continue
        # 2. a duplicate of a commitment already stored (same span, or same promise in the thread)
        dup = s.scalars(
            select(CommitmentRow)
            .where(or_(CommitmentRow.span_key == sk, CommitmentRow.dedup_key == dk))
            .order_by(CommitmentRow.id)
            .limit(1)
        ).first()
        if dup is not None and (UNGROUNDED in (dup.flags or [])) == (not grounded):
            previous.claim(dup.id)
            if not any(
                e.document_id == doc.id
                and e.char_start == item.evidence.char_start
                and norm(e.quote) == norm(item.evidence.quote)
                for e in dup.evidence
            ):
                s.add(_evidence_row(dup.id, doc.id, item))
            result.merged += 1
            if grounded:
                _remember(result, dup.id)
            continue
        # 3. a new commitment
        c = CommitmentRow(
            document_id=doc.id,
            cache_key=cache_key,
            status="open" if grounded else "dismissed",
            flags=_flags(item),
            source=doc.source,
            thread_id=doc.thread_id,
            created_at=utcnow(),
        )
        _apply(c, item, sk=sk, dk=dk, run_id=run_id)
        s.add(c)
        s.flush()
        s.add(_evidence_row(c.id, doc.id, item))
        _history(s, c.id, "status", None, c.status)
        s.flush()
        result.inserted += 1
        if grounded:
            _remember(result, c.id)
    for c in previous.unmatched.values():
        _retire(s, c, doc.id)
        result.deleted += 1
    s.flush()
    return result


def _flags(item: ExtractedItem) -> list[str]:
    flags = [f for f in item.flags if f != UNGROUNDED]
    if not item.grounded:
        flags.append(UNGROUNDED)
    return flags


def _remember(result: RecordResult, cid: int) -> None:
    if cid not in result.ids:
        result.ids.append(cid)


def _update(
    s: Session, c: CommitmentRow, item: ExtractedItem, *, doc_id: int, sk: str, dk: str, run_id: int
) -> None:
    old_due: date | None = c.due
    was_ungrounded = UNGROUNDED in (c.flags or [])
    _apply(c, item, sk=sk, dk=dk, run_id=run_id)
    c.flags = _flags(item)
    if old_due != c.due:
        _history(s, c.id, "due", old_due, c.due)
    if was_ungrounded and item.grounded and c.status == "dismissed" and not _user_touched(s, c):
        c.status = "open"
        _history(s, c.id, "status", "dismissed", "open")
    elif not was_ungrounded and not item.grounded and c.status == "open":
        c.status = "dismissed"
        _history(s, c.id, "status", "open", "dismissed", note="evidence no longer found in the source")
    # replace this document's evidence with the new quote and offsets
    for e in list(c.evidence):
        if e.document_id == doc_id:
            c.evidence.remove(e)
            s.delete(e)
    s.flush()
    s.add(_evidence_row(c.id, doc_id, item))


def _retire(s: Session, c: CommitmentRow, doc_id: int) -> None:
    """An earlier item the new extraction no longer finds."""
    if _user_touched(s, c):
        if STALE not in (c.flags or []):
            c.flags = [*(c.flags or []), STALE]
            c.updated_at = utcnow()
        return
    others = [e for e in c.evidence if e.document_id != doc_id]
    if others:
        s.execute(
            delete(EvidenceRow).where(EvidenceRow.commitment_id == c.id, EvidenceRow.document_id == doc_id)
        )
        c.document_id = others[0].document_id
        c.updated_at = utcnow()
        return
    s.delete(c)
