"""Noticing that one of ours answered a customer's request later in its thread or meeting.

Pure functions, no database. What comes after a request is read as *turns*:
one email of the thread, or one speaker's consecutive sentences in a Slack
thread or a meeting. A turn by our side (an internal email, or the person who
was asked) answers the request when it addresses it:

- **It takes the request on**: a commitment of ours stored from that turn
  ("I'll get our BAA template over by Wednesday") shares at least two content
  words with the request (one when the request has only one), or, in the very
  next turn, refers back to it ("Sure, I'll send it over tomorrow"). The
  promise is then the open item.
- **It answers a question** (only for a request for information: a question,
  or an ask to confirm, tell, let us know, explain...): a statement of ours
  (not a question, not a promise or deferral like "let me check", not a hedge)
  that shares at least two content words with the request (one when it has
  only one); or one, when the turn opens with an answer ("Yes", "Exactly",
  "Unfortunately"); or none, when the very next turn opens with an answer to
  a yes/no question ("Yes, since January."); or none, when it is a wh-question
  ("What is the audit log retention period?") asked in a conversation (a
  meeting or a Slack thread: one document of many speakers) and our turn right
  after it, in that document, is a plain declarative statement ("It's 400 days
  by default."): the second part of the question-answer adjacency pair. Every
  sentence of that turn must be a statement: a question back, a hedge ("I'm not
  sure"), a deferral ("let me check") or a promise leaves it open. The asker may
  finish their turn first (with no further question); anyone else speaking
  first, or an email reply (one message, not a turn of the same conversation),
  does not count.

- **It assesses what it was asked to assess** (only for a request for an
  assessment: "let us know your thoughts", "what do you think", "can you
  confirm", "does this work for you", "please review"): the reply of an
  adjacency pair, request for evaluation → assessment. A sentence of ours that
  evaluates or confirms ("Looks good.", "Works for us", "Confirmed",
  "Approved", "That's fine", "We're happy with it", "No objections"; not a
  question, promise or hedge) answers it without shared words, when it comes in
  our reply: our turns after the request before anyone but the asker speaks,
  and before the asker speaks again once we have. "Thanks, will review" is not
  an assessment: only a stored promise of ours that takes it on closes it.

A request to *do* something ("could you send the SOC 2 report?") is not
answered by words (not by "Looks good" either): only a promise that takes it on, or a delivery
(:mod:`store.fulfilment_rules`, which closes it ``done``), does. A turn by
someone else between the request and ours (not the asker's own follow-up)
makes ours no longer the direct reply. The rules err on leaving a request
open: a wrong ``answered`` hides an unanswered customer, and a person can
reopen anything they close.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from store.fulfilment_rules import LaterText, Sentence, by_us, keywords

_INFO_VERBS = frozenset(
    "confirm tell explain clarify advise answer reply check verify say know describe clarification".split()
)
"""Head verbs of a request for information ("Confirm the SSO setup works with Okta")."""
_ASK_TO_DO = re.compile(
    r"\b(?:could|can|would|will)\s+(?:you|we|i)\s+(?:please\s+|also\s+|maybe\s+|possibly\s+)*([a-z]+)",
    re.IGNORECASE,
)
_LET_KNOW = re.compile(r"^(?:please\s+)?let\s+(?:us|me)\s+know\b", re.IGNORECASE)
_QUESTION_WORDS = frozenset(
    """what which when where who whom whose how why whether before after know like want wanted
    quick ask question wondering could reply confirm tell let""".split()
)
"""Words a question is made of, which say nothing about its topic."""
_NOT_AN_ANSWER = re.compile(
    r"\b(?:i|we)\s*(?:'ll|will|shall|'m going to|am going to|'re going to|are going to)\b|\blet (?:me|us)\b|"
    r"(?:^|[,;:]\s*)will\b|"
    r"\bget back to\b|\blook(?:ing)? into\b|\bfind out\b|\bcheck (?:with|on|into)\b|\bcircle back\b|"
    r"\bnot sure\b|\bno idea\b|\b(?:might|maybe|perhaps|possibly|potentially|hopefully)\b",
    re.IGNORECASE,
)
"""Promises (also without a subject: "Thanks, will review"), deferrals ("let me check") and hedges: not
an answer by themselves."""
_GREETING = re.compile(
    r"^(?:hi|hello|hey|dear|thanks|thank you|many thanks|good (?:morning|afternoon|evening))\b[^.!?]*[,.!]?$",
    re.IGNORECASE,
)
"""A salutation or thanks ("Hi Sam,", "Thanks, excited to get going!"), when short."""
_OPENER = re.compile(
    r"^(?:yes|yep|yeah|no|nope|exactly|correct|right|indeed|absolutely|definitely|of course|"
    r"good question|great question|unfortunately|not yet|not at the moment|currently|"
    r"(?:it|they|we|that) (?:does|do|is|are|doesn't|don't|isn't|aren't|can|can't|cannot|will|won't))\b",
    re.IGNORECASE,
)
"""How an answer to a question opens."""
_PROPOSAL = re.compile(r"\b(?:how about|what about|why (?:don't|not))\b", re.IGNORECASE)
"""A proposal in the form of a wh-question ("How about Tuesday?", "Why don't we meet?"): not a request
for information that a statement answers."""
_POLAR = re.compile(r"^(?:yes|yeah|yep|yup|no|nope)\b", re.IGNORECASE)
"""A yes/no answer, which does not answer a wh-question."""
_ANAPHOR = re.compile(r"\b(?:it|that|this|them|those|one)\b", re.IGNORECASE)
_ASKS_ASSESSMENT = re.compile(
    r"\b(?:(?:your|any)\s+(?:thoughts|feedback|opinion|input|comments|objections|concerns|take|approval|"
    r"sign[- ]?off|go[- ]ahead)"
    r"|what\s+(?:do|did|would)\s+you\s+think|how\s+does\s+(?:this|that|it)\s+(?:look|sound)"
    r"|(?:can|could|would)\s+you\s+(?:please\s+)?(?:confirm|approve|review|sign\s+off|(?:take|have)\s+a\s+look)"
    r"|please\s+(?:confirm|approve|review|sign\s+off|(?:take|have)\s+a\s+look)"
    r"|(?:does|do|would|will)\s+(?:this|that|these|it)\s+(?:work|look\s+(?:ok|okay|good|right)|"
    r"sound\s+(?:ok|okay|good|right))"
    r"|(?:is|are)\s+(?:this|that|these|it)\s+(?:ok|okay|acceptable|fine|alright)"
    r"|(?:ok|okay|good|fine)\s+(?:with|for)\s+you)\b",
    re.IGNORECASE,
)
"""A request for an assessment: thoughts, feedback, an opinion, approval or a confirmation."""
_ASSESSMENT = re.compile(
    r"\b(?:(?:looks?|sounds?|seems?)\s+(?:good|great|fine|right|ok|okay|perfect|reasonable|solid)"
    r"|works\s+(?:for|with)\s+(?:me|us)|(?:^|[,;]\s*)(?:that|this|it)\s+works|(?:doesn't|does\s+not)\s+work\s+for\s+(?:me|us)"
    r"|confirmed|approved|agreed|lgtm|all\s+good"
    r"|(?:i|we)\s+(?:can\s+)?(?:confirm|approve|agree)"
    r"|(?:that|this|it)(?:'s|\s+is)\s+(?:fine|good|great|perfect|ok|okay|acceptable|alright)"
    r"|(?:i'm|i\s+am|we're|we\s+are)\s+(?:happy|fine|good|ok|okay|comfortable)\s+with"
    r"|no\s+(?:objections?|concerns|issues|comments|changes)(?:\s+from\s+(?:me|us|our\s+side))?)\b",
    re.IGNORECASE,
)
"""An assessment or a confirmation: "Looks good", "Works for us", "Confirmed", "No objections"."""


@dataclass(frozen=True)
class Request:
    """An open request as the rules see it.

    ``quote`` is its evidence; ``asker`` is who made it (an email, else a
    lowercased name), so that their own follow-ups are not "someone else".
    """

    action: str
    quote: str
    owner: str | None
    owner_email: str | None
    asker: str | None


@dataclass(frozen=True)
class Promise:
    """A commitment of ours stored from a document of the request's thread, found by its evidence."""

    commitment_id: int
    message_id: str
    char_start: int
    action: str
    quote: str


@dataclass(frozen=True)
class Answer:
    """What answered a request: the message and the sentence, and the commitment when one took it on."""

    message_id: str
    quote: str
    char_start: int
    commitment_id: int | None = None


@dataclass(frozen=True)
class _Turn:
    message_id: str
    who: str | None
    ours: bool
    sentences: tuple[Sentence, ...]

    @property
    def span(self) -> tuple[int, int]:
        """Where the turn lies in its document: from its first sentence to the end of its last."""
        first, last = self.sentences[0], self.sentences[-1]
        return first.start, last.start + len(last.text)


class _Promises:
    """Promises indexed by document and place, for :meth:`within` a turn (in the order given)."""

    def __init__(self, promises: Sequence[Promise]) -> None:
        self._by_message: dict[str, list[tuple[int, int]]] = {}  # char_start, index in promises
        for i, p in enumerate(promises):
            self._by_message.setdefault(p.message_id, []).append((p.char_start, i))
        for placed in self._by_message.values():
            placed.sort()
        self._promises = promises

    def within(self, turn: _Turn) -> list[Promise]:
        """The promises made in ``turn``, in the order given."""
        placed = self._by_message.get(turn.message_id, [])
        start, end = turn.span
        lo = bisect.bisect_left(placed, (start, -1))
        hi = bisect.bisect_left(placed, (end, -1), lo)
        return [self._promises[i] for _, i in sorted(placed[lo:hi], key=lambda x: x[1])]


def asks_for_information(action: str, quote: str) -> bool:
    """Whether a request asks to be told something (rather than for something to be done).

    ``"Confirm the SSO setup works with Okta"``, ``"Let us know what you need"``
    and ``"And the tags follow the data downstream?"`` do; ``"could you send us
    your BAA template?"`` and ``"could we get the sandbox extended?"`` do not.
    """
    words = re.findall(r"[a-z]+", action.lower())
    head = next((w for w in words if w != "please"), "")
    if head in _INFO_VERBS or _LET_KNOW.search(action):
        return True
    ask = _ASK_TO_DO.search(quote)
    if ask is not None:
        return ask.group(1).lower() in _INFO_VERBS or bool(_LET_KNOW.search(quote[ask.start(1) :]))
    return quote.rstrip().endswith("?")


def asks_for_assessment(action: str, quote: str) -> bool:
    """Whether a request asks for an assessment of something it gives or names (a request for
    evaluation): ``"Let us know your thoughts"``, ``"Does this work for you?"``, ``"Please review the
    scope"``, ``"Can you confirm the dates?"``; ``"Could you send the SOC 2 report?"`` does not."""
    return bool(_ASKS_ASSESSMENT.search(action) or _ASKS_ASSESSMENT.search(quote))


LATER_TURNS = 100
"""Turns after a request that are read for its answer: an answer comes within a few turns, and a
meeting of short turns packs hundreds into the character window
(:data:`store.fulfilment_rules.LATER_WINDOW_CHARS`)."""


def find_answer(
    request: Request,
    later: Sequence[LaterText],
    promises: Sequence[Promise],
    internal_domains: set[str] | frozenset[str],
    directory: Mapping[str, str] | None = None,
) -> Answer | None:
    """The first turn of ours after the request that addresses it (see the module docstring), or ``None``.

    ``later``: the rest of the request's document (first, even when empty: a
    wh-question's answer by a statement alone must be in it), then the later
    documents of its thread, in order. ``promises``: our stored commitments
    from those documents. ``directory`` (lowercased name → email) places
    speakers known only by name, as in a meeting transcript.
    """
    want = _topic(request.action) | _topic(request.quote)
    informational = asks_for_information(request.action, request.quote)
    asked = informational and request.quote.rstrip().endswith("?")
    yes_no = asked and not _wh_question(request.quote)
    wh = asked and _wh_question(request.quote) and not _PROPOSAL.search(request.quote)
    conversation = later[0].message_id if later else None  # the request's own document
    next_turn = True  # no one but the asker, without a further question, has spoken since the request
    evaluation = asks_for_assessment(request.action, request.quote)
    adjacent = True
    replying, we_spoke = True, False  # still our reply: see "It assesses" in the module docstring
    made = _Promises(promises)
    names = directory if directory is not None else {}  # never `or`: a NameIndex's length reads it whole
    for n, turn in enumerate(_turns(later, request, internal_domains, names)):
        if n >= LATER_TURNS:
            return None
        asker = turn.who is not None and turn.who == request.asker
        if not turn.ours and (we_spoke or not asker):
            replying = False
        if asker:
            next_turn = next_turn and not any(s.text.endswith("?") for s in turn.sentences)
            continue  # the asker's own follow-up ("bumping this one") keeps our reply the direct one
        if not turn.ours:
            adjacent = next_turn = False
            continue
        for p in made.within(turn):
            shared = len(want & (_topic(p.action) | _topic(p.quote)))
            if shared >= min(2, len(want)) or (adjacent and _ANAPHOR.search(p.action)):
                return Answer(p.message_id, p.quote, p.char_start, p.commitment_id)
        if informational:
            hit = _statement_answer(turn, want, adjacent and yes_no)
            if hit is None and wh and next_turn and turn.message_id == conversation:
                hit = _declarative_answer(turn)
            if hit is not None:
                return hit
        if evaluation and replying:
            hit = _assessment(turn)
            if hit is not None:
                return hit
        adjacent = next_turn = False
        we_spoke = True
    return None


def _assessment(turn: _Turn) -> Answer | None:
    """The first sentence of ``turn`` that evaluates or confirms (:data:`_ASSESSMENT`), if one does:
    not a question, a promise, a deferral or a hedge."""
    for s in turn.sentences:
        if not s.text.endswith("?") and not _NOT_AN_ANSWER.search(s.text) and _ASSESSMENT.search(s.text):
            return Answer(turn.message_id, s.text, s.start)
    return None


def _statement_answer(turn: _Turn, want: set[str], direct_yes_no: bool) -> Answer | None:
    """The sentence of ``turn`` that answers a question about ``want``, if the turn does.

    ``direct_yes_no``: the turn comes right after a yes/no question, so an opening "Yes" answers it.
    """
    said = [s for s in turn.sentences if not (_GREETING.match(s.text) and len(s.text.split()) <= 6)]
    statements = [s for s in said if not s.text.endswith("?") and not _NOT_AN_ANSWER.search(s.text)]
    if not statements:
        return None
    opens = said[0] in statements and bool(_OPENER.match(said[0].text))
    best = max(statements, key=lambda s: len(want & s.words))
    shared = len(want & frozenset().union(*(s.words for s in statements)))
    if shared >= min(2, len(want)) or (shared and opens):
        return Answer(turn.message_id, best.text, best.start)
    if opens and direct_yes_no:
        return Answer(turn.message_id, said[0].text, said[0].start)
    return None


def _declarative_answer(turn: _Turn) -> Answer | None:
    """The first sentence of ``turn`` when the turn is a plain declarative statement, else ``None``.

    Past an opening salutation, every sentence must be a statement: not a question, a promise, a
    deferral or a hedge (:data:`_NOT_AN_ANSWER`). A turn opening with a bare "yes"/"no" does not answer
    the wh-question it follows ("Yes, talk soon.").
    """
    said = [s for s in turn.sentences if not (_GREETING.match(s.text) and len(s.text.split()) <= 6)]
    if not said or _POLAR.match(said[0].text):
        return None
    if any(s.text.endswith("?") or _NOT_AN_ANSWER.search(s.text) for s in said):
        return None
    return Answer(turn.message_id, said[0].text, said[0].start)


def _topic(text: str) -> set[str]:
    return {w for w in keywords(text) if w not in _QUESTION_WORDS}


def _wh_question(quote: str) -> bool:
    """A question asking *what*/*when*/*how*...: "yes" alone does not answer it."""
    question = re.split(r"(?<=[.!:])\s+", quote.strip())[-1]
    return bool(re.search(r"\b(?:what|which|when|where|who|whom|whose|how|why)\b", question, re.IGNORECASE))


def _turns(
    later: Sequence[LaterText],
    request: Request,
    internal: set[str] | frozenset[str],
    directory: Mapping[str, str],
) -> Iterator[_Turn]:
    """The turns of ``later`` in order: consecutive sentences of one speaker within one document.

    A speaker known by name only is placed by ``directory``; the sentences themselves are kept as
    given (what they compute once, :attr:`Sentence.words`, is shared by every request that reads them).
    """
    for doc in later:
        current: list[Sentence] = []
        who: str | None = None
        email: str | None = None  # the current turn's speaker's email
        for sent in doc.sentences:
            said_by = sent.speaker_email
            if sent.speaker and not said_by:
                said_by = directory.get(" ".join(sent.speaker.lower().split()))
            speaker = person_key(said_by, sent.speaker) or person_key(doc.sender_email, doc.sender)
            if current and speaker != who:
                yield _turn(doc, who, current, email, request, internal)
                current = []
            if not current:
                email = said_by
            who = speaker
            current.append(sent)
        if current:
            yield _turn(doc, who, current, email, request, internal)


def _turn(
    doc: LaterText,
    who: str | None,
    sentences: list[Sentence],
    email: str | None,
    request: Request,
    internal: set[str] | frozenset[str],
) -> _Turn:
    """One turn; ``email``: its speaker's, where the directory knows it and the sentence does not."""
    first = sentences[0]
    speaker = Sentence(first.text, first.start, first.speaker, email)
    ours = by_us(speaker, doc, request.owner, request.owner_email, internal)
    return _Turn(doc.message_id, who, ours, tuple(sentences))


def person_key(email: str | None, name: str | None) -> str | None:
    """How :class:`Request.asker` names a person: the email lowercased, else the name lowercased."""
    if email:
        return email.strip().lower()
    return " ".join(name.lower().split()) if name else None
