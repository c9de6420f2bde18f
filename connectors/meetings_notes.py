"""Parsing meeting notes written in Markdown or plain text.

The shape (see ``fixtures/demo/meetings``)::

    # Acme renewal sync                      ← title (or a ``Title:`` line, or the file name)
    Date: 2026-03-10 15:00 -05:00            ← also ``When:``; ``Time:`` is appended to it
    Attendees: Marco Rossi <marco@northwind.io>, Dana Lee <dana@acme.com>, Priya Shah

    Dana: We need the SOC 2 report before legal signs.      ← a speaker line
    - Pricing is fine; SSO is the open question.            ← a bullet
    ## Action items                                          ← also "Action Items:", "Next steps"
    - Marco: send the SOC 2 report to Dana by Friday         ← an action item
    - [ ] Priya to schedule the follow-up next week          ← an action item (checkbox anywhere)

The document ``text`` is the body (everything after the header), verbatim.
Segments are spans of it: a speaker line's segment starts after ``Name:`` (and
runs over its indented continuation lines); a bullet's segment starts after the marker
(``- ``, ``1. ``, ``- [ ] ``); a paragraph is one segment; headings and blank
lines belong to no segment. Action items are segments with no speaker (the
owner is inside the text, for the extractor to read); their indexes are listed.

``Name: text`` (also ``**Name:**`` and ``Name (Acme):``) is a speaker line
when the name is an attendee (full name, a unique first name, or an email
user), or — not on a bullet — when the file lists no attendees or the same
name opens at least two lines. Words that head notes ("Note:", "Update:",
"Next steps:") never count as names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from connectors.meetings_common import Person, Roster, parse_attendees
from followthrough.types import Segment

_HEADER_KEYS = {
    "title": "title",
    "subject": "title",
    "meeting": "title",
    "date": "date",
    "when": "date",
    "time": "time",
    "attendees": "attendees",
    "participants": "attendees",
    "present": "attendees",
}
_OTHER_HEADER_KEYS = frozenset({"location", "where", "organizer", "account", "customer", "deal", "duration"})
_HEADER = re.compile(
    r"^\s*(?:\*\*)?(?P<key>[A-Za-z][A-Za-z ]{0,20}?)\s*(?:\*\*)?\s*:\s*(?:\*\*)?\s*(?P<value>.*)$"
)
_H1 = re.compile(r"^#\s+(?P<title>.+?)\s*#*\s*$")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(?P<text>.*?)\s*#*\s*$")
_BOLD_LINE = re.compile(r"^\s*(?:\*\*|__)(?P<text>[^*_]{1,60}?)(?:\*\*|__)\s*:?\s*$")
_LABEL_LINE = re.compile(r"^\s*(?P<text>[^\W\d_][\w /&'-]{0,40}?)\s*:\s*$")
_BULLET = re.compile(r"^(?P<indent>\s*)(?:[-*+•]|\d{1,3}[.)])\s+(?P<box>\[[ xX]\]\s+)?(?=\S)")
_SPEAKER = re.compile(
    r"^(?:\*\*|__)?(?P<name>[^\W\d_][\w.'’-]*(?:[ ][\w.'’-]+){0,3}?)(?:\s*\([^()\n]{1,40}\))?"
    r"(?:\*\*|__)?\s*:(?:\*\*|__)?\s+(?=\S)"
)
_ACTION_HEADING = re.compile(
    r"^(action\s*items?|actions|next\s*steps|to-?dos?|follow[- ]?ups?|tasks|owners?)$", re.IGNORECASE
)
STOP_NAMES = frozenset(
    """note notes nb ps p.s action actions agenda summary decision decisions update updates status
    context background question questions answer q a re fw fwd subject from to cc sent date time
    attendees participants location title important warning caution tldr tl;dr outcome outcomes
    result results goal goals risk risks blocker blockers owner owners due deadline pros cons edit
    next steps todo to-do follow-up issue issues problem idea ideas feedback comment comments
    reminder fyi example step""".split()
)


@dataclass
class NoteSegment:
    start: int
    end: int
    speaker: str | None = None
    action: bool = False


@dataclass
class ParsedNotes:
    """What a notes file says, with body offsets ready for a :class:`SourceDocument`."""

    title: str | None = None
    date_value: str | None = None
    attendees: list[Person] = field(default_factory=list)
    body: str = ""
    segments: list[NoteSegment] = field(default_factory=list)


def _lines(text: str) -> list[tuple[int, str]]:
    """(offset, line without its newline) for every line of ``text``."""
    out: list[tuple[int, str]] = []
    pos = 0
    for line in text.split("\n"):
        out.append((pos, line))
        pos += len(line) + 1
    return out


def _header_key(line: str) -> tuple[str, str] | None:
    m = _HEADER.match(line)
    if not m:
        return None
    key = m.group("key").strip().lower()
    value = m.group("value").strip().strip("*").strip()
    if key in _HEADER_KEYS:
        return _HEADER_KEYS[key], value
    if key in _OTHER_HEADER_KEYS:
        return "other", value
    return None


def parse_notes(text: str) -> ParsedNotes:
    """Split ``text`` into header fields and a body, and cut the body into segments."""
    notes = ParsedNotes()
    lines = _lines(text)
    fields: dict[str, str] = {}
    i = 0
    if lines and lines[0][1].strip() == "---":  # YAML-style front matter
        for j in range(1, min(len(lines), 60)):
            if lines[j][1].strip() == "---":
                for _, line in lines[1:j]:
                    if (kv := _header_key(line)) is not None:
                        fields.setdefault(kv[0], kv[1])
                i = j + 1
                break
    while i < len(lines):
        line = lines[i][1]
        if not line.strip():
            i += 1
            continue
        h1 = _H1.match(line)
        if h1 and "title" not in fields and not notes.title:
            notes.title = h1.group("title").strip()
            i += 1
            continue
        kv = _header_key(line)
        if kv is None or (kv[0] in fields and kv[0] != "other"):
            break
        fields[kv[0]] = kv[1]
        i += 1

    if notes.title is None and fields.get("title"):
        notes.title = fields["title"]
    date_value = fields.get("date")
    if fields.get("time"):
        date_value = f"{date_value or ''} {fields['time']}".strip()
    notes.date_value = date_value or None
    notes.attendees = parse_attendees(fields.get("attendees", ""))

    body_start = lines[i][0] if i < len(lines) else len(text)
    notes.body = text[body_start:].rstrip()
    notes.segments = _segment_body(notes.body, Roster(notes.attendees))
    return notes


@dataclass(frozen=True)
class SpokenSegments:
    """A notes body cut into :class:`~followthrough.types.Segment` objects, speakers resolved.

    ``segments`` carry character offsets into the body; ``action_items`` are the indexes of the
    segments that are action items.
    """

    segments: list[Segment]
    action_items: list[int]


def speaker_segments(body: str, roster: Roster) -> SpokenSegments:
    """Cut a notes or transcript ``body`` into segments (the module's rules), each ``Name: text``
    turn attributed to its speaker.

    A speaker who is one of ``roster``'s attendees (full name, a unique first name or an email
    user) is named as the attendee, with their email as ``speaker_email``; anyone else keeps the
    name as written and no email. Every speaker is noted on ``roster`` (see
    :meth:`~connectors.meetings_common.Roster.participants`).
    """
    segments: list[Segment] = []
    actions: list[int] = []
    for seg in _segment_body(body, roster):
        speaker, email = seg.speaker, None
        if speaker:
            person = roster.resolve(speaker)
            if person is not None:
                speaker, email = person.name or speaker, person.email
            roster.note_speaker(speaker)
        if seg.action:
            actions.append(len(segments))
        segments.append(
            Segment(
                speaker=speaker,
                speaker_email=email,
                char_start=seg.start,
                char_end=seg.end,
                text=body[seg.start : seg.end],
            )
        )
    return SpokenSegments(segments=segments, action_items=actions)


def _heading_text(line: str) -> str | None:
    for pattern in (_HEADING, _BOLD_LINE, _LABEL_LINE):
        m = pattern.match(line)
        if m:
            return m.group("text").strip().strip("*_:").strip()
    return None


# Transcription speaker ids ("me013", "fe008", "spk2"): lower case, but a speaker all the same.
_SPEAKER_ID = re.compile(r"[a-z]{1,4}\d{1,4}")


def name_shaped(name: str) -> bool:
    """A speaker label: a capitalized name ("Dana", "Dana Lee") or a transcription id ("me013")."""
    return bool(name) and (name[0].isupper() or _SPEAKER_ID.fullmatch(name) is not None)


def _speaker_match(content: str) -> re.Match[str] | None:
    m = _SPEAKER.match(content)
    if m is None:
        return None
    name = m.group("name")
    if not name_shaped(name) or name.casefold() in STOP_NAMES or name.split()[0].casefold() in STOP_NAMES:
        return None
    return m


def _segment_body(body: str, roster: Roster) -> list[NoteSegment]:
    lines = _lines(body)
    recurring: dict[str, int] = {}
    for _, line in lines:
        if not _BULLET.match(line) and (m := _speaker_match(line)):
            recurring[m.group("name")] = recurring.get(m.group("name"), 0) + 1

    def is_speaker(name: str, on_bullet: bool) -> bool:
        if roster.resolve(name) is not None:
            return True
        return not on_bullet and (not roster.attendees or recurring.get(name, 0) >= 2)

    segments: list[NoteSegment] = []
    open_seg: NoteSegment | None = None  # a segment that following plain lines continue
    open_is_paragraph = False  # paragraphs take any plain line; speaker lines and bullets indented ones
    in_actions = False
    for offset, line in lines:
        stripped = line.strip()
        end = offset + len(line.rstrip())
        if not stripped:
            open_seg = None
            continue
        heading = None if _BULLET.match(line) else _heading_text(line)
        if heading is not None:
            in_actions = bool(_ACTION_HEADING.match(heading))
            open_seg = None
            continue
        bullet = _BULLET.match(line)
        if bullet:
            start = offset + bullet.end()
            content = line[bullet.end() :]
            action = in_actions or bool(bullet.group("box"))
            seg = NoteSegment(start=start, end=end, action=action)
            sm = None if action else _speaker_match(content)
            if sm and is_speaker(sm.group("name"), on_bullet=True):
                seg.speaker, seg.start = sm.group("name"), start + sm.end()
            segments.append(seg)
            open_seg, open_is_paragraph = seg, False
            continue
        lead = len(line) - len(line.lstrip())
        sm = None if in_actions else _speaker_match(line[lead:])
        if sm and is_speaker(sm.group("name"), on_bullet=False):
            seg = NoteSegment(start=offset + lead + sm.end(), end=end, speaker=sm.group("name"))
            segments.append(seg)
            open_seg, open_is_paragraph = seg, False
            continue
        if open_seg is not None and (lead > 0 or open_is_paragraph):
            open_seg.end = end  # a continuation line
            continue
        seg = NoteSegment(start=offset + lead, end=end, action=in_actions)
        segments.append(seg)
        open_seg, open_is_paragraph = seg, not in_actions
    return segments


__all__ = [
    "NoteSegment",
    "ParsedNotes",
    "STOP_NAMES",
    "SpokenSegments",
    "name_shaped",
    "parse_notes",
    "speaker_segments",
]
