"""Trends for the dashboard's charts, read from the commitments and their history in SQL.

- :func:`owner_trend`: how many items each owner had open, and how many of those overdue, at the
  end of each of the last ``days`` days up to ``as_of``.
- :func:`response_times`: for each inbound request asked in those days, the hours until one of ours
  first answered it (or, still open, the hours it has waited), against its response target.

Where an item stood on a past day is rebuilt from ``commitment_history``: a field (``status``,
``snoozed_until``, ``due``, ``owner``) had, at the end of day D, the ``new`` value of its last
entry before then; with entries only after D, the ``old`` value of the first (for the status entry
written when the item was stored, ``old`` empty, its ``new``); with none, the value it has now. An
item exists from the day its source document occurred (when the promise was made). An item closed
because a later message delivered or answered it (history actors ``fulfilment``, ``answered``) is
closed from when that message was sent, not from when a run found it; an item merged into another
(the same promise seen again) is never counted: the one it was merged into is.
Changes recorded after ``as_of`` (a store whose "today" is pinned, as the demo's is) count on
``as_of``, so the chart's last day agrees with the lists the dashboard shows. Days are UTC days.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Integer, SQLColumnExpression, String, and_, case, exists, func, literal, or_, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from followthrough.types import CommitmentStatus, TieredValue
from store.base import StoreCore
from store.models import AccountRow, CommitmentHistoryRow, CommitmentRow, DealRow, DocumentRow
from store.priority import as_of_moment

MAX_DAYS = 366
"""The longest window a trend reads (days)."""
UNASSIGNED = "unassigned"
"""The owner a trend shows for items with no owner."""
ANSWER_ACTOR = "answered"
"""The history actor of a request closed because a later message answered it (:mod:`store.fulfilments`)."""
MESSAGE_ACTORS = ("fulfilment", ANSWER_ACTOR)
"""History actors that close an item because a message delivered or answered it (note: the message id)."""
_TAKEN_ON = "taken on by commitment "
_NEVER = datetime(9999, 12, 31, tzinfo=UTC)


@dataclass(frozen=True)
class OwnerDay:
    """One owner on one day: ``open`` items (open, or snoozed until a day that had come) and how many
    of those were ``overdue`` (due before that day). ``owner``: an email address, a name when the store
    has no email for the owner, or :data:`UNASSIGNED`."""

    day: date
    owner: str
    open: int
    overdue: int


@dataclass(frozen=True)
class ResponseSample:
    """One inbound request and how long it waited for our first answer.

    ``asked_at``: when its message was sent (UTC); ``answered_at``: when the message that answered
    it was sent (``None``: still open); ``hours``: from one to the other, or, still open, up to the
    end of ``as_of`` (now, when ``as_of`` is today); ``target_hours``: the response target for its
    account's tier (``None``: no target configured).
    """

    commitment_id: int
    action: str
    owner: str
    asked_at: datetime
    answered_at: datetime | None
    hours: float
    target_hours: float | None

    @property
    def answered(self) -> bool:
        return self.answered_at is not None

    @property
    def late(self) -> bool:
        """Past its target: answered after it, or still waiting beyond it."""
        return self.target_hours is not None and self.hours > self.target_hours


@contextmanager
def _session(source: StoreCore | Session) -> Iterator[Session]:
    if isinstance(source, Session):
        yield source
    else:
        with source._tx() as s:
            yield s


def _window(as_of: date, days: int) -> list[date]:
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be between 1 and {MAX_DAYS}, not {days}")
    return [as_of - timedelta(days=n) for n in range(days - 1, -1, -1)]


def _end_of(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)


def _date_text(s: Session, column: SQLColumnExpression[Any]) -> ColumnElement[Any]:
    """A date column as ``YYYY-MM-DD`` text, as the history stores dates."""
    if s.get_bind().dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM-DD")
    return sql_cast(column, String)


def _names_message(
    s: Session, note: SQLColumnExpression[Any], external_id: SQLColumnExpression[Any]
) -> ColumnElement[bool]:
    """``note`` (a history entry's) starts with the message id ``external_id``, maybe after ``taken on by
    commitment N:`` (what answer and fulfilment detection write: ``"<id>: <quote>"``)."""
    prefix = external_id + literal(": ")
    return or_(
        func.substr(note, 1, func.length(external_id) + 2) == prefix,
        and_(note.startswith(_TAKEN_ON), _contains(s, note, literal(": ") + prefix)),
    )


def _in_thread(doc: type[DocumentRow]) -> ColumnElement[bool]:
    """``doc`` is the commitment's own document or in its thread."""
    c = CommitmentRow
    return or_(doc.id == c.document_id, and_(c.thread_id.is_not(None), doc.thread_id == c.thread_id))


def _effective_at(s: Session, h: type[CommitmentHistoryRow]) -> ColumnElement[Any]:
    """When history entry ``h`` took effect: for an item closed because a message delivered or answered it
    (:data:`MESSAGE_ACTORS`), when that message was sent (found in the item's thread); else when it was
    recorded."""
    msg = aliased(DocumentRow)
    sent = (
        select(func.min(msg.occurred_at))
        .where(_in_thread(msg), _names_message(s, h.note, msg.external_id))
        .correlate(CommitmentRow, h)
        .scalar_subquery()
    )
    return case((h.actor.in_(MESSAGE_ACTORS), func.coalesce(sent, h.at)), else_=h.at)


def _field_at(
    s: Session, field: str, current: SQLColumnExpression[Any], cutoff: datetime
) -> ColumnElement[Any]:
    """The value commitment ``CommitmentRow.id``'s ``field`` had just before ``cutoff`` (module docstring)."""
    h = aliased(CommitmentHistoryRow)
    at = _effective_at(s, h) if field == "status" else h.at
    mine = and_(h.commitment_id == CommitmentRow.id, h.field == field)
    before = and_(mine, at < cutoff)
    # in the order recorded (ids: the history's own order; SQLite cannot sort on a doubly correlated time)
    last_new = select(h.new).where(before).order_by(h.id.desc()).limit(1).scalar_subquery()
    first = h.old if field != "status" else func.coalesce(h.old, h.new)  # old NULL: the item was created
    first_old = select(first).where(mine).order_by(h.id).limit(1).scalar_subquery()
    return case(
        (exists(select(h.id).where(before)), last_new),
        (exists(select(h.id).where(mine)), first_old),
        else_=current,
    )


def owner_trend(
    source: StoreCore | Session, *, as_of: date, days: int = 30, owner: str | None = None
) -> list[OwnerDay]:
    """Open and overdue items per owner at the end of each day from ``as_of - days + 1`` to ``as_of``.

    ``source``: a :class:`store.Store` or an open session. ``owner``: one owner only (an email
    address, any case, or the name stored for an owner without one); ``None``: everyone. Items
    merged into another are not counted twice (a merged item is never open); a customer's promise
    (``waiting``) is not ours to do and not counted. Returns one :class:`OwnerDay` per owner and
    day on which the owner had something open, in (day, owner) order. ``ValueError`` for ``days``
    outside 1..:data:`MAX_DAYS`.
    """
    window = _window(as_of, days)
    c, d, h = CommitmentRow, DocumentRow, CommitmentHistoryRow
    start = _end_of(window[0] - timedelta(days=1))
    open_now = c.status.in_([CommitmentStatus.OPEN, CommitmentStatus.SNOOZED])
    changed_since = exists(select(h.id).where(h.commitment_id == c.id, h.field == "status", h.at >= start))
    out: list[OwnerDay] = []
    with _session(source) as s:
        current_owner = func.coalesce(c.owner_email, c.owner, literal(UNASSIGNED))
        for day in window:
            cutoff = _end_of(day) if day < as_of else _NEVER  # what happened after as_of counts on as_of
            text_day = day.isoformat()
            status = _field_at(s, "status", sql_cast(c.status, String), cutoff)
            until = _field_at(s, "snoozed_until", _date_text(s, c.snoozed_until), cutoff)
            due = _field_at(s, "due", _date_text(s, c.due), cutoff)
            who = func.coalesce(_field_at(s, "owner", current_owner, cutoff), literal(UNASSIGNED))
            is_open = or_(
                status == CommitmentStatus.OPEN.value,
                and_(status == CommitmentStatus.SNOOZED.value, until.is_not(None), until <= text_day),
            )
            overdue = and_(is_open, due.is_not(None), due < text_day)
            items = (
                select(
                    who.label("owner"),
                    case((is_open, 1), else_=0).label("is_open"),
                    case((overdue, 1), else_=0).label("is_overdue"),
                )
                .join(d, d.id == c.document_id)
                .where(d.occurred_at < _end_of(day), c.merged_into.is_(None), or_(open_now, changed_since))
                .subquery()
            )
            rows = s.execute(
                select(items.c.owner, func.sum(items.c.is_open), func.sum(items.c.is_overdue))
                .where(items.c.is_open == 1, *([_owner_is(items.c.owner, owner)] if owner else []))
                .group_by(items.c.owner)
                .order_by(items.c.owner)
            ).all()
            out.extend(
                OwnerDay(day=day, owner=who_, open=int(n), overdue=int(late)) for who_, n, late in rows
            )
    return out


def _owner_is(column: SQLColumnExpression[Any], owner: str) -> ColumnElement[bool]:
    value = owner.strip()
    return func.lower(column) == value.lower() if "@" in value else column == value


def _contains(
    s: Session, haystack: SQLColumnExpression[Any], needle: SQLColumnExpression[Any]
) -> ColumnElement[bool]:
    """``needle`` occurs in ``haystack`` (no LIKE wildcards): ``strpos`` (PostgreSQL), ``instr`` (SQLite)."""
    position = func.strpos if s.get_bind().dialect.name == "postgresql" else func.instr
    return position(haystack, needle, type_=Integer) > 0


def response_times(
    source: StoreCore | Session,
    *,
    as_of: date,
    days: int = 30,
    owner: str | None = None,
    target: TieredValue | None = None,
) -> list[ResponseSample]:
    """Inbound requests asked from ``as_of - days + 1`` to ``as_of``, with the hours to our first answer.

    The answer is the message named by the request's first ``status`` → ``answered`` history entry
    written by answer detection (actor ``answered``, :meth:`store.Store.detect_answers`; its note
    starts with the message's id, after ``taken on by commitment N:`` when a promise of ours took
    it on), looked up among the documents of the request's thread (or its own meeting). Requests
    still open (or snoozed) are samples with no answer, their wait counted to ``as_of``. Requests
    closed by a person, dismissed, merged or awaiting review are left out: no message says when
    they were answered. ``target``: the response target by account tier (default: the store's
    ``response_hours``; ``None`` on a session). ``owner``: as :func:`owner_trend`. In (asked_at, id)
    order. ``ValueError`` for ``days`` outside 1..:data:`MAX_DAYS`.
    """
    window = _window(as_of, days)
    if target is None and isinstance(source, StoreCore):
        target = source.response_hours
    c, d = CommitmentRow, DocumentRow
    h, earlier = aliased(CommitmentHistoryRow), aliased(CommitmentHistoryRow)
    reply = aliased(DocumentRow)
    with _session(source) as s:
        names_reply = _names_message(s, h.note, reply.external_id)
        in_thread = _in_thread(reply)

        def answer(entry: type[CommitmentHistoryRow]) -> ColumnElement[bool]:
            return and_(
                entry.field == "status",
                entry.new == CommitmentStatus.ANSWERED.value,
                entry.actor == ANSWER_ACTOR,
            )

        first_answer = and_(  # h: the request's first answer (no earlier one)
            h.commitment_id == c.id,
            answer(h),
            ~exists(
                select(earlier.id).where(
                    earlier.commitment_id == h.commitment_id,
                    answer(earlier),
                    or_(earlier.at < h.at, and_(earlier.at == h.at, earlier.id < h.id)),
                )
            ),
        )
        answered_at = (
            select(func.min(reply.occurred_at))
            .select_from(reply)
            .join(h, first_answer)
            .where(in_thread, names_reply, reply.occurred_at >= d.occurred_at)
            .scalar_subquery()
        )
        who = func.coalesce(c.owner_email, c.owner, literal(UNASSIGNED))
        stmt = (
            select(c.id, c.action, who, d.occurred_at, answered_at, AccountRow.tier, c.status)
            .join(d, d.id == c.document_id)
            .outerjoin(DealRow, DealRow.id == c.deal_id)
            .outerjoin(AccountRow, AccountRow.id == DealRow.account_id)
            .where(
                c.type == "request",
                c.status.in_([CommitmentStatus.OPEN, CommitmentStatus.SNOOZED, CommitmentStatus.ANSWERED]),
                d.occurred_at >= _end_of(window[0] - timedelta(days=1)),
                d.occurred_at < _end_of(as_of),
                *([_owner_is(who, owner)] if owner else []),
            )
            .order_by(d.occurred_at, c.id)
        )
        rows = s.execute(stmt).all()
    end = as_of_moment(as_of)
    out: list[ResponseSample] = []
    for cid, action, who_, asked, answered, tier, status in rows:
        if status == CommitmentStatus.ANSWERED and answered is None:
            continue  # answered, but by no message the store holds
        until = answered if status == CommitmentStatus.ANSWERED else end
        out.append(
            ResponseSample(
                commitment_id=cid,
                action=action,
                owner=who_,
                asked_at=asked,
                answered_at=answered if status == CommitmentStatus.ANSWERED else None,
                hours=round(max(0.0, (until - asked).total_seconds() / 3600), 1),
                target_hours=target.for_tier(tier) if target is not None else None,
            )
        )
    return out
