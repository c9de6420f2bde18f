"""The store on SQLite (always) and PostgreSQL (when FOLLOWTHROUGH_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from followthrough.errors import StoreError
from followthrough.types import Account, CrmData, RunStatus
from store import CommitmentFilter, NotFound, Store
from store.migrate import alembic_config
from store.models import Base
from tests.store_fixtures import demo_crm, make_doc, make_item, store, store_url  # noqa: F401

AS_OF = date(2026, 3, 16)


def test_migrations_create_every_table_on_a_fresh_file(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "ft.db"
    Store(f"sqlite:///{path}").close()
    assert path.exists()
    engine = create_engine(f"sqlite:///{path}")
    tables = set(inspect(engine).get_table_names())
    assert {
        "accounts",
        "contacts",
        "deals",
        "documents",
        "extraction_runs",
        "extractions",
        "commitments",
        "commitment_history",
        "evidence",
        "commitment_deal_links",
        "api_tokens",
        "alembic_version",
    } <= tables
    engine.dispose()
    # opening again is a no-op
    Store(f"sqlite:///{path}").close()


def test_a_fresh_file_another_process_is_migrating_is_waited_for_not_migrated_twice(tmp_path: Path) -> None:
    """Two commands started together on a new database (a cron ingest and `serve`): the second waits
    for the first's schema instead of failing with "table accounts already exists"."""
    import sqlite3
    import threading

    done = tmp_path / "done.db"
    Store(f"sqlite:///{done}").close()
    with sqlite3.connect(done) as src:
        schema = [s for s in src.iterdump() if s not in ("BEGIN TRANSACTION;", "COMMIT;")]
    path = tmp_path / "ft.db"
    first = sqlite3.connect(path, isolation_level=None)
    first.execute("PRAGMA journal_mode=WAL")  # as every store connection starts
    first.execute("BEGIN IMMEDIATE")  # the first process, migrating
    opened: list[BaseException | None] = []

    def second() -> None:
        try:
            Store(f"sqlite:///{path}").close()
            opened.append(None)
        except BaseException as e:  # noqa: BLE001 - reported by the assertion below
            opened.append(e)

    t = threading.Thread(target=second)
    t.start()
    t.join(0.5)
    assert t.is_alive(), "the second opener did not wait for the first's write lock"
    for statement in schema:
        first.execute(statement)
    first.execute("COMMIT")
    first.close()
    t.join(30)
    assert opened == [None]
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)


def test_migrations_match_the_models(store: Store) -> None:  # noqa: F811
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_migration_0005_gives_linked_commitments_their_deal(tmp_path: Path) -> None:
    """A database linked before ``commitments.deal_id`` existed counts its deals after the upgrade."""
    url = f"sqlite:///{tmp_path / 'ft.db'}"
    with Store(url) as old:
        old.upsert_crm(demo_crm())
        doc = make_doc()
        doc_id, _ = old.add_document(doc)
        run = old.start_run(extractor="offline", model="m", prompt_version="v1")
        (cid,) = old.record_extraction(run, doc_id, "k", [make_item(doc, "I'll send the revised pricing")])
        old.set_deal(cid, "D-100")
        with old.engine.begin() as conn:  # back to a database from before the column
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0004")
        assert "deal_id" not in {c["name"] for c in inspect(old.engine).get_columns("commitments")}
    with Store(url) as new:  # opening applies 0005, which fills the column from the links
        assert (new.get_deal("D-100").total_count, new.get_deal("D-200").total_count) == (1, 0)


def test_migration_0018_lists_every_account_domain(tmp_path: Path) -> None:
    """Accounts stored before ``account_domains`` existed are found by their domains after the
    upgrade (lower-cased, each once), and an import after it adds what it writes."""
    url = f"sqlite:///{tmp_path / 'ft.db'}"
    with Store(url) as old:
        with old.engine.begin() as conn:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0017")
            now = "2026-12-01 00:00:00.000000"
            too_long = "a" * 300  # no email's domain: not listed
            conn.execute(
                text(
                    "INSERT INTO accounts (name, name_key, domains, created_at, updated_at) VALUES "
                    "('Acme', 'acme', :acme, :t, :t), "
                    "('Bare', 'bare', '[]', :t, :t), ('Initech', 'initech', '[\"initech.com\"]', :t, :t)"
                ),
                {"t": now, "acme": json.dumps(["acme.com", "ACME.io", "acme.io", too_long])},
            )
    with Store(url) as new, new.engine.connect() as conn:
        rows = {(d, a) for d, a in conn.execute(text("SELECT domain, account_id FROM account_domains"))}
        assert rows == {("acme.com", 1), ("acme.io", 1), ("initech.com", 3)}
        new.upsert_crm(CrmData(accounts=[Account(name="Bare", domains=["Bare.org"])]))
        rows = {(d, a) for d, a in conn.execute(text("SELECT domain, account_id FROM account_domains"))}
        assert ("bare.org", 2) in rows and len(rows) == 4


def test_unreachable_database_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="cannot open the database"):
        Store("postgresql+psycopg://nobody:secret@127.0.0.1:1/none")
    with pytest.raises(StoreError) as info:
        Store("postgresql+psycopg://nobody:secret@127.0.0.1:1/none")
    assert "secret" not in str(info.value)


def test_add_document_is_idempotent_by_source_and_external_id(store: Store) -> None:  # noqa: F811
    doc = make_doc()
    doc_id, changed = store.add_document(doc)
    assert changed
    assert store.add_document(doc) == (doc_id, False)
    back = store.get_document(doc_id)
    assert back == doc
    assert back.occurred_at.utcoffset() == doc.occurred_at.utcoffset()
    edited = make_doc(text="Thanks Dana. I'll send the revised pricing by Monday.")
    assert store.add_document(edited) == (doc_id, True)
    assert store.get_document(doc_id).text == edited.text
    with pytest.raises(NotFound):
        store.get_document(9999)


def test_pending_and_cached(store: Store) -> None:  # noqa: F811
    doc = make_doc()
    doc_id, _ = store.add_document(doc)
    assert store.pending_documents("k1") == [doc_id]
    run = store.start_run(extractor="offline", model="m", prompt_version="v1")
    store.record_extraction(run, doc_id, "k1", [], status="failed", error="boom")
    assert store.pending_documents("k1") == [doc_id]
    assert store.cached_items(doc.content_hash, "k1") is None
    item = make_item(doc, "I'll send the revised pricing to you by Friday")
    store.record_extraction(run, doc_id, "k1", [item], prompt_tokens=10, completion_tokens=5)
    assert store.pending_documents("k1") == []
    assert store.pending_documents("k2") == [doc_id]
    assert store.cached_items(doc.content_hash, "k1") == [item]
    counts = {"documents": 2, "items": 1, "failed": 1, "prompt_tokens": 10, "cost_usd": 0.01}
    store.finish_run(run, RunStatus.OK, {**counts, "note": "x"})
    (view,) = store.list_runs()
    assert (view.documents, view.items, view.failed, view.prompt_tokens, view.status) == (2, 1, 1, 10, "ok")
    assert view.stats["note"] == "x" and view.finished_at is not None
    assert view.stats["pid"] == os.getpid()  # whose run it is: a dead owner means interrupted
    # the content changes: pending again
    store.add_document(make_doc(text="Thanks Dana. I'll send the revised pricing by Monday."))
    assert store.pending_documents("k1") == [doc_id]


def test_a_failure_that_spent_a_budget_is_held_back_under_one_no_larger(store: Store) -> None:  # noqa: F811
    held_id, _ = store.add_document(make_doc("<held@acme.com>"))
    plain_id, _ = store.add_document(make_doc("<plain@acme.com>"))
    run = store.start_run(extractor="offline", model="m", prompt_version="v1")
    store.record_extraction(run, held_id, "k1", [], status="failed", error="first", budget_s=20.0)
    store.record_extraction(run, held_id, "k1", [], status="failed", error="again", budget_s=30.0)
    store.record_extraction(run, plain_id, "k1", [], status="failed", error="a timeout")
    # held back under a budget no larger than one it spent; every failure is pending without a budget
    assert store.pending_documents("k1", 20.0) == [plain_id]
    assert store.pending_documents("k1", 30.0) == [plain_id]
    assert store.pending_documents("k1", 30.5) == [held_id, plain_id]
    assert store.pending_documents("k1") == [held_id, plain_id]
    assert store.pending_documents("k2", 20.0) == [held_id, plain_id]
    (held,) = store.held_documents("k1", 5.0)
    assert (held.document_id, held.external_id, held.origin, held.budget_s) == (
        held_id,
        "<held@acme.com>",
        "inbox.mbox:1",
        30.0,
    )
    assert store.held_documents("k1", 60.0) == [] and store.held_documents("k2", 20.0) == []
    # an OK extraction of the same content ends the hold; new content is pending again
    store.record_extraction(run, held_id, "k1", [])
    assert store.held_documents("k1", 20.0) == []
    assert store.pending_documents("k1", 20.0) == [plain_id]
    store.record_extraction(run, plain_id, "k1", [], status="failed", error="x", budget_s=20.0)
    assert store.pending_documents("k1", 20.0) == []
    store.add_document(make_doc("<plain@acme.com>", text="Thanks Dana. I'll send the deck by Monday."))
    assert store.pending_documents("k1", 20.0) == [plain_id]
    assert store.held_documents("k1", 20.0) == []


def test_ungrounded_items_are_never_open(store: Store) -> None:  # noqa: F811
    doc = make_doc()
    doc_id, _ = store.add_document(doc)
    run = store.start_run(extractor="llm", model="m", prompt_version="v1")
    ids = store.record_extraction(
        run, doc_id, "k", [make_item(doc, "We will give you a 50% discount", grounded=False)]
    )
    assert ids == []
    assert store.list_commitments(CommitmentFilter(as_of=AS_OF)).items == []
    everything = store.list_commitments(CommitmentFilter(status=None, as_of=AS_OF)).items
    assert [(c.status, c.flags) for c in everything] == [("dismissed", ["ungrounded"])]
    assert list(store.export_rows()) == []
    assert len(list(store.export_rows(include_ungrounded=True))) == 1


def test_set_status_and_history(store: Store) -> None:  # noqa: F811
    doc = make_doc()
    doc_id, _ = store.add_document(doc)
    run = store.start_run(extractor="offline", model="m", prompt_version="v1")
    (cid,) = store.record_extraction(run, doc_id, "k", [make_item(doc, "I'll send the revised pricing")])
    v = store.set_status(cid, "snoozed", until=date(2026, 3, 20), note="waiting on legal", as_of=AS_OF)
    assert v.status == "snoozed" and v.snoozed_until == date(2026, 3, 20)
    assert store.list_commitments(CommitmentFilter(as_of=AS_OF)).items == []
    snoozed = store.list_commitments(CommitmentFilter(status="snoozed", as_of=AS_OF)).items
    assert [c.id for c in snoozed] == [cid]
    # once the snooze date comes, it is open again
    later = CommitmentFilter(as_of=date(2026, 3, 20))
    assert [c.status for c in store.list_commitments(later).items] == ["open"]
    done = store.set_status(cid, "done", actor="api:bot", as_of=AS_OF)
    assert done.status == "done" and done.snoozed_until is None
    fields = [(h.field, h.new, h.actor) for h in done.history]
    assert ("status", "done", "api:bot") in fields and ("status", "snoozed", "cli") in fields
    with pytest.raises(ValueError, match="not a valid CommitmentStatus"):
        store.set_status(cid, "finished")  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        store.set_status(4242, "done")


def test_a_schema_from_the_future_is_a_clear_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ft.db'}"
    Store(url).close()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(StoreError, match="schema this version of followthrough does not know"):
        Store(url)


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("hello, this is not SQLite\n" * 100)
    with pytest.raises(StoreError, match="cannot open the database"):
        Store(f"sqlite:///{path}")


def test_in_memory_sqlite_and_plain_postgresql_urls(tmp_path: Path) -> None:
    from store import normalize_url

    with Store("sqlite://") as mem:
        assert mem.add_document(make_doc())[1]
    assert normalize_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"


def test_migrations_ship_with_the_package() -> None:
    from store.migrate import MIGRATIONS

    assert (MIGRATIONS / "env.py").is_file()
    versions = sorted(p.name for p in (MIGRATIONS / "versions").glob("0*.py"))
    assert versions[0] == "0001_initial.py"
    assert (MIGRATIONS / "versions" / "__init__.py").is_file()  # a package, so setuptools ships it
