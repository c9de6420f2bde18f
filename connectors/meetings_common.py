"""Helpers shared by the meeting-notes and WebVTT readers: text, dates, ids, people."""

from __future__ import annotations

import re
import unicodedata
import warnings
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from pathlib import Path

from dateutil import parser as du_parser

from followthrough.errors import InputError
from followthrough.limits import MAX_MEETING_FILE_BYTES
from followthrough.types import Participant, ParticipantRole

# Abbreviations dateutil would otherwise warn about and ignore.
_TZINFOS: dict[str, int] = {
    "UTC": 0,
    "GMT": 0,
    "Z": 0,
    "EST": -5 * 3600,
    "EDT": -4 * 3600,
    "CST": -6 * 3600,
    "CDT": -5 * 3600,
    "MST": -7 * 3600,
    "MDT": -6 * 3600,
    "PST": -8 * 3600,
    "PDT": -7 * 3600,
    "BST": 1 * 3600,
    "CET": 1 * 3600,
    "CEST": 2 * 3600,
}
_NOON = time(12, 0)
_ZOOM_NAME = re.compile(r"GMT(?P<d>\d{8})-(?P<t>\d{6})")
# 2026-03-17, 2026_03_17, 2026.03.17, optionally followed by a time (10:00, 10_00, 10.00, 1000) and a
# zone ("CET", "UTC", "GMT+1"): Teams ("Meeting Recording 2026-03-17 ..."), Google Meet
# ("... - 2026_03_17 10_00 CET - Transcript"), notes named "2026-03-17-acme-sync.md".
_FILENAME_DATE = re.compile(
    r"(?<!\d)(?P<y>(?:19|20)\d{2})(?P<sep>[-_.])(?P<m>\d{2})(?P=sep)(?P<d>\d{2})(?!\d)"
    r"(?:[ T_]+(?P<hh>\d{1,2})[:_.h]?(?P<mm>\d{2})(?:[:_.]\d{2})?(?!\d)"
    r"(?:\s*(?P<tz>[A-Z]{1,4}(?:[+-]\d{1,2}(?::?\d{2})?)?)(?![A-Za-z]))?)?"
)
# Teams recordings in OneDrive/SharePoint: "Weekly sync-20260317_100023-Meeting Recording".
_COMPACT_DATE = re.compile(r"(?<!\d)(?P<d>(?:19|20)\d{6})_(?P<t>\d{6})(?!\d)")


def read_text(path: Path) -> str:
    """The file as text with ``\\n`` line ends (UTF-8, with a legacy-encoding fallback).

    Raises :class:`InputError` for a file that cannot be read, or that is larger than
    :data:`~followthrough.limits.MAX_MEETING_FILE_BYTES` (never read past the limit).
    """
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_MEETING_FILE_BYTES + 1)
    except OSError as e:
        raise InputError(path, f"cannot read file ({e.strerror or e})") from e
    if len(raw) > MAX_MEETING_FILE_BYTES:
        mib = 1024 * 1024
        try:
            size = path.stat().st_size
        except OSError:
            size = len(raw)
        raise InputError(
            path,
            f"file is {size / mib:.1f} MiB, over the limit of {MAX_MEETING_FILE_BYTES / mib:g} MiB "
            "for one meeting file; not read",
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes

        best = from_bytes(raw).best()
        if best is None:
            raise InputError(path, "not a text file (unknown encoding)") from None
        text = str(best)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse_when(value: str) -> datetime | None:
    """A timezone-aware datetime from a ``Date:`` value, or ``None``.

    A date without a time means noon UTC, so that no timezone shifts it to the
    day before or after; a time without an offset is taken as UTC. ISO 8601 and
    the common written forms go through dateutil; anything else ("10 mars
    2026", "next Tuesday 3pm") through dateparser.
    """
    value = value.strip()
    if not value:
        return None
    parsed: datetime | None = None
    if re.search(r"\d{4}", value):  # with no year, dateutil would invent one
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                parsed = du_parser.parse(value, default=datetime(2000, 1, 1, 12, 0), tzinfos=_TZINFOS)
        except (ValueError, ArithmeticError):
            # ArithmeticError: OverflowError, and decimal.InvalidOperation for "9999…9m" (dateutil)
            parsed = None
    if parsed is None:
        import dateparser

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = dateparser.parse(value, settings={"RETURN_AS_TIMEZONE_AWARE": False})
        if parsed is None:
            return None
        if not _has_time(value):
            parsed = datetime.combine(parsed.date(), _NOON, parsed.tzinfo)
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _has_time(value: str) -> bool:
    return bool(re.search(r"\d:\d|\d\s*(am|pm)\b|\bnoon\b|\bmidnight\b", value, re.IGNORECASE))


def date_from_filename(path: Path) -> datetime | None:
    """The meeting date a file name carries, or ``None``.

    ``GMT20260317-100000`` (Zoom, UTC) → 2026-03-17 10:00 UTC;
    ``Sync-20260317_100000-Meeting Recording`` (Teams) → 2026-03-17 10:00 UTC;
    ``Sync - 2026_03_17 10_00 CET - Transcript`` (Google Meet) → 2026-03-17 10:00 +01:00;
    ``2026-03-10-acme-sync.md`` → 2026-03-10 12:00 UTC (a date alone is noon UTC).
    """
    name = path.name
    for pattern in (_ZOOM_NAME, _COMPACT_DATE):
        m = pattern.search(name)
        if m:
            try:
                return datetime.strptime(m.group("d") + m.group("t"), "%Y%m%d%H%M%S").replace(tzinfo=UTC)
            except ValueError:
                pass
    for m in _FILENAME_DATE.finditer(name):
        try:
            day = date(int(m.group("y")), int(m.group("m")), int(m.group("d")))
        except ValueError:
            continue
        if m.group("hh") is not None:
            try:
                at = time(int(m.group("hh")), int(m.group("mm")))
            except ValueError:
                return datetime.combine(day, _NOON, UTC)
            return datetime.combine(day, at, _zone(m.group("tz")))
        return datetime.combine(day, _NOON, UTC)
    return None


def _zone(name: str | None) -> tzinfo:
    """``CET`` → +01:00, ``GMT+1`` → +01:00, anything unknown → UTC."""
    if not name:
        return UTC
    m = re.fullmatch(r"(?P<abbr>[A-Z]{1,4})(?:(?P<sign>[+-])(?P<h>\d{1,2}):?(?P<m>\d{2})?)?", name)
    if not m:
        return UTC
    base = _TZINFOS.get(m.group("abbr"))
    if base is None:
        return UTC
    offset = base
    if m.group("sign"):
        shift = int(m.group("h")) * 3600 + int(m.group("m") or 0) * 60
        offset += shift if m.group("sign") == "+" else -shift
    try:
        return timezone(timedelta(seconds=offset))
    except ValueError:
        return UTC


def file_mtime(path: Path) -> datetime:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC)
    except OSError as e:
        raise InputError(path, f"cannot read file ({e.strerror or e})") from e


def slugify(value: str) -> str:
    """Lower-case ASCII words joined by ``-`` (accents folded, other characters dropped)."""
    folded = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-") or "meeting"


def meeting_id(path: Path, title: str, when: datetime) -> str:
    """The document id: the file name, ``#``, a slug of title and date.

    The name, not the path, so that reading the same notes from another working
    directory or after moving the folder finds the same document again.
    """
    return f"{path.name}#{slugify(title)}-{when.date().isoformat()}"


@dataclass
class Person:
    name: str | None
    email: str | None


_ANGLE = re.compile(r"^\s*(?P<name>.*?)\s*<(?P<email>[^<>@\s]+@[^<>\s]+)>\s*$")
_PAREN = re.compile(r"^\s*(?P<name>.*?)\s*\((?P<email>[^()@\s]+@[^()\s]+)\)\s*$")
_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")


def parse_attendees(value: str) -> list[Person]:
    """``Marco Rossi <marco@northwind.io>, Dana Lee (dana@acme.com), priya@x.io, Sam`` → people."""
    people: list[Person] = []
    for raw in re.split(r"[;,](?![^<(]*[>)])", value):
        item = raw.strip().strip("*").strip()
        if not item:
            continue
        m = _ANGLE.match(item) or _PAREN.match(item)
        if m:
            name = m.group("name").strip().strip("\"'") or None
            people.append(Person(name=name, email=m.group("email").lower()))
        elif _EMAIL.match(item):
            people.append(Person(name=None, email=item.lower()))
        else:
            people.append(Person(name=item, email=None))
    return people


class Roster:
    """Attendees and speakers of one meeting; resolves a spoken name to an attendee."""

    def __init__(self, attendees: list[Person]) -> None:
        self.attendees = attendees
        self.spoke: list[str] = []

    def resolve(self, speaker: str) -> Person | None:
        """The attendee ``speaker`` names: full name, else a unique first name, else email user."""
        key = speaker.casefold().strip()
        for p in self.attendees:
            if p.name and p.name.casefold() == key:
                return p
        firsts = [p for p in self.attendees if p.name and p.name.split()[0].casefold() == key]
        if len(firsts) == 1:
            return firsts[0]
        locals_ = [p for p in self.attendees if p.email and p.email.split("@")[0].casefold() == key]
        if len(locals_) == 1:
            return locals_[0]
        return None

    def email_of(self, speaker: str) -> str | None:
        person = self.resolve(speaker)
        return person.email if person else None

    def note_speaker(self, speaker: str) -> None:
        if speaker not in self.spoke:
            self.spoke.append(speaker)

    def participants(self) -> list[Participant]:
        """Attendees (role ``speaker`` if they spoke, else ``attendee``), then other speakers."""
        spoke_as: dict[int, str] = {}
        extra: list[Participant] = []
        for name in self.spoke:
            person = self.resolve(name)
            if person is not None:
                spoke_as.setdefault(id(person), name)
            else:
                extra.append(Participant(name=name, role=ParticipantRole.SPEAKER))
        out = [
            Participant(
                name=p.name or None,
                email=p.email,
                role=ParticipantRole.SPEAKER if id(p) in spoke_as else ParticipantRole.ATTENDEE,
            )
            for p in self.attendees
        ]
        return out + extra


__all__ = [
    "Person",
    "Roster",
    "date_from_filename",
    "file_mtime",
    "meeting_id",
    "parse_attendees",
    "parse_when",
    "read_text",
    "slugify",
]
