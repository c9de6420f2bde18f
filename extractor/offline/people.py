"""Who is who in a document: participants by name and email, the CRM directory, our side or theirs."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from followthrough.types import Participant, Segment, SourceDocument

# Leading words of names that are not people ("The Data Stack Weekly", "Team Acme").
_NOT_FIRST_NAMES = frozenset("the a an team dept department support sales info no noreply do not".split())


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


@dataclass
class People:
    """Participants of one document by email and name (full, unique first name, handle), and the directory."""

    by_email: dict[str, Participant]
    by_name: dict[str, Participant]
    directory: dict[str, str]
    dir_first: dict[str, str]
    ours_present: bool = False  # someone of our side is known to take part
    segments: Segments = field(default_factory=Segments)

    def find(self, name: str) -> tuple[str, str | None, Participant | None]:
        """(label, email, participant) for a name as written ("Marco", "@marco", "Marco Rossi")."""
        key = name.lstrip("@").strip().lower()
        p = self.by_name.get(key)
        if p is None and key in self.by_email:
            p = self.by_email[key]
        if p is not None and p.email:
            return (p.name or name.lstrip("@"), p.email, p)
        if p is not None:
            full = (p.name or key).lower()
            email = self.directory.get(full) or self.dir_first.get(full.split()[0] if full else "")
            if email:
                return (p.name or name.lstrip("@"), email, p.model_copy(update={"email": email}))
            return (p.name or name.lstrip("@"), None, p)
        email = self.directory.get(key) or self.dir_first.get(key.split()[0] if key else "")
        if email:
            p = self.by_email.get(email.lower())
            return (name.lstrip("@"), email, p)
        return (name.lstrip("@"), None, None)

    def known(self, name: str) -> bool:
        key = name.lstrip("@").strip().lower()
        if not key:
            return False
        return key in self.by_name or key in self.directory or key.split()[0] in self.dir_first


class Directory:
    """The CRM directory (lowercase name -> email) and the company domains that mark our side."""

    def __init__(self, company_domains: set[str] | None, directory: dict[str, str] | None) -> None:
        self.company_domains = {d.lower().lstrip("@") for d in (company_domains or set())}
        self.names = {" ".join(k.lower().split()): v for k, v in (directory or {}).items()}
        firsts: dict[str, set[str]] = {}
        for full, email in self.names.items():
            if len(full.split()) > 1 and full.split()[0] not in _NOT_FIRST_NAMES:
                firsts.setdefault(full.split()[0], set()).add(email)
        self.first_names = {k: next(iter(v)) for k, v in firsts.items() if len(v) == 1}

    def is_internal(self, p: Participant | None) -> bool | None:
        if p is None:
            return None
        if p.internal is not None:
            return p.internal
        if self.company_domains and p.email and "@" in p.email:
            dom = p.email.rsplit("@", 1)[1].lower()
            return any(dom == d or dom.endswith("." + d) for d in self.company_domains)
        return None

    def people(self, doc: SourceDocument) -> People:
        by_email: dict[str, Participant] = {}
        by_name: dict[str, Participant] = {}
        first_count: dict[str, int] = {}
        for p in doc.participants:
            if p.email:
                by_email.setdefault(p.email.lower(), p)
            if p.name:
                first = p.name.split()[0].lower()
                first_count[first] = first_count.get(first, 0) + 1
        for p in doc.participants:
            if p.name:
                by_name.setdefault(p.name.lower(), p)
                first = p.name.split()[0].lower()
                if first_count.get(first) == 1 and first not in _NOT_FIRST_NAMES:
                    by_name.setdefault(first, p)
            if p.handle:
                by_name.setdefault(p.handle.lower().lstrip("@"), p)
        people = People(by_email, by_name, self.names, self.first_names, segments=Segments(doc))
        speakers = {g.speaker for g in doc.segments if g.speaker}
        people.ours_present = any(self.is_internal(p) is True for p in doc.participants) or any(
            self.is_internal(Participant(email=people.find(name)[1])) is True for name in speakers
        )
        return people


def author_at(doc: SourceDocument, people: People, start: int) -> tuple[Participant | None, str | None]:
    seg = people.segments.at(start) if doc.segments else None
    if seg is not None and (seg.speaker or seg.speaker_email):
        p = people.by_email.get(seg.speaker_email.lower()) if seg.speaker_email else None
        if p is None and seg.speaker:
            p = people.by_name.get(seg.speaker.lower())
            if p is not None and not p.email:
                p = people.find(seg.speaker)[2]
        if p is None:
            p = Participant(name=seg.speaker, email=seg.speaker_email, role="speaker")
            if seg.speaker and not seg.speaker_email:
                _, email, found = people.find(seg.speaker)
                p = found or Participant(name=seg.speaker, email=email, role="speaker")
        return p, seg.speaker
    return doc.sender, None
