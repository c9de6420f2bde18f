"""Automatic deal linking in the store (the rules are in :mod:`store.deal_rules`)."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session, selectinload

from followthrough.types import ItemFlag
from store import deal_rules
from store.base import StoreCore, _retry_conflicts
from store.models import (
    AccountRow,
    CommitmentDealLinkRow,
    CommitmentRow,
    ContactRow,
    DealRow,
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
        with self._tx() as s:  # plain rows, not ORM objects: a CRM of a million rows fits in memory
            c_, d_, a_ = ContactRow, DealRow, AccountRow
            contact_accounts: dict[str, int] = {}
            names = _UniqueNames()
            for email, name, account_id in s.execute(select(c_.email, c_.name, c_.account_id)):
                if account_id is not None:
                    contact_accounts[email] = account_id
                if name:
                    names.add(name, account_id)
            index = deal_rules.LinkIndex(
                deals=[
                    deal_rules.DealInfo(*row)
                    for row in s.execute(
                        select(d_.id, d_.crm_id, d_.name, d_.account_id, d_.stage, d_.close_date)
                    )
                ],
                accounts=[
                    deal_rules.AccountInfo(id_, name, tuple(domains or []))
                    for id_, name, domains in s.execute(select(a_.id, a_.name, a_.domains))
                ],
                contact_accounts=contact_accounts,
                internal_domains=set(internal_domains),
                contact_names=names.unique(),
            )
        last_id = 0
        while True:
            chunk = None
            if chunks is not None:
                if not chunks:
                    break
                chunk = chunks.pop(0)
            with self._tx() as s:
                self._lock(s, "linking")
                query = (
                    select(CommitmentRow)
                    .outerjoin(CommitmentDealLinkRow, CommitmentDealLinkRow.commitment_id == CommitmentRow.id)
                    .where(CommitmentDealLinkRow.commitment_id.is_(None))
                    .order_by(CommitmentRow.id)
                    .options(
                        selectinload(CommitmentRow.document),
                        selectinload(CommitmentRow.evidence).selectinload(EvidenceRow.document),
                    )
                )
                if chunk is None:
                    query = query.where(CommitmentRow.id > last_id).limit(_LINK_BATCH)
                else:
                    query = query.where(CommitmentRow.id.in_(chunk))
                rows = s.scalars(query).all()
                if not rows and chunk is None:
                    break
                links: list[dict[str, object]] = []
                for c in rows:
                    last_id = c.id
                    if ItemFlag.UNGROUNDED in (c.flags or []):
                        continue
                    decision = deal_rules.decide(_link_input(c), index) if index.deals else None
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


class _UniqueNames:
    """Full name → account id for contacts whose name no other contact shares, gathered one contact
    at a time (one entry per name: a CRM of a million contacts costs one dictionary)."""

    _SHARED = -1

    def __init__(self) -> None:
        self.by_name: dict[str, int | None] = {}

    def add(self, name: str, account_id: int | None) -> None:
        key = " ".join(name.lower().split())
        if " " not in key:
            return  # a full name has two words at least
        seen = self.by_name.get(key, self)
        if seen is self:
            self.by_name[key] = account_id
        elif seen != account_id:
            self.by_name[key] = self._SHARED

    def unique(self) -> dict[str, int]:
        return {k: v for k, v in self.by_name.items() if v is not None and v != self._SHARED}


def _link_input(c: CommitmentRow) -> deal_rules.LinkInput:
    docs = [c.document, *(e.document for e in c.evidence if e.document_id != c.document_id)]
    people: list[deal_rules.Participation] = []
    for d in docs:
        for p in d.participants or []:
            if p.get("email") or p.get("name"):
                people.append(deal_rules.Participation(p.get("email"), p.get("internal"), p.get("name")))
    for email, name in ((c.counterparty_email, c.counterparty), (c.owner_email, c.owner)):
        if email or name:
            people.append(deal_rules.Participation(email, None, name))
    texts = [e.quote for e in c.evidence] + [d.title or "" for d in docs]
    bodies = [d.text for d in docs]
    return deal_rules.LinkInput(texts, people, occurred=c.document.occurred_at.date(), bodies=bodies)
