"""API input and output models, where they differ from the store's views.

Responses reuse :mod:`store.views` as they are (``CommitmentView``,
``DealView``, ``Page``); this module holds what only the API has: the PATCH
body, the submitted document (one model per source, told apart by
``source``), and the envelopes around lists. Input strings refuse NUL
characters and unpaired surrogates, which no database stores.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime
from typing import Annotated, Literal, Self

from fastapi import Query
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from connectors.mail.quotes import split_reply
from connectors.meetings_common import Person, Roster
from connectors.meetings_notes import speaker_segments
from followthrough.types import (
    CommitmentStatus,
    ItemType,
    Participant,
    ParticipantRole,
    Segment,
    SourceDocument,
    SourceKind,
)
from store import CommitmentSummary, CommitmentView, DealHealth, DealRef

MAX_TEXT = 200_000


def _storable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError("must be valid Unicode (no unpaired surrogates)") from e
    return value


def _iso_date(value: object) -> object:
    if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("must be a date as YYYY-MM-DD")
    if not isinstance(value, str | date):
        raise ValueError("must be a date as YYYY-MM-DD")
    return value


def _iso_datetime(value: object) -> object:
    if not isinstance(value, str | datetime):
        raise ValueError("must be an ISO 8601 date and time with a UTC offset")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
"""A date written YYYY-MM-DD (no timestamps or other lenient forms)."""

Text = Annotated[str, AfterValidator(_storable)]
"""A string the database can store."""

CrmId = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_storable)]

Expand = Annotated[
    Literal["evidence"] | None,
    Query(description="`evidence`: each item with its evidence quotes (their place in the source)."),
]
"""A listing's ``expand`` parameter: more on each lean item."""


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


# ---------------------------------------------------------------- commitments


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


class CommitmentPatch(_In):
    """Change a commitment's status, correct its fields, and/or link it to a deal. At least one field.

    ``until`` goes with ``status: snoozed`` only (the day it comes back; after
    today). ``deal`` is a deal's CRM id or a unique part of its name; ``null`` unlinks the commitment for
    good (automatic linking leaves it alone). ``note`` is kept in the history.
    An item in ``review`` is confirmed with ``open`` and rejected with ``dismissed``.
    ``owner``, ``due``, ``action`` and ``type`` correct what the extraction got
    wrong; a later extraction never overwrites a corrected field.
    """

    status: CommitmentStatus | None = None
    until: IsoDate | None = None
    deal: CrmId | None = Field(
        default=None,
        description="A deal's CRM id (any case) or a unique part of its name; null unlinks for good.",
    )
    note: Annotated[Text, Field(max_length=2000)] | None = None
    owner: Annotated[Text, Field(min_length=1, max_length=320), AfterValidator(_not_blank)] | None = Field(
        default=None,
        description="The owner: an email address, or the name of someone known from the CRM or the "
        "documents (a name that matches no one or several people is a 422 listing them).",
    )
    due: IsoDate | None = Field(default=None, description="The due date (YYYY-MM-DD); null removes it.")
    action: Annotated[Text, Field(min_length=1, max_length=2000), AfterValidator(_not_blank)] | None = Field(
        default=None, description="What is to be done, reworded."
    )
    type: ItemType | None = Field(default=None, description="commitment (ours to keep) or request (to us).")

    @property
    def changes_deal(self) -> bool:
        return "deal" in self.model_fields_set

    @property
    def changes_due(self) -> bool:
        return "due" in self.model_fields_set

    @property
    def corrects(self) -> bool:
        """Whether it changes anything but the status: a field or the deal link."""
        return (
            self.changes_deal
            or self.changes_due
            or any(v is not None for v in (self.owner, self.action, self.type))
        )

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.status is None and not self.corrects:
            raise ValueError("nothing to change: give status, owner, due, action, type and/or deal")
        for name in ("owner", "action", "type"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        if self.until is not None and self.status != CommitmentStatus.SNOOZED:
            raise ValueError("until goes with status snoozed only")
        if self.status == CommitmentStatus.SNOOZED and self.until is None:
            raise ValueError("status snoozed needs until (YYYY-MM-DD): the day it comes back")
        return self


# ------------------------------------------------------------------ documents


class ParticipantIn(_In):
    """Someone in the conversation. ``role``: sender (email From / Slack author), recipient, cc,
    speaker, attendee or mentioned."""

    name: Annotated[Text, Field(max_length=300)] | None = None
    email: Annotated[Text, Field(max_length=320)] | None = None
    handle: Annotated[Text, Field(max_length=300)] | None = None
    role: ParticipantRole = ParticipantRole.RECIPIENT


def _in_range(value: datetime) -> datetime:
    try:
        utc = value.astimezone(UTC)
    except OverflowError as e:
        raise ValueError("date out of range") from e
    if not 1970 <= utc.year <= 9998:
        raise ValueError("must be between 1970 and 9998")
    return value


OccurredAt = Annotated[AwareDatetime, BeforeValidator(_iso_datetime), AfterValidator(_in_range)]


class _DocumentBase(_In):
    external_id: Annotated[Text, Field(min_length=1, max_length=1000)] | None = Field(
        default=None,
        description="Your id for it (RFC Message-ID, Slack channel/ts, ...). When missing, one is "
        "derived from the content, so submitting the same document twice stores it once.",
    )
    occurred_at: OccurredAt = Field(description="When it was sent or held, with a UTC offset.")
    text: Annotated[Text, Field(min_length=1, max_length=MAX_TEXT)] = Field(
        description="The new content only (no quoted replies or signature)."
    )
    participants: list[ParticipantIn] = Field(default_factory=list, max_length=500)
    title: Annotated[Text, Field(max_length=1000)] | None = None
    thread_id: Annotated[Text, Field(min_length=1, max_length=1000)] | None = None

    def to_document(self) -> SourceDocument:
        source: SourceKind = self.source  # type: ignore[attr-defined]
        external_id = self.external_id or derived_external_id(
            source, self.thread_id, self.occurred_at, self.text
        )
        text, quoted, signature = self.text, "", ""
        if source == "email":  # a pasted reply keeps its history: the connectors' one splitter takes it off
            parts = split_reply(self.text)
            if parts.text:
                text, quoted, signature = parts.text, parts.quoted, parts.signature
        participants = [Participant(**p.model_dump()) for p in self.participants]
        sender = next((p for p in participants if p.role == ParticipantRole.SENDER), None)
        segments: list[Segment] = []
        if source == "meeting":  # "Name: text" turns, read as the meeting connectors read them
            roster = Roster([Person(name=p.name, email=p.email) for p in participants if p.name or p.email])
            segments = speaker_segments(text, roster).segments
        elif sender is not None:
            segments.append(
                Segment(
                    speaker=sender.label(),
                    speaker_email=sender.email,
                    char_start=0,
                    char_end=len(text),
                    text=text,
                )
            )
        return SourceDocument(
            source=source,
            external_id=external_id,
            thread_id=self.thread_id,
            occurred_at=self.occurred_at,
            title=self.title,
            participants=participants,
            segments=segments,
            text=text,
            quoted_text=quoted,
            signature=signature,
            origin="api",
        )


class EmailIn(_DocumentBase):
    """One email message (``title`` is its subject)."""

    source: Literal["email"]


class SlackIn(_DocumentBase):
    """One Slack message (``thread_id``: the channel and thread ts)."""

    source: Literal["slack"]


class MeetingIn(_DocumentBase):
    """Meeting notes or a transcript (``title``: the meeting's name). ``Name: text`` lines are turns,
    read as the meeting-notes connector reads them: a speaker named like a participant (full name,
    unique first name or email user) is that participant."""

    source: Literal["meeting"]


DocumentIn = Annotated[EmailIn | SlackIn | MeetingIn, Field(discriminator="source")]


def derived_external_id(source: str, thread_id: str | None, occurred_at: datetime, text: str) -> str:
    h = hashlib.sha256()
    for part in (source, thread_id or "", occurred_at.astimezone(UTC).isoformat(), text):
        h.update(part.encode("utf-8"))
        h.update(b"\x00")
    return f"api:{h.hexdigest()[:32]}"


# -------------------------------------------------------------------- outputs


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DocumentResult(_Out):
    """A stored document and the commitments and requests found in it."""

    document_id: int
    source: SourceKind
    external_id: str
    stored: Literal["new", "updated", "unchanged"]
    cached: bool = Field(description="True when an earlier extraction of the same content was reused.")
    ungrounded: int = Field(description="Items whose evidence was not found in the text (kept dismissed).")
    items: list[CommitmentView]


class SplitResult(_Out):
    """The commitments a split gave back: the one that held the merged evidence first, then each one
    split off it, with its own evidence and its status before the merge."""

    items: list[CommitmentView]


class DealHealthSummary(_Out):
    """How a deal's commitments stand (:class:`~store.DealHealth`), with the counts it comes from."""

    status: DealHealth
    open: int
    overdue: int
    due_soon: int
    done: int
    total: int


class DealCommitments(_Out):
    """A deal, how its commitments stand, and each of them as a summary (see ``GET /v1/commitments``)."""

    deal: DealRef
    health: DealHealthSummary
    items: list[CommitmentSummary]


class Health(_Out):
    status: Literal["ok"]
    database: Literal["ok"]
    version: str
