"""The name directory: who a person's name is, looked up where the CRM stores it.

:class:`StoredDirectory` answers what the directory ``dict`` of earlier versions held (lowercased
person name → email, from CRM contacts, deal owners and people seen in documents) without reading
every contact: a full name, or a single word that is a first name, is two queries on the contacts'
``(first_name_key, name_key)`` index (migration 0017), and every answer is kept (a run asks for the
same few thousand names again and again). What is small stays in memory, read when the directory
is made: the people seen in documents (email headers, Slack profiles, attendee lines) and the deal
owners. A CRM of a million contacts costs a few index pages instead of some 350 MB of names.

The rules, the same in every answer:

* a full name maps to its email when one CRM contact, or else one person seen in documents, has it;
  CRM names win over names seen in documents, and a name shared by two emails is left out rather
  than guessed;
* a single word is also a first name: it maps to the one email of all the names (CRM or seen) that
  start with it, and of the deal owners without a known name whose email's local part it is
  (``marco@…`` → ``marco``);
* :meth:`StoredDirectory.sole_email_of_first_name` answers the extractor's question, the one email
  of the directory's multi-word names that start with a word.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from followthrough.types import NameIndex, person_key
from store.bulk import chunked
from store.models import ContactRow, DealRow, PersonRow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from store.base import StoreCore

ANSWERS_KEPT = 1 << 16
"""Answers a directory keeps per question (full name, first name): a run's names many times over."""

_SHARED = "\0shared"
"""In a name → email map: the name belongs to several emails (no email holds NUL)."""


def one_or_shared(names: dict[str, str], key: str, email: str) -> None:
    """Map ``key`` to ``email``, or to the shared mark when it already maps to another email."""
    known = names.get(key)
    if known is None:
        names[key] = email
    elif known != email:
        names[key] = _SHARED


def _unshared(value: str | None) -> str | None:
    return None if value is None or value == _SHARED else value


class StoredDirectory(NameIndex):
    """The name directory of one store, as of when it was made for the people seen in documents and
    the deal owners, as the contacts stand for the CRM (see the module docstring).

    Lookups take :func:`~followthrough.types.person_key` keys (``"dana lee"``); any other string is
    no key, as in a ``dict`` of keys. Raises :class:`~followthrough.errors.StoreError` when the
    database cannot be read.
    """

    def __init__(self, store: StoreCore) -> None:
        self._store = store
        self._all: dict[str, str] | None = None
        seen_full: dict[str, str] = {}
        self._first: dict[str, str] = {}  # first name → email, from people seen and nameless owners
        with store._tx() as s:
            people = [
                (key, email)
                for name, email in s.execute(select(PersonRow.name, PersonRow.email))
                if (key := person_key(name)) and "@" not in key
            ]
            in_crm = _keys_in_crm(s, {key for key, _ in people})
            query = select(DealRow.owner_email).where(DealRow.owner_email.is_not(None)).distinct()
            owners = {email for email in s.scalars(query) if email}
            named = {email for _, email in people if email in owners} | _named_contacts(s, owners)
        for key, email in people:
            if key not in in_crm:  # the CRM already says who this is
                one_or_shared(seen_full, key, email)
                one_or_shared(self._first, key.split(" ", 1)[0], email)
        for owner in owners:
            if owner not in named:
                local = owner.split("@", 1)[0].lower()
                if local.isalpha():
                    one_or_shared(self._first, local, owner)
        self._seen_full = seen_full
        self._seen_first_multi: dict[str, str] = {}  # first word → email, of the unshared seen names
        for key, email in seen_full.items():
            first, _, rest = key.partition(" ")
            if rest and email != _SHARED:
                one_or_shared(self._seen_first_multi, first, email)
        self._email = lru_cache(maxsize=ANSWERS_KEPT)(self._look_up)
        self._sole = lru_cache(maxsize=ANSWERS_KEPT)(self._look_up_first_name)

    def __getitem__(self, key: str) -> str:
        if not isinstance(key, str):
            raise KeyError(key)
        email = self._all.get(key) if self._all is not None else self._email(key)
        if email is None:
            raise KeyError(key)
        return email

    def __iter__(self) -> Iterator[str]:
        return iter(self._whole())

    def __len__(self) -> int:
        return len(self._whole())

    def sole_email_of_first_name(self, first: str) -> str | None:
        return self._sole(first)

    def _look_up(self, key: str) -> str | None:
        if not key or "@" in key or key != person_key(key):
            return None
        first = key.split(" ", 1)[0]
        c_ = ContactRow
        with self._store._tx() as s:
            crm = s.scalars(
                select(c_.email).where(c_.first_name_key == first, c_.name_key == key).limit(2)
            ).all()
            if len(crm) == 1:
                return crm[0]
            if not crm and (seen := _unshared(self._seen_full.get(key))) is not None:
                return seen
            if " " in key:
                return None
            extra = self._first.get(key)
            if extra == _SHARED:
                return None
            emails = set(s.scalars(select(c_.email).where(c_.first_name_key == key).limit(2)))
        if extra is not None:
            emails.add(extra)
        return emails.pop() if len(emails) == 1 else None

    def _look_up_first_name(self, first: str) -> str | None:
        found = self._seen_first_multi.get(first)
        if found == _SHARED or not first or " " in first:
            return None
        c_ = ContactRow
        query = (
            select(c_.name_key, func.min(c_.email), func.max(c_.email))
            .where(c_.first_name_key == first, c_.name_key != first)
            .group_by(c_.name_key)
        )
        with self._store._tx() as s:
            for _, low, high in s.execute(query):
                if low != high:
                    continue  # a name two contacts share is not in the directory
                if found is None:
                    found = low
                elif found != low:
                    return None
        return found

    def _whole(self) -> dict[str, str]:
        """Every entry, read once (a cluster ships the directory to its workers)."""
        if self._all is None:
            self._all = self._read_whole()
        return self._all

    def _read_whole(self) -> dict[str, str]:
        first: dict[str, str] = {}
        full: dict[str, str] = {}
        c_ = ContactRow
        query = select(c_.name_key, c_.email).where(c_.name_key.is_not(None))
        with self._store._tx() as s:
            for key, email in s.execute(query):  # streamed: a million contacts are never a list
                assert key is not None  # selected so
                one_or_shared(full, key, email)
                one_or_shared(first, key.split(" ", 1)[0], email)
        for key, email in self._first.items():
            if email == _SHARED:
                first[key] = _SHARED
            else:
                one_or_shared(first, key, email)
        for key, email in self._seen_full.items():
            if key not in full:
                full[key] = email
        out = {k: v for k, v in first.items() if v != _SHARED}
        out.update((k, v) for k, v in full.items() if v != _SHARED)
        return out


def _keys_in_crm(s: Session, keys: set[str]) -> set[str]:
    """Those of ``keys`` (person keys) that some contact's name has."""
    found: set[str] = set()
    c_ = ContactRow
    for chunk in chunked(sorted(keys)):
        firsts = sorted({k.split(" ", 1)[0] for k in chunk})
        found.update(
            s.scalars(
                select(c_.name_key).where(c_.first_name_key.in_(firsts), c_.name_key.in_(chunk)).distinct()
            )
        )
    return found


def _named_contacts(s: Session, emails: set[str]) -> set[str]:
    """Those of ``emails`` that a contact with a name (one with a key) has."""
    c_ = ContactRow
    return {
        email
        for chunk in chunked(sorted(e for e in emails if e))
        for email in s.scalars(select(c_.email).where(c_.email.in_(chunk), c_.name_key.is_not(None)))
    }
