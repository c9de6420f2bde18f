"""The offline extractor: the embedded default backend (no network, no LLM).

Pipeline for one document:

1. **units**: the document text (or each speaker segment) is split into
   sentences with exact offsets; quoted lines (``>``), reply headers, signature
   delimiters and boilerplate are skipped; bullets under an "Action items"
   heading (or a line starting "Action item:") are marked as action items.
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
4. **resolution**: owner (author, the named person, or the action item's
   assignee, resolved to a participant or the directory), counterparty, short
   imperative action, due date (:mod:`.dates`) relative to ``occurred_at``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from extractor.base import Extractor
from extractor.offline.cues import Cues, analyze, analyze_gated, strip_lead
from extractor.offline.dates import find_due
from extractor.offline.model import DetectorModel, default_model
from extractor.offline.sentences import split_sentences
from followthrough.types import AlignmentStatus, Evidence, ExtractedItem, Participant, SourceDocument

# Thresholds on the detector probability (global, not per sentence).
COMMIT_MIN_P = 0.15
REQUEST_MIN_P = 0.35
IMPERATIVE_MIN_P = 0.5
CANDIDATE_MIN_P = 0.35
PLEASE_MIN_P = 0.15
FP_NEED_IS_COMMITMENT = True
YOU_SHOULD_MIN_P = 0.75

_STOP_AFTER = re.compile(
    r"^\s*(?:on\b.{4,120}\bwrote:?|-{2,}\s*(?:original message|forwarded message)\s*-{2,}.*|-- ?"
    r"|_{10,}|from:\s.+|le\s.{4,80}\sa écrit\s?:|am\s.{4,80}\sschrieb\s.{0,40}:)\s*$",
    re.I,
)
_AI_HEADING = re.compile(
    r"^\s*(?:#{1,6}\s*)?\**\s*(?:action\s+items?|next\s+steps?|follow[- ]?ups?|to-?dos?|tasks"
    r"|owners?)\s*\**\s*:?\s*$",
    re.I,
)
_HEADING_LINE = re.compile(r"^\s*(?:#{1,6}\s+\S|[A-Z][\w /&-]{0,40}:\s*$)")
_BULLET_LINE = re.compile(r"^\s*(?:[-*•·▪‣–+]|\d{1,2}[.)]|\[[ xX]?\])\s*")
_AI_INLINE = re.compile(
    r"^\W*(?:action\s*items?|ai|todo|to-do|action)\s*(?:\((?P<who>[^)]{1,40})\))?\s*[:\-–]\s*", re.I
)
_NAME = r"@?[A-Z][\w'.-]{1,24}(?:\s+[A-Z][\w'.-]{1,24})?"
_AI_OWNER_COLON = re.compile(rf"^(?P<name>{_NAME})\s*(?::|\s[-–—]\s)\s*(?P<rest>.+)$", re.S)
_AI_OWNER_TO = re.compile(
    rf"^(?P<name>{_NAME})\s+(?:to|will|'ll|should|needs to|is going to|agreed to|owns"
    rf"|takes?)\s+(?P<rest>.+)$",
    re.S,
)
_AI_OWNER_TRAIL = re.compile(rf"[\s(\[–—-]+(?:owner:\s*)?(?P<name>{_NAME})\s*[)\]]?\s*\.?$")
_NAMED_FUTURE = re.compile(
    rf"^(?P<name>{_NAME})\s+(?:will|'ll|is going to|is gonna|has agreed to|agreed to|offered to"
    r"|volunteered to|can)"
    r"\s+(?:also\s+|then\s+|please\s+)?(?P<verb>[a-z]\w+)",
)
_NOT_NAMES = frozenset(
    """i we you he she they it this that these those there here everyone someone somebody anyone
    anybody nobody who what which the a an our my your their his her its all both each some any none
    no yes ok okay sure
    thanks thank please also then so but and or if when as maybe perhaps probably hopefully today tomorrow
    monday tuesday wednesday thursday friday saturday sunday action note notes next agenda team folks
    people legal sales engineering support marketing finance product security""".split()
)

_COMMIT_LEAD = re.compile(
    r"^.*?\b(?:i|we)(?:'ll|’ll| will| shall|'m going to| am going to|'re going to| are going to| plan to"
    r"| intend to| promise to| commit to| aim to| still plan to| am planning to|'m planning to|'d be happy to"
    r"| would be happy to|'m happy to| am happy to|'re happy to| are happy to|'d be glad to| would be glad to"
    r"| can| could| am willing to| are willing to|'m willing to)\s+"
    r"(?:also\s+|then\s+|just\s+|definitely\s+|certainly\s+|gladly\s+|try to\s+|try and\s+|be sure to\s+"
    r"|make sure to\s+|go ahead and\s+|personally\s+|now\s+|still\s+)*",
    re.I | re.S,
)
_LET_ME = re.compile(r"^.*?\b(?:let me|allow me to|happy to|glad to)\s+", re.I | re.S)
_REQUEST_LEAD = re.compile(
    r"^.*?\b(?:(?:can|could|would|will)\s+(?:you|anyone|anybody|someone|somebody|people|everyone|one of you)"
    r"(?:\s+(?:please|kindly|also|possibly|maybe|just))*\s+|please\s+|pls\s+|kindly\s+"
    r"|(?:i|we)\s+(?:need|want|would like|'d like)\s+(?:you|someone|somebody|everyone)\s+to\s+"
    r"|(?:can|could|may)\s+(?:we|i)\s+(?=get\b|have\b|see\b|schedule\b|set\b|book\b))",
    re.I | re.S,
)
_CLAUSE_CUT = re.compile(
    r"\s*(?:[;(]|\s[-–—]\s|,\s*(?:but|and then|so|as|since|because|which|if|once|when|unless)\b"
    r"|\s(?:if|so that|so we|so I|because|as soon as|once|when|unless|in case|while)\b"
    r"|,?\s+(?:and|but)\s+(?:i|we|you|he|she|they)(?:'ll|'d|\s)\b)",
    re.I,
)
_ADDRESS = re.compile(
    r"^\W*(?P<name>@?[A-Z][\w'.-]{1,24}(?:\s+[A-Z][\w'.-]{1,24})?)(?=\s*(?:[,:]|\s[-–—]\s|\s))"
)
_LABEL_ONLY = re.compile(r"^\W*[\w .'’-]{1,40}:\s*$|^\W*$")
_TRAIL = re.compile(r"[\s,.;:!?)(\-–—:'\"]+$")


@dataclass
class _Unit:
    start: int
    end: int
    text: str
    author: Participant | None
    speaker_name: str | None
    action_item: bool


@dataclass
class _People:
    by_email: dict[str, Participant]
    by_name: dict[str, Participant]
    directory: dict[str, str]
    dir_first: dict[str, str]

    def find(self, name: str) -> tuple[str, str | None, Participant | None]:
        """(label, email, participant) for a name as written ("Marco", "@marco", "Marco Rossi")."""
        key = name.lstrip("@").strip().lower()
        p = self.by_name.get(key)
        if p is None and key in self.by_email:
            p = self.by_email[key]
        if p is not None and p.email:
            return (p.name or name.lstrip("@"), p.email, p)
        if p is not None:
            full = (p.name or key).lower()
            email = self.directory.get(full) or self.dir_first.get(full.split()[0] if full else "")
            if email:
                return (p.name or name.lstrip("@"), email, p.model_copy(update={"email": email}))
            return (p.name or name.lstrip("@"), None, p)
        email = self.directory.get(key) or self.dir_first.get(key.split()[0] if key else "")
        if email:
            p = self.by_email.get(email.lower())
            return (name.lstrip("@"), email, p)
        return (name.lstrip("@"), None, None)

    def known(self, name: str) -> bool:
        key = name.lstrip("@").strip().lower()
        if not key:
            return False
        return key in self.by_name or key in self.directory or key.split()[0] in self.dir_first


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
        self.company_domains = {d.lower().lstrip("@") for d in (company_domains or set())}
        self.directory = {k.lower().strip(): v for k, v in (directory or {}).items()}
        self._dir_first: dict[str, str] = {}
        firsts: dict[str, set[str]] = {}
        for full, email in self.directory.items():
            if full.split():
                firsts.setdefault(full.split()[0], set()).add(email)
        self._dir_first = {k: next(iter(v)) for k, v in firsts.items() if len(v) == 1}
        self.detector = model or default_model()

    # ------------------------------------------------------------------ public API

    def extract(self, doc: SourceDocument) -> list[ExtractedItem]:
        people = self._people(doc)
        items: list[ExtractedItem] = []
        for unit in self._units(doc, people):
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
        for unit in self._units(doc, self._people(doc)):
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

    # ------------------------------------------------------------------ people

    def _is_internal(self, p: Participant | None) -> bool | None:
        if p is None:
            return None
        if p.internal is not None:
            return p.internal
        if self.company_domains and p.email and "@" in p.email:
            dom = p.email.rsplit("@", 1)[1].lower()
            return any(dom == d or dom.endswith("." + d) for d in self.company_domains)
        return None

    def _people(self, doc: SourceDocument) -> _People:
        by_email: dict[str, Participant] = {}
        by_name: dict[str, Participant] = {}
        first_count: dict[str, int] = {}
        for p in doc.participants:
            if p.email:
                by_email.setdefault(p.email.lower(), p)
            if p.name:
                first = p.name.split()[0].lower()
                first_count[first] = first_count.get(first, 0) + 1
        for p in doc.participants:
            if p.name:
                by_name.setdefault(p.name.lower(), p)
                first = p.name.split()[0].lower()
                if first_count.get(first) == 1:
                    by_name.setdefault(first, p)
            if p.handle:
                by_name.setdefault(p.handle.lower().lstrip("@"), p)
        return _People(by_email, by_name, self.directory, self._dir_first)

    def _author(
        self, doc: SourceDocument, people: _People, start: int
    ) -> tuple[Participant | None, str | None]:
        seg = doc.speaker_at(start) if doc.segments else None
        if seg is not None and (seg.speaker or seg.speaker_email):
            p = people.by_email.get(seg.speaker_email.lower()) if seg.speaker_email else None
            if p is None and seg.speaker:
                p = people.by_name.get(seg.speaker.lower())
                if p is not None and not p.email:
                    p = people.find(seg.speaker)[2]
            if p is None:
                p = Participant(name=seg.speaker, email=seg.speaker_email, role="speaker")
                if seg.speaker and not seg.speaker_email:
                    _, email, found = people.find(seg.speaker)
                    p = found or Participant(name=seg.speaker, email=email, role="speaker")
            return p, seg.speaker
        return doc.sender, None

    # ------------------------------------------------------------------ units

    def _units(self, doc: SourceDocument, people: _People) -> Iterator[_Unit]:
        text = doc.text
        # Lines: find where quoted reply begins, and which lines are action items.
        stop = len(text)
        ai_lines: list[tuple[int, int]] = []
        skip_lines: list[tuple[int, int]] = []
        in_ai = False
        pos = 0
        for raw in text.splitlines(keepends=True):
            line = raw.rstrip("\r\n")
            a, b = pos, pos + len(line)
            pos += len(raw)
            stripped = line.strip()
            if _STOP_AFTER.match(line) and doc.source == "email":
                stop = a
                break
            if stripped.startswith(">") or stripped.startswith("|"):
                skip_lines.append((a, b))
                continue
            if _AI_HEADING.match(line):
                in_ai = True
                skip_lines.append((a, b))
                continue
            if in_ai:
                if not stripped:
                    continue
                if _BULLET_LINE.match(line) or (
                    not _HEADING_LINE.match(line) and (ai_lines and len(stripped) < 160)
                ):
                    ai_lines.append((a, b))
                    continue
                in_ai = False
            if _AI_INLINE.match(line):
                ai_lines.append((a, b))
        for a, b in self._spans(doc, stop):
            if any(x <= a < y for x, y in skip_lines):
                continue
            sent = text[a:b]
            if _LABEL_ONLY.match(sent):
                continue
            lead = _BULLET_LINE.match(sent)
            if lead and lead.end() < len(sent):
                a += lead.end()  # the evidence starts at the words, not at the bullet
                sent = text[a:b]
            is_ai = any(x <= a < y for x, y in ai_lines)
            author, speaker = self._author(doc, people, a)
            yield _Unit(a, b, sent, author, speaker, is_ai)

    @staticmethod
    def _spans(doc: SourceDocument, stop: int) -> list[tuple[int, int]]:
        """Sentence spans; with speaker segments, each segment (and each gap) is split on its own."""
        text = doc.text
        if not doc.segments:
            return split_sentences(text[:stop])
        regions: list[tuple[int, int]] = []
        pos = 0
        for seg in sorted(doc.segments, key=lambda g: g.char_start):
            if seg.char_start > pos:
                regions.append((pos, seg.char_start))
            regions.append((max(pos, seg.char_start), seg.char_end))
            pos = max(pos, seg.char_end)
        if pos < len(text):
            regions.append((pos, len(text)))
        out: list[tuple[int, int]] = []
        for a, b in regions:
            b = min(b, stop)
            if a >= b:
                continue
            out.extend((a + x, a + y) for x, y in split_sentences(text[a:b]))
        return out

    # ------------------------------------------------------------------ classification

    def _classify(self, doc: SourceDocument, unit: _Unit, people: _People) -> list[ExtractedItem]:
        s = unit.text
        gated = analyze_gated(s)
        if gated is None:
            if not unit.action_item and not _NAMED_FUTURE.match(strip_lead(s)):
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
        author_internal = self._is_internal(unit.author)
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
        unit: _Unit,
        c: Cues,
        p: float,
        people: _People,
        author_internal: bool | None,
    ) -> ExtractedItem | None:
        s = unit.text
        owner: tuple[str | None, str | None, Participant | None]
        if unit.action_item or c.action_item:
            body, name = _action_item_body(s)
            if name:
                label, email, part = people.find(name)
                owner = (label, email, part)
            elif unit.author is not None:
                owner = (unit.author.label(), unit.author.email, unit.author)
            else:
                owner = (None, None, None)
            if owner[2] is not None and self._is_internal(owner[2]) is False:
                return None  # the customer's own action item: not ours to keep
            if c.past and not c.fp_future:
                return None
            return self._item("commitment", doc, unit, owner, body, min(0.95, 0.7 + 0.25 * p), people, [])

        body = strip_lead(s)
        named = _NAMED_FUTURE.match(body)
        if named and named.group("name").lstrip("@").split()[0].lower() not in _NOT_NAMES:
            name = named.group("name")
            if people.known(name) and not c.question and not c.hedge and not c.decline:
                label, email, part = people.find(name)
                if self._is_internal(part) is False:
                    return None
                action = body[named.start("verb") :]
                return self._item(
                    "commitment", doc, unit, (label, email, part), action, 0.5 + 0.3 * p, people, []
                )

        if author_internal is False:
            return None
        if c.question and not (c.fp_offer or c.offer_q):
            return None
        strong = c.fp_future or c.fp_offer or c.bare_will or c.offer_q
        if not strong and not c.passive_future and not (c.fp_need and FP_NEED_IS_COMMITMENT):
            return None
        if c.hedge or c.self_cond or c.decline or c.state_future or c.not_promise:
            return None
        if c.past and not c.fp_future:
            return None
        if c.pleasantry or c.rhetorical:
            return None
        if p < COMMIT_MIN_P and not (c.fp_offer or c.offer_q or c.passive_future):
            return None
        if not strong:  # passive future of a delivery verb ("the notes will be posted")
            if re.match(r"^\W*(?:it|this|that|there|they|he|she)\b", body, re.I):
                return None
        author = unit.author
        owner = (author.label(), author.email, author) if author else (unit.speaker_name, None, None)
        m = _COMMIT_LEAD.match(body) or _LET_ME.match(body)
        action = body[m.end() :] if m else body
        conf = 0.45 + 0.4 * p if strong else 0.35 + 0.3 * p
        return self._item("commitment", doc, unit, owner, action, conf, people, [])

    def _request(
        self, doc: SourceDocument, unit: _Unit, c: Cues, p: float, people: _People
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
        m = _REQUEST_LEAD.match(body)
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
        unit: _Unit,
        owner: tuple[str | None, str | None, Participant | None],
        action_text: str,
        confidence: float,
        people: _People,
        flags: list[str],
    ) -> ExtractedItem:
        due = find_due(unit.text, doc.occurred_at, _clause_start(unit.text, action_text))
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
        self, doc: SourceDocument, s: str, people: _People, author: Participant | None
    ) -> tuple[str | None, str | None, Participant | None]:
        """Who a request is addressed to: a leading vocative or @mention, else the one internal recipient."""
        m = _ADDRESS.match(s)
        if m:
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
                    if p.role == role and p is not author and self._is_internal(p) is not False
                ]
                inside = [p for p in cands if self._is_internal(p) is True]
                pick = inside or (cands if role == "recipient" else [])
                if pick:
                    return (pick[0].label(), pick[0].email, pick[0])
        return (None, None, None)

    def _counterparty(
        self, doc: SourceDocument, unit: _Unit, people: _People, owner: Participant | None
    ) -> Participant | None:
        low = unit.text.lower()
        externals = [p for p in doc.participants if self._is_internal(p) is False and p is not owner]
        for p in externals:
            names = [p.name.lower(), p.name.split()[0].lower()] if p.name else []
            if any(re.search(rf"\b{re.escape(n)}\b", low) for n in names if n):
                return p
        for p in externals:
            if p.role in ("recipient", "cc", "attendee", "speaker"):
                return p
        return None


def _clause_start(sentence: str, action_text: str) -> int:
    """Where the clause holding the action begins (after a ":" or ";" preamble), for due-date scope."""
    at = sentence.find(action_text[:40]) if action_text else -1
    if at <= 0:
        return 0
    cut = 0
    for m in re.finditer(r"[:;](?=\s)", sentence[:at]):
        cut = m.end()
    return cut


def _action_item_body(s: str) -> tuple[str, str | None]:
    """The action and its assignee's name from an action-item line."""
    body = _BULLET_LINE.sub("", s, count=1).strip()
    m = _AI_INLINE.match(body)
    who: str | None = None
    if m:
        who = m.group("who")
        body = body[m.end() :]
    for pat in (_AI_OWNER_COLON, _AI_OWNER_TO):
        mm = pat.match(body)
        if mm and mm.group("name").lstrip("@").split()[0].lower() not in _NOT_NAMES:
            return mm.group("rest"), who or mm.group("name")
    mt = _AI_OWNER_TRAIL.search(body)
    if mt and mt.group("name").lstrip("@").split()[0].lower() not in _NOT_NAMES and mt.start() > 5:
        return body[: mt.start()], who or mt.group("name")
    return body, who


def make_action(text: str, due_text: str | None = None) -> str:
    """A short imperative from the words that follow the cue ("send the pricing to Dana")."""
    s = text.strip()
    if due_text:
        idx = s.find(due_text)
        if idx > 0:
            s = (s[:idx] + s[idx + len(due_text) :]).strip()
    prefix = ""
    if s.startswith("Reply: "):
        prefix, s = "Reply: ", s[len("Reply: ") :]
    else:
        m = _CLAUSE_CUT.search(s)
        if m and m.start() > 8:
            s = s[: m.start()]
    s = re.sub(r"\s+", " ", s)
    s = re.sub(r"\s+([,.;:!?])", r"\1", s)
    s = _TRAIL.sub("", s)
    if len(s) > 120:
        cut = s.rfind(" ", 0, 117)
        s = s[: cut if cut > 40 else 117] + "…"
    if s and not prefix:
        s = s[0].upper() + s[1:]
    return prefix + s
