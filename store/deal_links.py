"""Automatic deal linking in the store (the rules are in :mod:`store.deal_rules`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from followthrough.types import ItemFlag, domain_of, normalize_domains
from store import deal_rules
from store.base import StoreCore, _retry_conflicts
from store.bulk import chunked
from store.crm import domain_accounts
from store.models import (
    AccountRow,
    CommitmentDealLinkRow,
    CommitmentRow,
    ContactRow,
    DealRow,
    DocumentRow,
    EvidenceRow,
    table_of,
    utcnow,
)

_LINK_BATCH = 500  # commitments linked per transaction


class LinkStore(StoreCore):
    """Links commitments that have none to a deal, by mention, contact or domain."""

    @_retry_conflicts
    def link_commitments(
        self, internal_domains: set[str], *, ids: Collection[int] | None = None
    ) -> dict[str, int]:
        """Link every commitment that has no link yet (see :mod:`store.deal_rules`).

        ``ids`` limits it to those commitments (the API links the items of the
        one document it was given, so that a request does not rescan the whole
        unlinked queue); ``None`` scans every commitment without a link, as a
        batch run does. Returns counts by method: ``mention``, ``contact``,
        ``domain`` and ``unlinked`` (left for the unlinked queue). Manual links
        and manual unlinks are never touched; ungrounded items are skipped.
        """
        counts = {deal_rules.MENTION: 0, deal_rules.CONTACT: 0, deal_rules.DOMAIN: 0, "unlinked": 0}
        chunks: list[list[int]] | None = None
        if ids is not None:
            wanted = self._without_link(sorted(set(ids)))
            if not wanted:
                return counts  # nothing to link: no need to read the CRM
            chunks = [wanted[i : i + _LINK_BATCH] for i in range(0, len(wanted), _LINK_BATCH)]
        elif not self._any_without_link():
            return counts  # every item has its link: the CRM need not be read (a run of a CRM export)
        crm = _CrmNames(self, internal_domains)
        last_id = 0
        while True:
            chunk = None
            if chunks is not None:
                if not chunks:
                    break
                chunk = chunks.pop(0)
            with self._tx() as s:
                self._lock(s, "linking")
                cr = CommitmentRow
                query = (
                    select(cr.id, cr.flags, cr.document_id, cr.owner, cr.owner_email, cr.counterparty)
                    .add_columns(cr.counterparty_email)
                    .outerjoin(CommitmentDealLinkRow, CommitmentDealLinkRow.commitment_id == cr.id)
                    .where(CommitmentDealLinkRow.commitment_id.is_(None))
                    .order_by(cr.id)
                )
                if chunk is None:
                    query = query.where(cr.id > last_id).limit(_LINK_BATCH)
                else:
                    query = query.where(cr.id.in_(chunk))
                rows = list(s.execute(query))
                if not rows and chunk is None:
                    break
                links: list[dict[str, object]] = []
                inputs = _link_inputs(s, [r for r in rows if ItemFlag.UNGROUNDED not in (r.flags or [])])
                index = crm.index_for(s, inputs.values()) if crm.has_deals else None
                for c in rows:
                    last_id = c.id
                    if c.id not in inputs:
                        continue
                    decision = deal_rules.decide(inputs[c.id], index) if index is not None else None
                    if decision is None:
                        counts["unlinked"] += 1
                        continue
                    links.append(
                        {
                            "commitment_id": c.id,
                            "deal_id": decision.deal_id,
                            "method": decision.method,
                            "confidence": decision.confidence,
                            "created_at": utcnow(),
                        }
                    )
                    counts[decision.method] += 1
                _store_links(s, links)
        return counts

    def _any_without_link(self) -> bool:
        """Whether any commitment has no link row."""
        with self._tx() as s:
            first = s.scalars(
                select(CommitmentRow.id)
                .outerjoin(CommitmentDealLinkRow, CommitmentDealLinkRow.commitment_id == CommitmentRow.id)
                .where(CommitmentDealLinkRow.commitment_id.is_(None))
                .limit(1)
            ).first()
        return first is not None

    def _without_link(self, ids: list[int]) -> list[int]:
        """Those of ``ids`` (sorted) that are commitments with no link row, in order."""
        out: list[int] = []
        with self._tx() as s:
            for i in range(0, len(ids), _LINK_BATCH):
                out += s.scalars(
                    select(CommitmentRow.id)
                    .outerjoin(CommitmentDealLinkRow, CommitmentDealLinkRow.commitment_id == CommitmentRow.id)
                    .where(
                        CommitmentDealLinkRow.commitment_id.is_(None),
                        CommitmentRow.id.in_(ids[i : i + _LINK_BATCH]),
                    )
                    .order_by(CommitmentRow.id)
                ).all()
        return out


def _store_links(s: Session, links: list[dict[str, object]]) -> None:
    """Write a batch's links and mirror each deal on its commitment: two ``executemany``, not a
    unit of work that flushes one INSERT and one UPDATE per commitment."""
    if not links:
        return
    conn = s.connection()
    conn.execute(insert(table_of(CommitmentDealLinkRow)), links)
    commitments = table_of(CommitmentRow)
    conn.execute(
        update(commitments).where(commitments.c.id == bindparam("cid")).values(deal_id=bindparam("did")),
        [{"cid": link["commitment_id"], "did": link["deal_id"]} for link in links],
    )


_BLOCK = 20_000  # rows fetched at a time from a query streamed over the whole CRM


class _CrmNames:
    """The CRM as one linking pass needs it, without holding its rows.

    Which deals and accounts a text may name: each name's key (:func:`store.deal_rules.name_key`),
    hashed, → the ids named so (a CRM of a million deals costs one dictionary of integers). Built
    when first needed: each domain's account. The contacts' unique full names are looked up per
    batch in the contacts' name index (:func:`_unique_contact_names`). For each batch of
    commitments, :meth:`index_for` reads the few rows the batch can reach into a
    :class:`store.deal_rules.LinkIndex`, so that :func:`store.deal_rules.decide` sees what it would
    see with the whole CRM in memory.
    """

    def __init__(self, store: StoreCore, internal_domains: Collection[str]) -> None:
        self.internal = set(normalize_domains(internal_domains))
        self.deals, self.accounts = _KeyIds(), _KeyIds()
        self._domains: dict[str, int | None] = {}
        with store._tx() as s:
            self.has_deals = s.scalar(select(DealRow.id).limit(1)) is not None
            if not self.has_deals:
                return  # nothing to link to: no name need be read
            rows = s.connection().execute  # Core rows: a tenth of the ORM's cost over a million names
            add, key = self.deals.add, deal_rules.name_key
            for deal_id, name in rows(select(DealRow.id, DealRow.name).execution_options(yield_per=_BLOCK)):
                if len(name.strip()) >= 4:  # as LinkIndex: a shorter name is never a mention
                    add(key(name), deal_id)
            for account_id, name in rows(
                select(AccountRow.id, AccountRow.name).execution_options(yield_per=_BLOCK)
            ):
                for alias in deal_rules.account_aliases(name):
                    self.accounts.add(deal_rules.name_key(alias), account_id)

    def index_for(self, s: Session, inputs: Iterable[deal_rules.LinkInput]) -> deal_rules.LinkIndex:
        """The CRM rows ``inputs`` can reach: the deals and accounts their texts may name, the
        contacts of their participants' emails, the unique full names of those known by name only,
        the first account (by id) of each of their email domains and parent domains, and every deal
        of each of those accounts."""
        deal_ids, account_ids = set(self.deals.always), set(self.accounts.always)
        emails: set[str] = set()
        names: set[str] = set()
        texts: set[str] = set()
        for inp in inputs:
            texts.update(t for t in (*inp.texts, *inp.bodies) if t)
            for p in inp.participants:
                if p.email:
                    emails.add(p.email.lower())
                elif p.internal is not True and (key := " ".join((p.name or "").lower().split())):
                    names.add(key)
        keys: set[str] = set()
        for text in texts:
            keys.update(deal_rules.text_keys(text))
        hashes = [hash(k) for k in keys]  # each key of the batch's texts hashed once, for both tables
        self.deals.find(hashes, deal_ids)
        self.accounts.find(hashes, account_ids)
        contact_accounts: dict[str, int] = {}
        query = select(ContactRow.email, ContactRow.account_id).where(ContactRow.account_id.is_not(None))
        for chunk in chunked(sorted(emails)):
            for email, account_id in s.execute(query.where(ContactRow.email.in_(chunk))):
                if account_id is not None:
                    contact_accounts[email] = account_id
        contact_names = _unique_contact_names(s, names)
        parents = {
            email: [".".join(parts[i:]) for i in range(len(parts))]
            for email in emails
            if (parts := (domain_of(email) or "").split("."))
        }
        by_domain = self._domain_accounts(s, {d for ds in parents.values() for d in ds})
        for ds in parents.values():
            account_ids.update(found for d in ds if (found := by_domain.get(d)) is not None)
        account_ids.update(contact_accounts.values(), contact_names.values())
        a_, d_ = AccountRow, DealRow
        accounts = [
            deal_rules.AccountInfo(account_id, name, tuple(domains or []))
            for chunk in chunked(sorted(account_ids))
            for account_id, name, domains in s.execute(
                select(a_.id, a_.name, a_.domains).where(a_.id.in_(chunk))
            )
        ]
        columns = (d_.id, d_.crm_id, d_.name, d_.account_id, d_.stage, d_.close_date)
        deals = {
            row[0]: deal_rules.DealInfo(*row)
            for key, ids in ((d_.id, deal_ids), (d_.account_id, {a.id for a in accounts}))
            for chunk in chunked(sorted(ids))
            for row in s.execute(select(*columns).where(key.in_(chunk)))
        }
        return deal_rules.LinkIndex(
            deals=sorted(deals.values(), key=lambda d: d.id),
            accounts=sorted(accounts, key=lambda a: a.id),
            contact_accounts=contact_accounts,
            internal_domains=self.internal,
            contact_names=contact_names,
        )

    def _domain_accounts(self, s: Session, domains: set[str]) -> dict[str, int | None]:
        """Lowercased domain → the first account (by id) that has it (``None``: no account has it),
        for ``domains``: looked up in ``account_domains`` once each per pass."""
        unknown = domains.difference(self._domains)
        if unknown:
            found = domain_accounts(s, unknown)
            self._domains.update((d, found.get(d)) for d in unknown)
        return {d: self._domains[d] for d in domains}


class _KeyIds:
    """Name key → the ids of the rows that have it, kept as the key's hash (a candidate: the name's
    pattern decides); names without a key are candidates for every text."""

    __slots__ = ("always", "ids")

    def __init__(self) -> None:
        self.ids: dict[int, int | list[int]] = {}
        self.always: list[int] = []

    def add(self, key: str, row_id: int) -> None:
        if not key:
            self.always.append(row_id)
            return
        h = hash(key)
        old = self.ids.get(h)
        if old is None:
            self.ids[h] = row_id
        elif isinstance(old, list):
            old.append(row_id)
        elif old != row_id:
            self.ids[h] = [old, row_id]

    def find(self, hashes: Iterable[int], into: set[int]) -> None:
        """Add to ``into`` the ids filed under any of the keys whose ``hash`` is in ``hashes``."""
        get = self.ids.get
        for h in hashes:
            hit = get(h)
            if hit is None:
                continue
            if isinstance(hit, list):
                into.update(hit)
            else:
                into.add(hit)


class _UniqueNames:
    """Full name → account id for contacts whose name no other contact shares, gathered one contact
    at a time."""

    _SHARED = -1

    def __init__(self) -> None:
        self.by_name: dict[str, int | None] = {}

    def add(self, key: str, account_id: int | None) -> None:
        if " " not in key:
            return  # a full name has two words at least
        seen = self.by_name.get(key, self)
        if seen is self:
            self.by_name[key] = account_id
        elif seen != account_id:
            self.by_name[key] = self._SHARED

    def unique(self) -> dict[str, int]:
        return {k: v for k, v in self.by_name.items() if v is not None and v != self._SHARED}


def _unique_contact_names(s: Session, names: Collection[str]) -> dict[str, int]:
    """Those of ``names`` (:func:`~followthrough.types.person_key` keys) that contacts of one account
    only carry → that account's id: a few lookups on the contacts' name index, never every contact."""
    found = _UniqueNames()
    c_ = ContactRow
    for chunk in chunked(sorted(k for k in names if " " in k)):
        firsts = sorted({k.split(" ", 1)[0] for k in chunk})
        query = select(c_.name_key, c_.account_id).where(
            c_.first_name_key.in_(firsts), c_.name_key.in_(chunk)
        )
        for key, account_id in s.execute(query):
            found.add(key or "", account_id)
    return found.unique()


def _link_inputs(s: Session, rows: list[Any]) -> dict[int, deal_rules.LinkInput]:
    """What linking looks at for each of ``rows`` (commitment columns: id, document_id, owner,
    owner_email, counterparty, counterparty_email), read as columns in a few ``IN`` queries: each
    document once however many of the batch's items it holds, no ORM objects."""
    e, d = EvidenceRow, DocumentRow
    evidence: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for chunk in chunked([r.id for r in rows]):
        query = (
            select(e.commitment_id, e.document_id, e.quote).where(e.commitment_id.in_(chunk)).order_by(e.id)
        )
        for cid, doc_id, quote in s.execute(query):
            evidence[cid].append((doc_id, quote))
    wanted = {r.document_id for r in rows} | {doc_id for ev in evidence.values() for doc_id, _ in ev}
    docs: dict[int, Any] = {}
    for chunk in chunked(sorted(wanted)):
        query = select(d.id, d.participants, d.title, d.text, d.occurred_at).where(d.id.in_(chunk))
        docs.update((doc.id, doc) for doc in s.execute(query))
    out: dict[int, deal_rules.LinkInput] = {}
    for c in rows:
        own = docs[c.document_id]
        seen = [own, *(docs[doc_id] for doc_id, _ in evidence[c.id] if doc_id != c.document_id)]
        people: list[deal_rules.Participation] = []
        for doc in seen:
            for p in doc.participants or []:
                if p.get("email") or p.get("name"):
                    people.append(deal_rules.Participation(p.get("email"), p.get("internal"), p.get("name")))
        for email, name in ((c.counterparty_email, c.counterparty), (c.owner_email, c.owner)):
            if email or name:
                people.append(deal_rules.Participation(email, None, name))
        texts = [quote for _, quote in evidence[c.id]] + [doc.title or "" for doc in seen]
        out[c.id] = deal_rules.LinkInput(
            texts, people, occurred=own.occurred_at.date(), bodies=[doc.text for doc in seen]
        )
    return out
