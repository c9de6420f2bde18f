"""Items a later message delivered, and requests someone on our side answered."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from followthrough.types import CommitmentStatus, ItemFlag
from store import fulfilment_rules
from store.base import _retry_conflicts
from store.commitments import history_entry
from store.crm import CrmStore
from store.models import CommitmentHistoryRow, CommitmentRow, DocumentRow, utcnow
from store.recording import SYSTEM_ACTORS


class FulfilmentStore(CrmStore):
    """Closes delivered items; finds answered requests (the rules are in :mod:`store.fulfilment_rules`)."""

    @_retry_conflicts
    def detect_fulfilments(self, internal_domains: set[str]) -> int:
        """Close open commitments and requests that a later message delivers (:mod:`store.fulfilment_rules`).

        A closed item gets status ``done``, flag ``fulfilled`` and a history
        entry (actor ``fulfilment``) naming the message and quoting it. Items a
        person has set a status on are left alone. Returns how many were closed.
        """
        internal = {d.lower().lstrip("@") for d in internal_domains if d}
        closed = 0
        with self._tx() as s:
            self._lock(s, "fulfilment")
            for c, later in self._open_with_later(s, skip_touched=True):
                hit = fulfilment_rules.find(c.action, c.owner, c.owner_email, later, internal)
                if hit is None:
                    continue
                old = c.status
                c.status = CommitmentStatus.DONE
                c.snoozed_until = None
                c.flags = [*(c.flags or []), ItemFlag.FULFILLED]
                c.updated_at = utcnow()
                s.add(
                    history_entry(c.id, "status", old, "done", "fulfilment", f"{hit.message_id}: {hit.quote}")
                )
                closed += 1
        return closed

    def answered_requests(self, internal_domains: set[str]) -> dict[int, str]:
        """Open requests that someone on our side replied to later: id → the reply's message id.

        A reply is any sentence by an internal participant after the request,
        later in its document or in a later document of its thread. Requests
        not in the result are the unanswered inbound requests.
        """
        internal = {d.lower().lstrip("@") for d in internal_domains if d}
        names = self.directory()
        out: dict[int, str] = {}
        with self._tx() as s:
            for c, later in self._open_with_later(s, skip_touched=False, kind="request"):
                hit = fulfilment_rules.first_reply(later, internal, names)
                if hit is not None:
                    out[c.id] = hit.message_id
        return out

    def _open_with_later(
        self, s: Session, *, skip_touched: bool, kind: str | None = None
    ) -> Iterator[tuple[CommitmentRow, list[fulfilment_rules.LaterText]]]:
        """Each open item with the text that came after it (same document, then its thread)."""
        query = (
            select(CommitmentRow)
            .where(CommitmentRow.status.in_(("open", "snoozed")))
            .options(selectinload(CommitmentRow.document), selectinload(CommitmentRow.evidence))
        )
        if kind is not None:
            query = query.where(CommitmentRow.type == kind)
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
            if c.id in touched or "ungrounded" in (c.flags or []):
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


def _later_text(doc: DocumentRow, start: int) -> fulfilment_rules.LaterText:
    """A document's sentences from ``start`` on, with speakers from its segments and its sender."""
    speakers = [
        (int(g.get("char_start", 0)), int(g.get("char_end", 0)), g.get("speaker"), g.get("speaker_email"))
        for g in doc.segments or []
    ]
    sender: dict[str, Any] = next((p for p in doc.participants or [] if p.get("role") == "sender"), {})
    return fulfilment_rules.LaterText(
        message_id=doc.external_id,
        sentences=fulfilment_rules.sentences(doc.text, start, speakers),
        sender=sender.get("name"),
        sender_email=sender.get("email"),
    )
