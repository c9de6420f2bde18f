"""CRM data in the store: accounts, contacts and deals, and the name directory."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from followthrough.types import CrmData, domain_of
from store.base import StoreCore, _retry_conflicts
from store.models import AccountRow, ContactRow, DealRow, PersonRow, utcnow


def crm_company_domains(s: Session) -> set[str]:
    """Our own company's domains, guessed from the CRM deal owners' emails."""
    emails = s.scalars(select(DealRow.owner_email).where(DealRow.owner_email.is_not(None))).all()
    return {d for d in (domain_of(e) for e in emails if e) if d}


class CrmStore(StoreCore):
    """Accounts, contacts and deals from the CRM; who is who by name."""

    @_retry_conflicts
    def upsert_crm(self, crm: CrmData) -> dict[str, int]:
        """Add or update accounts, contacts and deals. Idempotent: a second call changes nothing.

        Accounts are matched by name (case-insensitive), contacts by email, deals
        by CRM id. Returns ``{accounts,contacts,deals}_{added,updated}`` counts.
        """
        counts = {f"{k}_{v}": 0 for k in ("accounts", "contacts", "deals") for v in ("added", "updated")}
        with self._tx() as s:
            accounts = {a.name_key: a for a in s.scalars(select(AccountRow))}
            existing = set(accounts)  # an account added by this call is "added", however often it recurs

            def account(name: str) -> AccountRow:
                key = name.strip().casefold()
                row = accounts.get(key)
                if row is None:
                    row = AccountRow(name=name.strip(), name_key=key, domains=[], created_at=utcnow())
                    row.updated_at = row.created_at
                    s.add(row)
                    accounts[key] = row
                    counts["accounts_added"] += 1
                return row

            for acc in crm.accounts:
                known = acc.name.strip().casefold() in existing
                row = account(acc.name)
                domains = sorted(
                    {*(row.domains or []), *(d.lower().strip() for d in acc.domains if d.strip())}
                )
                changed = _assign(
                    row,
                    domains=domains,
                    tier=acc.tier or row.tier,
                    crm_id=acc.crm_id or row.crm_id,
                )
                if known and changed:
                    counts["accounts_updated"] += 1
            s.flush()

            contacts = {c.email: c for c in s.scalars(select(ContactRow))}
            for con in crm.contacts:
                email = con.email.strip().lower()
                acc_row = account(con.account_name) if con.account_name else None
                if acc_row is not None and acc_row.id is None:
                    s.flush()
                crow = contacts.get(email)
                if crow is None:
                    crow = ContactRow(email=email, created_at=utcnow())
                    crow.updated_at = crow.created_at
                    _assign(crow, name=con.name, role=con.role, account_id=acc_row.id if acc_row else None)
                    s.add(crow)
                    contacts[email] = crow
                    counts["contacts_added"] += 1
                elif _assign(
                    crow,
                    name=con.name or crow.name,
                    role=con.role or crow.role,
                    account_id=acc_row.id if acc_row else crow.account_id,
                ):
                    counts["contacts_updated"] += 1

            deals = {d.crm_id: d for d in s.scalars(select(DealRow))}
            for deal in crm.deals:
                acc_row = account(deal.account_name)
                if acc_row.id is None:
                    s.flush()
                drow = deals.get(deal.crm_id)
                values: dict[str, Any] = {
                    "name": deal.name,
                    "account_id": acc_row.id,
                    "stage": deal.stage,
                    "amount": deal.amount,
                    "close_date": deal.close_date,
                    "owner_email": deal.owner_email.lower() if deal.owner_email else None,
                }
                if drow is None:
                    drow = DealRow(crm_id=deal.crm_id, created_at=utcnow())
                    drow.updated_at = drow.created_at
                    _assign(drow, **values)
                    s.add(drow)
                    deals[deal.crm_id] = drow
                    counts["deals_added"] += 1
                elif _assign(drow, **values):
                    counts["deals_updated"] += 1
        return counts

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
            crm = [(c.name, c.email) for c in s.scalars(select(ContactRow))]
            seen = [(p.name, p.email) for p in s.scalars(select(PersonRow))]
            owners = set(s.scalars(select(DealRow.owner_email).where(DealRow.owner_email.is_not(None))).all())
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


def _assign(row: object, **values: Any) -> bool:
    """Set attributes that differ; True when anything changed."""
    changed = False
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
            changed = True
    if changed and hasattr(row, "updated_at"):
        row.updated_at = utcnow()
    return changed
