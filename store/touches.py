"""Who last spoke with whom: per outside person, the last touch by us and the last touch by them.

Pure functions over what a stored document holds (its source, time, participants
and, for Slack, each message's author and time); no database. A touch needs both
sides in the conversation:

- **by us**: a message written by someone on our side (an email we sent, a Slack
  message we wrote in a thread or channel message they take part in or are
  mentioned in) or a meeting we held, with the outside person taking part; it
  counts for every outside person in that conversation;
- **by them**: a message the outside person wrote where someone of ours takes
  part (an email to us, a Slack message in a thread with us), or a meeting with us.

"Ours" is a participant's ``internal`` flag as the pipeline set it, else its email
at one of the company domains. A participant known by name only (a transcript
speaker) is found by name in ``directory`` (lowercased name → email). Times are
the email's or meeting's, and each Slack message's own (a reply in a thread
moves the thread's time, not the time of earlier messages).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from followthrough.types import ParticipantRole, is_internal


@dataclass
class TouchLog:
    """``by_us``/``by_them``: outside email (lowercased) → the last touch's time (UTC)."""

    domains: frozenset[str]
    directory: Mapping[str, str] = field(default_factory=dict)
    by_us: dict[str, datetime] = field(default_factory=dict)
    by_them: dict[str, datetime] = field(default_factory=dict)
    _ours: dict[str, bool] = field(default_factory=dict, repr=False)
    """Email → at one of ``domains``, as found (the same people recur in every document)."""
    consulted: bool = False
    """Whether ``directory`` was asked for a name (a participant or Slack author known by name only)."""

    def add(
        self,
        source: str,
        occurred_at: datetime,
        participants: list[dict[str, Any]],
        segments: list[dict[str, Any]] | None = None,
    ) -> None:
        """Count one document: ``participants`` and ``segments`` as stored (JSON dicts)."""
        sides: dict[str, bool] = {}
        by_name: dict[str, str] = {}  # a Slack message's author may be named only
        for p in participants:
            email = self._email(p.get("email"), p.get("name"))
            if email is None:
                continue
            flag = p.get("internal")
            sides[email] = flag if isinstance(flag, bool) else self._is_ours(email)
            if source == "slack" and p.get("name"):
                by_name[" ".join(str(p["name"]).lower().split())] = email
        theirs = [e for e, ours in sides.items() if not ours]
        if not theirs or len(theirs) == len(sides):
            return
        if source == "meeting":
            at = occurred_at.astimezone(UTC)
            for e in theirs:
                _later(self.by_us, e, at)
                _later(self.by_them, e, at)
            return
        for author, at in self._messages(source, occurred_at, participants, segments or [], by_name):
            ours = sides[author] if author in sides else self._is_ours(author)
            at = at.astimezone(UTC)
            if ours:
                for e in theirs:
                    _later(self.by_us, e, at)
            else:
                _later(self.by_them, author, at)

    def _is_ours(self, email: str) -> bool:
        ours = self._ours.get(email)
        if ours is None:
            ours = self._ours[email] = is_internal(email, self.domains)
        return ours

    def _email(self, email: object, name: object) -> str | None:
        if isinstance(email, str) and "@" in email:
            return email.strip().lower()
        if isinstance(name, str):
            self.consulted = True
            return self.directory.get(" ".join(name.lower().split()))
        return None

    def _messages(
        self,
        source: str,
        occurred_at: datetime,
        participants: list[dict[str, Any]],
        segments: list[dict[str, Any]],
        by_name: dict[str, str],
    ) -> list[tuple[str, datetime]]:
        """``(author email, time)`` of each message: a Slack thread's segments, else the sender."""
        out: list[tuple[str, datetime]] = []
        if source == "slack":
            for g in segments:
                speaker = " ".join(str(g.get("speaker") or "").lower().split())
                author = self._email(g.get("speaker_email"), None) or by_name.get(speaker)
                if not author:
                    self.consulted = True
                    author = self.directory.get(speaker)
                if author:
                    at = g.get("occurred_at")
                    out.append((author, datetime.fromisoformat(at) if isinstance(at, str) else occurred_at))
        if not out:
            senders = (p for p in participants if p.get("role") == ParticipantRole.SENDER)
            author = next((self._email(p.get("email"), p.get("name")) for p in senders), None)
            if author:
                out.append((author, occurred_at))
        return out


def _later(last: dict[str, datetime], email: str, at: datetime) -> None:
    """``last[email]`` moved to ``at`` (UTC) when that is later."""
    old = last.get(email)
    if old is None or at > old:
        last[email] = at
