"""Turn what a model said into facts about the document: who, and by when.

* :class:`People` resolves a name as the model wrote it ("Dana", "Dana Lee",
  "@dana", "dana@acme.com", "I") to a participant of the document and its
  email. "I"/"me"/"we" is the speaker of the evidence (meetings) or the sender
  (email, Slack). A name that no participant carries may still resolve through
  the directory (CRM contacts) but is reported as not a participant, so the
  caller can flag it.
* :func:`normalize_due` resolves the deadline phrase against the document's
  ``occurred_at`` with the offline backend's date rules ("by Friday" in a
  Tuesday email is that Friday), in the document's own time zone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from extractor.offline.dates import find_due
from followthrough.types import Participant, SourceDocument

__all__ = ["People", "Resolved", "normalize_due"]

_SELF = frozenset({"i", "me", "myself", "we", "us", "our team", "my team", "the sender", "sender", "i/we"})


@dataclass(frozen=True)
class Resolved:
    label: str | None
    email: str | None
    participant: bool
    """True when the person takes part in the document (sender, recipient, speaker...)."""


class People:
    """The participants of one document, indexed for name lookups."""

    def __init__(self, doc: SourceDocument, directory: Mapping[str, str] | None = None) -> None:
        self.doc = doc
        self.directory = {k.strip().lower(): v for k, v in (directory or {}).items()}
        self._by_key: dict[str, Participant] = {}
        firsts: dict[str, list[Participant]] = {}
        people = list(doc.participants)
        for seg in doc.segments:
            if seg.speaker and not any((p.name or "").lower() == seg.speaker.lower() for p in people):
                people.append(Participant(name=seg.speaker, email=seg.speaker_email, role="speaker"))
        for p in people:
            for key in (p.name, p.email, p.handle):
                if key:
                    self._by_key.setdefault(key.strip().lstrip("@").lower(), p)
            if p.name and p.name.split():
                firsts.setdefault(p.name.split()[0].lower(), []).append(p)
            if p.email:
                local = p.email.split("@", 1)[0].lower()
                firsts.setdefault(local, []).append(p)
        self._by_first = {k: v[0] for k, v in firsts.items() if len({id(p) for p in v}) == 1}

    def author_at(self, offset: int | None) -> Participant | None:
        """Who wrote or said the text at ``offset``: its segment's speaker, else the sender."""
        if offset is not None:
            seg = self.doc.speaker_at(offset)
            if seg is not None and (seg.speaker or seg.speaker_email):
                found = self._lookup(seg.speaker_email or "") or self._lookup(seg.speaker or "")
                return found or Participant(name=seg.speaker, email=seg.speaker_email, role="speaker")
        return self.doc.sender

    def addressee(self) -> Participant | None:
        """The one person an email is addressed to (``None`` when there are several or none)."""
        if self.doc.source != "email":
            return None
        to = [p for p in self.doc.participants if p.role == "recipient"]
        return to[0] if len(to) == 1 else None

    def _lookup(self, name: str) -> Participant | None:
        key = name.strip().lstrip("@").lower()
        if not key:
            return None
        return self._by_key.get(key) or self._by_first.get(key)

    def resolve(self, name: str | None, *, offset: int | None, default_author: bool) -> Resolved:
        """Resolve ``name``; with ``default_author`` an unnamed person is the author at ``offset``."""
        if name is None or name.strip().lower() in _SELF:
            if name is None and not default_author:
                return Resolved(None, None, True)
            author = self.author_at(offset)
            if author is None:
                return Resolved(name, None, name is None)
            return Resolved(author.label(), author.email, True)
        found = self._lookup(name)
        if found is None and " " in name.strip():
            found = self._lookup(name.strip().split()[0])
            if found is not None and found.name and found.name.lower() != name.strip().lower():
                # "Dana Smith" is not "Dana Lee": a first-name hit only counts for a bare first name
                found = None if len(found.name.split()) > 1 else found
        if found is not None:
            return Resolved(found.label(), found.email, True)
        key = name.strip().lstrip("@").lower()
        email = self.directory.get(key)
        if email is None and "@" in key:
            email = key
        return Resolved(name.strip(), email, False)


def normalize_due(phrase: str | None, today: date, *, evidence: str = "") -> tuple[date | None, str | None]:
    """(date, phrase as written) for a deadline, relative to the document's local date.

    The model's phrase is resolved first; when the model gave none, a deadline
    written in the evidence itself ("... by Friday") is used. Vague phrases
    ("before the renewal", "asap") keep their text and no date.
    """
    if phrase:
        found = find_due(phrase, today)
        return (found.due if found is not None else None), phrase
    found = find_due(evidence, today) if evidence else None
    if found is not None:
        return found.due, found.text
    return None, None
