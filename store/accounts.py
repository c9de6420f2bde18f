"""Accounts: their deals, open items, last touch by us and by them, and which have gone silent.

An account is **silent** when it is watched (an open deal, or a tier that has a
silence limit of its own in ``silent_days``) and nobody on our side has written
to or met any of its people for its tier's limit in days or more, counted from
the last touch by us (see :mod:`store.touches`) to ``as_of``; an account never
touched at all is silent too. "Its people" are its CRM contacts and anyone at
one of its domains (or a subdomain).

Touches are read from every document up to the end of ``as_of``: the cost of a
listing grows with the documents stored (one pass over their participants, and
over Slack messages' authors).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Row, Text, cast, func, select
from sqlalchemy.orm import Session

from followthrough.types import TieredValue, tier_key, tier_rank
from store.base import NotFound
from store.crm import CrmStore
from store.deals import DealStore
from store.lookup import find_person
from store.models import AccountRow, CommitmentRow, ContactRow, DealRow, DocumentRow
from store.priority import is_closed, money
from store.queries import InvalidCursor, decode_cursor, encode_cursor, fetch_views, open_clause
from store.touches import TouchLog
from store.views import AccountDetail, AccountFilter, AccountPage, AccountView


class AccountStore(CrmStore, DealStore):
    """Account summaries, one account in full, and the silent ones ranked by what is at stake.

    ``silent_days`` is the silence limit in days per tier
    (:func:`followthrough.config.silent_days`); ``domains`` are our own company's
    domains, for participants the pipeline did not mark ours or theirs.
    """

    def list_accounts(self, f: AccountFilter, silent_days: TieredValue, domains: set[str]) -> AccountPage:
        """A page of accounts in id order, or with ``f.silent`` the silent ones only, most at stake first
        (the order of :meth:`silent_accounts` and of the run report); one deal owner's with ``f.owner``.
        ``next_cursor`` is None on the last page. :class:`store.lookup.Unresolved` for an owner that
        names no one or several; :class:`InvalidCursor` for a cursor not handed out here, or one whose
        account is gone."""
        after = None
        if f.cursor:
            due, after = decode_cursor(f.cursor)
            if due is not None:
                raise InvalidCursor("invalid cursor: use the next_cursor of a previous page, or no cursor")
        every = self._views(f.as_of, silent_days, domains)
        order = _stake if f.silent else _by_id
        views = sorted(self._selected(f, every), key=order)
        if after is not None:
            mark = next((v for v in every if v.id == after), None)
            if mark is None:
                raise InvalidCursor("invalid cursor: its account is gone; list again without a cursor")
            views = [v for v in views if order(v) > order(mark)]
        more = len(views) > f.limit
        nxt = encode_cursor(None, views[f.limit - 1].id) if more else None
        return AccountPage(items=views[: f.limit], next_cursor=nxt)

    def silent_accounts(
        self, as_of: date, silent_days: TieredValue, domains: set[str], *, owner: str | None = None
    ) -> list[AccountView]:
        """Silent accounts (of one deal owner with ``owner``), most at stake first: the open deal
        amount, then the tier, then the longest silence (never touched first)."""
        f = AccountFilter(silent=True, owner=owner, as_of=as_of)
        return sorted(self._selected(f, self._views(as_of, silent_days, domains)), key=_stake)

    def get_account(
        self, account_id: int, as_of: date, silent_days: TieredValue, domains: set[str]
    ) -> AccountDetail:
        """One account with every deal and its open items by priority; :class:`NotFound` if unknown."""
        directory = self.directory()
        with self._tx() as s:
            views = {v.id: v for v in _summaries(s, as_of, silent_days, domains, directory)}
            if account_id not in views:
                raise NotFound(f"no account with id {account_id}")
            deal_ids = list(s.scalars(select(DealRow.id).where(DealRow.account_id == account_id)))
            items = fetch_views(
                s,
                select(CommitmentRow)
                .where(CommitmentRow.deal_id.in_(deal_ids), open_clause(as_of))
                .order_by(CommitmentRow.id),
                as_of,
            )
        view = views[account_id]
        deals = [d for d in self.list_deals(as_of) if d.account == view.name]
        items.sort(key=lambda c: (-c.priority, c.due or date.max, c.id))
        return AccountDetail(account=view, deals=deals, items=items)

    def _views(self, as_of: date, silent_days: TieredValue, domains: set[str]) -> list[AccountView]:
        """Every account's view as of ``as_of``, in id order."""
        directory = self.directory()
        with self._tx() as s:
            return _summaries(s, as_of, silent_days, domains, directory)

    def _selected(self, f: AccountFilter, every: list[AccountView]) -> list[AccountView]:
        """The accounts of ``every`` that ``f`` selects (its owner's; silent ones only with ``f.silent``)."""
        if f.owner:
            with self._tx() as s:
                owner = find_person(s, f.owner).email
            every = [v for v in every if owner in v.deal_owners]
        return [v for v in every if v.silent or not f.silent]


def _summaries(
    s: Session, as_of: date, silent_days: TieredValue, domains: set[str], directory: dict[str, str]
) -> list[AccountView]:
    """Every account's view as of ``as_of``, in id order (``directory``: name → email, for
    participants known by name only; see :meth:`store.crm.CrmStore.directory`)."""
    accounts = list(s.scalars(select(AccountRow).order_by(AccountRow.id)))
    deals: dict[int, list[Row[int, str | None, float | None, str | None]]] = {}  # one pass, by account
    for d in s.execute(select(DealRow.account_id, DealRow.stage, DealRow.amount, DealRow.owner_email)):
        deals.setdefault(d.account_id, []).append(d)
    items = _item_counts(s, as_of)
    last_us, last_them = _last_touches(s, accounts, as_of, domains, directory)
    watched_tiers = {name for name, _ in silent_days.overrides}
    views = []
    for a in accounts:
        mine = deals.get(a.id, [])
        open_deals = [d for d in mine if not is_closed(d.stage)]
        owners = sorted({d.owner_email for d in (open_deals or mine) if d.owner_email})
        us = last_us.get(a.id)
        days = (as_of - us.date()).days if us is not None else None
        limit = int(silent_days.for_tier(a.tier))
        watched = bool(open_deals) or tier_key(a.tier) in watched_tiers
        amount = float(sum(d.amount or 0 for d in open_deals))
        open_items, overdue_items = items.get(a.id, (0, 0))
        views.append(
            AccountView(
                id=a.id,
                name=a.name,
                crm_id=a.crm_id,
                tier=a.tier,
                domains=list(a.domains or []),
                open_deals=len(open_deals),
                open_amount=amount,
                deal_owners=owners,
                open_items=open_items,
                overdue_items=overdue_items,
                last_touch_by_us=us,
                last_touch_by_them=last_them.get(a.id),
                days_since_touch=days,
                silent_after_days=limit,
                watched=watched,
                silent=watched and (days is None or days >= limit),
                reasons=_reasons(amount, len(open_deals), a.tier, days),
            )
        )
    return views


def _item_counts(s: Session, as_of: date) -> dict[int, tuple[int, int]]:
    """Per account id: (open items, overdue open items) linked to its deals."""
    c = CommitmentRow
    is_open = open_clause(as_of)
    rows = s.execute(
        select(
            DealRow.account_id,
            func.count().filter(is_open),
            func.count().filter(is_open, c.due < as_of),
        )
        .join(DealRow, DealRow.id == c.deal_id)
        .group_by(DealRow.account_id)
    )
    return {account: (int(n_open), int(n_late)) for account, n_open, n_late in rows}


def _last_touches(
    s: Session, accounts: Iterable[AccountRow], as_of: date, domains: set[str], directory: dict[str, str]
) -> tuple[dict[int, datetime], dict[int, datetime]]:
    """Per account id: the last touch by us, and by them, up to the end of ``as_of``."""
    log = TouchLog(frozenset(domains), directory)
    end = datetime.combine(as_of + timedelta(days=1), time.min, tzinfo=UTC)
    d = DocumentRow
    # Outside Slack a document's touches follow from its participants alone, at its time, and only the
    # latest touch counts: documents with the same participants (a thread's replies) are read once, at
    # their latest time. A Slack document's touches are its messages' (its segments).
    same = cast(d.participants, Text)
    groups = s.execute(
        select(d.source, func.max(d.occurred_at), same)
        .where(d.occurred_at < end, d.source != "slack")
        .group_by(d.source, same)
        .execution_options(yield_per=1000)
    )
    for source, occurred_at, participants in groups:
        log.add(source, occurred_at, json.loads(participants) if participants else [])
    slack = s.execute(
        select(d.occurred_at, d.participants, d.segments)
        .where(d.occurred_at < end, d.source == "slack")
        .execution_options(yield_per=1000)
    )
    for occurred_at, participants, segments in slack:
        log.add("slack", occurred_at, participants or [], segments)
    owned = select(ContactRow.email, ContactRow.account_id).where(ContactRow.account_id.is_not(None))
    contacts = {email: account for email, account in s.execute(owned) if account is not None}
    by_domain = {dom.lower(): a.id for a in accounts for dom in a.domains or []}

    def account_of(email: str) -> int | None:
        if email in contacts:
            return contacts[email]
        host = email.rsplit("@", 1)[-1]
        parts = host.split(".")
        return next(
            (by_domain[".".join(parts[i:])] for i in range(len(parts)) if ".".join(parts[i:]) in by_domain),
            None,
        )

    out: tuple[dict[int, datetime], dict[int, datetime]] = ({}, {})
    for last, acc in ((log.by_us, out[0]), (log.by_them, out[1])):
        for email, at in last.items():
            account = account_of(email)
            if account is not None and (account not in acc or at > acc[account]):
                acc[account] = at
    return out


def _reasons(amount: float, open_deals: int, tier: str | None, days: int | None) -> list[str]:
    """What is at stake, in words: ``["$120k in 1 open deal", "Enterprise account", "38 days since we
    wrote or met"]``."""
    out = []
    if open_deals:
        plural = "s" if open_deals > 1 else ""
        out.append(
            f"{money(amount)} in {open_deals} open deal{plural}"
            if amount
            else f"{open_deals} open deal{plural}"
        )
    rank = tier_rank(tier)
    if tier and rank in (1, 2):  # as the priority score names tiers
        out.append(f"tier {rank} account" if any(ch.isdigit() for ch in tier) else f"{tier} account")
    out.append(
        "no message or meeting from us on record" if days is None else f"{days} days since we wrote or met"
    )
    return out


def _stake(v: AccountView) -> tuple[float, int, int, str, int]:
    """Sort key: the largest open amount, then the best tier, then the longest silence (never first);
    then the name and the id, so that the order is total (a cursor resumes after one account)."""
    rank = tier_rank(v.tier)
    return (
        -v.open_amount,
        rank if rank is not None else 99,
        -(v.days_since_touch if v.days_since_touch is not None else 10**6),
        v.name,
        v.id,
    )


def _by_id(v: AccountView) -> tuple[int]:
    """Sort key: the account's id."""
    return (v.id,)
