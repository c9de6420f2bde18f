"""Issue 13: ``deals`` on a large CRM lists the worst deals first without ranking every deal in
Python; the first ``limit`` are exactly those of ranking them all (most overdue, most open, then the
largest amount, then the CRM id by code point), on SQLite and PostgreSQL. ``accounts`` likewise
shows a page (``Store.top_accounts``: the listing's first page, and how many it selects)."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

import pytest

from followthrough.config import silent_days
from followthrough.types import Account, CommitmentStatus, CrmData, Deal
from store import AccountFilter, Store
from tests.clirunner import followthrough
from tests.store_fixtures import make_doc, make_item, store, store_url  # noqa: F401

AS_OF = date(2026, 3, 16)


def _build(store: Store, rng: random.Random) -> None:  # noqa: F811
    deals = [
        Deal(
            crm_id=rng.choice(("D-", "d-", "X", "a"))
            + str(i),  # cases and prefixes that collations order apart
            name=f"Deal {i}",
            account_name=f"Account {i % 7}",
            amount=rng.choice((None, 0, 500, 500, 12_000, 250_000)),
            owner_email=rng.choice(("marco@northwind.io", "priya@northwind.io", None)),
        )
        for i in range(120)
    ]
    store.upsert_crm(CrmData(accounts=[Account(name=f"Account {i}") for i in range(7)], deals=deals))
    run = store.start_run(extractor="offline", model="m", prompt_version="v1")
    for n, deal in enumerate(rng.sample(deals, 30)):
        doc = make_doc(
            f"<m{n}@x>", f"I'll send the plan for {deal.name}.", thread_id=f"t{n}", title=deal.name
        )
        item = make_item(doc, "I'll send the plan", due=AS_OF + timedelta(days=rng.randint(-5, 5)))
        doc_id, _ = store.add_document(doc)
        (cid,) = store.record_extraction(run, doc_id, f"k{n}", [item])
        store.set_deal(cid, deal.crm_id)
        if rng.random() < 0.3:
            store.set_status(cid, CommitmentStatus.DONE)


def _every_deal_ranked(store: Store, owner: str | None = None) -> list[str]:  # noqa: F811
    every = store.list_deals(AS_OF, owner_email=owner)
    every.sort(key=lambda v: (-v.overdue_count, -v.open_count, -(v.amount or 0), v.crm_id))
    return [d.crm_id for d in every]


@pytest.mark.parametrize("seed", [1, 2])
def test_the_first_deals_are_those_of_ranking_every_deal(store: Store, seed: int) -> None:  # noqa: F811
    _build(store, random.Random(seed))
    for owner in (None, "marco@northwind.io"):
        every = _every_deal_ranked(store, owner)
        assert len(every) == store.count_deals(owner_email=owner)
        for limit in (1, 5, 17, 40, 500):
            page = store.list_deals(AS_OF, limit=limit, owner_email=owner)
            assert [d.crm_id for d in page] == every[:limit], (owner, limit)
        assert any(d.open_count for d in store.list_deals(AS_OF, limit=5))  # deals with items lead


def test_the_deals_command_shows_a_page_and_says_how_many_more(tmp_path: Path) -> None:
    db = tmp_path / "ft.db"
    with Store(f"sqlite:///{db}") as s:
        _build(s, random.Random(3))
    out = followthrough("--as-of", AS_OF.isoformat(), "deals", "--limit", "10", db=db, env={"COLUMNS": "120"})
    assert out.returncode == 0, out.stderr
    assert (
        "Deals (120)" in out.stdout
        and f"110 more: followthrough --as-of {AS_OF} deals --limit 120" in out.stdout
    )


@pytest.mark.parametrize("silent", [False, True])
def test_top_accounts_are_the_first_page_of_the_listing(store: Store, silent: bool) -> None:  # noqa: F811
    _build(store, random.Random(4))
    days = silent_days()
    for limit in (1, 3, 50):
        page = store.list_accounts(AccountFilter(silent=silent, as_of=AS_OF, limit=limit), days, set())
        top, total = store.top_accounts(AS_OF, days, set(), silent=silent, limit=limit)
        assert [a.id for a in top] == [a.id for a in page.items]
        everyone = store.list_accounts(AccountFilter(silent=silent, as_of=AS_OF, limit=1000), days, set())
        assert total == len(everyone.items) > 0


def test_the_accounts_command_shows_a_page_and_says_how_many_more(tmp_path: Path) -> None:
    db = tmp_path / "ft.db"
    with Store(f"sqlite:///{db}") as s:
        _build(s, random.Random(5))
    out = followthrough(
        "--as-of", AS_OF.isoformat(), "accounts", "--limit", "3", db=db, env={"COLUMNS": "160"}
    )
    assert out.returncode == 0, out.stderr
    assert (
        "Accounts (7)" in out.stdout
        and f"4 more: followthrough --as-of {AS_OF} accounts --limit 7" in out.stdout
    )
