"""Deciding which deal a commitment belongs to. Pure functions, no database.

For one commitment, in order:

1. **mention** (confidence 0.9): a deal name, or an account name (with or
   without a suffix such as "Inc" or "Corp"), appears in the evidence quotes
   or the document title, or a deal name appears in the document text. A deal
   name wins over an account name; an account name picks that account's best
   open deal. (An account named only in passing in the body of the text is
   looked at after the contacts, so that "Globex uses it too" in an email from
   Acme does not pull Acme's commitment to Globex.)
2. **contact** (0.8): an external participant's email (or the commitment's
   owner/counterparty email) is a CRM contact → that contact's account → its
   best open deal. A participant known by name only (a meeting speaker) counts
   when the name is exactly one CRM contact's full name.
3. **domain** (0.6): an external participant's email domain is one of an
   account's domains → its best open deal. Never for an internal-only
   conversation (every participant with an email is internal).
4. otherwise the commitment stays unlinked.

"Best open deal": not Closed Won/Lost; the latest stage first, then the close
date nearest to the conversation. A participant is internal when the pipeline
marked it so or its email domain (or a parent domain) is in
``internal_domains``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date

from followthrough.types import domain_of, is_internal, normalize_domains
from store.priority import is_closed, stage_rank

MENTION, CONTACT, DOMAIN, MANUAL = "mention", "contact", "domain", "manual"
CONFIDENCE = {MENTION: 0.9, CONTACT: 0.8, DOMAIN: 0.6, MANUAL: 1.0}

_SUFFIXES = re.compile(
    r"[\s,]+(inc\.?|incorporated|corp\.?|corporation|co\.?|company|llc|l\.l\.c\.|ltd\.?|limited|gmbh|ag|"
    r"s\.a\.|sa|plc|bv|b\.v\.|pty|group|holdings)$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class DealInfo:
    id: int
    crm_id: str
    name: str
    account_id: int
    stage: str | None
    close_date: date | None


@dataclass(frozen=True, slots=True)
class AccountInfo:
    id: int
    name: str
    domains: tuple[str, ...] = ()


@dataclass
class LinkIndex:
    """The CRM, prepared once for linking many commitments."""

    deals: list[DealInfo]
    accounts: list[AccountInfo]
    contact_accounts: dict[str, int]  # lowercased email -> account id
    internal_domains: set[str] = field(default_factory=set)
    contact_names: dict[str, int] = field(default_factory=dict)  # lowercased full name -> account id
    _deal_patterns: list[tuple[_Phrase, DealInfo]] = field(default_factory=list, init=False)
    _account_patterns: list[tuple[_Phrase, AccountInfo]] = field(default_factory=list, init=False)
    _domain_accounts: dict[str, int] = field(default_factory=dict, init=False)
    _deal_words: _WordIndex = field(init=False)
    _account_words: _WordIndex = field(init=False)
    _open_deals: dict[int, list[DealInfo]] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.internal_domains = set(normalize_domains(self.internal_domains))
        for deal in sorted(self.deals, key=lambda d: -len(d.name)):
            if len(deal.name.strip()) >= 4:
                self._deal_patterns.append((_Phrase(deal.name), deal))
        for acc in sorted(self.accounts, key=lambda a: -len(a.name)):
            for alias in account_aliases(acc.name):
                self._account_patterns.append((_Phrase(alias), acc))
        for acc in self.accounts:
            for d in acc.domains:
                self._domain_accounts.setdefault(d.lower(), acc.id)
        self._deal_words = _WordIndex([p.source for p, _ in self._deal_patterns])
        self._account_words = _WordIndex([p.source for p, _ in self._account_patterns])
        for deal in self.deals:
            if not is_closed(deal.stage):
                self._open_deals.setdefault(deal.account_id, []).append(deal)

    def deals_named(self, text: str) -> Iterator[DealInfo]:
        """The deals whose name ``text`` mentions, longest name first."""
        for i in self._deal_words.candidates(text):
            pattern, deal = self._deal_patterns[i]
            if pattern.search(text):
                yield deal

    def accounts_named(self, text: str) -> Iterator[AccountInfo]:
        """The accounts whose name (or name without its legal suffix) ``text`` mentions, longest first."""
        for i in self._account_words.candidates(text):
            pattern, acc = self._account_patterns[i]
            if pattern.search(text):
                yield acc

    def is_internal(self, email: str, flagged: bool | None = None) -> bool:
        """Ours: marked so by the pipeline, or at one of ``internal_domains`` (or a subdomain)."""
        return flagged is True or is_internal(email, self.internal_domains)

    def open_deals(self, account_id: int) -> list[DealInfo]:
        return list(self._open_deals.get(account_id, ()))

    def account_for_domain(self, dom: str) -> int | None:
        parts = dom.lower().split(".")
        for i in range(len(parts) - 1):  # mail.acme.com → acme.com
            hit = self._domain_accounts.get(".".join(parts[i:]))
            if hit is not None:
                return hit
        return None


@dataclass(frozen=True)
class Participation:
    """One person in the commitment's conversation: an email (or only a name) and the internal flag."""

    email: str | None
    internal: bool | None = None
    name: str | None = None


@dataclass(frozen=True)
class LinkInput:
    """What linking looks at for one commitment."""

    texts: Sequence[str]  # the evidence quotes, then the document titles
    participants: Sequence[Participation]
    occurred: date | None = None
    bodies: Sequence[str] = ()  # the documents' full text


@dataclass(frozen=True)
class LinkDecision:
    deal_id: int
    method: str
    confidence: float


_SUFFIX_ENDS = tuple(
    "inc inc. incorporated corp corp. corporation co co. company llc l.l.c. ltd ltd. limited gmbh ag "
    "s.a. sa plc bv b.v. pty group holdings".split()
)
"""How a name with a legal suffix (:data:`_SUFFIXES`) ends: most names are tested by one ``endswith``."""


def account_aliases(name: str) -> list[str]:
    """The account's name and, when it has one, the name without its legal suffix."""
    out = [name.strip()]
    if not out[0].lower().endswith(_SUFFIX_ENDS):
        return [a for a in out if len(a) >= 3]
    short = _SUFFIXES.sub("", name.strip()).strip()
    if short and short.lower() != name.strip().lower() and len(short) >= 3:
        out.append(short)
    return [a for a in out if len(a) >= 3]


class _Phrase:
    """A name's name pattern, compiled the first time a text could mention it (a CRM of a
    million deals compiles only the names that texts bring up, not all of them up front)."""

    __slots__ = ("_rx", "source")

    def __init__(self, name: str) -> None:
        words = [re.escape(w) for w in name.split()]
        self.source = r"(?<![\w@.])" + r"\s+".join(words) + r"(?![\w@])"
        self._rx: re.Pattern[str] | None = None

    def search(self, text: str) -> bool:
        if self._rx is None:
            self._rx = re.compile(self.source, re.IGNORECASE)
        return self._rx.search(text) is not None


def best_deal(deals: Iterable[DealInfo], near: date | None) -> DealInfo | None:
    """The latest stage first, then the close date nearest ``near`` (missing dates last)."""

    def key(d: DealInfo) -> tuple[int, int, str]:
        if d.close_date is None:
            distance = 10**6
        elif near is None:
            distance = d.close_date.toordinal()
        else:
            distance = abs((d.close_date - near).days)
        return (-stage_rank(d.stage), distance, d.crm_id)

    ranked = sorted(deals, key=key)
    return ranked[0] if ranked else None


def _by_mention(
    texts: Sequence[str], index: LinkIndex, near: date | None, *, deals: bool = True, accounts: bool = True
) -> DealInfo | None:
    for text in texts:
        if not text:
            continue
        if deals:
            for deal in index.deals_named(text):
                return deal
        if accounts:
            for acc in index.accounts_named(text):
                best = best_deal(index.open_deals(acc.id), near)
                if best is not None:
                    return best
    return None


_WORD = re.compile(r"\w+")

KEY_RUNS = 4
"""How many of a name's runs of word characters its :func:`name_key` holds."""


def name_key(name: str) -> str:
    """The first :data:`KEY_RUNS` runs of word characters of ``name``, lowercased, joined by one
    space (``"Acme Corp - Renewal 2026"`` → ``"acme corp renewal 2026"``; ``""`` for a name with
    none).

    A name's pattern (:class:`_Phrase`) matches only where the text's runs of word characters hold
    the name's runs one after the other (what lies between them in the name is white space and
    punctuation, and the pattern's edges cannot cut a run), so a text can mention a name only when
    :func:`text_keys` of the text holds the name's key: the store finds the few names a text may
    mention by their keys, without holding the CRM's rows.
    """
    return " ".join(_WORD.findall(name.lower())[:KEY_RUNS])


def text_keys(text: str) -> set[str]:
    """Every run of 1 to :data:`KEY_RUNS` consecutive runs of word characters of ``text``,
    lowercased and joined by one space: the :func:`name_key` of every name the text can mention."""
    runs = _WORD.findall(text.lower())
    out = set(runs)
    for n in range(2, KEY_RUNS + 1):  # each n consecutive runs: n shifted copies zipped, joined in C
        out.update(map(" ".join, zip(*(runs[i:] for i in range(n)), strict=False)))
    return out


class _WordIndex:
    """Which of a list of name patterns (:class:`_Phrase`) can match a text, without trying them all.

    A name can only match where the text holds every word of it, so each pattern is filed under
    the rarest (among all the patterns) of its words' runs of word characters, lowercased (ASCII
    runs only; a pattern with none is tried on every text). A text is split into its runs of word
    characters once; the patterns filed under them are the candidates, in list order. Linking one
    commitment then costs the words of its texts, not the size of the CRM, even when a million
    deal names share their first word ("Acme - Renewal", "Acme - Expansion").
    """

    def __init__(self, patterns: Sequence[str]) -> None:
        self.by_word: dict[str, list[int]] = {}
        self.always: list[int] = []
        runs = [_ascii_runs(pattern) for pattern in patterns]
        frequency: dict[str, int] = {}
        for words in runs:
            for word in words:
                frequency[word] = frequency.get(word, 0) + 1
        for i, words in enumerate(runs):
            if not words:
                self.always.append(i)
            else:
                rarest = min(words, key=lambda w: (frequency[w], w))
                self.by_word.setdefault(rarest, []).append(i)

    def candidates(self, text: str) -> list[int]:
        found = set(self.always)
        for word in set(_WORD.findall(text.lower())):
            found.update(self.by_word.get(word, ()))
        return sorted(found)


def _ascii_runs(pattern: str) -> frozenset[str]:
    """The lowercased ASCII runs of word characters of a name pattern's words (unescaped)."""
    body = pattern.removeprefix(r"(?<![\w@.])").removesuffix(r"(?![\w@])")
    text = re.sub(r"\\(.)", r"\1", body.replace(r"\s+", " "))
    return frozenset(w.lower() for w in _WORD.findall(text) if w.isascii())


def _best_for_accounts(account_ids: list[int], index: LinkIndex, near: date | None) -> DealInfo | None:
    """Accounts in order of how many participants point at them; the first with an open deal wins."""
    counts: dict[int, int] = {}
    for a in account_ids:
        counts[a] = counts.get(a, 0) + 1
    for acc in sorted(counts, key=lambda a: (-counts[a], account_ids.index(a))):
        deal = best_deal(index.open_deals(acc), near)
        if deal is not None:
            return deal
    return None


def decide(inp: LinkInput, index: LinkIndex) -> LinkDecision | None:
    """The deal for one commitment, or ``None`` when it stays unlinked."""
    # a name in the quote or the title, or a deal's name anywhere in the text
    deal = _by_mention(inp.texts, index, inp.occurred) or _by_mention(
        inp.bodies, index, inp.occurred, accounts=False
    )
    if deal is not None:
        return LinkDecision(deal.id, MENTION, CONFIDENCE[MENTION])
    external = [
        p.email.lower() for p in inp.participants if p.email and not index.is_internal(p.email, p.internal)
    ]
    via_contacts = [index.contact_accounts[e] for e in external if e in index.contact_accounts]
    for p in inp.participants:
        key = " ".join((p.name or "").lower().split())
        if not p.email and p.internal is not True and key in index.contact_names:
            via_contacts.append(index.contact_names[key])
    deal = _best_for_accounts(via_contacts, index, inp.occurred)
    if deal is not None:
        return LinkDecision(deal.id, CONTACT, CONFIDENCE[CONTACT])
    # an account named in passing in the body counts only after the people in the conversation
    deal = _by_mention(inp.bodies, index, inp.occurred, deals=False)
    if deal is not None:
        return LinkDecision(deal.id, MENTION, CONFIDENCE[MENTION])
    if not external:  # internal-only conversation: never by domain
        return None
    via_domain = [
        a for a in (index.account_for_domain(domain_of(e) or "") for e in external) if a is not None
    ]
    deal = _best_for_accounts(via_domain, index, inp.occurred)
    if deal is not None:
        return LinkDecision(deal.id, DOMAIN, CONFIDENCE[DOMAIN])
    return None
