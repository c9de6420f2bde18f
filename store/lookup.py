"""Finding people, deals and accounts the way people type them.

``--owner marco``, ``--deal "data platform"``, ``--account acme.com``: each value
is matched against what the store knows, and names exactly one person, deal or
account, or is an :class:`Unresolved` error that lists the candidates. A listing
filtered by a value that matches nobody is never silently empty.

People (:func:`find_person`) are those of the ``people`` table (seen in
documents), CRM contacts, deal owners, and commitment owners known by name only.
A value with ``@`` is an email, matched exactly (any case). Any other value is
matched, case-insensitively, first exactly against each person's full names,
first and last names and email local part (and its ``.``/``_``/``-`` pieces),
then, when nothing matched, as the start of one of those (2 characters or more).
People with an email push out owners known by name only.

Deals (:func:`find_deal`): the CRM id as stored (one indexed lookup), else the CRM
id in any case or the whole name, then a part of either. Accounts
(:func:`find_account`): the CRM id, the whole name or a domain (or an email at
one), then a part of one of those.

:func:`scope_of` turns a :class:`~store.views.CommitmentFilter`'s ``owner``,
``deal`` and ``account`` into the :class:`Scope` that
:func:`store.queries.build_select` filters by.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from followthrough.errors import StoreError
from followthrough.types import domain_of
from store.base import StoreCore
from store.models import AccountRow, CommitmentRow, ContactRow, DealRow, PersonRow
from store.views import CommitmentFilter, PersonView

SHOWN = 10
"""How many candidates an error names before "and N more"."""

_T = TypeVar("_T")


class Unresolved(StoreError, LookupError):
    """A value that names no person (deal, account), or more than one.

    ``field`` is ``owner``, ``deal`` or ``account``; ``value`` is what was typed;
    ``candidates`` are the labels the message lists (``"dana@acme.com (Dana Lee)"``,
    ``"D-1001 (Acme Corp - Data Platform Expansion)"``). ``str()`` is one line.
    """

    def __init__(self, field: str, value: str, message: str, candidates: list[str]) -> None:
        super().__init__(message)
        self.field = field
        self.value = value
        self.candidates = candidates


@dataclass(frozen=True)
class Scope:
    """Whose and which commitments a listing keeps; empty: everyone's, every deal's.

    ``owner_email``: the owner's email. ``owner_names``: owner names as stored on
    commitments that have no owner email (the same person, known by name only).
    ``deal_ids``: store ids of the deals an item must be linked to (``()``: none matches).
    """

    owner_email: str | None = None
    owner_names: tuple[str, ...] = ()
    deal_ids: tuple[int, ...] | None = None

    @property
    def has_owner(self) -> bool:
        return self.owner_email is not None or bool(self.owner_names)


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def _listed(labels: list[str]) -> str:
    shown = ", ".join(labels[:SHOWN])
    return shown + (f" and {len(labels) - SHOWN} more" if len(labels) > SHOWN else "")


PART_MIN_CHARS = 2
"""A value shorter than this matches only whole names, ids and emails, never a part of one."""


def _match(
    value: str,
    candidates: Iterable[_T],
    keys: Callable[[_T], set[str]],
    prefer: Callable[[_T], bool] = lambda _: True,
    contains: bool = False,
) -> list[_T]:
    """The candidates ``value`` names exactly; when none, those one of whose keys starts with it
    (or, with ``contains``, holds it). In each round, candidates ``prefer`` holds for push out the others."""
    want = _norm(value)
    pool = list(candidates)

    def partial(k: str) -> bool:
        return len(want) >= PART_MIN_CHARS and (want in k if contains else k.startswith(want))

    for hit in (lambda k: k == want, partial):
        found = [c for c in pool if any(hit(k) for k in keys(c))]
        if found:
            return [c for c in found if prefer(c)] or found
    return []


def _short(value: str) -> str:
    """Why a one-character value matched nothing: a part of a name needs :data:`PART_MIN_CHARS`."""
    return (
        f" (a part of a name needs {PART_MIN_CHARS} characters or more)"
        if len(_norm(value)) < PART_MIN_CHARS
        else ""
    )


# ---------------------------------------------------------------- people


@dataclass
class _Person:
    email: str | None
    names: set[str] = field(default_factory=set)

    @property
    def name(self) -> str | None:
        """The fullest name known (most words, then alphabetical)."""
        return min(self.names, key=lambda n: (-len(n.split()), n), default=None)

    def label(self) -> str:
        if self.email is None:
            return f"{self.name} (no email)"
        return f"{self.email} ({self.name})" if self.name else self.email

    def keys(self) -> set[str]:
        """Every spelling that names this person exactly: full names, first and last names, local part."""
        out: set[str] = set()
        for name in self.names:
            words = _norm(name).split()
            if words:
                out |= {" ".join(words), words[0], words[-1]}
        if self.email:
            local = self.email.split("@", 1)[0]
            out |= {local, *(p for p in re.split(r"[._+-]", local) if p)}
        return out


def _people(s: Session) -> dict[str, _Person]:
    """Everyone with an email, by email."""
    people: dict[str, _Person] = {}
    named = [
        *s.execute(select(ContactRow.email, ContactRow.name)),
        *s.execute(select(PersonRow.email, PersonRow.name)),
        *((e, None) for e in s.scalars(select(DealRow.owner_email).distinct()) if e),
    ]
    for email, name in named:
        _add(people, email, name)
    return people


def _add(people: dict[str, _Person], email: str, name: str | None) -> None:
    person = people.setdefault(email.lower(), _Person(email.lower()))
    if name and name.strip() and "@" not in name:
        person.names.add(" ".join(name.split()))


def _with_email(s: Session, email: str) -> _Person | None:
    """The person with ``email`` (stored lowercased) and their names: a contact, someone seen in a
    document, a deal owner or a commitment owner; ``None`` when no one has it. Indexed lookups only."""
    people: dict[str, _Person] = {}
    for table in (ContactRow, PersonRow):
        for name in s.scalars(select(table.name).where(table.email == email)):
            _add(people, email, name)
    if email not in people and (
        s.scalar(select(DealRow.id).where(DealRow.owner_email == email).limit(1)) is not None
        or s.scalar(select(CommitmentRow.id).where(CommitmentRow.owner_email == email).limit(1)) is not None
    ):
        people[email] = _Person(email)
    return people.get(email)


def _loose(s: Session) -> list[str]:
    """The owner names of commitments that have no owner email, sorted."""
    loose = s.scalars(
        select(CommitmentRow.owner)
        .where(CommitmentRow.owner_email.is_(None), CommitmentRow.owner.is_not(None))
        .distinct()
    )
    return sorted(n for n in loose if n and n.strip())


def _known_owners(s: Session, people: dict[str, _Person]) -> list[str]:
    """Labels of the people who own commitments or deals: what an unknown owner's error lists."""
    emails = {e for e in s.scalars(select(CommitmentRow.owner_email).distinct()) if e}
    emails |= {e.lower() for e in s.scalars(select(DealRow.owner_email).distinct()) if e}
    return sorted(people.get(e, _Person(e)).label() for e in emails)


def _own_names(
    person: _Person, loose: list[str], people: Callable[[], dict[str, _Person]]
) -> tuple[str, ...]:
    """The name-only owner spellings that mean ``person``: one of their full names, or their first
    name when no one else with an email has that first name (``people``: everyone with an email, read
    only when a loose name is one of ``person``'s first names)."""
    full = {_norm(n) for n in person.names}
    firsts = {n.split()[0] for n in full if n}
    if not any(_norm(n) in firsts for n in loose):
        return tuple(n for n in loose if _norm(n) in full)
    others = {
        _norm(n).split()[0]
        for p in people().values()
        if p.email != person.email
        for n in p.names
        if n.split()
    }
    return tuple(n for n in loose if _norm(n) in full or (_norm(n) in firsts and _norm(n) not in others))


def _person(s: Session, value: str) -> tuple[PersonView, Scope]:
    want = value.strip()
    loose = _loose(s)
    everyone: dict[str, _Person] | None = None

    def people() -> dict[str, _Person]:
        nonlocal everyone
        if everyone is None:
            everyone = _people(s)
        return everyone

    if "@" in want:  # an email: indexed lookups, not everyone's names
        person = _with_email(s, want.lower())
        found = [person] if person is not None else []
    else:
        candidates = [*people().values(), *(_Person(None, {n}) for n in loose)]
        found = _match(want, candidates, _Person.keys, prefer=lambda p: p.email is not None)
    if not found:
        raise Unresolved(
            "owner",
            value,
            f"no one matches {want!r}{_short(want)}; "
            f"known owners: {_listed(_known_owners(s, people())) or 'none yet'}",
            _known_owners(s, people()),
        )
    if len(found) > 1:
        labels = sorted(p.label() for p in found)
        raise Unresolved(
            "owner",
            value,
            f"{want!r} matches {len(found)}: {_listed(labels)}; give an email or a full name",
            labels,
        )
    (hit,) = found
    if hit.email is None:
        names = tuple(n for n in loose if _norm(n) == _norm(hit.name or ""))
        return PersonView(email=None, name=hit.name), Scope(owner_names=names)
    scope = Scope(owner_email=hit.email, owner_names=_own_names(hit, loose, people))
    return PersonView(email=hit.email, name=hit.name), scope


def known_owners(s: Session) -> list[str]:
    """Labels (``"dana@acme.com (Dana Lee)"``) of the people who own commitments or deals, sorted:
    what an error about an unknown owner lists."""
    return _known_owners(s, _people(s))


def listed(labels: list[str]) -> str:
    """``labels`` joined with commas, the first :data:`SHOWN` of them then "and N more"."""
    return _listed(labels)


def find_person(s: Session, value: str) -> PersonView:
    """The one person ``value`` names (see the module docstring); :class:`Unresolved` otherwise."""
    return _person(s, value)[0]


# ---------------------------------------------------------------- deals and accounts


def find_deal(s: Session, value: str) -> DealRow:
    """The one deal ``value`` names: its CRM id (any case), its name, or a part of its name."""
    exact = s.scalars(select(DealRow).where(DealRow.crm_id == value.strip())).first()
    if exact is not None:  # a CRM id as stored: one indexed lookup
        return exact
    deals = s.execute(select(DealRow.id, DealRow.crm_id, DealRow.name).order_by(DealRow.crm_id)).all()
    found = _match(value, deals, lambda d: {_norm(d.crm_id), _norm(d.name)}, contains=True)
    labels = [f"{d.crm_id} ({d.name})" for d in (found or deals)]
    if not found:
        raise Unresolved(
            "deal",
            value,
            f"no deal matches {value.strip()!r}{_short(value)}; deals: {_listed(labels) or 'none'}",
            labels,
        )
    if len(found) > 1:
        raise Unresolved(
            "deal",
            value,
            f"{value.strip()!r} matches {len(found)} deals: {_listed(labels)}; give a CRM id",
            labels,
        )
    return s.get_one(DealRow, found[0].id)


def _account_keys(a: AccountRow) -> set[str]:
    return {_norm(a.name), *([_norm(a.crm_id)] if a.crm_id else []), *(d.lower() for d in a.domains or [])}


def find_account(s: Session, value: str) -> AccountRow:
    """The one account ``value`` names: its CRM id, name or a domain (an email at it), then a part of
    one of those."""
    accounts = list(s.scalars(select(AccountRow).order_by(AccountRow.name_key)))
    want = value.strip()
    exact = domain_of(want) if "@" in want else want
    found = _match(exact or want, accounts, _account_keys, contains=True)
    labels = [f"{a.name} ({', '.join(a.domains)})" if a.domains else a.name for a in (found or accounts)]
    if not found:
        raise Unresolved(
            "account",
            value,
            f"no account matches {want!r}{_short(want)}; accounts: {_listed(labels) or 'none'}",
            labels,
        )
    if len(found) > 1:
        raise Unresolved(
            "account",
            value,
            f"{want!r} matches {len(found)} accounts: {_listed(labels)}; give the full name or a domain",
            labels,
        )
    return found[0]


def scope_of(s: Session, f: CommitmentFilter) -> Scope:
    """What ``f.owner``, ``f.deal`` and ``f.account`` name; :class:`Unresolved` for one that does not."""
    scope = _person(s, f.owner)[1] if f.owner else Scope()
    deal_ids: set[int] | None = None
    if f.deal:
        deal_ids = {find_deal(s, f.deal).id}
    if f.account:
        account = find_account(s, f.account)
        ids = set(s.scalars(select(DealRow.id).where(DealRow.account_id == account.id)))
        deal_ids = ids if deal_ids is None else deal_ids & ids
    if deal_ids is None:
        return scope
    return Scope(scope.owner_email, scope.owner_names, tuple(sorted(deal_ids)))


class LookupStore(StoreCore):
    """People, deals and accounts found by what a person typed (see the module docstring)."""

    def find_person(self, value: str) -> PersonView:
        """The one person ``value`` names; :class:`Unresolved` (listing the candidates) otherwise."""
        with self._tx() as s:
            return find_person(s, value)

    def find_deal(self, value: str) -> str:
        """The CRM id of the one deal ``value`` names; :class:`Unresolved` otherwise."""
        with self._tx() as s:
            return find_deal(s, value).crm_id

    def find_account(self, value: str) -> int:
        """The store id of the one account ``value`` names; :class:`Unresolved` otherwise."""
        with self._tx() as s:
            return find_account(s, value).id
