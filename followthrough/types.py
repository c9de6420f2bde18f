"""Shared value types: the contracts between connectors, extractor and store.

Everything in the project may import this module; it imports nothing else from
the project. These are plain pydantic models for data in flight. Database rows
(``store``), LLM wire payloads (``extractor``) and API payloads
(``followthrough.api``) are separate classes that convert to and from these.
Closed sets (commitment status, item flags, participant role, extraction and
run status) are :class:`~enum.StrEnum` types: a member is the very string that
is stored, exported and sent over the API, and an unknown string is refused.

Offsets (``char_start``/``char_end``) always count Python ``str`` characters
(code points) of the document's normalized ``text``, never bytes, so that
``doc.text[start:end]`` is the quoted span for any script.
"""

from __future__ import annotations

import hashlib
import re
from abc import abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

SourceKind = Literal["email", "slack", "meeting"]
ItemType = Literal["commitment", "request"]


class ParticipantRole(StrEnum):
    """How a person took part in a conversation (see :class:`Participant`)."""

    SENDER = "sender"
    RECIPIENT = "recipient"
    CC = "cc"
    SPEAKER = "speaker"
    ATTENDEE = "attendee"
    MENTIONED = "mentioned"


class ItemFlag(StrEnum):
    """A warning or fact attached to an extracted item, and to the commitment it becomes.

    Set by the extractors: ``ungrounded`` (the evidence is not in the text),
    ``owner_not_participant``, ``customer_promise`` (the customer's promise to
    us: stored ``waiting``), ``ticked`` (a checked-off task line: stored
    ``done``), ``unconfirmed`` (an LLM item the offline detector does not
    confirm: stored ``review``), ``instruction`` (evidence that reads as an
    instruction to the model), ``urgent`` (ASAP, no date). Set by the store:
    ``stale`` (a person touched it and it is no longer extracted) and
    ``fulfilled`` (a later message delivered it).
    """

    UNGROUNDED = "ungrounded"
    OWNER_NOT_PARTICIPANT = "owner_not_participant"
    CUSTOMER_PROMISE = "customer_promise"
    TICKED = "ticked"
    UNCONFIRMED = "unconfirmed"
    INSTRUCTION = "instruction"
    URGENT = "urgent"
    STALE = "stale"
    FULFILLED = "fulfilled"


class CommitmentStatus(StrEnum):
    """Where a commitment (or request) stands.

    ``open`` (ours to do), ``done``, ``dismissed`` (a false alarm, or
    ungrounded), ``snoozed`` (hidden until a date), ``waiting`` (a customer's
    promise to us: never in our open lists), ``review`` (a person has to
    confirm it, ``open``, or reject it, ``dismissed``: never open until then)
    ``answered`` (a request one of ours replied to, or took on with a
    promise, later in its thread or meeting: closed, like ``done``) and
    ``merged`` (the same promise seen in another source: folded into that
    commitment, which holds its evidence; ``commitments split`` undoes it).
    """

    OPEN = "open"
    REVIEW = "review"
    DONE = "done"
    DISMISSED = "dismissed"
    SNOOZED = "snoozed"
    WAITING = "waiting"
    ANSWERED = "answered"
    MERGED = "merged"

    @property
    def closed(self) -> bool:
        """Kept: ``done`` or ``answered`` (what deal counts call done)."""
        return self in (CommitmentStatus.DONE, CommitmentStatus.ANSWERED)


def status_refusal(
    status: CommitmentStatus, item_type: ItemType, *, customer_promise: bool | None = None
) -> str | None:
    """Why a person cannot give ``status`` to an item of ``item_type`` (a sentence), or ``None``.

    ``answered`` is for requests (to us) only: a commitment is ``done``; ``merged`` comes from merging
    the same promise seen in two sources, never from an edit; ``waiting`` is for a customer's promise
    to us (``customer_promise``: the item is one; ``None``: not known here, not checked) — one of our
    own waiting would leave every open list. The one rule for the CLI, the API and the store.
    """
    if status == CommitmentStatus.ANSWERED and item_type != "request":
        return f"answered is for requests; a {item_type} is done, dismissed or snoozed instead"
    if status == CommitmentStatus.MERGED:
        return "merged comes from merging the same promise seen in two sources, not from an edit"
    if status == CommitmentStatus.WAITING and customer_promise is False:
        return (
            "waiting is for a customer's promise to us; this one is ours (to make it the customer's, "
            "correct its owner: the status follows)"
        )
    return None


class ExtractionStatus(StrEnum):
    """How one document's extraction ended: ``ok`` (its items are recorded) or ``failed``."""

    OK = "ok"
    FAILED = "failed"


class RunStatus(StrEnum):
    """An extraction run's state: ``running``, then ``ok``, ``partial`` (some documents failed),
    ``failed``, or ``interrupted`` (its process died; marked when the next run starts)."""

    RUNNING = "running"
    OK = "ok"
    PARTIAL = "partial"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class Participant(_Model):
    """A person in a conversation.

    ``role`` says how they took part: ``sender`` (email From / Slack author),
    ``recipient`` (To), ``cc``, ``speaker`` (said something in a meeting),
    ``attendee`` (listed in meeting notes) or ``mentioned`` (@-mentioned).
    ``internal`` is filled by the pipeline from the configured company domains
    (``None`` until then, or when the email is unknown).
    """

    name: str | None = None
    email: str | None = None
    handle: str | None = None
    role: ParticipantRole = ParticipantRole.RECIPIENT
    internal: bool | None = None

    def label(self) -> str:
        return self.name or self.email or self.handle or "unknown"


class Segment(_Model):
    """A span of ``SourceDocument.text`` said or written by one speaker.

    ``occurred_at`` is when this segment itself was written (one Slack message
    of a thread), timezone-aware and in the author's own time zone where it is
    known, so that "tomorrow" is the author's next day. ``None`` when the
    segment has no time of its own; the document's ``occurred_at`` then applies.
    """

    speaker: str | None = None
    speaker_email: str | None = None
    char_start: int = Field(ge=0)
    char_end: int = Field(ge=0)
    text: str
    occurred_at: datetime | None = None

    @model_validator(mode="after")
    def _check_time(self) -> Self:
        if self.occurred_at is not None and (
            self.occurred_at.tzinfo is None or self.occurred_at.utcoffset() is None
        ):
            raise ValueError("segment occurred_at must be timezone-aware")
        return self


class SourceDocument(_Model):
    """One message, thread or meeting, normalized.

    ``text`` holds only the new content: quoted replies and signatures are
    stripped and kept in ``quoted_text`` and ``signature`` for context.
    ``origin`` is the file (and position in it) the document came from, used in
    error messages and provenance.
    """

    source: SourceKind
    external_id: str
    thread_id: str | None = None
    occurred_at: datetime
    title: str | None = None
    participants: list[Participant] = Field(default_factory=list)
    segments: list[Segment] = Field(default_factory=list)
    text: str
    quoted_text: str = ""
    signature: str = ""
    url: str | None = None
    origin: str = ""
    metadata: dict[str, str] = Field(default_factory=dict)
    content_hash: str = ""

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.occurred_at.tzinfo is None or self.occurred_at.utcoffset() is None:
            raise ValueError("occurred_at must be timezone-aware")
        for seg in self.segments:
            if not (0 <= seg.char_start <= seg.char_end <= len(self.text)):
                raise ValueError(f"segment offsets {seg.char_start}:{seg.char_end} out of range")
            if self.text[seg.char_start : seg.char_end] != seg.text:
                raise ValueError(f"segment text does not match text[{seg.char_start}:{seg.char_end}]")
        if not self.content_hash:
            self.content_hash = compute_content_hash(self.source, self.external_id, self.text)
        return self

    @property
    def sender(self) -> Participant | None:
        """The author of an email or Slack message (``None`` for meetings)."""
        for p in self.participants:
            if p.role == ParticipantRole.SENDER:
                return p
        return None

    def speaker_at(self, offset: int) -> Segment | None:
        """The segment that holds character ``offset`` of ``text``, if any."""
        for seg in self.segments:
            if seg.char_start <= offset < seg.char_end:
                return seg
        return None


def tier_key(tier: str | None) -> str:
    """A CRM account tier as a comparable key.

    ``"Tier 1"``, ``"tier1"`` and ``" 1 "`` → ``"1"``; ``"Mid-Market"`` → ``"mid-market"``; ``None`` → ``""``.
    """
    key = " ".join((tier or "").lower().split())
    return key.removeprefix("tier").strip()


_TIER_NAMES = {
    1: {"enterprise", "strategic", "key", "platinum", "a"},
    2: {"mid-market", "midmarket", "gold", "b"},
    3: {"smb", "small", "silver", "c"},
}


@lru_cache(maxsize=1024)
def tier_rank(tier: str | None) -> int | None:
    """A CRM account tier as a rank: ``"1"``, ``"Tier 1"``, ``"T1"``, ``"Enterprise"``/``"Strategic"`` → 1;
    ``"Mid-Market"``/``"Gold"`` → 2; ``"SMB"`` → 3; the first number in any other tier; else ``None``.

    The one reading of tiers, for ranking by what is at stake and for per-tier settings.
    """
    if not tier:
        return None
    t = tier.strip().lower()
    m = re.search(r"\d+", t)
    if m:
        return int(m.group(0)[:6])
    return next((rank for rank, names in _TIER_NAMES.items() if t in names), None)


@dataclass(frozen=True)
class TieredValue:
    """A number with per-tier overrides: a response target in hours, a silence limit in days.

    ``default`` applies to an account whose tier has no override (or no tier);
    ``overrides`` maps :func:`tier_key` keys to values. Parsed from settings such
    as ``FOLLOWTHROUGH_SILENT_DAYS="30, tier 1=14"`` by :func:`followthrough.config.parse_tiered`.
    """

    default: float
    overrides: tuple[tuple[str, float], ...] = ()

    def for_tier(self, tier: str | None) -> float:
        """The value for an account of ``tier``: the override that names the tier (``mid-market=20``),
        else the one for its rank (``1=14`` covers ``Tier 1`` and ``Enterprise``, see :func:`tier_rank`),
        else the default."""
        found = dict(self.overrides)
        key = tier_key(tier)
        if key in found:
            return found[key]
        rank = tier_rank(tier)
        return found.get(str(rank), self.default) if rank is not None else self.default


def domain_of(email: str | None) -> str | None:
    """The lower-cased domain of an RFC 5322 addr-spec (``"Ana@Mail.Acme.com"`` → ``"mail.acme.com"``).

    ``None`` when ``email`` is empty or has no ``@`` or nothing after it.
    """
    if not email or "@" not in email:
        return None
    host = email.rsplit("@", 1)[1].strip().lower().rstrip(">.")
    return host or None


def normalize_domains(domains: Iterable[str]) -> frozenset[str]:
    """Company domains as :func:`is_internal` compares them: trimmed, lower-case, a leading ``@`` dropped.

    ``[" Northwind.IO", "@acme.com", ""]`` → ``frozenset({"northwind.io", "acme.com"})``: empty
    entries are left out.
    """
    return frozenset(d for d in (raw.strip().lstrip("@").lower() for raw in domains) if d)


def is_internal(email: str | None, domains: set[str] | frozenset[str]) -> bool:
    """Whether ``email`` is at one of the company ``domains`` or a subdomain of one.

    ``domains`` are lower-case (``{"northwind.io"}``, see :func:`normalize_domains`);
    ``"a@eu.northwind.io"`` is internal, ``"a@northwind.io.evil.com"`` and an address without ``@`` are not.
    The one definition of "ours" for the pipeline, both extractors and the store.
    """
    host = domain_of(email)
    return host is not None and any(host == d or host.endswith("." + d) for d in domains)


def person_key(name: str | None) -> str:
    """A person's name as a name directory keys it: lower-case, white space collapsed to one space
    (``" Dana  LEE "`` → ``"dana lee"``); ``""`` for no name."""
    return " ".join((name or "").lower().split())


class NameIndex(Mapping[str, str]):
    """A name directory (:func:`person_key` → email) that looks names up where they are stored
    instead of holding them: a CRM of millions of contacts.

    A :class:`~collections.abc.Mapping` like the ``dict`` any caller may pass instead, and its answers
    are the ones the same ``dict`` gives, plus the one question that would otherwise walk every name:
    :meth:`sole_email_of_first_name`. Iterating it (or asking its length) reads the whole directory
    once and keeps it, for those who must ship it elsewhere (a cluster's workers).
    """

    @abstractmethod
    def sole_email_of_first_name(self, first: str) -> str | None:
        """The email that every multi-word name of this directory starting with the word ``first``
        maps to (``"dana"`` → the email of ``"dana lee"``, the only Dana), ``None`` when there are
        several emails or none. ``first``: one lower-case word."""


def first_name_emails(names: Mapping[str, str]) -> dict[str, str]:
    """First word → email of a plain directory's multi-word names, for the first words all of whose
    names map to one email: ``{"dana lee": "d@x", "dana ray": "r@x", "raj kumar": "k@x"}`` →
    ``{"raj": "k@x"}``. Walks every name once."""
    firsts: dict[str, str | None] = {}
    for full, email in names.items():
        first, _, rest = full.partition(" ")
        if rest:
            firsts[first] = email if firsts.get(first, email) == email else None
    return {k: v for k, v in firsts.items() if v is not None}


def compute_content_hash(source: str, external_id: str, text: str) -> str:
    """A stable hash of what an extractor sees: the cache key's content part."""
    h = hashlib.sha256()
    for part in (source, external_id, text):
        h.update(part.encode("utf-8", "surrogatepass"))  # a lone surrogate must not stop hashing
        h.update(b"\x00")
    return h.hexdigest()


class AlignmentStatus(StrEnum):
    """How an evidence quote was found in its source text."""

    EXACT = "exact"
    FUZZY = "fuzzy"
    NONE = "none"


class Evidence(_Model):
    """A verbatim quote and where it sits in ``SourceDocument.text``."""

    quote: str
    char_start: int | None = None
    char_end: int | None = None
    alignment: AlignmentStatus = AlignmentStatus.EXACT

    @property
    def grounded(self) -> bool:
        return self.alignment is not AlignmentStatus.NONE and self.char_start is not None


class ExtractedItem(_Model):
    """A commitment we made or a request made to us, found in one document.

    ``due`` is the normalized deadline (resolved against the ``occurred_at`` of
    the segment that says it, else the document's); ``due_text`` is the phrase
    as written. ``flags`` carries warnings such as ``ungrounded`` or
    ``owner_not_participant`` (see :class:`ItemFlag`).
    """

    type: ItemType
    owner: str | None = None
    owner_email: str | None = None
    counterparty: str | None = None
    counterparty_email: str | None = None
    action: str
    due: date | None = None
    due_text: str | None = None
    evidence: Evidence
    confidence: float = Field(default=0.5, ge=0.0, le=1.0)
    flags: list[ItemFlag] = Field(default_factory=list)

    @property
    def grounded(self) -> bool:
        return self.evidence.grounded and ItemFlag.UNGROUNDED not in self.flags


class Account(_Model):
    """A customer account from the CRM."""

    name: str
    domains: list[str] = Field(default_factory=list)
    tier: str | None = None
    crm_id: str | None = None


class Contact(_Model):
    """A person at an account."""

    email: str
    name: str | None = None
    account_name: str | None = None
    role: str | None = None


class Deal(_Model):
    """An opportunity in the CRM."""

    crm_id: str
    name: str
    account_name: str
    stage: str | None = None
    amount: float | None = None
    close_date: date | None = None
    owner_email: str | None = None


CrmRows = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]
"""CRM records as tuples of built-in values, each in its model's field order: accounts
``(name, domains, tier, crm_id)``, contacts ``(email, name, account_name, role)`` and deals
``(crm_id, name, account_name, stage, amount, close_date, owner_email)`` (:meth:`CrmData.rows`):
what a CRM export's reader builds without a model per record, and what crosses a process boundary."""


class CrmData(_Model):
    """Everything one CRM export holds."""

    accounts: list[Account] = Field(default_factory=list)
    contacts: list[Contact] = Field(default_factory=list)
    deals: list[Deal] = Field(default_factory=list)

    def rows(self) -> CrmRows:
        """The records as :data:`CrmRows`."""
        return (
            [(a.name, a.domains, a.tier, a.crm_id) for a in self.accounts],
            [(c.email, c.name, c.account_name, c.role) for c in self.contacts],
            [
                (d.crm_id, d.name, d.account_name, d.stage, d.amount, d.close_date, d.owner_email)
                for d in self.deals
            ],
        )

    @classmethod
    def from_rows(cls, rows: CrmRows) -> CrmData:
        """The records of :data:`CrmRows` as models (validated)."""
        accounts, contacts, deals = rows
        return cls(
            accounts=[Account(name=n, domains=list(ds), tier=t, crm_id=i) for n, ds, t, i in accounts],
            contacts=[Contact(email=e, name=n, account_name=a, role=r) for e, n, a, r in contacts],
            deals=[
                Deal(crm_id=i, name=n, account_name=a, stage=st, amount=am, close_date=cd, owner_email=o)
                for i, n, a, st, am, cd, o in deals
            ],
        )

    def merge(self, other: CrmData) -> CrmData:
        return CrmData(
            accounts=[*self.accounts, *other.accounts],
            contacts=[*self.contacts, *other.contacts],
            deals=[*self.deals, *other.deals],
        )


__all__ = [
    "Account",
    "AlignmentStatus",
    "CommitmentStatus",
    "Contact",
    "CrmData",
    "CrmRows",
    "Deal",
    "Evidence",
    "ExtractedItem",
    "ExtractionStatus",
    "ItemFlag",
    "ItemType",
    "Participant",
    "ParticipantRole",
    "RunStatus",
    "Segment",
    "SourceDocument",
    "SourceKind",
    "TieredValue",
    "compute_content_hash",
    "domain_of",
    "is_internal",
    "normalize_domains",
    "status_refusal",
    "tier_key",
    "tier_rank",
]
