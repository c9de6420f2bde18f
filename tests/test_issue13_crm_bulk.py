"""A million-row CRM export within a minute (issue 13): the bulk writes, the admission fast path and
the accounts an import remembers must store exactly what the slower paths stored.

- :mod:`store.bulk` writes and reads at the driver's pace, converting each value as SQLAlchemy does:
  every value written through it reads back through the ORM unchanged (dates, UTC times, JSON,
  floats), on SQLite and PostgreSQL;
- :func:`store.admit_crm` checks a clean chunk with one search and keeps its records as they are, and
  still finds one NUL or lone surrogate anywhere in a chunk;
- an import remembers the accounts it stored, and a later chunk that adds to one still writes it.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from followthrough.types import Account, Contact, CrmData, Deal
from store import CrmRecords, Store, admit_crm
from store import crm as crm_module
from store.bulk import insert_rows, select_in
from store.crm import IMPORT_CACHE_KIB, IMPORT_WAL_PAGES
from store.models import AccountRow, ContactRow, DealRow
from tests.store_fixtures import store, store_url  # noqa: F401

NOW = datetime(2026, 12, 1, 9, 30, 15, 123456, tzinfo=UTC)


def test_rows_written_in_bulk_read_back_as_the_orm_wrote_them(store: Store) -> None:  # noqa: F811
    accounts = AccountRow.__table__
    deals = DealRow.__table__
    with store._tx() as s:
        insert_rows(
            s,
            accounts,  # type: ignore[arg-type]
            ("name", "name_key", "domains", "tier", "crm_id"),
            [
                ("Acme", "acme", ["acme.com", "acme.io"], "Enterprise", None),
                ("Ünïcode", "ünïcode", [], None, "7"),
            ],
            shared={"created_at": NOW, "updated_at": NOW},
        )
    with store._tx() as s:
        ids = {a.name_key: a.id for a in s.scalars(select(AccountRow))}
        insert_rows(
            s,
            deals,  # type: ignore[arg-type]
            ("crm_id", "name", "account_id", "stage", "amount", "close_date", "owner_email"),
            [
                ("D1", "First", ids["acme"], "Demo", 1234.5, date(2026, 3, 31), "marco@northwind.io"),
                ("D2", "Second", ids["ünïcode"], None, None, None, None),
            ],
            shared={"created_at": NOW - timedelta(days=1), "updated_at": NOW},
        )
    with store._tx() as s:
        stored = {a.name_key: a for a in s.scalars(select(AccountRow))}
        assert stored["acme"].domains == ["acme.com", "acme.io"]
        assert stored["acme"].tier == "Enterprise" and stored["ünïcode"].crm_id == "7"
        assert stored["acme"].created_at == NOW and stored["acme"].created_at.tzinfo is not None
        d1, d2 = s.scalars(select(DealRow).order_by(DealRow.crm_id)).all()
        assert (d1.amount, d1.close_date, d1.owner_email) == (1234.5, date(2026, 3, 31), "marco@northwind.io")
        assert (d2.amount, d2.close_date, d2.stage) == (None, None, None)
        assert d1.created_at == NOW - timedelta(days=1)

        found = select_in(
            s,
            deals,  # type: ignore[arg-type]
            "crm_id",
            ["id", "amount", "close_date", "created_at"],
            ["D2", "D1", "D1", "nope"],
        )
        assert set(found) == {"D1", "D2"}
        assert found["D1"][2:] == (1234.5, date(2026, 3, 31), NOW - timedelta(days=1))
        acme = select_in(s, accounts, "name_key", ["domains", "updated_at"], ["acme"])  # type: ignore[arg-type]
        assert acme["acme"][1:] == (["acme.com", "acme.io"], NOW)


def test_columns_named_in_any_order_land_in_their_columns(store: Store) -> None:  # noqa: F811
    """``insert_rows`` passes each row's values in the compiled statement's order, whatever the order
    the caller names the columns in (one column, several, with shared values or without)."""
    from sqlalchemy import Column, Integer, MetaData, String, Table

    one = Table("one_column", MetaData(), Column("id", Integer, primary_key=True), Column("word", String))
    with store._tx() as s:
        one.create(s.connection())
        insert_rows(s, one, ("word",), [("alpha",), ("beta",)])
        insert_rows(
            s,
            AccountRow.__table__,  # type: ignore[arg-type]
            ("crm_id", "tier", "domains", "name_key", "name"),
            [("9", "Tier 2", ["zed.io"], "zed", "Zed"), (None, None, [], "yak", "Yak")],
            shared={"updated_at": NOW, "created_at": NOW - timedelta(days=2)},
        )
    with store._tx() as s:
        assert [w for (w,) in s.execute(select(one.c.word).order_by(one.c.id))] == ["alpha", "beta"]
        zed, yak = (
            s.scalars(select(AccountRow).where(AccountRow.name_key == k)).one() for k in ("zed", "yak")
        )
        assert (zed.name, zed.crm_id, zed.tier, zed.domains) == ("Zed", "9", "Tier 2", ["zed.io"])
        assert (yak.name, yak.crm_id, yak.tier, yak.domains) == ("Yak", None, None, [])
        assert (zed.created_at, zed.updated_at) == (NOW - timedelta(days=2), NOW)


LISTS = [[], ["acme.com"], ["acme.com", "acme.io"], ['say "hi"'], ["back\\slash"], ["ünïcode.de"],
         ["nul\x00"], ["del\x7f"], ["tab\t"], [" !#[]~"], [1, "a"], ["a", None], [["nested"]]]  # fmt: skip


@pytest.mark.parametrize("value", LISTS)
def test_a_json_list_is_written_as_json_dumps_writes_it(value: list[object]) -> None:
    from store.bulk import _json_strings

    assert _json_strings(json.dumps)(value) == json.dumps(value)


def test_account_domains_are_stored_as_the_orm_stores_them(store: Store) -> None:  # noqa: F811
    """The JSON text in the column itself, whichever way it was written."""
    lists = [v for v in LISTS if all(isinstance(d, str) and "\x00" not in d for d in v)]
    rows = [(f"A{i}", f"a{i}", v, None, None) for i, v in enumerate(lists)]
    with store._tx() as s:
        insert_rows(s, AccountRow.__table__, ("name", "name_key", "domains", "tier", "crm_id"), rows,  # type: ignore[arg-type]
                    shared={"created_at": NOW, "updated_at": NOW})  # fmt: skip
        stored = dict(s.execute(text("SELECT name_key, CAST(domains AS TEXT) FROM accounts")).all())
        read = {a.name_key: a.domains for a in s.scalars(select(AccountRow))}
    if store.engine.dialect.name == "sqlite":
        assert stored == {f"a{i}": json.dumps(v) for i, v in enumerate(lists)}
    assert read == {f"a{i}": v for i, v in enumerate(lists)}


@pytest.mark.parametrize("size", [1, 2, 3, 1000, 5000])
def test_a_lookup_finds_every_key_whatever_the_batch(store: Store, size: int) -> None:  # noqa: F811
    crm = CrmData(contacts=[Contact(email=f"c{i}@acme.com", name=f"C {i}") for i in range(size)])
    store.upsert_crm(crm)
    with store._tx() as s:
        keys = [f"c{i}@acme.com" for i in range(size)] + ["nobody@acme.com"]
        found = select_in(s, ContactRow.__table__, "email", ["name"], keys, batch=7)  # type: ignore[arg-type]
    assert len(found) == size
    assert found[f"c{size - 1}@acme.com"] == (f"c{size - 1}@acme.com", f"C {size - 1}")


def test_a_clean_chunk_is_admitted_as_it_is() -> None:
    crm = CrmData(
        accounts=[Account(name="Acme", domains=["acme.com"], tier="Enterprise")],
        contacts=[Contact(email="dana@acme.com", name="Dana", account_name="Acme", role="VP")],
        deals=[Deal(crm_id="D1", name="Pilot", account_name="Acme", stage="Demo", amount=5.0)],
    )
    admitted, problems = admit_crm(crm)
    assert problems == []
    assert admitted.accounts[0] is crm.accounts[0]
    assert admitted.contacts[0] is crm.contacts[0]
    assert admitted.deals[0] is crm.deals[0]


@pytest.mark.parametrize(
    "crm",
    [
        CrmData(accounts=[Account(name="Acme", domains=["ac\x00me.com"])]),
        CrmData(accounts=[Account(name="Acme", domains=["ac\ud800me.com"])]),
        CrmData(contacts=[Contact(email="dana@acme.com", name="Da\udcffna")]),
        CrmData(deals=[Deal(crm_id="D1", name="Pi\x00lot", account_name="Acme")]),
        CrmData(deals=[Deal(crm_id="D1", name="Pilot", account_name="Acme", stage="De\ud83dmo")]),
    ],
    ids=[
        "nul-in-a-list",
        "surrogate-in-a-list",
        "surrogate-in-a-name",
        "nul-in-a-deal",
        "surrogate-in-a-stage",
    ],
)
def test_one_unstorable_character_anywhere_in_a_chunk_is_replaced(crm: CrmData) -> None:
    admitted, _ = admit_crm(crm)
    text = admitted.model_dump_json()  # raises on a lone surrogate
    assert "\\u0000" not in text and "\ufffd" in text


def test_a_value_that_only_spells_nul_is_kept_as_it_is() -> None:
    crm = CrmData(deals=[Deal(crm_id="D1", name=r"C:\u0000 and \x00", account_name="Acme")])
    admitted, problems = admit_crm(crm)
    assert problems == [] and admitted.deals[0].name == r"C:\u0000 and \x00"


def test_too_long_values_are_cut_in_a_clean_chunk() -> None:
    crm = CrmData(
        accounts=[Account(name="Acme", tier="T" * 80)],
        contacts=[Contact(email="dana@acme.com", name="N" * 400, role="R" * 300)],
        deals=[Deal(crm_id="D1", name="P" * 600, account_name="Acme", stage="S" * 150, amount=float("inf"))],
    )
    admitted, problems = admit_crm(crm)
    assert len(admitted.accounts[0].tier or "") == 50
    assert len(admitted.contacts[0].name or "") == 300 and len(admitted.contacts[0].role or "") == 200
    deal = admitted.deals[0]
    assert (len(deal.name), len(deal.stage or ""), deal.amount) == (500, 100, None)
    assert problems == ["deal 'D1': amount inf is not a storable number; left empty"]


def test_an_import_remembers_its_accounts_and_still_writes_what_a_later_chunk_adds(
    store: Store,  # noqa: F811
) -> None:
    with store.crm_import() as importing:
        first = CrmData(
            accounts=[Account(name="Acme", domains=["acme.com"], tier="Enterprise")],
            deals=[Deal(crm_id="D1", name="One", account_name="Acme")],
        )
        assert importing.upsert(first)["accounts_added"] == 1
        assert set(importing.known) == {"acme"}
        # a chunk that only names it: no account written, the deal finds it
        named = CrmData(deals=[Deal(crm_id="D2", name="Two", account_name="ACME")])
        assert importing.upsert(named)["deals_added"] == 1
        # a chunk that adds a domain and a CRM id: written, counted once as this import's own account
        more = CrmData(
            accounts=[Account(name="acme", domains=["acme.io"], crm_id="A-1")],
            deals=[Deal(crm_id="D3", name="Three", account_name="Acme")],
        )
        counts = importing.upsert(more)
        assert (counts["accounts_added"], counts["accounts_updated"], counts["deals_added"]) == (0, 0, 1)
    with store.engine.connect() as conn:
        account = conn.execute(select(AccountRow.id, AccountRow.domains, AccountRow.crm_id)).one()
        deal_accounts = set(conn.scalars(select(DealRow.account_id)))
    assert (account.domains, account.crm_id) == (["acme.com", "acme.io"], "A-1")
    assert deal_accounts == {account.id}
    # a new import forgets: an account changed since is read again, not taken from memory
    with store._tx() as s:
        row = s.get(AccountRow, account.id)
        assert row is not None
        row.domains = []
    later = CrmData(accounts=[Account(name="Acme", domains=["acme.com"])])
    with store.crm_import() as again:
        assert again.upsert(later)["accounts_updated"] == 1
    assert store.upsert_crm(later)["accounts_updated"] == 0  # the same again: nothing to write


def _overlapping_chunks() -> list[CrmData]:
    """Three chunks of ten rows a table: four the store holds (seeded, or the chunk before), six new."""
    chunks = []
    for c in range(3):
        ids = range(2 + 6 * c, 12 + 6 * c)
        chunks.append(
            CrmData(
                accounts=[Account(name=f"Co {i}", domains=[f"co{i}.com", f"v{c}.com"]) for i in ids],
                contacts=[
                    Contact(email=f"c{i}@co{i}.com", name=f"C {i}", role=f"r{c}", account_name=f"Co {i}")
                    for i in ids
                ]
                + [Contact(email="owner@us.com", name="Owner", role=f"owner {c}")],
                deals=[Deal(crm_id=f"D{i}", name=f"Deal {i}", account_name=f"Co {i}", amount=c) for i in ids],
            )  # fmt: skip
        )
    return chunks


def _by_name(db: Store) -> tuple[list[tuple[object, ...]], ...]:
    """The CRM tables' contents, accounts named (not numbered), without timestamps."""
    with db.engine.connect() as conn:
        name = dict(conn.execute(select(AccountRow.id, AccountRow.name)).all())
        contacts = conn.execute(select(ContactRow)).all()
        deals = conn.execute(select(DealRow)).all()
        listed = conn.execute(text("SELECT domain, account_id FROM account_domains")).all()
        return (
            sorted((a.name, a.domains, a.tier) for a in conn.execute(select(AccountRow)).all()),
            sorted((c.email, c.name, c.role, name.get(c.account_id)) for c in contacts),
            sorted((d.crm_id, d.name, name[d.account_id], d.amount) for d in deals),
            sorted((d, name[a]) for d, a in listed),
        )


def _top_rows(db: Store) -> None:
    """A row with the largest id SQLite allows in each CRM table: new rows are numbered at random."""
    top, stamps = 2**63 - 1, {"created_at": NOW, "updated_at": NOW}
    rows = (
        (AccountRow, ("id", "name", "name_key", "domains"), (top, "Top", "top", [])),
        (ContactRow, ("id", "email"), (top, "top@top.com")),
        (DealRow, ("id", "crm_id", "name", "account_id"), (top, "T", "T", top)),
    )
    with db._tx() as s:
        for row, columns, values in rows:
            insert_rows(s, row.__table__, columns, [values], shared=stamps)  # type: ignore[attr-defined]


@pytest.mark.parametrize("ids_at_the_top", [False, True])
def test_an_import_inserts_first_and_stores_what_looking_up_first_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ids_at_the_top: bool
) -> None:
    """An import's chunk that is mostly new is inserted first (``ON CONFLICT DO NOTHING``) and only
    the keys it skipped are looked up: the rows and counts are those of looking every key up first
    (``upsert_crm``, chunk by chunk, counting from the same start). With the largest id taken,
    SQLite numbers new rows at random: the ones just added are then told by their timestamp."""
    looked_up: dict[str, list[int]] = {"import": [], "calls": []}
    stamps: list[str] = []
    existing, select_in = crm_module._existing, crm_module.select_in
    results = []
    for way in ("import", "calls"):
        monkeypatch.setattr(
            crm_module,
            "_existing",
            lambda s, c, k, keys, w=way: looked_up[w].append(len(list(keys))) or existing(s, c, k, keys),
        )
        monkeypatch.setattr(
            crm_module,
            "select_in",
            lambda s, t, k, c, keys, **kw: stamps.append(c[0]) or select_in(s, t, k, c, keys, **kw),
        )
        db = Store(f"sqlite:///{tmp_path / way}.db")
        db.upsert_crm(CrmData(
            contacts=[Contact(email=f"c{i}@co{i}.com", name=f"C {i}") for i in range(6)],
            deals=[Deal(crm_id=f"D{i}", name="Old", account_name=f"Co {i}") for i in range(6)],
        ))  # fmt: skip
        if ids_at_the_top:
            _top_rows(db)
        looked_up[way].clear()
        if way == "import":
            with db.crm_import() as importing:
                counts = [importing.upsert(chunk) for chunk in _overlapping_chunks()]
                assert set(importing.novelty.values()) == {True}
        else:
            since = crm_module.utcnow()
            counts = [db.upsert_crm(chunk, since=since) for chunk in _overlapping_chunks()]
        results.append((_by_name(db), counts))
    assert results[0] == results[1]
    first, second, _ = results[0][1]  # the store's four rows of a table updated, this import's not
    assert first == {"accounts_added": 6, "accounts_updated": 4, "contacts_added": 7,
                     "contacts_updated": 4, "deals_added": 6, "deals_updated": 4}  # fmt: skip
    assert second == {"accounts_added": 6, "accounts_updated": 0, "contacts_added": 6,
                      "contacts_updated": 0, "deals_added": 6, "deals_updated": 0}  # fmt: skip
    assert 5 < min(looked_up["calls"])
    if ids_at_the_top:  # (and the new accounts' ids looked up)
        assert "created_at" in stamps
    else:
        assert max(looked_up["import"]) <= 5 and "created_at" not in stamps  # the four held, the owner


def test_an_import_gives_its_page_cache_back(tmp_path: Path) -> None:
    """The 64 MiB SQLite page cache of a large import is not kept by the rest of a run."""
    with Store(f"sqlite:///{tmp_path / 'ft.db'}") as db:

        def cache_size() -> tuple[int, int]:
            with db._tx() as s:
                pages = int(s.execute(text("PRAGMA cache_size")).scalar_one())
                return pages, int(s.execute(text("PRAGMA wal_autocheckpoint")).scalar_one())

        default = cache_size()
        with db.crm_import() as importing:
            importing.upsert(CrmData(deals=[Deal(crm_id="D1", name="One", account_name="Acme")]))
            assert cache_size() == (-IMPORT_CACHE_KIB, IMPORT_WAL_PAGES) != default
        assert cache_size() == default
        assert db.get_deal("D1").account == "Acme"


def test_an_import_of_ever_new_accounts_forgets_them_and_stores_every_one(
    store: Store,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(crm_module, "KNOWN_ACCOUNTS", 5)
    with store.crm_import() as importing:
        for chunk in range(6):
            names = [f"Company {chunk}-{i}" for i in range(3)]
            importing.upsert(
                CrmData(
                    accounts=[Account(name=n, domains=[f"c{chunk}-{i}.com"]) for i, n in enumerate(names)],
                    deals=[
                        Deal(crm_id=f"D{chunk}-{i}", name="Deal", account_name=n) for i, n in enumerate(names)
                    ],
                )
            )
            assert len(importing.known) <= 5 + 3
        # an account forgotten and named again is read back, not added twice
        importing.upsert(CrmData(deals=[Deal(crm_id="again", name="Again", account_name="company 0-1")]))
    with store.engine.connect() as conn:
        accounts = dict(conn.execute(select(AccountRow.name, AccountRow.id)).all())
        again = conn.scalar(select(DealRow.account_id).where(DealRow.crm_id == "again"))
    assert len(accounts) == 18 and again == accounts["Company 0-1"]


@pytest.mark.parametrize("dirty", ["", "\x00", "\ud800", "é", "é\x00"])
def test_records_from_a_reader_process_are_admitted_as_the_models_are(dirty: str) -> None:
    crm = CrmData(
        accounts=[
            Account(name="Acme" + dirty, tier="T" * 80, domains=["acme.com" + dirty]),
            Account(name="A" * 400),
        ],
        contacts=[
            Contact(email="dana@acme.com", name="N" * 400 + dirty, role="R" * 300, account_name="Acme"),
            Contact(email="x" * 400 + "@acme.com"),
        ],
        deals=[
            Deal(
                crm_id="D1", name="P" * 600, account_name="Acme" + dirty, stage="S" * 150, amount=float("inf")
            ),
            Deal(crm_id="D2", name="Two", account_name="A" * 400),
        ],
    )
    as_models, said = admit_crm(crm)
    as_records, said_too = admit_crm(CrmRecords.of(crm))
    assert isinstance(as_records, CrmRecords)
    assert as_records.rows() == as_models.rows() and said_too == said
    assert len(said) == 3 and all("\x00" not in str(row) for row in as_records.rows())
    assert as_records.accounts[0].name == "Acme" + dirty.replace("\x00", "\ufffd").replace("\ud800", "\ufffd")


def test_new_accounts_get_the_ids_the_database_gave_them(
    store: Store,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The ids of a chunk's new accounts (on SQLite taken from the insert, not read back) are the
    stored ones: every deal and contact is on its own account, over chunks that mix new and known
    accounts, after another writer's rows, and when the shortcut declines (ids read back)."""

    def chunk(lo: int, hi: int) -> CrmData:
        names = [f"Acct {i:03d}" for i in range(lo, hi)]
        return CrmData(
            accounts=[Account(name=n, domains=[f"d{n[-3:]}.com"]) for n in names],
            contacts=[Contact(email=f"c{n[-3:]}@d{n[-3:]}.com", account_name=n) for n in names],
            deals=[Deal(crm_id=f"D-{n[-3:]}", name=f"{n} deal", account_name=n) for n in names],
        )

    def check() -> None:
        with store.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT a.name, d.name, c.email, ad.domain FROM deals d"
                    " JOIN accounts a ON a.id = d.account_id JOIN contacts c ON c.account_id = a.id"
                    " JOIN account_domains ad ON ad.account_id = a.id"
                )
            ).all()
        assert rows and all(
            deal == f"{name} deal" and email == f"c{name[-3:]}@d{name[-3:]}.com" == f"c{name[-3:]}@{domain}"
            for name, deal, email, domain in rows
        )

    store.upsert_crm(CrmData(accounts=[Account(name="Earlier")]))  # ids do not start at 1
    with store.crm_import() as importing:
        importing.upsert(chunk(0, 40))
        importing.upsert(chunk(20, 70))  # half known, half new
    check()
    monkeypatch.setattr(crm_module, "_consecutive_ids", lambda s, keys: None)
    store.upsert_crm(chunk(60, 90))
    check()
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM accounts")).scalar_one() == 91


def test_an_export_of_many_bad_rows_shows_the_first_lines_and_counts_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deal id on every row: each row after the first is a problem line, up to the limit; the rest
    is one line with their count, and the unchanged export is not read again."""
    from followthrough import pipeline  # noqa: PLC0415
    from tests.clirunner import followthrough  # noqa: PLC0415

    monkeypatch.setattr(pipeline, "MAX_PROBLEMS_PER_EXPORT", 5)
    export = tmp_path / "crm" / "deals.csv"
    export.parent.mkdir()
    rows = "".join(f"D-1,Renewal {i},Acme,acme.com,Proposal,1000\n" for i in range(12))
    export.write_text("deal_id,deal_name,account_name,account_domain,stage,amount\n" + rows)
    env = {"FOLLOWTHROUGH_DATABASE_URL": f"sqlite:///{tmp_path / 'ft.db'}"}
    first = followthrough("run", str(tmp_path / "crm"), "--json", env=env)
    assert first.returncode == 3, first.stderr
    errors = json.loads(first.stdout)["run"]["errors"]
    assert errors == [
        f"{export}:{n}: deal id 'D-1' appears twice; kept the first row" for n in range(3, 8)
    ] + [f"{export}: 6 more problem lines not shown (the first 5 are; the limit)"]
    again = followthrough("run", str(tmp_path / "crm"), "--json", env=env)
    assert (again.returncode, json.loads(again.stdout)["run"]["unchanged_inputs"]) == (3, 1)
    assert json.loads(again.stdout)["run"]["errors"] == errors


def _crm_indexes(db: Store) -> set[str]:
    """The names of the deferrable CRM indexes the database holds now."""
    with db.engine.connect() as conn:
        names = set(conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'index'")).scalars())
    return names & {str(i.name) for i in crm_module.DEFERRABLE_INDEXES}


ALL_DEFERRABLE = {"ix_contacts_account_id", "ix_contacts_first_name_key_name_key", "ix_deals_account_id"}


def test_a_first_import_builds_its_lookup_indexes_once_at_the_end(tmp_path: Path) -> None:
    """Into empty tables, an import drops the contacts' and deals' lookup indexes and makes them again
    when it ends; the unique ones stay throughout (each chunk's insert relies on them)."""
    assert {str(i.name) for i in crm_module.DEFERRABLE_INDEXES} == ALL_DEFERRABLE
    with Store(f"sqlite:///{tmp_path / 'ft.db'}") as db:
        assert _crm_indexes(db) == ALL_DEFERRABLE
        with db.crm_import() as importing:
            for chunk in _overlapping_chunks():
                importing.upsert(chunk)
                assert _crm_indexes(db) == set()
            with pytest.raises(Exception, match="UNIQUE"), db._tx() as s:  # the unique ones are there
                s.execute(text("INSERT INTO deals SELECT id + 1000, crm_id, name, account_id, stage, amount, "
                               "close_date, owner_email, created_at, updated_at FROM deals"))  # fmt: skip
        assert _crm_indexes(db) == ALL_DEFERRABLE
        with db.engine.connect() as conn:
            query = text("EXPLAIN QUERY PLAN SELECT id FROM deals WHERE account_id = 3")
            plan = " ".join(str(r[-1]) for r in conn.execute(query))
        assert "ix_deals_account_id" in plan
        assert len(_by_name(db)[2]) == 22 and db.get_deal("D23").account == "Co 23"


def test_an_import_into_tables_that_hold_rows_keeps_their_indexes(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'ft.db'}") as db:
        db.upsert_crm(CrmData(deals=[Deal(crm_id="D0", name="Zero", account_name="Acme")]))  # no contact
        with db.crm_import() as importing:
            importing.upsert(_overlapping_chunks()[0])
            assert _crm_indexes(db) == {"ix_deals_account_id"}
        assert _crm_indexes(db) == ALL_DEFERRABLE


def test_an_import_that_fails_half_way_makes_its_indexes_again(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'ft.db'}") as db:
        with pytest.raises(RuntimeError), db.crm_import() as importing:
            importing.upsert(_overlapping_chunks()[0])
            raise RuntimeError("the reader died")
        assert _crm_indexes(db) == ALL_DEFERRABLE
        assert len(_by_name(db)[2]) == 10  # the chunk stored before it stays


def test_opening_the_store_makes_the_indexes_a_killed_import_dropped(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ft.db'}"
    with Store(url) as db, db.engine.begin() as conn:  # what a killed import leaves
        assert {str(i.name) for i in crm_module.defer_indexes(conn)} == ALL_DEFERRABLE
    with Store(url) as db:
        assert _crm_indexes(db) == ALL_DEFERRABLE


def test_an_interrupted_import_stops_at_once_and_the_next_opening_makes_the_indexes(tmp_path: Path) -> None:
    """Ctrl-C is not held up by index building (nor turned into a database error): the next
    opening of the store makes the indexes."""
    url = f"sqlite:///{tmp_path / 'ft.db'}"
    with Store(url) as db:
        with pytest.raises(KeyboardInterrupt), db.crm_import() as importing:
            importing.upsert(_overlapping_chunks()[0])
            raise KeyboardInterrupt
        assert _crm_indexes(db) == set()
    with Store(url) as db:
        assert _crm_indexes(db) == ALL_DEFERRABLE


def test_a_database_opened_read_only_opens_without_the_indexes_an_import_left_missing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "ft.db"
    with Store(f"sqlite:///{path}") as db:
        db.upsert_crm(_overlapping_chunks()[0])
        with db.engine.begin() as conn:
            crm_module.defer_indexes(conn)  # (nothing dropped: the tables hold rows)
            conn.execute(text("DROP INDEX ix_deals_account_id"))
    with Store(f"sqlite:///file:{path}?mode=ro&uri=true") as db:
        assert db.get_deal("D2").account == "Co 2"
        assert _crm_indexes(db) == ALL_DEFERRABLE - {"ix_deals_account_id"}
    assert "the next opening of the store makes them" in caplog.text
    with Store(f"sqlite:///{path}") as db:
        assert _crm_indexes(db) == ALL_DEFERRABLE
