"""Batched writes and the near-free re-run (issue 13).

Documents are stored in batches (:meth:`Store.add_documents`) and extractions recorded in batches
(:meth:`Store.record_extractions`, new documents in bulk by :func:`store.recording.record_fresh`).
These tests hold the batched path to what the one-at-a-time path stores, on threads whose replies
come before and after their ancestors, count the statements a run issues per document, and check
that a re-run on unchanged input reads nothing and reports what the first run did.
"""

from __future__ import annotations

import mailbox
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, text

from benchmarks.end_to_end import generate
from followthrough import pipeline
from store import runs as store_runs
from tests.clirunner import followthrough

REPO = Path(__file__).resolve().parent.parent


def _workspace(tmp_path: Path, n: int, *, reverse: bool = False) -> Path:
    ws = generate(tmp_path / f"ws-{n}-{int(reverse)}", n).root
    if reverse:  # replies before the messages they answer: threads are joined as ancestors arrive
        box = ws / "email" / "mail.mbox"
        source = mailbox.mbox(box)
        messages = list(source)
        source.close()
        box.unlink()
        out = mailbox.mbox(ws / "email" / "reversed.mbox")
        for m in reversed(messages):
            out.add(m)
        out.flush()
        out.close()
    return ws


def _stored(db: Path) -> list[tuple[object, ...]]:
    """What a run stored, without ids: each commitment with its thread and evidence."""
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT c.type, c.action, c.owner_email, c.due, c.status, c.flags, c.thread_id, c.deal_id,"
                " d.external_id, group_concat(e.quote || '@' || e.char_start || '-' || e.char_end, '|')"
                " FROM commitments c JOIN documents d ON d.id = c.document_id"
                " LEFT JOIN evidence e ON e.commitment_id = c.id GROUP BY c.id"
            )
        ).all()
        threads = conn.execute(text("SELECT external_id, thread_id FROM documents")).all()
    engine.dispose()
    return sorted(tuple(str(v) for v in r) for r in rows) + sorted(tuple(r) for r in threads)


def _run(ws: Path, db: Path) -> int:
    result = followthrough("--as-of", "2026-12-01", "run", ws, "--json", db=db)
    assert result.returncode in (0, 3), result.stderr
    return result.returncode


@pytest.mark.parametrize("reverse", [False, True], ids=["in-order", "replies-first"])
def test_batched_writes_store_what_one_at_a_time_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reverse: bool
) -> None:
    ws = _workspace(tmp_path, 240, reverse=reverse)
    _run(ws, tmp_path / "batched.db")
    with monkeypatch.context() as m:
        m.setattr(pipeline, "STORE_BATCH", 1)
        m.setattr(pipeline, "EXTRACT_BATCH", 1)
        # every document through the per-document rules (store.recording.record_items)
        m.setattr(store_runs, "_documents_with_items", lambda s, ids: set(ids))
        _run(ws, tmp_path / "single.db")
    batched, single = _stored(tmp_path / "batched.db"), _stored(tmp_path / "single.db")
    assert len(batched) > 240
    assert batched == single


@pytest.fixture
def statements() -> Iterator[list[str]]:
    """Every SQL statement any engine runs while the test does."""
    seen: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement)

    from sqlalchemy.engine import Engine

    event.listen(Engine, "before_cursor_execute", count)
    yield seen
    event.remove(Engine, "before_cursor_execute", count)


def test_statements_per_document_do_not_grow_with_the_batch(tmp_path: Path, statements: list[str]) -> None:
    """Storing documents and recording their items is a few statements per batch, not per message
    (before issue 13: about five INSERTs per message, one transaction each)."""
    tables = ("documents", "extractions", "commitments", "evidence", "people")

    def writes() -> int:
        return sum(1 for s in statements if any(s.startswith(f"INSERT INTO {t} ") for t in tables))

    small, large = _workspace(tmp_path, 100), _workspace(tmp_path, 400)
    _run(small, tmp_path / "small.db")
    n_small = writes()
    statements.clear()
    _run(large, tmp_path / "large.db")
    n_large = writes()
    # 300 more messages (about 300 more items): a handful more batches, a few statements each
    assert n_large - n_small < 30, (n_small, n_large)


def test_a_rerun_on_unchanged_input_reads_nothing_and_reports_the_same(tmp_path: Path) -> None:
    ws = _workspace(tmp_path, 60)
    bad = ws / "email" / "broken.eml"
    bad.write_bytes(b"\x00\x01 not a message")
    db = tmp_path / "ft.db"
    first = followthrough("--as-of", "2026-12-01", "run", ws, "--json", db=db)
    again = followthrough("--as-of", "2026-12-01", "run", ws, "--json", db=db)
    import json

    one, two = json.loads(first.stdout)["run"], json.loads(again.stdout)["run"]
    assert first.returncode == again.returncode
    assert two["unchanged_inputs"] == one["inputs"] - len(one["errors"]) or two["unchanged_inputs"] >= 1
    assert two["documents_seen"] == one["documents_seen"] and two["documents_new"] == 0
    assert two["extracted"] == 0 and two["cached"] == 0
    assert sorted(two["errors"]) == sorted(one["errors"])
    assert sorted(two["notes"]) == sorted(one["notes"])

    # one changed input is read again, the others are not
    box = ws / "email" / "mail.mbox"
    box.write_text(box.read_text().replace("Thanks for the call today.", "Thanks for the call, all.", 1))
    third = json.loads(followthrough("--as-of", "2026-12-01", "run", ws, "--json", db=db).stdout)["run"]
    assert third["documents_new"] == 1
    assert third["unchanged_inputs"] == two["unchanged_inputs"] - 1


def test_changed_company_domains_read_the_inputs_again(tmp_path: Path) -> None:
    ws = _workspace(tmp_path, 20)
    db = tmp_path / "ft.db"
    import json

    followthrough("--as-of", "2026-12-01", "run", ws, "--json", db=db)
    again = followthrough(
        "--as-of",
        "2026-12-01",
        "run",
        ws,
        "--json",
        db=db,
        env={"FOLLOWTHROUGH_COMPANY_DOMAINS": "example.org"},
    )
    # the mailbox is read again (who is ours changed); the CRM export, which domains do not shape, is not
    assert json.loads(again.stdout)["run"]["unchanged_inputs"] == 1


def test_an_unchanged_crm_export_is_read_again_only_when_the_crm_changed(tmp_path: Path) -> None:
    import json
    import shutil

    crm = tmp_path / "crm"
    shutil.copytree(REPO / "fixtures" / "demo" / "crm", crm)
    other = tmp_path / "other.csv"
    other.write_text(
        "deal_id,deal_name,account_name,account_domain,stage,amount,close_date,owner_email,owner_name\n"
        "D-9,Umbrella - Pilot,Umbrella,umbrella.example,Proposal,50000,2026-06-30,"
        "marco@northwind.io,Marco Rossi\n"
    )
    db = tmp_path / "ft.db"

    def ingest(*paths: Path) -> dict[str, object]:
        result = followthrough("ingest", *paths, "--json", db=db)
        assert result.returncode == 0, result.stderr
        report: dict[str, object] = json.loads(result.stdout)
        return report

    first = ingest(crm)
    assert first["unchanged_inputs"] == 0 and sum(first["crm"].values()) > 0  # type: ignore[union-attr]
    assert ingest(crm)["unchanged_inputs"] == 2  # deals.csv and contacts.csv: not read again
    ingest(other)  # another export changed the CRM tables
    assert ingest(crm)["unchanged_inputs"] == 0  # so the first is read again
    assert ingest(crm)["unchanged_inputs"] == 2


def test_an_unchanged_crm_export_with_a_bad_row_keeps_its_exit_code(tmp_path: Path) -> None:
    crm = tmp_path / "deals.csv"
    crm.write_text(
        "deal_id,deal_name,account_name,account_domain,stage,amount,close_date,owner_email,owner_name\n"
        "D-1,Acme - Pilot,Acme,acme.example,Proposal,5000,2026-06-30,marco@northwind.io,Marco Rossi\n"
        "D-2,Acme - Expansion,Acme,acme.example,Proposal,lots,2026-06-30,marco@northwind.io,Marco Rossi\n"
    )
    db = tmp_path / "ft.db"
    first = followthrough("ingest", crm, db=db)
    again = followthrough("ingest", crm, db=db)  # skipped as unchanged: the same line, the same code
    assert first.returncode == again.returncode == 3
    assert "cannot read the amount 'lots'" in again.stderr


def test_each_item_shows_its_own_document_first_after_its_source_changes(tmp_path: Path) -> None:
    """A survivor of a merge whose own message is edited gets its quote re-recorded after the merged
    ones: what it shows first (and exports) is still what its own document says."""
    import shutil

    from followthrough.types import CommitmentStatus
    from store import CommitmentFilter, Store

    demo = tmp_path / "demo"
    shutil.copytree(REPO / "fixtures" / "demo", demo)
    db = tmp_path / "ft.db"
    assert followthrough("--as-of", "2026-03-16", "run", demo, db=db).returncode == 0
    box = demo / "email" / "customers.mbox"
    text_before = box.read_text()
    assert "by end of day today" in text_before
    box.write_text(text_before.replace("by end of day today", "by Friday", 1))
    assert followthrough("--as-of", "2026-03-16", "run", demo, db=db).returncode == 0
    with Store(f"sqlite:///{db}") as store:
        f = CommitmentFilter(status=None, as_of=date(2026, 3, 16), limit=500)
        items = store.list_commitments(f).items
    merged_survivors = [c for c in items if len(c.quotes) > 1]
    assert merged_survivors  # the demo merges a promise said in a meeting and an email
    for c in items:
        if c.quotes and c.status != CommitmentStatus.MERGED:
            assert c.quotes[0].document_id == c.document_id and c.evidence == c.quotes[0].quote, c.id


def test_a_batch_naming_more_people_than_a_statement_holds_is_stored(tmp_path: Path) -> None:
    """The people a batch names are looked up in chunks: one ``IN`` list of every one of them passed
    the database's limit on a statement's parameters (SQLite's, lowered here to 999; a message to a
    quarter of a million people failed the whole run with "too many SQL variables")."""
    import sqlite3  # noqa: PLC0415

    from followthrough.types import Participant, ParticipantRole, SourceDocument  # noqa: PLC0415
    from store import Store  # noqa: PLC0415

    store = Store(f"sqlite:///{tmp_path / 'ft.db'}")

    @event.listens_for(store.engine, "connect")
    def _few_variables(conn: sqlite3.Connection, _: object) -> None:
        conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)

    store.engine.dispose()  # connections opened from here on have the lower limit
    people = [
        Participant(name=f"Person {i}", email=f"p{i}@customer.com", role=ParticipantRole.RECIPIENT)
        for i in range(1_500)
    ]
    store.add_documents(
        [
            SourceDocument(
                source="email",
                external_id="<all@ourco.com>",
                occurred_at=datetime(2026, 3, 16, 10, tzinfo=UTC),
                participants=[
                    Participant(name="Priya Shah", email="priya@ourco.com", role=ParticipantRole.SENDER),
                    *people,
                ],
                text="I'll send the deck by Friday.",
            )
        ]
    )
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM people")).scalar() == 1_501


def test_inputs_are_looked_up_in_chunks_and_by_their_stored_names(tmp_path: Path) -> None:
    """A run over more files than a statement holds parameters (70,000 on PostgreSQL; SQLite's limit
    lowered here to 999) and a file name that is not UTF-8 (its surrogates no driver takes) are both
    remembered and found again: either one used to end the whole run with a database error."""
    import sqlite3  # noqa: PLC0415

    from store import InputFile, Store  # noqa: PLC0415

    store = Store(f"sqlite:///{tmp_path / 'ft.db'}")

    @event.listens_for(store.engine, "connect")
    def _few_variables(conn: sqlite3.Connection, _: object) -> None:
        conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)

    store.engine.dispose()
    paths = [f"/in/{i}.eml" for i in range(1_500)] + ["/in/bad\udcffname.eml"]
    store.remember_inputs([InputFile(p, f"{i:064x}", 1) for i, p in enumerate(paths)])
    found = store.input_files(paths)
    assert sorted(found) == sorted(paths)
    assert found["/in/bad\udcffname.eml"].digest == f"{1_500:064x}"
    store.remember_inputs([InputFile("/in/bad\udcffname.eml", "f" * 64, 2)])  # the same row, replaced
    assert store.input_files(["/in/bad\udcffname.eml"])["/in/bad\udcffname.eml"].documents == 2
    # two names that differ only in their bytes that are not UTF-8 are two inputs, not one row
    twin = "/in/bad\udcfename.eml"
    store.remember_inputs([InputFile(twin, "e" * 64, 3)])
    both = store.input_files(["/in/bad\udcffname.eml", twin, "/in/bad\ufffdname.eml"])
    assert (both["/in/bad\udcffname.eml"].digest, both[twin].digest) == ("f" * 64, "e" * 64)
    assert "/in/bad\ufffdname.eml" not in both  # a real U+FFFD in a name is a third name
