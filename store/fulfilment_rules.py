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

import re
from collections.abc import Sequence
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Sentence:
    text: str
    start: int
    speaker: str | None = None
    speaker_email: str | None = None


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


_SENTENCE = re.compile(r"(?:[^.!?\n]|[.!?]+(?=[^\s.!?]))+[.!?]*")
"""A sentence ends at ``.``/``!``/``?`` before a space, or at a line break ("SAML 2.0" goes on)."""


def sentences(text: str, start: int = 0, speakers: Sequence[Speaker] = ()) -> list[Sentence]:
    """Split ``text[start:]`` into sentences with their offsets and, where known, their speaker.

    Where ``speakers`` gives spans, a sentence is cut at their edges and whatever lies
    outside every span (a transcript's ``Name:`` label) is left out.
    """
    out: list[Sentence] = []
    for m in _SENTENCE.finditer(text, start):
        parts = [
            (max(m.start(), a), min(m.end(), b), n, e)
            for a, b, n, e in speakers
            if a < m.end() and m.start() < b
        ]
        for a, b, name, email in parts or [(m.start(), m.end(), None, None)]:
            raw = text[a:b]
            s = raw.strip()
            if len(s) >= 4:
                out.append(Sentence(s, a + len(raw) - len(raw.lstrip()), name, email))
    return out


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
            if not _CUE.search(sent.text) or _NOT_DONE.search(sent.text):
                continue
            if len(want & keywords(sent.text)) < need:
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
