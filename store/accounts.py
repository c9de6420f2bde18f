"""Accounts: their deals, open items, last touch by us and by them, and which have gone silent.

An account is **silent** when it is watched (an open deal, or a tier that has a
silence limit of its own in ``silent_days``) and nobody on our side has written
to or met any of its people for its tier's limit in days or more, counted from
the last touch by us (see :mod:`store.touches`) to ``as_of``; an account never
touched at all is silent too. "Its people" are its CRM contacts and anyone at
one of its domains (or a subdomain).

Touches are read from every document up to the end of ``as_of``: the cost of a
listing grows with the documents stored (one pass over their participants, and
over Slack messages' authors). Deals are summed up in the database, one row per
account (its open deals, their amount, its deal owners), so a listing never holds
every deal; contacts are looked up only for the people the documents name (a few
hundred emails per query), never all of them. The name directory
(:meth:`store.crm.CrmStore.directory`) is only read when a document names a
participant by name alone.
"""

from __future__ import annotations

from collections.abc import Collection, Generator, Iterable, Iterator, Mapping
from contextlib import closing
from datetime import date, datetime
from functools import lru_cache
from heapq import nsmallest
from itertools import islice
from typing import NamedTuple

from sqlalchemy import (
    ColumnElement,
    Row,
    Text,
    bindparam,
    case,
    cast,
    distinct,
    false,
    func,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Session

from followthrough.errors import StoreError
from followthrough.types import TieredValue, tier_key, tier_rank
from store import touch_log
from store.base import NotFound, log
from store.bulk import chunked, select_in
from store.crm import CrmStore, domain_accounts, stored_domains
from store.deals import DealStore
from store.lookup import find_person
from store.models import AccountRow, CommitmentRow, ContactRow, DealRow, table_of
from store.priority import is_closed, money
from store.queries import InvalidCursor, decode_cursor, encode_cursor, fetch_views, open_clause
from store.touch_log import people_touches
from store.views import AccountDetail, AccountFilter, AccountPage, AccountView


class AccountStore(CrmStore, DealStore):
    """Account summaries, one account in full, and the silent ones ranked by what is at stake.

    ``silent_days`` is the silence limit in days per tier
    (:func:`followthrough.config.silent_days`); ``domains`` are our own company's
    domains, for participants the pipeline did not mark ours or theirs.
    """

    def refresh_touches(self, as_of: date, domains: set[str]) -> bool:
        """Store the last touches by us and by them up to the end of ``as_of`` (``domains``: ours),
        unless the stored ones are current (:mod:`store.touch_log`): what ``run`` does before its
        report, so that a report on a store nothing has changed since does not read every document.
        Whether they were written; a failure (another writer holds the database) is logged and
        returns ``False``: the report then reads the documents, as it would without a log."""
        try:
            with self._tx() as s:
                self._lock(s, touch_log.LOCK)  # two runs refreshing at once: one writes, one finds it current
                return touch_log.refresh(s, as_of, domains, _Directory(self))
        except StoreError as e:
            log.warning("touch log not stored: %s", e)
            return False

    def list_accounts(self, f: AccountFilter, silent_days: TieredValue, domains: set[str]) -> AccountPage:
        """A page of accounts in id order, or with ``f.silent`` the silent ones only, most at stake first
        (the order of :meth:`silent_accounts` and of the run report); one deal owner's with ``f.owner``.
        ``next_cursor`` is None on the last page. :class:`store.lookup.Unresolved` for an owner that
        names no one or several; :class:`InvalidCursor` for a cursor not handed out here, or one whose
        account is gone. Accounts are summed up one at a time: memory holds the page, not the CRM."""
        after = None
        if f.cursor:
            due, after = decode_cursor(f.cursor)
            if due is not None:
                raise InvalidCursor("invalid cursor: use the next_cursor of a previous page, or no cursor")
        order = _stake if f.silent else _by_id
        with self._tx() as s:
            owner = find_person(s, f.owner).email if f.owner else None
            mark: tuple[object, ...] | None = None
            if after is not None:
                found = _one(s, f.as_of, silent_days, domains, _Directory(self), after)
                if found is None:
                    raise InvalidCursor("invalid cursor: its account is gone; list again without a cursor")
                mark = order(found)
            with closing(_summaries(s, f.as_of, silent_days, domains, _Directory(self))) as every:
                chosen = (
                    a for a in every if _selected(a, f.silent, owner) and (mark is None or order(a) > mark)
                )
                # id order is the stream's own: the page is its first rows; else the page's worth of smallest
                rows = (
                    list(islice(chosen, f.limit + 1))
                    if not f.silent
                    else nsmallest(f.limit + 1, chosen, key=order)
                )
        more = len(rows) > f.limit
        nxt = encode_cursor(None, rows[f.limit - 1].id) if more else None
        return AccountPage(items=[_view(a) for a in rows[: f.limit]], next_cursor=nxt)

    def silent_accounts(
        self, as_of: date, silent_days: TieredValue, domains: set[str], *, owner: str | None = None
    ) -> list[AccountView]:
        """Silent accounts (of one deal owner with ``owner``), most at stake first: the open deal
        amount, then the tier, then the longest silence (never touched first)."""
        return self.top_silent_accounts(as_of, silent_days, domains, owner=owner)[0]

    def top_silent_accounts(
        self,
        as_of: date,
        silent_days: TieredValue,
        domains: set[str],
        *,
        owner: str | None = None,
        limit: int | None = None,
    ) -> tuple[list[AccountView], int]:
        """The first ``limit`` (all with ``None``) of :meth:`silent_accounts`, and how many there are:
        a CRM of a million silent accounts costs the few views shown, not a million."""
        return self.top_accounts(as_of, silent_days, domains, silent=True, owner=owner, limit=limit)

    def top_accounts(
        self,
        as_of: date,
        silent_days: TieredValue,
        domains: set[str],
        *,
        silent: bool = False,
        owner: str | None = None,
        limit: int | None = None,
    ) -> tuple[list[AccountView], int]:
        """The first ``limit`` accounts (all with ``None``) in the order of :meth:`list_accounts`
        (id order; with ``silent`` the silent ones, most at stake first), and how many it selects."""
        order = _stake if silent else _by_id
        with self._tx() as s:
            if silent and owner is None and limit is not None and limit > 0:
                top = _top_silent(s, as_of, silent_days, domains, _Directory(self), limit)
                if top is not None:
                    return [_view(a) for a in top[0]], top[1]
            email = find_person(s, owner).email if owner else None
            total = 0

            def counted(rows: Iterable[_Summary]) -> Iterator[_Summary]:
                nonlocal total
                for a in rows:
                    if _selected(a, silent, email):
                        total += 1
                        yield a

            with closing(_summaries(s, as_of, silent_days, domains, _Directory(self))) as every:
                chosen = counted(every)
                rows = sorted(chosen, key=order) if limit is None else nsmallest(limit, chosen, key=order)
        return [_view(a) for a in rows], total

    def get_account(
        self, account_id: int, as_of: date, silent_days: TieredValue, domains: set[str]
    ) -> AccountDetail:
        """One account with every deal and its open items by priority; :class:`NotFound` if unknown."""
        with self._tx() as s:
            found = _one(s, as_of, silent_days, domains, _Directory(self), account_id)
            if found is None:
                raise NotFound(f"no account with id {account_id}")
            deal_ids = list(s.scalars(select(DealRow.id).where(DealRow.account_id == account_id)))
            items = fetch_views(
                s,
                select(CommitmentRow)
                .where(CommitmentRow.deal_id.in_(deal_ids), open_clause(as_of))
                .order_by(CommitmentRow.id),
                as_of,
            )
        view = _view(found)
        deals = self.list_deals(as_of, account_id=account_id)
        items.sort(key=lambda c: (-c.priority, c.due or date.max, c.id))
        return AccountDetail(account=view, deals=deals, items=items)


def _one(
    s: Session,
    as_of: date,
    silent_days: TieredValue,
    domains: set[str],
    directory: Mapping[str, str],
    account_id: int,
) -> _Summary | None:
    """One account summed up (:func:`_summaries`), ``None`` when there is no such account."""
    with closing(_summaries(s, as_of, silent_days, domains, directory, only=[account_id])) as one:
        return next(one, None)


def _selected(a: _Summary, silent: bool, owner: str | None) -> bool:
    """Whether a listing selects ``a``: silent ones only with ``silent``, one owner's with ``owner``."""
    return (a.silent or not silent) and (owner is None or owner in a.deal_owners)


class _Directory(Mapping[str, str]):
    """:meth:`store.crm.CrmStore.directory`, read on the first name looked up (documents whose
    participants all have an email never need it)."""

    def __init__(self, store: CrmStore) -> None:
        self._store = store
        self._names: Mapping[str, str] | None = None

    def _read(self) -> Mapping[str, str]:
        if self._names is None:
            self._names = self._store.directory()
        return self._names

    def __getitem__(self, name: str) -> str:
        return self._read()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._read())

    def __len__(self) -> int:
        return len(self._read())


class _Summary(NamedTuple):
    """One account summed up: the fields of its :class:`AccountView` but the reasons (a view is
    built only for the accounts a listing shows)."""

    id: int
    name: str
    crm_id: str | None
    tier: str | None
    domains: str | None  # its JSON text: decoded for the accounts shown only
    open_deals: int
    open_amount: float
    deal_owners: list[str]
    open_items: int
    overdue_items: int
    last_touch_by_us: datetime | None
    last_touch_by_them: datetime | None
    days_since_touch: int | None
    silent_after_days: int
    watched: bool
    silent: bool


def _view(a: _Summary) -> AccountView:
    return AccountView(
        **{**a._asdict(), "domains": stored_domains(a.domains)},
        reasons=_reasons(a.open_amount, a.open_deals, a.tier, a.days_since_touch),
    )


class _Deals(NamedTuple):
    """One account's deals, summed up: how many are open, their amount, and the deal owners (of the
    open deals, or of all its deals when none is open), sorted."""

    open: int
    amount: float
    owners: list[str]


_NO_DEALS = _Deals(0, 0.0, [])
_SEP = ","
"""What SQLite's ``group_concat(DISTINCT ...)`` puts between values (and PostgreSQL's ``string_agg``)."""


def _summaries(
    s: Session,
    as_of: date,
    silent_days: TieredValue,
    domains: set[str],
    directory: Mapping[str, str],
    *,
    only: Collection[int] | None = None,
    known: tuple[dict[int, tuple[int, int]], _Touches, ColumnElement[bool]] | None = None,
) -> Generator[_Summary, None, None]:
    """Every account (of ``only``, when given) summed up as of ``as_of``, in id order, one at a time:
    the accounts and their deals' sums are read side by side, both in account order (``directory``:
    name → email, for participants known by name only; see :meth:`store.crm.CrmStore.directory`).
    ``known``: the item counts, the touches and the open-deal clause when the caller has them."""
    a_ = AccountRow
    if known is None:
        known = (_item_counts(s, as_of), _last_touches(s, as_of, domains, directory), _open_deal(s))
    items, (last_us, last_them), is_open = known
    # Domains as JSON text, decoded here: the JSON type's own decoding costs twice as much per row.
    query = select(a_.id, a_.name, a_.crm_id, a_.tier, cast(a_.domains, Text)).order_by(a_.id)
    if only is not None:
        query = query.where(a_.id.in_(list(only)))
    deals = _deal_summaries(s, is_open, only)
    accounts = s.connection().execute(query.execution_options(yield_per=_BLOCK))
    try:
        yield from _merged(accounts, deals, as_of, silent_days, items, (last_us, last_them))
    finally:  # a listing that stops early closes both streams (server-side cursors on PostgreSQL)
        deals.close()
        accounts.close()


def _merged(
    accounts: Iterable[Row[int, str, str | None, str | None, str | None]],
    deals: Iterator[tuple[int, _Deals]],
    as_of: date,
    silent_days: TieredValue,
    items: dict[int, tuple[int, int]],
    touches: _Touches,
) -> Iterator[_Summary]:
    """:func:`_summaries`: each account (in id order) with its deals' sums (in account order)."""
    last_us, last_them = touches
    watched_tiers = {name for name, _ in silent_days.overrides}
    tiers: dict[str | None, tuple[int, bool]] = {}  # tier → (its silence limit, watched for its tier)
    account_id, mine = next(deals, (None, _NO_DEALS))
    for id_, name, crm_id, tier, listed in accounts:
        while account_id is not None and account_id < id_:  # deals of an account gone meanwhile
            account_id, mine = next(deals, (None, _NO_DEALS))
        summed = mine if account_id == id_ else _NO_DEALS
        us = last_us.get(id_)
        days = (as_of - us.date()).days if us is not None else None
        if tier not in tiers:
            tiers[tier] = (int(silent_days.for_tier(tier)), tier_key(tier) in watched_tiers)
        limit, tier_watched = tiers[tier]
        watched = bool(summed.open) or tier_watched
        open_items, overdue_items = items.get(id_, (0, 0))
        yield _Summary(
            id=id_,
            name=name,
            crm_id=crm_id,
            tier=tier,
            domains=listed,
            open_deals=summed.open,
            open_amount=summed.amount,
            deal_owners=summed.owners,
            open_items=open_items,
            overdue_items=overdue_items,
            last_touch_by_us=us,
            last_touch_by_them=last_them.get(id_),
            days_since_touch=days,
            silent_after_days=limit,
            watched=watched,
            silent=watched and (days is None or days >= limit),
        )


_BLOCK = 20_000
"""Accounts fetched at a time."""


def _deal_summaries(
    s: Session, is_open: ColumnElement[bool], only: Collection[int] | None = None
) -> Generator[tuple[int, _Deals], None, None]:
    """``(account id, its deals summed up)`` for each account with deals (of ``only``, when given), in
    account order, from one grouped query (:class:`_Deals`).

    Whether a deal is open is :func:`store.priority.is_closed` of its stage: the stages in use are
    read first (``DISTINCT``, a handful) and the closed ones are named in the query. Each account's
    owners come back as one ``DISTINCT`` list of ``+owner`` (owns an open deal) and ``-owner`` (a
    closed one); an account with an owner email holding the list's separator is read again deal by
    deal.
    """
    d = DealRow
    flagged = case((is_open, literal_column("'+'")), else_=literal_column("'-'")).concat(d.owner_email)
    # Grouped by ``account_id + 0``: on SQLite, grouping by the indexed column itself walks that
    # index and reads the table in index order (2.5x slower at a million deals than a scan and a sort).
    account = (d.account_id + literal_column("0")).label("account")
    postgres = s.get_bind().dialect.name == "postgresql"
    query = (
        select(
            account,
            func.count().filter(is_open),
            func.coalesce(func.sum(case((is_open, d.amount))), 0.0),
            func.string_agg(distinct(flagged), literal_column(f"'{_SEP}'"))
            if postgres
            else func.group_concat(distinct(flagged)),
            func.max(case((d.owner_email.contains(_SEP), 1), else_=0)),
        )
        .group_by(account)
        .order_by(account)
    )
    if only is not None:
        query = query.where(d.account_id.in_(list(only)))
    same: dict[str, str] = {}  # one string per owner, however many accounts name them
    with s.connection().execute(query.execution_options(yield_per=_BLOCK)) as rows:
        for account_id, n_open, amount, listed, odd in rows:
            if odd:
                yield account_id, _deals_one_by_one(s, account_id)
                continue
            if not listed:
                owners = []
            elif _SEP not in listed:  # one owner (most accounts): no list to split and sort
                owners = (
                    [same.setdefault(listed[1:], listed[1:])]
                    if listed[1:] and (listed[0] == "+" or not n_open)
                    else []
                )
            else:
                pieces = listed.split(_SEP)
                names = {p[1:] for p in pieces if p[0] == "+"} if n_open else {p[1:] for p in pieces}
                names.discard("")
                owners = [same.setdefault(o, o) for o in sorted(names)]
            yield account_id, _Deals(int(n_open), float(amount or 0), owners)


def _open_deal(s: Session) -> ColumnElement[bool]:
    """Whether a deal row is open (:func:`store.priority.is_closed` of its stage): the stages in use
    are read first (``DISTINCT``, a handful) and the closed ones are named in the clause."""
    d = DealRow
    stages = s.scalars(select(d.stage).distinct()).all()
    closed = sorted(stage for stage in stages if stage is not None and is_closed(stage))
    if not closed:
        return true()
    return or_(
        d.stage.is_(None), d.stage.not_in(bindparam("closed", closed, expanding=True, literal_execute=True))
    )


TIERS_IN_SQL = 1_000
"""Most distinct tiers :func:`_top_silent` ranks in the database (a ``CASE`` over them); a CRM with
more is ranked one account at a time."""


def _top_silent(
    s: Session,
    as_of: date,
    silent_days: TieredValue,
    domains: set[str],
    directory: Mapping[str, str],
    limit: int,
) -> tuple[list[_Summary], int] | None:
    """The first ``limit`` silent accounts in :func:`_stake` order and how many are silent, reading
    the few accounts shown rather than summing up every one (a CRM of a million accounts).

    An account nobody of ours has touched is silent when it is watched, and among those the order is
    the open amount, the tier's rank, the name and the id: the database sorts them (its open deals
    grouped and summed) and returns the first ``limit``. The accounts we have touched are few (the
    documents' people) and are summed up here, each judged on its own silence. ``None`` when the
    accounts hold more than :data:`TIERS_IN_SQL` tiers (the caller sums up every account)."""
    a_, d_ = AccountRow, DealRow
    tiers = s.scalars(select(a_.tier).distinct().limit(TIERS_IN_SQL + 1)).all()
    if len(tiers) > TIERS_IN_SQL:
        return None
    items, touches = _item_counts(s, as_of), _last_touches(s, as_of, domains, directory)
    touched = sorted(touches[0])  # by us: the accounts whose silence is counted in days
    watched_tiers = {name for name, _ in silent_days.overrides}
    watched = [t for t in tiers if t is not None and tier_key(t) in watched_tiers]
    no_tier_watched = tier_key(None) in watched_tiers
    ranks = {t: r for t in tiers if t is not None and (r := tier_rank(t)) is not None}
    is_open = _open_deal(s)
    grouped = (d_.account_id + literal_column("0")).label("account_id")  # a scan, as _deal_summaries
    sums = (
        select(
            grouped,
            func.count().filter(is_open).label("open"),
            func.coalesce(func.sum(case((is_open, d_.amount))), 0.0).label("amount"),
        )
        .group_by(grouped)
        .subquery()
    )
    amount = func.coalesce(sums.c.amount, 0.0)
    is_watched = or_(
        sums.c.open > 0,
        a_.tier.in_(watched) if watched else false(),
        a_.tier.is_(None) if no_tier_watched else false(),
    )
    # the tier's rank (none: 99, as _stake); no ranked tier: every account alike
    rank = [case(ranks, value=a_.tier, else_=99)] if ranks else []
    name = a_.name.collate("C") if s.get_bind().dialect.name == "postgresql" else a_.name
    # every watched account in stake order (as if none were touched), with how many there are
    query = (
        select(a_.id, func.count().over())
        .outerjoin(sums, sums.c.account_id == a_.id)
        .where(is_watched)
        .order_by(amount.desc(), *rank, name, a_.id)
        .limit(limit + len(touched))
    )
    total, first = 0, list[int]()
    for id_, watched_total in s.execute(query):
        total = watched_total
        if id_ not in touches[0] and len(first) < limit:
            first.append(id_)
    known = (items, touches, is_open)
    shown = list(_summaries(s, as_of, silent_days, domains, directory, only=first, known=known))
    for chunk in chunked(touched):
        for a in _summaries(s, as_of, silent_days, domains, directory, only=chunk, known=known):
            total += a.silent - a.watched  # counted above as a watched account never touched
            if a.silent:
                shown.append(a)
    return nsmallest(limit, shown, key=_stake), total


def _deals_one_by_one(s: Session, account_id: int) -> _Deals:
    """One account's deals summed up from its deal rows (what :func:`_deal_summaries` does in SQL)."""
    rows = s.execute(
        select(DealRow.stage, DealRow.amount, DealRow.owner_email).where(DealRow.account_id == account_id)
    )
    mine = rows.all()
    open_deals = [r for r in mine if not is_closed(r.stage)]
    owners = sorted({r.owner_email for r in (open_deals or mine) if r.owner_email})
    return _Deals(len(open_deals), float(sum(r.amount or 0 for r in open_deals)), owners)


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


CONTACT_BATCH = 500
"""Emails per ``IN (...)`` lookup of the contacts the documents name."""


_Touches = tuple[dict[int, datetime], dict[int, datetime]]
"""Per account id: the last touch by us, and by them (:func:`_last_touches`)."""


def _last_touches(s: Session, as_of: date, domains: set[str], directory: Mapping[str, str]) -> _Touches:
    """Per account id: the last touch by us, and by them, up to the end of ``as_of``.

    A person's account is their CRM contact's, else the account with their email's domain (or a
    parent domain); only the contacts of the people touched are read. The people's touches are the
    log a run stored when it is current (:mod:`store.touch_log`), else read from every document."""
    by_us, by_them = people_touches(s, as_of, domains, directory)
    touched = sorted({*by_us, *by_them})
    found = select_in(s, table_of(ContactRow), "email", ["account_id"], touched, batch=CONTACT_BATCH)
    contacts: dict[str, int] = {email: account for email, account in found.values() if account is not None}
    # each domain's last account (by id) that lists it, for the touched people's domains only
    wanted = {d for e in touched if e not in contacts for d in _parents(e)}
    by_domain = domain_accounts(s, wanted, last=True)

    def account_of(email: str) -> int | None:
        if email in contacts:
            return contacts[email]
        return next((by_domain[d] for d in _parents(email) if d in by_domain), None)

    out: _Touches = ({}, {})
    for last, acc in ((by_us, out[0]), (by_them, out[1])):
        for email, at in last.items():
            account = account_of(email)
            if account is not None and (account not in acc or at > acc[account]):
                acc[account] = at
    return out


def _parents(email: str) -> tuple[str, ...]:
    """The domain of ``email`` and each parent domain: ``("mail.acme.com", "acme.com", "com")``."""
    parts = email.rsplit("@", 1)[-1].split(".")
    return tuple(".".join(parts[i:]) for i in range(len(parts)))


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
    said = _tier_reason(tier)
    if said:
        out.append(said)
    out.append(
        "no message or meeting from us on record" if days is None else f"{days} days since we wrote or met"
    )
    return out


@lru_cache(maxsize=1024)
def _tier_reason(tier: str | None) -> str | None:
    """``"tier 1 account"``/``"Enterprise account"`` for the tiers the priority score names, else None."""
    rank = tier_rank(tier)
    if tier and rank in (1, 2):  # as the priority score names tiers
        return f"tier {rank} account" if any(ch.isdigit() for ch in tier) else f"{tier} account"
    return None


def _stake(v: _Summary) -> tuple[float, int, int, str, int]:
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


def _by_id(v: _Summary) -> tuple[int]:
    """Sort key: the account's id."""
    return (v.id,)
