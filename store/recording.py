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
- Re-recording a document (its content changed, or under the same cache key)
  replaces the items of earlier extractions of it: each new item is matched to
  an earlier one (:mod:`store.reconcile`: the same quote, the same span, or the
  same promise restated, with the same type and owner and similar evidence or
  action), which is updated in place (same id, history kept, a changed quote
  recorded as an ``evidence`` history entry) so that a status the user set (done,
  snoozed, dismissed) and the deal link survive. Earlier items of the
  document under another cache key join in when the document's text no longer
  holds their evidence at its offsets.
- An earlier item that no longer appears (see :func:`_retire`): deleted while the
  text under its evidence is unchanged; when the document changed, dismissed with
  the history note "no longer in the source after it changed" and flagged
  ``stale``. One a person touched is kept and flagged ``stale``, its evidence
  moved to where its quote now occurs; if the quote is gone, it is flagged
  ``ungrounded`` and goes to ``review``. Found again later, it gets back the
  status it had. So every open item's evidence is the text at its offsets.
- A field a person corrected (owner, due date, action or type: see
  :func:`corrected_fields`) is never overwritten by a later extraction, under
  the same cache key or another; the other fields are still refreshed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import insert, or_, select
from sqlalchemy.orm import Session

from followthrough.types import AlignmentStatus, CommitmentStatus, ExtractedItem, ItemFlag
from store.models import (
    CommitmentHistoryRow,
    CommitmentRow,
    DocumentRow,
    EvidenceRow,
    table_of,
    utcnow,
)
from store.reconcile import Previous, is_stale, norm, realign


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
    retired: int = 0


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
    for name, value in _item_values(item, sk=sk, dk=dk, run_id=run_id, corrected=corrected).items():
        setattr(c, name, value)


_FIELD_COLUMNS = {
    "type": ("type",),
    "owner": ("owner", "owner_email"),
    "action": ("action",),
    "due": ("due",),
}
"""The columns of each :data:`CORRECTABLE` field."""


def _item_values(
    item: ExtractedItem, *, sk: str, dk: str, run_id: int, corrected: frozenset[str] = frozenset()
) -> dict[str, object]:
    """The commitment columns an extracted item sets, less those of the fields a person ``corrected``."""
    values: dict[str, object] = {
        "type": item.type,
        "owner": item.owner,
        "owner_email": item.owner_email.lower() if item.owner_email else None,
        "counterparty": item.counterparty,
        "counterparty_email": item.counterparty_email.lower() if item.counterparty_email else None,
        "action": item.action,
        "due": item.due,
        "due_text": item.due_text,
        "confidence": item.confidence,
        "span_key": sk,
        "dedup_key": dk,
        "run_id": run_id,
        "updated_at": utcnow(),
    }
    for name in corrected:
        for column in _FIELD_COLUMNS.get(name, ()):
            values.pop(column, None)
    return values


def _evidence_row(doc_id: int, item: ExtractedItem) -> EvidenceRow:
    return EvidenceRow(**_evidence_values(doc_id, item))


def _evidence_values(doc_id: int, item: ExtractedItem) -> dict[str, object]:
    """The evidence columns of an item's quote in document ``doc_id`` (offsets only when grounded)."""
    ev = item.evidence
    grounded = item.grounded
    return {
        "document_id": doc_id,
        "quote": ev.quote,
        "char_start": ev.char_start if grounded else None,
        "char_end": ev.char_end if grounded else None,
        "alignment": ev.alignment if grounded else AlignmentStatus.NONE,
    }


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
    previous = Previous(s, doc, cache_key)
    scope = thread_scope(doc)
    keys = [(span_key(doc.id, item), dedup_key(scope, item)) for item in items]
    matches = previous.match(items, [sk for sk, _ in keys], lambda c: corrected_fields(s, c.id))
    ids: list[int] = [0] * len(items)
    # 1. the same item from an earlier extraction of this document: updated in place (all of them
    #    first, so that what the items restate is settled before duplicates are looked for)
    for i, match in enumerate(matches):
        if match is not None:
            sk, dk = keys[i]
            if match.owned:
                _update(s, match.commitment, items[i], previous, sk=sk, dk=dk, run_id=run_id)
            else:
                _replace_evidence(s, match.commitment, previous, items[i])
            result.updated += 1
            ids[i] = match.commitment.id
    for i, match in enumerate(matches):
        if match is None:
            sk, dk = keys[i]
            ids[i] = _add(
                s, items[i], previous, sk=sk, dk=dk, run_id=run_id, cache_key=cache_key, result=result
            )
    for item, cid in zip(items, ids, strict=True):
        if item.grounded:
            _remember(result, cid)
        else:
            result.ungrounded += 1
    for c in previous.owned.values():
        _retire(s, c, previous)
        result.retired += 1
    for c in previous.merged.values():
        for e in previous.evidence(c):
            _drop(e)
    s.flush()
    return result


def record_fresh(
    s: Session, batch: Sequence[tuple[DocumentRow, list[ExtractedItem]]], *, run_id: int, cache_key: str
) -> list[list[int]]:
    """:func:`record_items` for documents no extraction stored anything for yet, in bulk.

    ``batch``: each document (no commitment and no evidence refers to it) with its items. The
    same rules as :func:`record_items` (a new item that duplicates a stored commitment, or one
    earlier in the batch, by span or dedup key adds its evidence there; else a new commitment
    with its evidence and first history entry), with one query for the keys and bulk inserts.
    Per document, the ids of the (grounded) commitments its items became, without repeats.
    """
    keyed = [
        [(item, span_key(doc.id, item), dedup_key(thread_scope(doc), item)) for item in items]
        for doc, items in batch
    ]
    stored = _stored_keys(
        s, {sk for rows in keyed for _, sk, _ in rows}, {dk for rows in keyed for *_, dk in rows}
    )
    new: list[dict[str, object]] = []
    """Column values of the commitments to insert; a pending one is referred to as ``-1 - index``."""
    by_key: dict[str, int] = {}
    evidence: list[tuple[int, dict[str, object]]] = []
    quotes: set[tuple[int, int, str]] = set()
    refs: list[list[tuple[int, bool]]] = []
    for (doc, _), rows in zip(batch, keyed, strict=True):
        mine: list[tuple[int, bool]] = []
        for item, sk, dk in rows:
            ref = _duplicate(stored, by_key, new, item, sk, dk)
            if ref is None:
                ref = -1 - len(new)
                values = _item_values(item, sk=sk, dk=dk, run_id=run_id)
                values.update(
                    document_id=doc.id,
                    cache_key=cache_key,
                    status=_initial_status(item) if item.grounded else CommitmentStatus.DISMISSED,
                    flags=_flags(item),
                    source=doc.source,
                    thread_id=doc.thread_id,
                    created_at=utcnow(),
                    # every column named: SQLite's multi-row INSERT … RETURNING needs the same columns
                    snoozed_until=None,
                    deal_id=None,
                    merged_into=None,
                )
                new.append(values)
                by_key.setdefault(sk, ref)
                by_key.setdefault(dk, ref)
            quote = norm(item.evidence.quote)
            if (ref, doc.id, quote) not in quotes:
                quotes.add((ref, doc.id, quote))
                evidence.append((ref, _evidence_values(doc.id, item)))
            mine.append((ref, item.grounded))
        refs.append(mine)
    ids: list[int] = []
    if new:
        # one executemany on the connection (SQLAlchemy's ORM bulk INSERT sends SQLite one statement
        # per row once a column mixes NULL and values), then the ids by span key: a new commitment's
        # span key is stored nowhere else (an item with a stored span key is that commitment's
        # duplicate: the key says grounded or not)
        s.connection().execute(insert(table_of(CommitmentRow)), new)
        spans = [str(v["span_key"]) for v in new]
        by_span = dict(
            s.execute(
                select(CommitmentRow.span_key, CommitmentRow.id)
                .where(CommitmentRow.span_key.in_(spans))
                .order_by(CommitmentRow.id)
            ).all()
        )
        ids = [by_span[sk] for sk in spans]
        now = utcnow()
        s.connection().execute(
            insert(table_of(CommitmentHistoryRow)),
            [
                {
                    "commitment_id": cid,
                    "at": now,
                    "field": "status",
                    "old": None,
                    "new": str(v["status"]),
                    "actor": "extractor",
                    "note": None,
                }
                for cid, v in zip(ids, new, strict=True)
            ],
        )

    def resolve(ref: int) -> int:
        return ids[-1 - ref] if ref < 0 else ref

    if evidence:
        s.connection().execute(
            insert(table_of(EvidenceRow)), [{"commitment_id": resolve(ref), **ev} for ref, ev in evidence]
        )
    out: list[list[int]] = []
    for mine in refs:
        kept: list[int] = []
        for ref, grounded in mine:
            cid = resolve(ref)
            if grounded and cid not in kept:
                kept.append(cid)
        out.append(kept)
    return out


def _stored_keys(s: Session, sks: set[str], dks: set[str]) -> dict[str, tuple[int, bool]]:
    """Span and dedup keys of stored commitments → (the first such commitment's id, whether it is
    flagged ungrounded)."""
    found: dict[str, tuple[int, bool]] = {}
    if not sks and not dks:
        return found
    c = CommitmentRow
    rows = s.execute(
        select(c.id, c.span_key, c.dedup_key, c.flags)
        .where(or_(c.span_key.in_(list(sks)), c.dedup_key.in_(list(dks))))
        .order_by(c.id)
    ).all()
    for r in rows:
        ungrounded = ItemFlag.UNGROUNDED in (r.flags or [])
        for key in (r.span_key, r.dedup_key):
            found.setdefault(key, (r.id, ungrounded))
    return found


def _duplicate(
    stored: dict[str, tuple[int, bool]],
    by_key: dict[str, int],
    new: list[dict[str, object]],
    item: ExtractedItem,
    sk: str,
    dk: str,
) -> int | None:
    """The commitment ``item`` duplicates (:func:`_add`'s rule): the first stored one with its span
    or dedup key, else one earlier in the batch; ``None`` when there is none, or when it differs in
    being grounded (then the item is a commitment of its own)."""
    hits = [stored[k] for k in (sk, dk) if k in stored]
    if hits:
        cid, ungrounded = min(hits)
        return cid if ungrounded == (not item.grounded) else None
    pending = [by_key[k] for k in (sk, dk) if k in by_key]
    if pending:
        ref = max(pending)  # the earliest inserted: refs count down from -1
        flags = new[-1 - ref]["flags"]
        ungrounded = isinstance(flags, list) and ItemFlag.UNGROUNDED in flags
        return ref if ungrounded == (not item.grounded) else None
    return None


def _add(
    s: Session,
    item: ExtractedItem,
    previous: Previous,
    *,
    sk: str,
    dk: str,
    run_id: int,
    cache_key: str,
    result: RecordResult,
) -> int:
    """Store an item no earlier extraction of its document holds; the id of its commitment.

    2. a duplicate of a commitment already stored (the same span, or the same promise in the
       thread) gets the item's evidence (its evidence from this document that the text no longer
       holds goes); 3. else a new commitment.
    """
    doc = previous.doc
    grounded = item.grounded
    dup = s.scalars(
        select(CommitmentRow)
        .where(or_(CommitmentRow.span_key == sk, CommitmentRow.dedup_key == dk))
        .order_by(CommitmentRow.id)
        .limit(1)
    ).first()
    if dup is not None and (ItemFlag.UNGROUNDED in (dup.flags or [])) == (not grounded):
        previous.claim(dup.id)
        for e in [e for e in dup.evidence if e.document_id == doc.id and is_stale(e, doc.text)]:
            _drop(e)
        quote = norm(item.evidence.quote)
        if not any(e.document_id == doc.id and norm(e.quote) == quote for e in dup.evidence):
            dup.evidence.append(_evidence_row(doc.id, item))
        result.merged += 1
        return dup.id
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
    return c.id


def _flags(item: ExtractedItem) -> list[ItemFlag]:
    flags: list[ItemFlag] = [f for f in item.flags if f != ItemFlag.UNGROUNDED]
    if not item.grounded:
        flags.append(ItemFlag.UNGROUNDED)
    return flags


def _remember(result: RecordResult, cid: int) -> None:
    if cid not in result.ids:
        result.ids.append(cid)


def _update(
    s: Session, c: CommitmentRow, item: ExtractedItem, previous: Previous, *, sk: str, dk: str, run_id: int
) -> None:
    old_due: date | None = c.due
    old_quotes = {norm(e.quote): e.quote for e in previous.evidence(c)}
    changed = previous.stale(c)
    was_ungrounded = ItemFlag.UNGROUNDED in (c.flags or [])
    corrected = corrected_fields(s, c.id)
    theirs = ItemFlag.CUSTOMER_PROMISE in (c.flags or [])
    _apply(c, item, sk=sk, dk=dk, run_id=run_id, corrected=corrected)
    c.flags = _flags(item)
    if "owner" in corrected:  # whose promise it is follows the corrected owner, not the extraction
        c.flags = [f for f in c.flags if f != ItemFlag.CUSTOMER_PROMISE] + (
            [ItemFlag.CUSTOMER_PROMISE] if theirs else []
        )
    if old_due != c.due:
        c.history.append(_history_row("due", old_due, c.due))
    dismissed = CommitmentStatus.DISMISSED
    before = _status_before_retirement(s, c)
    if before is not None and item.grounded:
        c.history.append(_history_row("status", c.status, before, note=FOUND_AGAIN))
        c.status = before
    elif was_ungrounded and item.grounded and c.status == dismissed and not _user_touched(s, c):
        c.status = _initial_status(item)
        c.history.append(_history_row("status", dismissed, c.status))
    elif not was_ungrounded and not item.grounded and c.status == CommitmentStatus.OPEN:
        c.status = dismissed
        c.history.append(
            _history_row(
                "status", CommitmentStatus.OPEN, dismissed, note="evidence no longer found in the source"
            )
        )
    if old_quotes and norm(item.evidence.quote) not in old_quotes:
        note = "the source changed" if changed else None
        c.history.append(
            _history_row("evidence", next(iter(old_quotes.values())), item.evidence.quote, note=note)
        )
    _replace_evidence(s, c, previous, item)


def _replace_evidence(s: Session, c: CommitmentRow, previous: Previous, item: ExtractedItem) -> None:
    """The document's evidence for ``c`` (where a merge moved it too) becomes the new quote and offsets."""
    for e in previous.evidence(c):
        _drop(e)
    s.flush()
    c.evidence.append(_evidence_row(previous.doc.id, item))


def _drop(e: EvidenceRow) -> None:
    """Delete one piece of evidence from the commitment that holds it."""
    e.commitment.evidence.remove(e)


RETIRED = "no longer in the source after it changed"
"""The history note of an item retired because its document changed and no longer says it."""

QUOTE_GONE = "its quote is no longer in the source after it changed: confirm or dismiss it"
"""The history note of an item a person touched whose quote the changed document no longer holds."""

FOUND_AGAIN = "found again in the source"

_LIVE = frozenset({CommitmentStatus.OPEN, CommitmentStatus.SNOOZED, CommitmentStatus.WAITING})


def _status_before_retirement(s: Session, c: CommitmentRow) -> CommitmentStatus | None:
    """The status ``c`` had before :func:`_retire` set it aside, while still set aside; else ``None``."""
    h = CommitmentHistoryRow
    last = s.scalars(
        select(h).where(h.commitment_id == c.id, h.field == "status").order_by(h.id.desc()).limit(1)
    ).first()
    if last is None or last.actor != "extractor" or last.note not in (RETIRED, QUOTE_GONE):
        return None
    if last.new != c.status or last.old is None:
        return None
    return CommitmentStatus(last.old)


def _retire(s: Session, c: CommitmentRow, previous: Previous) -> None:
    """An earlier item of the document that the new extraction no longer finds.

    Nobody touched it: with evidence from other documents, only this document's evidence goes;
    else, the text under its evidence unchanged (or it was merged into another), it is deleted;
    else (the document changed) it is dismissed with history note :data:`RETIRED` and flag
    ``stale``, its evidence moved to where its quote now occurs, or, if nowhere, kept without
    offsets and flagged ``ungrounded``. A person touched it (:func:`_user_touched`): it is kept
    and flagged ``stale``; when the document changed, its evidence is moved to where the quote
    now occurs; a quote that occurs nowhere goes when the item has other evidence, else it is
    kept without offsets, flagged ``ungrounded``, and a live item (open, snoozed, waiting)
    goes to ``review`` (history note :data:`QUOTE_GONE`).
    """
    doc = previous.doc
    mine = previous.evidence(c)
    changed = previous.stale(c)
    touched = _user_touched(s, c)
    others = [e for e in c.evidence if e.document_id != doc.id]
    if not touched:
        if others:
            for e in mine:
                _drop(e)
            c.document_id = others[0].document_id
            c.updated_at = utcnow()
            return
        if not changed or c.merged_into is not None:
            for e in mine:
                if e.commitment_id != c.id:
                    _drop(e)
            s.delete(c)
            return
    _flag(c, ItemFlag.STALE)
    if not changed:
        return
    lost = [e for e in mine if not realign(e, doc.text)]
    kept = len(c.evidence) - sum(1 for e in lost if e.commitment_id == c.id)
    for e in lost:
        if kept > 0 or e.commitment_id != c.id:
            _drop(e)
        else:
            e.char_start = e.char_end = None
            e.alignment = AlignmentStatus.NONE
            _flag(c, ItemFlag.UNGROUNDED)
            kept = 1
    if not touched and c.status != CommitmentStatus.DISMISSED:
        c.history.append(_history_row("status", c.status, CommitmentStatus.DISMISSED, note=RETIRED))
        c.status = CommitmentStatus.DISMISSED
    elif touched and ItemFlag.UNGROUNDED in c.flags and c.status in _LIVE:
        c.history.append(_history_row("status", c.status, CommitmentStatus.REVIEW, note=QUOTE_GONE))
        c.status = CommitmentStatus.REVIEW


def _flag(c: CommitmentRow, flag: ItemFlag) -> None:
    if flag not in (c.flags or []):
        c.flags = [*(c.flags or []), flag]
        c.updated_at = utcnow()
