"""CRM data in the store: accounts, contacts and deals, and the name directory.

:meth:`CrmStore.upsert_crm` writes one chunk of an export in bulk: per table, one
``SELECT ... WHERE key IN (...)`` for the keys the chunk names, one multi-row
``INSERT`` for the new ones and one ``executemany`` ``UPDATE`` for the changed
ones, inside one transaction. Its cost grows with the chunk, never with what
the store already holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, func, insert, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from followthrough.types import Contact, CrmData, Deal, domain_of
from store.base import StoreCore, _retry_conflicts
from store.models import AccountRow, Base, ContactRow, DealRow, PersonRow, utcnow

IN_BATCH = 5_000
"""Keys per ``IN (...)`` lookup: well under SQLite's 32,766 bound parameters."""


def crm_company_domains(s: Session) -> set[str]:
    """Our own company's domains, guessed from the CRM deal owners' emails (one ``DISTINCT`` scan)."""
    emails = s.scalars(select(DealRow.owner_email).where(DealRow.owner_email.is_not(None)).distinct())
    return {d for d in (domain_of(e) for e in emails if e) if d}


@dataclass
class _AccountIn:
    """What one call says about an account: its records merged in order."""

    name: str
    domains: set[str] = field(default_factory=set)
    tier: str | None = None
    crm_id: str | None = None


@dataclass
class _Counts:
    """``{accounts,contacts,deals}_{added,updated}`` as :meth:`CrmStore.upsert_crm` returns them.

    A row counts as updated when it changed, was there before ``since`` and was not already
    changed since then (by an earlier chunk of the same import): each row is counted once.
    """

    since: datetime
    values: dict[str, int] = field(
        default_factory=lambda: {
            f"{k}_{v}": 0 for k in ("accounts", "contacts", "deals") for v in ("added", "updated")
        }
    )

    def added(self, table: str) -> None:
        self.values[f"{table}_added"] += 1

    def updated(self, table: str, created_at: datetime, updated_at: datetime) -> None:
        if created_at < self.since and updated_at < self.since:
            self.values[f"{table}_updated"] += 1


class CrmStore(StoreCore):
    """Accounts, contacts and deals from the CRM; who is who by name."""

    def crm_state(self) -> str:
        """What the CRM tables hold, in a few words: each table's row count and newest change. Equal
        states mean no import changed anything in between (what lets a re-run skip an unchanged
        export: :mod:`followthrough.digests`)."""
        with self._tx() as s:
            parts = [
                s.execute(select(func.count(), func.max(row.updated_at))).one()
                for row in (AccountRow, ContactRow, DealRow)
            ]
        return "|".join(f"{n}@{when.isoformat() if when else '-'}" for n, when in parts)

    @_retry_conflicts
    def upsert_crm(self, crm: CrmData, *, since: datetime | None = None) -> dict[str, int]:
        """Add or update accounts, contacts and deals in bulk, in one transaction. Idempotent: a second
        call changes nothing (and writes nothing).

        Accounts are matched by name (case-insensitive), contacts by email, deals by CRM id.
        Records later in ``crm`` win over earlier ones and over the store, except that an
        account's domains add up and an empty value (tier, a contact's name, role or account)
        keeps the one known. ``since``: when an import that stores an export in several calls
        (one per chunk) began, so that a row is counted once (see :class:`_Counts`); default now.
        Returns ``{accounts,contacts,deals}_{added,updated}`` counts.
        """
        now = utcnow()
        counts = _Counts(since or now)
        with self._tx() as s:
            accounts = _upsert_accounts(s, crm, now, counts)
            _upsert_contacts(s, crm.contacts, accounts, now, counts)
            _upsert_deals(s, crm.deals, accounts, now, counts)
        return counts.values

    def company_domains_from_crm(self) -> set[str]:
        """Our own company's domains, guessed from the deal owners' emails."""
        with self._tx() as s:
            return crm_company_domains(s)

    def directory(self) -> dict[str, str]:
        """Lowercased person name → email, from CRM contacts, deal owners and people seen in documents.

        Holds full names, and first names that belong to exactly one person. A
        deal owner with no known name is also found by the local part of their
        email (``marco@…`` → ``marco``) when that is a plain word. CRM names win
        over names seen in documents (email headers, Slack profiles, attendee
        lines); names shared by two different emails are left out rather than
        guessed.
        """
        with self._tx() as s:
            crm = s.execute(
                select(ContactRow.name, ContactRow.email).where(ContactRow.name.is_not(None))
            ).all()
            seen = s.execute(select(PersonRow.name, PersonRow.email)).all()
            owners = set(
                s.scalars(select(DealRow.owner_email).where(DealRow.owner_email.is_not(None)).distinct())
            )
        full: dict[str, set[str]] = {}
        first: dict[str, set[str]] = {}
        named: set[str] = set()
        crm_full: set[str] = set()
        for origin, people in (("crm", crm), ("seen", seen)):
            for name, email in people:
                key = " ".join((name or "").lower().split())
                if not key or "@" in key:
                    continue
                named.add(email)
                if origin == "crm":
                    crm_full.add(key)
                elif key in crm_full:
                    continue  # the CRM already says who this is
                full.setdefault(key, set()).add(email)
                first.setdefault(key.split()[0], set()).add(email)
        for owner in owners:
            if owner and owner not in named:
                local = owner.split("@", 1)[0].lower()
                if local.isalpha():
                    first.setdefault(local, set()).add(owner)
        out = {k: next(iter(v)) for k, v in first.items() if len(v) == 1}
        out.update({k: next(iter(v)) for k, v in full.items() if len(v) == 1})
        return out


def _table(row: type[Base]) -> Table:
    """The table of an ORM row class, for Core bulk inserts (a fifth of the ORM's cost per row)."""
    return cast(Table, row.__table__)


def _key(name: str) -> str:
    return name.strip().casefold()


def _existing(
    s: Session,
    columns: Sequence[InstrumentedAttribute[Any]],
    key: InstrumentedAttribute[str],
    keys: Iterable[str],
) -> dict[str, tuple[Any, ...]]:
    """Stored rows (the key, then ``columns``) whose ``key`` is one of ``keys``, by key."""
    wanted = list(keys)
    found: dict[str, tuple[Any, ...]] = {}
    for i in range(0, len(wanted), IN_BATCH):
        condition: ColumnElement[bool] = key.in_(wanted[i : i + IN_BATCH])
        found.update((row[0], tuple(row)) for row in s.execute(select(key, *columns).where(condition)))
    return found


def _upsert_accounts(s: Session, crm: CrmData, now: datetime, counts: _Counts) -> dict[str, int]:
    """Write the accounts ``crm`` holds or names (by its contacts and deals); their ids by name key."""
    wanted: dict[str, _AccountIn] = {}
    for acc in crm.accounts:
        a = wanted.setdefault(_key(acc.name), _AccountIn(acc.name.strip()))
        a.domains |= {d.lower().strip() for d in acc.domains if d.strip()}
        a.tier = acc.tier or a.tier
        a.crm_id = acc.crm_id or a.crm_id
    for name in [c.account_name for c in crm.contacts if c.account_name] + [
        d.account_name for d in crm.deals
    ]:
        wanted.setdefault(_key(name), _AccountIn(name.strip()))
    a_ = AccountRow
    stored = _existing(
        s, (a_.id, a_.domains, a_.tier, a_.crm_id, a_.created_at, a_.updated_at), a_.name_key, wanted
    )
    ids: dict[str, int] = {}
    new: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for key, a in wanted.items():
        values = {"domains": sorted(a.domains), "tier": a.tier, "crm_id": a.crm_id}
        row = stored.get(key)
        if row is None:
            new.append({"name": a.name, "name_key": key, **values, "created_at": now, "updated_at": now})
            counts.added("accounts")
            continue
        _, id_, domains, tier, crm_id, created_at, updated_at = row
        ids[key] = id_
        values = {
            "domains": sorted({*(domains or []), *a.domains}),
            "tier": a.tier or tier,
            "crm_id": a.crm_id or crm_id,
        }
        if (values["domains"], values["tier"], values["crm_id"]) != (domains, tier, crm_id):
            changed.append({"id": id_, **values, "updated_at": now})
            counts.updated("accounts", created_at, updated_at)
    if new:
        s.execute(insert(_table(AccountRow)), new)
        added = _existing(s, (a_.id,), a_.name_key, (row["name_key"] for row in new))
        ids.update((key, row[1]) for key, row in added.items())
    if changed:
        s.execute(update(AccountRow), changed)
    return ids


def _upsert_contacts(
    s: Session, contacts: list[Contact], accounts: dict[str, int], now: datetime, counts: _Counts
) -> None:
    """Write ``contacts`` (by email; a later record's name, role and account win when not empty)."""
    wanted: dict[str, dict[str, Any]] = {}
    for con in contacts:
        email = con.email.strip().lower()
        before = wanted.get(email, {})
        account_id = accounts[_key(con.account_name)] if con.account_name else None
        wanted[email] = {
            "name": con.name or before.get("name"),
            "role": con.role or before.get("role"),
            "account_id": account_id or before.get("account_id"),
        }
    c_ = ContactRow
    stored = _existing(
        s, (c_.id, c_.name, c_.role, c_.account_id, c_.created_at, c_.updated_at), c_.email, wanted
    )
    new: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for email, said in wanted.items():
        row = stored.get(email)
        if row is None:
            new.append({"email": email, **said, "created_at": now, "updated_at": now})
            counts.added("contacts")
            continue
        _, id_, name, role, account_id, created_at, updated_at = row
        values = {
            "name": said["name"] or name,
            "role": said["role"] or role,
            "account_id": said["account_id"] or account_id,
        }
        if (values["name"], values["role"], values["account_id"]) != (name, role, account_id):
            changed.append({"id": id_, **values, "updated_at": now})
            counts.updated("contacts", created_at, updated_at)
    if new:
        s.execute(insert(_table(ContactRow)), new)
    if changed:
        s.execute(update(ContactRow), changed)


_DEAL_VALUES = ("name", "account_id", "stage", "amount", "close_date", "owner_email")


def _upsert_deals(
    s: Session, deals: list[Deal], accounts: dict[str, int], now: datetime, counts: _Counts
) -> None:
    """Write ``deals`` (by CRM id; a later record wins whole)."""
    wanted: dict[str, dict[str, Any]] = {
        deal.crm_id: {
            "name": deal.name,
            "account_id": accounts[_key(deal.account_name)],
            "stage": deal.stage,
            "amount": deal.amount,
            "close_date": deal.close_date,
            "owner_email": deal.owner_email.lower() if deal.owner_email else None,
        }
        for deal in deals
    }
    d_ = DealRow
    columns = (d_.id, d_.name, d_.account_id, d_.stage, d_.amount, d_.close_date, d_.owner_email)
    stored = _existing(s, (*columns, d_.created_at, d_.updated_at), d_.crm_id, wanted)
    new: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for crm_id, values in wanted.items():
        row = stored.get(crm_id)
        if row is None:
            new.append({"crm_id": crm_id, **values, "created_at": now, "updated_at": now})
            counts.added("deals")
            continue
        if tuple(values[k] for k in _DEAL_VALUES) != tuple(row[2:8]):
            changed.append({"id": row[1], **values, "updated_at": now})
            counts.updated("deals", row[8], row[9])
    if new:
        s.execute(insert(_table(DealRow)), new)
    if changed:
        s.execute(update(DealRow), changed)
