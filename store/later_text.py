"""What came after each open item: the local window of text the fulfilment and answer passes read.

An open item's window is the rest of its own document and the later documents of its thread, in
time order, bounded: at most :data:`~store.fulfilment_rules.LATER_WINDOW_CHARS` characters of each
document from the item on (from its start for a later document), and at most
:data:`~store.fulfilment_rules.LATER_DOCUMENTS` later documents. So a pass costs O(items x window),
however long a meeting or a thread is.

The items are read in bounded batches of whole threads (:data:`BATCH_ITEMS`): a batch's rows, its
threads' documents and their sentences (split once per document, :class:`DocumentSentences`, not
once per item) are held while its items are looked at, then let go, so memory stays flat however
many items are open.

With ``documents`` (what a run stored or changed), only the items of those documents' threads whose
window holds one of them are looked at: any other item's window is what it was when it was last
looked at. A new document in an old thread still reaches the earlier items it can deliver or answer.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from followthrough.types import CommitmentStatus, ItemFlag, ParticipantRole
from store.bulk import chunked
from store.fulfilment_rules import LATER_DOCUMENTS, LATER_WINDOW_CHARS, DocumentSentences, LaterText
from store.models import CommitmentHistoryRow, CommitmentRow, DocumentRow
from store.recording import SYSTEM_ACTORS

BATCH_ITEMS = 500
"""Open items per batch (whole threads: one long thread makes a larger batch)."""

ThreadKey = tuple[str, str]
"""``(source, thread id)``; ``("", "<document id>")`` for a document in no thread."""


@dataclass(frozen=True)
class Window:
    """One open item (its row, with its document and evidence loaded) and what came after it.

    ``later``: the rest of its own document first (even when empty), then its thread's later
    documents in time order. ``documents``: the ids of those documents, in the same order.
    """

    item: CommitmentRow
    later: list[LaterText]
    documents: list[int]


@dataclass(frozen=True)
class _Placed:
    """A document's place in its thread."""

    id: int
    occurred_at: datetime


def _key(source: str, thread_id: str | None, doc_id: int) -> ThreadKey:
    return (source, thread_id) if thread_id else ("", str(doc_id))


def open_windows(
    s: Session, *, kind: str | None = None, documents: Collection[int] | None = None
) -> Iterator[list[Window]]:
    """Batches of open (or snoozed) grounded items that no person has set a status on, each with
    its window (see the module docstring). ``kind``: only ``"commitment"`` or ``"request"`` items.
    ``documents``: only the items whose window holds one of these documents; ``None``: every item.

    The caller may change the rows of a batch; they are flushed and let go before the next batch.
    """
    threads = _items_by_thread(s, kind, documents)
    changed = set(documents) if documents is not None else None
    keys = sorted(threads)
    start = 0
    while start < len(keys):
        end, size = start, 0
        while end < len(keys) and (size < BATCH_ITEMS or end == start):
            size += len(threads[keys[end]])
            end += 1
        batch = {k: threads[k] for k in keys[start:end]}
        windows = _windows(s, batch, changed)
        if windows:
            yield windows
        s.flush()
        s.expunge_all()
        start = end


def _items_by_thread(
    s: Session, kind: str | None, documents: Collection[int] | None
) -> dict[ThreadKey, list[tuple[int, int]]]:
    """``(item id, document id)`` of the candidate items, by thread."""
    c, d = CommitmentRow, DocumentRow
    query = (
        select(c.id, c.document_id, c.flags, d.source, d.thread_id)
        .join(d, d.id == c.document_id)
        .where(c.status.in_((CommitmentStatus.OPEN, CommitmentStatus.SNOOZED)))
    )
    if kind is not None:
        query = query.where(c.type == kind)
    rows: list[Any] = []
    if documents is None:
        rows = list(s.execute(query))
    else:
        keys: set[ThreadKey] = set()
        for chunk in chunked(sorted(set(documents))):
            keys.update(
                _key(src, t, i)
                for i, src, t in s.execute(select(d.id, d.source, d.thread_id).where(d.id.in_(chunk)))
            )
        lone = sorted(int(t) for src, t in keys if not src)
        named = sorted({t for src, t in keys if src})
        for chunk in chunked(lone):
            rows += s.execute(query.where(c.document_id.in_(chunk)))
        for threads in chunked(named):
            rows += [
                r for r in s.execute(query.where(d.thread_id.in_(threads))) if (r.source, r.thread_id) in keys
            ]
    out: dict[ThreadKey, list[tuple[int, int]]] = defaultdict(list)
    for r in rows:
        if ItemFlag.UNGROUNDED not in (r.flags or []):
            out[_key(r.source, r.thread_id, r.document_id)].append((r.id, r.document_id))
    return out


def _windows(
    s: Session, batch: dict[ThreadKey, list[tuple[int, int]]], changed: set[int] | None
) -> list[Window]:
    """The windows of one batch's items, in thread order, without those a person has touched."""
    order = _thread_order(s, batch)
    wanted: list[tuple[int, list[int]]] = []  # item id, its window's documents (its own first)
    for key, items in batch.items():
        placed = order[key]
        times = [p.occurred_at for p in placed]
        place = {p.id: i for i, p in enumerate(placed)}
        for item_id, doc_id in items:
            window = [doc_id]
            i = bisect.bisect_left(times, placed[place[doc_id]].occurred_at)
            while i < len(placed) and len(window) <= LATER_DOCUMENTS:
                if placed[i].id != doc_id:
                    window.append(placed[i].id)
                i += 1
            if changed is None or not changed.isdisjoint(window):
                wanted.append((item_id, window))
    if not wanted:
        return []
    ids = [i for i, _ in wanted]
    touched: set[int] = set()
    rows: dict[int, CommitmentRow] = {}
    for chunk in chunked(ids):
        h = CommitmentHistoryRow
        touched.update(
            s.scalars(
                select(h.commitment_id).where(
                    h.commitment_id.in_(chunk), h.field == "status", h.actor.not_in(SYSTEM_ACTORS)
                )
            )
        )
        query = (
            select(CommitmentRow)
            .where(CommitmentRow.id.in_(chunk))
            .options(selectinload(CommitmentRow.document), selectinload(CommitmentRow.evidence))
        )
        rows.update((c.id, c) for c in s.scalars(query))
    docs = _documents(s, {d for _, window in wanted for d in window[1:]})
    whole: dict[int, DocumentSentences] = {}  # own documents, split once
    texts: dict[int, LaterText] = {}  # later documents, from their start
    out: list[Window] = []
    for item_id, window in wanted:
        c = rows.get(item_id)
        if c is None or item_id in touched:
            continue
        doc = c.document
        after = max((e.char_end or 0) for e in c.evidence if e.document_id == doc.id)
        if doc.id not in whole:
            whole[doc.id] = DocumentSentences(doc.text, speakers(doc))
        own = later_text(doc, whole[doc.id].after(after, LATER_WINDOW_CHARS))
        for d in window[1:]:
            if d not in texts:
                split = whole.get(d) or DocumentSentences(
                    docs[d].text, speakers(docs[d]), stop=LATER_WINDOW_CHARS
                )
                texts[d] = later_text(docs[d], split.after(0, LATER_WINDOW_CHARS))
        out.append(Window(c, [own, *(texts[d] for d in window[1:])], window))
    return out


def _thread_order(
    s: Session, batch: dict[ThreadKey, list[tuple[int, int]]]
) -> dict[ThreadKey, list[_Placed]]:
    """Each thread's documents in time order (then by id)."""
    d = DocumentRow
    order: dict[ThreadKey, list[_Placed]] = defaultdict(list)
    named = sorted({t for src, t in batch if src})
    for chunk in chunked(named):
        query = select(d.id, d.source, d.thread_id, d.occurred_at).where(d.thread_id.in_(chunk))
        for r in s.execute(query.order_by(d.occurred_at, d.id)):
            key = (r.source, r.thread_id)
            if key in batch:
                order[key].append(_Placed(r.id, r.occurred_at))
    lone = [int(t) for src, t in batch if not src]
    for ids in chunked(lone):
        for doc_id, occurred_at in s.execute(select(d.id, d.occurred_at).where(d.id.in_(ids))):
            order[("", str(doc_id))].append(_Placed(doc_id, occurred_at))
    return order


def _documents(s: Session, ids: set[int]) -> dict[int, DocumentRow]:
    out: dict[int, DocumentRow] = {}
    for chunk in chunked(sorted(ids)):
        out.update((r.id, r) for r in s.scalars(select(DocumentRow).where(DocumentRow.id.in_(chunk))))
    return out


def speakers(doc: DocumentRow) -> list[tuple[int, int, str | None, str | None]]:
    """The document's segments as :data:`~store.fulfilment_rules.Speaker` spans."""
    return [
        (int(g.get("char_start", 0)), int(g.get("char_end", 0)), g.get("speaker"), g.get("speaker_email"))
        for g in doc.segments or []
    ]


def sender(doc: DocumentRow) -> dict[str, Any]:
    """The document's sender participant (a JSON dict), ``{}`` when it has none."""
    return next((p for p in doc.participants or [] if p.get("role") == ParticipantRole.SENDER), {})


def later_text(doc: DocumentRow, sentences: Sequence[Any]) -> LaterText:
    """``sentences`` of ``doc`` to search, with its sender."""
    who = sender(doc)
    return LaterText(
        message_id=doc.external_id, sentences=sentences, sender=who.get("name"), sender_email=who.get("email")
    )
