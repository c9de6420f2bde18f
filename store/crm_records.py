"""CRM records as the store writes them: validated accounts, contacts and deals as plain tuples.

What a reader process hands the process that stores a large export
(:mod:`followthrough.crm_reader`): a pydantic model costs ten times a tuple to rebuild on the
other side of a pipe. :meth:`store.crm.CrmImport.upsert` takes these or the models
(:class:`followthrough.types.CrmData`) alike: the same field names, read the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from operator import is_
from typing import NamedTuple

from followthrough.types import CrmData, CrmRows


class AccountRecord(NamedTuple):
    """An :class:`Account` as a plain tuple (same fields, not validated again)."""

    name: str
    domains: list[str]
    tier: str | None
    crm_id: str | None


class ContactRecord(NamedTuple):
    """A :class:`Contact` as a plain tuple (same fields, not validated again)."""

    email: str
    name: str | None
    account_name: str | None
    role: str | None


class DealRecord(NamedTuple):
    """A :class:`Deal` as a plain tuple (same fields, not validated again)."""

    crm_id: str
    name: str
    account_name: str
    stage: str | None
    amount: float | None
    close_date: date | None
    owner_email: str | None


@dataclass(frozen=True, slots=True)
class CrmRecords:
    """Validated CRM records as plain tuples, read like :class:`CrmData` (module docstring).

    :meth:`CrmData.rows` (of models) and :meth:`rows` are the form that crosses the process boundary
    (tuples of built-in values only), :meth:`from_rows` makes it records again.
    """

    accounts: list[AccountRecord]
    contacts: list[ContactRecord]
    deals: list[DealRecord]

    @classmethod
    def of(cls, crm: CrmData) -> CrmRecords:
        return cls.from_rows(crm.rows())

    def rows(self) -> CrmRows:
        """The records as tuples of built-in values (what :meth:`from_rows` takes)."""
        return (
            [tuple(a) for a in self.accounts],
            [tuple(c) for c in self.contacts],
            [tuple(d) for d in self.deals],
        )

    def same_as(self, other: CrmRecords) -> bool:
        """Whether ``other`` holds these very records (the same objects, in the same order): what
        :func:`store.admit_crm` returns for a chunk it had nothing to cut or clean."""
        return all(
            len(mine) == len(theirs) and all(map(is_, mine, theirs))
            for mine, theirs in (
                (self.accounts, other.accounts),
                (self.contacts, other.contacts),
                (self.deals, other.deals),
            )
        )

    @classmethod
    def from_rows(cls, rows: CrmRows) -> CrmRecords:
        accounts, contacts, deals = rows
        return cls(
            list(map(AccountRecord._make, accounts)),
            list(map(ContactRecord._make, contacts)),
            list(map(DealRecord._make, deals)),
        )
