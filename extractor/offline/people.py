"""Who is who in a document: participants by name and email, the CRM directory, our side or theirs."""

from __future__ import annotations

from dataclasses import dataclass

from followthrough.types import Participant, SourceDocument

# Leading words of names that are not people ("The Data Stack Weekly", "Team Acme").
_NOT_FIRST_NAMES = frozenset("the a an team dept department support sales info no noreply do not".split())


@dataclass
class People:
    """Participants of one document by email and name (full, unique first name, handle), and the directory."""

    by_email: dict[str, Participant]
    by_name: dict[str, Participant]
    directory: dict[str, str]
    dir_first: dict[str, str]
    ours_present: bool = False  # someone of our side is known to take part

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
        people = People(by_email, by_name, self.names, self.first_names)
        speakers = {g.speaker for g in doc.segments if g.speaker}
        people.ours_present = any(self.is_internal(p) is True for p in doc.participants) or any(
            self.is_internal(Participant(email=people.find(name)[1])) is True for name in speakers
        )
        return people


def author_at(doc: SourceDocument, people: People, start: int) -> tuple[Participant | None, str | None]:
    seg = doc.speaker_at(start) if doc.segments else None
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
