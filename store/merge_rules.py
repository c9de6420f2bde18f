"""Whether two stored commitments are one promise said twice ("I'll send the pricing Friday" in the
meeting, "As discussed, pricing to follow by Friday" in the follow-up email).

Pure functions, no database. Two items are the same promise when all of these hold:

- **Different conversations**: different documents *and* different threads (a meeting and an
  email, two email threads, an email and a Slack message). Within one thread the recorder's
  dedup key already folds a literal repeat; two promises in one thread that share words
  are two promises. One exception, the **restatement in the action items**: within one
  document, the same owner's discussion line ("Alice: I'll send you the migration plan by
  Friday") and a line of the document's action-item list ("- Alice to send the migration plan",
  :func:`action_item_line`) are one promise when, by the rules below, they are the same kind
  with compatible due dates, no conflicting account, and actions that match at the strict bar
  (:data:`CONTRAST_THRESHOLD` whatever the words). Two discussion lines, two list lines, or two
  people's lines stay two promises.
- **Same kind**: both commitments or both requests.
- **Same owner**: equal emails; or, where an email is missing, names that agree (``Marco`` ~
  ``Marco Rossi`` ~ ``marco.rossi@...``). An unknown owner never matches.
- **Same counterparty or account**: the same account (from the linked deal or the contact),
  or, where an account is unknown, the same counterparty by the person rule. Two different
  known accounts never match.
- **Close in time**: said within :data:`WINDOW_DAYS` (14) days of each other.
- **Compatible due dates**: equal, one of them missing, or at most :data:`DUE_SLACK_DAYS` (2)
  days apart ("by Thursday" in the meeting, "end of week" in the email).
- **The same action in other words**: no conflicting numbers, named things or months (where
  both actions have some, they share one: "25 seats" is not "50 seats", the "CSV export" is not
  the "PDF export", "Okta" is not "Azure AD", the "uptime report for May" is not the one "for
  April"), and an :func:`action_similarity` of at least :data:`ACTION_THRESHOLD`, or of
  :data:`CONTRAST_THRESHOLD` when each action has a word the other lacks (a swapped word more
  often names another thing than an added one does).

The action comparison works on content words: lowercased, number words written as digits,
common sales synonyms folded to one word (``quote``/``pricing``, ``slides``/``deck``),
stop words, delivery verbs (``send``, ``share``, ``get you``), weekdays and dates dropped, the
people's own names dropped, crudely stemmed (:func:`~store.fulfilment_rules.stem`); two words
match when equal, when one begins the other (``fix`` ~ ``fixed``), or when RapidFuzz's
``ratio`` is at least :data:`WORD_MATCH` (``retry`` ~ ``retri``). The thresholds were chosen by
cross-validation on the pairs in ``benchmarks/merge_pairs.jsonl``; ``python
benchmarks/merge_pairs.py`` prints precision and recall there and on a held-out set (88 pairs: 1.00 /
0.91 under 5-fold cross-validation; 20 held-out pairs: 1.00 / 0.50, no longer blind: the month rule
was added after the held-out pair "the uptime report for May" / "... for April" was seen to merge,
when it scored 0.83 / 0.50. Paraphrases with other words for the deliverable, "demo environment" /
"demo instance", are missed).
"""

from __future__ import annotations

import re
from collections.abc import Set
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from store.fulfilment_rules import stem

_CACHE = 8192
"""Actions (with the names around them) whose words :func:`content_words`, :func:`months` and
:func:`named_things` keep: the merge pass compares each item with many others."""
WINDOW_DAYS = 14
"""Two sayings of one promise are at most this many days apart."""
DUE_SLACK_DAYS = 2
"""Two due dates at most this many days apart are the same deadline said loosely."""
ACTION_THRESHOLD = 0.55
"""The least :func:`action_similarity` of one promise said twice when one action only adds words to
the other ("the pricing" / "the revised pricing for 3 years"). Chosen by cross-validation."""
CONTRAST_THRESHOLD = 0.8
"""The least :func:`action_similarity` when each action has a word the other lacks (a swapped word:
"the airline case study" / "the retail case study"). Chosen by cross-validation."""
WORD_MATCH = 80.0
"""RapidFuzz ``ratio`` (0-100) at which two stemmed words count as the same word."""

_NUMBER_WORDS = dict(
    zip(
        "one two three four five six seven eight nine ten eleven twelve fifteen twenty thirty fifty".split(),
        "1 2 3 4 5 6 7 8 9 10 11 12 15 20 30 50".split(),
        strict=True,
    )
)
_PHRASES = [
    (re.compile(p), canon)
    for p, canon in (
        (r"\bwrite[- ]up\b", "writeup"),
        (r"\b(?:set|spin|stand)[- ]up\b", "setup"),
        (r"\b(?:turn|switch) on\b", "enable"),
        (r"\b(?:turn|switch) off\b", "disable"),
        (r"\b(?:look|dig) into\b", "investigate"),
        (r"\bshut down\b", "shutdown"),
        (r"\bsingle sign[- ]on\b", "sso"),
        (r"\bstatement of work\b", "sow"),
        (r"\bpurchase order\b", "po"),
        (r"\b(?:pen|penetration) test", "pentest"),
        (r"\bloop in\b|\bbring in(?:to)?\b", "involve"),
    )
]
"""Multi-word verbs and names said two ways, folded to one word before splitting."""
_SYNONYMS = {
    word: canon
    for canon, words in {
        "price": "price prices pricing quote quotes quotation quoted",
        "deck": "deck decks slide slides presentation",
        "doc": "doc docs document documents documentation writeup",
        "invite": "invite invites invitation invitations",
        "meeting": "meeting meetings call calls sync",
        "contract": "contract contracts agreement agreements",
        "results": "results numbers figures",
        "access": "access login logins credentials",
        "intro": "intro introduction introductions intros introduce connect",
        "reference": "reference references ref refs",
        "summary": "summary recap notes overview",
        "trial": "trial pilot poc",
        "verify": "verify confirm check",
        "schedule": "schedule book arrange organize organise",
        "issue": "issue issues bug bugs problem problems",
        "change": "change changes edit edits",
        "setup": "setup configure",
    }.items()
    for word in words.split()
}
"""Words of sales follow-ups that name one thing or act (folded to the first)."""
_STOP = frozenset(
    """a an the to for with by on in of and or at from as into about this that these those it its i me my we
    us our you your they them their he she his her him let make sure put together get give send sending
    sent share sharing provide follow up over back out have has be is are was were can could would will
    shall please just now today tomorrow week next end soon asap morning afternoon all any some also more
    quick short new update updated do doing team folks everyone across along through via between against
    thing things stuff copy possible first latest discussed mentioned promised earlier again per revised
    final full complete completed current few right correct corrected whether re seeing feature return
    resend forward post""".split()
)
"""Words that do not tell one deliverable from another: function words, delivery verbs ("send",
"share", "get you", "forward"), time words, and generic modifiers ("revised", "final"). Unlike
:mod:`store.fulfilment_rules`, "done" is kept: "the done check" is not "the snooze check"."""
_WEEKDAYS = frozenset("monday tuesday wednesday thursday friday saturday sunday eod eow".split())
"""Words of a due date ("by Friday", "EOD"): dropped from the action, the due rule compares dates."""
_MONTHS = "january february march april may june july august september october november december".split()
_MONTH_ABBR = {**{m[:3]: m for m in _MONTHS if m != "may"}, "sept": "september"}
"""Months that name a deliverable ("the uptime report for May", "the Sept numbers"): see :func:`months`."""
_CALENDAR = _WEEKDAYS | set(_MONTHS) | set(_MONTH_ABBR)
"""Calendar words, left out of the plain content words and of :func:`named_things` (:func:`months`
keeps the months that name a deliverable)."""
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE = re.compile(
    rf"\b\d{{4}}-\d{{1,2}}-\d{{1,2}}\b|\b\d{{1,2}}/\d{{1,2}}(?:/\d{{2,4}})?\b"
    rf"|\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?\b|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?=\W|$)"
)
"""A date written in the action ("by 2026-03-13", "by March 31", "3/31"): the due rule compares dates."""
_DATE_ANY_CASE = re.compile(_DATE.pattern, re.IGNORECASE)
_BY_MONTH = re.compile(
    rf"\b(?:by|before|until|till|through|(?:(?:the\s+)?(?:end|start|beginning|middle)\s+of)|early|mid|late)"
    rf"[\s-]+(?:the\s+)?(?:(?:end|start|beginning|middle)\s+of\s+)?{_MONTH}(?=\W|$)",
    re.IGNORECASE,
)
"""A month as a deadline ("by end of March", "before April", "mid-May"): a due date, like :data:`_DATE`."""
_WORD = re.compile(r"[a-z0-9][a-z0-9-]*")
_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9]*")


@dataclass(frozen=True, slots=True)
class Said:
    """One stored commitment (or request) as the merge rules see it.

    ``account``: the account's key (the store uses its id) from the linked deal or the
    counterparty's contact, ``None`` when unknown. ``said_on``: the day its document was
    written or held (UTC). ``thread``: its conversation (``email:<thread id>``, or
    ``doc:<document id>`` for a document in no thread). ``listed``: its evidence is a line of
    the document's action-item list (:func:`action_item_line`).
    """

    id: int
    type: str
    owner: str | None
    owner_email: str | None
    counterparty: str | None
    counterparty_email: str | None
    account: str | None
    action: str
    due: date | None
    said_on: date
    document: int
    thread: str
    listed: bool = False


@dataclass(frozen=True)
class Verdict:
    """Whether two items are one promise; ``score`` is :func:`action_similarity`; ``reason`` says
    which rule decided (``"same promise"`` when they are one)."""

    same: bool
    score: float
    reason: str


def name_words(name: str | None, email: str | None) -> list[str]:
    """The lowercase words of a name, else of an email's local part (``marco.rossi@`` → marco, rossi)."""
    if name:
        return re.findall(r"[a-z]+", name.lower())
    if email and "@" in email:
        return re.findall(r"[a-z]+", email.split("@", 1)[0].lower())
    return []


def same_person(name_a: str | None, email_a: str | None, name_b: str | None, email_b: str | None) -> bool:
    """Whether two mentions name one person: equal emails where both are known, else names (or an
    email's local part) where one's words begin the other's (``Marco`` ~ ``Marco Rossi``)."""
    if email_a and email_b:
        return email_a.strip().lower() == email_b.strip().lower()
    a, b = name_words(name_a, email_a), name_words(name_b, email_b)
    if not a or not b:
        return False
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    return long_[: len(short)] == short


def _domain(email: str | None) -> str | None:
    return email.rsplit("@", 1)[1].lower() if email and "@" in email else None


def same_party(a: Said, b: Said) -> bool:
    """Same counterparty or the same account; two different known accounts are never the same."""
    if a.account and b.account:
        return a.account == b.account
    if same_person(a.counterparty, a.counterparty_email, b.counterparty, b.counterparty_email):
        return True
    da, db = _domain(a.counterparty_email), _domain(b.counterparty_email)
    return da is not None and da == db


def _no_other_party(a: Said, b: Said) -> bool:
    """Within one document: no known account, nor counterparty email domain, on each side that disagree
    (a line of the action items often names nobody the promise is for)."""
    if a.account and b.account:
        return a.account == b.account
    da, db = _domain(a.counterparty_email), _domain(b.counterparty_email)
    return da is None or db is None or da == db


_LIST_ITEM = re.compile(r"[ \t]*(?:[-*+•▪◦]|\d{1,2}[.)]|\[[ xX]?\])[ \t]+")
_ACTION_HEADING = re.compile(
    r"^[ \t#*_>]*(?:action[ \t]+items?|actions|next[ \t]+steps|to[- ]?dos?|follow[- ]?ups?|tasks|"
    r"takeaways|owners)\b[^\n]{0,30}$",
    re.IGNORECASE | re.MULTILINE,
)
_HEADING = re.compile(
    r"^[ \t]*(?:#{1,6}[ \t]|\*\*[^\n]*\*\*[ \t]*$|__[^\n]*__[ \t]*$|[A-Z][^\n]{0,40}:[ \t]*$)"
)


ACTION_LIST_LINES = 200
"""How many lines above a list item :func:`action_item_line` looks for its heading: a longer run of
list items and blank lines is no action-item list (and the look stays bounded on any document)."""


def action_item_line(text: str, offset: int) -> bool:
    """Whether ``text[offset]`` lies on a line of an action-item list: a list item (``-``, ``*``, ``•``,
    ``1.``, ``[ ]``) whose nearest heading above (a Markdown ``#`` heading, a bold line, or a short
    line ending with a colon) names action items, next steps, to-dos, follow-ups or tasks
    ("## Action items", "Next steps:"), within :data:`ACTION_LIST_LINES` lines. ``offset``: a
    character index into ``text``; one past the end is read as the last line. Reads only the lines
    from the heading down, not the text above it."""
    start = text.rfind("\n", 0, offset) + 1
    if not _LIST_ITEM.match(text, start):
        return False
    end, seen = start - 1, 0  # ``end``: the line break that ends the line above
    while end >= 0 and seen < ACTION_LIST_LINES:
        begin = text.rfind("\n", 0, end) + 1
        for line in reversed(text[begin:end].splitlines()):  # other line breaks than "\n" split it too
            seen += 1
            if _LIST_ITEM.match(line) or not line.strip():
                continue
            return bool(_HEADING.match(line) and _ACTION_HEADING.match(line))
        end = begin - 1
    return False


def dues_compatible(a: date | None, b: date | None) -> bool:
    """Equal, one missing, or at most :data:`DUE_SLACK_DAYS` apart."""
    return a is None or b is None or abs((a - b).days) <= DUE_SLACK_DAYS


@lru_cache(maxsize=_CACHE)
def content_words(action: str, names: frozenset[str] = frozenset()) -> frozenset[str]:
    """The action's content words, normalised as the module docstring says; ``names`` (lowercase
    words of the people involved) are dropped."""
    words = frozenset(word for part, word in _content_parts(action) if part not in names)
    return words | months(action, names)


@lru_cache(maxsize=_CACHE)
def _content_parts(action: str) -> tuple[tuple[str, str], ...]:
    """Each content word of ``action`` as written (after phrases and number words) with its
    normalised form: the work :func:`content_words` does whoever the people are, done once per
    action (the merge pass asks for one action with the names of each pair it is in)."""
    text = _DATE.sub(" ", action.lower())
    for pattern, canon in _PHRASES:
        text = pattern.sub(canon, text)
    out = []
    for w in _WORD.findall(text):
        for part in w.split("-"):
            part = _NUMBER_WORDS.get(part, part)
            if part and part not in _STOP and part not in _CALENDAR:
                out.append((part, stem(_SYNONYMS.get(part, part))))
    return tuple(out)


@lru_cache(maxsize=_CACHE)
def months(action: str, names: frozenset[str] = frozenset()) -> frozenset[str]:
    """The months an action names as part of what is delivered, as full lowercase names: "the uptime
    report for May" → ``{"may"}``, "the Sept numbers" → ``{"september"}``. Like numbers, they tell
    one deliverable from another ("the report for May" is not "the report for April"). A date with a
    day ("by March 31", "3/31") or a month as a deadline ("by the end of March", "mid-May") is a due
    date, not a deliverable: the due rule compares it. A month is written in full in any case, or
    as a title-case abbreviation ("Apr", "Sept"); "May" only capitalised and not the first word (a
    lowercase "may" is the modal verb). ``names`` (people's: "April") are no months."""
    return frozenset(month for low, month in _month_tokens(action) if low not in names)


@lru_cache(maxsize=_CACHE)
def _month_tokens(action: str) -> tuple[tuple[str, str], ...]:
    """Each token of ``action`` that :func:`months` counts, lowercased, with the month it names."""
    found = []
    text = _BY_MONTH.sub(" ", _DATE_ANY_CASE.sub(" ", action))
    for i, token in enumerate(_TOKEN.findall(text)):
        low = token.lower()
        if low == "may":
            if i and token[0] == "M":
                found.append((low, "may"))
        elif low in _MONTHS:
            found.append((low, low))
        elif low in _MONTH_ABBR and token[0].isupper():
            found.append((low, _MONTH_ABBR[low]))
    return tuple(found)


@lru_cache(maxsize=_CACHE)
def named_things(action: str, names: frozenset[str] = frozenset()) -> frozenset[str]:
    """The names of things in an action, lowercased: acronyms (``SOC``, ``CSV``, ``EU``) and
    capitalised words after the first (``Okta``, ``Salesforce``), not days, months or ``names``."""
    found = {w.lower() for w in _TOKEN.findall(action)[1:] if w[0].isupper() and w != "I"}
    return frozenset(w for w in found if w not in _CALENDAR and w not in names)


def _numbers(words: Set[str]) -> set[str]:
    return {w for w in words if w.isdigit()}


@lru_cache(maxsize=1 << 16)
def _same_word(x: str, y: str) -> bool:
    """Equal, one a prefix of the other (``fix``/``fixed``), or RapidFuzz ``ratio`` ≥ :data:`WORD_MATCH`."""
    from rapidfuzz.fuzz import ratio  # noqa: PLC0415 - loaded by the first comparison (a re-run makes none)

    short, long_ = sorted((x, y), key=len)
    return x == y or (len(short) >= 3 and long_.startswith(short)) or ratio(x, y) >= WORD_MATCH


def _unmatched(xs: Set[str], ys: Set[str]) -> set[str]:
    return {x for x in xs if x not in ys and not any(_same_word(x, y) for y in ys)}


def action_similarity(a: Set[str], b: Set[str]) -> tuple[float, bool]:
    """Soft Dice of two content-word sets (0..1: the share of words with a match on the other side),
    and whether each side has a word the other lacks (a swapped word, not only added ones)."""
    if not a or not b:
        return 0.0, False
    ua, ub = _unmatched(a, b), _unmatched(b, a)
    return (len(a) - len(ua) + len(b) - len(ub)) / (len(a) + len(b)), bool(ua and ub)


def _names(*items: Said) -> frozenset[str]:
    out: set[str] = set()
    for it in items:
        for name, email in ((it.owner, it.owner_email), (it.counterparty, it.counterparty_email)):
            out.update(name_words(name, None))
            out.update(name_words(None, email))
    return frozenset(w for w in out if len(w) > 2)


def judge(
    a: Said, b: Said, *, threshold: float = ACTION_THRESHOLD, contrast: float = CONTRAST_THRESHOLD
) -> Verdict:
    """Whether ``a`` and ``b`` are one promise (the rules of the module docstring, in that order)."""
    restated = a.document == b.document and a.listed != b.listed
    if (a.document == b.document or a.thread == b.thread) and not restated:
        return Verdict(False, 0.0, "same conversation")
    if restated:
        threshold = contrast = max(threshold, contrast)
    if a.type != b.type:
        return Verdict(False, 0.0, "different kind")
    if not same_person(a.owner, a.owner_email, b.owner, b.owner_email):
        return Verdict(False, 0.0, "different owner")
    if not (_no_other_party(a, b) if restated else same_party(a, b)):
        return Verdict(False, 0.0, "different counterparty")
    if abs((a.said_on - b.said_on).days) > WINDOW_DAYS:
        return Verdict(False, 0.0, "too far apart")
    if not dues_compatible(a.due, b.due):
        return Verdict(False, 0.0, "incompatible due dates")
    names = _names(a, b)
    wa, wb = content_words(a.action, names), content_words(b.action, names)
    for xs, ys, what in (
        (_numbers(wa), _numbers(wb), "different numbers"),
        (named_things(a.action, names), named_things(b.action, names), "different named things"),
        (months(a.action, names), months(b.action, names), "different months"),
    ):
        if xs and ys and not xs & ys:
            return Verdict(False, 0.0, what)
    score, swapped = action_similarity(wa, wb)
    if score < (contrast if swapped else threshold):
        return Verdict(False, score, "different action")
    return Verdict(True, score, "same promise")
