"""ORM rows (SQLAlchemy 2.0 typed declarative). Internal to :mod:`store`.

These classes are table rows only. Values in flight are the shared pydantic
types in :mod:`followthrough.types`; what the store hands out are the view
models in :mod:`store.views`. The schema is created by the Alembic migration
``store/migrations/versions/0001_initial.py``; a test checks that the two agree.

Timestamps are stored in UTC (:class:`UTCDateTime` restores ``tzinfo`` on read,
which SQLite would otherwise drop). Closed sets (statuses, flags, alignment) are
stored as their plain string values and read back as the :class:`~enum.StrEnum`
members of :mod:`followthrough.types` (:class:`EnumText`, :class:`EnumList`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, TypeVar, cast

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from followthrough.types import (
    AlignmentStatus,
    CommitmentStatus,
    ExtractionStatus,
    ItemFlag,
    ItemType,
    RunStatus,
    SourceKind,
)

_E = TypeVar("_E", bound=StrEnum)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime stored as UTC on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class EnumText(TypeDecorator[_E]):
    """A :class:`StrEnum` member stored as its value in a ``VARCHAR(length)`` column.

    Writing (or comparing with) a value that is not a member raises ``ValueError``;
    reading gives the member back. The column's DDL is a plain ``VARCHAR``, as before.
    """

    impl = String
    cache_ok = True

    def __init__(self, enum: type[_E], length: int) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: _E | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> _E | None:
        return None if value is None else self.enum(value)


class EnumList(TypeDecorator[list[_E]]):
    """A list of :class:`StrEnum` members stored as a JSON array of their values.

    Writing a value that is not a member raises ``ValueError``; reading gives the members back.
    """

    impl = JSON
    cache_ok = True

    def __init__(self, enum: type[_E]) -> None:
        super().__init__()
        self.enum = enum

    def process_bind_param(self, value: list[_E] | list[str] | None, dialect: Dialect) -> list[str] | None:
        return None if value is None else [self.enum(v).value for v in value]

    def process_result_value(self, value: list[str] | None, dialect: Dialect) -> list[_E] | None:
        return None if value is None else [self.enum(v) for v in value]


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {
        datetime: UTCDateTime,
        date: Date,
        dict[str, Any]: JSON,
        list[Any]: JSON,
        list[str]: JSON,
    }


class AccountRow(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    name_key: Mapped[str] = mapped_column(String(300), unique=True)
    crm_id: Mapped[str | None] = mapped_column(String(200))
    domains: Mapped[list[str]] = mapped_column(default=list)
    tier: Mapped[str | None] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AccountDomainRow(Base):
    """One domain of one account: ``accounts.domains`` lower-cased, one row each (migration 0018), so
    that the accounts of a few email domains are found in an index instead of in every account's
    list. Written with the account by :mod:`store.crm`, which only ever adds domains."""

    __tablename__ = "account_domains"

    domain: Mapped[str] = mapped_column(String(300), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)


class ContactRow(Base):
    """A CRM contact. ``name_key``: its name as the name directory keys it
    (:func:`followthrough.types.person_key`; ``NULL`` for no name, or one holding ``@``), and
    ``first_name_key`` that key's first word: one index on both finds a full name or every name with
    a first name without reading the contacts (:mod:`store.directory`)."""

    __tablename__ = "contacts"
    __table_args__ = (Index("ix_contacts_first_name_key_name_key", "first_name_key", "name_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str | None] = mapped_column(String(300))
    # 600: lower-casing "İ" gives two characters, so a 300-character name's key may double.
    name_key: Mapped[str | None] = mapped_column(String(600))
    first_name_key: Mapped[str | None] = mapped_column(String(600))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"), index=True)
    role: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    account: Mapped[AccountRow | None] = relationship()


class DealRow(Base):
    __tablename__ = "deals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crm_id: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(500))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    stage: Mapped[str | None] = mapped_column(String(100))
    amount: Mapped[float | None] = mapped_column(Float)
    close_date: Mapped[date | None]
    owner_email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    account: Mapped[AccountRow] = relationship()


class DocumentRow(Base):
    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("source", "external_id", name="uq_documents_source_external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[SourceKind] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(1000))
    thread_id: Mapped[str | None] = mapped_column(String(1000), index=True)
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    # The source's UTC offset in minutes, so that get_document returns the datetime as given.
    utc_offset_min: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    origin: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str | None] = mapped_column(Text)
    participants: Mapped[list[Any]] = mapped_column(default=list)
    segments: Mapped[list[Any]] = mapped_column(default=list)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    quoted_text: Mapped[str] = mapped_column(Text, default="")
    signature: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class TouchLogRow(Base):
    """The last touches by us and by them as a run left them (migration 0019; one row, ``id`` 1):
    ``log`` holds ``{"by_us": {email: time}, "by_them": {email: time}}`` (ISO 8601, UTC), read from
    every document up to the end of a day; ``basis`` says from what (:mod:`store.touch_log`)."""

    __tablename__ = "touch_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    basis: Mapped[str] = mapped_column(Text)
    named: Mapped[bool] = mapped_column(default=False)
    """Whether a participant known by name only was looked up in the name directory (which the
    basis then covers too)."""
    log: Mapped[dict[str, Any]] = mapped_column(default=dict)
    written_at: Mapped[datetime] = mapped_column(default=utcnow)


class PersonRow(Base):
    """A name and email seen together in a document (email From, Slack profile, attendee line)."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExtractionRunRow(Base):
    __tablename__ = "extraction_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    extractor: Mapped[str] = mapped_column(String(100))
    model: Mapped[str] = mapped_column(String(200))
    prompt_version: Mapped[str] = mapped_column(String(100))
    status: Mapped[RunStatus] = mapped_column(EnumText(RunStatus, 20), default=RunStatus.RUNNING)
    documents: Mapped[int] = mapped_column(Integer, default=0)
    items: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    cached: Mapped[int] = mapped_column(Integer, default=0)
    ungrounded: Mapped[int] = mapped_column(Integer, default=0)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ExtractionRow(Base):
    __tablename__ = "extractions"
    __table_args__ = (
        Index("ix_extractions_document_key", "document_id", "cache_key"),
        Index("ix_extractions_hash_key", "content_hash", "cache_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("extraction_runs.id", ondelete="SET NULL"), index=True
    )
    cache_key: Mapped[str] = mapped_column(String(300))
    content_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[ExtractionStatus] = mapped_column(EnumText(ExtractionStatus, 20))
    error: Mapped[str | None] = mapped_column(Text)
    items: Mapped[list[Any]] = mapped_column(default=list)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    budget_s: Mapped[float | None] = mapped_column(Float)  # migration 0020
    """A failure that spent a time budget: that budget, in seconds (a run under one no larger does not
    try the same content again unless asked)."""


class CommitmentRow(Base):
    __tablename__ = "commitments"
    __table_args__ = (
        Index("ix_commitments_due_id", "due", "id"),
        Index("ix_commitments_owner_due_id", "owner_email", "due", "id"),  # migration 0004
        Index("ix_commitments_deal_counts", "deal_id", "status", "due", "snoozed_until"),  # migration 0005
        # migration 0013: the owner names of items with no resolved address (store.lookup's loose
        # match). Partial on both databases (the migration says so); naming ``postgresql_where`` here
        # would load the PostgreSQL dialect in every process that imports the models, a tenth of a
        # re-run's time on SQLite.
        Index(
            "ix_commitments_loose_owner",
            "owner",
            sqlite_where=sql_text("owner_email IS NULL AND owner IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("extraction_runs.id", ondelete="SET NULL"))
    cache_key: Mapped[str] = mapped_column(String(300))
    type: Mapped[ItemType] = mapped_column(String(20), index=True)
    owner: Mapped[str | None] = mapped_column(String(300))
    owner_email: Mapped[str | None] = mapped_column(String(320), index=True)
    counterparty: Mapped[str | None] = mapped_column(String(300))
    counterparty_email: Mapped[str | None] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(Text)
    due: Mapped[date | None]
    due_text: Mapped[str | None] = mapped_column(String(300))
    confidence: Mapped[float] = mapped_column(Float, default=0.5)
    status: Mapped[CommitmentStatus] = mapped_column(
        EnumText(CommitmentStatus, 20), default=CommitmentStatus.OPEN, index=True
    )
    snoozed_until: Mapped[date | None]
    flags: Mapped[list[ItemFlag]] = mapped_column(EnumList(ItemFlag), default=list)
    span_key: Mapped[str] = mapped_column(String(300), index=True)
    dedup_key: Mapped[str] = mapped_column(String(64), index=True)
    source: Mapped[SourceKind] = mapped_column(String(20), index=True)
    thread_id: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The linked deal, mirrored from :class:`CommitmentDealLinkRow` (written together with it)
    # so that per-deal counts read one index; NULL when unlinked. The link row stays the record.
    deal_id: Mapped[int | None] = mapped_column(Integer)
    # The commitment this one was merged into (the same promise seen in another source; status
    # ``merged``, its evidence moved there): migration 0006. NULL for every other commitment.
    merged_into: Mapped[int | None] = mapped_column(Integer, index=True)

    document: Mapped[DocumentRow] = relationship()
    evidence: Mapped[list[EvidenceRow]] = relationship(
        back_populates="commitment",
        cascade="all, delete-orphan",
        order_by="EvidenceRow.id",
        passive_deletes=True,
    )
    # Read only: this commitment's evidence held by the survivor it was merged into (``merged_from``).
    merged_evidence: Mapped[list[EvidenceRow]] = relationship(
        primaryjoin="CommitmentRow.id == foreign(EvidenceRow.merged_from)",
        order_by="EvidenceRow.id",
        viewonly=True,
    )
    link: Mapped[CommitmentDealLinkRow | None] = relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )
    history: Mapped[list[CommitmentHistoryRow]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="CommitmentHistoryRow.id"
    )


class CommitmentHistoryRow(Base):
    __tablename__ = "commitment_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commitment_id: Mapped[int] = mapped_column(ForeignKey("commitments.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    field: Mapped[str] = mapped_column(String(50))
    old: Mapped[str | None] = mapped_column(Text)
    new: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)


class EvidenceRow(Base):
    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commitment_id: Mapped[int] = mapped_column(ForeignKey("commitments.id", ondelete="CASCADE"), index=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    quote: Mapped[str] = mapped_column(Text)
    char_start: Mapped[int | None] = mapped_column(Integer)
    char_end: Mapped[int | None] = mapped_column(Integer)
    alignment: Mapped[AlignmentStatus] = mapped_column(EnumText(AlignmentStatus, 10))
    # The merged commitment this evidence came from, while it sits on the survivor (migration 0006).
    merged_from: Mapped[int | None] = mapped_column(Integer)

    commitment: Mapped[CommitmentRow] = relationship(back_populates="evidence")
    document: Mapped[DocumentRow] = relationship()


class CommitmentSplitRow(Base):
    """Two commitments a person split apart: the merge pass never merges them again (migration 0006).

    One row per pair, ``commitment_id < other_id``.
    """

    __tablename__ = "commitment_splits"
    __table_args__ = (UniqueConstraint("commitment_id", "other_id", name="uq_commitment_splits_pair"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commitment_id: Mapped[int] = mapped_column(ForeignKey("commitments.id", ondelete="CASCADE"))
    other_id: Mapped[int] = mapped_column(ForeignKey("commitments.id", ondelete="CASCADE"), index=True)
    split_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))


class CommitmentDealLinkRow(Base):
    """One row per commitment that was linked (or deliberately unlinked: ``deal_id`` NULL)."""

    __tablename__ = "commitment_deal_links"

    commitment_id: Mapped[int] = mapped_column(
        ForeignKey("commitments.id", ondelete="CASCADE"), primary_key=True
    )
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"), index=True)
    method: Mapped[str] = mapped_column(String(20))
    confidence: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    deal: Mapped[DealRow | None] = relationship()


class ApiTokenRow(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The token's first characters, for listings (added by migration 0002).
    prefix: Mapped[str | None] = mapped_column(String(16))
    read_only: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    # The person the token speaks for (``tokens create --person``; migration 0009), else NULL.
    person_email: Mapped[str | None] = mapped_column(String(320))


class WebSessionRow(Base):
    """A signed-in dashboard session (migration 0014): created at sign-in, deleted at sign-out.

    ``id`` is the SHA-256 hex digest of the random session id the signed cookie holds (never the id
    itself, so a copy of the database cannot be replayed as a cookie); ``token_id`` the API token it
    was started with (its sessions go with it); ``expires_at`` when it ends on its own (UTC).
    """

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class LlmBatchRow(Base):
    """A batch of extraction requests submitted to an LLM provider's Batch API (migration 0007).

    ``batch_id`` is the provider's id; ``endpoint`` the base URL it was submitted to (without
    userinfo); ``cache_key`` the extractor's key its results are recorded under; ``status`` the
    provider's status when last polled. ``closed_at`` is set once its results are recorded (or it
    ended without them): a batch with none is open, and its documents are not submitted again.
    """

    __tablename__ = "llm_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[str] = mapped_column(String(200), unique=True)
    endpoint: Mapped[str] = mapped_column(Text)
    cache_key: Mapped[str] = mapped_column(String(300))
    input_file_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(30))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    polled_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]


class LlmBatchDocumentRow(Base):
    """One document in an :class:`LlmBatchRow`: its content hash when submitted and how many requests
    (parts of the document) the batch holds for it."""

    __tablename__ = "llm_batch_documents"

    batch_row_id: Mapped[int] = mapped_column(
        ForeignKey("llm_batches.id", ondelete="CASCADE"), primary_key=True
    )
    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    content_hash: Mapped[str] = mapped_column(String(64))
    requests: Mapped[int] = mapped_column(Integer)


class InputFileRow(Base):
    """An input read whole into the store (migration 0008): a re-run finds its content unchanged and
    does not read it again. ``digest``: SHA-256 of its bytes (a folder: of its files' names and bytes)
    with how it was read (reader, options, company domains, connector code)."""

    __tablename__ = "input_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(Text, unique=True)
    digest: Mapped[str] = mapped_column(String(64))
    documents: Mapped[int] = mapped_column(Integer, default=0)
    problems: Mapped[list[Any]] = mapped_column(default=list)
    read_at: Mapped[datetime] = mapped_column(default=utcnow)


class SourceStateRow(Base):
    """A live source's sync state (migration 0011), one row per ``[[source]]`` name: its cursor
    (``str`` → ``str``, e.g. ``{"INBOX.uidvalidity": "1", "INBOX.uid": "42"}``), when it last synced
    whole, the last error (``None`` once a sync succeeds) and what it stored in all."""

    __tablename__ = "source_states"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    cursor: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_sync_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    last_error_at: Mapped[datetime | None] = mapped_column(default=None)
    documents: Mapped[int] = mapped_column(Integer, default=0)
    crm_records: Mapped[int] = mapped_column(Integer, default=0)
    batches: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Leases (migration 0016): the process syncing / pushing this source now, since when, until when.
    sync_holder: Mapped[str | None] = mapped_column(String(120), default=None)
    sync_since: Mapped[datetime | None] = mapped_column(default=None)
    sync_expires: Mapped[datetime | None] = mapped_column(default=None)
    push_holder: Mapped[str | None] = mapped_column(String(120), default=None)
    push_since: Mapped[datetime | None] = mapped_column(default=None)
    push_expires: Mapped[datetime | None] = mapped_column(default=None)


class DeliveryRow(Base):
    """What one recipient was told about one item on one channel (migration 0010; queries in
    :mod:`store.notifications`). ``announced``: the item's fingerprint when last delivered;
    ``pending``: the fingerprint of a failed send waiting for a retry, with its ``error`` line;
    ``claimed_by`` / ``claimed_at``: the digest sending it right now (a lease)."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("commitment_id", "recipient", "channel", name="uq_deliveries_item_recipient"),
        Index("ix_deliveries_channel_recipient", "channel", "recipient"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commitment_id: Mapped[int] = mapped_column(ForeignKey("commitments.id", ondelete="CASCADE"))
    recipient: Mapped[str] = mapped_column(String(320))
    channel: Mapped[str] = mapped_column(String(20))
    announced: Mapped[str | None] = mapped_column(String(64))
    announced_at: Mapped[datetime | None]
    pending: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    """The digest sending a message about the item now (migration 0015); ``None`` when none is."""
    claimed_at: Mapped[datetime | None]
    """When ``claimed_by`` claimed it (UTC): the claim lapses a lease later."""


class CrmTaskRow(Base):
    """A commitment pushed to a CRM as a task (migration 0012): one row per commitment and CRM source.

    ``source`` is the ``[[source]]`` name it was pushed to, ``kind`` that source's kind
    (``salesforce``, ``hubspot``); ``deal_crm_id`` the deal it was put on; ``task_id`` the CRM's id
    of the task; ``fingerprint`` a SHA-256 of
    what was pushed (deal, subject, due date, owner, body, completed), so that an unchanged task
    is not sent again; ``completed``: pushed as completed (the commitment was closed).
    """

    __tablename__ = "crm_tasks"
    __table_args__ = (UniqueConstraint("commitment_id", "source", name="uq_crm_tasks_commitment_source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commitment_id: Mapped[int] = mapped_column(ForeignKey("commitments.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    deal_crm_id: Mapped[str] = mapped_column(String(200))
    task_id: Mapped[str | None] = mapped_column(String(200))  # None: pending (migration 0016)
    fingerprint: Mapped[str] = mapped_column(String(64))
    completed: Mapped[bool] = mapped_column(Boolean, default=False)
    pushed_at: Mapped[datetime] = mapped_column(default=utcnow)


def table_of(model: type[Base]) -> Table:
    """The Core table of a mapped class (for ``executemany`` inserts on the connection)."""
    return cast(Table, model.__table__)
