"""The offline extractor: the embedded default backend (no network, no LLM).

Pipeline for one document:

1. **units** (:mod:`.units`, :mod:`.sentences`): the text (or each speaker
   turn) is split into sentences with exact offsets; quoted lines, reply
   headers, signatures, code and boilerplate are skipped; lines under an
   "Action items" heading are marked. A sentence that coordinates two acts
   ("I'll send the docs Tuesday, and Priya will walk you through it") is cut
   into one clause per act (:func:`clauses`).
2. **decision** (:mod:`.rules`): named hard rules, then the two calibrated
   heads of the detector (:mod:`.model`) with thresholds chosen by
   cross-validation on training data.
3. **direction**: who acts comes from the grammar: the writer or speaker ("I",
   "we", a subjectless "Will do"), their team ("Legal will"; the owner is the
   writer, the team stays in the action), or a named person ("Priya will").
   A commitment by someone on the customer's side is kept, owned by them and
   flagged ``customer_promise`` (never ours). A request is one made to us: a
   question or ask from our own side is not. With no company domains
   configured, every author is taken as "us" for commitments and their
   questions as requests made to the others present.
4. **resolution** (:mod:`extractor.people`, :mod:`.actions`, :mod:`.dates`): owner,
   counterparty, short imperative action, due date relative to ``occurred_at``.

Pre-filter API for the LLM backend: :meth:`OfflineExtractor.candidates`,
:meth:`~OfflineExtractor.score_text` and :meth:`~OfflineExtractor.plausible`.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import ClassVar

from extractor.base import Extractor
from extractor.offline import identity
from extractor.offline.actions import (
    ADDRESS,
    COMMIT_LEAD,
    LET_ME,
    REQUEST_LEAD,
    action_item_body,
    clause_start,
    make_action,
)
from extractor.offline.budget import Deadline, offline_budget_s
from extractor.offline.cues import (
    ACTION_VERB,
    NOT_NAMES,
    TEAM_SUBJECT,
    Cues,
    analyze,
    fluent,
    strip_lead,
    triggered,
)
from extractor.offline.dates import find_due, numeric_date_order
from extractor.offline.model import DetectorModel, Scores, default_model
from extractor.offline.rules import Context, Decision, decide
from extractor.offline.sentences import split_sentences
from extractor.offline.units import Unit, units
from extractor.people import NOBODY, Directory, People, Person
from followthrough.types import (
    AlignmentStatus,
    Evidence,
    ExtractedItem,
    ItemFlag,
    Participant,
    ParticipantRole,
    Segment,
    SourceDocument,
)

# A second act inside one sentence: ", and I'll", "; we will", " and Priya will", ", could you".
# " and" is tried where a run of white space starts (``(?<!\s)``) and reads it whole: a match never ends
# inside a run, so nothing is lost, and a long run is not reread from each of its characters.
_SECOND_ACT = re.compile(
    r"(?:[,;]\s*(?:and\s+|but\s+|then\s+|plus\s+|also\s+)?|(?<!\s)\s++(?:and|but|then|plus)\s+)"
    r"(?=(?:also\s+|then\s+)?(?:I|we|We|[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?(?:\s+from\s+\w+(?:\s+team)?)?"
    r"|[Oo]ur\s+(?:\w+\s+)?\w+|you)"
    r"(?:'ll|’ll|\s+(?:will|can|could|would|is going to|are going to|am going to|shall|to)\b))"
    r"|[,;]\s*(?:and\s+|but\s+|also\s+|then\s+)?(?=(?:also\s+)?(?:could|can|would|will)\s+you\b)"
)
_SUBJECT_NAME = re.compile(
    r"^@?(?P<name>[A-Z][\w'.-]{1,24}(?:\s+[A-Z][\w'.-]{1,24})?)"
    r"(?:,?\s+(?:from|on|in) (?:(?:our|my|the) )?\w+(?: team| side)?,?)?\s+(?:will|'ll|is going|is gonna"
    r"|has agreed|agreed|offered|volunteered|can|to)\b"
)
_MIN_CLAUSE_WORDS = 3
_CLAUSE_LOOKBACK = 400
# A clause cut short and restarted ("Yeah, sure, I'll, uh, I'll send them"): not a clause of its own.
_STUB = re.compile(
    r"\b(?:i|we|you|they|he|she)(?:'ll|'d|\s+(?:will|can|could|would|should|shall))?(?:\s+you)?[\s,]*$"
    r"|\b(?:can|could|would|will)\s+you[\s,]*$",
    re.I,
)
# The act is directed at the addressee: a named person's future then is an undertaking to the reader.
_TO_ADDRESSEE = re.compile(r"\b(?:you|your|y'all)\b", re.I)
# A discourse marker of a new topic: after a chase, "Also, could you ..." is a new ask, not the chased one.
_NEW_TOPIC = re.compile(
    r"^\W*(?:also|in addition|additionally|separately|one more thing|another (?:question|thing)"
    r"|on (?:a|another) (?:separate|different) (?:note|topic)|unrelated|p\.?s\.?)\b",
    re.I,
)


def clauses(sentence: str) -> list[tuple[int, int]]:
    """Spans of ``sentence`` holding one act each (the whole sentence when it holds one).

    Each cut reads a bounded stretch around it (the last :data:`_CLAUSE_LOOKBACK` characters of the
    clause before it, the first three words after it), so a long sentence with many cuts is read in
    linear time; a clause is never that long in prose.
    """
    cuts = [m for m in _SECOND_ACT.finditer(sentence) if m.start() > 0]
    if not cuts:
        return [(0, len(sentence))]
    spans: list[tuple[int, int]] = []
    start = 0
    for m in cuts:
        left = fluent(sentence[max(start, m.start() - _CLAUSE_LOOKBACK) : m.start()])
        if (
            len(left.split()) >= _MIN_CLAUSE_WORDS
            and _has_words(sentence, m.end(), _MIN_CLAUSE_WORDS)
            and not _STUB.search(left)
        ):
            spans.append((start, m.start()))
            start = m.end()
    spans.append((start, len(sentence)))
    out: list[tuple[int, int]] = []
    for a, b in spans:
        while b > a and sentence[b - 1] in " ,;":  # the clause without its trailing " ,;"
            b -= 1
        if b > a:
            out.append((a, b))
    return out


def _has_words(text: str, start: int, count: int) -> bool:
    """``len(text[start:].split()) >= count``, reading only as far as the ``count``-th word."""
    i, n = start, len(text)
    for _ in range(count):
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            return False
        while i < n and not text[i].isspace():
            i += 1
    return True


# Coordinated verb phrases under one subject: ", and send ...", " and then schedule ...".
_AND_VERB = re.compile(
    r"(?:,\s*(?:and\s+)?|(?<!\s)\s++and\s+)(?:then\s+|also\s+)?(?=" + ACTION_VERB + r"\b)",
    re.I,
)


def verb_phrases(clause: str) -> list[tuple[int, int]]:
    """Spans of the coordinated verb phrases of one clause (the first keeps the subject)."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _AND_VERB.finditer(clause):
        if m.start() > start and len(clause[start : m.start()].split()) >= 3:
            spans.append((start, m.start()))
            start = m.end()
    spans.append((start, len(clause)))
    return [(a, b) for a, b in spans if clause[a:b].strip()]


@dataclass(frozen=True)
class Explanation:
    """What :meth:`OfflineExtractor.explain` tells about one sentence.

    ``parts`` holds each sentence or clause that could carry an act, with its
    decision, exactly as :meth:`OfflineExtractor.extract` reads the text;
    ``items`` what the extractor would store, direction and owner resolved;
    ``notes`` why a decision yielded no item.
    """

    sentence: str
    parts: list[tuple[str, Decision]]
    items: list[ExtractedItem]
    notes: list[str]

    @property
    def decision(self) -> Decision:
        """The decision on the first part (the whole sentence when it is one act)."""
        return self.parts[0][1]


_warm: list[bool] = []
"""Whether this process has read :func:`_warm_up_documents` (a list: appended to once, never rebound)."""


def _warm_up_documents() -> list[SourceDocument]:
    """An email and a meeting that touch each kind of rule (a promise with a date, a request, a name,
    an acknowledgement, speakers): what :meth:`OfflineExtractor._warm_up` reads."""
    when = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    ours = Participant(
        name="Priya Shah", email="priya@example.com", role=ParticipantRole.SENDER, internal=True
    )
    theirs = Participant(name="Dana Lee", email="dana@example.org", role=ParticipantRole.RECIPIENT)
    mail = (
        "Hi Dana,\n\nThanks for the call. I'll send you the revised pricing by Friday, and Tom will "
        "follow up on the SSO question next week. Could you share the security questionnaire "
        "before Jan 20?\n\nBest,\nPriya\n"
    )
    turns = [
        ("Dana Lee", "Can you walk us through the rollout plan on Tuesday?"),
        ("Priya Shah", "Sure, will do. We need to confirm the budget by end of month."),
    ]
    text, segments = "", []
    for speaker, said in turns:
        start = len(text) + len(speaker) + 2
        segments.append(Segment(speaker=speaker, char_start=start, char_end=start + len(said), text=said))
        text += f"{speaker}: {said}\n"
    return [
        SourceDocument(
            source="email",
            external_id="<warm-up@example.com>",
            occurred_at=when,
            participants=[ours, theirs],
            text=mail,
        ),
        SourceDocument(
            source="meeting",
            external_id="warm-up.vtt",
            occurred_at=when,
            participants=[ours, theirs],
            segments=segments,
            text=text,
        ),
    ]


class OfflineExtractor(Extractor):
    """Named rules plus a small calibrated detector; deterministic and fast (no network)."""

    name: ClassVar[str] = "offline"
    version: ClassVar[str] = "2"

    def __init__(
        self,
        *,
        company_domains: set[str] | None = None,
        directory: Mapping[str, str] | None = None,
        model: DetectorModel | None = None,
        budget_s: float | None = None,
    ) -> None:
        """``budget_s``: seconds one document may take (see :mod:`.budget`; raises ConfigError when bad)."""
        self.world = Directory(company_domains, directory)
        self.company_domains = self.world.company_domains
        self.directory = self.world.names
        self.detector = model or default_model()
        self.budget_s: float = offline_budget_s(budget_s)

    @property
    def prompt_version(self) -> str:
        """Rules and model in use: any change to either invalidates cached extractions."""
        return identity.prompt_version(self.detector.digest)

    # ------------------------------------------------------------------ public API

    def extract(self, doc: SourceDocument) -> list[ExtractedItem]:
        return [item for _, _, found in self.decisions(doc) for item in found]

    def decisions(
        self, doc: SourceDocument, *, every: bool = False
    ) -> list[tuple[Unit, Decision, list[ExtractedItem]]]:
        """Each clause that could carry an act (``every``: each clause), its decision and its items, in order.

        An acknowledgement ("Will do!", "Sure thing") right before the same author's explicit promise
        is that promise's preface, not a second one: it yields no item of its own. An acknowledgement
        that answers someone else's ask ("Okay, will do." after "Could you share the list by Friday?")
        takes that ask's action and due date.

        Raises :class:`~extractor.offline.budget.BudgetExceeded` when the document takes longer than
        the extractor's time budget (checked before each sentence).
        """
        if doc.metadata.get("bulk"):
            return []  # a newsletter or an automatic message: nobody promises or asks anything in it
        if not _warm:
            self._warm_up()
        return self._decide(doc, every, Deadline(self.budget_s))

    def _warm_up(self) -> None:
        """Read :data:`_WARM_UP` once per process, outside any budget: what the rules compute on first
        use (the cue gate's literals, some hundred patterns: a few tenths of a second) is not charged to
        the first document's budget, which a small budget would otherwise fail on a two-line email."""
        _warm.append(True)
        for doc in _warm_up_documents():
            self._decide(doc, False, Deadline(math.inf))

    def _decide(
        self, doc: SourceDocument, every: bool, deadline: Deadline
    ) -> list[tuple[Unit, Decision, list[ExtractedItem]]]:
        """:meth:`decisions`, checking ``deadline`` before each sentence."""
        people = self.world.people(doc)
        out: list[tuple[Unit, Decision, list[ExtractedItem]]] = []
        chased: set[str] = set()
        last_ask: tuple[str, int, Unit, Decision] | None = None  # (asker, index in out, where, its decision)
        for read, unit in enumerate(units(doc, people)):
            deadline.check(read)
            author_key = (unit.author.email or unit.author.label()) if unit.author else ""
            for a, b in clauses(unit.text):
                part = _sub_unit(unit, a, b)
                if not part.action_item and not triggered(part.text):
                    if every:
                        out.append((part, decide(part.text, self.detector), []))
                    continue
                c = self._cues(part.text, people)
                if "chase" in c:
                    chased.add(author_key)
                restated = author_key in chased and "chase" not in c and not _NEW_TOPIC.match(part.text)
                ctx = Context(part.action_item, restated, doc.source == "meeting")
                d = decide(part.text, self.detector, ctx, c)
                found = self._items(doc, part, d, people)
                if d.commitment and not part.action_item:
                    found = self._each_dated_act(doc, part, d, people, found)
                if found and any(i.type == "commitment" for i in found) and out:
                    last_unit, last_d, last_found = out[-1]
                    if _is_acknowledgement(last_d) and last_unit.author == unit.author:
                        out[-1] = (last_unit, last_d, [i for i in last_found if i.type != "commitment"])
                if (
                    _is_acknowledgement(d)
                    and last_ask
                    and last_ask[0] != author_key
                    and len(out) - last_ask[1] <= 2
                ):
                    ask = self._request(doc, last_ask[2], last_ask[3], people)  # built only when answered
                    for item in found:
                        if item.type == "commitment":
                            item.action, item.due, item.due_text = ask.action, ask.due, ask.due_text
                if d.request:
                    last_ask = (author_key, len(out), part, d)
                out.append((part, d, found))
        return out

    def _each_dated_act(
        self, doc: SourceDocument, part: Unit, d: Decision, people: People, found: list[ExtractedItem]
    ) -> list[ExtractedItem]:
        """One commitment per verb phrase when a promise coordinates acts with their own dates.

        "I'll push the config tonight and send the runbook tomorrow" is two promises due on two
        days; "I'll send the deck and the notes by Friday" stays one.
        """
        spans = verb_phrases(part.text)
        if len(spans) < 2 or any(find_due(part.text[a:b], doc.occurred_at) is None for a, b in spans):
            return found
        split = [self._commitment(doc, _sub_unit(part, a, b), d, people) for a, b in spans]
        if any(item is None for item in split):
            return found
        return [i for i in split if i is not None] + [i for i in found if i.type != "commitment"]

    def _cues(self, text: str, people: People) -> Cues:
        """The cues, plus ``known_future`` when the subject is a person known to the conversation."""
        c = analyze(text)
        if "named_future" in c:
            m = _SUBJECT_NAME.match(c.body)
            if (
                m
                and m.group("name").lstrip("@").split()[0].lower() not in NOT_NAMES
                and (people.known(m.group("name")) or _undertaken(c.text))
            ):
                return Cues(c.fired | {"known_future"}, c.body, c.text)
        return c

    def explain(
        self,
        sentence: str,
        *,
        speaker: str | None = None,
        internal: bool | None = None,
        now: datetime | None = None,
    ) -> Explanation:
        """The decision on a sentence by ``speaker`` (ours when ``internal``) at ``now``, and its items."""
        who = Participant(name=speaker or "Speaker", role=ParticipantRole.SENDER, internal=internal)
        doc = SourceDocument(
            source="email",
            external_id="explain",
            occurred_at=now or datetime.now(UTC),
            participants=[who],
            text=sentence,
        )
        found = self.decisions(doc, every=True)
        if not found:  # nothing could carry an act: show the decision on the whole text all the same
            return Explanation(sentence, [(sentence, decide(sentence, self.detector))], [], [])
        notes: list[str] = []
        for unit, d, items in found:
            kinds = {i.type for i in items}
            if d.commitment and "commitment" not in kinds:
                notes.append(
                    f"{unit.text!r}: no commitment stored (an acknowledgement of the promise after it, "
                    "or a third party not known to the conversation)"
                )
            if d.request and "request" not in kinds:
                notes.append(
                    f"{unit.text!r}: no request stored (asked by our own side, or an action-item line)"
                )
        return Explanation(
            sentence, [(u.text, d) for u, d, _ in found], [i for *_, f in found for i in f], notes
        )

    def score_text(self, text: str) -> float:
        """Highest calibrated probability over the sentences of ``text`` (0 when none)."""
        best = 0.0
        for a, b in split_sentences(text):
            s = text[a:b]
            c = analyze(s)
            p = self.detector.score(s, c)
            if c.commissive or c.directive:
                p = max(p, 0.5)
            best = max(best, p)
        return best

    def candidates(self, doc: SourceDocument) -> list[tuple[int, int]]:
        """Spans of ``doc.text`` that plausibly hold a commitment or a request (the LLM pre-filter)."""
        # Each head's floor keeps 98% of the training positives (see its provenance in the model file).
        com_floor = self.detector.commitment.prefilter_threshold
        req_floor = self.detector.request.prefilter_threshold
        out: list[tuple[int, int]] = []
        for unit in units(doc, self.world.people(doc)):
            c = analyze(unit.text)
            if "boilerplate" in c or "signoff" in c:
                continue
            if unit.action_item or c.commissive or c.directive:
                out.append((unit.start, unit.end))
                continue
            s = self.detector.scores(unit.text, c)
            if s.commitment >= com_floor or s.request >= req_floor:
                out.append((unit.start, unit.end))
        return out

    def plausible(self, doc: SourceDocument) -> bool:
        """False when no sentence of ``doc`` could hold a commitment or request (skip the paid model)."""
        return bool(self.candidates(doc))

    def reading(self, doc: SourceDocument) -> Reading:
        """How the detector reads each sentence of ``doc``: the LLM backend's check of a model's items.

        A sentence reads as a commitment (a request) when the rules decide so, or when the calibrated
        head's probability reaches its LLM pre-filter floor (the high-recall threshold in the model
        file: 98% of the training positives reach it), on the whole sentence or on one of its clauses;
        an action-item line reads as a commitment. Evidence the model quotes from text no sentence holds
        (a quoted reply, a label) is read on its own.
        """
        people = self.world.people(doc)
        meeting = doc.source == "meeting"
        spans: list[tuple[int, int, bool, bool]] = []
        for unit in units(doc, people):
            commit = request = False
            parts = [(0, len(unit.text)), *(p for p in clauses(unit.text) if p != (0, len(unit.text)))]
            for a, b in parts:
                text = unit.text[a:b]
                d = decide(
                    text, self.detector, Context(unit.action_item, False, meeting), self._cues(text, people)
                )
                commit = commit or unit.action_item or d.commitment or self._reaches(d.scores, "commitment")
                request = request or d.request or self._reaches(d.scores, "request")
            spans.append((unit.start, unit.end, commit, request))
        return Reading(self, spans)

    def reads_as(self, text: str, kind: str) -> bool:
        """Whether a sentence of ``text``, read on its own (no document), reads as ``kind``."""
        for a, b in split_sentences(text):
            d = decide(text[a:b], self.detector)
            if (d.commitment if kind == "commitment" else d.request) or self._reaches(d.scores, kind):
                return True
        return False

    def _reaches(self, scores: Scores, kind: str) -> bool:
        if kind == "commitment":
            return scores.commitment >= self.detector.commitment.prefilter_threshold
        return scores.request >= self.detector.request.prefilter_threshold

    # ------------------------------------------------------------------ direction and items

    def _items(self, doc: SourceDocument, unit: Unit, d: Decision, people: People) -> list[ExtractedItem]:
        out: list[ExtractedItem] = []
        author_internal = self._side(doc, people, unit.author)
        if d.commitment:
            item = self._commitment(doc, unit, d, people)
            if item is not None:
                out.append(item)
        if d.request and author_internal is not True and not unit.action_item:
            out.append(self._request(doc, unit, d, people))
        return out

    def _side(self, doc: SourceDocument, people: People, p: Participant | None) -> bool | None:
        """Ours (True), theirs (False) or unknown (None).

        In a meeting where someone of ours is known to take part (by email or through the CRM
        directory), a speaker nobody knows as ours is the customer's.
        """
        side = self.world.is_internal(p)
        if side is None and p is not None and p.email:
            return side
        if side is None and p is not None and doc.source == "meeting" and people.ours_present:
            email = people.find(p.name).email if p.name else None
            side = self.world.is_internal(Participant(email=email)) if email else None
            return False if side is None else side
        return side

    def owner_side(
        self, doc: SourceDocument, people: People, owner: Person, author: Participant | None
    ) -> bool | None:
        """The side of a commitment's ``owner``: ours (True), the customer's (False) or unknown (None).

        The owner's own side (:meth:`_side`), else its email's; a name no participant carries and no
        directory knows is a colleague the ``author`` names, on the author's side. ``False`` is a
        customer's promise to us (flag ``customer_promise``: stored waiting, never one of ours). The LLM
        backend asks the same question of the owners a model names.
        """
        part, email = owner.participant, owner.email
        if part is None and email is None and owner.internal is not None:
            return owner.internal  # the customer's company named as a whole ("Contoso to send the PO")
        side = self._side(doc, people, part) if part is not None else None
        if side is None and email:
            side = self.world.is_internal(Participant(email=email))
        if side is None and part is None and email is None and owner.label is not None:
            side = self._side(doc, people, author)
        return side

    def _named_owner(self, doc: SourceDocument, people: People, name: str) -> Person:
        """Who a name as written is: a participant or a directory entry, else the customer's company."""
        found = people.find(name)
        if found.participant is None and found.email is None:
            return self._customer(doc, people, name) or found
        return found

    def _customer(self, doc: SourceDocument, people: People, name: str) -> Person | None:
        """The customer's side when ``name`` names it as a whole, else ``None``.

        "the customer", "the client", or a company whose name is the first label of the email domain
        of someone of theirs who takes part ("Contoso" for raj@contoso.example, "Acme Corp" for
        dana@acme.com). Its one participant when a single person of theirs takes part, else the company
        as written, on their side (no email).
        """
        words = [w for w in re.findall(r"[a-z0-9]+", name.lower()) if w not in _COMPANY_WORDS]
        if not words:
            return None
        theirs: list[Participant] = []
        for p in doc.participants:
            email = p.email or (people.find(p.name).email if p.name else None)
            if email and self.owner_side(doc, people, Person(p.label(), email, p), None) is False:
                theirs.append(p if p.email else p.model_copy(update={"email": email}))
        if words[0] in _CUSTOMER_WORDS and len(words) == 1:
            named = theirs
        else:
            named = [p for p in theirs if (p.email or "").rsplit("@", 1)[-1].split(".")[0] == "".join(words)]
        if not named:
            return None
        if len({p.email for p in named}) == 1:
            return people.person(named[0])
        return Person(name.lstrip("@"), None, None, internal=False)

    def _commitment(
        self, doc: SourceDocument, unit: Unit, d: Decision, people: People
    ) -> ExtractedItem | None:
        s = unit.text
        c = d.cues
        author = unit.author
        writer = people.person(author)
        conf = 0.35 + 0.6 * d.scores.commitment
        if unit.action_item or "action_item" in c or "assigned" in c:
            body, name = action_item_body(s)
            owner = self._named_owner(doc, people, name) if name else writer
            return self._item(
                "commitment", doc, unit, owner, body, min(0.95, 0.7 + 0.25 * d.scores.commitment), people
            )
        body = strip_lead(s)
        first_person = bool(
            c.fired
            & {
                "fp_future",
                "fp_and_will",
                "fp_offer",
                "fp_can",
                "let_me",
                "take_on",
                "bare_will",
                "fp_progressive",
                "fp_need",
            }
        )
        named = _SUBJECT_NAME.match(body)
        if "named_future" in c and named and not first_person:
            name = named.group("name")
            if name.lstrip("@").split()[0].lower() in NOT_NAMES:
                named = None
            elif not people.known(name) and not _undertaken(c.text) and not self._customer(doc, people, name):
                team = TEAM_SUBJECT.match(body)
                if team is None or "team_future" not in c:
                    return None  # an unknown third party, acting for no one here: a report, not a promise
                return self._item("commitment", doc, unit, writer, _team_action(body, team), conf, people)
            else:
                # a participant, the customer's company ("Contoso will send"), or someone the writer
                # undertakes for toward the reader ("Tom will call you")
                owner = self._named_owner(doc, people, name)
                action = body[named.end() :].lstrip()
                action = re.sub(
                    r"^(?:going|gonna|agreed|offered|volunteered)\s+(?:to\s+)?|^to\s+", "", action
                )
                return self._item("commitment", doc, unit, owner, action, conf, people)
        if "team_future" in c and not first_person:
            team = TEAM_SUBJECT.match(body)
            if team is not None:
                return self._item("commitment", doc, unit, writer, _team_action(body, team), conf, people)
        m = COMMIT_LEAD.match(body) or LET_ME.match(body)
        action = body[m.end() :] if m else body
        if "you_will_have" in c and (hand := _YOU_WILL_GET.match(body)):
            action = "Send " + body[hand.end() :]  # "You'll have the contract by Friday": we send it
        return self._item("commitment", doc, unit, writer, action, conf, people)

    def _request(self, doc: SourceDocument, unit: Unit, d: Decision, people: People) -> ExtractedItem:
        body = strip_lead(unit.text)
        m = REQUEST_LEAD.match(body)
        if m:
            action = body[m.end() :]
        elif "imperative" in d.cues:
            action = body
        else:
            action = "Reply: " + body
        author = unit.author
        owner = self._addressee(doc, unit, people, author)
        item = self._item("request", doc, unit, owner, action, 0.35 + 0.6 * d.scores.request, people)
        if author is not None:
            item.counterparty = author.label()
            item.counterparty_email = author.email
        return item

    def _item(
        self,
        kind: str,
        doc: SourceDocument,
        unit: Unit,
        owner: Person,
        action_text: str,
        confidence: float,
        people: People,
    ) -> ExtractedItem:
        # Numeric dates read in one order per message: "24/4" elsewhere makes "2/5" the 2nd of May.
        dayfirst = _date_order(doc.text) if "/" in unit.text else None
        # Resolved against the message that says it (its author's day), not the thread's newest reply.
        seg = people.segments.at(unit.start)
        said_at = seg.occurred_at if seg is not None and seg.occurred_at is not None else doc.occurred_at
        due = find_due(unit.text, said_at, clause_start(unit.text, action_text), dayfirst=dayfirst)
        due_text = due.text if due else None
        label, email, part = owner.label, owner.email, owner.participant
        flags: list[ItemFlag] = (
            [ItemFlag.URGENT] if due is not None and due.due is None and not due.out_of_range else []
        )  # "ASAP": no date, urgent (a day past the calendar's end is no date either, and not urgent)
        cp_label: str | None = None
        cp_email: str | None = None
        if kind == "commitment":
            if self.owner_side(doc, people, owner, unit.author) is False:
                flags.append(ItemFlag.CUSTOMER_PROMISE)
            cp = self._counterparty(doc, unit, part)
            if cp is not None:
                cp_label, cp_email = cp.label(), cp.email
            if label is not None and part is None and email is None:
                flags.append(ItemFlag.OWNER_NOT_PARTICIPANT)
            if unit.ticked:
                flags.append(ItemFlag.TICKED)  # checked off on the list it was written in: done when written
        return ExtractedItem(
            type="commitment" if kind == "commitment" else "request",
            owner=label,
            owner_email=email,
            counterparty=cp_label,
            counterparty_email=cp_email,
            action=make_action(action_text, due_text) or unit.text[:120],
            due=due.due if due else None,
            due_text=due_text,
            evidence=Evidence(
                quote=unit.text, char_start=unit.start, char_end=unit.end, alignment=AlignmentStatus.EXACT
            ),
            confidence=round(max(0.05, min(0.99, confidence)), 3),
            flags=flags,
        )

    def _addressee(
        self, doc: SourceDocument, unit: Unit, people: People, author: Participant | None
    ) -> Person:
        """Who the request ``unit`` is addressed to: a leading vocative or @mention, else the one internal
        recipient, else (in a meeting) who speaks next."""
        m = ADDRESS.match(unit.text)
        if m and m.group("name").lstrip("@").split()[0].lower() not in NOT_NAMES:
            words = m.group("name").lstrip("@").split()
            for n in (2, 1):
                name = " ".join(words[:n])
                if len(words) >= n and people.known(name):
                    return people.find(name)
        if doc.source == "email":
            for role in (ParticipantRole.RECIPIENT, ParticipantRole.CC):
                cands = [
                    p
                    for p in doc.participants
                    if p.role == role and p is not author and self.world.is_internal(p) is not False
                ]
                inside = [p for p in cands if self.world.is_internal(p) is True]
                pick = inside or (cands if role is ParticipantRole.RECIPIENT else [])
                if pick:
                    return people.person(pick[0])
        if doc.segments:
            return self._responder(unit.start, people, author)
        return NOBODY

    def _responder(self, at: int, people: People, author: Participant | None) -> Person:
        """In a meeting, a question (at offset ``at``) is put to whoever takes the floor next (of our side,
        when known)."""
        asker = (author.email or author.label()) if author else None
        asker_side = self.world.is_internal(author)
        floor = people.segments.memo.get("floor")
        if not isinstance(floor, _Floor):
            floor = people.segments.memo["floor"] = _Floor(self, people)
        return floor.after(at, asker, asker_side)

    def _counterparty(self, doc: SourceDocument, unit: Unit, owner: Participant | None) -> Participant | None:
        """The other side: a named participant of the other side, else one who took part."""
        owner_side = self.world.is_internal(owner)
        low = unit.text.lower()
        others = [
            p for p in doc.participants if p is not owner and p.email != (owner.email if owner else None)
        ]
        if owner_side is False:
            others = [p for p in others if self.world.is_internal(p) is True]
        else:
            others = [p for p in others if self.world.is_internal(p) is False]
        for p in others:
            names = [p.name.lower(), p.name.split()[0].lower()] if p.name else []
            if any(re.search(rf"\b{re.escape(n)}\b", low) for n in names if n):
                return p
        for p in others:
            if p.role is not ParticipantRole.MENTIONED:
                return p
        return None


# Words around a company's name that are not part of its domain ("Acme Corp", "the Contoso team").
_COMPANY_WORDS = frozenset("the corp corporation inc ltd llc gmbh co team side folks people".split())
# The other side named as a whole.
_CUSTOMER_WORDS = frozenset({"customer", "client", "prospect"})

_YOU_WILL_GET = re.compile(
    r"^\W*(?:you(?:'ll|’ll| will| shall| should)\s+(?:have|get|receive|see)|(?:please\s+)?expect)\s+", re.I
)


class Reading:
    """The sentences of one document, each with whether it reads as a commitment and as a request."""

    def __init__(self, extractor: OfflineExtractor, spans: list[tuple[int, int, bool, bool]]) -> None:
        self.extractor = extractor
        self.spans = spans  # (start, end, commitment, request), in order, disjoint
        self._ends = [b for _, b, _, _ in spans]

    def confirms(self, kind: str, start: int, end: int, quote: str) -> bool:
        """Whether the sentences that ``[start, end)`` overlaps read as ``kind`` (else ``quote`` alone)."""
        k = bisect_right(self._ends, start)
        overlapped = False
        while k < len(self.spans) and self.spans[k][0] < end:
            overlapped = True
            if self.spans[k][2 if kind == "commitment" else 3]:
                return True
            k += 1
        return not overlapped and self.extractor.reads_as(quote, kind)


class _Floor:
    """Who takes the floor after a question in a meeting, worked out once per document.

    :meth:`after` answers as a scan of the segments from the question on would (the first speaker after
    it who is not the asker, and not the customer's colleague when the customer asked), in O(log n): a
    long transcript asks once per question, and a scan each time is quadratic.
    """

    def __init__(self, ex: OfflineExtractor, people: People) -> None:
        rows: list[tuple[Segment, Person]] = []
        for seg in people.segments.after(-1):
            if not (seg.speaker or seg.speaker_email):
                continue
            found = people.find(seg.speaker_email or seg.speaker or "")
            email = seg.speaker_email if seg.speaker_email and found.email is None else found.email
            part = found.participant
            side = ex.world.is_internal(part if part is not None else Participant(email=email))
            rows.append((seg, Person(seg.speaker or found.label, email, part, side)))
        self.anyone = _Turns(rows)
        # the customer's colleagues left out
        self.not_theirs = _Turns([r for r in rows if r[1].internal is not False])

    def after(self, at: int, asker: str | None, asker_side: bool | None) -> Person:
        return (self.not_theirs if asker_side is False else self.anyone).after(at, asker)


class _Turns:
    """Turns in order of start; ``after(at, asker)``: the first one starting after ``at`` not by ``asker``."""

    def __init__(self, rows: list[tuple[Segment, Person]]) -> None:
        self.starts = [seg.char_start for seg, _ in rows]
        self.who = [(seg.speaker_email, seg.speaker) for seg, _ in rows]
        self.answer = [a for _, a in rows]
        # past[i][name]: the first turn from i on that ``name`` (its email or its name) did not speak
        self.past: list[dict[str | None, int]] = [{} for _ in rows]
        for i in range(len(rows) - 1, -1, -1):
            for name in self.who[i]:
                later = self.past[i + 1].get(name) if i + 1 < len(rows) and name in self.who[i + 1] else None
                self.past[i][name] = later if later is not None else i + 1

    def after(self, at: int, asker: str | None) -> Person:
        k = bisect_right(self.starts, at)
        if k < len(self.starts) and asker in self.who[k]:
            k = self.past[k][asker]
        return self.answer[k] if k < len(self.starts) else NOBODY


@lru_cache(maxsize=4)
def _date_order(text: str) -> bool | None:
    """:func:`numeric_date_order` of a whole document, read once (every dated item of it asks)."""
    return numeric_date_order(text)


def _undertaken(text: str) -> bool:
    """A named person's future said to the reader with a date or toward the reader: an undertaking.

    "Tom will follow up with your IT team", "Priya will send the docs by Thursday"; not "Kevin will host".
    """
    return bool(_TO_ADDRESSEE.search(text)) or find_due(text, date(2000, 1, 3)) is not None


def _is_acknowledgement(d: Decision) -> bool:
    """A short take-on with no content of its own: "Will do!", "On it", "Sure thing - will do"."""
    return d.commitment and bool(d.cues.fired & {"bare_will", "take_on"}) and len(d.cues.text.split()) <= 5


def _sub_unit(unit: Unit, a: int, b: int) -> Unit:
    if a == 0 and b == len(unit.text):
        return unit
    return replace(unit, start=unit.start + a, end=unit.start + b, text=unit.text[a:b])


def _team_action(body: str, team: re.Match[str]) -> str:
    """The action with its team kept: "Legal will get back to you" -> "Legal: get back to you"."""
    return f"{team.group('team').strip()}: {body[team.end() :]}"


__all__ = ["Explanation", "OfflineExtractor", "Reading", "clauses", "Cues"]
