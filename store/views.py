"""What the store hands out: pydantic view models, separate from the ORM rows.

The CLI and the HTTP API serialize these directly (``model_dump(mode="json")``).
``CommitmentFilter`` is the one query shape both use.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from followthrough.types import (
    AlignmentStatus,
    CommitmentStatus,
    ItemFlag,
    ItemType,
    RunStatus,
    SourceKind,
)


class _View(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CommitmentFilter(_View):
    """Which commitments to list.

    ``status``: ``open`` (the default: open, plus snoozed ones whose ``until``
    has passed), ``snoozed`` (still snoozed on ``as_of``), ``done``,
    ``dismissed``, ``waiting`` (a customer's promise to us), ``review``, or ``None`` for every
    status. Each field is typed, so an unknown value is a ``ValidationError``.
    ``owner``: an email or a name (case-insensitive, exact).
    ``deal``: a CRM deal id. ``overdue``: due before ``as_of``.
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
    quote: str
    char_start: int | None
    char_end: int | None
    alignment: AlignmentStatus
    message_id: str
    source: SourceKind
    document_id: int
    occurred_at: datetime


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


class CommitmentView(_View):
    id: int
    type: ItemType
    status: CommitmentStatus
    owner: str | None
    owner_email: str | None
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
    evidence: list[EvidenceView]
    deal: DealRef | None
    link_method: str | None
    link_confidence: float | None
    snoozed_until: date | None
    priority: float
    priority_reasons: list[str]
    overdue_days: int | None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    history: list[HistoryView] = Field(default_factory=list)


class Page(_View):
    items: list[CommitmentView]
    next_cursor: str | None


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
    health: str
    tier: str | None = None
    due_soon_count: int = 0
    done_count: int = 0
    total_count: int = 0


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
