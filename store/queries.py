"""Commitment listings: filters, the stable cursor, and rows → views.

Listings are ordered by ``(due, id)`` with undated items last. That order does
not move when a commitment's status or priority changes, so a cursor (an
opaque base64 of the last row's key) pages through every row exactly once.
Sorting by priority is for the CLI to do on a fetched page.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.orm import selectinload

from followthrough.errors import StoreError
from store.models import (
    CommitmentDealLinkRow,
    CommitmentHistoryRow,
    CommitmentRow,
    DealRow,
    EvidenceRow,
)
from store.priority import Stake, overdue_days, score
from store.views import CommitmentFilter, CommitmentView, DealRef, EvidenceView, HistoryView

STATUSES = ("open", "done", "dismissed", "snoozed")


class InvalidCursor(StoreError, ValueError):
    """A pagination cursor that this store did not hand out."""


def effective_status(status: str, snoozed_until: date | None, as_of: date) -> str:
    """A snoozed item whose ``until`` has come (``until <= as_of``) counts as open."""
    if status == "snoozed" and snoozed_until is not None and snoozed_until <= as_of:
        return "open"
    return status


def open_clause(as_of: date) -> ColumnElement[bool]:
    c = CommitmentRow
    return or_(
        c.status == "open",
        and_(c.status == "snoozed", c.snoozed_until.is_not(None), c.snoozed_until <= as_of),
    )


def encode_cursor(due: date | None, cid: int) -> str:
    raw = json.dumps([due.isoformat() if due else None, cid], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[date | None, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        due_s, cid = json.loads(raw)
        due = date.fromisoformat(due_s) if due_s is not None else None
        if not isinstance(cid, int):
            raise TypeError(cid)
        return due, cid
    except (binascii.Error, ValueError, TypeError, json.JSONDecodeError) as e:
        raise InvalidCursor(f"invalid cursor {cursor!r}: use the next_cursor of a previous page") from e


def eager() -> list[Any]:
    return [
        selectinload(CommitmentRow.document),
        selectinload(CommitmentRow.evidence).selectinload(EvidenceRow.document),
        selectinload(CommitmentRow.link)
        .selectinload(CommitmentDealLinkRow.deal)
        .selectinload(DealRow.account),
    ]


def build_select(f: CommitmentFilter) -> Select[Any]:
    c = CommitmentRow
    link = CommitmentDealLinkRow
    stmt = select(c).outerjoin(link, link.commitment_id == c.id)
    conds: list[ColumnElement[bool]] = []
    status = (f.status or "all").lower()
    if status == "open":
        conds.append(open_clause(f.as_of))
    elif status == "snoozed":
        conds.append(and_(c.status == "snoozed", or_(c.snoozed_until.is_(None), c.snoozed_until > f.as_of)))
    elif status in ("done", "dismissed"):
        conds.append(c.status == status)
    elif status != "all":
        raise StoreError(f"unknown status {f.status!r}: use open, done, dismissed, snoozed or all")
    if f.owner:
        o = f.owner.strip().lower()
        conds.append(or_(func.lower(c.owner_email) == o, func.lower(c.owner) == o))
    if f.deal:
        stmt = stmt.outerjoin(DealRow, DealRow.id == link.deal_id)
        conds.append(DealRow.crm_id == f.deal)
    if f.overdue:
        conds.append(and_(c.due.is_not(None), c.due < f.as_of, open_clause(f.as_of)))
    if f.due_before:
        conds.append(and_(c.due.is_not(None), c.due < f.due_before))
    if f.due_within_days is not None:
        conds.append(and_(c.due >= f.as_of, c.due <= f.as_of + timedelta(days=f.due_within_days)))
    if f.unlinked:
        conds.append(link.deal_id.is_(None))
    if f.source:
        conds.append(c.source == f.source)
    if f.type:
        conds.append(c.type == f.type)
    if f.cursor:
        last_due, last_id = decode_cursor(f.cursor)
        if last_due is None:
            conds.append(and_(c.due.is_(None), c.id > last_id))
        else:
            conds.append(
                or_(
                    c.due.is_(None),
                    c.due > last_due,
                    and_(c.due == last_due, c.id > last_id),
                )
            )
    if conds:
        stmt = stmt.where(and_(*conds))
    return stmt.order_by(case((c.due.is_(None), 1), else_=0), c.due, c.id)


def deal_ref(deal: DealRow) -> DealRef:
    return DealRef(
        crm_id=deal.crm_id,
        name=deal.name,
        account=deal.account.name,
        stage=deal.stage,
        amount=deal.amount,
        close_date=deal.close_date,
        tier=deal.account.tier,
    )


def to_view(
    c: CommitmentRow, as_of: date, history: list[CommitmentHistoryRow] | None = None
) -> CommitmentView:
    status = effective_status(c.status, c.snoozed_until, as_of)
    is_open = status == "open"
    deal = c.link.deal if c.link is not None else None
    priority, reasons = score(
        Stake(
            type=c.type,
            due=c.due,
            is_open=is_open,
            confidence=c.confidence,
            amount=deal.amount if deal else None,
            stage=deal.stage if deal else None,
            tier=deal.account.tier if deal else None,
        ),
        as_of,
    )
    doc = c.document
    return CommitmentView(
        id=c.id,
        type=c.type,
        status=status,
        owner=c.owner,
        owner_email=c.owner_email,
        counterparty=c.counterparty,
        counterparty_email=c.counterparty_email,
        action=c.action,
        due=c.due,
        due_text=c.due_text,
        confidence=c.confidence,
        flags=list(c.flags or []),
        source=c.source,
        message_id=doc.external_id,
        thread_id=c.thread_id,
        document_id=doc.id,
        document_title=doc.title,
        occurred_at=doc.occurred_at,
        evidence=[
            EvidenceView(
                quote=e.quote,
                char_start=e.char_start,
                char_end=e.char_end,
                alignment=e.alignment,
                message_id=e.document.external_id,
                source=e.document.source,
                document_id=e.document_id,
                occurred_at=e.document.occurred_at,
            )
            for e in c.evidence
        ],
        deal=deal_ref(deal) if deal is not None else None,
        link_method=c.link.method if c.link is not None else None,
        link_confidence=c.link.confidence if c.link is not None else None,
        snoozed_until=c.snoozed_until,
        priority=priority,
        priority_reasons=reasons,
        overdue_days=overdue_days(c.due, as_of, is_open),
        created_at=c.created_at,
        updated_at=c.updated_at,
        history=[
            HistoryView(at=h.at, field=h.field, old=h.old, new=h.new, actor=h.actor, note=h.note)
            for h in (history or [])
        ],
    )


def health(open_count: int, overdue_count: int, due_soon_count: int) -> str:
    """``at risk`` (something overdue), ``attention`` (due within 3 days), ``on track``, ``clear``."""
    if overdue_count:
        return "at risk"
    if due_soon_count:
        return "attention"
    if open_count:
        return "on track"
    return "clear"
