"""Deals with their commitment counts and health, counted in SQL."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, select
from sqlalchemy.orm import Session

from followthrough.types import CommitmentStatus
from store.base import NotFound, StoreCore
from store.bulk import chunked
from store.models import AccountRow, CommitmentRow, DealRow
from store.queries import (
    InvalidCursor,
    V,
    decode_cursor,
    encode_cursor,
    fetch_summaries,
    fetch_views,
    health,
    open_clause,
)
from store.views import CommitmentSummary, CommitmentView, DealPage, DealView


class DealStore(StoreCore):
    """Every deal with its counts, one deal's summary, and a deal's commitments."""

    def list_deals(
        self,
        as_of: date,
        *,
        limit: int | None = None,
        owner_email: str | None = None,
        account_id: int | None = None,
    ) -> list[DealView]:
        """Deals (``owner_email``'s, ``account_id``'s, or all) with their commitment counts and health,
        worst first: most overdue, most open, then the largest amount; the first ``limit`` of them
        (all with ``None``).

        Only the deals with open items are ranked in Python; the others follow by amount from the
        database, ``limit`` at most (a CRM of a million deals costs the page, not the CRM).
        :meth:`count_deals` says how many there are in all.
        """
        with self._tx() as s:
            counts = {
                row[0]: row
                for row in s.execute(_deal_counts(as_of))
                if row[3] or row[4]  # open or overdue: ranked ahead of the deals ranked by amount
            }
            ranked = [
                _deal_view(d, counts[d[0]])
                for ids in chunked(sorted(counts))
                for d in s.execute(_owned(_deal_rows(), owner_email, account_id).where(DealRow.id.in_(ids)))
            ]
            ranked.sort(key=_worst_first)
            if limit is not None and len(ranked) >= limit:
                return ranked[:limit]
            crm_id = DealRow.crm_id  # ordered by code point, as Python orders the ranked ones
            if s.get_bind().dialect.name == "postgresql":
                crm_id = crm_id.collate("C")  # type: ignore[assignment]
            rest = _owned(_deal_rows(), owner_email, account_id).order_by(
                func.coalesce(DealRow.amount, 0).desc(), crm_id
            )
            if limit is not None:
                rest = rest.limit(limit - len(ranked) + len(counts))
            others = [d for d in s.execute(rest) if d[0] not in counts]
            plain = {
                row[0]: row
                for ids in chunked([d[0] for d in others])
                for row in s.execute(_deal_counts(as_of).where(CommitmentRow.deal_id.in_(ids)))
            }  # items all closed: their totals still show
        views = ranked + [_deal_view(d, plain.get(d[0])) for d in others]
        return views if limit is None else views[:limit]

    def count_deals(self, *, owner_email: str | None = None) -> int:
        """How many deals there are (``owner_email``'s)."""
        with self._tx() as s:
            query = select(func.count()).select_from(DealRow)
            if owner_email is not None:
                query = query.where(DealRow.owner_email == owner_email)
            return int(s.scalar(query) or 0)

    def deal_owners(self, crm_ids: Collection[str]) -> dict[str, str | None]:
        """CRM deal id → its owner's email (lowercased; ``None`` when the CRM names none), for the
        deals of ``crm_ids`` that are stored."""
        out: dict[str, str | None] = {}
        wanted = sorted(set(crm_ids))
        with self._tx() as s:
            for i in range(0, len(wanted), 500):
                rows = s.execute(
                    select(DealRow.crm_id, DealRow.owner_email).where(DealRow.crm_id.in_(wanted[i : i + 500]))
                )
                out.update({crm_id: email.lower() if email else None for crm_id, email in rows})
        return out

    def deal_page(self, as_of: date, *, limit: int = 50, cursor: str | None = None) -> DealPage:
        """A page of ``limit`` deals in id order (the CRM import's) with their counts as of ``as_of``,
        from ``cursor`` (a page's ``next_cursor``; :class:`InvalidCursor` for one not handed out here).

        Reads the page's deals by primary key and counts only their commitments (the
        ``(deal_id, status, ...)`` index), so a page costs the same with 100 deals or 100,000;
        :meth:`list_deals` ranks every deal worst first instead.
        """
        after = 0
        if cursor:
            due, after = decode_cursor(cursor)
            if due is not None:
                raise InvalidCursor("invalid cursor: use the next_cursor of a previous page, or no cursor")
        with self._tx() as s:
            deals = s.execute(
                _deal_rows().where(DealRow.id > after).order_by(DealRow.id).limit(limit + 1)
            ).all()
            ids = [d[0] for d in deals[:limit]]
            counts = {
                row[0]: row for row in s.execute(_deal_counts(as_of).where(CommitmentRow.deal_id.in_(ids)))
            }
        views = [_deal_view(d, counts.get(d[0])) for d in deals[:limit]]
        nxt = encode_cursor(None, deals[limit - 1][0]) if len(deals) > limit else None
        return DealPage(items=views, next_cursor=nxt)

    def get_deal(self, deal_crm_id: str) -> DealView:
        """One deal's view (as :meth:`list_deals` gives it, counted as of today)."""
        with self._tx() as s:
            deal = s.execute(_deal_rows().where(DealRow.crm_id == deal_crm_id)).first()
            if deal is None:
                raise NotFound(f"no deal with CRM id {deal_crm_id!r}")
            one = _deal_counts(date.today()).where(CommitmentRow.deal_id == deal[0])
            counts = s.execute(one).first()
        return _deal_view(deal, counts)

    def deal_commitments(self, deal_crm_id: str, as_of: date) -> list[CommitmentView]:
        """Every commitment linked to the deal, open ones first, then by priority; :class:`NotFound`
        for an unknown deal."""
        target = self.response_hours
        return self._deal_items(deal_crm_id, lambda s, stmt: fetch_views(s, stmt, as_of, response=target))

    def deal_summaries(
        self, deal_crm_id: str, as_of: date, *, evidence: bool = False
    ) -> list[CommitmentSummary]:
        """:meth:`deal_commitments` as summaries (with their evidence with ``evidence``)."""
        target = self.response_hours

        def fetch(s: Session, stmt: Select[Any]) -> list[CommitmentSummary]:
            return fetch_summaries(s, stmt, as_of, response=target, evidence=evidence)

        return self._deal_items(deal_crm_id, fetch)

    def _deal_items(self, deal_crm_id: str, fetch: Callable[[Session, Select[Any]], list[V]]) -> list[V]:
        with self._tx() as s:
            deal = s.scalars(select(DealRow.id).where(DealRow.crm_id == deal_crm_id)).first()
            if deal is None:
                raise NotFound(f"no deal with CRM id {deal_crm_id!r}")
            items = fetch(
                s, select(CommitmentRow).where(CommitmentRow.deal_id == deal).order_by(CommitmentRow.id)
            )
        items.sort(
            key=lambda v: (v.status is not CommitmentStatus.OPEN, -v.priority, v.due or date.max, v.id)
        )
        return items


def _worst_first(v: DealView) -> tuple[int, int, float, str]:
    return (-v.overdue_count, -v.open_count, -(v.amount or 0), v.crm_id)


def _owned(
    query: Select[*tuple[Any, ...]], owner_email: str | None, account_id: int | None
) -> Select[*tuple[Any, ...]]:
    """``query`` over deals, narrowed to one owner's and to one account's when given."""
    if owner_email is not None:
        query = query.where(DealRow.owner_email == owner_email)
    if account_id is not None:
        query = query.where(DealRow.account_id == account_id)
    return query


def _deal_rows() -> Select[*tuple[Any, ...]]:
    """Each deal with its account's name and tier, one row per deal."""
    return select(
        DealRow.id,
        DealRow.crm_id,
        DealRow.name,
        DealRow.stage,
        DealRow.amount,
        DealRow.close_date,
        DealRow.owner_email,
        AccountRow.name.label("account"),
        AccountRow.tier,
    ).join(AccountRow, AccountRow.id == DealRow.account_id)


def _deal_counts(as_of: date) -> Select[*tuple[Any, ...]]:
    """Per deal: ``total``, ``done`` (done or answered), ``open``, ``overdue`` (open and past due) and
    ``soon`` (open, due today or within 3 days).

    One pass over the ``(deal_id, status, due, snoozed_until)`` index, grouped by
    deal; a snoozed item whose day has come counts as open.
    """
    c = CommitmentRow
    is_open = open_clause(as_of)

    def n(cond: ColumnElement[bool]) -> ColumnElement[int]:
        # COUNT(*) FILTER (WHERE ...) (SQLite 3.30+): a fifth faster than SUM(CASE ...) on SQLite
        return func.count().filter(cond)

    return (
        select(
            c.deal_id,
            func.count().label("total"),
            n(c.status.in_([s for s in CommitmentStatus if s.closed])).label("done"),
            n(is_open).label("open"),
            n(and_(is_open, c.due < as_of)).label("overdue"),
            n(and_(is_open, c.due >= as_of, c.due <= as_of + timedelta(days=3))).label("soon"),
        )
        .where(c.deal_id.is_not(None))
        .group_by(c.deal_id)
    )


def _deal_view(deal: Sequence[Any], counts: Sequence[Any] | None) -> DealView:
    """A deal row of :func:`_deal_rows` and its row of :func:`_deal_counts` (``None``: no commitments).

    Rows are unpacked by position: reading 20,000 rows' columns by name cost more than the query.
    """
    _, crm_id, name, stage, amount, close_date, owner_email, account, tier = deal
    total, done, open_, overdue, soon = (int(n) for n in counts[1:]) if counts is not None else (0,) * 5
    return DealView(
        crm_id=crm_id,
        name=name,
        account=account,
        stage=stage,
        amount=amount,
        close_date=close_date,
        owner_email=owner_email,
        open_count=open_,
        overdue_count=overdue,
        health=health(open_, overdue, soon),
        tier=tier,
        due_soon_count=soon,
        done_count=done,
        total_count=total,
    )
