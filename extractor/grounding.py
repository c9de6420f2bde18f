"""Grounding: find a model's evidence quote in the source text.

``align_quote(quote, text)`` returns an :class:`~followthrough.types.Evidence`
whose ``char_start``/``char_end`` index ``text`` in Python ``str`` characters
(code points), so ``text[start:end]`` is the quoted span for accented Latin,
CJK, emoji and any other script. Three tiers, first hit wins:

1. **exact** — the quote occurs verbatim;
2. **normalized** — equal after folding case, whitespace runs, accents
   (NFKD, combining marks dropped), typographic quotes, dashes and ellipses;
3. **fuzzy** — the best window of the normalized text whose similarity
   (rapidfuzz Indel ratio) with the normalized quote is at least
   ``threshold`` (0.85 by default); short quotes never match fuzzily.

The returned ``quote`` is always the source span, never the model's words, so
stored evidence is verbatim. A tier-2/3 match is reported as ``fuzzy``; no
match gives ``alignment=none`` with no offsets, and such an item must never be
stored as a plain open commitment.
"""

from __future__ import annotations

import bisect
import math
import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from types import ModuleType

from followthrough.types import AlignmentStatus, Evidence

__all__ = ["Alignment", "Aligner", "align_quote", "DEFAULT_FUZZY_THRESHOLD"]

DEFAULT_FUZZY_THRESHOLD = 0.85
MIN_FUZZY_CHARS = 15
_MAX_FUZZY_PIECE = 400
"""Folded characters of a quote located in one piece; a longer quote is located by its head and tail."""
_MAX_WINDOWS = 2_500
"""Windows a fuzzy hit is refined over, at most (each compared with the whole quote): without a bound,
a quote of n characters tries some n² windows of n characters."""

_FOLD = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u2032": "'",
    "`": "'",
    "\u00b4": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u201f": '"',
    "\u00ab": '"',
    "\u00bb": '"',
    "\u2033": '"',
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2015": "-",
    "\u2212": "-",
    "\u00ad": "",  # soft hyphen
    "\u200b": "",  # zero-width space
    "\ufeff": "",
}
_STRIP_EDGES = " \t\r\n\"'\u2018\u2019\u201c\u201d\u00ab\u00bb.\u2026>"
_EDGE_PUNCT = frozenset(".,;:!?。，、！？")
# The white space before an ellipsis is read from where its run starts, whole (``\s*`` alone rereads a
# long run from each of its characters): a match ends after white space, so no match starts inside a run.
_ELLIPSIS = re.compile(r"(?:(?<!\s)\s++)?(?:\.\.\.|\u2026|\[\.\.\.\])\s*")


@lru_cache(maxsize=8192)
def _fold_char(c: str) -> str:
    if c.isspace():
        return " "
    mapped = _FOLD.get(c)
    if mapped is not None:
        return mapped
    decomposed = unicodedata.normalize("NFKD", c)
    kept = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return kept.casefold()


def _normalize(text: str) -> tuple[str, list[int]]:
    """Fold ``text``; return the folded string and, per folded char, its source index."""
    out: list[str] = []
    index: list[int] = []
    prev_space = True  # drops leading whitespace
    for i, c in enumerate(text):
        folded = _fold_char(c)
        for ch in folded:
            if ch == " ":
                if prev_space:
                    continue
                prev_space = True
            else:
                prev_space = False
            out.append(ch)
            index.append(i)
    while out and out[-1] == " ":
        out.pop()
        index.pop()
    return "".join(out), index


def _fold(text: str) -> str:
    return _normalize(text)[0]


@dataclass(frozen=True)
class Alignment:
    """Where a quote was found and how: ``method`` is exact, normalized, fuzzy or none."""

    method: str
    char_start: int | None
    char_end: int | None
    score: float

    @property
    def status(self) -> AlignmentStatus:
        if self.method == "exact":
            return AlignmentStatus.EXACT
        if self.method == "none":
            return AlignmentStatus.NONE
        return AlignmentStatus.FUZZY


_NONE = Alignment("none", None, None, 0.0)


class Aligner:
    """Aligns many quotes against one source text (the folded text is built once)."""

    def __init__(self, text: str, *, threshold: float = DEFAULT_FUZZY_THRESHOLD) -> None:
        self.text = text
        self.threshold = threshold
        self._folded: tuple[str, list[int]] | None = None

    @property
    def folded(self) -> tuple[str, list[int]]:
        if self._folded is None:
            self._folded = _normalize(self.text)
        return self._folded

    # -- public -----------------------------------------------------------------
    def evidence(self, quote: str, within: tuple[int, int] | None = None) -> Evidence:
        """An :class:`Evidence` for ``quote``; its ``quote`` is the source span when found."""
        a = self.align(quote, within)
        if a.char_start is None or a.char_end is None:
            return Evidence(quote=quote, alignment=AlignmentStatus.NONE)
        return Evidence(
            quote=self.text[a.char_start : a.char_end],
            char_start=a.char_start,
            char_end=a.char_end,
            alignment=a.status,
        )

    def align(self, quote: str, within: tuple[int, int] | None = None) -> Alignment:
        """Find ``quote``; occurrences inside ``within`` (a char range) are preferred."""
        if not quote or not quote.strip():
            return _NONE
        found = self._exact(quote, within)
        if found:
            return found
        trimmed = quote.strip(_STRIP_EDGES)
        if trimmed and trimmed != quote:
            found = self._exact(trimmed, within)
            if found:
                return found
        parts = [p for p in _ELLIPSIS.split(trimmed) if p.strip()]
        if len(parts) > 1:
            found = self._elided(parts, within)
            if found:
                return found
        return self._normalized(trimmed or quote, within) or self._fuzzy(trimmed or quote, within) or _NONE

    # -- tiers ------------------------------------------------------------------
    def _exact(self, quote: str, within: tuple[int, int] | None) -> Alignment | None:
        if within is not None:
            pos = self.text.find(quote, within[0], within[1] + len(quote))
            if pos != -1:
                return Alignment("exact", pos, pos + len(quote), 1.0)
        pos = self.text.find(quote)
        if pos == -1:
            return None
        return Alignment("exact", pos, pos + len(quote), 1.0)

    def _span(self, fstart: int, fend: int) -> tuple[int, int]:
        """Source span of folded range ``[fstart, fend)``, keeping trailing combining marks."""
        _, index = self.folded
        start = index[fstart]
        end = index[fend - 1] + 1
        while end < len(self.text) and unicodedata.combining(self.text[end]):
            end += 1
        return start, end

    def _folded_range(self, within: tuple[int, int] | None) -> tuple[int, int]:
        folded, index = self.folded
        if within is None:
            return 0, len(folded)
        return bisect.bisect_left(index, within[0]), bisect.bisect_left(index, within[1])

    def _normalized(self, quote: str, within: tuple[int, int] | None) -> Alignment | None:
        folded, _ = self.folded
        q = _fold(quote)
        if not q:
            return None
        pos = -1
        if within is not None:
            lo, hi = self._folded_range(within)
            pos = folded.find(q, lo, hi + len(q))
        if pos == -1:
            pos = folded.find(q)
        if pos == -1:
            return None
        start, end = self._span(pos, pos + len(q))
        return Alignment("normalized", start, end, 1.0)

    def _elided(self, parts: list[str], within: tuple[int, int] | None) -> Alignment | None:
        """A quote with ``...`` in it: the span from its first part to its last."""
        first = self._exact(parts[0], within) or self._normalized(parts[0], within)
        if first is None or first.char_end is None:
            return None
        last = self._exact(parts[-1], (first.char_end, len(self.text))) or self._normalized(
            parts[-1], (first.char_end, len(self.text))
        )
        if last is None or last.char_start is None or last.char_start < first.char_end:
            return None
        total = sum(len(p) for p in parts)
        if last.char_end is None or last.char_end - (first.char_start or 0) > 3 * total + 40:
            return None
        return Alignment("normalized", first.char_start, last.char_end, 0.99)

    def _fuzzy(self, quote: str, within: tuple[int, int] | None) -> Alignment | None:
        folded, _ = self.folded
        q = _fold(quote)
        if len(q) < MIN_FUZZY_CHARS or not folded:
            return None
        regions = [self._folded_range(within)] if within is not None else []
        regions.append((0, len(folded)))
        best = self._locate(q, regions) if len(q) <= _MAX_FUZZY_PIECE else self._locate_long(q, regions)
        if best is None or best[0] < self.threshold:
            return None
        start, end = self._span(best[1], best[2])
        return Alignment("fuzzy", start, end, best[0])

    def _locate(self, q: str, regions: list[tuple[int, int]]) -> tuple[float, int, int] | None:
        """The best (ratio, start, end) window of the folded text for the folded ``q``, tried in each of
        ``regions`` (folded ranges) in turn until one reaches the threshold."""
        folded, _ = self.folded
        best: tuple[float, int, int] | None = None
        for lo, hi in regions:
            pad = len(q) // 2
            lo, hi = max(0, lo - pad), min(len(folded), hi + pad)
            hay = folded[lo:hi]
            if not hay:
                continue
            hint = _fuzz().partial_ratio_alignment(q, hay, score_cutoff=self.threshold * 100 * 0.8)
            if hint is None:
                continue
            cand = self._refine(q, lo + hint.dest_start, lo + hint.dest_end)
            if cand and (best is None or cand[0] > best[0]):
                best = cand
            if best and best[0] >= self.threshold:
                break
        return best

    def _locate_long(self, q: str, regions: list[tuple[int, int]]) -> tuple[float, int, int] | None:
        """:meth:`_locate` for a quote longer than :data:`_MAX_FUZZY_PIECE`: its head and its tail are
        located, and the span from one to the other is the window, compared with the whole quote.

        Locating the whole quote would cost its length squared at each place of the text.
        """
        folded, _ = self.folded
        piece = _MAX_FUZZY_PIECE // 2
        head = self._locate(q[:piece], regions)
        if head is None or head[0] < self.threshold:
            return None
        # The tail ends where a window of 0.6 to 1.6 times the quote's length from the head would.
        lo, hi = head[1] + int(0.6 * len(q)) - piece, min(len(folded), head[1] + int(1.6 * len(q)))
        tail = self._locate(q[-piece:], [(max(head[2], lo), hi)])
        if tail is None or tail[0] < self.threshold or not 0.6 * len(q) <= tail[2] - head[1] <= 1.6 * len(q):
            return None
        return _fuzz().ratio(q, folded[head[1] : tail[2]]) / 100.0, head[1], tail[2]

    def _refine(self, q: str, hs: int, he: int) -> tuple[float, int, int] | None:
        """Best (ratio, start, end) near a partial-ratio hit, with ends on word boundaries."""
        folded, _ = self.folded
        n = len(q)
        slack = max(6, n // 2)
        lo, hi = max(0, hs - slack), min(len(folded), he + slack)
        spaced = " " in folded[lo:hi]  # scripts written without spaces (CJK) snap to any char
        starts = [i for i in range(lo, min(hs + slack, hi)) if not spaced or i == 0 or folded[i - 1] == " "]
        ends = [
            j
            for j in range(max(he - slack, lo + 1), hi + 1)
            if not spaced or j == len(folded) or folded[j] == " "
        ]
        if not starts:
            starts = [hs]
        if not ends:
            ends = [he]
        if len(starts) * len(ends) > _MAX_WINDOWS:
            # A long quote (or text without spaces) would try every pair: keep the edges nearest the hit.
            keep = math.isqrt(_MAX_WINDOWS)
            starts = sorted(sorted(starts, key=lambda i: abs(i - hs))[:keep])
            ends = sorted(sorted(ends, key=lambda j: abs(j - he))[:keep])
        best: tuple[float, int, int] | None = None
        fuzz = _fuzz()
        for i in starts:
            for j in ends:
                if j - i < n * 0.6 or j - i > n * 1.6:
                    continue
                r = fuzz.ratio(q, folded[i:j]) / 100.0
                if best is None or r > best[0]:
                    best = (r, i, j)
        if best is not None:
            # Trim stray spaces at the edges of the chosen window.
            r, i, j = best
            while i < j and (folded[i] == " " or (folded[i] in _EDGE_PUNCT and q[0] != folded[i])):
                i += 1
            while j > i and (
                folded[j - 1] == " " or (folded[j - 1] in _EDGE_PUNCT and q[-1] != folded[j - 1])
            ):
                j -= 1
            best = (r, i, j)
        return best


def align_quote(
    quote: str,
    text: str,
    *,
    threshold: float = DEFAULT_FUZZY_THRESHOLD,
    within: tuple[int, int] | None = None,
) -> Evidence:
    """Align one ``quote`` to ``text``; see the module docstring."""
    return Aligner(text, threshold=threshold).evidence(quote, within)


@cache
def _fuzz() -> ModuleType:
    """rapidfuzz's ``fuzz`` module, imported on the first fuzzy search: only quotes not found as
    written or normalized need it, and a command that grounds nothing (a re-run) never loads it."""
    from rapidfuzz import fuzz  # noqa: PLC0415

    return fuzz
