"""Issue 13: account listings and the name directory at CRM scale.

- deals are summed up in the database (open deals, their amount, the owners of the open deals or
  else of all deals): the same views as reading every deal row, whatever the stages, amounts and
  owners look like (no stage, closed in any spelling, no amount, no owner, a comma in an owner);
- a person's account is found through their CRM contact for the people the documents name only,
  a few hundred emails per query;
- the name directory is read only when a document names someone by name alone;
- ``Store.directory()`` is read once per state of the contacts, people and deals: never a stale
  map after an import or after documents add people.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from followthrough.types import (
    Account,
    Contact,
    CrmData,
    Deal,
    Participant,
    ParticipantRole,
    SourceDocument,
    TieredValue,
)
from store import Store
from store import accounts as accounts_module
from store import crm as store_crm
from store.bulk import select_in
from store.crm import CrmStore
from store.directory import StoredDirectory
from store.models import AccountDomainRow, DealRow
from store.priority import is_closed
from tests.store_fixtures import store, store_url  # noqa: F401

AS_OF = date(2026, 3, 16)
OURS = {"northwind.io"}
SILENT = TieredValue(30.0, (("1", 14.0),))
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

STAGES = [None, "", "Negotiation", "Closed Won", "closedlost", "Closed - Lost", "won", "LOST", "Demo", "Odd"]
OWNERS = [None, "marco@northwind.io", "priya@northwind.io", "ana@northwind.io", "zed@northwind.io"]


def _crm() -> CrmData:
    """Twelve accounts whose deals mix every stage, amount and owner shape (one has no deal)."""
    accounts = [
        Account(name=f"Account {i}", domains=[f"a{i}.com"], tier="1" if i % 3 else None) for i in range(12)
    ]
    deals = []
    n = 0
    for i in range(11):  # Account 11: no deal at all
        for j in range(i % 5 + 1):
            n += 1
            deals.append(
                Deal(
                    crm_id=f"D-{n}",
                    name=f"Deal {n}",
                    account_name=f"Account {i}",
                    stage=STAGES[(i * 7 + j * 3) % len(STAGES)],
                    amount=None if n % 4 == 0 else 1000.5 * n,
                    owner_email=OWNERS[(i + j * 2) % len(OWNERS)],
                )
            )
    # Only closed deals: the owners of all its deals.
    deals += [
        Deal(
            crm_id="C-1",
            name="Done 1",
            account_name="Account 10",
            stage="Closed Won",
            owner_email="kim@northwind.io",
        ),
        Deal(
            crm_id="C-2",
            name="Done 2",
            account_name="Account 10",
            stage="closed lost",
            owner_email="lou@northwind.io",
        ),
    ]
    return CrmData(accounts=accounts, deals=deals)


def _by_every_deal(db: Store) -> dict[int, tuple[int, float, list[str]]]:
    """Per account id: open deals, open amount, owners: the rule, read deal by deal."""
    with db._tx() as s:
        rows = s.execute(select(DealRow.account_id, DealRow.stage, DealRow.amount, DealRow.owner_email)).all()
    by_account: dict[int, list[Any]] = {}
    for r in rows:
        by_account.setdefault(r.account_id, []).append(r)
    out = {}
    for account, mine in by_account.items():
        open_deals = [d for d in mine if not is_closed(d.stage)]
        owners = sorted({d.owner_email for d in (open_deals or mine) if d.owner_email})
        out[account] = (len(open_deals), float(sum(d.amount or 0 for d in open_deals)), owners)
    return out


def _check_views(db: Store) -> None:
    want = _by_every_deal(db)
    page = db.list_accounts(_filter(), SILENT, OURS)
    assert len(page.items) == 12
    for v in page.items:
        n, amount, owners = want.get(v.id, (0, 0.0, []))
        assert (v.open_deals, v.deal_owners) == (n, owners), v.name
        assert v.open_amount == pytest.approx(amount), v.name
        assert v.watched == (n > 0 or v.tier == "1")


def _filter() -> Any:
    from store import AccountFilter

    return AccountFilter(as_of=AS_OF, limit=100)


def test_deal_summaries_are_those_of_every_deal(store: Store) -> None:  # noqa: F811
    store.upsert_crm(_crm())
    _check_views(store)
    views = {v.name: v for v in store.list_accounts(_filter(), SILENT, OURS).items}
    assert views["Account 11"].open_deals == 0 and views["Account 11"].deal_owners == []
    # A comma in an owner's email (no import writes one, a database might hold one): read deal by deal.
    with store._tx() as s:
        s.execute(update(DealRow).where(DealRow.crm_id == "D-1").values(owner_email="odd,one@northwind.io"))
    _check_views(store)


def test_deal_summaries_with_no_closed_stage(store: Store) -> None:  # noqa: F811
    store.upsert_crm(
        CrmData(
            accounts=[Account(name="Acme", domains=["acme.com"])],
            deals=[
                Deal(
                    crm_id="D-1",
                    name="One",
                    account_name="Acme",
                    stage="Demo",
                    amount=10,
                    owner_email="b@n.io",
                ),
                Deal(crm_id="D-2", name="Two", account_name="Acme", amount=5, owner_email="a@n.io"),
            ],
        )
    )
    (view,) = store.silent_accounts(AS_OF, SILENT, OURS)
    assert (view.open_deals, view.open_amount, view.deal_owners) == (2, 15.0, ["a@n.io", "b@n.io"])


def test_contacts_are_read_for_the_people_touched_in_batches(
    store: Store,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Over 500 people in one email: their accounts come from their contacts, several lookups."""
    people = [f"p{i}@gmail.com" for i in range(1_200)]
    names = ["Alpha", "Beta", "Gamma"]
    store.upsert_crm(
        CrmData(
            accounts=[Account(name=n, tier="1") for n in names],
            contacts=[Contact(email=e, account_name=names[i % 3]) for i, e in enumerate(people)]
            + [Contact(email=f"x{i}@gmail.com", account_name="Alpha") for i in range(300)],  # never touched
        )
    )
    store.add_documents(
        [
            SourceDocument(
                source="email",
                external_id="<all@northwind.io>",
                occurred_at=T0,
                participants=[
                    Participant(name="Marco", email="marco@northwind.io", role=ParticipantRole.SENDER)
                ]
                + [Participant(email=e, role=ParticipantRole.RECIPIENT) for e in people],
                text="Hello all.",
            )
        ]
    )
    asked: list[int] = []

    def counting(s: Any, table: Any, key: str, columns: Any, keys: Any, *, batch: int = 4_096) -> Any:
        keys = list(keys)
        asked.append(len(keys))
        assert batch <= 500
        return select_in(s, table, key, columns, keys, batch=batch)

    monkeypatch.setattr("store.accounts.select_in", counting)
    views = store.list_accounts(_filter(), SILENT, OURS).items
    assert {v.name: v.last_touch_by_us for v in views} == dict.fromkeys(names, T0)
    assert asked == [1_200]  # the people touched, not the 1,500 contacts
    assert accounts_module.CONTACT_BATCH <= 500


def test_directory_read_only_for_a_name_alone(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    store.upsert_crm(
        CrmData(
            accounts=[Account(name="Acme", domains=["acme.com"], tier="1")],
            contacts=[Contact(email="dana@acme.com", name="Dana Lee", account_name="Acme")],
        )
    )
    store.add_documents(
        [
            SourceDocument(
                source="email",
                external_id="<m1@northwind.io>",
                occurred_at=T0,
                participants=[
                    Participant(name="Marco", email="marco@northwind.io", role=ParticipantRole.SENDER),
                    Participant(name="Dana Lee", email="dana@acme.com", role=ParticipantRole.RECIPIENT),
                ],
                text="Hello.",
            )
        ]
    )
    reads: list[int] = []
    real = CrmStore.directory

    def counted(self: CrmStore) -> dict[str, str]:
        reads.append(1)
        return real(self)

    monkeypatch.setattr(CrmStore, "directory", counted)
    (view,) = store.list_accounts(_filter(), SILENT, OURS).items
    assert view.last_touch_by_us == T0 and reads == []
    # A meeting whose attendee is known by name only: the directory places her.
    store.add_documents(
        [
            SourceDocument(
                source="meeting",
                external_id="meet-1",
                occurred_at=T0 + timedelta(days=3),
                participants=[
                    Participant(name="Marco", email="marco@northwind.io", internal=True),
                    Participant(name="Dana Lee"),
                ],
                text="Marco: hello.",
            )
        ]
    )
    (view,) = store.list_accounts(_filter(), SILENT, OURS).items
    assert view.last_touch_by_us == T0 + timedelta(days=3) and reads == [1]


def _reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the directories the store makes (each reads the people and the deal owners)."""
    reads: list[int] = []

    class Counted(StoredDirectory):
        def __init__(self, crm: CrmStore) -> None:
            reads.append(1)
            super().__init__(crm)

    monkeypatch.setattr(store_crm, "StoredDirectory", Counted)
    return reads


def test_directory_is_read_once_per_state(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    reads = _reads(monkeypatch)
    store.upsert_crm(
        CrmData(
            accounts=[Account(name="Acme", domains=["acme.com"])],
            contacts=[Contact(email="dana@acme.com", name="Dana Lee", account_name="Acme")],
            deals=[Deal(crm_id="D-1", name="One", account_name="Acme", owner_email="marco@northwind.io")],
        )
    )
    first = store.directory()
    assert first["dana lee"] == "dana@acme.com" and first["marco"] == "marco@northwind.io"
    with pytest.raises(TypeError):  # one map shared by every caller: read-only
        first["dana lee"] = "changed by a caller"  # type: ignore[index]
    assert store.directory()["dana lee"] == "dana@acme.com"
    assert store.directory() == store.directory()
    assert len(reads) == 1
    # An import that changes nothing: still the same state, not read again.
    store.upsert_crm(CrmData(contacts=[Contact(email="dana@acme.com", name="Dana Lee", account_name="Acme")]))
    store.directory()
    assert len(reads) == 1


def test_directory_is_never_stale_after_an_import(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    reads = _reads(monkeypatch)
    store.upsert_crm(
        CrmData(
            accounts=[Account(name="Acme", domains=["acme.com"])],
            contacts=[Contact(email="dana@acme.com", name="Dana Lee", account_name="Acme")],
            deals=[Deal(crm_id="D-1", name="One", account_name="Acme", owner_email="marco@northwind.io")],
        )
    )
    assert store.directory()["dana lee"] == "dana@acme.com"
    # A contact's name changes: same rows, same ids (only their change time tells).
    store.upsert_crm(CrmData(contacts=[Contact(email="dana@acme.com", name="Dana Smith")]))
    names = store.directory()
    assert names["dana smith"] == "dana@acme.com" and "dana lee" not in names
    # A deal changes owner.
    store.upsert_crm(
        CrmData(deals=[Deal(crm_id="D-1", name="One", account_name="Acme", owner_email="priya@x.io")])
    )
    names = store.directory()
    assert names["priya"] == "priya@x.io" and "marco" not in names
    # A new contact.
    store.upsert_crm(CrmData(contacts=[Contact(email="raj@acme.com", name="Raj Patel", account_name="Acme")]))
    assert store.directory()["raj patel"] == "raj@acme.com"
    assert len(reads) == 4
    # Another store over the same database changes it: this one sees it.
    other = Store(store.url)
    try:
        other.upsert_crm(CrmData(contacts=[Contact(email="raj@acme.com", name="Raj Kumar")]))
    finally:
        other.close()
    assert store.directory()["raj kumar"] == "raj@acme.com"


def test_directory_is_never_stale_after_documents_add_people(
    store: Store,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reads = _reads(monkeypatch)
    assert store.directory() == {}
    store.add_documents(
        [
            SourceDocument(
                source="email",
                external_id="<m1@acme.com>",
                occurred_at=T0,
                participants=[Participant(name="Dana", email="dana@acme.com", role=ParticipantRole.SENDER)],
                text="Hello.",
            )
        ]
    )
    assert store.directory() == {"dana": "dana@acme.com"}
    # A fuller name for the same person: the people row is changed in place.
    store.add_documents(
        [
            SourceDocument(
                source="email",
                external_id="<m2@acme.com>",
                occurred_at=T0 + timedelta(hours=1),
                participants=[
                    Participant(name="Dana Lee", email="dana@acme.com", role=ParticipantRole.SENDER)
                ],
                text="Hello again.",
            )
        ]
    )
    assert store.directory()["dana lee"] == "dana@acme.com"
    assert len(reads) == 3


def _mixed_crm(seed: int) -> CrmData:
    """Accounts of every tier shape (none, numbered, named, odd), some without deals, amounts that tie
    and names that tie but for case, deals in every stage shape."""
    import random

    rnd = random.Random(seed)
    tiers = [None, "", "1", "Tier 2", "Enterprise", "smb", "Platinum", "weird", "7"]
    accounts = [
        Account(
            name=rnd.choice(["Acme", "acme", "Zeta", "Ärger", "Beta"]) + f" {i % 40}",
            domains=[f"a{i}.com"],
            tier=rnd.choice(tiers),
        )
        for i in range(120)
    ]
    names = list(dict.fromkeys(a.name for a in accounts))
    # most accounts: one open deal of a few amounts (ties that the tier, the silence, the name break)
    picks = names[:-5] + [rnd.choice(names[:-5]) for _ in range(20)]  # the last five names: no deal
    deals = [
        Deal(
            crm_id=f"D-{n}",
            name=f"Deal {n}",
            account_name=account,
            stage=rnd.choice(["Demo", "Demo", "Negotiation", *STAGES]),
            amount=rnd.choice([None, 0.0, *[1000.0] * 6, 2500.5]),
            owner_email=rnd.choice(OWNERS),
        )
        for n, account in enumerate(picks)
    ]
    return CrmData(accounts=accounts, deals=deals)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_first_silent_accounts_are_those_of_every_account_summed_up(
    store: Store,  # noqa: F811
    seed: int,
) -> None:
    """The report's silent accounts (the database ranks those nobody of ours touched, the touched ones
    are judged here) are the first rows of the listing that sums up every account, and their count is
    its length: with ties in amount, tier and name, tiers watched or not, accounts touched recently,
    long ago or only by them."""
    crm = _mixed_crm(seed)
    store.upsert_crm(crm)
    docs = []
    for i, acc in enumerate(crm.accounts[::3]):
        ours = i % 3 != 2  # every third: only they wrote
        sender = (
            Participant(name="Marco", email="marco@northwind.io", role=ParticipantRole.SENDER)
            if ours
            else Participant(email=f"x@{acc.domains[0]}", role=ParticipantRole.SENDER)
        )
        other = Participant(
            email=f"buyer@{acc.domains[0]}" if ours else "marco@northwind.io", role=ParticipantRole.RECIPIENT
        )
        docs.append(
            SourceDocument(
                source="email",
                external_id=f"<m{i}@northwind.io>",
                occurred_at=T0 - timedelta(days=(i * 7) % 60),
                participants=[sender, other],
                text="Hello.",
            )
        )
    store.add_documents(docs)
    tiered = TieredValue(30.0, (("1", 14.0), ("weird", 5.0), ("", 3.0)))
    for silent_days in (SILENT, tiered):
        every = store.silent_accounts(AS_OF, silent_days, OURS)
        assert len(every) > 10
        for limit in range(1, len(every) + 3):
            top, total = store.top_silent_accounts(AS_OF, silent_days, OURS, limit=limit)
            assert total == len(every)
            assert [v.model_dump() for v in top] == [v.model_dump() for v in every[:limit]], limit


def test_many_tiers_rank_every_account(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """A CRM with more tiers than the database ranks is summed up account by account: the same rows."""
    store.upsert_crm(_mixed_crm(4))
    every = store.silent_accounts(AS_OF, SILENT, OURS)
    fast = store.top_silent_accounts(AS_OF, SILENT, OURS, limit=7)
    monkeypatch.setattr(accounts_module, "TIERS_IN_SQL", 3)
    slow = store.top_silent_accounts(AS_OF, SILENT, OURS, limit=7)
    assert fast == slow == (every[:7], len(every))


def test_a_domain_longer_than_dns_allows_is_kept_but_not_looked_up(store: Store) -> None:  # noqa: F811
    """An export's over-long "domain" (no email has it) is stored in the account's list, and the
    import goes on (``account_domains`` lists domains of up to 253 characters)."""
    long = "a" * 301 + ".com"
    counts = store.upsert_crm(CrmData(accounts=[Account(name="Acme", domains=["acme.com", long])]))
    assert counts["accounts_added"] == 1
    store.upsert_crm(CrmData(accounts=[Account(name="Acme", domains=["b" * 260 + ".io", "acme.io"])]))
    with store.engine.connect() as conn:
        listed = {d for (d,) in conn.execute(select(AccountDomainRow.domain))}
    assert listed == {"acme.com", "acme.io"}
    (view,) = store.list_accounts(_filter(), SILENT, OURS).items
    assert long in view.domains
