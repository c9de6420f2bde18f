"""What the store hands out: pydantic view models, separate from the ORM rows.

The CLI and the HTTP API serialize these directly (``model_dump(mode="json")``).
``CommitmentFilter`` is the one query shape both use.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field

from followthrough.types import (
    AlignmentStatus,
    CommitmentStatus,
    ItemFlag,
    ItemType,
    RunStatus,
    SourceKind,
)
from store.recording import SYSTEM_ACTORS


class _View(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CommitmentFilter(_View):
    """Which commitments to list.

    ``status``: ``open`` (the default: open, plus snoozed ones whose ``until``
    has passed), ``snoozed`` (still snoozed on ``as_of``), ``done``,
    ``dismissed``, ``waiting`` (a customer's promise to us), ``review``, ``answered`` (a
    request one of ours answered in its thread), or ``None`` for every status.
    Each field is typed, so an unknown value is a ``ValidationError``.
    ``owner``: the person as people type them: an email, a local part, a first or a full name
    (resolved by :mod:`store.lookup`: one that names no one, or several people, is an error).
    ``deal``: a deal's CRM id (any case) or a unique part of its name.
    ``account``: items linked to one of an account's deals (its name or a part of it, CRM id or domain).
    ``overdue``: due before ``as_of`` and still owed (open; with status
    ``waiting``, the customer's promises past due).
    ``due_before``: due strictly before that date. ``due_within_days``: due
    between ``as_of`` and ``as_of + n`` days, both included.
    ``unlinked``: no deal. ``source``: ``email``/``slack``/``meeting``.
    ``type``: ``commitment``/``request``. ``flag``: items carrying that flag
    (an :class:`~followthrough.types.ItemFlag`: ``fulfilled``, ``stale``, ``ungrounded``...).
    ``cursor``: from ``Page.next_cursor``.
    """

    status: CommitmentStatus | None = CommitmentStatus.OPEN
    owner: str | None = None
    deal: str | None = None
    account: str | None = None
    overdue: bool = False
    due_before: date | None = None
    due_within_days: int | None = Field(default=None, ge=0)
    unlinked: bool = False
    source: SourceKind | None = None
    type: ItemType | None = None
    flag: ItemFlag | None = None
    as_of: date = Field(default_factory=date.today)
    limit: int = Field(default=50, ge=1, le=1000)
    cursor: str | None = None


class EvidenceView(_View):
    """One verbatim quote an item rests on, and where it sits in its source document."""

    quote: str = Field(description="The words as written in the source, verbatim.")
    char_start: int | None = Field(
        description="Where the quote starts in its document's text (0-based character offset); null when "
        "it could not be placed."
    )
    char_end: int | None = Field(
        description="Where the quote ends (exclusive character offset); null likewise."
    )
    alignment: AlignmentStatus = Field(
        description="How the quote was found in the text: exact, fuzzy or none."
    )
    message_id: str = Field(
        description="The source document's id: an email's Message-ID, a Slack ts, a file name."
    )
    source: SourceKind = Field(description="The document's source: email, slack or meeting.")
    document_id: int = Field(description="The document's id in the store (GET /v1/documents/{id}).")
    occurred_at: datetime = Field(description="When the document was written or the meeting held (UTC).")


class DealRef(_View):
    crm_id: str
    name: str
    account: str
    stage: str | None
    amount: float | None
    close_date: date | None
    tier: str | None = None


class HistoryView(_View):
    at: datetime
    field: str
    old: str | None
    new: str | None
    actor: str
    note: str | None


OWNER = (
    "Who owes it: the owner's email address where it is known, else their name as written in the source; "
    "null when no one is named. What ../shared/eval/score.py compares."
)
OWNER_NAME = "The owner's name as written in the source (the display name); null when only an email is known."
EVIDENCE = (
    "The item's primary verbatim quote: what its own document said (quotes[0].quote); null only when it has "
    "no quote on record."
)
CHAR_START = "Where evidence starts in its document's text (0-based character offset); null when not placed."
CHAR_END = "Where evidence ends in its document's text (exclusive character offset); null when not placed."
ALIGNMENT = (
    "How evidence was found in the text: exact, fuzzy or none (not found); null when there is no quote."
)
QUOTES = (
    "Every evidence quote the item rests on, its own document's first, each with its place in the source "
    "(a merged promise holds the quotes of every source it was seen in)."
)


class CommitmentView(_View):
    id: int
    type: ItemType
    status: CommitmentStatus
    owner: str | None = Field(description=OWNER)
    owner_name: str | None = Field(description=OWNER_NAME)
    counterparty: str | None
    counterparty_email: str | None = None
    action: str
    due: date | None
    due_text: str | None
    confidence: float
    flags: list[ItemFlag]
    source: SourceKind
    message_id: str
    thread_id: str | None
    document_id: int
    document_title: str | None = None
    occurred_at: datetime
    evidence: str | None = Field(description=EVIDENCE)
    char_start: int | None = Field(description=CHAR_START)
    char_end: int | None = Field(description=CHAR_END)
    alignment: AlignmentStatus | None = Field(description=ALIGNMENT)
    quotes: list[EvidenceView] = Field(description=QUOTES)
    deal: DealRef | None
    link_method: str | None
    link_confidence: float | None
    snoozed_until: date | None
    priority: float
    priority_reasons: list[str]
    overdue_days: int | None
    age_hours: float | None = Field(
        default=None,
        description="An open request's age: hours from its message to as-of (now, when as-of is today; "
        "else the end of that day). Null for commitments and for requests that are closed.",
    )
    response_hours: float | None = Field(
        default=None,
        description="The response target for an open request, in hours, for its account's tier "
        "(FOLLOWTHROUGH_RESPONSE_HOURS). Null where there is no target.",
    )
    response_due: datetime | None = Field(
        default=None, description="When an open request should be answered by: its time plus the target."
    )
    overdue_response: bool = Field(
        default=False, description="An open request still unanswered past its response target."
    )
    created_at: datetime | None = None
    updated_at: datetime | None = None
    history: list[HistoryView] = Field(default_factory=list)
    merged_into: int | None = Field(
        default=None,
        description="The commitment this one was merged into (status merged): the same promise seen in "
        "another source, which now holds this one's evidence. Null otherwise.",
    )

    @computed_field(  # type: ignore[prop-decorator]
        description="How many documents the evidence comes from: 2 when a promise made in a meeting was "
        "repeated in the follow-up email (each source's quote is in quotes)."
    )
    @property
    def sources(self) -> int:
        return len({e.document_id for e in self.quotes})

    def due_corrected(self) -> bool:
        """Whether a person (an actor that is not the extractor, linker, merge or system) changed the
        due date, as :attr:`history` records (a view without history: ``False``)."""
        return any(h.field == "due" and h.actor not in SYSTEM_ACTORS for h in self.history)

    def due_phrase(self) -> str | None:
        """The words the due date was written as (``"by Wednesday"``), to show beside the date; ``None``
        when there are none, when there is no due date, or once a person corrected the date (the words
        then name a date no longer meant). What every place that shows a due date shows."""
        if self.due is None or not self.due_text or self.due_corrected():
            return None
        return self.due_text


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def owner_email(item: CommitmentView | CommitmentSummary) -> str | None:
    """The item's owner as an email address: ``owner`` when it holds one (the owner was resolved to an
    address), else ``None`` (a name only, or no owner)."""
    return item.owner if item.owner and _EMAIL.fullmatch(item.owner) else None


class Page(_View):
    items: list[CommitmentView]
    next_cursor: str | None


class CommitmentSummary(_View):
    """One commitment as a listing shows it: what a row of a list needs, without its history and,
    unless asked for (``expand=evidence``), without its evidence (``evidence``, its offsets and
    ``quotes`` are null then). The full item, with evidence and history, is :class:`CommitmentView`
    (``GET /v1/commitments/{id}``); the fields here mean the same and have the same names and types."""

    id: int
    type: ItemType
    status: CommitmentStatus
    owner: str | None = Field(description=OWNER)
    owner_name: str | None = Field(description=OWNER_NAME)
    counterparty: str | None
    action: str
    due: date | None
    overdue_days: int | None
    snoozed_until: date | None
    flags: list[ItemFlag]
    priority: float
    overdue_response: bool = Field(description="An open request still unanswered past its response target.")
    source: SourceKind
    document_id: int
    occurred_at: datetime
    deal: DealRef | None
    merged_into: int | None
    evidence: str | None = Field(
        default=None, description=EVIDENCE + " With expand=evidence; null otherwise."
    )
    char_start: int | None = Field(default=None, description=CHAR_START + " With expand=evidence.")
    char_end: int | None = Field(default=None, description=CHAR_END + " With expand=evidence.")
    alignment: AlignmentStatus | None = Field(default=None, description=ALIGNMENT + " With expand=evidence.")
    quotes: list[EvidenceView] | None = Field(
        default=None, description=QUOTES + " With expand=evidence; null otherwise."
    )


class SummaryPage(_View):
    """A page of :class:`CommitmentSummary`; ``next_cursor`` (null on the last page) asks for the next."""

    items: list[CommitmentSummary]
    next_cursor: str | None


class DealHealth(StrEnum):
    """How a deal's commitments stand (:func:`store.health`): ``at risk`` (something overdue),
    ``attention`` (due within 3 days), ``on track`` (open, none late) or ``clear`` (nothing open)."""

    AT_RISK = "at risk"
    ATTENTION = "attention"
    ON_TRACK = "on track"
    CLEAR = "clear"


class DealView(_View):
    crm_id: str
    name: str
    account: str
    stage: str | None
    amount: float | None
    close_date: date | None
    owner_email: str | None
    open_count: int
    overdue_count: int
    health: DealHealth
    tier: str | None = None
    due_soon_count: int = 0
    done_count: int = 0
    """Closed as kept: ``done`` and ``answered`` items."""
    total_count: int = 0


class DealPage(_View):
    """A page of deals (``GET /v1/deals``) in id order; ``next_cursor`` (null on the last page) asks for
    the next."""

    items: list[DealView]
    next_cursor: str | None


class RunView(_View):
    id: int
    started_at: datetime
    finished_at: datetime | None
    extractor: str
    model: str
    prompt_version: str
    status: RunStatus
    documents: int
    items: int
    failed: int
    cached: int
    ungrounded: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    stats: dict[str, Any]


class ApiTokenView(_View):
    """An API bearer token as the store lists it (never its secret)."""

    id: int
    name: str
    read_only: bool
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class PersonView(_View):
    """A person as :mod:`store.lookup` found them: ``email`` (``None`` for an owner known by name
    only) and the fullest ``name`` known."""

    email: str | None
    name: str | None


class AccountFilter(_View):
    """Which accounts to list (``GET /v1/accounts``, ``followthrough accounts``).

    ``silent``: only silent accounts (see :class:`AccountView`). ``owner``: only
    accounts with a deal that person owns (open deals, else any; matched as
    :class:`CommitmentFilter` matches owners). ``as_of``: the day touches and
    silence are counted to. ``cursor``: from ``AccountPage.next_cursor``.
    """

    silent: bool = False
    owner: str | None = None
    as_of: date = Field(default_factory=date.today)
    limit: int = Field(default=50, ge=1, le=1000)
    cursor: str | None = None


class AccountView(_View):
    """One CRM account: its deals, open items and when we last spoke.

    ``open_deals``/``open_amount``: deals not Closed Won/Lost, and their summed
    amount (0 when none has one). ``deal_owners``: the emails owning its open deals
    (all its deals when none is open). ``open_items``/``overdue_items``: open
    commitments and requests linked to its deals. ``last_touch_by_us``: the last
    email sent, Slack message written or meeting held by someone on our side with
    one of its contacts (or someone at its domains) taking part;
    ``last_touch_by_them``: the last message from them to us, or meeting with us
    (UTC, up to the end of ``as_of``; ``None``: none on record).
    ``days_since_touch``: whole days from ``last_touch_by_us`` to ``as_of``.
    ``watched``: it has an open deal, or its tier has a silence limit of its own.
    ``silent``: watched, and no touch by us for ``silent_after_days`` (its tier's
    limit) or more, or never. ``reasons``: what is at stake, in words.
    """

    id: int
    name: str
    crm_id: str | None
    tier: str | None
    domains: list[str]
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
    reasons: list[str]


class AccountPage(_View):
    items: list[AccountView]
    next_cursor: str | None


class AccountDetail(_View):
    """One account (``GET /v1/accounts/{id}``): its summary, every deal, and its open items by priority."""

    account: AccountView
    deals: list[DealView]
    items: list[CommitmentView]
