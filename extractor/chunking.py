"""Split long documents into token-bounded chunks on natural boundaries.

A chunk is a contiguous span ``doc.text[start:end]`` so that evidence found in
it keeps document offsets. Boundaries are, in order of preference: speaker
segments (meetings, threads), blank lines, line ends, sentence ends, and — for
a single run-on unit larger than a chunk — a cut at a space. Consecutive
chunks overlap by up to ``overlap_tokens`` of whole units, so a promise that
straddles a boundary is seen whole at least once; the backend merges the
duplicates this produces. The thread/meeting header is not part of the chunk:
the backend repeats it with every chunk as context.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from extractor.llm_settings import Chunking
from extractor.token_count import count_tokens
from followthrough.types import SourceDocument

__all__ = ["Chunk", "chunk_document", "chunk_text"]

_PARA = re.compile(r"\n[ \t]*\n\s*")
_LINE = re.compile(r"\n")
_SENT = re.compile(r"(?<=[.!?。！？])[\"'”’)\]]*\s+")


@dataclass(frozen=True)
class Chunk:
    """``text == doc.text[start:end]``, chunk ``index`` (from 0) of ``total``, ``tokens`` long."""

    index: int
    total: int
    start: int
    end: int
    text: str
    tokens: int


def _split(text: str, start: int, end: int, pattern: re.Pattern[str]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    pos = start
    for m in pattern.finditer(text, start, end):
        if m.end() > pos:
            spans.append((pos, m.end()))
            pos = m.end()
    if pos < end:
        spans.append((pos, end))
    return spans


_MAX_CHARS_PER_TOKEN = 16
"""More characters than any text but a long run of one character spends on a token."""


def _hard_split(
    text: str, start: int, end: int, max_tokens: int, count: Callable[[str], int]
) -> list[tuple[int, int]]:
    """Cut an oversized unit at spaces (or anywhere, for unspaced scripts).

    Each cut counts only the stretch ahead that one chunk could hold (at most
    :data:`_MAX_CHARS_PER_TOKEN` characters per token), so the unit is read in linear time.
    """
    spans: list[tuple[int, int]] = []
    pos = start
    while pos < end:
        ahead = min(end, pos + max_tokens * _MAX_CHARS_PER_TOKEN)
        tokens = count(text[pos:ahead])
        if ahead == end and tokens <= max_tokens:
            spans.append((pos, end))
            break
        cut = pos + max(1, min(ahead - pos, int((ahead - pos) * max_tokens / max(tokens, 1) * 0.9)))
        space = text.rfind(" ", pos + 1, cut)
        if space > pos + (cut - pos) // 2:
            cut = space + 1
        spans.append((pos, cut))
        pos = cut
    return spans


_LEVELS = (_PARA, _LINE, _SENT)


def _units(
    text: str,
    start: int,
    end: int,
    max_tokens: int,
    count: Callable[[str], int],
    level: int,
    tokens: int | None = None,
) -> list[tuple[int, int, int]]:
    """(start, end, tokens) units no larger than ``max_tokens`` covering ``text[start:end]``.

    ``tokens``: the span's count when the caller knows it (a span is counted once, whatever the level).
    """
    if tokens is None:
        tokens = count(text[start:end])
    if tokens <= max_tokens:
        return [(start, end, tokens)]
    if level >= len(_LEVELS):
        return [(a, b, count(text[a:b])) for a, b in _hard_split(text, start, end, max_tokens, count)]
    pieces = _split(text, start, end, _LEVELS[level])
    if len(pieces) == 1:
        return _units(text, start, end, max_tokens, count, level + 1, tokens)
    out: list[tuple[int, int, int]] = []
    for a, b in pieces:
        out.extend(_units(text, a, b, max_tokens, count, level + 1))
    return out


def chunk_text(
    text: str,
    *,
    max_tokens: int,
    overlap_tokens: int = 0,
    boundaries: list[int] | None = None,
    count: Callable[[str], int] = count_tokens,
) -> list[Chunk]:
    """Chunks of ``text`` of at most ``max_tokens`` each (``boundaries``: preferred cut points)."""
    if not text:
        return [Chunk(0, 1, 0, 0, "", 0)]
    total_tokens = count(text)
    if total_tokens <= max_tokens:
        return [Chunk(0, 1, 0, len(text), text, total_tokens)]
    cuts = sorted({0, len(text), *(b for b in (boundaries or []) if 0 < b < len(text))})
    units: list[tuple[int, int, int]] = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        units.extend(
            _units(text, a, b, max_tokens, count, 0, total_tokens if (a, b) == (0, len(text)) else None)
        )
    spans: list[tuple[int, int, int]] = []
    i = 0
    while i < len(units):
        j, used = i, 0
        while j < len(units) and (j == i or used + units[j][2] <= max_tokens):
            used += units[j][2]
            j += 1
        spans.append((units[i][0], units[j - 1][1], used))
        if j >= len(units):
            break
        # Step back over whole units for the overlap, always moving forward.
        k, back = j, 0
        while k - 1 > i and back + units[k - 1][2] <= overlap_tokens:
            back += units[k - 1][2]
            k -= 1
        i = k
    n = len(spans)
    return [Chunk(idx, n, a, b, text[a:b], t) for idx, (a, b, t) in enumerate(spans)]


def chunk_document(
    doc: SourceDocument,
    chunking: Chunking | None = None,
    *,
    count: Callable[[str], int] = count_tokens,
) -> list[Chunk]:
    """Chunks of ``doc.text``, cut preferably where one speaker's segment starts.

    Sizes come from ``chunking`` (:class:`~extractor.llm_settings.Chunking`'s defaults when ``None``).
    """
    chunking = chunking or Chunking()
    boundaries = [seg.char_start for seg in doc.segments]
    return chunk_text(
        doc.text,
        max_tokens=chunking.max_tokens,
        overlap_tokens=chunking.overlap_tokens,
        boundaries=boundaries,
        count=count,
    )
