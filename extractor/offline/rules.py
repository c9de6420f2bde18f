"""The decision layer: named hard rules first, then the calibrated detector.

:func:`decide` reads one sentence (or clause) and returns a :class:`Decision`:
whether it is a commitment and/or a request, the calibrated probability of
each class, the cues that fired, and the rule that decided with its reason.

The hard rules are few, ordered, and each says why (:data:`RULES`); the first
one that applies decides. What no rule decides, the detector decides: a class
is chosen when its calibrated probability reaches the head's threshold (the
threshold and its provenance live in the model file, chosen by
cross-validation on training data only; see :mod:`extractor.train`).

Direction (whose side acts, who is asked) is not decided here but from the
grammar and the speaker in :mod:`.extractor`; :class:`Context` only says
what the sentence's place tells (an action-item line, a message that opens
with a chase, a meeting turn).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from extractor.offline.cues import Cues, analyze
from extractor.offline.model import DetectorModel, Scores

Outcome = Literal["neither", "commitment", "request", "no_commitment", "no_request"]

# Cues that put an act in the future (a past-tense clause with one of these still promises).
_FUTURE = frozenset(
    {
        "fp_future",
        "fp_and_will",
        "team_future",
        "named_future",
        "bare_will",
        "take_on",
        "let_me",
        "fp_offer",
        "fp_can",
        "fp_progressive",
    }
)
# Cues that carry an act of their own beside a courtesy ("Thanks for the notes, I'll send the deck").
_ACTS = frozenset(
    {
        "fp_future",
        "fp_and_will",
        "team_future",
        "named_future",
        "bare_will",
        "take_on",
        "fp_can",
        "fp_progressive",
        "please",
        "you_modal",
        "let_know",
        "imperative",
        "indirect",
    }
)


# An ask put in so many words ("could you also send the MSA?"): after a chase it is still an ask.
_EXPLICIT_ASK = frozenset({"you_modal", "please", "imperative"})


@dataclass(frozen=True)
class Context:
    """What the sentence's place in the document tells.

    ``action_item``: a line under an "Action items" heading or starting "Action
    item:"; ``in_chase``: an earlier sentence of the same message chased an
    earlier ask ("Bumping this one"); ``meeting``: a turn of a meeting.
    """

    action_item: bool = False
    in_chase: bool = False
    meeting: bool = False


@dataclass(frozen=True)
class Rule:
    """A named hard rule: when ``applies`` is true, ``outcome`` holds, for ``meaning``."""

    name: str
    outcome: Outcome
    meaning: str
    applies: Callable[[Cues, Context], bool]


def _has(*names: str) -> Callable[[Cues, Context], bool]:
    return lambda c, _x: any(n in c for n in names)


RULES: tuple[Rule, ...] = (
    Rule(
        "boilerplate",
        "neither",
        "signature, disclaimer, reply header or newsletter text",
        _has("boilerplate"),
    ),
    Rule(
        "signoff",
        "neither",
        "a closing (thanks, regards), not an act",
        lambda c, _x: "signoff" in c and not c.fired & _ACTS,
    ),
    Rule(
        "backchannel",
        "neither",
        "an acknowledgement or backchannel (yeah, okay, go ahead)",
        lambda c, _x: "backchannel" in c and "question" not in c,
    ),
    Rule(
        "floor",
        "neither",
        "manages the conversation itself (share my screen, move on, who drives the demo)",
        lambda c, _x: "floor" in c and not c.fired & {"bare_will", "take_on"},
    ),
    Rule(
        "closing",
        "neither",
        "a closing formula (let me know if you need anything, talk soon), not an ask or a promise",
        _has("closing"),
    ),
    Rule(
        "pleasantry",
        "neither",
        "a courtesy: nothing is promised or asked",
        lambda c, _x: "pleasantry" in c and not c.fired & _ACTS,
    ),
    Rule(
        "action_item",
        "commitment",
        "a line of an action-item list assigns work",
        lambda c, x: (
            (x.action_item or "action_item" in c or "assigned" in c)
            and not ("past" in c and not c.fired & _FUTURE)
        ),
    ),
    Rule(
        "chase",
        "no_request",
        "chases an earlier ask: it attaches to that request, it is not a new one",
        lambda c, x: ("chase" in c or x.in_chase) and not c.fired & _EXPLICIT_ASK,
    ),
    Rule(
        "past_no_future",
        "no_commitment",
        "reports something already done, with no future act",
        lambda c, _x: "past" in c and not c.fired & _FUTURE,
    ),
    Rule(
        "question_not_promise",
        "no_commitment",
        "a question asks; it does not promise (an offer excepted)",
        lambda c, _x: "question" in c and "offer_q" not in c,
    ),
    Rule(
        "hedged",
        "no_commitment",
        "a hedge or a self-condition (maybe I'll, if I get a chance) binds no one",
        _has("hedge", "self_cond"),
    ),
    Rule(
        "state_not_act",
        "no_commitment",
        "the future of a state (I'll be out, we'll need), not an act",
        lambda c, _x: "state_future" in c and not c.fired & (_ACTS - {"fp_future"}),
    ),
    Rule(
        "not_addressed",
        "no_request",
        "a rhetorical, self-directed or bare tag question expects no work",
        _has("rhetorical", "self_question", "tag_question", "check_question"),
    ),
    Rule(
        "question",
        "request",
        "a question put to the addressee is owed an answer",
        lambda c, _x: "question" in c and "offer_q" not in c,
    ),
)
RULE_BY_NAME = {r.name: r for r in RULES}


@dataclass(frozen=True)
class Decision:
    """What one sentence is, and why."""

    commitment: bool
    request: bool
    scores: Scores
    cues: Cues
    rule: str
    reason: str

    @property
    def label(self) -> str:
        kinds = [k for k, on in (("commitment", self.commitment), ("request", self.request)) if on]
        return " + ".join(kinds) or "neither"


def decide(
    sentence: str, model: DetectorModel, context: Context | None = None, cues: Cues | None = None
) -> Decision:
    """Classify one sentence: the first applicable hard rule, then the calibrated thresholds."""
    ctx = context or Context()
    c = cues if cues is not None else analyze(sentence)
    s = model.scores(sentence, c)
    tc, tr = model.commitment.threshold, model.request.threshold
    commit: bool | None = None
    request: bool | None = None
    reasons: list[str] = []
    rule_names: list[str] = []
    for rule in RULES:
        if not rule.applies(c, ctx):
            continue
        if rule.outcome == "neither":
            return Decision(False, False, s, c, rule.name, rule.meaning)
        if rule.outcome == "commitment" and commit is None:
            commit = True
        elif rule.outcome == "no_commitment" and commit is None:
            commit = False
        elif rule.outcome == "request" and request is None:
            request = True
        elif rule.outcome == "no_request" and request is None:
            request = False
        else:
            continue
        rule_names.append(rule.name)
        reasons.append(rule.meaning)
    if commit is None:
        commit = s.commitment >= tc
        rule_names.append("detector")
        reasons.append(f"P(commitment)={s.commitment:.2f} {'>=' if commit else '<'} {tc:.2f}")
    if request is None:
        request = s.request >= tr
        if "detector" not in rule_names:
            rule_names.append("detector")
        reasons.append(f"P(request)={s.request:.2f} {'>=' if request else '<'} {tr:.2f}")
    return Decision(commit, request, s, c, "+".join(rule_names), "; ".join(reasons))
