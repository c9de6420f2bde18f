"""Commitments in the store: listings, one commitment, status edits, corrections, export."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from followthrough.errors import StoreError
from followthrough.types import (
    CommitmentStatus,
    ItemFlag,
    ItemType,
    is_internal,
    normalize_domains,
    status_refusal,
)
from store import deal_rules
from store.admission import EMAIL_MAX, clean
from store.base import NotFound, StoreCore, _retry_conflicts
from store.crm import crm_company_domains
from store.lookup import Unresolved, find_deal, find_person, known_owners, listed, scope_of
from store.models import (
    CommitmentDealLinkRow,
    CommitmentHistoryRow,
    CommitmentRow,
    DealRow,
    utcnow,
)
from store.queries import (
    Ranked,
    eager,
    fetch_ranked,
    fetch_summaries,
    fetch_views,
    open_ranked,
    own_evidence_first,
    read_page,
    to_view,
)
from store.views import CommitmentFilter, CommitmentView, Page, PersonView, SummaryPage


class InvalidStatus(StoreError, ValueError):
    """A status the item cannot be given (:func:`followthrough.types.status_refusal` says why)."""


def _check_status(
    status: CommitmentStatus, item_type: ItemType, *, customer_promise: bool | None = None
) -> None:
    refusal = status_refusal(status, item_type, customer_promise=customer_promise)
    if refusal is not None:
        raise InvalidStatus(refusal)


def side_status(row: CommitmentRow, domains: set[str]) -> CommitmentStatus:
    """The status ``row`` takes once its owner is corrected: whose promise it is decides.

    A commitment waiting on the customer whose owner is now one of ours (an email at one of
    ``domains``, our company's) is ``open``; an open one whose owner is now someone else's (an
    email outside them) is ``waiting``. Any other status, a request, an owner with no email or no
    ``domains`` to tell by: the status it has.
    """
    if row.type != "commitment" or not row.owner_email or not domains:
        return row.status
    ours = is_internal(row.owner_email, domains)
    if ours and row.status == CommitmentStatus.WAITING:
        return CommitmentStatus.OPEN
    if not ours and row.status == CommitmentStatus.OPEN:
        return CommitmentStatus.WAITING
    return row.status


class CommitmentStore(StoreCore):
    """Reads and edits commitments; every edit leaves a history entry."""

    def list_commitments(self, f: CommitmentFilter) -> Page:
        """One page in ``(due, id)`` order, undated last; ``next_cursor`` is None on the last page.

        :class:`store.lookup.Unresolved` when ``f.owner``, ``f.deal`` or ``f.account`` names no one
        (nothing) or several: never an empty page for a name nobody has.
        """
        with self._tx() as s:
            views, nxt = read_page(
                s, f, scope_of(s, f), lambda stmt: fetch_views(s, stmt, f.as_of, response=self.response_hours)
            )
        return Page(items=views, next_cursor=nxt)

    def list_summaries(self, f: CommitmentFilter, *, evidence: bool = False) -> SummaryPage:
        """:meth:`list_commitments` with summaries (the API's lean listing), their evidence with
        ``evidence``."""
        target = self.response_hours
        with self._tx() as s:
            items, nxt = read_page(
                s,
                f,
                scope_of(s, f),
                lambda stmt: fetch_summaries(s, stmt, f.as_of, response=target, evidence=evidence),
            )
        return SummaryPage(items=items, next_cursor=nxt)

    def ranked_items(self, f: CommitmentFilter) -> Iterator[Ranked]:
        """Every item ``f`` lists (in ``(due, id)`` order, undated last) as a lean :class:`Ranked`
        tuple: what a report ranks and counts, with the same priority and lateness as the summary.

        Read ``f.limit`` items per transaction (memory: one page); raises as :meth:`list_commitments`.
        """
        target, as_of = self.response_hours, f.as_of
        while True:
            with self._tx() as s:
                items, nxt = read_page(
                    s, f, scope_of(s, f), lambda stmt: fetch_ranked(s, stmt, as_of, response=target)
                )
            yield from items
            if nxt is None:
                return
            f = f.model_copy(update={"cursor": nxt})

    def open_ranked(self, as_of: date) -> Iterator[Ranked]:
        """Every item open on ``as_of`` as :meth:`ranked_items` gives it for an open filter (the same
        tuples, in the same order), streamed from one query in one transaction: a report that counts
        and ranks every open item reads them so (memory: :data:`store.queries.RANKED_BATCH` rows)."""
        with self._tx() as s:
            yield from open_ranked(s, as_of, response=self.response_hours)

    def get_commitments(self, ids: Sequence[int], *, as_of: date | None = None) -> list[CommitmentView]:
        """The full items of ``ids`` (with evidence, deal and history) in one read, in id order;
        unknown ids are left out."""
        if not ids:
            return []
        with self._tx() as s:
            stmt = select(CommitmentRow).where(CommitmentRow.id.in_(list(ids))).order_by(CommitmentRow.id)
            return fetch_views(s, stmt, as_of or date.today(), response=self.response_hours)

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
        return to_view(row, as_of or date.today(), history, response=self.response_hours)

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
        """Set ``open``/``review``/``done``/``dismissed``/``snoozed``/``waiting``, or ``answered`` on a
        request.

        ``status`` is a :class:`CommitmentStatus` (or its string value: another string is a
        ``ValueError``). ``until`` (snoozed only) is the day the item comes back; ``None`` snoozes
        it indefinitely. :class:`InvalidStatus` (nothing changed) for a status the item cannot be
        given (:func:`followthrough.types.status_refusal`: ``answered`` on a commitment, ``merged``).
        The old values are read with the commitment locked (:meth:`_lock_commitment`), so two
        concurrent edits leave a history where each entry's ``old`` is the previous one's ``new``.
        """
        status = CommitmentStatus(status)
        with self._tx() as s:
            self._lock_commitment(s, cid)
            row = s.get(CommitmentRow, cid)
            if row is None:
                raise NotFound(f"no commitment with id {cid}")
            _check_status(status, row.type, customer_promise=ItemFlag.CUSTOMER_PROMISE in (row.flags or []))
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
        read with the commitment locked, as in :meth:`set_status`. :class:`NotFound` for an
        unknown commitment or deal.
        """
        with self._tx() as s:
            self._lock_commitment(s, cid)
            _link_by_hand(s, cid, deal_crm_id, actor)
            return self._view(s, cid, as_of)

    @_retry_conflicts
    def correct(
        self,
        cid: int,
        *,
        actor: str,
        owner: str | None = None,
        due: date | None = None,
        clear_due: bool = False,
        action: str | None = None,
        type: ItemType | None = None,
        deal: str | None = None,
        unlink: bool = False,
        domains: set[str] | None = None,
        as_of: date | None = None,
    ) -> CommitmentView:
        """Correct what the extraction got wrong, in one transaction.

        ``owner``: an email address or a name (resolved by :func:`corrected_owner`); ``due``: the
        new due date, or ``clear_due=True`` for none; ``action``: the new text (whitespace
        collapsed; blank is a ``ValueError``); ``type``: ``commitment`` or ``request``; ``deal``:
        a deal's CRM id (any case) or a unique part of its name (:func:`store.lookup.find_deal`),
        or ``unlink=True`` to unlink for good (as :meth:`set_deal`). Fields
        left ``None`` keep their value; a field given the value it has already is no change.

        A new owner decides whose promise a commitment is (:func:`side_status`, ``domains``: our
        company's; ``None``: the CRM deal owners' domains): one of ours takes a commitment waiting on
        the customer (``open``), a customer's makes an open one ``waiting`` (flag
        ``customer_promise`` set or cleared with it).

        Each change is one history entry (field, old, new) by ``actor``. A corrected owner,
        due date, action or type is never overwritten by a later extraction
        (:func:`store.recording.corrected_fields`); a deal set by hand never is either.
        :class:`NotFound` for an unknown commitment; :class:`Unresolved` for an owner or a deal
        that names none or several (the message lists them); :class:`InvalidStatus` for a type its
        status does not fit (an ``answered`` request made a commitment): nothing is changed then.
        """
        if due is not None and clear_due:
            raise ValueError("give due or clear_due, not both")
        if deal is not None and unlink:
            raise ValueError("give deal or unlink, not both")
        if action is not None:
            action = " ".join(clean(action).split())
            if not action:
                raise ValueError("the action must not be blank")
        with self._tx() as s:
            ours = crm_company_domains(s) if domains is None else domains
            new_owner = corrected_owner(s, owner, ours) if owner is not None else None
            self._lock_commitment(s, cid)
            row = s.get(CommitmentRow, cid)
            if row is None:
                raise NotFound(f"no commitment with id {cid}")
            if type is not None:
                _check_status(row.status, type)
            changes: list[tuple[str, object, object]] = []
            new_side = new_owner is not None and (new_owner.email or new_owner.name) != (
                row.owner_email or row.owner
            )
            if new_owner is not None and new_side:
                changes.append(("owner", row.owner_email or row.owner, new_owner.email or new_owner.name))
                row.owner, row.owner_email = new_owner.name, new_owner.email
            if (due is not None or clear_due) and row.due != due:
                changes.append(("due", row.due, due))
                row.due = due
            if action is not None and row.action != action:
                changes.append(("action", row.action, action))
                row.action = action
            if type is not None and row.type != type:
                changes.append(("type", row.type, type))
                row.type = type
            if new_side:  # whose promise it is, now that the type and the owner are right
                status = side_status(row, ours)
                if status != row.status:
                    changes.append(("status", row.status, status))
                    row.status = status
                    others: list[ItemFlag] = [f for f in row.flags if f != ItemFlag.CUSTOMER_PROMISE]
                    theirs = status == CommitmentStatus.WAITING
                    row.flags = [*others, ItemFlag.CUSTOMER_PROMISE] if theirs else others
            for fld, old, new in changes:
                s.add(history_entry(cid, fld, old, new, actor, None))
            if changes:
                row.updated_at = utcnow()
            if deal is not None or unlink:
                _link_by_hand(s, cid, find_deal(s, deal).crm_id if deal is not None else None, actor)
            s.flush()
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


def _link_by_hand(s: Session, cid: int, deal_crm_id: str | None, actor: str) -> None:
    """Replace commitment ``cid``'s deal link with a manual one (``None``: unlinked for good).

    The commitment must be locked already. One history entry ``deal`` (old CRM id → new).
    :class:`NotFound` for an unknown commitment or deal.
    """
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
    if row.link is not None:
        if row.link.deal_id is not None:
            old = s.scalar(select(DealRow.crm_id).where(DealRow.id == row.link.deal_id))
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


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def corrected_owner(s: Session, who: str, domains: set[str]) -> PersonView:
    """The owner a correction names: the one person a name names (:func:`store.lookup.find_person`),
    or an email address the store knows (a contact, a deal owner, someone seen in a message or
    meeting, an item's owner), with the name the store knows for it. An email it has not seen yet is
    taken only at one of ``domains`` (our company's: a new colleague; with no company domain known at
    all, no configuration and no CRM, it is taken as given, as nothing tells a colleague from a
    typo and the item's side is left as it is). :class:`Unresolved` (listing
    the candidates or the known owners) otherwise: an unknown outside address is a typo far more
    often than a new customer contact, and taking it would silently make the item a customer's
    promise ("waiting")."""
    value = who.strip()
    if "@" not in value:
        return find_person(s, value)
    if not _EMAIL.fullmatch(value) or len(value) > EMAIL_MAX:
        raise Unresolved("owner", who, f"{value!r} is not an email address", [])
    try:
        return find_person(s, value)
    except Unresolved:
        email = value.lower()
        if not domains or is_internal(email, normalize_domains(domains)):
            return PersonView(email=email, name=None)
        known = known_owners(s)
        ours = ", ".join(sorted(domains))
        raise Unresolved(
            "owner",
            who,
            f"unknown owner {email!r}: no one known has that address and it is not at our "
            f"domains ({ours}) (known: {listed(known) or 'none yet'})",
            known,
        ) from None


def _export_row(c: CommitmentRow) -> dict[str, object]:
    held = own_evidence_first(c) if c.merged_into is None else []  # a merged one's: at its survivor
    ev = held[0] if held else None
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
