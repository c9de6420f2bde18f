"""Linguistic cues for commitments and requests.

Each cue is a small, general pattern from the linguistics of commitments
(speech acts), not a rule fitted to any example sentence:

* **commissives** (commitments): first-person subject plus future/volitional
  modality ("I'll", "we will", "I'm going to", "let me", "happy to", "will
  do", "I can take"), a named owner with a future ("Marco will send"), an
  action-item line ("Action item: Priya to schedule ..."), or a passive future
  of a delivery verb ("the notes will be posted") said by the sender;
* **directives** (requests): questions, "please", modal questions addressed to
  the reader ("can/could/would you", "can anyone"), "let me know", indirect
  asks ("I was wondering if", "I'd appreciate it if you"), imperatives;
* **blockers**: hedges ("I might", "maybe I'll"), self-conditions ("if I get a
  chance"), declines ("I can't", "we won't"), past tense and perfect ("I sent",
  "I've attached": already done), states rather than actions ("I'll be out of
  the office"), pleasantries and rhetorical questions, boilerplate.

``analyze(sentence)`` returns a :class:`Cues`; ``Cues.names()`` lists the cues
that fired, which the detector model also uses as features.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields

_I = re.IGNORECASE


def _has_any(low: str, keys: tuple[str, ...]) -> bool:
    for k in keys:
        if k in low:
            return True
    return False


class _Gated:
    """A case-insensitive pattern searched only when one of its key substrings occurs.

    Python's ``re`` tries every alternative at every position; most sentences
    hold none of the words a cue needs, so a substring test first keeps the
    extractor fast. Each key must occur in (the lower-cased form of) any text
    the pattern can match. ``low`` is the lower-cased text when the caller has it.
    """

    __slots__ = ("keys", "rx")

    def __init__(self, keys: tuple[str, ...], pattern: str) -> None:
        self.keys = keys
        self.rx = re.compile(pattern, _I)

    def search(self, text: str, low: str | None = None) -> re.Match[str] | None:
        if not _has_any(text.lower() if low is None else low, self.keys):
            return None
        return self.rx.search(text)

    def finditer(self, text: str, low: str | None = None) -> list[re.Match[str]]:
        if not _has_any(text.lower() if low is None else low, self.keys):
            return []
        return list(self.rx.finditer(text))


class _AnyOf:
    """Several gated patterns; ``search`` returns the first match."""

    __slots__ = ("parts",)

    def __init__(self, *parts: _Gated) -> None:
        self.parts = parts

    def search(self, text: str, low: str | None = None) -> re.Match[str] | None:
        low = text.lower() if low is None else low
        for g in self.parts:
            m = g.search(text, low)
            if m:
                return m
        return None

    def finditer(self, text: str, low: str | None = None) -> list[re.Match[str]]:
        low = text.lower() if low is None else low
        out: list[re.Match[str]] = []
        for g in self.parts:
            out.extend(g.finditer(text, low))
        return out


# Delivery / work verbs that typically head a promised or requested action.
ACTION_VERBS = frozenset(
    """add adjust answer approve arrange ask attach book bring call cancel change check circulate clarify
    coordinate collect compile complete confirm connect contact create dig discuss do double-check draft
    drop email e-mail escalate explain file find finalize fix follow forward get give go have help
    include investigate invite let look loop make move note notify organize organise pass phone ping
    pick post prepare present print provide publish pull push put raise reach read reply report
    request reschedule resend respond return review revise run schedule send set setup share ship sign
    sort speak start submit summarize take talk test tell touch try update upload verify walk work
    write mention think consider decide hold host join come meet suggest investigate answer assign
    draw keep remind inform enlighten express represent""".split()
)

_FP_FUTURE = _AnyOf(
    _Gated(
        ("'ll", "’ll", "will", "shall", "going to", "plan", "intend", "promise", "commit", "aim to"),
        r"\b(?:i|we)(?:'ll|’ll| will| shall|'m going to|’m going to| am going to|'re going to|’re going to"
        r"| are going to| plan to| intend to| promise to| commit to| aim to| want to make sure| still plan to"
        r"| will make sure|'ll make sure| am planning to|'m planning to| are planning to"
        r"|'re planning to| plan on| am planning on|'m planning on| expect to| are planning on"
        r"|'re planning on)\b(?! not\b)",
    ),
    _Gated(
        ("make sure", "expect to"),
        r"\b(?:i|we)(?: want to make sure| expect to)\b(?! not\b)",
    ),
    _Gated(
        ("will", "shall"),
        r"\b(?:i|we)\s+(?!was\b|were\b|had\b|did\b)\w+[^.?!;:]{0,60}?\s+and\s+(?:will|shall)\s+"
        r"(?!be\b|not\b|never\b)\w+",
    ),
    _Gated(
        (
            "sending",
            "faxing",
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
        r"\b(?:i|we)(?:'m|’m| am|'re|’re| are)\s+(?:also\s+|now\s+|currently\s+|just\s+)?(?:sending|faxing"
        r"|forwarding|checking|looking into|putting together|preparing|setting up|following up|reaching out"
        r"|scheduling|arranging|drafting|working on|pulling together)\b",
    ),
)
_FP_OFFER = _AnyOf(
    _Gated(
        ("happy", "glad", "willing", "pleased", "prepared", "available"),
        r"\b(?:i|we)(?:'d| would|'m| am|'re| are| will be|'ll be)\s+(?:more than\s+|very\s+|really\s+)?"
        r"(?:happy|glad|willing|pleased|prepared|available)\s+to\b"
        r"|\b(?:happy|glad|willing)\s+to\s+(?!hear|see|help\s+if|report)\w+",
    ),
    _Gated(
        ("can", "could"),
        r"\b(?:i|we)\s+(?:can|could)\s+(?:offer|volunteer|take|send|do|check|test|provide|set|get|share"
        r"|help|draft|write|put|add|arrange|look|follow|prepare|reach|host|hold|organi[sz]e|investigate|ask"
        r"|update|run|bring|change|make|confirm|forward|email|call|schedule|book)\b",
    ),
    _Gated(
        (
            "let me",
            "allow me",
            "let us",
            "will do",
            "on it",
            "with me",
            "consider it",
            "take care",
            "handle",
            "own",
            "volunteer",
            "count me",
        ),
        r"\b(?:let me|allow me to)\s+(?!know\b)\w+"
        r"|\bwill do\b|\bi'm on it\b|\bi am on it\b|\bleave it with me\b|\bconsider it done\b"
        r"|\bi(?:'ll| will) (?:take care|handle|own)\b|\bi volunteer\b|\bcount me in\b",
    ),
)
_FP_NEED = re.compile(
    r"\b(?:i|we)\s+(?:still\s+|also\s+|really\s+)?(?:need to|have to|must)\s+(?!be\b|know\b|have\b|say\b"
    r"|admit\b)\w+",
    _I,
)
# Subjectless chat replies: "Will do", "Sure, will send it today", "On it!", "Can do".
_BARE_WILL = re.compile(
    r"^(?:(?:ok|okay|sure|yes|yep|yup|sounds good|great|thanks|np|no problem)[,!.]?\s+)?"
    r"(?:will\s+(?!be\b|not\b)\w+|on it\b|can do\b)",
    _I,
)
_PASSIVE_FUTURE = _Gated(
    ("will",),
    r"\bwill\s+be\s+(?:sent|posted|circulated|shared|provided|distributed|published|updated|forwarded"
    r"|available|delivered|uploaded|scheduled|announced|added|included|ready|done|fixed|emailed)\b",
)
_ACTION_ITEM = re.compile(
    r"^\W*(?:action\s*items?|ai|todo|to-do|to do|next steps?|follow[- ]ups?)\s*[:\-–]", _I
)

# Blockers.
_HEDGE = re.compile(
    r"\b(?:i|we)(?:\s+(?:might|may|could possibly|probably will|will probably|will possibly)"
    r"|'ll (?:probably|possibly))\b"
    r"|\b(?:maybe|perhaps|possibly)\s+(?:i|we)\b|\bnot sure (?:if|whether|that) (?:i|we)\b"
    r"|\b(?:i|we)(?:'ll| will)\s+(?:see|think about)\b|\bhopefully\b|\bi hope to\b",
    _I,
)
_SELF_COND = re.compile(
    r"(?<!see )(?<!check )(?<!out )(?<!ask )(?<!know )(?<!wonder )"
    r"\bif\s+(?:i|we)\s+(?:can|could|have (?:the )?time|get (?:a |the )?chance|get around|manage"
    r"|find (?:the )?time"
    r"|am able|are able|'m able|'re able|remember)\b"
    r"|\bif\s+(?:time|possible|needed|necessary)\b|\btime permitting\b",
    _I,
)
_DECLINE = re.compile(
    r"\b(?:i|we)\s*(?:won't|wont|will not|can't|cant|cannot|can not|couldn't|could not|am not able"
    r"|'m not able|are not able|'re not able|am unable|'m unable|are unable|'re unable|shall not"
    r"|'m not going to|am not going to|are not going to|'re not going to|'ll not|do not plan|don't plan)\b"
    r"|\bunfortunately\b|\bnot be able to\b|\bno longer\b|\bhave to decline\b"
    r"|\bnot (?:willing|prepared|happy|able|in a position|going) to\b|\bunwilling to\b",
    _I,
)
_PAST = re.compile(
    r"\b(?:i|we)\s+(?:have|'ve|’ve|had|'d)\s+(?:already\s+|just\s+)?(?:\w+ed|sent|done|made|written"
    r"|given|taken"
    r"|put|set|told|spoken|met|got|gotten|shared|read|run|begun|built|found|left|heard|seen)\b"
    r"|\b(?:i|we)\s+(?:already|just)\s+\w+|\b(?:i|we)\s+(?:sent|did|was|were|made|wrote|gave|took|told|spoke"
    r"|met|got|shared|forwarded|attached|called|emailed|submitted|posted|talked|mentioned|informed"
    r"|checked|asked|went|thought|decided|agreed|tried|went|held)\b"
    r"|\balready\b|\battached (?:is|are|please find)\b|\bplease find attached\b|\benclosed (?:is|are)\b",
    _I,
)
_STATE_FUTURE = re.compile(
    r"\b(?:i|we)(?:'ll|’ll| will| shall|'m going to| am going to|'re going to| are going to)\s+"
    r"(?:be\s+(?:out|away|off|on (?:vacation|holiday|leave|pto)"
    r"|traveling"
    r"|travelling|in (?:the office|town|the air)|back|unavailable|offline|late|there|around|here|in\b)"
    r"|need\b|miss\b|remember\b|never\b|always\b|see\b|be\s+\w+ing\s+(?:in|at|to)\b)",
    _I,
)
_FUTURE_MEANING_NOT_PROMISE = re.compile(
    r"\b(?:i|we)(?:'ll|’ll| will)\s+(?:be (?:happy|glad|pleased|sorry|fine|ok|okay|interested|curious"
    r"|grateful)"
    r"\s+(?:if|when|that|for)|be\s+(?:grateful|interested)\b|assume\b|let you know if\b)"
    r"|\b(?:i(?:'ll| will)|let me)\s+(?:just\s+|now\s+)?(?:start (?:with|by|off)|begin (?:with|by)"
    r"|share my screen"
    r"|pull (?:it |that )?up|hand (?:it )?over|turn it over|keep an eye|stop sharing|stop there"
    r"|leave it there)\b"
    r"|\b(?:pleased|happy|glad|delighted|proud|excited) to (?:announce|say|report|inform|extend|introduce"
    r"|welcome|share that|hear|see|note|learn)\b"
    r"|\b(?:let me|allow me to|i(?:'ll| will) just)\s+(?:introduce|explain|clarify|say|add|point out"
    r"|remind|note"
    r"|summari[sz]e|be clear|start by|begin by|repeat|rephrase|quote|ask)\b",
    _I,
)

# Directives.
_YOU_MODAL = _Gated(
    ("you", "u", "ya", "any", "some", "every", "people", "possible", "chance"),
    r"\b(?:can|could|would|will|won't|wouldn't|do|did|might|may)\s+(?:you|u|y'all|ya|anyone|anybody|someone"
    r"|somebody|everyone|everybody|people|all of you|one of you|any of you)\b"
    r"|\bare you (?:able|willing|still up|ok|okay|free|available)\b|\bwould it be possible\b"
    r"|\bwould you mind\b|\bdo you mind\b|\bis it possible\b|\bany chance\b",
)
_YOU_SHOULD = _Gated(
    ("you", "anyone", "someone", "somebody", "everyone"),
    r"\b(?:you|anyone|someone|somebody|everyone)\s+(?:could|can|should|need to|must|might want to"
    r"|will need to)\b",
)
_OFFER_Q = re.compile(
    r"^\W*(?:does|do|would|will)\s+(?:anyone|anybody|someone|you|everyone)\s+(?:need|want|like)\b", _I
)
_PLEASE = _Gated(("please", "pls", "plz", "kindly"), r"\b(?:please|pls|plz|kindly)\b")
_PLEASE_BOILER = re.compile(
    r"\bplease (?:excuse|forgive|pardon|accept my apolog)|^\W*please do\W*$"
    r"|\bplease (?:find|see) (?:attached|enclosed|below)\b|\bplease do(?: not|n't) hesitate\b"
    r"|\bplease (?:do not|don't) reply\b|\bplease consider the environment\b|\bplease notify the sender\b",
    _I,
)
_LET_KNOW = _Gated(
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
        "looking forward",
    ),
    r"\blet (?:me|us|them|him|her|the \w+|everyone|people)\s+know\b|\bget back to (?:me|us)\b"
    r"|\bkeep (?:me|us) posted\b"
    r"|\bsend (?:me|us)\b|\bping (?:me|us)\b|\bgive (?:me|us) a (?:call|shout|ring)\b"
    r"|\b(?:drop|shoot) (?:me|us) (?:a|an) \w+\b|\breach out to (?:me|us)\b"
    r"|\blooking forward to (?:your|hearing)\b",
)
_INDIRECT = _AnyOf(
    _Gated(("wonder",), r"\b(?:i|we)\s+(?:was|were|am|are|'m|'re)?\s*(?:just\s+)?wonder(?:ing)?\b"),
    _Gated(
        ("appreciate", " if"),
        r"\b(?:i|we)(?:'d| would| will|'ll)\s+(?:really\s+)?(?:appreciate|be (?:glad|grateful|thankful"
        r"|happy) if)\b",
    ),
    _Gated(
        ("need", "want", "like", "require"),
        r"\b(?:i|we)(?:\s+(?:need|want|would like)|'d like|\s+'d like)\s+(?:you|someone|somebody|one of you"
        r"|everyone)\s+to\b"
        r"|\b(?:i|we)(?:\s+(?:need|want|would like|wanted)|'d like)\s+to\s+(?:ask|invite|discuss"
        r"|check with you|follow up with you)\b"
        r"|\b(?:i|we)\s+(?:need|require)\s+(?:a|an|the|your|some|more)\b|\bi(?:'d| would) like to (?:get"
        r"|ask|see|have|know|request)\b",
    ),
    _Gated(
        ("welcome", "appreciated", "accepted", "wanted", "needed", "solicited", "invited"),
        r"\b(?:comments|feedback|thoughts|input|suggestions|ideas|offers|volunteers|help|questions|reviews"
        r"|corrections|contributions)(?:\s+(?:on|about|to|for|from|of)\s+[\w\s'-]{1,40}?)?\s+(?:are\s+"
        r"|is\s+|would be\s+)?(?:always\s+|most\s+|very\s+"
        r"|gratefully\s+"
        r"|greatly\s+|much\s+)?(?:welcome|appreciated|accepted|wanted|needed|solicited|invited)\b",
    ),
    _Gated(
        ("would be",),
        r"\bit would be (?:great|good|nice|helpful|useful|best) (?:if|to)\b|\bwould be (?:appreciated"
        r"|beneficial)\b|\bwould be (?:best|preferable|ideal|great|good|helpful)\b",
    ),
    _Gated(
        ("make sure", "forget", "remember to", "be sure to", "feel free to"),
        r"\bmake sure (?:you|to)\b"
        r"|\bdon't forget\b|\bdo not forget\b|(?:^\W*|\bplease\s+|\byou\s+)remember to\b|\bbe sure to\b"
        r"|\bfeel free to\b",
    ),
    _Gated(
        ("looking for", "trying to find", "can i", "may i", "question", "not sure", "any "),
        r"\bi(?:'m| am) (?:looking for|trying to find)\b|\bcan i (?:get|ask|have)\b|\bmay i\b"
        r"|^\W*(?:quick|one|a|another) question\b"
        r"|\bi(?:'m| am)\s+(?:just\s+)?not sure (?:what|how|why|where|which|who)\b"
        r"|\bany (?:thoughts|ideas|comments|suggestions|feedback|update|news|objections|volunteers|takers"
        r"|offers)\b",
    ),
)
_INTERROGATIVE = re.compile(
    r"^(?:is|are|was|were|do|does|did|can|could|would|will|should|has|have|shall|may)\s+"
    r"(?:i|you|we|they|he|she|it|this|that|these|those|there|anyone|anybody|everyone|someone|people|any"
    r"|the)\b"
    r"|^(?:is|are|does|did|can|could|should|would)\s+(?!be\b|you have\b|not\b)[a-z0-9]+\s+[a-z]+"
    r"|^(?:what|where|when|who|whom|whose|how|why|which)(?:'s|\s+(?:is|are|was|were|do|does|did|can|could"
    r"|would|will|should|has|have|about|exactly|else)\b)",
    _I,
)
_PURPOSE = re.compile(r"\bso(?:\s+that)?\s+(?:i|we)\s+(?:can|could|will|'ll)\b", _I)
_SUBORDINATE = re.compile(
    r"\b(?:if|unless|whether|when|once|until|whenever|only way|the way|what|how|why)\s+(?:i|we)"
    r"(?:'ll|’ll|\s+(?:will|are going to|can|could|shall|am going to|plan to|would))\b"
    r"|\b(?:which|who)\s+(?:i|we)\s+(?:can|could)\b",  # a relative clause: "the tool which I can run"
    _I,
)
_ANYONE = re.compile(r"\b(?:anyone|anybody|someone|somebody|somone|any of you|does any one)\b", _I)
_LETS = _Gated(("let",), r"\blet's\b|\blet us (?!know\b)\w+")
_PLEASANTRY = re.compile(
    r"^\W*(?:how are (?:you|things)|how(?:'s| is) (?:it going|everything|your (?:week|day|weekend))"
    r"|how have you been"
    r"|(?:can|could) (?:you|everyone|everybody|people) (?:all )?(?:hear|see) (?:me|us|my screen)"
    r"|is my (?:screen|audio|mic)|hope (?:you|all|this|everything)|what's up|how was (?:your"
    r"|the) (?:weekend|trip|holiday|vacation))",
    _I,
)
_RHETORICAL = re.compile(
    r"\bneed (?:i|we) say more\b|\bwhat could (?:possibly )?go wrong\b|\bwhy bother\b|^\W*because\b.*\?\W*$"
    r"|[\"”]\s*\?|\?\s*[\"”]\W*$"
    r"|\b(?:who cares|who knows|what's the point|why not|isn't it|aren't they|wasn't it"
    r"|don't you think|right)\?\W*$"
    r"|^\W*(?:guess what|you know what|what else)\b|\?!|!\?"
    r"|^\W*why\s+(?!not\b|do\b|does\b|did\b|is\b|are\b|was\b|were\b|would\b|should\b|can\b|could\b"
    r"|will\b|has\b|have\b|had\b|isn't\b|aren't\b|don't\b|doesn't\b|didn't\b|won't\b|wouldn't\b)[a-z]+\b.*\?"
    r"|\b(?:do|did) you (?:really|seriously|honestly) (?:mean|think|believe|expect|want)\b",
    _I,
)
_GREETING = re.compile(
    r"^\W*(?:hi|hello|hey|dear|thanks|thank you|cheers|regards|best|all|folks|team|ok|okay|sure|yes|no|great)"
    r"\b[^\s]*\s*",
    _I,
)
_VOCATIVE = re.compile(r"^\W*(?:@?[A-Z][\w.'-]{1,20}(?:\s+[A-Z][\w.'-]{1,20})?)\s*(?:[,:]|\s[-–—]\s)\s*")
_FIRST_WORD = re.compile(r"^\W*([A-Za-z][a-z'-]*)")
_BOILERPLATE = re.compile(
    r"^\s*file \"[^\"]+\", line \d+|\btraceback \(most recent call last\)|^\s*at [\w.$]+\([\w.]+:\d+\)"
    r"|\bunsubscribe\b|\bsent from my (?:iphone|ipad|android|blackberry|mobile|phone|galaxy)\b"
    r"|\bget outlook for\b|\bconfidential(?:ity)?\b.*\b(?:intended|recipient)\b|\bintended recipient\b"
    r"|\bthis (?:e-?mail|message) (?:and any attachments )?(?:is|may be|contains)\b"
    r"|\bdisclaimer\b|\bprivileged\b.*\binformation\b|\bcopyright\b|\ball rights reserved\b"
    r"|\bthis (?:communication|transmission)\b|\bdelete it from your\b|\bvirus(?:es)? (?:free|scan)"
    r"|\bview (?:this email )?in (?:your )?browser\b|\bclick here\b|\bmanage (?:your )?preferences\b"
    r"|^\W*(?:-- ?|__+|==+)\s*$|^\W*(?:on .{5,80} wrote:|-+ ?original message ?-+|from: .+|sent: .+|to: .+"
    r"|subject: .+|cc: .+)\s*$",
    _I,
)
_SIGNOFF = re.compile(
    r"^\W*(?:thanks|thank you|thx|cheers|regards|best|best regards|kind regards|warm regards"
    r"|sincerely|br|ttyl"
    r"|talk soon|all the best|many thanks|have a (?:good|great|nice) \w+)\W*(?:\w+\W*)?$",
    _I,
)


@dataclass(frozen=True, slots=True)
class Cues:
    """Which cues fired in one sentence."""

    question: bool = False
    please: bool = False
    you_modal: bool = False
    you_should: bool = False
    offer_q: bool = False
    let_know: bool = False
    indirect: bool = False
    anyone: bool = False
    imperative: bool = False
    lets: bool = False
    fp_future: bool = False
    fp_offer: bool = False
    fp_need: bool = False
    bare_will: bool = False
    passive_future: bool = False
    action_item: bool = False
    hedge: bool = False
    self_cond: bool = False
    decline: bool = False
    past: bool = False
    state_future: bool = False
    not_promise: bool = False
    pleasantry: bool = False
    rhetorical: bool = False
    boilerplate: bool = False
    signoff: bool = False

    def names(self) -> list[str]:
        return [f.name for f in fields(self) if getattr(self, f.name)]

    @property
    def commissive(self) -> bool:
        return self.fp_future or self.fp_offer or self.bare_will or self.action_item or self.offer_q

    @property
    def directive(self) -> bool:
        return (
            self.question
            or self.please
            or self.you_modal
            or self.let_know
            or self.indirect
            or self.imperative
            or (self.anyone and self.question)
        )


_LEAD_PAREN = re.compile(r"^\([^)]{1,40}\)\s*")
_LEAD_CONJ = re.compile(r"^(?:and|then|also|so|or|but|plus|oh|anyway|ps|p\.s\.)\b[,:]?\s+", _I)


def strip_lead(sentence: str) -> str:
    """The sentence without a leading bullet, greeting or vocative ("Jan - ", "Dana, ")."""
    s = sentence.lstrip(" \t-*•>·#0123456789.)[]xX")
    s = _LEAD_PAREN.sub("", s)
    s = _LEAD_CONJ.sub("", s)
    for _ in range(2):
        m = _VOCATIVE.match(s)
        if m and len(s) - m.end() > 8:
            s = s[m.end() :]
            continue
        m = _GREETING.match(s)
        if (
            m
            and m.end() < len(s)
            and len(s) - m.end() > 8
            and s[m.end() - 1] in ",!:- "
            and m.group(0).strip()
        ):
            if s[: m.end()].rstrip().endswith((",", "!", ":", "-")):
                s = s[m.end() :]
                continue
        break
    return s


def first_word(sentence: str) -> str:
    m = _FIRST_WORD.match(sentence)
    return m.group(1).lower() if m else ""


def _inside_quotes(sentence: str, pos: int) -> bool:
    before = sentence[:pos]
    return before.count('"') % 2 == 1 or before.count("“") > before.count("”")


def _main_clause(pat: _AnyOf, sentence: str, low: str) -> bool:
    """True when ``pat`` matches outside quotes and outside a purpose or conditional clause."""
    for m in pat.finditer(sentence, low):
        a = m.start()
        if _inside_quotes(sentence, a):
            continue  # reported or quoted speech: someone else's words
        window = sentence[max(0, a - 12) : m.end()]
        if _PURPOSE.search(window) or _SUBORDINATE.search(sentence[max(0, a - 20) : m.end() + 4]):
            continue
        return True
    return False


_QMARK_END = re.compile(r"\?\s*[)\"'”]?\s*(?:[:;)(]-?[)(DP]|:-?\))?$")
_NEG_IMPERATIVE = re.compile(
    r"^\W*(?:don't|do not)\s+(?:forget|bookmark|send|share|use|reply|post|"
    r"wait|hesitate|worry|change|delete|forward)\b",
    _I,
)
# "Review is done", "Work we did": a noun, not a verb, when a subject pronoun or "is" follows.
_NOT_IMPERATIVE = re.compile(r"^\W*\w+\s+(?:i|we|they|he|she|is|are|was|were|has|have)\b", _I)
_LIGHT_IMPERATIVE = re.compile(
    r"^\W*(?:let (?:me|us|them) know|have a look|take a look|do (?:not|n't)|go (?:ahead|to)"
    r"|come (?:to|join)|get (?:me|us|back|in touch)|make sure|keep (?:me|us)"
    r"|take (?:a|the|care))\b",
    _I,
)
_LIGHT_VERBS = frozenset(("let", "have", "do", "go", "come", "get", "make", "keep", "take"))
_TRIGGERS: tuple[_Gated | _AnyOf, ...] = (
    _FP_FUTURE,
    _FP_OFFER,
    _PLEASE,
    _YOU_MODAL,
    _YOU_SHOULD,
    _LET_KNOW,
    _INDIRECT,
    _PASSIVE_FUTURE,
    _LETS,
)


def _is_question(sentence: str, body: str) -> bool:
    stripped = sentence.rstrip()
    return stripped.endswith("?") or bool(_INTERROGATIVE.match(body)) or bool(_QMARK_END.search(stripped))


def _triggered(sentence: str, body: str, low: str, question: bool) -> bool:
    if question or _ACTION_ITEM.match(sentence) or _BARE_WILL.match(body):
        return True
    fw = first_word(body)
    if fw in ACTION_VERBS or fw in ("don't", "do"):
        return True
    for pat in _TRIGGERS:
        if pat.search(sentence, low):
            return True
    return bool(_OFFER_Q.match(body))


def triggered(sentence: str) -> bool:
    """Cheap gate: could this sentence be a commitment or a request at all?

    True when any commissive or directive cue fires (the blockers are not
    computed). A sentence with no trigger never yields an item, so the
    extractor skips the rest of the analysis and the model for it.
    """
    body = strip_lead(sentence)
    return _triggered(sentence, body, sentence.lower(), _is_question(sentence, body))


def analyze(sentence: str) -> Cues:
    """The cues in one sentence."""
    cues = _analyze(sentence, gate=False)
    assert cues is not None
    return cues


def analyze_gated(sentence: str) -> Cues | None:
    """The cues in one sentence, or ``None`` when no trigger fires (see :func:`triggered`)."""
    return _analyze(sentence, gate=True)


def _analyze(sentence: str, *, gate: bool) -> Cues | None:
    body = strip_lead(sentence)
    low = sentence.lower()
    question = _is_question(sentence, body)
    if gate and not _triggered(sentence, body, low, question):
        return None
    fw = first_word(body)
    if fw in ("don't", "do") and _NEG_IMPERATIVE.match(body):
        fw = "send"  # negative imperative
    imperative = fw in ACTION_VERBS and not _NOT_IMPERATIVE.match(body)
    if imperative and fw in _LIGHT_VERBS:
        imperative = bool(_LIGHT_IMPERATIVE.match(body))
    return Cues(
        question=question,
        please=bool(_PLEASE.search(sentence, low)) and not _PLEASE_BOILER.search(sentence),
        you_modal=bool(_YOU_MODAL.search(sentence, low)),
        you_should=bool(_YOU_SHOULD.search(sentence, low)),
        offer_q=bool(_OFFER_Q.match(body)),
        let_know=bool(_LET_KNOW.search(sentence, low)),
        indirect=bool(_INDIRECT.search(sentence, low)),
        anyone=bool(_ANYONE.search(sentence)),
        imperative=imperative,
        lets=bool(_LETS.search(sentence, low)),
        fp_future=_main_clause(_FP_FUTURE, sentence, low),
        fp_offer=_main_clause(_FP_OFFER, sentence, low),
        fp_need=bool(_FP_NEED.search(sentence)),
        bare_will=bool(_BARE_WILL.match(body)),
        passive_future=bool(_PASSIVE_FUTURE.search(sentence, low)),
        action_item=bool(_ACTION_ITEM.match(sentence)),
        hedge=bool(_HEDGE.search(sentence)),
        self_cond=bool(_SELF_COND.search(sentence)),
        decline=bool(_DECLINE.search(sentence)),
        past=bool(_PAST.search(sentence)),
        state_future=bool(_STATE_FUTURE.search(sentence)),
        not_promise=bool(_FUTURE_MEANING_NOT_PROMISE.search(sentence)),
        pleasantry=bool(_PLEASANTRY.search(body)),
        rhetorical=bool(_RHETORICAL.search(sentence)),
        boilerplate=bool(_BOILERPLATE.search(sentence)),
        signoff=bool(_SIGNOFF.match(sentence)),
    )
