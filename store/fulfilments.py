"""Items a later message delivered, and requests one of ours answered."""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from followthrough.types import CommitmentStatus, ItemFlag, normalize_domains
from store import answer_rules, fulfilment_rules
from store.base import ITEM_STATUS_LOCK, _retry_conflicts
from store.commitments import history_entry
from store.crm import CrmStore
from store.later_text import OpenItem, Window, open_windows, sender
from store.models import CommitmentRow, DocumentRow, EvidenceRow, utcnow


class FulfilmentStore(CrmStore):
    """Closes delivered items and answered requests (rules: :mod:`store.fulfilment_rules`,
    :mod:`store.answer_rules`)."""

    def detect_fulfilments(
        self, internal_domains: set[str], *, documents: Collection[int] | None = None
    ) -> int:
        """Close open commitments and requests that a later message delivers (:mod:`store.fulfilment_rules`).

        A closed item gets status ``done``, flag ``fulfilled`` and a history
        entry (actor ``fulfilment``) naming the message and quoting it. Items a
        person has set a status on are left alone. Returns how many were closed.

        Each item reads its local window of later text (:mod:`store.later_text`), in
        bounded batches. ``documents``: look only at the items whose window holds one of
        these documents (what a run stored or changed, or the API's one document); ``None``:
        every open item.
        """
        return self.close_delivered_and_answered(internal_domains, documents=documents, answers=False)[0]

    def detect_answers(self, internal_domains: set[str], *, documents: Collection[int] | None = None) -> int:
        """Close open requests that one of ours answered later in their thread or meeting.

        The rules are in :mod:`store.answer_rules`: a reply that addresses the
        request, or a stored commitment of ours that takes it on (which stays
        the open item). A closed request gets status ``answered`` and a history
        entry (actor ``answered``) naming the message and quoting the answer.
        Requests a person has set a status on are left alone, so a reopened one
        stays open. Returns how many were closed. Each request reads its local
        window (:mod:`store.later_text`); ``documents``: as for :meth:`detect_fulfilments`.
        """
        return self.close_delivered_and_answered(internal_domains, documents=documents, deliveries=False)[1]

    @_retry_conflicts
    def close_delivered_and_answered(
        self,
        internal_domains: set[str],
        *,
        documents: Collection[int] | None = None,
        deliveries: bool = True,
        answers: bool = True,
    ) -> tuple[int, int]:
        """:meth:`detect_fulfilments` then :meth:`detect_answers` in one pass over the open items'
        windows (each read once, not once per pass): an item a later message delivers is closed
        ``done``; a request still open is then closed ``answered`` where one of ours answered it. The
        same as the two passes one after the other (closing an item as done changes no other item's
        answer). Returns ``(delivered, answered)``.
        """
        internal = normalize_domains(internal_domains)
        names = self.directory() if answers else {}
        delivered = answered = 0
        with self._tx() as s:
            self._lock(s, ITEM_STATUS_LOCK)
            for batch in open_windows(s, kind=None if deliveries else "request", documents=documents):
                requests = [w for w in batch if w.item.type == "request"] if answers else []
                promises = _promises(s, {d for w in requests for d in w.documents}) if requests else {}
                askers = _Askers(names)
                closed: list[dict[str, Any]] = []
                for w in batch:
                    if deliveries and (change := _delivered(s, w, internal)):
                        closed.append(change)
                        delivered += 1
                    elif (
                        answers
                        and w.item.type == "request"
                        and (change := _answered(s, w, internal, names, promises, askers))
                    ):
                        closed.append(change)
                        answered += 1
                _close(s, closed)
        return delivered, answered


def _close(s: Session, closed: list[dict[str, Any]]) -> None:
    """Write a batch's closed items (an UPDATE by primary key for many rows, as the CRM import
    writes its changed rows; the history entries are in the session)."""
    if closed:
        s.execute(update(CommitmentRow), closed)


def _closing(c: OpenItem, status: CommitmentStatus, flags: list[ItemFlag]) -> dict[str, Any]:
    """The row values that close ``c`` with ``status`` (:func:`_close` writes them)."""
    return {"id": c.id, "status": status, "flags": flags, "snoozed_until": None, "updated_at": utcnow()}


def _delivered(s: Session, w: Window, internal: frozenset[str]) -> dict[str, Any] | None:
    """The change that closes ``w``'s item as done when its window delivers it
    (:func:`fulfilment_rules.find`), its history entry added to ``s``; ``None`` when it does not."""
    c = w.item
    hit = fulfilment_rules.find(c.action, c.owner, c.owner_email, w.later, internal)
    if hit is None:
        return None
    note = f"{hit.message_id}: {hit.quote}"
    s.add(history_entry(c.id, "status", c.status, CommitmentStatus.DONE, "fulfilment", note))
    flags = [*c.flags, ItemFlag.FULFILLED]
    return _closing(c, CommitmentStatus.DONE, flags)


def _answered(
    s: Session,
    w: Window,
    internal: frozenset[str],
    names: Mapping[str, str],
    promises: Mapping[int, list[answer_rules.Promise]],
    askers: _Askers,
) -> dict[str, Any] | None:
    """The change that closes ``w``'s request as answered when one of ours answered it
    (:func:`answer_rules.find_answer`), its history entry added to ``s``; ``None`` when none did."""
    c = w.item
    request = answer_rules.Request(
        action=c.action,
        quote=" ".join(e.quote for e in c.evidence),
        owner=c.owner,
        owner_email=c.owner_email,
        asker=askers.of(c),
    )
    near = [p for d in w.documents for p in promises.get(d, [])]
    hit = answer_rules.find_answer(request, w.later, near, internal, names)
    if hit is None:
        return None
    note = f"{hit.message_id}: {hit.quote}"
    if hit.commitment_id is not None:
        note = f"taken on by commitment {hit.commitment_id}: {note}"
    s.add(history_entry(c.id, "status", c.status, CommitmentStatus.ANSWERED, "answered", note))
    return _closing(c, CommitmentStatus.ANSWERED, c.flags)


class _Askers:
    """Who made each request (:meth:`of`), each document's speaker spans indexed once."""

    def __init__(self, directory: Mapping[str, str]) -> None:
        self.directory = directory
        self._spans: dict[int, tuple[list[int], list[dict[str, Any]]]] = {}

    def of(self, request: OpenItem) -> str | None:
        """The speaker of the request's evidence where its document has speakers, else the sender
        (:func:`~store.answer_rules.person_key`)."""
        doc = request.document
        at = min((e.char_start or 0) for e in request.evidence if e.document_id == doc.id)
        if doc.id not in self._spans:
            segments = sorted(doc.segments or [], key=lambda g: int(g.get("char_start", 0)))
            self._spans[doc.id] = ([int(g.get("char_start", 0)) for g in segments], segments)
        starts, segments = self._spans[doc.id]
        i = bisect.bisect_right(starts, at) - 1
        if i >= 0 and at < int(segments[i].get("char_end", 0)):
            g = segments[i]
            name = g.get("speaker")
            email = g.get("speaker_email") or self.directory.get(" ".join((name or "").lower().split()))
            if email or name:
                return answer_rules.person_key(email, name)
        who = sender(doc)
        return answer_rules.person_key(who.get("email"), who.get("name"))


def _promises(s: Session, documents: Collection[int]) -> dict[int, list[answer_rules.Promise]]:
    """Our grounded commitments stored from ``documents``, each placed by its first evidence in its
    own document, by document id (in commitment id order)."""
    c, d, e = CommitmentRow, DocumentRow, EvidenceRow
    out: dict[int, list[answer_rules.Promise]] = defaultdict(list)
    ids = sorted(documents)
    for i in range(0, len(ids), 500):
        # kind and status checked here, not in SQL: with ``type = 'commitment'`` there, a database
        # without statistics yet (a first run) reads every commitment by the type index per batch
        query = (
            select(c.id, c.document_id, c.action, c.flags, c.type, c.status, d.external_id)
            .join(d, d.id == c.document_id)
            .where(c.document_id.in_(ids[i : i + 500]))
            .order_by(c.id)
        )
        rows = [
            r
            for r in s.execute(query)
            if r.type == "commitment"
            and r.status not in (CommitmentStatus.DISMISSED, CommitmentStatus.WAITING)
            and ItemFlag.UNGROUNDED not in (r.flags or [])
            and ItemFlag.CUSTOMER_PROMISE not in (r.flags or [])
        ]
        first: dict[int, tuple[int, str]] = {}
        for j in range(0, len(rows), 500):
            placed = select(e.commitment_id, e.document_id, e.char_start, e.quote).where(
                e.commitment_id.in_([r.id for r in rows[j : j + 500]]), e.char_start.is_not(None)
            )
            own = {r.id: r.document_id for r in rows[j : j + 500]}
            for cid, doc_id, start, quote in s.execute(placed.order_by(e.id)):
                if cid not in first and doc_id == own[cid] and start is not None:
                    first[cid] = (start, quote)
        for r in rows:
            if r.id in first:
                start, quote = first[r.id]
                out[r.document_id].append(answer_rules.Promise(r.id, r.external_id, start, r.action, quote))
    return out
