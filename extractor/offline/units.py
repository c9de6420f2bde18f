"""Sentence units of a document: what to read, who said it, which lines are action items.

Quoted lines (``>``), headings and bare ``Name:`` labels are skipped. Reply
history and signatures are already off ``doc.text``: the email connector's one
splitter (:func:`connectors.mail.quotes.split_reply`) takes them off for files,
raw mail and JSON documents alike, so there is no second rule here. Lines
under an "Action items" / "Next steps" heading, and lines that start with
"Action item:", are marked as action items. With speaker segments, each segment
is split on its own so a sentence never spans two speakers.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass

from extractor.offline.actions import AI_INLINE, BULLET_LINE
from extractor.offline.cues import ASSIGNED
from extractor.offline.sentences import split_sentences
from extractor.people import People
from followthrough.types import Participant, SourceDocument

# Every pattern here is linear: whitespace and marker runs next to each other are possessive (``*+``),
# so a long run is read once, not once per way of splitting it.
_AI_HEADING = re.compile(
    r"^\s*+(?:#{1,6}\s*+)?\**+\s*+(?:action\s+items?|next\s+steps?|follow[- ]?ups?|to-?dos?|tasks"
    r"|owners?)(?:\s+(?:on|for|from)\s+(?:our|your|their|the|each)\s+(?:side|end|team|part)s?)?"
    r"\s*+\**+\s*+:?\s*+$",
    re.I,
)
_HEADING_LINE = re.compile(r"^\s*(?:#{1,6}\s+\S|[A-Z][\w /&-]{0,40}:\s*$)")
# An address's parts are bounded as real ones are (local part <= 64, domain <= 255): an unbounded
# ``[\w.+-]+@`` is retried from every character of a long token, which is quadratic.
_URL = re.compile(r"(?:https?://|www\.)\S+|[\w.+-]{1,64}@[\w-]{1,255}\.[\w.-]{1,255}")
_SPACE = re.compile(r"\s+")
_NOT_LETTER = re.compile(r"[\W\d_]+")
_TICKED = re.compile(r"\[[xX✓✔]\]")  # three characters: two ticks never overlap
_NEWLINE = re.compile(r"\n")
_WORD = re.compile(r"[^\W\d_]{2}")
_LABEL_ONLY = re.compile(r"^\W*[\w .'’-]{1,40}:\s*$|^\W*$")


# The ASCII characters that :data:`_SPACE` and :data:`_NOT_LETTER` take out, to count ASCII text with
# ``bytes.translate`` (one pass in C) rather than two substitutions; derived from the patterns themselves.
_ASCII_SPACE = bytes(c for c in range(128) if _SPACE.match(chr(c)))
_ASCII_NOT_LETTER = bytes(c for c in range(128) if _NOT_LETTER.match(chr(c)))


def _looks_like_code(sentence: str) -> bool:
    """Code, paths, stack traces and tables: fewer than half of the visible characters are letters."""
    text = (
        _URL.sub("link", sentence) if "://" in sentence or "www." in sentence or "@" in sentence else sentence
    )
    if text.isascii():
        raw = text.encode("ascii")
        visible = len(raw.translate(None, _ASCII_SPACE))
        if visible < 12:
            return False
        letters = len(raw.translate(None, _ASCII_NOT_LETTER))
    else:
        visible = len(_SPACE.sub("", text))
        if visible < 12:
            return False
        letters = len(_NOT_LETTER.sub("", text))
    return letters < 0.5 * visible or text.count("/") > 4 or "();" in text or "{" in text


@dataclass
class Unit:
    """One sentence: its span in ``doc.text``, its author, and whether it is an action-item line."""

    start: int
    end: int
    text: str
    author: Participant | None
    action_item: bool
    ticked: bool = False  # a task-list line already checked off ("- [x] ...")


def units(doc: SourceDocument, people: People) -> Iterator[Unit]:
    """The sentences of ``doc`` worth reading, in order."""
    text = doc.text
    # Lines: find where quoted reply begins, and which lines are action items.
    ai_lines: list[tuple[int, int]] = []
    skip_lines: list[tuple[int, int]] = []
    in_ai = False
    pos = 0
    for raw in text.splitlines(keepends=True):
        line = raw.rstrip("\r\n")
        a, b = pos, pos + len(line)
        pos += len(raw)
        stripped = line.strip()
        if stripped.startswith(">") or stripped.startswith("|"):
            skip_lines.append((a, b))
            continue
        if _AI_HEADING.match(line):
            in_ai = True
            skip_lines.append((a, b))
            continue
        if in_ai:
            if not stripped:
                continue
            if BULLET_LINE.match(line) or (
                not _HEADING_LINE.match(line) and (ai_lines and len(stripped) < 160)
            ):
                ai_lines.append((a, b))
                continue
            in_ai = False
        bullet = BULLET_LINE.match(line)
        if AI_INLINE.match(line) or (bullet and ASSIGNED.match(line[bullet.end() :])):
            ai_lines.append((a, b))  # "Action item: ...", or a bullet that assigns: "- Priya to set up ..."
    # Lines are disjoint and in order: which one holds an offset is a bisection, not a scan of them all.
    skip_starts = [x for x, _ in skip_lines]
    ai_starts = [x for x, _ in ai_lines]
    newlines = [m.start() for m in _NEWLINE.finditer(text)]
    ticks = [m.start() for m in _TICKED.finditer(text)]
    for a, b in _spans(doc):
        if _within(skip_lines, skip_starts, a):
            continue
        sent = text[a:b]
        if _LABEL_ONLY.match(sent) or not _WORD.search(sent):
            continue  # a label, or a bare marker such as a ticked checkbox "[x]"
        if _looks_like_code(sent):
            continue
        lead = BULLET_LINE.match(sent)
        if lead and lead.end() < len(sent):
            a += lead.end()  # the evidence starts at the words, not at the bullet
            sent = text[a:b]
        # A tick between the start of the line and the sentence's first four characters.
        k = bisect_left(newlines, a)
        line_start = newlines[k - 1] + 1 if k else 0
        t = bisect_left(ticks, line_start)
        ticked = t < len(ticks) and ticks[t] + 3 <= min(b, a + 4)
        is_ai = _within(ai_lines, ai_starts, a)
        yield Unit(a, b, sent, people.author_at(a).participant, is_ai, ticked)


def _within(lines: list[tuple[int, int]], starts: list[int], offset: int) -> bool:
    """Whether one of ``lines`` (disjoint, in order; ``starts`` their starts) holds ``offset``."""
    k = bisect_right(starts, offset) - 1
    return k >= 0 and offset < lines[k][1]


def _spans(doc: SourceDocument) -> list[tuple[int, int]]:
    """Sentence spans; with speaker segments, each segment (and each gap) is split on its own."""
    text = doc.text
    if not doc.segments:
        return split_sentences(text)
    regions: list[tuple[int, int]] = []
    pos = 0
    for seg in sorted(doc.segments, key=lambda g: g.char_start):
        if seg.char_start > pos:
            regions.append((pos, seg.char_start))
        regions.append((max(pos, seg.char_start), seg.char_end))
        pos = max(pos, seg.char_end)
    if pos < len(text):
        regions.append((pos, len(text)))
    out: list[tuple[int, int]] = []
    for a, b in regions:
        if a >= b:
            continue
        out.extend((a + x, a + y) for x, y in split_sentences(text[a:b]))
    return out
