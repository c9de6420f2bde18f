"""Noticing that a later message delivers a commitment ("Attached is the revised pricing").

Pure functions, no database. A sentence fulfils an open commitment or request when

- it comes after the promise: later in the same document, or in a later
  document of the same thread;
- it is said by our side: the commitment's owner, or a participant whose email
  is internal (a segment's speaker, else the document's sender);
- it reads as a delivery in the past or present ("attached", "here is",
  "I've sent", "is now extended", "done") and not as a promise, a question or a
  refusal ("will", "can you", "not yet");
- it shares at least two content words with the action (one when the action
  has only one), compared by a crude stem ("extended" ~ "extend").

The rule is deliberately narrow: a wrong "done" hides a promise, which is worse
than a missed one, and a person can reopen anything it closes.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from followthrough.types import is_internal

_CUE = re.compile(
    r"\b(attached|attaching|here is|here's|here are|please find|enclosed|i've sent|i have sent|we've sent|"
    r"we have sent|just sent|sent (?:it|them|you|over|across)|is now|are now|now (?:live|extended|enabled|"
    r"available|ready|done|set up)|has been|have been|all set|went out|is live|done|completed|shared|"
    r"uploaded|delivered)\b",
    re.IGNORECASE,
)
_NOT_DONE = re.compile(
    r"(\bwill\b|'ll\b|\bgoing to\b|\bplan to\b|\bshould\b|\bcould you\b|\bcan you\b|\bwould you\b|\bnot\b|"
    r"n't\b|\bnever\b|\bstill\b|\byet\b|\bif\b|\?)",
    re.IGNORECASE,
)
_STOP = frozenset(
    """a an the to for with by on in of and or at from as into about this that these those it its
    i me my we us our you your they them their he she his her let make sure put together get give
    send sending sent share sharing provide follow up over back out have has be is are was were can could
    would will shall please just now today tomorrow week next end soon asap monday tuesday wednesday
    thursday friday saturday sunday eod eow morning afternoon all any some also more quick short
    new update updated do doing done""".split()
)


def stem(word: str) -> str:
    """A crude stem, alike on both sides: ``"extended"`` ~ ``"extend"``, ``"tags"`` ~ ``"tag"``."""
    w = word.lower()
    for suffix in ("ing", "ed", "es"):
        if len(w) > len(suffix) + 3 and w.endswith(suffix):
            return w[: -len(suffix)]
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


def keywords(text: str) -> set[str]:
    """Content words of an action, stemmed."""
    return {stem(w) for w in re.findall(r"[A-Za-z][A-Za-z0-9-]+|\d+", text) if w.lower() not in _STOP}


LATER_WINDOW_CHARS = 20_000
"""How much text after an open item the passes read in each document: the rest of the item's own
document, and each later document of its thread, from its start. About twenty minutes of a meeting
(a transcript runs near 1,000 characters a minute), a long email several times over: a delivery or an
answer comes within minutes of a promise or a question, and the passes cost O(items x this) however
long the meeting."""
LATER_DOCUMENTS = 50
"""How many later documents of an item's thread the passes read (the next ones in time): a thread of
thousands of messages costs each item no more than this."""


@dataclass(frozen=True)
class Sentence:
    """One sentence: its text (stripped), its offset in its document, and its speaker where known.

    :attr:`words` and :attr:`delivery` are computed once per sentence, however many items look at it.
    """

    text: str
    start: int
    speaker: str | None = None
    speaker_email: str | None = None

    @cached_property
    def words(self) -> frozenset[str]:
        """:func:`keywords` of the sentence."""
        return frozenset(keywords(self.text))

    @cached_property
    def delivery(self) -> bool:
        """Whether it reads as a delivery: a cue ("attached", "here is"), and not a promise, a question or
        a refusal."""
        return bool(_CUE.search(self.text)) and not _NOT_DONE.search(self.text)


@dataclass(frozen=True)
class LaterText:
    """One document (or the rest of the promise's own document) to search."""

    message_id: str
    sentences: Sequence[Sentence]
    sender: str | None = None
    sender_email: str | None = None


@dataclass(frozen=True)
class Fulfilment:
    message_id: str
    quote: str
    char_start: int


Speaker = tuple[int, int, str | None, str | None]  # char_start, char_end, name, email


_SENTENCE = re.compile(r"(?:[^.!?\n]|[.!?]++(?=[^\s.!?]))+[.!?]*|[.!?]+")
"""A sentence ends at ``.``/``!``/``?`` before a space, or at a line break ("SAML 2.0" goes on). The
last branch takes a run of ``.``/``!``/``?`` that starts no sentence ("...... " ) in one step, so that
a long run costs linear time; such a match is no sentence (:func:`_no_sentence`)."""


def _no_sentence(m: re.Match[str]) -> bool:
    """A match of :data:`_SENTENCE`'s last branch: only sentence ends."""
    return m.group().strip(".!?") == ""


def sentences(text: str, start: int = 0, speakers: Sequence[Speaker] = ()) -> list[Sentence]:
    """Split ``text[start:]`` into sentences with their offsets and, where known, their speaker.

    Where ``speakers`` gives spans, a sentence is cut at their edges and whatever lies
    outside every span (a transcript's ``Name:`` label) is left out. Linear in the text and the
    number of spans (spans ordered by start, as connectors give them; overlapping ones cost more).
    """
    return DocumentSentences(text, speakers, start).after(start)


class DocumentSentences:
    """A document split into sentences once (:func:`sentences`), for many items to read from.

    ``after(offset, limit)`` gives what :func:`sentences` gives from ``offset`` (a sentence that
    ``offset`` falls inside is cut there), up to ``limit`` characters on: O(log n) to find, then
    the sentences of that window. ``stop``: split only the sentences that start before this offset
    (what ``after(start, stop - start)`` can give).
    """

    def __init__(
        self, text: str, speakers: Sequence[Speaker] = (), start: int = 0, *, stop: int | None = None
    ) -> None:
        self.text = text
        self._speakers = sorted(speakers, key=lambda g: g[0])
        self._spans: list[tuple[int, int]] = []  # each sentence match: start, end
        self._lo: list[int] = []  # each match's first speaker span that may overlap it
        self._first: list[int] = []  # index into ``_sentences`` of each match's first sentence
        self._sentences: list[Sentence] = []
        self._starts: list[int] = []  # each sentence's start, for bisect
        lo = 0
        for m in _SENTENCE.finditer(text, start):
            if stop is not None and m.start() >= stop:
                break
            if _no_sentence(m):
                continue
            while lo < len(self._speakers) and self._speakers[lo][1] <= m.start():
                lo += 1
            self._spans.append((m.start(), m.end()))
            self._lo.append(lo)
            self._first.append(len(self._sentences))
            for s in self._split(m.start(), m.end(), lo):
                self._sentences.append(s)
                self._starts.append(s.start)

    def _split(self, a: int, b: int, lo: int) -> list[Sentence]:
        """The sentences of ``text[a:b]`` cut at the speaker spans from index ``lo`` on."""
        parts: list[Speaker] = []
        for k in range(lo, len(self._speakers)):
            g = self._speakers[k]
            if g[0] >= b:
                break
            if g[1] > a:
                parts.append((max(a, g[0]), min(b, g[1]), g[2], g[3]))
        out = []
        for x, y, name, email in parts or [(a, b, None, None)]:
            raw = self.text[x:y]
            s = raw.strip()
            if len(s) >= 4:
                out.append(Sentence(s, x + len(raw) - len(raw.lstrip()), name, email))
        return out

    def after(self, offset: int, limit: int | None = None) -> list[Sentence]:
        """The sentences from ``offset`` on that start before ``offset + limit`` (``None``: to the end)."""
        i = bisect.bisect_right(self._spans, (offset, len(self.text) + 1))  # first match starting after
        head: list[Sentence] = []
        if i and self._spans[i - 1][1] > offset:  # ``offset`` falls inside the match before
            a, b = self._spans[i - 1]
            if offset <= a:
                head = self._sentences[self._first[i - 1] : self._first[i] if i < len(self._first) else None]
            else:
                for m in _SENTENCE.finditer(self.text, offset, b):
                    if not _no_sentence(m):
                        head += self._split(m.start(), m.end(), self._lo[i - 1])
        first = self._first[i] if i < len(self._first) else len(self._sentences)
        end = len(self._sentences)
        if limit is not None:
            end = bisect.bisect_left(self._starts, offset + limit, lo=first)
            head = [s for s in head if s.start < offset + limit]
        return head + self._sentences[first:end]


def find(
    action: str,
    owner: str | None,
    owner_email: str | None,
    later: Sequence[LaterText],
    internal_domains: set[str] | frozenset[str],
) -> Fulfilment | None:
    """The first later sentence that delivers ``action``, or ``None``."""
    want = keywords(action)
    if not want:
        return None
    need = min(2, len(want))
    for doc in later:
        for sent in doc.sentences:
            if not sent.delivery or len(want & sent.words) < need:
                continue
            if not by_us(sent, doc, owner, owner_email, internal_domains):
                continue
            return Fulfilment(doc.message_id, sent.text, sent.start)
    return None


def by_us(
    sent: Sentence,
    doc: LaterText,
    owner: str | None,
    owner_email: str | None,
    internal: set[str] | frozenset[str],
) -> bool:
    """Whether ``sent`` is said by our side: by ``owner`` (email, else name), else by an internal email.

    The sentence's speaker decides where known, else the document's sender.
    """
    for name, email in ((sent.speaker, sent.speaker_email), (doc.sender, doc.sender_email)):
        if name is None and email is None:
            continue
        if email and owner_email and email.lower() == owner_email.lower():
            return True
        if name and owner and name.strip().lower() == owner.strip().lower():
            return True
        return is_internal(email, internal)
    return False
