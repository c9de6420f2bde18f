"""What the dashboard asks the store besides the listings: the review queue, a thread, deals' last touch.

:class:`DashboardStore` is one part of :class:`store.Store`:

- :meth:`~DashboardStore.review_ids`: the items a person should look at because the extractor was
  least sure of them, newest first: status ``review`` (held for a person), an open or waiting item
  flagged ``unconfirmed`` / ``owner_not_participant`` / ``instruction`` / ``ungrounded``, or one whose
  confidence is under :data:`REVIEW_CONFIDENCE`. An item leaves the queue once a person confirmed or
  corrected it (a history entry by ``web:``, ``api:`` or ``cli``, or one noted :data:`CONFIRMED`).
- :meth:`~DashboardStore.thread_documents`: the messages of a thread around one of them, in time order.
- :meth:`~DashboardStore.deal_last_touches`: per deal, the latest message or meeting that an item on
  it was seen in.

Read only; every method runs in its own transaction.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

from sqlalchemy import ColumnElement, Text, and_, cast, exists, func, or_, select

from followthrough.types import CommitmentStatus, ItemFlag, ParticipantRole
from store.base import StoreCore
from store.models import CommitmentHistoryRow, CommitmentRow, DealRow, DocumentRow, EvidenceRow

REVIEW_CONFIDENCE = 0.75
"""Items extracted with a confidence under this are in the review queue until a person confirms them."""
CONFIRMED = "confirmed"
"""The history note of a confirmation (``set_status(..., note=CONFIRMED)``)."""
REVIEW_FLAGS = (
    ItemFlag.UNCONFIRMED,
    ItemFlag.OWNER_NOT_PARTICIPANT,
    ItemFlag.INSTRUCTION,
    ItemFlag.UNGROUNDED,
)
"""Flags that put an open (or waiting) item in the review queue."""
_REVIEWABLE = (CommitmentStatus.OPEN, CommitmentStatus.WAITING, CommitmentStatus.SNOOZED)
THREAD_LIMIT = 20
"""Messages of a thread shown around an item's own (half before, half after)."""


@dataclass(frozen=True)
class ThreadMessage:
    """One message of a thread as the Item page shows it: ``document_id``, its ``source``, when it
    ``occurred_at`` (UTC), its ``title`` (subject, meeting name) and ``text`` (the new content only),
    and the sender's ``name``/``email`` where known."""

    document_id: int
    source: str
    occurred_at: datetime
    title: str | None
    text: str
    sender: str | None


def _flagged(flag: ItemFlag) -> ColumnElement[bool]:
    """``flags`` (a JSON array of strings) holds ``flag``: a text match of the quoted value, the same on
    SQLite and PostgreSQL (flag values are plain words)."""
    return cast(CommitmentRow.flags, Text).like(f'%"{flag.value}"%')


def _touched_by_a_person() -> ColumnElement[bool]:
    h = CommitmentHistoryRow
    return exists(
        select(h.id).where(
            h.commitment_id == CommitmentRow.id,
            or_(
                h.actor.like("web:%"),
                h.actor.like("api:%"),
                h.actor == "cli",
                h.note == CONFIRMED,
            ),
        )
    )


def review_clause() -> ColumnElement[bool]:
    """The SQL condition of the review queue (see the module docstring)."""
    c = CommitmentRow
    unsure = or_(c.confidence < REVIEW_CONFIDENCE, *(_flagged(f) for f in REVIEW_FLAGS))
    return and_(
        or_(c.status == CommitmentStatus.REVIEW, and_(c.status.in_(_REVIEWABLE), unsure)),
        ~_touched_by_a_person(),
    )


class DashboardStore(StoreCore):
    """The dashboard's own read queries (see the module docstring)."""

    CONFIRMED_NOTE: ClassVar[str] = CONFIRMED
    """The note that marks a confirmation in an item's history (pass it to ``set_status``)."""

    def review_ids(self, *, limit: int = 50, offset: int = 0) -> tuple[list[int], int]:
        """The ids of a page of the review queue, newest first (by the time the item was stored, then
        id), and how many the queue holds in all. ``limit`` 1..500, ``offset`` ≥ 0."""
        limit = max(1, min(limit, 500))
        offset = max(0, offset)
        c = CommitmentRow
        with self._tx() as s:
            total = s.scalar(select(func.count()).select_from(c).where(review_clause())) or 0
            ids = list(
                s.scalars(
                    select(c.id)
                    .where(review_clause())
                    .order_by(c.created_at.desc(), c.id.desc())
                    .limit(limit)
                    .offset(offset)
                )
            )
        return ids, total

    def thread_documents(self, document_id: int, *, limit: int = THREAD_LIMIT) -> list[ThreadMessage]:
        """The messages of ``document_id``'s thread around it (itself included), oldest first: up to
        ``limit``, half before and half after it. A document in no thread is its own thread; an
        unknown id gives ``[]``."""
        d = DocumentRow
        with self._tx() as s:
            doc = s.get(d, document_id)
            if doc is None:
                return []
            if not doc.thread_id:
                return [_message(doc)]
            same = and_(d.thread_id == doc.thread_id, d.source == doc.source)
            at, i = doc.occurred_at, doc.id
            earlier = or_(d.occurred_at < at, and_(d.occurred_at == at, d.id < i))
            later = or_(d.occurred_at > at, and_(d.occurred_at == at, d.id > i))
            before = list(
                s.scalars(
                    select(d)
                    .where(same, earlier)
                    .order_by(d.occurred_at.desc(), d.id.desc())
                    .limit(limit // 2)
                )
            )
            rest = max(0, limit - len(before) - 1)
            after = list(s.scalars(select(d).where(same, later).order_by(d.occurred_at, d.id).limit(rest)))
            return [_message(r) for r in [*reversed(before), doc, *after]]

    def deal_last_touches(self, crm_ids: Collection[str]) -> dict[str, datetime]:
        """Deal CRM id → the time of the latest message or meeting an item linked to it was seen in
        (its own or merged evidence); deals with none are left out."""
        wanted = sorted(set(crm_ids))
        if not wanted:
            return {}
        c, e, d, deal = CommitmentRow, EvidenceRow, DocumentRow, DealRow
        out: dict[str, datetime] = {}
        with self._tx() as s:
            for i in range(0, len(wanted), 500):
                rows = s.execute(
                    select(deal.crm_id, func.max(d.occurred_at))
                    .join(c, c.deal_id == deal.id)
                    .join(e, e.commitment_id == c.id)
                    .join(d, d.id == e.document_id)
                    .where(deal.crm_id.in_(wanted[i : i + 500]))
                    .group_by(deal.crm_id)
                )
                for crm_id, when in rows:
                    if when is not None:
                        out[crm_id] = _utc(when)
        return out


def _utc(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _message(doc: DocumentRow) -> ThreadMessage:
    sender = None
    for p in doc.participants or []:
        if isinstance(p, dict) and p.get("role") == ParticipantRole.SENDER:
            sender = p.get("name") or p.get("email")
            break
    return ThreadMessage(
        document_id=doc.id,
        source=str(doc.source),
        occurred_at=doc.occurred_at,
        title=doc.title,
        text=doc.text,
        sender=sender,
    )


__all__ = ["CONFIRMED", "REVIEW_CONFIDENCE", "DashboardStore", "ThreadMessage"]
