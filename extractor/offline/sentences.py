"""Sentence segmentation with exact character offsets.

``split_sentences(text)`` returns ``(start, end)`` spans such that
``text[start:end]`` is one sentence with surrounding whitespace trimmed. Offsets
count Python ``str`` characters, so they are valid for any script.

Rules (no model, linear time):

* a blank line always ends a sentence;
* a single newline ends a sentence unless the line looks hard-wrapped: it does
  not end in terminal punctuation, is at least 30 characters long, and the next
  line continues it (starts in lower case, or the line is 55-80 characters
  long, the width mail clients wrap at). Bullets, quote markers and headings
  always start a new sentence;
* inside a line, ``. ! ?`` (and ``。！？``) followed by white space end a sentence,
  except after common abbreviations, initials and inside numbers; ``?`` and
  ``!`` end a sentence even before a lower-case word;
* a sentence longer than :data:`~followthrough.limits.MAX_SENTENCE_CHARS` (a pasted
  log, a line with no punctuation) is cut into pieces of at most that size, at
  white space where there is some, so the work on each sentence is bounded.
"""

from __future__ import annotations

import re

from followthrough.limits import MAX_SENTENCE_CHARS

_TERMINAL = ".!?:;。！？…"
_BULLET = re.compile(r"^\s*(?:[-*•·▪‣–—+]|\d{1,2}[.)]|[a-zA-Z][.)]|\[[ xX]?\])\s")
_HEADING = re.compile(r"^\s*(?:#{1,6}\s|[A-Z][A-Za-z ]{0,40}:\s*$)")

_ABBREV = frozenset(
    """mr mrs ms dr prof sr jr st vs etc e.g i.e eg ie cf approx inc ltd co corp dept est fig no nos
    vol jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu thur thurs fri sat sun
    a.m p.m am pm u.s u.k al ca ph.d phd mt ft pp sec min max hr hrs""".split()
)

# Candidate boundary: terminal punctuation (optionally closed by quotes/brackets) then space.
# Never tried inside a run after an ASCII mark (``(?<![.!?…])``): a match never ends right after one, so
# the run's first mark was already tried, and with the same outcome; without it, "?????...x" is quadratic.
_BOUNDARY = re.compile(r"(?<![.!?…])([.!?。！？…]+)([\"'”’)\]]*)(\s+|(?<=[。！？])(?=\S))")


def _line_spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    pos = 0
    for line in text.splitlines(keepends=True):
        end = pos + len(line.rstrip("\r\n"))
        spans.append((pos, end))
        pos += len(line)
    return spans


# The last token holds a link or an address. Tried only where a token starts, so each token is read once
# (``(?:https?://|www\.|@)\S+$`` alone rescans a long token from each of its "@").
_ENDS_WITH_LINK = re.compile(r"(?<!\S)(?=\S*?(?:https?://|www\.|@)\S)\S+$")


def _is_wrapped(line: str, nxt: str) -> bool:
    """True when ``line`` continues on the next line (a hard-wrapped paragraph)."""
    s = line.rstrip()
    n = nxt.lstrip()
    if not s or not n:
        return False
    if s[-1] in _TERMINAL or s.endswith(("?)", ".)", '."', "!)")):
        return False
    if _BULLET.match(nxt) or n.startswith(">") or _HEADING.match(nxt):
        return False
    if _ENDS_WITH_LINK.search(s):
        return False  # a line that ends with a link or an address
    length = len(s)
    if length < 30:
        return False
    first = n[0]
    if first.islower() or first in "([\"'“":
        return True
    return 55 <= length <= 80


def _blocks(text: str) -> list[tuple[int, int]]:
    """Lines joined into blocks that may hold several sentences."""
    lines = _line_spans(text)
    blocks: list[tuple[int, int]] = []
    cur: tuple[int, int] | None = None
    prev_text = ""
    for start, end in lines:
        line = text[start:end]
        if not line.strip():
            if cur is not None:
                blocks.append(cur)
                cur = None
            prev_text = ""
            continue
        if cur is not None and _is_wrapped(prev_text, line):
            cur = (cur[0], end)
        else:
            if cur is not None:
                blocks.append(cur)
            cur = (start, end)
        prev_text = line
    if cur is not None:
        blocks.append(cur)
    return blocks


def _abbrev_before(block: str, idx: int) -> bool:
    """True when the period at ``idx`` closes an abbreviation or an initial."""
    j = idx
    while j > 0 and not block[j - 1].isspace() and block[j - 1] not in "([\"'“":
        j -= 1
    word = block[j:idx].lower()
    if not word:
        return False
    if word in _ABBREV:
        return True
    if len(word) == 1 and word.isalpha():
        return True  # an initial: "J. Smith"
    return "." in word and len(word) <= 6 and word.replace(".", "").isalpha()  # "e.g", "u.s"


def _split_block(text: str, start: int, end: int, out: list[tuple[int, int]]) -> None:
    block = text[start:end]
    seg_start = 0
    for m in _BOUNDARY.finditer(block):
        punct = m.group(1)
        after = m.end()
        nxt = block[after : after + 1]
        if not nxt:
            continue
        if punct == ".":
            if _abbrev_before(block, m.start(1)):
                continue
            if not (nxt.isupper() or nxt.isdigit() or nxt in "\"'“‘([-*•" or not nxt.isalpha()):
                continue
        elif punct[-1] in ".…" and nxt.islower():
            continue
        cut = m.start(3)
        _emit(block, start, seg_start, cut, out)
        seg_start = after
    _emit(block, start, seg_start, len(block), out)


def _emit(block: str, offset: int, a: int, b: int, out: list[tuple[int, int]]) -> None:
    """Append ``block[a:b]`` trimmed, in pieces of at most :data:`MAX_SENTENCE_CHARS` when longer."""
    while True:
        while a < b and block[a].isspace():
            a += 1
        end = b
        if end - a > MAX_SENTENCE_CHARS:
            # Cut at the last white space of the piece's second half, else (one long token) at the size.
            space = _last_space(block, a + MAX_SENTENCE_CHARS // 2, a + MAX_SENTENCE_CHARS)
            end = space if space > a else a + MAX_SENTENCE_CHARS
        cut = end
        while end > a and block[end - 1].isspace():
            end -= 1
        if a < end:
            out.append((offset + a, offset + end))
        if cut >= b:
            return
        a = cut


def _last_space(block: str, lo: int, hi: int) -> int:
    """The offset of the last common white space character (space, tab, newline, no-break or
    ideographic space) in ``block[lo:hi]``, or -1."""
    return max(block.rfind(c, lo, hi) for c in " \t\n\xa0\u3000")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans ``(start, end)`` over ``text``; ``text[start:end]`` is trimmed."""
    out: list[tuple[int, int]] = []
    for start, end in _blocks(text):
        _split_block(text, start, end, out)
    return out


def sentences(text: str) -> list[str]:
    """The sentences themselves (a convenience for tests and the pre-filter)."""
    return [text[a:b] for a, b in split_sentences(text)]
