"""The offline extractor: the embedded default backend (no network, no LLM).

Pipeline for one document:

1. **units** (:mod:`.units`, :mod:`.sentences`): the document text (or each
   speaker segment) is split into sentences with exact offsets; quoted lines
   (``>``), reply headers, signature delimiters, code and boilerplate are
   skipped; bullets under an "Action items" heading (or a line starting
   "Action item:") are marked as action items.
2. **detection**: each sentence gets linguistic cues (:mod:`.cues`) and a
   probability from the trained detector (:mod:`.model`); rules decide whether
   it is a commitment (a commissive whose subject is the author, "we", or a
   named person) and/or a request (a directive or question addressed to the
   reader). Hedges, self-conditions, declines, past tense and states block
   commitments; pleasantries and rhetorical questions block requests.
3. **direction**: a commitment is ours to keep, a request is one made to us.
   The author is the email sender or the segment's speaker. When the author is
   internal, their commitments are kept and their questions are not requests
   to us; when the author is external, their questions are requests to us and
   their own promises are not ours; when nobody's side is known (no company
   domains configured), the author is taken as "us" for commitments and their
   questions as requests made to the readers.
4. **resolution** (:mod:`.people`, :mod:`.actions`, :mod:`.dates`): owner
   (author, the named person, or the action item's assignee, resolved to a
   participant or the directory), counterparty (a named external person, else
   the external recipients), short imperative action, due date relative to
   ``occurred_at``. A request's owner is whom it addresses (a leading vocative
   or @mention, else the internal recipient); its counterparty is the asker.

Pre-filter API for the LLM backend: :meth:`OfflineExtractor.candidates` (spans
that plausibly hold an item), :meth:`~OfflineExtractor.score_text` and
:meth:`~OfflineExtractor.plausible`.
"""

from __future__ import annotations

import re
from typing import ClassVar

from extractor.base import Extractor
from extractor.offline.actions import (
    ADDRESS,
    COMMIT_LEAD,
    LET_ME,
    NAMED_FUTURE,
    NOT_NAMES,
    REQUEST_LEAD,
    action_item_body,
    clause_start,
    make_action,
)
from extractor.offline.cues import Cues, analyze, analyze_gated, strip_lead
from extractor.offline.dates import find_due
from extractor.offline.model import DetectorModel, default_model, rules_digest
from extractor.offline.people import Directory, People
from extractor.offline.sentences import split_sentences
from extractor.offline.units import Unit, units
from followthrough.types import AlignmentStatus, Evidence, ExtractedItem, Participant, SourceDocument

_THIRD_PERSON = re.compile(r"^\W*(?:it|this|that|there|they|he|she)\b", re.I)

# Thresholds on the detector probability (global, not per sentence).
COMMIT_MIN_P = 0.15
REQUEST_MIN_P = 0.35
IMPERATIVE_MIN_P = 0.5
CANDIDATE_MIN_P = 0.35
PLEASE_MIN_P = 0.15
FP_NEED_IS_COMMITMENT = True
YOU_SHOULD_MIN_P = 0.75


class OfflineExtractor(Extractor):
    """Rules plus a small trained detector; deterministic and fast (no network)."""

    name: ClassVar[str] = "offline"
    version: ClassVar[str] = "1"

    def __init__(
        self,
        *,
        company_domains: set[str] | None = None,
        directory: dict[str, str] | None = None,
        model: DetectorModel | None = None,
    ) -> None:
        self.world = Directory(company_domains, directory)
        self.company_domains = self.world.company_domains
        self.directory = self.world.names
        self.detector = model or default_model()

    @property
    def prompt_version(self) -> str:
        """Rules and model in use: any change to either invalidates cached extractions."""
        return f"rules-{rules_digest()[:12]}+model-{(self.detector.digest or 'memory')[:12]}"

    # ------------------------------------------------------------------ public API

    def extract(self, doc: SourceDocument) -> list[ExtractedItem]:
        people = self.world.people(doc)
        items: list[ExtractedItem] = []
        for unit in units(doc, people):
            items.extend(self._classify(doc, unit, people))
        return items

    def score_text(self, text: str) -> float:
        """Highest detector probability over the sentences of ``text`` (0 when none)."""
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
        out: list[tuple[int, int]] = []
        for unit in units(doc, self.world.people(doc)):
            c = analyze(unit.text)
            if c.boilerplate or c.signoff:
                continue
            if unit.action_item or c.commissive or c.directive or c.passive_future:
                out.append((unit.start, unit.end))
            elif self.detector.score(unit.text, c) >= CANDIDATE_MIN_P:
                out.append((unit.start, unit.end))
        return out

    def plausible(self, doc: SourceDocument) -> bool:
        """False when no sentence of ``doc`` could hold a commitment or request (skip the paid model)."""
        return bool(self.candidates(doc))

    # ------------------------------------------------------------------ classification

    def _classify(self, doc: SourceDocument, unit: Unit, people: People) -> list[ExtractedItem]:
        s = unit.text
        gated = analyze_gated(s)
        if gated is None:
            if not unit.action_item and not NAMED_FUTURE.match(strip_lead(s)):
                return []
            c = analyze(s)
        else:
            c = gated
        if c.boilerplate or (c.signoff and not c.commissive):
            return []
        words = len(s.split())
        if words < 2 and not c.question:
            return []
        p = self.detector.score(s, c)
        author_internal = self.world.is_internal(unit.author)
        out: list[ExtractedItem] = []

        commit = self._commitment(doc, unit, c, p, people, author_internal)
        if commit is not None:
            out.append(commit)
        if author_internal is not True and not unit.action_item:
            req = self._request(doc, unit, c, p, people)
            if req is not None:
                out.append(req)
        return out

    def _commitment(
        self,
        doc: SourceDocument,
        unit: Unit,
        c: Cues,
        p: float,
        people: People,
        author_internal: bool | None,
    ) -> ExtractedItem | None:
        s = unit.text
        owner: tuple[str | None, str | None, Participant | None]
        if unit.action_item or c.action_item:
            body, name = action_item_body(s)
            if name:
                label, email, part = people.find(name)
                owner = (label, email, part)
            elif unit.author is not None:
                owner = (unit.author.label(), unit.author.email, unit.author)
            else:
                owner = (None, None, None)
            if owner[2] is not None and self.world.is_internal(owner[2]) is False:
                return None  # the customer's own action item: not ours to keep
            if c.past and not c.fp_future:
                return None
            return self._item("commitment", doc, unit, owner, body, min(0.95, 0.7 + 0.25 * p), people, [])

        body = strip_lead(s)
        named = NAMED_FUTURE.match(body)
        if named and named.group("name").lstrip("@").split()[0].lower() not in NOT_NAMES:
            name = named.group("name")
            if people.known(name) and not c.question and not c.hedge and not c.decline:
                label, email, part = people.find(name)
                if self.world.is_internal(part) is False:
                    return None
                action = body[named.start("verb") :]
                return self._item(
                    "commitment", doc, unit, (label, email, part), action, 0.5 + 0.3 * p, people, []
                )

        if author_internal is False:
            return None
        if c.question and not c.offer_q:
            return None  # a question is not a promise ("Are there steps we can take?"), an offer excepted
        strong = c.fp_future or c.fp_offer or c.bare_will or c.offer_q
        if not strong and not c.passive_future and not (c.fp_need and FP_NEED_IS_COMMITMENT):
            return None
        if c.hedge or c.self_cond or c.decline or c.state_future or c.not_promise:
            return None
        if c.past and not c.fp_future:
            return None
        if c.pleasantry or c.rhetorical:
            return None
        if p < COMMIT_MIN_P and not (c.fp_offer or c.offer_q or c.passive_future or c.bare_will):
            return None
        if not strong:  # passive future of a delivery verb ("the notes will be posted")
            if _THIRD_PERSON.match(body):
                return None
        author = unit.author
        owner = (author.label(), author.email, author) if author else (unit.speaker_name, None, None)
        m = COMMIT_LEAD.match(body) or LET_ME.match(body)
        action = body[m.end() :] if m else body
        conf = 0.45 + 0.4 * p if strong else 0.35 + 0.3 * p
        return self._item("commitment", doc, unit, owner, action, conf, people, [])

    def _request(
        self, doc: SourceDocument, unit: Unit, c: Cues, p: float, people: People
    ) -> ExtractedItem | None:
        s = unit.text
        if c.pleasantry or c.rhetorical or c.offer_q:
            return None
        ok = False
        if c.question or c.indirect:
            ok = True
        elif c.please:
            ok = p >= PLEASE_MIN_P
        elif c.you_modal or c.let_know:
            ok = p >= REQUEST_MIN_P
        elif c.lets:
            ok = p >= REQUEST_MIN_P
        elif c.you_should:
            ok = p >= YOU_SHOULD_MIN_P
        elif c.imperative:
            ok = p >= IMPERATIVE_MIN_P
        if not ok:
            return None
        body = strip_lead(s)
        m = REQUEST_LEAD.match(body)
        if m:
            action = body[m.end() :]
        elif c.imperative:
            action = body
        else:
            action = "Reply: " + body
        author = unit.author
        # The asker is the counterparty; the owner is who was addressed, when named.
        owner = self._addressee(doc, s, people, author)
        item = self._item("request", doc, unit, owner, action, 0.4 + 0.5 * p, people, [])
        if author is not None:
            item.counterparty = author.label()
            item.counterparty_email = author.email
        return item

    # ------------------------------------------------------------------ building items

    def _item(
        self,
        kind: str,
        doc: SourceDocument,
        unit: Unit,
        owner: tuple[str | None, str | None, Participant | None],
        action_text: str,
        confidence: float,
        people: People,
        flags: list[str],
    ) -> ExtractedItem:
        due = find_due(unit.text, doc.occurred_at, clause_start(unit.text, action_text))
        due_text = due.text if due else None
        action = make_action(action_text, due_text)
        label, email, part = owner
        cp_label: str | None = None
        cp_email: str | None = None
        if kind == "commitment":
            cp = self._counterparty(doc, unit, people, part)
            if cp is not None:
                cp_label, cp_email = cp.label(), cp.email
        if label is not None and part is None and email is None and kind == "commitment":
            flags = [*flags, "owner_not_participant"]
        return ExtractedItem(
            type="commitment" if kind == "commitment" else "request",
            owner=label,
            owner_email=email,
            counterparty=cp_label,
            counterparty_email=cp_email,
            action=action or unit.text[:120],
            due=due.due if due else None,
            due_text=due_text,
            evidence=Evidence(
                quote=unit.text, char_start=unit.start, char_end=unit.end, alignment=AlignmentStatus.EXACT
            ),
            confidence=round(max(0.05, min(0.99, confidence)), 3),
            flags=flags,
        )

    def _addressee(
        self, doc: SourceDocument, s: str, people: People, author: Participant | None
    ) -> tuple[str | None, str | None, Participant | None]:
        """Who a request is addressed to: a leading vocative or @mention, else the one internal recipient."""
        m = ADDRESS.match(s)
        if m and m.group("name").lstrip("@").split()[0].lower() not in NOT_NAMES:
            words = m.group("name").lstrip("@").split()
            for n in (2, 1):
                name = " ".join(words[:n])
                if len(words) >= n and people.known(name):
                    return people.find(name)
        if doc.source == "email":
            for role in ("recipient", "cc"):
                cands = [
                    p
                    for p in doc.participants
                    if p.role == role and p is not author and self.world.is_internal(p) is not False
                ]
                inside = [p for p in cands if self.world.is_internal(p) is True]
                pick = inside or (cands if role == "recipient" else [])
                if pick:
                    return (pick[0].label(), pick[0].email, pick[0])
        return (None, None, None)

    def _counterparty(
        self, doc: SourceDocument, unit: Unit, people: People, owner: Participant | None
    ) -> Participant | None:
        low = unit.text.lower()
        externals = [p for p in doc.participants if self.world.is_internal(p) is False and p is not owner]
        for p in externals:
            names = [p.name.lower(), p.name.split()[0].lower()] if p.name else []
            if any(re.search(rf"\b{re.escape(n)}\b", low) for n in names if n):
                return p
        for p in externals:
            if p.role in ("recipient", "cc", "attendee", "speaker"):
                return p
        return None
