"""Issue 13: linking reads only the CRM rows a batch of commitments can reach, and decides as if the
whole CRM were in memory.

The store files each deal and account name under a hashed key (``deal_rules.name_key``) and, per
batch, reads the deals and accounts the batch's texts may name, the contacts of its emails, the
first account of each of its domains and every deal of those accounts. These tests build random
CRMs full of near misses (names sharing words, legal suffixes, names longer than a key, non-ASCII
names, shared domains and full names) and check every decision against ``deal_rules.decide`` over a
:class:`LinkIndex` of the whole CRM, as linking worked before.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from followthrough.types import Account, Contact, CrmData, Deal, Participant
from store import Store, deal_links, deal_rules
from store.deal_links import _link_inputs
from store.models import (
    AccountRow,
    CommitmentDealLinkRow,
    CommitmentRow,
    ContactRow,
    DealRow,
)
from tests.store_fixtures import EST, make_doc, make_item, store, store_url  # noqa: F401

WORDS = ("Acme", "Globex", "Initech", "North", "Star", "Data", "Platform", "Übersee", "Renewal", "Pilot")
SUFFIXES = ("", " Inc", " Corp.", " GmbH", ", LLC", " Holdings")
STAGES = ("Discovery", "Demo", "Proposal", "Negotiation", "Closed Won", "Closed Lost", None)
FILLER = ("please", "send", "the", "plan", "by", "Friday", "thanks", "re:", "—", "(", ")", "for", "data")


def _crm(rng: random.Random) -> CrmData:
    accounts, contacts, deals = [], [], []
    names: set[str] = set()
    for a in range(40):
        words = rng.sample(WORDS, rng.randint(1, 3))
        if rng.random() < 0.6:
            words.append(f"Co{a}")  # most names unique: a batch reaches a few accounts, not all
        name = " ".join(words) + rng.choice(SUFFIXES)
        if name.casefold() in names:
            continue
        names.add(name.casefold())
        # shared domains and parent domains: the first account by id must win
        domains = [f"{rng.choice(('acme', 'globex', 'star', 'x' + str(a)))}.com"]
        if rng.random() < 0.3:
            domains.append(f"eu.{domains[0]}")
        accounts.append(Account(name=name, domains=domains, tier=rng.choice(("Enterprise", None))))
        for c in range(rng.randint(0, 3)):
            person = rng.choice(("Dana Lee", "Lu Chen", "Ana Gomez", f"Person {a} {c}"))  # shared names
            contacts.append(Contact(email=f"p{a}.{c}@{domains[0]}", name=person, account_name=name))
        for d in range(rng.randint(0, 4)):
            words = rng.sample(WORDS, rng.randint(1, 6))  # longer than a key's four runs, at times
            words.insert(rng.randrange(len(words) + 1), f"D{a}x{d}")
            deals.append(
                Deal(
                    crm_id=f"D-{a}-{d}",
                    name=" ".join(words) + rng.choice(("", " - Phase 2", " 2026", "!")),
                    account_name=name,
                    stage=rng.choice(STAGES),
                    close_date=date(2026, 1, 1) + timedelta(days=rng.randrange(365)),
                )
            )
    return CrmData(accounts=accounts, contacts=contacts, deals=deals)


def _mention(rng: random.Random, crm: CrmData) -> str:
    """A name from the CRM as people write it (any case, other spacing), or a near miss."""
    pool = [a.name for a in crm.accounts] + [d.name for d in crm.deals]
    name = rng.choice(pool) if pool else "Acme"
    if rng.random() < 0.3:
        name = name.upper() if rng.random() < 0.5 else name.lower()
    if rng.random() < 0.2:
        name = name.replace(" ", "  \n ")
    if rng.random() < 0.2:
        name = name.split()[0] + "x"  # a word inside another word is no mention
    return name


def _documents(st: Store, rng: random.Random, crm: CrmData, n: int) -> None:
    emails = [c.email for c in crm.contacts] + ["new@acme.com", "ops@mail.globex.com", "x@eu.star.com"]
    emails += [f"someone@mail.{d}" for a in crm.accounts for d in a.domains]  # no contact: by domain
    speakers = ["Dana Lee", "Lu Chen", "Nobody Known"] + [c.name or "" for c in crm.contacts]
    run = st.start_run(extractor="offline", model="m", prompt_version="v1")
    for i in range(n):
        words = [rng.choice(FILLER) for _ in range(rng.randint(3, 12))]
        for _ in range(rng.randint(0, 2)):
            words.insert(rng.randrange(len(words) + 1), _mention(rng, crm))
        quote = "I'll send it"
        text = " ".join(words) + f". {quote}."
        people = [Participant(name="Marco Rossi", email="marco@northwind.io", role="sender", internal=True)]
        for _ in range(rng.randint(0, 2)):
            if rng.random() < 0.6:
                people.append(Participant(email=rng.choice(emails), role="recipient", internal=False))
            else:  # a meeting speaker known by name only
                people.append(Participant(name=rng.choice(speakers), role="speaker"))
        title = _mention(rng, crm) if rng.random() < 0.3 else None
        doc = make_doc(
            f"<m{i}@x>",
            text,
            thread_id=f"t{i}",
            participants=people,
            title=title,
            occurred_at=datetime(2026, 3, 10, 9, 30, tzinfo=EST) + timedelta(days=rng.randrange(200)),
        )
        doc_id, _ = st.add_document(doc)
        item = make_item(doc, quote)
        item.counterparty = item.counterparty_email = None
        st.record_extraction(run, doc_id, f"k{i}", [item])


def _whole_crm_decisions(st: Store) -> dict[int, tuple[int, str] | None]:
    """What ``decide`` says for each commitment with the whole CRM in one LinkIndex."""
    with st._tx() as s:
        d_, a_, c_ = DealRow, AccountRow, ContactRow
        contacts = {e: a for e, a in s.execute(select(c_.email, c_.account_id)) if a is not None}
        by_name: dict[str, int | None] = {}
        for name, account in s.execute(select(c_.name, c_.account_id).where(c_.name.is_not(None))):
            key = " ".join(name.lower().split())
            if " " in key:
                by_name[key] = account if by_name.get(key, account) == account else -1
        index = deal_rules.LinkIndex(
            deals=[
                deal_rules.DealInfo(*r)
                for r in s.execute(
                    select(d_.id, d_.crm_id, d_.name, d_.account_id, d_.stage, d_.close_date).order_by(d_.id)
                )
            ],
            accounts=[
                deal_rules.AccountInfo(i, n, tuple(d or []))
                for i, n, d in s.execute(select(a_.id, a_.name, a_.domains).order_by(a_.id))
            ],
            contact_accounts=contacts,
            internal_domains={"northwind.io"},
            contact_names={k: v for k, v in by_name.items() if v is not None and v != -1},
        )
        c_ = CommitmentRow
        rows = list(
            s.execute(
                select(
                    c_.id, c_.document_id, c_.owner, c_.owner_email, c_.counterparty, c_.counterparty_email
                )
            )
        )
        out: dict[int, tuple[int, str] | None] = {}
        for cid, link_input in _link_inputs(s, rows).items():
            decision = deal_rules.decide(link_input, index)
            out[cid] = (decision.deal_id, decision.method) if decision else None
        return out


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_batched_linking_decides_as_the_whole_crm_would(
    store: Store,  # noqa: F811
    seed: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(deal_links, "_LINK_BATCH", 5)  # small batches: each reaches a few CRM rows
    rng = random.Random(seed)
    crm = _crm(rng)
    store.upsert_crm(crm)
    _documents(store, rng, crm, 120)
    expected = _whole_crm_decisions(store)
    assert sum(v is not None for v in expected.values()) > 20  # the CRM is reachable: a real comparison
    counts = store.link_commitments({"northwind.io"})
    with store._tx() as s:
        links = {
            c: (d, m)
            for c, d, m in s.execute(
                select(
                    CommitmentDealLinkRow.commitment_id,
                    CommitmentDealLinkRow.deal_id,
                    CommitmentDealLinkRow.method,
                )
            )
        }
    got = {cid: links.get(cid) for cid in expected}
    assert got == expected
    methods = {m for v in expected.values() if v for m in [v[1]]}
    assert {"mention", "contact", "domain"} <= methods  # every rule had its turn
    assert counts["unlinked"] == sum(v is None for v in expected.values())


def test_name_keys_find_every_name_a_text_mentions() -> None:
    """A name's pattern matches only where the text's keys hold the name's key."""
    rng = random.Random(7)
    alphabet = ["acme", "Übersee", "x1", "-", "&", ".", "@", "_", "data", "DATA", "ß"]
    for _ in range(3000):
        name = " ".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6)))
        text = " ".join(rng.choice([*alphabet, name, name.upper(), "  "]) for _ in range(rng.randint(1, 8)))
        phrase = deal_rules._Phrase(name)
        if phrase.search(text):
            assert deal_rules.name_key(name) in deal_rules.text_keys(text) or not deal_rules.name_key(name)
