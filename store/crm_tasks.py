"""Commitments pushed to a CRM as tasks: what ``crm push`` reads, and what it remembers having pushed.

:meth:`CrmTaskStore.crm_push_items` lists, for one CRM source, every commitment the push has to
look at: the open ones (open, or snoozed past their date) linked to a deal, and every one already
pushed to that source whatever its status now (a closed one has its task completed). Each comes
with what a task shows (action, due date, owner, the deal's CRM id, its own first evidence quote
and where it was said) and what was pushed before (task id, fingerprint). :meth:`CrmTaskStore.record_crm_task`
keeps one row per commitment and source, so a second push updates instead of creating.
:meth:`CrmTaskStore.record_pending_crm_task` writes that row *before* the CRM is asked to create the
task (``task_id`` ``None``: pending), so that a push interrupted between the CRM's create and the
local commit knows to look for the task it may have created. The store only remembers; it never
talks to the CRM.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from followthrough.types import CommitmentStatus, ItemType, ParticipantRole, SourceKind
from store.base import StoreCore, _retry_conflicts
from store.crm import crm_company_domains
from store.models import AccountRow, CommitmentRow, CrmTaskRow, DealRow, DocumentRow, EvidenceRow, utcnow
from store.queries import effective_status, open_clause, own_evidence_first

PAGE = 500
"""Commitments read per transaction by :meth:`CrmTaskStore.crm_push_items`."""


@dataclass(frozen=True)
class PushedTask:
    """A task pushed before: the CRM's id (``None``: pending, the CRM was asked to create it and
    the answer never recorded), the deal it is on, the fingerprint of what was sent (``""`` while
    pending), whether as completed."""

    task_id: str | None
    deal_crm_id: str
    fingerprint: str
    completed: bool


@dataclass(frozen=True)
class PushItem:
    """One commitment as ``crm push`` sees it.

    ``status`` is the effective status on ``as_of`` (a snooze that has ended is ``open``);
    ``deal_crm_id`` its linked deal's CRM id (``None``: unlinked now); ``quote`` its own first
    evidence quote, verbatim, with the document it is from: ``title`` (an email's subject, a
    channel or meeting name), ``sender`` (the sender or first speaker, as ``Name <email>``),
    ``occurred_at`` and ``source`` (``email``, ``slack``, ``meeting``). ``pushed``: the task pushed
    to this source before, or ``None``.
    """

    commitment_id: int
    type: ItemType
    status: CommitmentStatus
    action: str
    due: date | None
    owner: str | None
    owner_email: str | None
    deal_crm_id: str | None
    quote: str | None
    title: str | None
    sender: str | None
    occurred_at: datetime | None
    source: SourceKind | None
    pushed: PushedTask | None


def _sender(participants: list[Any]) -> str | None:
    """``Name <email>`` (or either) of the first sender, else the first speaker, of a document."""
    people = [p for p in participants if isinstance(p, dict)]
    for role in (ParticipantRole.SENDER, ParticipantRole.SPEAKER):
        for p in people:
            if p.get("role") == role.value:
                name, email = p.get("name"), p.get("email")
                if name and email:
                    return f"{name} <{email}>"
                if name or email:
                    return str(name or email)
    return None


def _item(c: CommitmentRow, crm_id: str | None, task: CrmTaskRow | None, as_of: date) -> PushItem:
    evidence: list[EvidenceRow] = own_evidence_first(c)
    first = evidence[0] if evidence else None
    doc: DocumentRow | None = first.document if first is not None else c.document
    return PushItem(
        commitment_id=c.id,
        type=c.type,
        status=effective_status(c.status, c.snoozed_until, as_of),
        action=c.action,
        due=c.due,
        owner=c.owner,
        owner_email=c.owner_email,
        deal_crm_id=crm_id,
        quote=first.quote if first is not None else None,
        title=doc.title if doc is not None else None,
        sender=_sender(doc.participants or []) if doc is not None else None,
        occurred_at=doc.occurred_at if doc is not None else None,
        source=doc.source if doc is not None else None,
        pushed=PushedTask(task.task_id, task.deal_crm_id, task.fingerprint, task.completed)
        if task is not None
        else None,
    )


class CrmTaskStore(StoreCore):
    """Tasks pushed to CRM sources, one per commitment and source."""

    def crm_push_items(self, source: str, *, as_of: date | None = None) -> Iterator[PushItem]:
        """The commitments a push to ``source`` (a ``[[source]]`` name) looks at, in id order: open
        on ``as_of`` (default today) and linked to a deal, or already pushed to ``source``.

        Read :data:`PAGE` commitments per transaction, so that a store of any size streams.
        """
        day = as_of or date.today()
        after = 0
        c = CommitmentRow
        while True:
            with self._tx() as s:
                stmt = (
                    select(c, DealRow.crm_id, CrmTaskRow)
                    .outerjoin(DealRow, DealRow.id == c.deal_id)
                    .outerjoin(
                        CrmTaskRow, and_(CrmTaskRow.commitment_id == c.id, CrmTaskRow.source == source)
                    )
                    .where(
                        c.id > after,
                        or_(and_(open_clause(day), c.deal_id.is_not(None)), CrmTaskRow.id.is_not(None)),
                    )
                    .order_by(c.id)
                    .limit(PAGE)
                    .options(
                        joinedload(c.document),
                        selectinload(c.evidence).joinedload(EvidenceRow.document),
                        selectinload(c.merged_evidence).joinedload(EvidenceRow.document),
                    )
                )
                rows = s.execute(stmt).unique().all()
                items = [_item(row[0], row[1], row[2], day) for row in rows]
            yield from items
            if len(rows) < PAGE:
                return
            after = items[-1].commitment_id

    @_retry_conflicts
    def record_crm_task(
        self,
        commitment_id: int,
        source: str,
        *,
        kind: str,
        deal_crm_id: str,
        task_id: str,
        fingerprint: str,
        completed: bool,
    ) -> None:
        """Remember that ``commitment_id``'s task in ``source`` (of ``kind``) is ``task_id`` on deal
        ``deal_crm_id``, pushed with ``fingerprint`` (``completed``: as completed); replaces what was
        remembered."""
        with self._tx() as s:
            self._lock(s, f"crm_task:{source}:{commitment_id}")
            row = s.scalars(
                select(CrmTaskRow).where(
                    CrmTaskRow.commitment_id == commitment_id, CrmTaskRow.source == source
                )
            ).first()
            if row is None:
                row = CrmTaskRow(commitment_id=commitment_id, source=source)
                s.add(row)
            row.kind = kind
            row.deal_crm_id = deal_crm_id
            row.task_id = task_id
            row.fingerprint = fingerprint
            row.completed = completed
            row.pushed_at = utcnow()

    @_retry_conflicts
    def record_pending_crm_task(
        self, commitment_id: int, source: str, *, kind: str, deal_crm_id: str
    ) -> None:
        """Remember, before the CRM is asked to create it, that ``commitment_id``'s task in ``source`` is
        being created on ``deal_crm_id``: a row without task id and with an empty fingerprint. Nothing
        changes when a row is already there."""
        with self._tx() as s:
            self._lock(s, f"crm_task:{source}:{commitment_id}")
            found = s.scalar(
                select(CrmTaskRow.id).where(
                    CrmTaskRow.commitment_id == commitment_id, CrmTaskRow.source == source
                )
            )
            if found is None:
                s.add(
                    CrmTaskRow(
                        commitment_id=commitment_id,
                        source=source,
                        kind=kind,
                        deal_crm_id=deal_crm_id,
                        task_id=None,
                        fingerprint="",
                        completed=False,
                        pushed_at=utcnow(),
                    )
                )

    @_retry_conflicts
    def forget_pending_crm_task(self, commitment_id: int, source: str) -> bool:
        """Drop ``commitment_id``'s pending row in ``source`` (one without task id); whether there was one."""
        with self._tx() as s:
            row = s.scalars(
                select(CrmTaskRow).where(
                    CrmTaskRow.commitment_id == commitment_id,
                    CrmTaskRow.source == source,
                    CrmTaskRow.task_id.is_(None),
                )
            ).first()
            if row is None:
                return False
            s.delete(row)
            return True

    def crm_tasks_pushed(self, source: str) -> int:
        """How many commitments have a task in ``source`` (pending ones not counted)."""
        with self._tx() as s:
            return int(
                s.scalar(
                    select(func.count(CrmTaskRow.id)).where(
                        CrmTaskRow.source == source, CrmTaskRow.task_id.is_not(None)
                    )
                )
                or 0
            )

    def crm_customer_domains(self) -> set[str]:
        """The email domains of the CRM's accounts (customers), lowercased, less our own company's
        (:func:`store.crm.crm_company_domains`): an owner at one of them is the customer's person."""
        with self._tx() as s:
            domains = {
                str(d).strip().lower()
                for row in s.scalars(select(AccountRow.domains))
                for d in (row or [])
                if str(d).strip()
            }
            return domains - crm_company_domains(s)
