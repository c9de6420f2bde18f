"""Linguistic cues for commitments and requests: one declarative table.

Each row of :data:`CUES` is a :class:`Cue`: a name, its group, a one-line
meaning and the test that fires it. The cues come from the linguistics of
speech acts, not from any example sentence:

* **commissive** cues mark a speaker binding themselves (or their side) to a
  future act: first-person subject plus future or volitional modality ("I'll",
  "we will", "let me", "happy to", "I can send"), a team or a named person
  with a future ("Legal will", "Priya will"), subjectless chat replies ("Will
  do"), action-item lines, a passive future of a delivery verb;
* **directive** cues mark an attempt to get the addressee to act or answer:
  questions, "please", modal questions to the reader ("could you"), "let me
  know", indirect asks ("I'd appreciate it if"), imperatives, suggestions
  ("let's", "you should", "why don't you");
* **modifier** cues change what the act means: hedges, self-conditions,
  negation, past tense, states, pleasantries, rhetorical and self-directed
  questions, backchannel, floor management, chases, boilerplate.

Cues are *features*: :mod:`.features` hands every fired cue to the trained
detector, which learns how much each one counts. Only the few named rules in
:mod:`.rules` act on a cue directly. ``analyze(sentence)`` returns the
:class:`Cues` that fired; ``triggered(sentence)`` is the cheap gate that tells
whether any commissive or directive cue can fire at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from extractor.offline.literals import KeyScan, Prefiltered

_I = re.IGNORECASE

CueGroup = Literal["commissive", "directive", "modifier"]


@dataclass(frozen=True, slots=True)
class View:
    """One sentence as the cue tests read it.

    ``text`` is the sentence as written, ``low`` its lower-case form (with
    typographic apostrophes made plain), ``body`` the sentence without a leading
    bullet, greeting, conjunction or vocative ("Dana, ..."). ``memo`` holds what
    the tests work out once per sentence (the cue keys it contains).
    """

    text: str
    low: str
    body: str
    question: bool
    memo: dict[str, frozenset[str]] = field(default_factory=dict, compare=False, repr=False)


class _Gated:
    """A case-insensitive pattern searched only when one of its key substrings occurs.

    Python's ``re`` tries every alternative at every position; most sentences
    hold none of the words a cue needs, so a substring test first keeps the
    extractor fast. Each key must occur in (the lower-cased form of) any text
    the pattern can match.
    """

    __slots__ = ("keys", "keyset", "rx")

    def __init__(self, keys: tuple[str, ...], pattern: str) -> None:
        self.keys = keys
        self.keyset = frozenset(keys)
        self.rx = re.compile(pattern, _I)
        _GATES.append(self)
        _scan.cache_clear()  # a gate made after the first scan is scanned for too

    def finditer(self, v: View) -> Iterator[re.Match[str]]:
        if not self.keyset.isdisjoint(_keys_in(v)):
            yield from self.rx.finditer(v.text)

    def search(self, v: View) -> bool:
        return not self.keyset.isdisjoint(_keys_in(v)) and self.rx.search(v.text) is not None


_GATES: list[_Gated] = []
_FILTERS: list[Prefiltered] = []


def _prefiltered(pattern: str) -> Prefiltered:
    f = Prefiltered(re.compile(pattern, _I))
    _FILTERS.append(f)
    _scan.cache_clear()
    return f


@lru_cache(maxsize=1)
def _scan() -> KeyScan:
    """One scan for the keys of every gated cue and every prefiltered pattern (built on first use)."""
    return KeyScan([k for g in _GATES for k in g.keys] + [k for f in _FILTERS for k in f.keys])


def _keys_in(v: View) -> frozenset[str]:
    """The keys of :func:`_scan` that occur in ``v.low``, worked out once per sentence."""
    found = v.memo.get("keys")
    if found is None:
        found = v.memo["keys"] = _scan().present(v.low)
    return found


def _possible(f: Prefiltered, v: View) -> bool:
    """False only when ``f``'s pattern cannot match ``v.text`` (see :mod:`.literals`)."""
    return not f.keyset or not v.text.isascii() or not f.keyset.isdisjoint(_keys_in(v))


@dataclass(frozen=True, slots=True)
class Cue:
    """One row of the table: ``test(view)`` says whether the cue fires."""

    name: str
    group: CueGroup
    meaning: str
    test: Callable[[View], bool]


# --------------------------------------------------------------------------- helpers


_TEST_GATES: dict[Callable[[View], bool], _Gated | Prefiltered] = {}
"""A cue test → the gate it checks first (a test not here is always run): :func:`analyze` checks the
gate itself, so a cue that cannot fire costs a set test rather than a call."""


def _gated(test: Callable[[View], bool], gate: _Gated | Prefiltered) -> Callable[[View], bool]:
    _TEST_GATES[test] = gate
    return test


def _search(keys: tuple[str, ...], pattern: str) -> Callable[[View], bool]:
    g = _Gated(keys, pattern)
    return _gated(g.search, g)


# The tests below read ``v.text`` or ``v.body`` (a suffix of it): a pattern whose literal prefilter
# (:mod:`.literals`) finds none of its words in ``v.low`` cannot match either, and is not searched.


def _on_body(pattern: str) -> Callable[[View], bool]:
    f = _prefiltered(pattern)
    return _gated(lambda v: _possible(f, v) and f.rx.match(v.body) is not None, f)


def _text_or_body(pattern: str) -> Callable[[View], bool]:
    f = _prefiltered(pattern)
    return _gated(
        lambda v: _possible(f, v) and (f.rx.search(v.text) is not None or f.rx.search(v.body) is not None), f
    )


def _anywhere(pattern: str) -> Callable[[View], bool]:
    f = _prefiltered(pattern)
    return _gated(lambda v: _possible(f, v) and f.rx.search(v.text) is not None, f)


_PURPOSE = re.compile(r"\bso(?:\s+that)?\s+(?:i|we)\s+(?:can|could|will|'ll)\b", _I)
_SUBORDINATE = re.compile(
    r"\b(?:if|unless|whether|when|once|until|whenever|only way|the way|what|how|why|where)\s+(?:i|we)"
    r"(?:'ll|\s+(?:will|are going to|can|could|shall|am going to|plan to|would))\b"
    r"|\b(?:which|who|that)\s+(?:i|we)\s+(?:can|could|will|'ll)\b",
    _I,
)


class _Quotes:
    """Whether a position of one sentence is inside quotes, asked at increasing positions.

    The quote marks before the position are counted once, as the positions advance: counting from the
    start at every match of a cue is quadratic in a long sentence with many matches.
    """

    __slots__ = ("text", "upto", "plain", "opening", "closing")

    def __init__(self, text: str) -> None:
        self.text = text
        self.upto = 0
        self.plain = self.opening = self.closing = 0

    def inside(self, pos: int) -> bool:
        if pos < self.upto:  # asked out of order: count afresh
            self.upto = 0
            self.plain = self.opening = self.closing = 0
        t, lo = self.text, self.upto
        self.plain += t.count('"', lo, pos)
        self.opening += t.count("“", lo, pos)
        self.closing += t.count("”", lo, pos)
        self.upto = pos
        return self.plain % 2 == 1 or self.opening > self.closing


_LEAD_MARKS = " \t,.;:-—"


def _main_clause(keys: tuple[str, ...], pattern: str) -> Callable[[View], bool]:
    """Fires when ``pattern`` matches outside quotes, purpose clauses and conditionals."""
    g = _Gated(keys, pattern)

    def test(v: View) -> bool:
        quotes = _Quotes(v.text)
        content_at: int | None = None  # where the first character that is not a leading mark is
        for m in g.finditer(v):
            a = m.start()
            if quotes.inside(a):
                continue  # reported speech: someone else's words
            lo = max(0, a - 12)
            purpose = _PURPOSE.search(v.text[lo : m.end()])
            if purpose:
                if content_at is None:
                    content_at = len(v.text) - len(v.text.lstrip(_LEAD_MARKS))
                if content_at < lo + purpose.start():
                    continue  # "..., so I can send it": a purpose clause (a leading "So I can" is not)
            if _SUBORDINATE.search(v.text[max(0, a - 20) : m.end() + 4]):
                continue
            return True
        return False

    return _gated(test, g)


# --------------------------------------------------------------------------- the sentence body

_LEAD_PAREN = re.compile(r"^\([^)]{1,40}\)\s*")
_LEAD_CONJ = re.compile(r"^(?:and|then|also|so|or|but|plus|oh|anyway|well|ps|p\.s\.)\b[,:]?\s+", _I)
_GREETING = re.compile(
    r"^\W*(?:hi|hello|hey|dear|thanks|thank you|cheers|all|folks|team|ok|okay|sure|yes|yeah|yep|no|great"
    r"|right|alright|so|um|uh|well|sorry|oh)\b[^\s]*\s*",
    _I,
)
_VOCATIVE = re.compile(r"^\W*(?:@?[A-Z][\w.'-]{1,20}(?:\s+[A-Z][\w.'-]{1,20})?)\s*(?:[,:]|\s[-–—]\s)\s*")
_FIRST_WORD = re.compile(r"^\W*([A-Za-z][a-z'-]*)")


def strip_lead(sentence: str) -> str:
    """The sentence without a leading bullet, greeting, filler or vocative ("Jan - ", "Dana, ")."""
    s = sentence.lstrip(" \t-*•>·#0123456789.)[]xX")
    s = _LEAD_PAREN.sub("", s)
    for _ in range(3):
        s = _LEAD_CONJ.sub("", s)
        m = _VOCATIVE.match(s)
        if m and len(s) - m.end() > 8:
            s = s[m.end() :]
            continue
        m = _GREETING.match(s)
        if (
            m
            and m.end() < len(s)
            and len(s) - m.end() > 8
            and s[: m.end()].rstrip().endswith((",", "!", ":", "-"))
        ):
            s = s[m.end() :]
            continue
        break
    return s


def first_word(sentence: str) -> str:
    m = _FIRST_WORD.match(sentence)
    return m.group(1).lower() if m else ""


_QMARK_END = re.compile(r"\?\s*+[)\"'”]?\s*+(?:[:;)(]-?[)(DP]|:-?\))?$")
_INTERROGATIVE = re.compile(
    r"^(?:is|are|was|were|do|does|did|can|could|would|will|should|has|have|shall|may|isn't|aren't|don't"
    r"|doesn't|didn't|won't|wouldn't|can't|couldn't|shouldn't)\s+"
    r"(?:i|you|we|they|he|she|it|this|that|these|those|there|anyone|anybody|everyone|someone|people|any"
    r"|the)\b"
    r"|^(?:what|where|when|who|whom|whose|how|why|which)(?:'s|\s+(?:is|are|was|were|do|does|did|can|could"
    r"|would|will|should|has|have|about|exactly|else)\b)",
    _I,
)


# Spoken disfluencies: fillers ("uh", "um") and a word said twice ("the the"). Transcripts are full of
# them; written training text is not, so cues and features read the sentence without them.
# The white space before a filler is read from where its run starts (``(?<!\s)``), whole: a match ends
# before white space, never inside a run, so the result is the same and a long run is read once.
_FILLER = re.compile(
    r",?(?:(?<!\s)\s++)?(?<![\w-])(?:uh+|um+|uhm+|umm+|er+|erm+|ah+|hmm+|mm+)(?![-\w'])[,.]?(?=\s|$)", _I
)
_FILLER_AT = re.compile(r"(?<![\w-])(?:uh|um|er|ah|hm|mm)", _I)
"""Where a filler of :data:`_FILLER` can start (its first two letters, not inside a word): a search
for this is a third of the substitution's cost, and most sentences have no such place ("er" is in
"after", never at a word's start in it)."""
_REPEAT = re.compile(r"\b((?:\w+(?:'\w+)?\s+){0,2}\w+(?:'\w+)?)(?:,?\s+\1\b)+", _I)
_SPACES = re.compile(r"[ \t]{2,}")
_WORD = re.compile(r"\w+")
_REPEAT_SPAN = 6
"""Word runs (:data:`_WORD`) a repeated group of :data:`_REPEAT` spans at most: three words of one or two
runs each."""


def _may_repeat(s: str) -> bool:
    """False only when :data:`_REPEAT` cannot match ``s``: its repeat starts with the group's first word
    run, at most :data:`_REPEAT_SPAN` runs after it. Exact for ASCII text; other text is searched."""
    if not s.isascii():
        return True
    last: dict[str, int] = {}
    for i, word in enumerate(_WORD.findall(s.lower())):
        if i - last.get(word, -_REPEAT_SPAN - 1) <= _REPEAT_SPAN:
            return True
        last[word] = i
    return False


def fluent(sentence: str) -> str:
    """``sentence`` as read: typographic apostrophes made plain, spoken fillers and immediate word
    repeats dropped ("I’ll, uh, I’ll send it" -> "I'll send it"). For reading only, never for offsets."""
    s = sentence.replace("’", "'").replace("‘", "'")
    if _FILLER_AT.search(s):
        s = _FILLER.sub("", s)
    if _may_repeat(s) and _REPEAT.search(s):
        s = _REPEAT.sub(r"\1", s)
    return s if s == sentence else _SPACES.sub(" ", s).strip()


@lru_cache(maxsize=8)
def view(sentence: str) -> View:
    """The :class:`View` of one sentence (read without disfluencies).

    The last few are kept: the extractor asks :func:`triggered` and then :func:`analyze` about the
    same clause, and a View is immutable."""
    sentence = fluent(sentence)
    body = strip_lead(sentence)
    stripped = sentence.rstrip()
    question = stripped.endswith("?") or bool(_QMARK_END.search(stripped)) or bool(_INTERROGATIVE.match(body))
    return View(sentence, sentence.lower().replace("’", "'"), body, question)


# --------------------------------------------------------------------------- commissive patterns

_FP = r"\b(?:i|we)"
_FP_FUTURE = (
    (
        "'ll",
        "will",
        "shall",
        "going to",
        "gonna",
        "plan",
        "intend",
        "promise",
        "commit",
        "aim to",
        "make sure",
        "expect to",
    ),
    _FP + r"(?:'ll| will| shall|'m going to| am going to|'re going to| are going to|'m gonna| are gonna"
    r"| plan to| intend to| promise to| commit to| aim to| want to make sure| still plan to"
    r"| will make sure|'ll make sure| am planning to|'m planning to| are planning to|'re planning to"
    r"| plan on| expect to)\b(?! not\b)",
)
_YOU_WILL_HAVE = (
    ("from me", "from us", "committing", "commit to", "promise", "my word", "you have my", "you", "expect"),
    r"\byou(?:'ll| will| shall)\s+(?:have|get|receive|see|hear)\b[^.?!]{0,80}?\bfrom (?:me|us)\b"
    r"|^\W*you(?:'ll| will| should) (?:have|get|receive|see) (?!to\b)"
    r"(?:the|it|them|our|a|an|your|my|this|that)\b"
    r"|^\W*(?:please )?expect (?:the|it|them|our|a|an|my|this|that)\b"
    r"|\b(?:i|we)(?:'m| am|'re| are) committing to\b|\b(?:i|we) (?:promise|commit)\b(?! not\b)"
    r"|\byou have (?:my|our) word\b",
)
_FP_AND_WILL = (
    ("will", "shall"),
    _FP
    + r"\s+(?!was\b|were\b|had\b|did\b)\w+[^.?!;:]{0,60}?\s+and\s+(?:will|shall)\s+(?!be\b|not\b|never\b)\w+",
)
_FP_PROGRESSIVE = (
    (
        "sending",
        "forwarding",
        "checking",
        "looking into",
        "putting together",
        "preparing",
        "setting up",
        "following up",
        "reaching out",
        "scheduling",
        "arranging",
        "drafting",
        "working on",
        "pulling together",
    ),
    _FP + r"(?:'m| am|'re| are)\s+(?:also\s+|now\s+|currently\s+|just\s+)?(?:sending|forwarding|checking"
    r"|looking into|putting together|preparing|setting up|following up|reaching out|scheduling|arranging"
    r"|drafting|working on|pulling together)\b",
)
_FP_OFFER = (
    ("happy", "glad", "willing", "pleased", "prepared", "available"),
    _FP + r"(?:'d| would|'m| am|'re| are| will be|'ll be)\s+(?:more than\s+|very\s+|really\s+)?"
    r"(?:be\s+)?(?:more than\s+|very\s+|really\s+)?(?:happy|glad|willing|pleased|prepared|available)\s+to\b"
    r"(?!\s+(?:hear|see|know|learn|report|say|meet|be|have|announce)\b)"
    r"|^\W*(?:more than\s+)?(?:happy|glad|willing)\s+to\s+(?!hear|see|know|learn|report|say|meet|be\b"
    r"|have\b)\w+",
)
_FP_CAN = (
    ("can", "could"),
    _FP + r"\s+(?:can|could)\s+(?:also\s+|certainly\s+|definitely\s+)?(?:offer|volunteer|take|send|do|check"
    r"|test|provide|set|get|share|draft|write|put|add|arrange|look|follow|prepare|reach|host|hold"
    r"|organi[sz]e|investigate|ask|update|run|bring|change|make|confirm|forward|email|call|schedule|book"
    r"|fix|try|give|cover)\b",
)
_LET_ME = (
    ("let me", "allow me", "let us", "lemme"),
    r"\b(?:let me|lemme|allow me to|let us)\s+(?!know\b)\w+",
)
_TAKE_ON = (
    (
        "will do",
        "on it",
        "with me",
        "consider it",
        "take care",
        "handle",
        "own",
        "volunteer",
        "count me",
        "can do",
        "i got it",
        "i've got it",
        "take that",
        "take this",
    ),
    r"\bwill do\b|\bi'm on it\b|\bi am on it\b|\bleave it with me\b|\bconsider it done\b|\bcan do\b"
    r"|\bi(?:'ll| will| can) (?:take care|handle|own|take (?:that|this|it))\b|\bi volunteer\b|\bcount me in\b"
    r"|\bi(?:'ve)? got (?:it|this|that)\b",
)
_BARE_WILL = (
    r"^(?:(?:ok|okay|sure|yes|yep|yup|yeah|sounds good|great|thanks|np|no problem|absolutely|definitely)"
    r"[,!.]?\s+)?(?:will\s+(?!be\b|not\b)\w+|(?:gonna|going to)\s+(?!be\b)\w+|on it\b|can do\b)"
)
_TEAM = (
    r"^(?:(?:our|my|the)\s+(?:\w+\s+)?(?:team|folks|people|engineers?|group|department|side|office|staff|crew"
    r"|ciso|cfo|cto|ceo|coo|vp|lawyers?|counsel|attorneys?|admins?|administrators?|managers?|boss|assistant"
    r"|developers?|architects?|analysts?|partners?|contacts?|procurement|legal|finance|security|it|ops)"
    r"|^(?:legal|engineering|support|sales|finance|security|product|marketing|procurement|ops|operations"
    r"|devops|qa|hr|accounting|billing|compliance|we all)\b)"
)
# Verbs of mind, attitude or asking: "Our CFO will ask about this", "Legal will want to see it" predict
# what a third party does; they bind no one to deliver anything.
_NOT_DELIVERY = (
    r"ask\b|want\b|need\b|like\b|love\b|hate\b|think\b|wonder\b|say\b|know\b|see\b|expect\b|care\b"
    r"|worry\b|probably\b|likely\b|have questions\b|push back\b|object\b|insist\b|complain\b|notice\b"
)
_TEAM_MODAL = (
    r"(?:\s+(?:also|then|here))?\s*(?:will|'ll|is going to|are going to|is gonna|are gonna|can|shall)\s+"
)
# The team subject of a team promise, for the extractor to keep in the action ("Legal: get back to you").
TEAM_SUBJECT = re.compile(r"^(?P<team>" + _TEAM.removeprefix("^") + r")" + _TEAM_MODAL, _I)
_TEAM_FUTURE = _TEAM + _TEAM_MODAL + r"(?!be\b|not\b|never\b|" + _NOT_DELIVERY + r")\w+"
_NAMED_FUTURE = (
    r"^@?[A-Z][\w'.-]{1,24}(?:\s+[A-Z][\w'.-]{1,24})?"
    r"(?:,?\s+(?:from|on|in) (?:(?:our|my|the) )?\w+(?: team| side)?,?)?"
    r"\s+(?:will|'ll|is going to|is gonna|has agreed to"
    r"|agreed to|offered to|volunteered to|can)\s+(?:also\s+|then\s+)?(?!" + _NOT_DELIVERY + r")[a-z]\w+"
)
_NEED_TO = (
    ("need", "have to", "must", "got to", "gotta"),
    _FP
    + r"\s+(?:still\s+|also\s+|really\s+|probably\s+)?(?:need to|have to|must|have got to|'ve got to|gotta)"
    r"\s+(?!be\b|know\b|have\b|say\b|admit\b|remember\b|think\b|decide\b|figure\b|talk\b|discuss\b)\w+",
)
_PASSIVE_FUTURE = (
    ("will",),
    r"\bwill\s+be\s+(?:sent|posted|circulated|shared|provided|distributed|published|updated|forwarded"
    r"|delivered|uploaded|scheduled|announced|added|included|fixed|emailed|mailed|prepared|drafted)\b",
)
_ACTION_ITEM = r"^\W*(?:action\s*items?|ai|todo|to-do|to do|next steps?|follow[- ]ups?)\s*[:\-–]"

# --------------------------------------------------------------------------- directive patterns

_PLEASE = (("please", "pls", "plz", "kindly"), r"\b(?:please|pls|plz|kindly)\b")
_PLEASE_FORMULA = (
    r"\bplease (?:excuse|forgive|pardon|accept my apolog)|^\W*please do\W*$"
    r"|\bplease (?:find|see) (?:attached|enclosed|below)\b|\bplease do(?: not|n't) hesitate\b"
    r"|\bplease (?:do not|don't) reply\b|\bplease consider the environment\b|\bplease notify the sender\b"
)
_YOU_MODAL = (
    ("you", " u ", "ya", "any", "some", "every", "people", "possible", "chance", "mind"),
    r"\b(?:can|could|would|will|won't|wouldn't|might)\s+(?:you|u|y'all|ya|anyone|anybody|someone"
    r"|somebody|everyone|everybody|people|all of you|one of you|any of you)\b"
    r"|\bare you (?:able|willing|still up|free|available)\b|\bwould it be possible\b"
    r"|\bwould you mind\b|\bdo you mind\b|\bis it possible\b|\bany chance\b",
)
_YOU_SHOULD = (
    ("you", "anyone", "someone", "somebody", "everyone"),
    r"\b(?:you|anyone|someone|somebody|everyone|you guys|y'all)\s+(?:could|should|need to|must|might want to"
    r"|will need to|have to|may want to|ought to)\b",
)
_WE_SHOULD = (
    ("should", "ought", "need to", "have to"),
    r"\bwe\s+(?:should|ought to|need to|have to|must|might want to)\s+(?!be\b|have\b|know\b)\w+",
)
_SUGGEST = (
    (
        "why don't",
        "how about",
        "what about",
        "maybe you",
        "perhaps you",
        "i suggest",
        "i'd suggest",
        "i would suggest",
        "i propose",
        "i recommend",
        "suggest that",
        "it might be",
    ),
    r"\bwhy (?:don't|do not) (?:you|we)\b|\bhow about (?:you|we|if)\b|\bwhat about (?:you|we|if)\b"
    r"|\b(?:maybe|perhaps) you (?:could|should|can|want)\b|\bi(?:'d| would)? (?:suggest|propose|recommend)\b"
    r"|\bit might be (?:good|worth|better|nice|useful)\b",
)
_LET_KNOW = (
    (
        "know",
        "get back",
        "posted",
        "send me",
        "send us",
        "ping",
        "give me",
        "give us",
        "drop me",
        "drop us",
        "shoot me",
        "shoot us",
        "reach out",
        "advise",
        "tell me",
        "tell us",
        "update me",
        "update us",
    ),
    r"\blet (?:me|us|them|him|her|the \w+|everyone|people)\s+know\b|\bget back to (?:me|us)\b"
    r"|\bkeep (?:me|us) posted\b|\bsend (?:me|us)\b|\bping (?:me|us)\b|\bgive (?:me|us) a (?:call|shout"
    r"|ring)\b"
    r"|\b(?:drop|shoot) (?:me|us) (?:a|an) \w+\b|\breach out to (?:me|us)\b|\bplease advise\b"
    r"|\btell (?:me|us)\b|\bupdate (?:me|us)\b",
)
_INDIRECT = (
    (
        "wonder",
        "appreciate",
        "need",
        "want",
        "like",
        "require",
        "welcome",
        "would be",
        "make sure",
        "forget",
        "remember to",
        "be sure to",
        "feel free",
        "looking for",
        "can i",
        "may i",
        "could i",
        "question",
        "not sure",
        "any ",
    ),
    r"\b(?:i|we)\s++(?:(?:was|were|am|are|'m|'re)\s*+)?(?:just\s+)?wonder(?:ing)?\b"
    r"|\b(?:i|we)(?:'d| would| will|'ll)\s+(?:really\s+|greatly\s+)?(?:appreciate|be (?:glad|grateful"
    r"|thankful"
    r"|happy) if)\b"
    r"|\b(?:i|we)(?:\s+(?:need|want|would like)|'d like)\s+(?:you|someone|somebody|one of you"
    r"|everyone)\s+to\b"
    r"|\b(?:i|we)\s+(?:need|require)\s+(?:a|an|the|your|some|more)\b|\bi(?:'d| would) like to (?:get|ask|see"
    r"|have|know|request)\b"
    # "feedback on <topic of up to 40 characters> (is) welcome": the white space around the topic is read
    # whole (``\s+[\w\s'-]{1,40}?\s+`` split a long run every way: cubic); a topic of white space only
    # (three characters or more between "on" and "welcome") still counts, as it did.
    r"|\b(?:comments|feedback|thoughts|input|suggestions|ideas|offers|volunteers|help|questions|reviews"
    r"|corrections|contributions)(?:\s++(?:on|about|to|for|from|of)(?:\s++[\w'-](?:[\w\s'-]{0,38}[\w'-])?"
    r"(?=\s)|(?=\s{3})))?\s++(?:are\s+|is\s+|would be\s+)?(?:always\s+|most\s+|very\s+|greatly\s+"
    r"|much\s+)?(?:welcome|appreciated|wanted|needed|solicited|invited)\b"
    r"|\bit would be (?:great|good|nice|helpful|useful|best) (?:if|to)\b|\bwould be appreciated\b"
    r"|\bmake sure (?:you|to)\b|\bdon't forget\b|\bdo not forget\b|(?:^\W*|\bplease\s+|\byou\s+)remember to\b"
    r"|\bbe sure to\b|\bfeel free to\b|\bi(?:'m| am) (?:looking for|trying to find)\b"
    r"|\b(?:can|may|could) i (?:get|have)\b|^\W*(?:quick|one|a|another) question\b"
    r"|\bi(?:'m| am)\s+(?:just\s+)?not sure (?:what|how|why|where|which|who)\b"
    r"|\bany (?:thoughts|ideas|comments|suggestions|feedback|update|news|objections|volunteers|takers)\b",
)
_LETS = (("let", "shall we"), r"\blet's\b|\blet us (?!know\b)\w+|\bshall we\b")
_ANYONE = r"\b(?:anyone|anybody|someone|somebody|any of you|does any one)\b"
_OFFER_Q = (
    r"^\W*(?:shall|should|can|could|may)\s+(?:i|we)\s+\w+"
    r"|^\W*(?:do|does|would|will)\s+(?:anyone|anybody|you)\s+(?:need|want|like)\b"
)

# Imperatives: a sentence that opens with the base form of an action verb.
ACTION_VERBS = frozenset(
    """add adjust answer approve arrange ask attach book bring call cancel change check circulate clarify
    coordinate collect compile complete confirm connect contact create dig discuss do double-check draft
    drop email e-mail escalate explain file find finalize fix follow forward get give go have help
    include investigate invite let look loop make move note notify organize organise pass phone ping
    pick post prepare present print provide publish pull push put raise reach read reply report
    request reschedule resend respond return review revise run schedule send set setup share ship sign
    sort speak start submit summarize take talk test tell touch try update upload verify walk work
    write think consider decide hold host join come meet suggest remind inform keep use install""".split()
)
ACTION_VERB = "(?:" + "|".join(sorted(ACTION_VERBS)) + ")"  # any of them, as a pattern
_NOT_IMPERATIVE = re.compile(r"^\W*\w+\s+(?:i|we|they|he|she|is|are|was|were|has|have|had|will)\b", _I)
_LIGHT_IMPERATIVE = re.compile(
    r"^\W*(?:let (?:me|us|them) know|have a look|take a look|do (?:not|n't)|go (?:ahead and|to)"
    r"|come (?:to|join)|get (?:me|us|back|in touch)|make sure|keep (?:me|us)|take (?:a|the|care)"
    r"|use (?:the|a)"
    r"|look (?:at|into|over))\b",
    _I,
)
_LIGHT_VERBS = frozenset(
    (
        "let",
        "have",
        "do",
        "go",
        "come",
        "get",
        "make",
        "keep",
        "take",
        "use",
        "look",
        "work",
        "try",
        "think",
        "run",
        "start",
        "help",
        "move",
        "set",
        "put",
        "note",
        "report",
    )
)
_NEG_IMPERATIVE = re.compile(
    r"^\W*(?:don't|do not)\s+(?:forget|send|share|use|reply|post|wait|hesitate|change|delete|forward|sign)\b",
    _I,
)


def _imperative(v: View) -> bool:
    if _NEG_IMPERATIVE.match(v.body):
        return True
    fw = first_word(v.body)
    if fw not in ACTION_VERBS or _NOT_IMPERATIVE.match(v.body) or len(v.body.split()) < 2:
        return False  # "Ping!" alone names no task
    if fw in _LIGHT_VERBS:
        return (
            bool(_LIGHT_IMPERATIVE.match(v.body))
            or len(v.body.split()) >= 4
            and fw in ("try", "run", "set", "put", "note")
        )
    return True


# --------------------------------------------------------------------------- modifier patterns

_HEDGE = (
    _FP + r"(?:\s+(?:might|may|could possibly|probably will|will probably|will possibly)|'ll (?:probably"
    r"|possibly))\b"
    r"|\b(?:maybe|perhaps|possibly)\s+(?:i|we)\b|\bnot sure (?:if|whether|that) (?:i|we)\b"
    r"|" + _FP + r"(?:'ll| will)\s+(?:see|think about|try and see)\b|\bhopefully\b|\bi hope to\b"
)
_SELF_COND = (
    r"(?<!see )(?<!check )(?<!out )(?<!ask )(?<!know )(?<!wonder )"
    r"\bif\s+(?:i|we)\s+(?:can|could|have (?:the )?time|get (?:a |the )?chance|get around|manage"
    r"|find (?:the )?time|am able|are able|'m able|'re able|remember)\b"
    r"|\bif\s+(?:time|possible)\b|\btime permitting\b"
)
_NEGATED = (
    _FP + r"\s*(?:won't|wont|will not|can't|cant|cannot|can not|couldn't|could not|am not able|'m not able"
    r"|are not able|'re not able|am unable|'m unable|are unable|'re unable|shall not|'m not going to"
    r"|am not going to|are not going to|'re not going to|'ll not|do not plan|don't plan|don't intend)\b"
    r"|\bnot be able to\b|\bno longer\b|\bhave to decline\b|\bunwilling to\b"
    r"|\bnot (?:willing|prepared|in a position|going) to\b"
)
_PAST = (
    _FP + r"\s+(?:have|'ve|had|'d)\s+(?:already\s+|just\s+)?(?:\w+ed|sent|done|made|written|given|taken"
    r"|put|set|told|spoken|met|got|gotten|shared|read|run|begun|built|found|left|heard|seen)\b"
    r"|"
    + _FP
    + r"\s+(?:already|just)\s+\w+ed\b|"
    + _FP
    + r"\s+(?:sent|did|was|were|made|wrote|gave|took|told"
    r"|spoke|met|got|shared|forwarded|attached|called|emailed|submitted|posted|talked|mentioned|informed"
    r"|checked|asked|went|thought|decided|agreed|tried|held|finished|completed|fixed|updated|added)\b"
    r"|\battached (?:is|are|please find)\b|\bplease find attached\b|\benclosed (?:is|are)\b"
    r"|\bhere (?:is|are) the\b"
)
_STATE_FUTURE = (
    _FP + r"(?:'ll| will| shall|'m going to| am going to|'re going to| are going to)\s+"
    r"(?:be\s+(?:out|away|off|on (?:vacation|holiday|leave|pto)|traveling|travelling|in (?:the office|town"
    r"|the air)|back|unavailable|offline|late|there|around|here|in\b|fine|ok|okay)"
    r"|need\b|miss\b|remember\b|never\b|always\b|see\b|be\s+\w+ing\s+(?:in|at|to)\b)"
)
_PLEASANTRY = (
    r"^\W*(?:how are (?:you|things)|how(?:'s| is) (?:it going|everything|your (?:week|day|weekend))"
    r"|how have you been|hope (?:you|all|this|everything)|what's up|how was (?:your|the)"
    r" (?:weekend|trip|holiday|vacation))"
    r"|\b(?:happy|glad|pleased|delighted) to (?:help|assist|be of (?:help|service)|hear|see|note|learn|report"
    r"|announce|say|share that|welcome|introduce)\b(?!\s+(?:with|you with|on)\b)"
    r"|\b(?:look|looking) forward to\b|\b(?:thanks|thank you)(?: so much| again)? for\b"
    r"|\b(?:nice|great|good|lovely) (?:to (?:meet|see|hear from|talk to|catch up with)|meeting|seeing"
    r"|chatting)\b"
    r"|\bhave a (?:good|great|nice|lovely) (?:day|week|weekend|evening|one)\b"
    r"|\b(?:let me|i(?:'d| would)) (?:just )?(?:say|add) (?:how|that i'm|thanks)\b"
)
# Closing formulas: an open offer of help or of more talk, said to end a message, not to ask or promise.
_CLOSING = (
    r"\blet (?:me|us) know if (?:you need|you have|there(?:'s| is)) any(?:thing|one)?\b(?! by\b)"
    r"|\banything (?:else )?(?:i|we) can (?:do|help with)\W*$"
    r"|\bif (?:you have|there are) any (?:other |further |more )?"
    r"questions\b|\b(?:don't|do not) hesitate to\b|\bfeel free to (?:reach out|contact|get in touch|ask)\b"
    r"|^\W*(?:(?:ok|okay|likewise|great|thanks)[,!.]?\s+)?(?:talk|speak|chat) (?:to you )?"
    r"(?:soon|later|then|next \w+"
    r"|tomorrow|on \w+|monday|tuesday|wednesday|thursday|friday|next week)\W*$"
    r"|\b(?:happy|glad|pleased) to help (?:with )?(?:anything|any other)\b"
    r"|\b(?:i|we)(?:'ll| will| would) (?:be happy to|gladly) answer any (?:other |further )?questions\b"
    r"|\b(?:i|we)(?:'ll| will) talk (?:to you )?(?:soon|later)\b|^\W*(?:ping|cheers|thanks|later)\W*$"
)
_RHETORICAL = (
    r"\bneed (?:i|we) say more\b|\bwhat could (?:possibly )?go wrong\b|\bwhy bother\b"
    # "... ?" to the end: the line is read to its last word, then to the first "?" after it, once
    # (``.*\?\W*$`` tried every "?" of a long run to the end of the text).
    r"|^\W*because\b(?:.*\w)?+[^\w\n?]*+\?\W*+$"
    r"|\b(?:who cares|who knows|what's the point|isn't it|aren't they|wasn't it|don't you think"
    r"|you know)\?\W*$|^\W*(?:guess what|you know what|what else)\b|\?!|!\?"
    r"|\b(?:do|did) you (?:really|seriously|honestly) (?:mean|think|believe|expect|want)\b"
    r"|\bwho would(?:n't)? (?:want|have thought)\b"
    r"|^\W*who (?:doesn't|does not|wouldn't|would not|isn't|can't|couldn't|didn't)\b(?:.*\w)?+[^\w\n?]*+\?"
    r"\W*+$"
    r"|^\W*who knows\b|\bcan you believe\b|^\W*why would (?:anyone|anybody|you|i|we|they) (?:ever )?\w+"
    r"|^\W*(?:isn't|wasn't|aren't|ain't) (?:that|it|this|he|she) "
    r"(?:great|nice|cool|amazing|awesome|funny|crazy"
    r"|wild|weird|interesting|something)\b"
)
_SELF_QUESTION = (
    r"^\W*(?:(?:um|uh|so|and|oh|now)[,\s]+)*(?:what (?:was|am|did) i (?:saying|going to say|doing"
    r"|talking about)"
    r"|where (?:was|were) (?:i|we)|what else(?: do i| did i)?|how do i put (?:it|this)|what's the word"
    r"|what do you call (?:it|that|them)|what's (?:it|that|his|her) name|where am i|let me (?:see|think)"
    r"|what (?:is|was) it(?: called)?|how shall i put it)\b"
)
_CHECK_QUESTION = (
    r"^\W*(?:(?:so|ok|okay|and)[,\s]+)*(?:does (?:that|this|it) make sense|(?:that )?makes? sense"
    r"|(?:is that|that) clear|(?:are you|you) with me|everyone with me|does that help"
    r"|(?:did|do) you follow)\W*\?"
    r"|^\W*(?:can|may|could) i ask (?:you )?(?:a|one|another)? ?(?:quick |small )?question\W*+$"
    r"|\bdo you mind if i (?:share|show|present|jump in|interrupt)\b"
    r"|^\W*(?:is|are) (?:everyone|everybody|you|you all|we all) (?:still )?(?:on the call|there|here|with us"
    r"|on|back|ready)\W*\?"
)
_TAG_QUESTION = (
    r"^\W*(?:(?:um|uh|oh|and|so)[,\s]+)*(?:right|really|yeah|yes|no|okay|ok|huh|hmm|what|sorry|pardon|"
    r"is it|isn't it|are they|aren't they|do you|don't you|did you|you know|you think|you see|see|eh|correct"
    r"|true|exactly|seriously|such as|like what|and|or|so)"
    r"[^\w?]*+\?\W*+$"  # at least one "?" and nothing else but marks to the end
)
# Backchannel: the sentence is nothing but these words, in any order and number, with marks between
# (``^\W*(?:(?:yeah|...|so)[\s,.!-]*)+$``). That regex is exponential: "uh-huh" is also "uh" "-" "huh",
# "yeahmm" also "yea" "hmm", and each way is retried when the end does not match. :func:`_backchannel`
# decides the same language in linear time, each position read once.
_BACKCHANNEL_WORDS: tuple[str, ...] = tuple(
    (
        "yeah|yes|yep|yup|yea|ok|okay|right|sure|uh-huh|uh huh|mm-hmm|mhm|mm|hmm|huh|oh|ah|um|uh"
        "|wow|cool|great|good|nice|fine|alright|all right|exactly|absolutely|definitely|true|indeed|i see"
        "|got it|gotcha|makes sense|sounds good|sounds great|fair enough|no|nope|thanks|thank you|okay then"
        "|perfect|agreed|interesting|of course|i agree|me too|same here|go ahead|go on|sorry|pardon|excuse me"
        "|i think so|i guess|i don't know|not really|that's right|that's true|that's it|that's fine|so"
    ).split("|")
)
_BC_WORD = tuple(re.compile(re.escape(w), _I) for w in _BACKCHANNEL_WORDS)
_BC_BY_INITIAL: dict[str, tuple[re.Pattern[str], ...]] = {
    c: tuple(rx for w, rx in zip(_BACKCHANNEL_WORDS, _BC_WORD, strict=True) if w[0] == c)
    for c in {w[0] for w in _BACKCHANNEL_WORDS}
}
_BC_LEAD = re.compile(r"\W*")
_BC_MARKS = re.compile(r"[\s,.!-]*")


def _backchannel(v: View) -> bool:
    """The sentence is backchannel words only (see :data:`_BACKCHANNEL_WORDS`).

    Each word starts with a letter, so it starts where the marks before it end: the positions a word can
    start at are explored once each (the regex's language, without its exponential retries).
    """
    text = v.text
    lead = _BC_LEAD.match(text)
    todo = [lead.end() if lead else 0]
    seen = set(todo)
    while todo:
        at = todo.pop()
        initial = text[at : at + 1]
        if not initial:
            continue
        # An ASCII letter matches only words with that initial; any other character is tried on every
        # word (IGNORECASE folds a few, such as the Kelvin sign, to an ASCII letter).
        words = _BC_BY_INITIAL.get(initial.lower(), ()) if initial.isascii() else _BC_WORD
        for rx in words:
            word = rx.match(text, at)
            if word is None:
                continue
            marks = _BC_MARKS.match(text, word.end())
            end = marks.end() if marks else word.end()
            if end == len(text):
                return True
            if end not in seen:
                seen.add(end)
                todo.append(end)
    return False


_FLOOR = (
    r"\b(?:let me|i'll|i will|i'm going to|let's|we'll|i can|allow me to)\s+(?:just\s+|quickly\s+|now\s+)?"
    r"(?:share (?:my|the) screen|stop sharing|pull (?:it|that|this|up)|bring (?:it|that) up|hand (?:it )?over"
    r"|turn it over|pass it (?:over|back|on)|keep (?:an eye on|track of) (?:the )?(?:time|clock|agenda)"
    r"|take notes|start (?:with|by|off|recording)|begin (?:with|by)|kick (?:it|things|us) off|go first"
    r"|move on|wrap (?:up|it up)|stop (?:there|here)|leave it there|get started|recap|summari[sz]e"
    r"|go (?:back|through the agenda|around the (?:room|table))|switch (?:gears|topics)|introduce|explain"
    r"|clarify|rephrase|repeat|be clear|point out|note that|remind (?:everyone|you all)|finish (?:up"
    r"|my thought)"
    r"|jump in|interrupt|come back to (?:that|this)|park (?:that|this)|table (?:that|this)|mute|unmute"
    r"|be (?:honest|frank|brief|quick)|say\b|tell you (?:what|that|something|this|one thing)|guess\b|bet\b"
    r"|admit\b|assume\b|argue\b|add (?:that|one|something|to (?:that|what))|mention (?:that|one)"
    r"|put it (?:this|another) way|grant you|give you an example"
    r"|take (?:it |this |that )?offline|talk about (?:it|this|that) (?:later|offline)"
    r"|think about (?:it|that)|see\b|check (?:my|the) (?:notes|screen))"
    r"|\b(?:let's|let us|we'll|we can|why don't we) (?:take (?:a|an|\w+) (?:minutes?|min|break|breather)"
    r"|break"
    r"|reconvene|pause|stop here|wrap up|call it a day)\b|\breconvene\b"
    r"|^\W*(?:sorry,?\s+)?(?:go ahead|you go ahead|after you|sorry,? go on|you first|next slide|next topic"
    r"|moving on|back to"
    r" (?:you|the agenda)|any (?:other )?questions|can (?:you|everyone|everybody) (?:all )?(?:hear|see)"
    r" (?:me|us|my screen|this)|is (?:my|this) (?:screen|audio|mic)|are you there|can you hear me)\b"
    r"|\b(?:we|i) can (?:take|discuss|talk about) (?:it |this |that )?(?:offline|later)\b"
    r"|\bwe can take offline\b"
    r"|\b[A-Z][a-z]+ (?:is going to|will|'ll) (?:drive|run|lead|moderate|chair|facilitate|host|present|demo)"
    r" (?:the |this |today's )?(?:demo|meeting|call|session|discussion|presentation|walkthrough)\b"
)
_CHASE = (
    r"^\W*(?:(?:hi|hello|hey)\b[^.!?]{0,30}[,.!]?\s*)?(?:just\s+)?(?:bumping|bump|circling back|checking in"
    r"|following up|follow(?:ing)? up|pinging|nudging|resurfacing|re-?sending|chasing|any update|any news"
    r"|gentle reminder|friendly reminder|quick reminder|reminder)\b"
    r"|\b(?:bumping|bump) (?:this|it|that)\b|\bfollowing up on (?:my|our|the) (?:last|earlier|previous"
    r"|below)\b"
    r"|\bdid you (?:get|have) a chance to\b|\bany (?:update|news|progress) on (?:this|that|the above|my)\b"
    r"|\b(?:still|yet to) (?:waiting|hear)\b|\bhaven't heard back\b|\bhave not heard back\b"
    r"|\bhaven't seen\b.{0,40}\byet\b|\bdon't think we've (?:seen|received|heard)\b"
)
# A disclaimer's two parts are looked for from the last "confidential" / "privileged" before the second
# (a tempered ``.``), so many of them on one line are read once; "- ?original" and "==" need no run of
# their own after ``\W*`` (which holds dashes and "=" already); a header's line is read possessively.
_BOILERPLATE = (
    r"^\s*file \"[^\"]+\", line \d+|\btraceback \(most recent call last\)|^\s*at [\w.$]+\([\w.]+:\d+\)"
    r"|\bunsubscribe\b|\bsent from my (?:iphone|ipad|android|blackberry|mobile|phone|galaxy)\b"
    r"|\bget outlook for\b"
    r"|\bconfidential(?:ity)?\b(?:(?!\bconfidential(?:ity)?\b).)*\b(?:intended|recipient)\b"
    r"|\bintended recipient\b"
    r"|\bthis (?:e-?mail|message) (?:and any attachments )?(?:is|may be|contains)\b"
    r"|\bdisclaimer\b|\bprivileged\b(?:(?!\bprivileged\b).)*\binformation\b|\bcopyright\b"
    r"|\ball rights reserved\b"
    r"|\bthis (?:communication|transmission)\b|\bdelete it from your\b|\bvirus(?:es)? (?:free|scan)"
    r"|\bview (?:this email )?in (?:your )?browser\b|\bclick here\b|\bmanage (?:your )?preferences\b"
    r"|^\W*(?:-- ?|__+|==)\s*$|^\W*(?:on .{5,80} wrote:|- ?original message ?-+|from: .++|sent: .++"
    r"|to: .++|subject: .++|cc: .++)\s*+$"
    r"|\bwe (?:will|'ll) send you (?:the|a) (?:full )?(?:recording|replay|link)s? if you register\b"
    r"|\bregister (?:now|here|today)\b|\bwebinar\b"
)
_SIGNOFF = (
    r"^\W*(?:thanks|thank you|thx|cheers|regards|best|best regards|kind regards|warm regards|sincerely|br"
    r"|ttyl|talk soon|all the best|many thanks|have a (?:good|great|nice) \w+|see you|see you (?:then|soon))"
    r"\W*(?:\w+\W*)?$"
)


_PLEASE_RX = _Gated(*_PLEASE)
_PLEASE_FORMULA_RX = re.compile(_PLEASE_FORMULA, _I)


def _please(v: View) -> bool:
    return _PLEASE_RX.search(v) and not _PLEASE_FORMULA_RX.search(v.text)


# An assignment in note shorthand: "Priya to set up the sandbox", "Marco: follow up with procurement".
ASSIGNED = re.compile(
    r"(?:\[[ xX]\]\s*)?(?:@[\w'.-]{1,24}(?:\s+[A-Z][\w'.-]{1,24})?\s+(?:to\s+|:\s*)?"
    r"|[A-Z][\w'.-]{1,24}(?:\s+[A-Z][\w'.-]{1,24})?(?:\s+to|\s*:)\s+)" + ACTION_VERB + r"\b"
)


# Capitalized sentence openers before "to <verb>" that are not people ("Remember to add", "Time to send").
_NOT_ASSIGNEES = frozenset(
    """remember forget need needs want wants time plan plans goal reminder note try ask how way nothing
    something anything everything going have able happy glad hard easy ready free sure due hope wish
    decided agreed decision reason trying hoping planning""".split()
)


def _assigned(v: View) -> bool:
    text = re.sub(r"^\[[ xX]\]\s*", "", v.text.lstrip(" \t-*•·"))
    fw = first_word(text)
    return (
        ASSIGNED.match(text) is not None
        and fw not in NOT_NAMES
        and fw not in ACTION_VERBS
        and fw not in _NOT_ASSIGNEES
    )


def _named_future(v: View) -> bool:
    m = _NAMED_FUTURE_RX.match(v.body)
    return m is not None and first_word(v.body) not in NOT_NAMES


_NAMED_FUTURE_RX = re.compile(_NAMED_FUTURE)

# Leading words that are never a person's name ("This will", "Today I'll").
NOT_NAMES = frozenset(
    """i we you he she they it this that these those there here everyone someone somebody anyone
    anybody nobody who what which the a an our my your their his her its all both each some any none
    no yes ok okay sure yeah well so um uh oh right also then but and or if when as maybe perhaps probably
    hopefully today tomorrow tonight monday tuesday wednesday thursday friday saturday sunday next action
    note notes agenda team folks people legal sales engineering support marketing finance product
    security thanks thank please just now again happy glad sorry great good""".split()
)

CUES: tuple[Cue, ...] = (
    # commissive
    Cue(
        "fp_future",
        "commissive",
        "I/we + will, shall, going to, plan to (main clause)",
        _main_clause(*_FP_FUTURE),
    ),
    Cue(
        "you_will_have",
        "commissive",
        "you'll have it from us, I promise, I'm committing to",
        _main_clause(*_YOU_WILL_HAVE),
    ),
    Cue(
        "known_future",
        "commissive",
        "a person known in the conversation + will (set by the extractor)",
        lambda _v: False,
    ),
    Cue("fp_and_will", "commissive", "I/we <verb> ... and will <verb>", _main_clause(*_FP_AND_WILL)),
    Cue(
        "fp_progressive",
        "commissive",
        "I'm / we're sending, preparing, looking into ...",
        _main_clause(*_FP_PROGRESSIVE),
    ),
    Cue("fp_offer", "commissive", "I'd be happy / glad / willing to", _main_clause(*_FP_OFFER)),
    Cue("fp_can", "commissive", "I/we can + a delivery verb (an offer)", _main_clause(*_FP_CAN)),
    Cue("let_me", "commissive", "let me / allow me to + verb", _main_clause(*_LET_ME)),
    Cue("take_on", "commissive", "will do, on it, leave it with me, I'll handle it", _search(*_TAKE_ON)),
    Cue(
        "bare_will",
        "commissive",
        "a subjectless chat reply: Will send it, On it, Can do",
        _on_body(_BARE_WILL),
    ),
    Cue("team_future", "commissive", "our team / Legal / support will + verb", _on_body(_TEAM_FUTURE)),
    Cue("named_future", "commissive", "a named person will + verb (Priya will send)", _named_future),
    Cue(
        "fp_need", "commissive", "I/we need to / have to + verb (an obligation taken on)", _search(*_NEED_TO)
    ),
    Cue("passive_future", "commissive", "X will be sent / posted / shared", _search(*_PASSIVE_FUTURE)),
    Cue("action_item", "commissive", "an Action item: / TODO: line", _anywhere(_ACTION_ITEM)),
    Cue(
        "assigned",
        "commissive",
        "note shorthand that assigns: Priya to set up ..., Marco: follow up ...",
        _assigned,
    ),
    Cue("offer_q", "commissive", "shall I / can we ... ? (an offer put as a question)", _on_body(_OFFER_Q)),
    # directive
    Cue("question", "directive", "an interrogative sentence or one ending in ?", lambda v: v.question),
    Cue("please", "directive", "please / kindly (not a formula)", _please),
    Cue("you_modal", "directive", "can / could / would you (anyone, everyone)", _search(*_YOU_MODAL)),
    Cue("you_should", "directive", "you / someone should, need to, might want to", _search(*_YOU_SHOULD)),
    Cue(
        "we_should",
        "directive",
        "we should / need to / ought to (a suggestion to the group)",
        _search(*_WE_SHOULD),
    ),
    Cue("suggest", "directive", "why don't you, how about, I suggest, maybe you could", _search(*_SUGGEST)),
    Cue("let_know", "directive", "let me know, get back to me, send me, tell me", _search(*_LET_KNOW)),
    Cue(
        "indirect",
        "directive",
        "I was wondering, I'd appreciate, I need you to, feedback welcome",
        _search(*_INDIRECT),
    ),
    Cue("lets", "directive", "let's / let us + verb / shall we", _search(*_LETS)),
    Cue("anyone", "directive", "addressed to anyone / someone", _anywhere(_ANYONE)),
    Cue("imperative", "directive", "opens with the base form of an action verb", _imperative),
    # modifiers
    Cue("hedge", "modifier", "I might, maybe I'll, hopefully, I'll see", _anywhere(_HEDGE)),
    Cue("self_cond", "modifier", "if I get a chance, time permitting", _anywhere(_SELF_COND)),
    Cue("negated", "modifier", "I won't, I can't, not able to (a decline)", _anywhere(_NEGATED)),
    Cue("past", "modifier", "I sent, I've attached, here is (already done)", _anywhere(_PAST)),
    Cue(
        "state_future",
        "modifier",
        "I'll be out, I'll need, I'll see (a state, not an act)",
        _anywhere(_STATE_FUTURE),
    ),
    Cue("pleasantry", "modifier", "happy to help, looking forward to, how are you", _anywhere(_PLEASANTRY)),
    Cue(
        "closing",
        "modifier",
        "let me know if you need anything, talk soon: a closing formula",
        _text_or_body(_CLOSING),
    ),
    Cue("rhetorical", "modifier", "a question that expects no answer", _anywhere(_RHETORICAL)),
    Cue(
        "self_question",
        "modifier",
        "a question to oneself: where was I, what's the word",
        _on_body(_SELF_QUESTION),
    ),
    Cue(
        "check_question",
        "modifier",
        "a comprehension or permission check: does that make sense? may I ask?",
        _text_or_body(_CHECK_QUESTION),
    ),
    Cue("tag_question", "modifier", "a bare tag or echo: right? really? you know?", _anywhere(_TAG_QUESTION)),
    Cue("backchannel", "modifier", "yeah, okay, uh-huh, sounds good, go ahead", _backchannel),
    Cue(
        "floor",
        "modifier",
        "manages the conversation itself: share my screen, move on, X will drive the demo",
        _text_or_body(_FLOOR),
    ),
    Cue(
        "chase",
        "modifier",
        "bumping this, following up, any update: a chase of an earlier ask",
        _anywhere(_CHASE),
    ),
    Cue(
        "boilerplate",
        "modifier",
        "signature, disclaimer, reply header, newsletter footer",
        _anywhere(_BOILERPLATE),
    ),
    Cue("signoff", "modifier", "thanks, regards, cheers (a closing)", _anywhere(_SIGNOFF)),
)
CUE_BY_NAME = {c.name: c for c in CUES}
COMMISSIVE = frozenset(c.name for c in CUES if c.group == "commissive")
DIRECTIVE = frozenset(c.name for c in CUES if c.group == "directive")


@dataclass(frozen=True, slots=True)
class Cues:
    """The cues that fired in one sentence; ``body`` and ``text`` are what they were read from."""

    fired: frozenset[str]
    body: str
    text: str = ""

    def __contains__(self, name: object) -> bool:
        return name in self.fired

    def names(self) -> list[str]:
        """Fired cue names in table order."""
        return [c.name for c in CUES if c.name in self.fired]

    @property
    def commissive(self) -> bool:
        return not self.fired.isdisjoint(COMMISSIVE)

    @property
    def directive(self) -> bool:
        return not self.fired.isdisjoint(DIRECTIVE)


@lru_cache(maxsize=1)
def _plan() -> tuple[tuple[str, Callable[[View], bool], frozenset[str], bool], ...]:
    """Each cue of the table as ``(name, test, keys, any_text)``: the test can fire only when the
    sentence holds one of ``keys`` (empty: always tried), or, with ``any_text``, is not ASCII (a
    literal prefilter is exact for ASCII text only; see :mod:`.literals`)."""
    plan = []
    for c in CUES:
        gate = _TEST_GATES.get(c.test)
        keys = gate.keyset if gate is not None else frozenset()
        plan.append((c.name, c.test, keys, isinstance(gate, Prefiltered)))
    return tuple(plan)


def analyze(sentence: str) -> Cues:
    """Every cue of the table tested on one sentence (a cue whose gate's keys the sentence lacks is
    not tried: its test would say no)."""
    v = view(sentence)
    present = _keys_in(v)
    plain = v.text.isascii()
    fired = frozenset(
        name
        for name, test, keys, any_text in _plan()
        if (not keys or not keys.isdisjoint(present) or (any_text and not plain)) and test(v)
    )
    return Cues(fired, v.body, v.text)


# The cheap gate: triggers are the commissive and directive cues whose test is
# fast; a sentence that fires none of them cannot be an item.
_GATE_WORDS = re.compile(
    r"\b(?:i|we|let|please|pls|kindly|you|u|anyone|anybody|someone|somebody|everyone|will|shall|can|could"
    r"|would|should|must|need|needs|have to|want|wonder|wondering|appreciate|welcome|appreciated|action|todo"
    r"|next steps?|follow|feel free|make sure|forget|remember|on it|legal|team|our|why|how|what|any"
    r"|bump|bumping|circling|checking|following|reminder|pinging|nudging|heard|gonna|going|lemme|expect"
    r"|engineering|support|sales|finance|security|product|marketing|procurement|ops|operations|devops|qa|hr"
    r"|accounting|billing|compliance)\b"
)


def triggered(sentence: str) -> bool:
    """Could this sentence be a commitment or a request at all? (cheap; no blockers computed)

    True for a question, an imperative, an action-item line, or a sentence with
    any of the words that commissive and directive cues are made of. A sentence
    with no trigger never yields an item, so the extractor skips the rest of the
    analysis and the model for it.
    """
    v = view(sentence)
    if v.question or _imperative(v):
        return True
    return bool(_GATE_WORDS.search(v.low)) or _named_future(v) or _assigned(v)
