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
from sqlalchemy.orm import Session

from followthrough.types import CommitmentStatus, ItemFlag, ParticipantRole
from store.bulk import chunked
from store.fulfilment_rules import LATER_DOCUMENTS, LATER_WINDOW_CHARS, DocumentSentences, LaterText
from store.models import CommitmentHistoryRow, CommitmentRow, DocumentRow, EvidenceRow
from store.recording import SYSTEM_ACTORS

BATCH_ITEMS = 500
"""Open items per batch (whole threads: one long thread makes a larger batch)."""

ThreadKey = tuple[str, str]
"""``(source, thread id)``; ``("", "<document id>")`` for a document in no thread."""


@dataclass(frozen=True)
class OpenDocument:
    """What the passes read of a document: its text, speaker segments and participants (JSON, as
    stored)."""

    id: int
    external_id: str
    text: str
    segments: list[dict[str, Any]] | None
    participants: list[dict[str, Any]] | None


@dataclass(frozen=True)
class OpenEvidence:
    """One piece of an open item's evidence: its document and the quote's character offsets."""

    document_id: int
    char_start: int | None
    char_end: int | None
    quote: str


@dataclass(frozen=True)
class OpenItem:
    """An open item as the passes read it: columns, not an ORM row (a pass that closes it writes
    the change itself)."""

    id: int
    type: str
    status: CommitmentStatus
    flags: list[ItemFlag]
    action: str
    owner: str | None
    owner_email: str | None
    document: OpenDocument
    evidence: list[OpenEvidence]


@dataclass(frozen=True)
class Window:
    """One open item (with its document and evidence) and what came after it.

    ``later``: the rest of its own document first (even when empty), then its thread's later
    documents in time order. ``documents``: the ids of those documents, in the same order.
    """

    item: OpenItem
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

    The items are columns, not ORM rows: the caller writes what it changes (what it added to the
    session is flushed before the next batch).
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
        start = end


def _items_by_thread(
    s: Session, kind: str | None, documents: Collection[int] | None
) -> dict[ThreadKey, list[tuple[int, int]]]:
    """``(item id, document id)`` of the candidate items, by thread."""
    c, d = CommitmentRow, DocumentRow
    query = (
        select(c.id, c.document_id, c.flags, c.type, d.source, d.thread_id)
        .join(d, d.id == c.document_id)
        .where(c.status.in_((CommitmentStatus.OPEN, CommitmentStatus.SNOOZED)))
    )
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
        held = [int(t) for src, t in keys if not src]  # the threads' documents
        named = sorted({t for src, t in keys if src})
        # the named threads' documents by the thread index first, then their items by document
        # (the kind checked below): ``thread_id IN`` or ``type =`` beside ``status IN`` lets a
        # database without statistics yet (a first run) read every open item for each chunk
        for threads in chunked(named):
            placed = select(d.id, d.source, d.thread_id).where(d.thread_id.in_(threads))
            held += [i for i, src, t in s.execute(placed) if (src, t) in keys]
        for chunk in chunked(sorted(set(held))):
            rows += s.execute(query.where(c.document_id.in_(chunk)))
    out: dict[ThreadKey, list[tuple[int, int]]] = defaultdict(list)
    for r in rows:
        if (kind is None or r.type == kind) and ItemFlag.UNGROUNDED not in (r.flags or []):
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
    c, e, h = CommitmentRow, EvidenceRow, CommitmentHistoryRow
    rows: dict[int, Any] = {}
    evidence: dict[int, list[OpenEvidence]] = defaultdict(list)
    for chunk in chunked(ids):
        touched.update(
            s.scalars(
                select(h.commitment_id).where(
                    h.commitment_id.in_(chunk), h.field == "status", h.actor.not_in(SYSTEM_ACTORS)
                )
            )
        )
        columns = (c.id, c.type, c.status, c.flags, c.action, c.owner, c.owner_email, c.document_id)
        rows.update((r.id, r) for r in s.execute(select(*columns).where(c.id.in_(chunk))))
        quotes = select(e.commitment_id, e.document_id, e.char_start, e.char_end, e.quote)
        for q in s.execute(quotes.where(e.commitment_id.in_(chunk)).order_by(e.id)):
            evidence[q.commitment_id].append(OpenEvidence(q.document_id, q.char_start, q.char_end, q.quote))
    docs = _documents(s, {d for _, window in wanted for d in window})
    whole: dict[int, DocumentSentences] = {}  # own documents, split once
    texts: dict[int, LaterText] = {}  # later documents, from their start
    out: list[Window] = []
    for item_id, window in wanted:
        r = rows.get(item_id)
        if r is None or item_id in touched:
            continue
        doc = docs[r.document_id]
        item = OpenItem(
            r.id, r.type, r.status, list(r.flags or []), r.action, r.owner, r.owner_email, doc, evidence[r.id]
        )
        ends = [q.char_end or 0 for q in item.evidence if q.document_id == doc.id]
        if not ends:  # its evidence moved since its row was read: merged away by another writer
            continue
        after = max(ends)
        if doc.id not in whole:
            whole[doc.id] = DocumentSentences(doc.text, speakers(doc))
        own = later_text(doc, whole[doc.id].after(after, LATER_WINDOW_CHARS))
        for d in window[1:]:
            if d not in texts:
                split = whole.get(d) or DocumentSentences(
                    docs[d].text, speakers(docs[d]), stop=LATER_WINDOW_CHARS
                )
                texts[d] = later_text(docs[d], split.after(0, LATER_WINDOW_CHARS))
        out.append(Window(item, [own, *(texts[d] for d in window[1:])], window))
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


def _documents(s: Session, ids: set[int]) -> dict[int, OpenDocument]:
    d = DocumentRow
    out: dict[int, OpenDocument] = {}
    for chunk in chunked(sorted(ids)):
        query = select(d.id, d.external_id, d.text, d.segments, d.participants).where(d.id.in_(chunk))
        out.update((r.id, OpenDocument(*r)) for r in s.execute(query))
    return out


def speakers(doc: OpenDocument) -> list[tuple[int, int, str | None, str | None]]:
    """The document's segments as :data:`~store.fulfilment_rules.Speaker` spans."""
    return [
        (int(g.get("char_start", 0)), int(g.get("char_end", 0)), g.get("speaker"), g.get("speaker_email"))
        for g in doc.segments or []
    ]


def sender(doc: OpenDocument) -> dict[str, Any]:
    """The document's sender participant (a JSON dict), ``{}`` when it has none."""
    return next((p for p in doc.participants or [] if p.get("role") == ParticipantRole.SENDER), {})


def later_text(doc: OpenDocument, sentences: Sequence[Any]) -> LaterText:
    """``sentences`` of ``doc`` to search, with its sender."""
    who = sender(doc)
    return LaterText(
        message_id=doc.external_id, sentences=sentences, sender=who.get("name"), sender_email=who.get("email")
    )
