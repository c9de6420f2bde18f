"""Commitments in the store: listings, one commitment, status and deal edits, export."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from followthrough.types import CommitmentStatus, ItemFlag
from store import deal_rules
from store.base import NotFound, StoreCore, _retry_conflicts
from store.models import CommitmentDealLinkRow, CommitmentHistoryRow, CommitmentRow, DealRow, utcnow
from store.queries import build_select, eager, encode_cursor, fetch_views, to_view
from store.views import CommitmentFilter, CommitmentView, Page


class CommitmentStore(StoreCore):
    """Reads and edits commitments; every edit leaves a history entry."""

    def list_commitments(self, f: CommitmentFilter) -> Page:
        """One page in ``(due, id)`` order, undated last; ``next_cursor`` is None on the last page."""
        with self._tx() as s:
            views: list[CommitmentView] = []
            for undated in (False, True):
                stmt = build_select(f, undated=undated)
                if stmt is not None and len(views) <= f.limit:
                    views.extend(fetch_views(s, stmt.limit(f.limit + 1 - len(views)), f.as_of))
            nxt = None
            if len(views) > f.limit:
                last = views[f.limit - 1]
                nxt = encode_cursor(last.due, last.id)
            return Page(items=views[: f.limit], next_cursor=nxt)

    def get_commitment(self, cid: int, *, as_of: date | None = None) -> CommitmentView:
        """One commitment with its evidence, deal and history; :class:`NotFound` if unknown."""
        with self._tx() as s:
            return self._view(s, cid, as_of)

    def _view(self, s: Session, cid: int, as_of: date | None) -> CommitmentView:
        row = s.scalars(select(CommitmentRow).where(CommitmentRow.id == cid).options(*eager())).first()
        if row is None:
            raise NotFound(f"no commitment with id {cid}")
        history = list(
            s.scalars(
                select(CommitmentHistoryRow)
                .where(CommitmentHistoryRow.commitment_id == cid)
                .order_by(CommitmentHistoryRow.id)
            )
        )
        return to_view(row, as_of or date.today(), history)

    def _lock_commitment(self, s: Session, cid: int) -> None:
        """Hold commitment ``cid`` against every other writer until this transaction ends.

        Call it first in an edit, before reading the values the edit replaces,
        so that the "old" value written to the history is the one replaced:
        PostgreSQL locks the row (``SELECT ... FOR UPDATE``); SQLite has no row
        locks, so the transaction starts with a write (a no-op ``UPDATE`` of
        the row), which takes the database's write lock there and then, as
        ``BEGIN IMMEDIATE`` would: the reads after it see the latest commit and
        nobody else writes until the commit. :class:`NotFound` if there is no
        such commitment.
        """
        c = CommitmentRow
        if self.engine.dialect.name == "postgresql":
            found = s.scalar(select(c.id).where(c.id == cid).with_for_update()) is not None
        else:
            touched = s.execute(
                update(c).where(c.id == cid).values(updated_at=c.updated_at),
                execution_options={"synchronize_session": False},
            )
            found = bool(getattr(touched, "rowcount", 0))
        if not found:
            raise NotFound(f"no commitment with id {cid}")

    @_retry_conflicts
    def set_status(
        self,
        cid: int,
        status: CommitmentStatus,
        *,
        until: date | None = None,
        actor: str = "cli",
        note: str | None = None,
        as_of: date | None = None,
    ) -> CommitmentView:
        """Set ``open``/``review``/``done``/``dismissed``/``snoozed``/``waiting``.

        ``status`` is a :class:`CommitmentStatus` (or its string value: another string is a
        ``ValueError``). ``until`` (snoozed only) is the day the item comes back; ``None`` snoozes
        it indefinitely.
        The old values are read with the commitment locked (:meth:`_lock_commitment`), so two
        concurrent edits leave a history where each entry's ``old`` is the previous one's ``new``.
        """
        status = CommitmentStatus(status)
        with self._tx() as s:
            self._lock_commitment(s, cid)
            row = s.get(CommitmentRow, cid)
            if row is None:
                raise NotFound(f"no commitment with id {cid}")
            new_until = until if status == CommitmentStatus.SNOOZED else None
            if row.status != status:
                s.add(history_entry(cid, "status", row.status, status, actor, note))
            if row.snoozed_until != new_until:
                s.add(history_entry(cid, "snoozed_until", row.snoozed_until, new_until, actor, note))
            if row.status == status and row.snoozed_until == new_until and note:
                s.add(history_entry(cid, "note", None, None, actor, note))
            row.status = status
            row.snoozed_until = new_until
            row.updated_at = utcnow()
            s.flush()
            return self._view(s, cid, as_of)

    @_retry_conflicts
    def set_deal(
        self, cid: int, deal_crm_id: str | None, *, actor: str = "cli", as_of: date | None = None
    ) -> CommitmentView:
        """Link a commitment to a deal by hand (method ``manual``, confidence 1.0).

        ``None`` unlinks it for good: automatic linking will not link it again. The old link is
        read with the commitment locked, as in :meth:`set_status`.
        """
        with self._tx() as s:
            self._lock_commitment(s, cid)
            row = s.scalars(
                select(CommitmentRow).where(CommitmentRow.id == cid).options(selectinload(CommitmentRow.link))
            ).first()
            if row is None:
                raise NotFound(f"no commitment with id {cid}")
            deal = None
            if deal_crm_id is not None:
                deal = s.scalars(select(DealRow).where(DealRow.crm_id == deal_crm_id)).first()
                if deal is None:
                    raise NotFound(f"no deal with CRM id {deal_crm_id!r}")
            old = None
            if row.link is not None and row.link.deal_id is not None:
                old = s.scalar(select(DealRow.crm_id).where(DealRow.id == row.link.deal_id))
                s.delete(row.link)
                s.flush()
            elif row.link is not None:
                s.delete(row.link)
                s.flush()
            s.add(
                CommitmentDealLinkRow(
                    commitment_id=cid,
                    deal_id=deal.id if deal else None,
                    method=deal_rules.MANUAL,
                    confidence=deal_rules.CONFIDENCE[deal_rules.MANUAL],
                    created_at=utcnow(),
                )
            )
            s.add(history_entry(cid, "deal", old, deal_crm_id, actor, None))
            row.deal_id = deal.id if deal else None
            row.updated_at = utcnow()
            s.flush()
            s.expire(row)
            return self._view(s, cid, as_of)

    def export_rows(
        self, *, include_ungrounded: bool = False, batch: int = 500
    ) -> Iterator[dict[str, object]]:
        """One flat dict per commitment, in id order (ungrounded ones only when asked).

        Keys: ``message_id`` (the source document's external id), ``type``,
        ``evidence`` (the first quote), ``owner`` (email where resolved, else the
        name), ``due`` (ISO date or None), ``status``, ``deal`` (CRM id or None),
        ``id``, ``action``, ``due_text``, ``counterparty``, ``counterparty_email``,
        ``owner_name``, ``source``,
        ``thread_id``, ``char_start``, ``char_end``, ``alignment``,
        ``confidence``, ``link_method``, ``occurred_at`` (ISO), ``flags``.
        """
        last_id = 0
        while True:
            with self._tx() as s:
                rows = s.scalars(
                    select(CommitmentRow)
                    .where(CommitmentRow.id > last_id)
                    .order_by(CommitmentRow.id)
                    .limit(batch)
                    .options(*eager())
                ).all()
                out = []
                for c in rows:
                    last_id = c.id
                    if not include_ungrounded and ItemFlag.UNGROUNDED in (c.flags or []):
                        continue
                    out.append(_export_row(c))
            if not rows:
                return
            yield from out


def history_entry(
    cid: int, fld: str, old: object, new: object, actor: str, note: str | None
) -> CommitmentHistoryRow:
    return CommitmentHistoryRow(
        commitment_id=cid,
        at=utcnow(),
        field=fld,
        old=None if old is None else str(old),
        new=None if new is None else str(new),
        actor=actor,
        note=note,
    )


def _export_row(c: CommitmentRow) -> dict[str, object]:
    ev = c.evidence[0] if c.evidence else None
    deal = c.link.deal if c.link is not None else None
    return {
        "id": c.id,
        "message_id": c.document.external_id,
        "type": c.type,
        "evidence": ev.quote if ev else None,
        "owner": c.owner_email or c.owner,
        "due": c.due.isoformat() if c.due else None,
        "status": c.status,
        "deal": deal.crm_id if deal else None,
        "action": c.action,
        "due_text": c.due_text,
        "counterparty": c.counterparty,
        "counterparty_email": c.counterparty_email,
        "owner_name": c.owner,
        "source": c.source,
        "thread_id": c.thread_id,
        "char_start": ev.char_start if ev else None,
        "char_end": ev.char_end if ev else None,
        "alignment": ev.alignment if ev else None,
        "confidence": c.confidence,
        "link_method": c.link.method if c.link is not None else None,
        "occurred_at": c.document.occurred_at.isoformat(),
        "flags": list(c.flags or []),
    }
