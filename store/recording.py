"""Turning one document's extracted items into commitment rows, without duplicates.

Rules (see :meth:`store.Store.record_extraction`):

- A commitment the customer made to us (flag ``customer_promise``) is never
  ours to keep: it is stored with status ``waiting`` (we wait on them), so it
  stays out of every list of open items.
- A task-list line already checked off (flag ``ticked``) is stored ``done``.
- A model's item that the offline detector does not read as the stated act
  (flag ``unconfirmed``; flag ``instruction`` when its evidence reads as an
  instruction to the model, i.e. prompt injection) is stored ``review``: it
  is never open until a person confirms it (status ``open``) or rejects it.
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
- A field a person corrected (owner, due date, action or type: see
  :func:`corrected_fields`) is never overwritten by a later extraction, under
  the same cache key or another; the other fields are still refreshed.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from followthrough.types import AlignmentStatus, CommitmentStatus, ExtractedItem, ItemFlag
from store.models import (
    CommitmentHistoryRow,
    CommitmentRow,
    DocumentRow,
    EvidenceRow,
    utcnow,
)


def _initial_status(item: ExtractedItem) -> CommitmentStatus:
    """``done`` for a ticked task, ``review`` for an unconfirmed model item, ``waiting`` for the
    customer's own promise, else ``open``."""
    flags = item.flags or []
    if ItemFlag.TICKED in flags:
        return CommitmentStatus.DONE
    if ItemFlag.UNCONFIRMED in flags or ItemFlag.INSTRUCTION in flags:
        return CommitmentStatus.REVIEW
    return CommitmentStatus.WAITING if ItemFlag.CUSTOMER_PROMISE in flags else CommitmentStatus.OPEN


SYSTEM_ACTORS = frozenset({"extractor", "linker", "merge", "system"})


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


CORRECTABLE = frozenset({"owner", "due", "action", "type"})
"""The extracted fields a person can correct (:meth:`store.Store.correct`), by their history name."""


def corrected_fields(s: Session, cid: int) -> frozenset[str]:
    """The fields of :data:`CORRECTABLE` that a person (an actor not in :data:`SYSTEM_ACTORS`) changed
    on commitment ``cid``, as its history records them."""
    h = CommitmentHistoryRow
    changed = s.scalars(
        select(h.field)
        .where(h.commitment_id == cid, h.field.in_(CORRECTABLE), h.actor.not_in(SYSTEM_ACTORS))
        .distinct()
    ).all()
    return frozenset(changed)


def _user_touched(s: Session, c: CommitmentRow) -> bool:
    if c.link is not None and c.link.method == "manual":
        return True
    actors = s.scalars(
        select(CommitmentHistoryRow.actor).where(CommitmentHistoryRow.commitment_id == c.id)
    ).all()
    return any(a not in SYSTEM_ACTORS for a in actors)


def _history_row(
    fld: str, old: object, new: object, actor: str = "extractor", note: str | None = None
) -> CommitmentHistoryRow:
    return CommitmentHistoryRow(
        at=utcnow(),
        field=fld,
        old=None if old is None else str(old),
        new=None if new is None else str(new),
        actor=actor,
        note=note,
    )


def _apply(
    c: CommitmentRow,
    item: ExtractedItem,
    *,
    sk: str,
    dk: str,
    run_id: int,
    corrected: frozenset[str] = frozenset(),
) -> None:
    """Write the item's fields to ``c``, except those a person ``corrected`` (:data:`CORRECTABLE` names)."""
    if "type" not in corrected:
        c.type = item.type
    if "owner" not in corrected:
        c.owner = item.owner
        c.owner_email = item.owner_email.lower() if item.owner_email else None
    c.counterparty = item.counterparty
    c.counterparty_email = item.counterparty_email.lower() if item.counterparty_email else None
    if "action" not in corrected:
        c.action = item.action
    if "due" not in corrected:
        c.due = item.due
    c.due_text = item.due_text
    c.confidence = item.confidence
    c.span_key = sk
    c.dedup_key = dk
    c.run_id = run_id
    c.updated_at = utcnow()


def _evidence_row(doc_id: int, item: ExtractedItem) -> EvidenceRow:
    ev = item.evidence
    grounded = item.grounded
    return EvidenceRow(
        document_id=doc_id,
        quote=ev.quote,
        char_start=ev.char_start if grounded else None,
        char_end=ev.char_end if grounded else None,
        alignment=ev.alignment if grounded else AlignmentStatus.NONE,
    )


class _Previous:
    """What earlier runs stored for this document, matched to new items by evidence text.

    ``owned``: commitments first found in this document under the same cache key;
    a match is updated in place. ``merged``: commitments of other documents that
    this document added evidence to; a match only refreshes that evidence.
    """

    def __init__(self, owned: list[CommitmentRow], merged: list[CommitmentRow], doc_id: int) -> None:
        self.owned = {c.id: c for c in owned}
        self.merged = {c.id: c for c in merged if c.id not in self.owned}
        self.doc_id = doc_id

    def _quotes(self, c: CommitmentRow) -> set[str]:
        return {norm(e.quote) for e in c.evidence if e.document_id == self.doc_id}

    def take(self, item: ExtractedItem, sk: str) -> tuple[CommitmentRow, bool] | None:
        """The earlier commitment this item restates, and whether this document owns it."""
        quote = norm(item.evidence.quote)
        grounded = item.grounded
        action = norm(item.action)
        for pool, owned in ((self.owned, True), (self.merged, False)):
            candidates = [c for c in pool.values() if quote in self._quotes(c)]
            if not candidates and owned:
                candidates = [c for c in pool.values() if c.span_key == sk]
            if not candidates:
                continue
            candidates.sort(
                key=lambda c: (
                    (ItemFlag.UNGROUNDED not in (c.flags or [])) != grounded,
                    c.type != item.type,
                    norm(c.action) != action,
                    c.id,
                )
            )
            chosen = candidates[0]
            del pool[chosen.id]
            return chosen, owned
        return None

    def claim(self, cid: int) -> None:
        self.owned.pop(cid, None)
        self.merged.pop(cid, None)


def _load_previous(s: Session, doc_id: int, cache_key: str) -> _Previous:
    opts = (selectinload(CommitmentRow.evidence), selectinload(CommitmentRow.link))
    owned = s.scalars(
        select(CommitmentRow)
        .where(CommitmentRow.document_id == doc_id, CommitmentRow.cache_key == cache_key)
        .options(*opts)
    ).all()
    merged_ids = select(EvidenceRow.commitment_id).where(EvidenceRow.document_id == doc_id)
    merged = s.scalars(
        select(CommitmentRow)
        .where(CommitmentRow.id.in_(merged_ids), CommitmentRow.document_id != doc_id)
        .options(*opts)
    ).all()
    return _Previous(list(owned), list(merged), doc_id)


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
    previous = _load_previous(s, doc.id, cache_key)
    scope = thread_scope(doc)
    for item in items:
        grounded = item.grounded
        sk = span_key(doc.id, item)
        dk = dedup_key(scope, item)
        if not grounded:
            result.ungrounded += 1
        # 1. the same item from an earlier run of this document: update it in place
        found = previous.take(item, sk)
        if found is not None:
            match, owned = found
            if owned:
                _update(s, match, item, doc_id=doc.id, sk=sk, dk=dk, run_id=run_id)
            else:
                _replace_evidence(s, match, doc.id, item)
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
        if dup is not None and (ItemFlag.UNGROUNDED in (dup.flags or [])) == (not grounded):
            previous.claim(dup.id)
            quote = norm(item.evidence.quote)
            if not any(e.document_id == doc.id and norm(e.quote) == quote for e in dup.evidence):
                dup.evidence.append(_evidence_row(doc.id, item))
            result.merged += 1
            if grounded:
                _remember(result, dup.id)
            continue
        # 3. a new commitment
        c = CommitmentRow(
            document_id=doc.id,
            cache_key=cache_key,
            status=_initial_status(item) if grounded else CommitmentStatus.DISMISSED,
            flags=_flags(item),
            source=doc.source,
            thread_id=doc.thread_id,
            created_at=utcnow(),
        )
        _apply(c, item, sk=sk, dk=dk, run_id=run_id)
        c.evidence.append(_evidence_row(doc.id, item))
        c.history.append(_history_row("status", None, c.status))
        s.add(c)
        s.flush()
        result.inserted += 1
        if grounded:
            _remember(result, c.id)
    for c in previous.owned.values():
        _retire(s, c, doc.id)
        result.deleted += 1
    for c in previous.merged.values():
        for e in [e for e in c.evidence if e.document_id == doc.id]:
            c.evidence.remove(e)
    s.flush()
    return result


def _flags(item: ExtractedItem) -> list[ItemFlag]:
    flags: list[ItemFlag] = [f for f in item.flags if f != ItemFlag.UNGROUNDED]
    if not item.grounded:
        flags.append(ItemFlag.UNGROUNDED)
    return flags


def _remember(result: RecordResult, cid: int) -> None:
    if cid not in result.ids:
        result.ids.append(cid)


def _update(
    s: Session, c: CommitmentRow, item: ExtractedItem, *, doc_id: int, sk: str, dk: str, run_id: int
) -> None:
    old_due: date | None = c.due
    was_ungrounded = ItemFlag.UNGROUNDED in (c.flags or [])
    _apply(c, item, sk=sk, dk=dk, run_id=run_id, corrected=corrected_fields(s, c.id))
    c.flags = _flags(item)
    if old_due != c.due:
        c.history.append(_history_row("due", old_due, c.due))
    dismissed = CommitmentStatus.DISMISSED
    if was_ungrounded and item.grounded and c.status == dismissed and not _user_touched(s, c):
        c.status = _initial_status(item)
        c.history.append(_history_row("status", dismissed, c.status))
    elif not was_ungrounded and not item.grounded and c.status == CommitmentStatus.OPEN:
        c.status = dismissed
        c.history.append(
            _history_row(
                "status", CommitmentStatus.OPEN, dismissed, note="evidence no longer found in the source"
            )
        )
    _replace_evidence(s, c, doc_id, item)


def _replace_evidence(s: Session, c: CommitmentRow, doc_id: int, item: ExtractedItem) -> None:
    """This document's evidence for ``c`` becomes the new quote and offsets."""
    for e in [e for e in c.evidence if e.document_id == doc_id]:
        c.evidence.remove(e)
    s.flush()
    c.evidence.append(_evidence_row(doc_id, item))


def _retire(s: Session, c: CommitmentRow, doc_id: int) -> None:
    """An earlier item the new extraction no longer finds."""
    if _user_touched(s, c):
        if ItemFlag.STALE not in (c.flags or []):
            c.flags = [*(c.flags or []), ItemFlag.STALE]
            c.updated_at = utcnow()
        return
    others = [e for e in c.evidence if e.document_id != doc_id]
    if others:
        for e in [e for e in c.evidence if e.document_id == doc_id]:
            c.evidence.remove(e)
        c.document_id = others[0].document_id
        c.updated_at = utcnow()
        return
    s.delete(c)
