"""An item's evidence shown in place: its quote highlighted inside the message or transcript turn.

Offsets (``char_start``/``char_end``) count characters of the document's stored text (Python ``str``
indices: right for non-ASCII text). A meeting's transcript can be long, so only the turns
(segments) around the quote are shown; an email or a Slack message is shown whole (up to
:data:`MAX_CHARS`). The template escapes each piece; the highlight is a ``<mark>`` between them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from followthrough.types import SourceDocument
from store import EvidenceView

MAX_CHARS = 6000
"""The most text shown around one quote when the document has no turns to cut it by."""
TURNS_AROUND = 2
"""Transcript turns shown before and after the one that holds the quote."""


@dataclass(frozen=True)
class Passage:
    """A piece of a document with the quote marked: ``before`` + ``<mark>quote</mark>`` + ``after``.
    ``speaker``: who said the turn (meetings, Slack threads), else ``None``. ``mark`` is empty when the
    quote could not be placed (its evidence has no offsets, or they no longer fit the text)."""

    speaker: str | None
    before: str
    mark: str
    after: str
    clipped_start: bool = False
    clipped_end: bool = False


def _span(doc: SourceDocument, ev: EvidenceView) -> tuple[int, int] | None:
    start, end = ev.char_start, ev.char_end
    if start is None or end is None or not 0 <= start <= end <= len(doc.text):
        found = doc.text.find(ev.quote) if ev.quote else -1
        return (found, found + len(ev.quote)) if found >= 0 else None
    return start, end


def passages(doc: SourceDocument, ev: EvidenceView) -> list[Passage]:
    """The turns around the quote (or the text around it), the quote marked in the one that holds it."""
    span = _span(doc, ev)
    text = doc.text
    if span is None:
        return [Passage(None, text[:MAX_CHARS], "", "", clipped_end=len(text) > MAX_CHARS)]
    start, end = span
    segments = [s for s in doc.segments if s.char_end > s.char_start]
    if len(segments) > 1:
        at = next(
            (i for i, s in enumerate(segments) if s.char_start <= start < s.char_end),
            None,
        )
        if at is not None:
            out: list[Passage] = []
            lo, hi = max(0, at - TURNS_AROUND), min(len(segments), at + TURNS_AROUND + 1)
            for i in range(lo, hi):
                s = segments[i]
                if i == at:
                    stop = min(end, s.char_end)
                    out.append(
                        Passage(
                            s.speaker,
                            text[s.char_start : start],
                            text[start:stop],
                            text[stop : s.char_end],
                        )
                    )
                else:
                    out.append(Passage(s.speaker, text[s.char_start : s.char_end], "", ""))
            out[0] = replace(out[0], clipped_start=lo > 0)
            out[-1] = replace(out[-1], clipped_end=hi < len(segments))
            return out
    half = MAX_CHARS // 2
    lo, hi = max(0, start - half), min(len(text), end + half)
    return [
        Passage(
            doc.sender.name if doc.sender and doc.sender.name else None,
            text[lo:start],
            text[start:end],
            text[end:hi],
            clipped_start=lo > 0,
            clipped_end=hi < len(text),
        )
    ]
