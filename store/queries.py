"""Commitment listings: filters, the stable cursor, and rows → views.

Listings are ordered by ``(due, id)`` with undated items last. That order does
not move when a commitment's status or priority changes, so a cursor (an
opaque base64 of the last row's key) pages through every row exactly once.
Sorting by priority is for the CLI to do on a fetched page.

A page is read in two index-ordered parts: dated items (``due IS NOT NULL
ORDER BY due, id``, resumed with the row value ``(due, id) > cursor``), then,
when the page is not full, undated ones (``due IS NULL ORDER BY id``). Both
walk the ``(due, id)`` index and stop after one page, so a page costs the
same at row 50 and at row 500,000, on SQLite and PostgreSQL alike (an
``ORDER BY CASE ...`` or an ``OR`` in the cursor condition would sort or scan
every match instead).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from types import SimpleNamespace
from typing import Any, NamedTuple, TypeVar, cast

from sqlalchemy import ColumnElement, Select, String, and_, bindparam, or_, select, tuple_
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session, aliased, joinedload, selectinload

from followthrough.errors import StoreError
from followthrough.types import CommitmentStatus, TieredValue
from store.lookup import Scope
from store.models import (
    AccountRow,
    CommitmentDealLinkRow,
    CommitmentHistoryRow,
    CommitmentRow,
    DealRow,
    DocumentRow,
    EvidenceRow,
)
from store.priority import Stake, age_hours, overdue_days, points, score
from store.views import (
    CommitmentFilter,
    CommitmentSummary,
    CommitmentView,
    DealHealth,
    DealRef,
    EvidenceView,
    HistoryView,
)

EVERYONE = Scope()
"""No owner, deal or account restriction."""

MAX_ID = 2**31 - 1
"""The largest id a cursor may hold: ids are ``INTEGER`` columns, 32-bit on PostgreSQL (the API's
``/v1/commitments/{id}`` has the same bound). A larger one would reach the database as an error."""

_CURSOR_CHARS = re.compile(r"[A-Za-z0-9_-]{1,2000}")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class InvalidCursor(StoreError, ValueError):
    """A pagination cursor that this store did not hand out."""


def effective_status(status: CommitmentStatus, snoozed_until: date | None, as_of: date) -> CommitmentStatus:
    """A snoozed item whose ``until`` has come (``until <= as_of``) counts as open."""
    if status == CommitmentStatus.SNOOZED and snoozed_until is not None and snoozed_until <= as_of:
        return CommitmentStatus.OPEN
    return status


def open_clause(as_of: date) -> ColumnElement[bool]:
    c = CommitmentRow
    return or_(
        c.status == CommitmentStatus.OPEN,
        and_(c.status == CommitmentStatus.SNOOZED, c.snoozed_until.is_not(None), c.snoozed_until <= as_of),
    )


def encode_cursor(due: date | None, cid: int) -> str:
    raw = json.dumps([due.isoformat() if due else None, cid], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[date | None, int]:
    """The ``(due, id)`` that :func:`encode_cursor` wrote into ``cursor``; :class:`InvalidCursor` otherwise.

    Only what ``encode_cursor`` writes is accepted: unpadded URL-safe base64 of
    the JSON ``[due, id]``, ``due`` a ``YYYY-MM-DD`` date or null and ``id`` an
    integer in ``1..MAX_ID`` (never a boolean, a float or a string). Nothing
    else reaches a query: a crafted cursor is a client error, not a database one.
    """
    try:
        if not isinstance(cursor, str) or not _CURSOR_CHARS.fullmatch(cursor) or len(cursor) % 4 == 1:
            raise ValueError("not URL-safe base64")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
        if not isinstance(value, list) or len(value) != 2:
            raise ValueError("not a [due, id] pair")
        due_s, cid = value
        if type(cid) is not int or not 1 <= cid <= MAX_ID:
            raise ValueError("the id is not an integer in range")
        if due_s is None:
            return None, cid
        if not isinstance(due_s, str) or not _ISO_DATE.fullmatch(due_s):
            raise ValueError("the due date is not YYYY-MM-DD")
        return date.fromisoformat(due_s), cid
    except (binascii.Error, ValueError, TypeError, RecursionError) as e:
        raise InvalidCursor("invalid cursor: use the next_cursor of a previous page, or no cursor") from e


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not a cursor value")


def eager() -> list[Any]:
    """Load what a view needs: one JOIN for the document and deal, one IN query for the evidence.

    Only the document and account columns a view shows are read (not the
    document's text, participants or segments: a page would parse them all).
    """
    doc_cols = (
        DocumentRow.id,
        DocumentRow.source,
        DocumentRow.external_id,
        DocumentRow.title,
        DocumentRow.occurred_at,
    )
    return [
        joinedload(CommitmentRow.document).load_only(*doc_cols),
        selectinload(CommitmentRow.evidence).joinedload(EvidenceRow.document).load_only(*doc_cols),
        selectinload(CommitmentRow.merged_evidence).joinedload(EvidenceRow.document).load_only(*doc_cols),
        joinedload(CommitmentRow.link)
        .joinedload(CommitmentDealLinkRow.deal)
        .joinedload(DealRow.account)
        .load_only(AccountRow.id, AccountRow.name, AccountRow.tier),
    ]


def only_dated(f: CommitmentFilter) -> bool:
    """True when the filter can match dated items only (no undated part to read)."""
    return bool(f.overdue or f.due_before or f.due_within_days is not None)


def build_select(
    f: CommitmentFilter, *, undated: bool = False, scope: Scope = EVERYONE
) -> Select[Any] | None:
    """The dated part of a page (or, with ``undated``, the undated part), in cursor order.

    ``f.owner``, ``f.deal`` and ``f.account`` are read only through ``scope``, what
    :func:`store.lookup.scope_of` resolved them to. ``None`` when that part has nothing
    left after the cursor.
    """
    c = CommitmentRow
    stmt = select(c)
    conds: list[ColumnElement[bool]] = []
    if f.status == CommitmentStatus.OPEN:
        conds.append(open_clause(f.as_of))
    elif f.status == CommitmentStatus.SNOOZED:
        still = or_(c.snoozed_until.is_(None), c.snoozed_until > f.as_of)
        conds.append(and_(c.status == CommitmentStatus.SNOOZED, still))
    elif f.status is not None:
        conds.append(c.status == f.status)
    if scope.has_owner:
        # owner_email is stored lowercased, so an email is one indexed lookup; the same person's items
        # stored with a name and no email are added only when there are some (the OR costs the index order)
        by_name = and_(c.owner_email.is_(None), c.owner.in_(scope.owner_names))
        if scope.owner_email is None:
            conds.append(by_name)
        else:
            by_email = c.owner_email == scope.owner_email
            conds.append(or_(by_email, by_name) if scope.owner_names else by_email)
    if scope.deal_ids is not None:
        # the deal mirrored on the commitment: one (deal_id, ...) index, no join
        conds.append(c.deal_id.in_(scope.deal_ids))
    if f.overdue:
        # past due and still owed: ours (open), or, asked for with status waiting, the customer's
        owed = (
            c.status == CommitmentStatus.WAITING
            if f.status == CommitmentStatus.WAITING
            else open_clause(f.as_of)
        )
        conds.append(and_(c.due < f.as_of, owed))
    if f.due_before:
        conds.append(c.due < f.due_before)
    if f.due_within_days is not None:
        conds.append(and_(c.due >= f.as_of, c.due <= f.as_of + timedelta(days=f.due_within_days)))
    if f.unlinked:
        # NOT EXISTS (an anti-join) rather than LEFT JOIN ... IS NULL: PostgreSQL estimates it
        # well and walks the (due, id) index instead of hashing both tables.
        # An alias, correlated to the commitment only, so that it still has a FROM when the
        # outer query joins the link table too (deal= together with unlinked=).
        other = aliased(CommitmentDealLinkRow)
        linked = (
            select(other.commitment_id)
            .where(other.commitment_id == c.id, other.deal_id.is_not(None))
            .correlate(CommitmentRow)
        )
        conds.append(~linked.exists())
    if f.source:
        conds.append(c.source == f.source)
    if f.type:
        conds.append(c.type == f.type)
    if f.flag:
        # flags is a JSON list of plain words: match the quoted word in its text form
        conds.append(sql_cast(c.flags, String).like(f'%"{f.flag}"%'))
    last_due, last_id = decode_cursor(f.cursor) if f.cursor else (None, None)
    if undated:
        if only_dated(f):
            return None
        conds.append(c.due.is_(None))
        if f.cursor and last_due is None:
            conds.append(c.id > last_id)
        order: list[Any] = [c.id]
    else:
        if f.cursor and last_due is None:
            return None  # the cursor is already in the undated part
        conds.append(c.due.is_not(None))
        if last_due is not None:
            conds.append(tuple_(c.due, c.id) > tuple_(last_due, last_id))
        order = [c.due, c.id]
    return stmt.where(and_(*conds)).order_by(*order)


_DOC_COLS = ("id", "source", "external_id", "title", "occurred_at")
_LINK_COLS = ("deal_id", "method", "confidence")
_DEAL_COLS = ("crm_id", "name", "stage", "amount", "close_date")
_EVIDENCE_COLS = ("id", "quote", "char_start", "char_end", "alignment", "document_id", "merged_from")


def _ns(row: Any, prefix: str, names: tuple[str, ...]) -> SimpleNamespace:
    return SimpleNamespace(**{n: row[f"{prefix}{n}"] for n in names})


@dataclass(frozen=True)
class _ById:
    """The tables of a by-id commitment query: the commitments, and aliases of their document (``d``),
    deal link (``ln``), deal (``dl``) and the deal's account (``ac``)."""

    c: Any = CommitmentRow.__table__
    d: Any = DocumentRow.__table__.alias("d")
    ln: Any = CommitmentDealLinkRow.__table__.alias("ln")
    dl: Any = DealRow.__table__.alias("dl")
    ac: Any = AccountRow.__table__.alias("ac")

    def select(self, *columns: Any) -> Select[Any]:
        """``columns`` of the commitments whose id is in ``ids`` (an expanding parameter), each with
        its document, and its link, deal and account when it has them."""
        return self.where_ids(select(*columns))

    def where_ids(self, stmt: Select[Any]) -> Select[Any]:
        """``stmt`` (a select of these tables' columns) over the commitments whose id is in ``ids``
        (an expanding parameter), each with its document, and its link, deal and account."""
        return self.joined(stmt).where(self.c.c.id.in_(bindparam("ids", expanding=True)))

    def joined(self, stmt: Select[Any]) -> Select[Any]:
        """``stmt`` over every commitment, each with its document, and its link, deal and account
        when it has them."""
        c = self.c
        return (
            stmt.select_from(c)
            .join(self.d, self.d.c.id == c.c.document_id)
            .outerjoin(self.ln, self.ln.c.commitment_id == c.c.id)
            .outerjoin(self.dl, self.dl.c.id == self.ln.c.deal_id)
            .outerjoin(self.ac, self.ac.c.id == self.dl.c.account_id)
        )


@cache
def _page_statements() -> tuple[Select[Any], Select[Any], Select[Any]]:
    """The by-id queries of :func:`fetch_views` (``ids`` is an expanding parameter), built once: the
    commitments with their document, link, deal and account; the evidence they hold; and the evidence
    held for merged ones by their survivors (``merged_from``)."""
    q = _ById()
    c, d, ln, dl, ac = q.c, q.d, q.ln, q.dl, q.ac
    main = q.select(
        *c.c,
        *(d.c[n].label(f"d_{n}") for n in _DOC_COLS),
        *(ln.c[n].label(f"l_{n}") for n in ("commitment_id", *_LINK_COLS)),
        *(dl.c[n].label(f"k_{n}") for n in _DEAL_COLS),
        ac.c.name.label("a_name"),
        ac.c.tier.label("a_tier"),
    )
    e = EvidenceRow.__table__
    ed = DocumentRow.__table__.alias("ed")
    evidence = select(e, *(ed.c[n].label(f"d_{n}") for n in _DOC_COLS)).join(ed, ed.c.id == e.c.document_id)
    held = evidence.where(e.c.commitment_id.in_(bindparam("ids", expanding=True))).order_by(e.c.id)
    merged = evidence.where(e.c.merged_from.in_(bindparam("ids", expanding=True))).order_by(e.c.id)
    return main, held, merged


def _read(s: Session, stmt: Select[Any], *, evidence: bool) -> list[SimpleNamespace]:
    """The commitments ``stmt`` selects, in its order, as namespaces with the attributes of the ORM
    row that :func:`to_view` and :func:`to_summary` read (``evidence`` and ``merged_evidence`` stay
    empty unless ``evidence``).

    Three small queries: the ids in order (``stmt``, which only walks an index), the commitments
    with their document, deal link, deal and account by primary key, then (with ``evidence``) the
    evidence they hold, and that of merged ones, held by their survivors. Plain rows instead of ORM
    objects keep a page of 50 at a few milliseconds of CPU, which is most of its cost once the index
    does the rest.
    """
    ids = list(s.scalars(stmt.with_only_columns(CommitmentRow.id)))
    if not ids:
        return []
    main, held, merged_held = _page_statements()
    names = [col.name for col in CommitmentRow.__table__.c]
    found: dict[int, SimpleNamespace] = {}
    for r in s.execute(main, {"ids": ids}).mappings():
        item = SimpleNamespace(**{n: r[n] for n in names})
        item.document = _ns(r, "d_", _DOC_COLS)
        item.evidence = []
        item.merged_evidence = []
        item.link = None
        if r["l_commitment_id"] is not None:
            item.link = _ns(r, "l_", _LINK_COLS)
            item.link.deal = None
            if r["l_deal_id"] is not None:
                item.link.deal = _ns(r, "k_", _DEAL_COLS)
                item.link.deal.account = SimpleNamespace(name=r["a_name"], tier=r["a_tier"])
        found[item.id] = item
    if evidence:
        for r in s.execute(held, {"ids": list(found)}).mappings():
            found[r["commitment_id"]].evidence.append(_evidence(r))
        merged = [i for i, item in found.items() if item.merged_into is not None]
        if merged:  # only merged items' evidence sits elsewhere: no OR on every page's evidence query
            for r in s.execute(merged_held, {"ids": merged}).mappings():
                found[r["merged_from"]].merged_evidence.append(_evidence(r))
    return [found[i] for i in ids if i in found]


def _evidence(r: Any) -> SimpleNamespace:
    ev = _ns(r, "", _EVIDENCE_COLS)
    ev.document = _ns(r, "d_", _DOC_COLS)
    return ev


def fetch_views(
    s: Session, stmt: Select[Any], as_of: date, *, response: TieredValue | None = None
) -> list[CommitmentView]:
    """Full views (with evidence and history) of the commitments ``stmt`` selects, in its order (see
    :func:`_read`; the history is one more query for the page): the same item ``GET /v1/commitments/{id}``
    shows."""
    # A namespace with the same attributes as the ORM row: to_view reads either.
    rows = _read(s, stmt, evidence=True)
    history: dict[int, list[Any]] = {r.id: [] for r in rows}
    if rows:
        h = CommitmentHistoryRow.__table__
        for entry in s.execute(select(h).where(h.c.commitment_id.in_(list(history))).order_by(h.c.id)):
            history[entry.commitment_id].append(entry)
    return [to_view(cast(CommitmentRow, r), as_of, history[r.id], response=response) for r in rows]


def fetch_summaries(
    s: Session, stmt: Select[Any], as_of: date, *, response: TieredValue | None = None, evidence: bool = False
) -> list[CommitmentSummary]:
    """Summaries of the commitments ``stmt`` selects, in its order; their evidence with ``evidence``."""
    rows = _read(s, stmt, evidence=evidence)
    return [to_summary(cast(CommitmentRow, r), as_of, response=response, evidence=evidence) for r in rows]


def read_page(
    s: Session, f: CommitmentFilter, scope: Scope, fetch: Callable[[Select[Any]], list[L]]
) -> tuple[list[L], str | None]:
    """One page of ``f`` (``f.limit`` items, read by ``fetch``) and the cursor of the next one (``None``
    on the last page): the dated part first, then, when the page is not full, the undated part."""
    items: list[L] = []
    for undated in (False, True):
        stmt = build_select(f, undated=undated, scope=scope)
        if stmt is not None and len(items) <= f.limit:
            items.extend(fetch(stmt.limit(f.limit + 1 - len(items))))
    if len(items) <= f.limit:
        return items, None
    last = items[f.limit - 1]
    return items[: f.limit], encode_cursor(last.due, last.id)


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


@dataclass(frozen=True)
class _Standing:
    """Where one commitment stands on a day: what both its view and its summary show."""

    status: CommitmentStatus
    deal: DealRef | None
    priority: float
    reasons: list[str]
    overdue_days: int | None
    age_hours: float | None
    response_hours: float | None


def _stake(c: CommitmentRow, as_of: date, response: TieredValue | None) -> tuple[CommitmentStatus, Stake]:
    """``c``'s effective status on ``as_of`` and what its priority looks at (see :func:`_stake_of`)."""
    deal = c.link.deal if c.link is not None else None
    return _stake_of(
        c.type,
        c.status,
        c.snoozed_until,
        c.due,
        c.confidence,
        c.document.occurred_at,
        (deal.amount, deal.stage, deal.account.tier) if deal else None,
        as_of,
        response,
    )


def _stake_of(
    kind: str,
    stored: CommitmentStatus,
    snoozed_until: date | None,
    due: date | None,
    confidence: float,
    asked_at: datetime,
    deal: tuple[float | None, str | None, str | None] | None,
    as_of: date,
    response: TieredValue | None,
) -> tuple[CommitmentStatus, Stake]:
    """An item's effective status on ``as_of`` and what its priority looks at: for an open request,
    its age (from ``asked_at``, its message's time) and response target (``response``: by account
    tier, ``None``: ages only, no target). ``deal``: the linked deal's amount, stage and account
    tier."""
    status = effective_status(stored, snoozed_until, as_of)
    is_open = status == CommitmentStatus.OPEN
    amount, stage, tier = deal or (None, None, None)
    age = target = None
    if kind == "request" and is_open:
        age = age_hours(asked_at, as_of)
        target = response.for_tier(tier) if response is not None else None
    return status, Stake(
        type=kind,
        due=due,
        is_open=is_open,
        confidence=confidence,
        amount=amount,
        stage=stage,
        tier=tier,
        age_hours=age,
        response_hours=target,
    )


def _owed_days(due: date | None, status: CommitmentStatus, as_of: date) -> int | None:
    """Whole days past ``due``: ours while open, the customer's while waiting."""
    return overdue_days(due, as_of, status in (CommitmentStatus.OPEN, CommitmentStatus.WAITING))


def _standing(c: CommitmentRow, as_of: date, response: TieredValue | None) -> _Standing:
    """``c``'s effective status, deal, priority (and why), lateness and, for an open request, its age
    and response target (``response``: by account tier; ``None``: ages only, no target)."""
    status, stake = _stake(c, as_of, response)
    priority, reasons = score(stake, as_of)
    deal = c.link.deal if c.link is not None else None
    return _Standing(
        status=status,
        deal=deal_ref(deal) if deal is not None else None,
        priority=priority,
        reasons=reasons,
        overdue_days=_owed_days(c.due, status, as_of),
        age_hours=stake.age_hours,
        response_hours=stake.response_hours,
    )


class Ranked(NamedTuple):
    """One item as a report ranks and counts it (:func:`fetch_ranked`): no evidence, no history.

    Every value is what :func:`to_summary` shows for the same item on the same day: ``owner`` (the
    owner's email, else name), ``priority``, ``overdue_days``, ``overdue_response``; ``occurred_at``
    is when its message was sent (UTC); ``deal``: the CRM id of the deal it is linked to.
    """

    id: int
    type: str
    owner: str | None
    due: date | None
    deal: str | None
    priority: float
    overdue_days: int | None
    overdue_response: bool
    occurred_at: datetime


V = TypeVar("V", CommitmentView, CommitmentSummary)
"""A listing's item: the full view or the summary."""
L = TypeVar("L", CommitmentView, CommitmentSummary, Ranked)
"""What a page is read as: the full view, the summary or the ranked tuple."""


def fetch_ranked(
    s: Session, stmt: Select[Any], as_of: date, *, response: TieredValue | None = None
) -> list[Ranked]:
    """The commitments ``stmt`` selects, in its order, as :class:`Ranked` tuples: two queries (the
    ids by index, then one lean row per id with its message's time and its deal), no ORM objects and
    no pydantic models, a few microseconds an item."""
    ids = list(s.scalars(stmt.with_only_columns(CommitmentRow.id)))
    if not ids:
        return []
    rows = s.execute(_ranked_statement(), {"ids": ids}).all()
    found = {r.id: r for r in (ranked_row(row, as_of, response) for row in rows)}
    return [found[i] for i in ids if i in found]


def open_ranked(s: Session, as_of: date, *, response: TieredValue | None = None) -> Iterator[Ranked]:
    """Every item open on ``as_of`` as a :class:`Ranked` tuple, in ``(due, id)`` order (undated
    last), streamed from one query (:data:`RANKED_BATCH` rows at a time): what a report that counts
    and ranks them all reads, without a page's two queries per thousand items."""
    q = _ById()
    c = q.c
    stmt = (
        q.joined(_ranked_columns(q))
        .where(open_clause(as_of))
        .order_by(c.c.due.is_(None), c.c.due, c.c.id)
        .execution_options(yield_per=RANKED_BATCH)
    )
    for row in s.execute(stmt):
        yield ranked_row(row, as_of, response)


RANKED_BATCH = 1_000
"""Rows :func:`open_ranked` holds at a time."""


def ranked_row(row: Any, as_of: date, response: TieredValue | None) -> Ranked:
    """One row of :func:`_ranked_columns` as its :class:`Ranked` tuple on ``as_of``."""
    cid, kind, stored, snoozed, owner, email, due, conf, asked_at, crm_id, amount, stage, tier = row
    deal = (amount, stage, tier) if crm_id is not None else None
    status, stake = _stake_of(kind, stored, snoozed, due, conf, asked_at, deal, as_of, response)
    age, target = stake.age_hours, stake.response_hours
    return Ranked(
        cid,
        kind,
        email or owner,
        due,
        crm_id,
        points(stake, as_of),
        _owed_days(due, status, as_of),
        age is not None and target is not None and age > target,
        asked_at,
    )


def _ranked_columns(q: _ById) -> Select[Any]:
    """What :func:`ranked_row` reads of a commitment, its document, deal and account."""
    c = q.c
    return select(
        c.c.id,
        c.c.type,
        c.c.status,
        c.c.snoozed_until,
        c.c.owner,
        c.c.owner_email,
        c.c.due,
        c.c.confidence,
        q.d.c.occurred_at,
        q.dl.c.crm_id.label("deal_crm_id"),
        q.dl.c.amount,
        q.dl.c.stage,
        q.ac.c.tier,
    )


@cache
def _ranked_statement() -> Select[Any]:
    """The by-id query of :func:`fetch_ranked` (``ids`` is an expanding parameter), built once."""
    q = _ById()
    return q.where_ids(_ranked_columns(q))


def own_evidence_first(c: CommitmentRow) -> list[EvidenceRow]:
    """``c``'s evidence (a merged commitment's is held by its survivor: ``merged_evidence``), what it
    said in its own document (its ``document_id``, ``message_id``) first, then the rest as stored: a
    survivor re-recorded after a merge gets its own quote back after the ones merged into it."""
    mine = c.merged_into is not None
    held = c.merged_evidence if mine else c.evidence
    return sorted(
        held, key=lambda e: (e.document_id != c.document_id or (e.merged_from is not None) != mine, e.id)
    )


def _primary(quotes: list[EvidenceView] | None) -> dict[str, Any]:
    """The item's primary quote as its top-level fields (``evidence``, ``char_start``, ``char_end``,
    ``alignment``): the first of ``quotes``; all ``None`` when there are none (or none were read)."""
    first = quotes[0] if quotes else None
    return {
        "evidence": first.quote if first else None,
        "char_start": first.char_start if first else None,
        "char_end": first.char_end if first else None,
        "alignment": first.alignment if first else None,
    }


def _evidence_views(c: CommitmentRow) -> list[EvidenceView]:
    """``c``'s evidence as shown (:func:`own_evidence_first`)."""
    return [
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
        for e in own_evidence_first(c)
    ]


def _late_response(st: _Standing) -> bool:
    return st.age_hours is not None and st.response_hours is not None and st.age_hours > st.response_hours


def to_view(
    c: CommitmentRow,
    as_of: date,
    history: list[CommitmentHistoryRow] | None = None,
    *,
    response: TieredValue | None = None,
) -> CommitmentView:
    """The view of one commitment as of ``as_of``.

    ``response``: the response target in hours by account tier; an open request
    gets its age, the target for its deal's account and whether it is past it.
    ``None``: ages only, no target. A merged commitment (``merged_into`` set) shows its own
    evidence where its survivor now holds it, so its ``sources`` count where it was said.
    """
    st = _standing(c, as_of, response)
    doc = c.document
    quotes = _evidence_views(c)
    return CommitmentView(
        id=c.id,
        type=c.type,
        status=st.status,
        owner=c.owner_email or c.owner,
        owner_name=c.owner,
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
        **_primary(quotes),
        quotes=quotes,
        deal=st.deal,
        link_method=c.link.method if c.link is not None else None,
        link_confidence=c.link.confidence if c.link is not None else None,
        snoozed_until=c.snoozed_until,
        priority=st.priority,
        priority_reasons=st.reasons,
        overdue_days=st.overdue_days,
        age_hours=st.age_hours,
        response_hours=st.response_hours,
        response_due=(
            doc.occurred_at + timedelta(hours=st.response_hours) if st.response_hours is not None else None
        ),
        overdue_response=_late_response(st),
        created_at=c.created_at,
        updated_at=c.updated_at,
        history=[
            HistoryView(at=h.at, field=h.field, old=h.old, new=h.new, actor=h.actor, note=h.note)
            for h in (history or [])
        ],
        merged_into=c.merged_into,
    )


def to_summary(
    c: CommitmentRow, as_of: date, *, response: TieredValue | None = None, evidence: bool = False
) -> CommitmentSummary:
    """The summary of one commitment as of ``as_of`` (as :func:`to_view` counts it); its evidence
    (the primary quote, its offsets and every quote) with ``evidence``, else ``None``."""
    st = _standing(c, as_of, response)
    quotes = _evidence_views(c) if evidence else None
    return CommitmentSummary(
        id=c.id,
        type=c.type,
        status=st.status,
        owner=c.owner_email or c.owner,
        owner_name=c.owner,
        counterparty=c.counterparty,
        action=c.action,
        due=c.due,
        overdue_days=st.overdue_days,
        snoozed_until=c.snoozed_until,
        flags=list(c.flags or []),
        priority=st.priority,
        overdue_response=_late_response(st),
        source=c.source,
        document_id=c.document.id,
        occurred_at=c.document.occurred_at,
        deal=st.deal,
        merged_into=c.merged_into,
        **_primary(quotes),
        quotes=quotes,
    )


def health(open_count: int, overdue_count: int, due_soon_count: int) -> DealHealth:
    """``at risk`` (something overdue), ``attention`` (due within 3 days), ``on track``, ``clear``."""
    if overdue_count:
        return DealHealth.AT_RISK
    if due_soon_count:
        return DealHealth.ATTENTION
    if open_count:
        return DealHealth.ON_TRACK
    return DealHealth.CLEAR
