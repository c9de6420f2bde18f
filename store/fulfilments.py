"""Items a later message delivered, and requests one of ours answered."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session, selectinload

from followthrough.types import CommitmentStatus, ItemFlag, ParticipantRole, normalize_domains
from store import answer_rules, fulfilment_rules
from store.base import _retry_conflicts
from store.commitments import history_entry
from store.crm import CrmStore
from store.models import CommitmentHistoryRow, CommitmentRow, DocumentRow, utcnow
from store.recording import SYSTEM_ACTORS


class FulfilmentStore(CrmStore):
    """Closes delivered items and answered requests (rules: :mod:`store.fulfilment_rules`,
    :mod:`store.answer_rules`)."""

    @_retry_conflicts
    def detect_fulfilments(
        self, internal_domains: set[str], *, documents: Collection[int] | None = None
    ) -> int:
        """Close open commitments and requests that a later message delivers (:mod:`store.fulfilment_rules`).

        A closed item gets status ``done``, flag ``fulfilled`` and a history
        entry (actor ``fulfilment``) naming the message and quoting it. Items a
        person has set a status on are left alone. Returns how many were closed.

        ``documents``: look only at items in these documents and their threads
        (what one new document can deliver: the API's one document); ``None``:
        every open item.
        """
        internal = normalize_domains(internal_domains)
        closed = 0
        with self._tx() as s:
            self._lock(s, "fulfilment")
            for c, later in self._open_with_later(s, skip_touched=True, documents=documents):
                hit = fulfilment_rules.find(c.action, c.owner, c.owner_email, later, internal)
                if hit is None:
                    continue
                old = c.status
                c.status = CommitmentStatus.DONE
                c.snoozed_until = None
                c.flags = [*(c.flags or []), ItemFlag.FULFILLED]
                c.updated_at = utcnow()
                s.add(
                    history_entry(
                        c.id,
                        "status",
                        old,
                        CommitmentStatus.DONE,
                        "fulfilment",
                        f"{hit.message_id}: {hit.quote}",
                    )
                )
                closed += 1
        return closed

    @_retry_conflicts
    def detect_answers(self, internal_domains: set[str], *, documents: Collection[int] | None = None) -> int:
        """Close open requests that one of ours answered later in their thread or meeting.

        The rules are in :mod:`store.answer_rules`: a reply that addresses the
        request, or a stored commitment of ours that takes it on (which stays
        the open item). A closed request gets status ``answered`` and a history
        entry (actor ``answered``) naming the message and quoting the answer.
        Requests a person has set a status on are left alone, so a reopened one
        stays open. Returns how many were closed. ``documents``: as for
        :meth:`detect_fulfilments`.
        """
        internal = normalize_domains(internal_domains)
        names = self.directory()
        closed = 0
        promises: dict[tuple[str, str | int], list[answer_rules.Promise]] = {}
        with self._tx() as s:
            self._lock(s, "fulfilment")
            for c, later in self._open_with_later(s, skip_touched=True, kind="request", documents=documents):
                doc = c.document
                key = (doc.source, doc.thread_id) if doc.thread_id else ("document", doc.id)
                if key not in promises:
                    promises[key] = _promises(s, doc)
                request = answer_rules.Request(
                    action=c.action,
                    quote=" ".join(e.quote for e in c.evidence),
                    owner=c.owner,
                    owner_email=c.owner_email,
                    asker=_asker(c, names),
                )
                hit = answer_rules.find_answer(request, later, promises[key], internal, names)
                if hit is None:
                    continue
                note = f"{hit.message_id}: {hit.quote}"
                if hit.commitment_id is not None:
                    note = f"taken on by commitment {hit.commitment_id}: {note}"
                s.add(history_entry(c.id, "status", c.status, CommitmentStatus.ANSWERED, "answered", note))
                c.status = CommitmentStatus.ANSWERED
                c.snoozed_until = None
                c.updated_at = utcnow()
                closed += 1
        return closed

    def _open_with_later(
        self,
        s: Session,
        *,
        skip_touched: bool,
        kind: str | None = None,
        documents: Collection[int] | None = None,
    ) -> Iterator[tuple[CommitmentRow, list[fulfilment_rules.LaterText]]]:
        """Each open item with the text that came after it (same document, then its thread).

        ``documents``: only items in these documents or in their threads.
        """
        query = (
            select(CommitmentRow)
            .where(CommitmentRow.status.in_((CommitmentStatus.OPEN, CommitmentStatus.SNOOZED)))
            .options(selectinload(CommitmentRow.document), selectinload(CommitmentRow.evidence))
        )
        if kind is not None:
            query = query.where(CommitmentRow.type == kind)
        if documents is not None:
            query = query.where(CommitmentRow.document_id.in_(_same_threads(s, documents)))
        rows = s.scalars(query).all()
        touched: set[int] = set()
        if skip_touched:
            touched = set(
                s.scalars(
                    select(CommitmentHistoryRow.commitment_id).where(
                        CommitmentHistoryRow.field == "status",
                        CommitmentHistoryRow.actor.not_in(SYSTEM_ACTORS),
                    )
                )
            )
        threads: dict[tuple[str, str], list[DocumentRow]] = {}
        for c in rows:
            if c.id in touched or ItemFlag.UNGROUNDED in (c.flags or []):
                continue
            doc = c.document
            after = max((e.char_end or 0) for e in c.evidence if e.document_id == doc.id)
            later = [_later_text(doc, after)]
            if doc.thread_id:
                key = (doc.source, doc.thread_id)
                if key not in threads:
                    threads[key] = list(
                        s.scalars(
                            select(DocumentRow)
                            .where(DocumentRow.source == key[0], DocumentRow.thread_id == key[1])
                            .order_by(DocumentRow.occurred_at, DocumentRow.id)
                        )
                    )
                later += [
                    _later_text(d, 0)
                    for d in threads[key]
                    if d.id != doc.id and d.occurred_at >= doc.occurred_at
                ]
            yield c, later


def _same_threads(s: Session, documents: Collection[int]) -> Select[int]:
    """Ids of ``documents`` and of every document in one of their threads (a subquery)."""
    ids = sorted(set(documents))
    keys = s.execute(
        select(DocumentRow.source, DocumentRow.thread_id).where(
            DocumentRow.id.in_(ids), DocumentRow.thread_id.is_not(None)
        )
    ).all()
    same = [and_(DocumentRow.source == src, DocumentRow.thread_id == thread) for src, thread in set(keys)]
    return select(DocumentRow.id).where(or_(DocumentRow.id.in_(ids), *same))


def _asker(request: CommitmentRow, directory: dict[str, str]) -> str | None:
    """Who made ``request``: the speaker of its evidence where the document has speakers, else the sender."""
    doc = request.document
    at = min((e.char_start or 0) for e in request.evidence if e.document_id == doc.id)
    for g in doc.segments or []:
        if int(g.get("char_start", 0)) <= at < int(g.get("char_end", 0)):
            name = g.get("speaker")
            email = g.get("speaker_email") or directory.get(" ".join((name or "").lower().split()))
            if email or name:
                return answer_rules.person_key(email, name)
    sender: dict[str, Any] = next(
        (p for p in doc.participants or [] if p.get("role") == ParticipantRole.SENDER), {}
    )
    return answer_rules.person_key(sender.get("email"), sender.get("name"))


def _promises(s: Session, doc: DocumentRow) -> list[answer_rules.Promise]:
    """Our grounded commitments from ``doc`` and the rest of its thread, each placed by its evidence."""
    query = (
        select(CommitmentRow)
        .join(DocumentRow, DocumentRow.id == CommitmentRow.document_id)
        .where(
            CommitmentRow.type == "commitment",
            CommitmentRow.status.not_in((CommitmentStatus.DISMISSED, CommitmentStatus.WAITING)),
        )
        .options(selectinload(CommitmentRow.document), selectinload(CommitmentRow.evidence))
    )
    if doc.thread_id:
        query = query.where(DocumentRow.source == doc.source, DocumentRow.thread_id == doc.thread_id)
    else:
        query = query.where(DocumentRow.id == doc.id)
    out: list[answer_rules.Promise] = []
    for c in s.scalars(query):
        flags = c.flags or []
        if ItemFlag.UNGROUNDED in flags or ItemFlag.CUSTOMER_PROMISE in flags:
            continue
        for e in c.evidence:
            if e.document_id == c.document_id and e.char_start is not None:
                where = c.document.external_id
                out.append(answer_rules.Promise(c.id, where, e.char_start, c.action, e.quote))
                break
    return out


def _later_text(doc: DocumentRow, start: int) -> fulfilment_rules.LaterText:
    """A document's sentences from ``start`` on, with speakers from its segments and its sender."""
    speakers = [
        (int(g.get("char_start", 0)), int(g.get("char_end", 0)), g.get("speaker"), g.get("speaker_email"))
        for g in doc.segments or []
    ]
    sender: dict[str, Any] = next(
        (p for p in doc.participants or [] if p.get("role") == ParticipantRole.SENDER), {}
    )
    return fulfilment_rules.LaterText(
        message_id=doc.external_id,
        sentences=fulfilment_rules.sentences(doc.text, start, speakers),
        sender=sender.get("name"),
        sender_email=sender.get("email"),
    )
