"""Who is who in a document, for both extractors: one resolver, one typed answer.

* :class:`Person` is the answer to every question: who wrote the text at an
  offset, who a name as written ("Dana", "Dana Lee", "@dana",
  "dana@acme.com", "I") is, to whom an email is addressed.
* :class:`Directory` is what an extractor knows before it reads a document:
  the CRM directory (person name → email) and the company domains that mark
  our side. :meth:`Directory.people` indexes one document's participants.
* :class:`People` answers the questions for one document:
  :meth:`~People.author_at`, :meth:`~People.find` (the offline detector's
  lookup of a name it read), :meth:`~People.resolve` (the LLM backend's
  lookup of a name a model wrote: "I"/"we" is the author, a name no
  participant carries stays as written and is no participant) and
  :meth:`~People.addressee`.
* :class:`Segments` finds a document's speaker segment at an offset in
  O(log n).

"Ours" is :func:`followthrough.types.is_internal` of the email's domain,
unless the participant was already marked.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from followthrough.types import (
    NameIndex,
    Participant,
    ParticipantRole,
    Segment,
    SourceDocument,
    first_name_emails,
    is_internal,
    normalize_domains,
    person_key,
)

__all__ = ["NOBODY", "Directory", "People", "Person", "Segments"]

# Leading words of names that are not people ("The Data Stack Weekly", "Team Acme").
_NOT_FIRST_NAMES = frozenset("the a an team dept department support sales info no noreply do not".split())
# What a model writes for the author of the text it quotes.
_SELF = frozenset({"i", "me", "myself", "we", "us", "our team", "my team", "the sender", "sender", "i/we"})


@dataclass(frozen=True)
class Person:
    """Who a name, a speaker or a role resolves to in one document.

    ``label``: the name to show ("Dana Lee", or the name as written when no
    participant carries it; ``None`` when nobody is named). ``email``: the
    participant's, else the CRM directory's, else ``None``. ``participant``:
    the document's participant this is (``None`` for a name no participant
    carries). ``internal``: our side (``True``), theirs (``False``) or unknown
    (``None``), by the participant's mark or the email's domain.
    """

    label: str | None
    email: str | None
    participant: Participant | None
    internal: bool | None = None

    @property
    def outsider(self) -> bool:
        """Named, but no participant of the document (a third party, or a name only the CRM knows)."""
        return self.label is not None and self.participant is None


NOBODY = Person(None, None, None)
"""Nobody named (a request to no one in particular, a message without a sender)."""


class Segments:
    """A document's speaker segments, looked up by offset in O(log n).

    ``at(offset)`` is ``doc.speaker_at(offset)``: the first segment, in the document's order, that holds
    the offset. The segments' ends cut the text into pieces; each piece is given, once, to the first
    segment that covers it (a "paint once" sweep with a next-unpainted pointer), so a lookup is a
    bisection, overlapping segments included. ``after(offset)`` yields the segments that start after
    ``offset`` in order of their start. A long transcript asks both once per sentence: scanning every
    segment each time is quadratic.
    """

    def __init__(self, doc: SourceDocument | None = None) -> None:
        segs = list(doc.segments) if doc is not None else []
        self.bounds = sorted(
            {x for g in segs if g.char_start < g.char_end for x in (g.char_start, g.char_end)}
        )
        self.owner: list[Segment | None] = [None] * max(0, len(self.bounds) - 1)
        free = list(range(len(self.bounds)))  # free[j]: the first unpainted piece from j on (path-halved)

        def first_free(j: int) -> int:
            while free[j] != j:
                free[j] = free[free[j]]
                j = free[j]
            return j

        for g in segs:
            if g.char_start >= g.char_end:
                continue  # holds no offset
            j, stop = bisect_left(self.bounds, g.char_start), bisect_left(self.bounds, g.char_end)
            j = first_free(j)
            while j < stop:
                self.owner[j] = g
                free[j] = j + 1
                j = first_free(j + 1)
        self._by_start = sorted(segs, key=lambda g: g.char_start)
        self._starts = [g.char_start for g in self._by_start]
        self.memo: dict[object, Any] = {}  # what the extractor works out once per document

    def at(self, offset: int) -> Segment | None:
        j = bisect_right(self.bounds, offset) - 1
        return self.owner[j] if 0 <= j < len(self.owner) else None

    def after(self, offset: int) -> Iterator[Segment]:
        """Segments with ``char_start > offset``, by start (ties in the document's order)."""
        yield from self._by_start[bisect_right(self._starts, offset) :]


class Directory:
    """The CRM directory and the company domains: what is known of people before a document is read.

    ``directory``: person name → email (any case; white space is collapsed), a ``dict`` or a
    :class:`~followthrough.types.NameIndex` that looks names up where they are stored (a store's
    million contacts, never read whole). A first name of a multi-word name also finds its email
    when no other name in the directory starts with it. ``company_domains``: our domains
    (``{"northwind.io"}``, any case, a leading ``@`` ignored); empty when unknown, and then
    nobody's side is known from an email.
    """

    def __init__(self, company_domains: set[str] | None, directory: Mapping[str, str] | None) -> None:
        self.company_domains = normalize_domains(company_domains or ())
        names: Mapping[str, str] = directory if directory is not None else {}  # no len() of a NameIndex
        self._index = names if isinstance(names, NameIndex) else None
        if self._index is None and any(k != person_key(k) for k in names):  # else kept as given
            names = {person_key(k): v for k, v in names.items()}
        self.names = names
        self._first_names = first_name_emails(names) if self._index is None else {}

    def first_name_email(self, first: str) -> str | None:
        """The one email of the directory's multi-word names that start with ``first`` (a lower-case
        word), ``None`` when several emails have such names, or none, or ``first`` is no first name
        ("the", "team", "support")."""
        if not first or first in _NOT_FIRST_NAMES:
            return None
        if self._index is not None:
            return self._index.sole_email_of_first_name(first)
        return self._first_names.get(first)

    def is_internal(self, p: Participant | None) -> bool | None:
        """``p``'s side: its own mark, else by its email's domain; ``None`` when unknown (or no ``p``)."""
        if p is None:
            return None
        if p.internal is not None:
            return p.internal
        if self.company_domains and p.email and "@" in p.email:
            return is_internal(p.email, self.company_domains)
        return None

    def email_of(self, name: str) -> str | None:
        """The directory's email for a lower-case name or unique first name, else ``None``."""
        words = name.split()
        return self.names.get(name) or (self.first_name_email(words[0]) if words else None)

    def people(self, doc: SourceDocument) -> People:
        """``doc``'s participants, indexed for lookups."""
        return People(doc, self)


class People:
    """The participants of one document by email and by name (full, unique first name, handle).

    ``by_local``: by an email's local part ("elena.vasquez") that one participant has; only
    :meth:`resolve` looks there (a model may write an address without its domain).
    ``ours_present``: someone of our side is known to take part (a participant,
    or a speaker the directory places at one of our domains).
    """

    def __init__(self, doc: SourceDocument, world: Directory) -> None:
        self.doc = doc
        self.world = world
        self.segments = Segments(doc)
        self.by_email: dict[str, Participant] = {}
        self.by_name: dict[str, Participant] = {}
        first_count: dict[str, int] = {}
        by_local: dict[str, list[Participant]] = {}
        for p in doc.participants:
            if p.email:
                self.by_email.setdefault(p.email.lower(), p)
                by_local.setdefault(p.email.split("@", 1)[0].lower(), []).append(p)
            if p.name:
                first = p.name.split()[0].lower()
                first_count[first] = first_count.get(first, 0) + 1
        for p in doc.participants:
            if p.name:
                self.by_name.setdefault(p.name.lower(), p)
                first = p.name.split()[0].lower()
                if first_count.get(first) == 1 and first not in _NOT_FIRST_NAMES:
                    self.by_name.setdefault(first, p)
            if p.handle:
                self.by_name.setdefault(p.handle.lower().lstrip("@"), p)
        self.by_local = {k: v[0] for k, v in by_local.items() if len(v) == 1}
        speakers = {g.speaker for g in doc.segments if g.speaker}
        self.ours_present = any(world.is_internal(p) is True for p in doc.participants) or any(
            world.is_internal(Participant(email=self.find(name).email)) is True for name in speakers
        )

    def person(self, p: Participant | None) -> Person:
        """``p`` as a :class:`Person` (:data:`NOBODY` for ``None``)."""
        if p is None:
            return NOBODY
        return Person(p.label(), p.email, p, self.world.is_internal(p))

    def _named(self, label: str, email: str | None, p: Participant | None) -> Person:
        side = self.world.is_internal(p if p is not None else Participant(email=email))
        return Person(label, email, p, side)

    def find(self, name: str) -> Person:
        """A name as written ("Marco", "@marco", "Marco Rossi", "marco@northwind.io").

        A participant (its email from the directory when it has none), else the
        directory's email for the name (and the participant with that email, if
        one takes part), else the name alone.
        """
        written = name.lstrip("@")
        key = written.strip().lower()
        p = self.by_name.get(key)
        if p is None and key in self.by_email:
            p = self.by_email[key]
        if p is not None and p.email:
            return self._named(p.name or written, p.email, p)
        if p is not None:
            email = self.world.email_of((p.name or key).lower())
            if email:
                return self._named(p.name or written, email, p.model_copy(update={"email": email}))
            return self._named(p.name or written, None, p)
        email = self.world.email_of(key)
        if email:
            return self._named(written, email, self.by_email.get(email.lower()))
        return self._named(written, None, None)

    def known(self, name: str) -> bool:
        """Whether a participant or the directory carries ``name`` (full, or a unique first name)."""
        key = name.lstrip("@").strip().lower()
        if not key:
            return False
        return (
            key in self.by_name
            or key in self.world.names
            or self.world.first_name_email(key.split()[0]) is not None
        )

    def author_at(self, offset: int | None) -> Person:
        """Who wrote or said the text at ``offset``: its segment's speaker, else the sender.

        A speaker no participant is is a participant all the same (``role="speaker"``), with the
        directory's email when the segment gives none.
        """
        seg = self.segments.at(offset) if offset is not None and self.doc.segments else None
        if seg is None or not (seg.speaker or seg.speaker_email):
            return self.person(self.doc.sender)
        p = self.by_email.get(seg.speaker_email.lower()) if seg.speaker_email else None
        if p is None and seg.speaker:
            p = self.by_name.get(seg.speaker.lower())
            if p is not None and not p.email:
                p = self.find(seg.speaker).participant
        if p is None:
            p = Participant(name=seg.speaker, email=seg.speaker_email, role=ParticipantRole.SPEAKER)
            if seg.speaker and not seg.speaker_email:
                found = self.find(seg.speaker)
                p = found.participant or Participant(
                    name=seg.speaker, email=found.email, role=ParticipantRole.SPEAKER
                )
        return self.person(p)

    def addressee(self) -> Person:
        """The one person an email is addressed to (:data:`NOBODY` when there are several or none)."""
        if self.doc.source != "email":
            return NOBODY
        to = [p for p in self.doc.participants if p.role is ParticipantRole.RECIPIENT]
        return self.person(to[0]) if len(to) == 1 else NOBODY

    def resolve(self, name: str | None, *, offset: int | None, default_author: bool) -> Person:
        """A name as a model wrote it; with ``default_author`` an unnamed person is the author at ``offset``.

        "I", "we", "the sender" are the author at ``offset``. A full name whose
        first name alone matches a participant with another full name ("Dana
        Smith" when "Dana Lee" takes part) is not that participant.
        """
        if name is None or name.strip().lower() in _SELF:
            if name is None and not default_author:
                return NOBODY
            author = self.author_at(offset)
            return author if author.participant is not None else Person(name, None, None)
        written = name.strip()
        key = written.lstrip("@").lower()
        p = self._participant(key)
        if p is None and " " in written:
            p = self._participant(written.split()[0].lstrip("@").lower())
            if p is not None and p.name and p.name.lower() != written.lower() and len(p.name.split()) > 1:
                p = None  # "Dana Smith" is not "Dana Lee": a first-name hit only counts for a bare first name
        if p is not None:
            return self.person(p)
        email = self.world.names.get(key) or (key if "@" in key else None)
        return self._named(written, email, None)

    def _participant(self, key: str) -> Participant | None:
        if not key:
            return None
        return self.by_name.get(key) or self.by_email.get(key) or self.by_local.get(key)
