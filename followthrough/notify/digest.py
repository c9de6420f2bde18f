"""What one owner is told: their new or changed open items, in four sections, each with its evidence.

An item is *announced* to its owner once per state: its fingerprint (:func:`fingerprint`: status,
due date, owner and urgency) is recorded when a message about it is delivered, and the item is in
the next digest only when its fingerprint has changed: a new item, a changed due date or owner,
a reopened item, or an item that has become due by tomorrow, overdue, or (a request) late against
its response target. Sections, each item in the first that fits:

- **Overdue**: due before the as-of day;
- **Due by tomorrow**: due on the as-of day or the next;
- **Requests waiting on you**: the other requests made to them;
- **New promises**: the other commitments (due later, or undated) never announced to them;
- **Changed**: the other commitments, announced before in another state (a new due date or owner,
  reopened).

The summary (the email's subject, the top of each message) counts each section in its own word:
``"2 items: 1 overdue, 1 changed"``. An item's due date is shown with the phrase it was written as
(:meth:`store.CommitmentView.due_phrase`) unless a person has corrected the date since.

Pure functions over :class:`store.CommitmentView`: nothing here reads the store or sends anything.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import quote

from store import CommitmentView, PersonView

SECTIONS = ("Overdue", "Due by tomorrow", "Requests waiting on you", "New promises", "Changed")
"""The sections of a digest, in order (their titles)."""

WORDS = {
    SECTIONS[0]: "overdue",
    SECTIONS[1]: "due by tomorrow",
    SECTIONS[2]: "waiting on you",
    SECTIONS[3]: "new",
    SECTIONS[4]: "changed",
}
"""What the summary calls each section's items: ``"1 overdue"``, ``"2 new"``, ``"1 changed"``."""


def urgency(item: CommitmentView, as_of: date) -> str:
    """``overdue``, ``soon`` (due on ``as_of`` or the day after), ``late`` (a request past its response
    target) or ``later``: the part of an item's state that changes as days pass."""
    if item.due is not None and item.due < as_of:
        return "overdue"
    if item.due is not None and item.due <= as_of + timedelta(days=1):
        return "soon"
    if item.overdue_response:
        return "late"
    return "later"


def fingerprint(item: CommitmentView, as_of: date) -> str:
    """What was announced about ``item``: 32 hex characters of SHA-256 over its status, due date, owner
    and :func:`urgency` on ``as_of``. Two digests that would say the same about it agree."""
    owner = (item.owner or "").strip().lower()
    due = item.due.isoformat() if item.due else ""
    raw = f"{item.status.value}|{due}|{owner}|{urgency(item, as_of)}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def section_of(item: CommitmentView, as_of: date, *, changed: bool = False) -> str:
    """The title (one of :data:`SECTIONS`) of the section ``item`` is listed in on ``as_of``;
    ``changed``: its owner was told about it before, in another state."""
    state = urgency(item, as_of)
    if state == "overdue":
        return SECTIONS[0]
    if state == "soon":
        return SECTIONS[1]
    if item.type == "request":
        return SECTIONS[2]
    return SECTIONS[4] if changed else SECTIONS[3]


@dataclass(frozen=True)
class Entry:
    """One item in a digest: the item, whether its owner was told about it before (``changed``), and
    its link in the dashboard."""

    item: CommitmentView
    changed: bool
    url: str


@dataclass(frozen=True)
class OwnerDigest:
    """One owner's message: ``person`` (with an email), ``as_of``, the ``sections`` that have entries
    (title, entries; in :data:`SECTIONS` order, most urgent and most at stake first),
    ``public_url`` (the dashboard, for the "all your items" link), and ``more``: how many new or
    changed items did not fit in this message (a channel's limit) and wait for the next digest."""

    person: PersonView
    as_of: date
    sections: tuple[tuple[str, tuple[Entry, ...]], ...]
    public_url: str
    more: int = 0

    @property
    def entries(self) -> list[Entry]:
        return [e for _, group in self.sections for e in group]

    @property
    def email(self) -> str:
        assert self.person.email is not None
        return self.person.email

    @property
    def name(self) -> str:
        return self.person.name or self.email

    @property
    def mine_url(self) -> str:
        """The owner's My items page in the dashboard."""
        return f"{self.public_url}/mine?owner={quote(self.email)}"

    def summary(self) -> str:
        """``"4 items: 1 overdue, 1 due by tomorrow, 1 new, 1 changed"``: the subject's words, one count
        per section (:data:`WORDS`), of the items in this message."""
        counts = [(title, len(group)) for title, group in self.sections]
        total = sum(n for _, n in counts)
        parts = [f"{n} {WORDS[title]}" for title, n in counts]
        return f"{total} item{'s' if total != 1 else ''}: {', '.join(parts)}"


def _order(item: CommitmentView) -> tuple[float, date, int]:
    return (-item.priority, item.due or date.max, item.id)


def build(
    person: PersonView,
    items: Sequence[CommitmentView],
    announced: set[int],
    *,
    as_of: date,
    public_url: str,
) -> OwnerDigest:
    """The digest of ``items`` (the new or changed open items of ``person``, who has an email) on
    ``as_of``; ``announced``: the ids of those that ``person`` was told about before, in another state
    (each listed as changed)."""
    grouped: dict[str, list[CommitmentView]] = {title: [] for title in SECTIONS}
    for item in items:
        grouped[section_of(item, as_of, changed=item.id in announced)].append(item)
    sections = tuple(
        (
            title,
            tuple(
                Entry(item=i, changed=i.id in announced, url=f"{public_url}/items/{i.id}")
                for i in sorted(group, key=_order)
            ),
        )
        for title, group in grouped.items()
        if group
    )
    return OwnerDigest(person=person, as_of=as_of, sections=sections, public_url=public_url)
