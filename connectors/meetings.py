"""Meetings: notes (Markdown / plain text) and WebVTT transcripts (Zoom, Teams).

Two connectors, one per file shape, both producing ``source="meeting"``
documents, one per file:

``meeting-notes`` (:class:`MeetingNotesConnector`)
    ``.md``/``.markdown`` files, and ``.txt`` files that look like notes (a
    ``Date:``/``Attendees:`` header, or recurring ``Name: text`` lines, and no
    email headers). Parsing rules: :mod:`connectors.meetings_notes`.

``vtt`` (:class:`VttTranscriptConnector`)
    ``.vtt`` files. Consecutive cues of one speaker become one segment (their
    texts joined with a space); ``text`` has one line per segment, written
    ``Name: what they said`` (or just the words when nobody is named), and the
    segment spans only the words. Parsing rules: :mod:`connectors.meetings_vtt`.

Common to both:

    external_id = thread_id = "<file name>#<slug of title>-<YYYY-MM-DD>"
    occurred_at  the ``Date:`` line, in the header, front matter or further down
                 (a date alone → 12:00 UTC; no offset → UTC); for Zoom files the
                 GMTYYYYMMDD-HHMMSS in the name (UTC); else a date in a VTT ``NOTE``;
                 else a date in the file name (Teams, Google Meet, YYYY-MM-DD: see
                 :func:`~connectors.meetings_common.date_from_filename`); else the
                 file's mtime. ``metadata["date_source"]`` says which: "header",
                 "filename", "note" or "mtime" (the CLI then prints a ``note:`` line;
                 ``--date`` re-dates such documents, "option").
    participants attendees (``role="attendee"``, or ``"speaker"`` once they speak),
                 then speakers who are not attendees (``"speaker"``, no email).
                 A speaker resolves to an attendee by full name, unique first
                 name or email user; ``Segment.speaker_email`` follows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from connectors.base import Connector
from connectors.meetings_common import (
    Roster,
    date_from_filename,
    file_mtime,
    meeting_id,
    parse_when,
    read_text,
)
from connectors.meetings_notes import STOP_NAMES, name_shaped, parse_notes, speaker_segments
from connectors.meetings_vtt import NotWebVTT, Utterance, parse_vtt
from followthrough.errors import InputError
from followthrough.types import Segment, SourceDocument

_NOTES_SUFFIXES = frozenset({".md", ".markdown"})
_PEEK_LINES = 40
_ZOOM_NAME = re.compile(r"GMT(?P<d>\d{8})-(?P<t>\d{6})")
_EMAIL_HEADERS = re.compile(
    r"^(from|to|cc|bcc|sent|subject|reply-to|von|an|betreff|gesendet|fra|til|sendt|emne|od|do|temat|"
    r"van|aan|onderwerp|verzonden|från|till|ämne|skickat|de|para|asunto|enviado|objet|envoyé)\s*:",
    re.IGNORECASE,
)
_NOTES_HEADER = re.compile(r"^\s*(?:\*\*)?(date|when|attendees|participants)(?:\*\*)?\s*:", re.IGNORECASE)
_NAME_LINE = re.compile(r"^(?P<name>[^\W\d_][\w.'’-]*(?: [\w.'’-]+){0,3}?):\s+\S")


def _looks_like_notes(path: Path) -> bool:
    """A ``.txt`` file with a notes header or recurring ``Name: text`` lines, and no email headers."""
    try:
        with path.open("r", encoding="utf-8", errors="replace") as f:
            head = [line.rstrip("\r\n") for _, line in zip(range(_PEEK_LINES), f, strict=False)]
    except OSError:
        return False
    if sum(1 for line in head if _EMAIL_HEADERS.match(line)) >= 2:
        return False
    if any("wrote:" in line or "schrieb:" in line for line in head):
        return False
    if any(_NOTES_HEADER.match(line) for line in head):
        return True
    counts: dict[str, int] = {}
    for line in head:
        m = _NAME_LINE.match(line)
        name = m.group("name") if m else ""
        if m and name_shaped(name) and name.casefold() not in STOP_NAMES:
            counts[m.group("name")] = counts.get(m.group("name"), 0) + 1
    return sum(counts.values()) >= 3 and max(counts.values()) >= 2


_DATE_LINE = re.compile(
    r"^\s*(?:[-*]\s+)?(?:\*\*|__)?(?:date|meeting date|when)(?:\*\*|__)?\s*:\s*(?:\*\*|__)?\s*(?P<v>\S.*)$",
    re.IGNORECASE | re.MULTILINE,
)


def _date_line(text: str) -> datetime | None:
    """A ``Date: ...`` line further down the notes (not in the header block)."""
    for m in _DATE_LINE.finditer(text):
        value = m.group("v").strip().strip("*_").strip()
        if re.search(r"\d", value):
            parsed = parse_when(value)
            if parsed is not None:
                return parsed
    return None


_BULLET_TURN = re.compile(
    r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+(?P<name>[A-Z][\w.'’-]*(?: [\w.'’-]+){0,2}):\s+\S", re.MULTILINE
)


def not_meeting_notes(path: Path) -> str | None:
    """Why a Markdown file is not meeting notes (a README, a design doc), or ``None`` when it may be.

    Notes have at least one of: a date (header, front matter, a ``Date:`` line, the file name),
    attendees, speaker turns (a name opening two ``Name: text`` lines; bold ``**Label:**`` lines do
    not count) or action items. A file with none of these and a document's structure (section
    headings or code blocks) is prose.
    """
    if path.suffix.lower() not in _NOTES_SUFFIXES:
        return None
    try:
        notes = parse_notes(read_text(path))
    except InputError:
        return None
    if notes.date_value or notes.attendees or _date_line(notes.body) or date_from_filename(path):
        return None
    if any(seg.action for seg in notes.segments):
        return None
    turns: dict[str, int] = {}
    for seg in notes.segments:
        if seg.speaker:
            line_start = notes.body.rfind("\n", 0, seg.start) + 1
            head = re.sub(r"^\s*(?:[-*+•]\s+)?", "", notes.body[line_start : seg.start])
            if not head.startswith(("**", "__")):
                turns[seg.speaker] = turns.get(seg.speaker, 0) + 1
    for m in _BULLET_TURN.finditer(notes.body):  # "- Marco: text" bullets
        turns[m.group("name")] = turns.get(m.group("name"), 0) + 1
    if any(n >= 2 for n in turns.values()):  # one "Name: text" line is a label, not a conversation
        return None
    headings = re.findall(r"^\s{0,3}#{1,6}\s+\S", notes.body, re.MULTILINE)
    structured = bool(headings) or "```" in notes.body
    if not structured:
        return None
    return (
        "not meeting notes (no date, attendees, speaker lines or action items); skipped "
        '(add a "Date: YYYY-MM-DD" line to read it as a meeting)'
    )


def _date(path: Path, candidates: list[tuple[str, datetime | None]]) -> tuple[datetime, str]:
    for source, value in candidates:
        if value is not None:
            return value, source
    by_name = date_from_filename(path)
    if by_name is not None:
        return by_name, "filename"
    return file_mtime(path), "mtime"


class MeetingNotesConnector(Connector):
    """One meeting per Markdown or plain-text notes file."""

    @classmethod
    def detect(cls, path: Path) -> bool:
        if not path.is_file():
            return False
        suffix = path.suffix.lower()
        if suffix in _NOTES_SUFFIXES:
            return True
        return suffix == ".txt" and _looks_like_notes(path)

    @classmethod
    def skip_reason(cls, path: Path) -> str | None:
        return not_meeting_notes(path)

    def documents(self) -> Iterator[SourceDocument]:
        notes = parse_notes(read_text(self.path))
        if not notes.body.strip() and not notes.title:
            raise InputError(self.path, "empty meeting notes")
        title = notes.title or self.path.stem
        parsed = parse_when(notes.date_value) if notes.date_value else None
        when, date_source = _date(self.path, [("header", parsed or _date_line(notes.body))])
        roster = Roster(notes.attendees)
        spoken = speaker_segments(notes.body, roster)
        metadata = {"date_source": date_source, "format": "notes"}
        if spoken.action_items:
            metadata["action_item_segments"] = json.dumps(spoken.action_items)
        if notes.date_value and parsed is None:
            metadata["date_unparsed"] = notes.date_value
        ident = meeting_id(self.path, title, when)
        yield SourceDocument(
            source="meeting",
            external_id=ident,
            thread_id=ident,
            occurred_at=when,
            title=title,
            participants=roster.participants(),
            segments=spoken.segments,
            text=notes.body,
            origin=str(self.path),
            metadata=metadata,
        )


class VttTranscriptConnector(Connector):
    """One meeting per WebVTT transcript (Zoom ``Name: text`` cues, Teams ``<v Name>`` cues)."""

    @classmethod
    def detect(cls, path: Path) -> bool:
        return path.is_file() and path.suffix.lower() == ".vtt"

    def documents(self) -> Iterator[SourceDocument]:
        try:
            transcript = parse_vtt(read_text(self.path))
        except NotWebVTT as e:
            raise InputError(self.path, "not a WebVTT file") from e
        if not transcript.cues:
            raise InputError(self.path, "empty transcript: no cues")

        merged: list[Utterance] = []
        texts: list[list[str]] = []  # each merged turn's cue texts, joined once (not re-copied per cue)
        for cue in transcript.cues:
            if merged and merged[-1].speaker == cue.speaker:
                texts[-1].append(cue.text)
            else:
                merged.append(Utterance(cue.start, cue.speaker, cue.text))
                texts.append([cue.text])
        for u, parts_of in zip(merged, texts, strict=True):
            u.text = " ".join(parts_of)

        roster = Roster([])
        parts: list[str] = []
        segments: list[Segment] = []
        pos = 0
        for u in merged:
            line_prefix = f"{u.speaker}: " if u.speaker else ""
            if parts:
                parts.append("\n")
                pos += 1
            start = pos + len(line_prefix)
            parts.append(line_prefix + u.text)
            pos = start + len(u.text)
            if u.speaker:
                roster.note_speaker(u.speaker)
            segments.append(Segment(speaker=u.speaker, char_start=start, char_end=pos, text=u.text))

        title = _note_field(transcript.notes, "title") or _vtt_title(self.path)
        when, date_source = _date(
            self.path, [("filename", _zoom_date(self.path)), ("note", _note_date(transcript.notes))]
        )
        ident = meeting_id(self.path, title, when)
        yield SourceDocument(
            source="meeting",
            external_id=ident,
            thread_id=ident,
            occurred_at=when,
            title=title,
            participants=roster.participants(),
            segments=segments,
            text="".join(parts),
            origin=str(self.path),
            metadata={
                "date_source": date_source,
                "format": "vtt",
                "segment_start": json.dumps([u.start for u in merged]),
            },
        )


def _vtt_title(path: Path) -> str:
    name = path.name
    for suffix in (".vtt", ".transcript", ".cc"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name or path.name


def _zoom_date(path: Path) -> datetime | None:
    m = _ZOOM_NAME.search(path.name)
    if not m:
        return None
    try:
        return datetime.strptime(m.group("d") + m.group("t"), "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def _note_field(notes: list[str], key: str) -> str | None:
    for note in notes:
        for line in note.split("\n"):
            k, sep, value = line.partition(":")
            if sep and k.strip().lower() == key and value.strip():
                return value.strip()
    return None


_ISO_IN_TEXT = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:\s*(?:Z|UTC|[+-]\d{2}:?\d{2}))?)?"
)


_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|"
    r"Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
# "3/17/2026 10:00 AM", "17 March 2026", "March 17, 2026" in a NOTE ("NOTE Meeting started 3/17/2026 ...").
_WRITTEN_DATE = re.compile(
    r"\b(?:\d{1,2}/\d{1,2}/\d{4}|\d{1,2}\.? " + _MONTH + r"\.?,? \d{4}|" + _MONTH + r"\.? \d{1,2},? \d{4})"
    r"(?:,?\s+\d{1,2}:\d{2}(?::\d{2})?\s*(?:[AaPp][Mm])?)?",
    re.IGNORECASE,
)


def _note_date(notes: list[str]) -> datetime | None:
    value = _note_field(notes, "date") or _note_field(notes, "start")
    if value:
        parsed = parse_when(value)
        if parsed is not None:
            return parsed
    for note in notes:
        m = _ISO_IN_TEXT.search(note)
        if m:
            return parse_when(m.group(0))
    for note in notes:
        m = _WRITTEN_DATE.search(note)
        if m:
            parsed = parse_when(m.group(0))
            if parsed is not None:
                return parsed
    return None


__all__ = ["MeetingNotesConnector", "VttTranscriptConnector", "not_meeting_notes"]
