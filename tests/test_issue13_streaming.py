"""Issue 13, "big but honest inputs are streamed": a CRM export is read and stored a chunk at a time.

A 1,000,000-row deals export used to be read whole, merged whole and written
through the ORM one object at a time (846 MB and 21 s of CPU at 100k rows;
killed after 15 minutes at 1M). These tests pin the streaming contract: the
reader yields bounded chunks, each chunk is one bulk transaction, memory stays
flat as the file grows, and the semantics of one whole-file import are kept
(a bad row is one line naming file and row, a deal id read twice keeps the first
row, a row is counted once however many chunks name it, a re-import changes nothing).
"""

from __future__ import annotations

import csv
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import connectors.crm as crm_module
from connectors.crm import CHUNK_ROWS, CrmCsvReader, read_crm_chunks
from followthrough.pipeline import RunReport, ingest_paths
from followthrough.types import Account, Contact, CrmData, Deal
from store import Store, admit_crm
from store.models import AccountRow, ContactRow, DealRow
from tests.store_fixtures import store, store_url  # noqa: F401

HEADER = [
    "deal_id",
    "deal_name",
    "account_name",
    "account_domain",
    "stage",
    "amount",
    "close_date",
    "owner_email",
    "owner_name",
    "tier",
    "contact_email",
    "contact_role",
]


def _row(i: int, accounts: int) -> list[str]:
    a = i % accounts
    return [
        f"D-{i:07d}",
        f"Account {a} - Deal {i}",
        f"Account {a}",
        f"account{a}.com",
        ("Discovery", "Proposal", "Negotiation")[i % 3],
        str(1000 + i),
        f"2026-{i % 12 + 1:02d}-{i % 28 + 1:02d}",
        f"owner{i % 7}@northwind.io",
        f"Owner {i % 7}",
        "Enterprise",
        f"buyer{i}@account{a}.com",
        "Buyer",
    ]


def write_deals(path: Path, rows: int, *, accounts: int = 50, extra: list[list[str]] | None = None) -> Path:
    """A deals export of ``rows`` generated rows (then ``extra`` rows as given)."""
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(HEADER)
        out.writerows(_row(i, accounts) for i in range(rows))
        out.writerows(extra or [])
    return path


def _import(db: Store, path: Path) -> RunReport:
    report = RunReport()
    ingest_paths(db, [path], report, set())
    return report


def _snapshot(db: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every CRM row as stored, ``updated_at`` included: what a no-op import must leave as it was."""
    with db.engine.connect() as conn:
        return {
            "accounts": [
                tuple(r)
                for r in conn.execute(
                    select(
                        AccountRow.name_key, AccountRow.domains, AccountRow.tier, AccountRow.updated_at
                    ).order_by(AccountRow.name_key)
                )
            ],
            "contacts": [
                tuple(r)
                for r in conn.execute(
                    select(
                        ContactRow.email,
                        ContactRow.name,
                        ContactRow.role,
                        ContactRow.account_id,
                        ContactRow.updated_at,
                    ).order_by(ContactRow.email)
                )
            ],
            "deals": [
                tuple(r)
                for r in conn.execute(
                    select(DealRow.crm_id, DealRow.name, DealRow.amount, DealRow.updated_at).order_by(
                        DealRow.crm_id
                    )
                )
            ],
        }


# ------------------------------------------------------------------ the reader


def test_the_reader_yields_bounded_chunks_and_keeps_file_wide_rules(tmp_path: Path) -> None:
    """Chunks of ``rows`` rows; a duplicate id in a later chunk and a bad row are one line each."""
    path = write_deals(
        tmp_path / "deals.csv",
        7,
        accounts=2,
        extra=[
            ["D-0000001", "Again", "Account 1", "", "", "", "", "", "", "", "", ""],  # line 9
            ["D-X", "Bad amount", "Account 0", "", "", "twelve", "", "", "", "", "", ""],  # line 10
            ["D-0000008", "Last", "Account 0", "", "", "5", "", "", "", "SMB", "", ""],  # line 11
            ["D-0000009", "More", "Account 1", "account1.io", "", "5", "", "", "", "", "", ""],  # line 12
        ],
    )
    errors: list[Any] = []
    chunks = list(read_crm_chunks(path, on_error=errors.append, rows=3))
    assert [len(c.deals) for c in chunks] == [3, 3, 1, 2]  # 11 rows read in chunks of 3; 2 refused
    assert [str(e.path) for e in errors] == [f"{path}:9", f"{path}:10"]
    assert "appears twice; kept the first row" in errors[0].problem
    # An account comes in the first chunk that names it, and again only in a chunk that adds to it
    # (a domain, or the file's first tier for it: a later tier is not taken); its deals name it.
    accounts = [(a.name, a.domains, a.tier) for c in chunks for a in c.accounts]
    assert accounts == [
        ("Account 0", ["account0.com"], "Enterprise"),
        ("Account 1", ["account1.com"], "Enterprise"),
        ("Account 1", ["account1.io"], None),
    ]
    assert {d.account_name for d in chunks[3].deals} == {"Account 0", "Account 1"}


def test_a_recurring_contact_comes_again_only_when_a_row_adds_to_it(tmp_path: Path) -> None:
    """A deal owner on every row is carried by the first chunk that has it on two rows, then by a
    later chunk only when a row says something new of it (its name); a buyer on one row each chunk
    is carried by each (nothing is remembered of it)."""
    row = ["", "Deal", "Acme", "", "", "", "", "owen@northwind.io", "Owen", "", "", ""]
    rows = [[f"D{i}", *row[1:]] for i in range(9)]
    rows[7][8] = rows[8][8] = "Owen Price"  # a later name: the owner comes again, named so
    for i in (0, 3, 6):
        rows[i][10] = "bea@acme.com"  # once in each chunk
    errors: list[Any] = []
    chunks = list(
        read_crm_chunks(write_deals(tmp_path / "deals.csv", 0, extra=rows), on_error=errors.append, rows=3)
    )
    assert not errors and [len(c.deals) for c in chunks] == [3, 3, 3]
    owners = [[(c.email, c.name) for c in chunk.contacts if c.role == "deal owner"] for chunk in chunks]
    assert owners == [[("owen@northwind.io", "Owen")], [], [("owen@northwind.io", "Owen Price")]]
    assert [[c.email for c in chunk.contacts if c.role != "deal owner"] for chunk in chunks] == [
        ["bea@acme.com"]
    ] * 3


def test_a_recurring_contact_past_its_column_is_said_once(tmp_path: Path) -> None:
    """An owner whose email no column holds, on every row: left out, and said once, not once per
    chunk (a later chunk does not carry it again; it says nothing new of it)."""
    email = "u" * 321 + "@x.com"
    rows = [[f"D{i}", "Deal", "Acme", "", "", "", "", email, "Lee", "", "", ""] for i in range(9)]
    chunks = list(read_crm_chunks(write_deals(tmp_path / "deals.csv", 0, extra=rows), rows=3))
    said = [problem for chunk in chunks for problem in admit_crm(chunk)[1]]
    assert len(chunks) == 3 and len(said) == 1 and "email longer than 320" in said[0]


def test_the_registered_reader_streams(tmp_path: Path) -> None:
    path = write_deals(tmp_path / "deals.csv", CHUNK_ROWS + 10)
    chunks = CrmCsvReader(path).records()
    first = next(iter(chunks))
    assert len(first.deals) == CHUNK_ROWS  # the first chunk comes before the file is read to its end
    assert sum(len(c.deals) for c in chunks) == 10


# ------------------------------------------------------------------- the store


def test_an_import_in_chunks_counts_each_row_once_and_a_reimport_changes_nothing(
    store: Store,  # noqa: F811
    tmp_path: Path,
) -> None:
    rows = CHUNK_ROWS * 2 + 500  # three chunks
    path = write_deals(
        tmp_path / "deals.csv",
        rows,
        extra=[["D-BAD", "No amount", "Account 1", "", "", "twelve", "", "", "", "", "", ""]],
    )
    first = _import(store, path)
    assert first.crm == {
        "accounts_added": 50,
        "accounts_updated": 0,  # accounts recur in every chunk: added once, never "updated" by the import
        "contacts_added": rows + 7,  # one buyer per row and seven deal owners
        "contacts_updated": 0,
        "deals_added": rows,
        "deals_updated": 0,
    }
    assert [(e.path, e.problem) for e in first.errors] == [
        (f"{path}:{rows + 2}", "cannot read the amount 'twelve'")
    ]
    assert store.company_domains_from_crm() == {"northwind.io"}
    assert store.get_deal("D-0001234").amount == 2234.0
    before = _snapshot(store)

    skipped = _import(store, path)  # unchanged, and the CRM too: not read again (issue 13's re-run)
    assert (skipped.crm, skipped.unchanged_inputs) == ({}, 1)
    assert [(e.path, e.problem) for e in skipped.errors] == [(e.path, e.problem) for e in first.errors]
    forget = store.input_files
    store.input_files = lambda paths: {}  # type: ignore[method-assign]
    try:
        again = _import(store, path)  # read again all the same: every row compared, none written
    finally:
        store.input_files = forget  # type: ignore[method-assign]
    assert set(again.crm.values()) == {0}
    assert _snapshot(store) == before  # nothing written: not even updated_at moved

    cheaper = _row(CHUNK_ROWS + 1, 50)
    cheaper[HEADER.index("amount")] = "1"
    changed = write_deals(tmp_path / "changed.csv", 3, extra=[cheaper])
    third = _import(store, changed)
    assert (third.crm["deals_updated"], third.crm["deals_added"]) == (1, 0)
    assert store.get_deal(f"D-{CHUNK_ROWS + 1:07d}").amount == 1.0


def test_upsert_merges_a_chunk_like_one_import(store: Store) -> None:  # noqa: F811
    """Within one call later records win, domains add up, empty values keep what is known."""
    crm = CrmData(
        accounts=[
            Account(name="Acme", domains=["acme.com"], tier="Enterprise"),
            Account(name="ACME ", domains=["acme.io"]),
        ],
        contacts=[
            Contact(email="Dana@Acme.com", name="Dana", account_name="Acme", role="VP"),
            Contact(email="dana@acme.com", name=None, account_name=None, role="CTO"),
        ],
        deals=[
            Deal(crm_id="D1", name="First", account_name="acme"),
            Deal(crm_id="D1", name="Second", account_name="Globex", owner_email="Marco@Northwind.io"),
        ],
    )
    assert store.upsert_crm(crm) == {
        "accounts_added": 2,
        "accounts_updated": 0,
        "contacts_added": 1,
        "contacts_updated": 0,
        "deals_added": 1,
        "deals_updated": 0,
    }
    with store.engine.connect() as conn:
        accounts = conn.execute(select(AccountRow.name, AccountRow.domains, AccountRow.tier)).all()
        contact = conn.execute(select(ContactRow.email, ContactRow.name, ContactRow.role)).one()
        deal = conn.execute(select(DealRow.name, DealRow.owner_email)).one()
    assert sorted(map(tuple, accounts)) == [
        ("Acme", ["acme.com", "acme.io"], "Enterprise"),
        ("Globex", [], None),
    ]
    assert tuple(contact) == ("dana@acme.com", "Dana", "CTO")
    assert tuple(deal) == ("Second", "marco@northwind.io")
    assert set(store.upsert_crm(crm).values()) == {0}


# ------------------------------------------------------------------- the scale


def _measure(tmp_path: Path, rows: int) -> tuple[float, int]:
    """CPU seconds and peak traced memory (bytes) of importing ``rows`` deal rows into a fresh SQLite."""
    path = write_deals(tmp_path / f"deals-{rows}.csv", rows, accounts=max(1, rows // 20))
    db = Store(f"sqlite:///{tmp_path / f'crm-{rows}.db'}")
    try:
        tracemalloc.start()
        started = time.process_time()
        report = _import(db, path)
        spent = time.process_time() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        db.close()
    assert report.crm["deals_added"] == rows and report.errors == []
    return spent, peak


def test_import_time_grows_linearly_and_memory_stays_flat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ten times the rows: about ten times the time (a bigger database is a little slower to search),
    and a peak memory that grows by a few hundred bytes a row, not by the rows.

    Before streaming, the peak grew with the file (every row held as a record and an ORM object
    at once: 846 MB at 100k rows) and the time faster than the file. Chunks of 1,000 rows stand
    in for 5,000, so that both sizes span several chunks and the test stays short.
    """
    monkeypatch.setattr(crm_module, "CHUNK_ROWS", 1_000)
    _measure(tmp_path, 500)  # warm up: imports, compiled statements
    t_small, m_small = _measure(tmp_path, 3_000)
    t_large, m_large = _measure(tmp_path, 30_000)
    assert t_large / t_small <= 10 * 2, (t_small, t_large)  # a step quadratic in the rows would be ~100x
    # What grows is what the reader must remember per row (the deal ids read so far, for duplicates;
    # its caches of names and domains): about 300 bytes a row. Holding the rows (as records, models
    # or ORM objects) would cost several kilobytes each: 846 MB at 100k rows before streaming.
    assert (m_large - m_small) / (30_000 - 3_000) <= 500, (m_small, m_large)
