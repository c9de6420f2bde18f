"""A store of N realistic commitments, built fast with bulk Core inserts through the real models.

:func:`build` fills a migrated, empty :class:`store.Store` with accounts, contacts,
deals, documents (emails, Slack messages and meetings, with participants and a
text the evidence is quoted from, at its character offsets), commitments and
requests (a mix of statuses, flags, owners and due dates; 85% linked to a deal,
the link row and the mirrored ``commitments.deal_id`` written together), their
evidence, and ends with :meth:`store.Store.refresh_statistics`: the database is
left as ``followthrough run`` leaves it, with no ``ANALYZE`` of its own.

Rows go in with ``INSERT`` executemany on the models' tables (``Model.__table__``),
so every value passes the models' column types (UTC datetimes, enum columns,
JSON lists), in batches of :data:`BATCH`: 1,000,000 items take about a minute
on SQLite. Used by ``benchmarks/api.py`` and ``benchmarks/query.py``.
"""

from __future__ import annotations

import os
import random
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.engine import make_url

from store import Store
from store.models import (
    AccountDomainRow,
    AccountRow,
    CommitmentDealLinkRow,
    CommitmentRow,
    ContactRow,
    DealRow,
    DocumentRow,
    EvidenceRow,
)

REPO = Path(__file__).resolve().parent.parent
AS_OF = date(2026, 3, 16)
"""The day the benchmarks ask as of (``--as-of``): dates below spread around it."""
NOW = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)
OWNERS = 500
ITEMS_PER_DOCUMENT = 4
BATCH = 10_000
STAGES = ["Discovery", "Demo", "Technical validation", "Proposal", "Negotiation", "Closed Won", "Closed Lost"]
TIERS = ["1", "2", "3", None]
# (status, weight): most items are open, the rest spread over every other status a listing can ask for
STATUSES = [
    ("open", 55),
    ("done", 20),
    ("dismissed", 8),
    ("snoozed", 4),
    ("waiting", 6),
    ("review", 3),
    ("answered", 2),
    ("merged", 2),
]
SENTENCES = [
    "I'll send the revised pricing by {due}.",
    "Can you confirm the SSO setup for our {n} users?",
    "We will get the security questionnaire back to you by {due}.",
    "Could you share the renewal terms before the call?",
    "I'll loop in our solutions engineer on the integration question.",
    "Our team will fix the export bug in the next release.",
]
FILLER = "Thanks for the call earlier today, good to catch up on the rollout. "


@dataclass(frozen=True)
class Shape:
    """How big the data set is: ``rows`` commitments, ``deals`` deals (4 per account)."""

    rows: int
    deals: int = 20_000

    @property
    def accounts(self) -> int:
        return max(1, self.deals // 4)

    @property
    def documents(self) -> int:
        return max(1, -(-self.rows // ITEMS_PER_DOCUMENT))


def deal_crm_id(n: int) -> str:
    return f"D-{n:06d}"


def owner_email(n: int) -> str:
    return f"rep{n}@northwind.io"


def _accounts(shape: Shape) -> Iterator[dict[str, Any]]:
    for i in range(1, shape.accounts + 1):
        yield {
            "id": i,
            "name": f"Account {i} Corp",
            "name_key": f"account {i} corp",
            "crm_id": f"A-{i}",
            "domains": [f"acct{i}.example.com"],
            "tier": TIERS[i % len(TIERS)],
            "created_at": NOW,
            "updated_at": NOW,
        }


def _account_domains(shape: Shape) -> Iterator[dict[str, Any]]:
    """Each account's domain, as the CRM import lists it beside the account (migration 0018)."""
    for i in range(1, shape.accounts + 1):
        yield {"domain": f"acct{i}.example.com", "account_id": i}


def _contacts(shape: Shape) -> Iterator[dict[str, Any]]:
    for i in range(1, shape.accounts + 1):
        for k in range(2):
            yield {
                "id": 2 * (i - 1) + k + 1,
                "email": f"buyer{k}@acct{i}.example.com",
                "name": f"Buyer{k} Account{i}",
                "name_key": f"buyer{k} account{i}",  # as store.crm keys a contact's name
                "first_name_key": f"buyer{k}",
                "account_id": i,
                "role": "Buyer",
                "created_at": NOW,
                "updated_at": NOW,
            }


def _deals(shape: Shape) -> Iterator[dict[str, Any]]:
    for i in range(1, shape.deals + 1):
        yield {
            "id": i,
            "crm_id": deal_crm_id(i),
            "name": f"Deal {i} expansion",
            "account_id": 1 + (i - 1) % shape.accounts,
            "stage": STAGES[i % len(STAGES)],
            "amount": float(5_000 + (i * 7919) % 400_000),
            "close_date": AS_OF + timedelta(days=i % 365 - 60),
            "owner_email": owner_email(i % OWNERS),
            "created_at": NOW,
            "updated_at": NOW,
        }


def _sentence(i: int) -> str:
    """The sentence commitment ``i`` is quoted from (its document holds it verbatim)."""
    due = (AS_OF + timedelta(days=i % 90 - 30)).isoformat()
    return SENTENCES[i % len(SENTENCES)].format(due=due, n=10 + i % 90)


def _document_text(doc: int) -> tuple[str, list[tuple[int, int]]]:
    """Document ``doc``'s text and the (start, end) of each of its items' sentences."""
    parts = [FILLER]
    spans = []
    at = len(FILLER)
    first = (doc - 1) * ITEMS_PER_DOCUMENT + 1
    for i in range(first, first + ITEMS_PER_DOCUMENT):
        s = _sentence(i)
        spans.append((at, at + len(s)))
        parts.append(s + " ")
        at += len(s) + 1
    return "".join(parts), spans


def _documents(shape: Shape) -> Iterator[dict[str, Any]]:
    for d in range(1, shape.documents + 1):
        body, _ = _document_text(d)
        account = 1 + d % shape.accounts
        rep = owner_email(d % OWNERS)
        source = ("email", "slack", "meeting")[d % 3]
        yield {
            "id": d,
            "source": source,
            "external_id": f"<msg-{d}@bench.northwind.io>",
            "thread_id": f"thread-{d // 4}",
            "occurred_at": NOW - timedelta(minutes=d * 3),
            "utc_offset_min": 60,
            "title": f"Re: rollout plan {d // 4}",
            "text": body,
            "content_hash": f"{d:064x}",
            "origin": "bench",
            "url": None,
            "participants": [
                {"name": f"Rep {d % OWNERS}", "email": rep, "handle": None, "role": "sender"},
                {"name": "Buyer0", "email": f"buyer0@acct{account}.example.com", "role": "recipient"},
            ],
            "segments": [],
            "metadata": {},
            "quoted_text": "",
            "signature": "",
            "created_at": NOW,
            "updated_at": NOW,
        }


def _plan(shape: Shape) -> Iterator[tuple[int, int | None, str, date | None]]:
    """Per commitment, in id order: (id, deal id or None, status, due): drawn once, read by every table."""
    rnd = random.Random(42)
    names = [s for s, _ in STATUSES]
    weights = [w for _, w in STATUSES]
    for i in range(1, shape.rows + 1):
        deal = 1 + rnd.randrange(shape.deals) if rnd.random() < 0.85 else None
        status = rnd.choices(names, weights)[0]
        if status == "merged" and i == 1:
            status = "open"
        due = AS_OF + timedelta(days=rnd.randrange(-400, 500)) if rnd.random() < 0.8 else None
        yield i, deal, status, due


def _commitments(shape: Shape) -> Iterator[dict[str, Any]]:
    rnd = random.Random(7)
    for i, deal, status, due in _plan(shape):
        doc = 1 + (i - 1) // ITEMS_PER_DOCUMENT
        kind = "request" if SENTENCES[i % len(SENTENCES)].startswith(("Can", "Could")) else "commitment"
        if status == "answered" and kind == "commitment":
            status = "done"
        owner = rnd.randrange(OWNERS)
        account = 1 + doc % shape.accounts
        flags = ["customer_promise"] if status == "waiting" else (["stale"] if i % 97 == 0 else [])
        created = NOW - timedelta(minutes=i)
        yield {
            "id": i,
            "document_id": doc,
            "run_id": None,
            "cache_key": "offline:bench",
            "type": kind,
            "owner": f"Rep {owner}" if kind == "commitment" or i % 2 else None,
            "owner_email": owner_email(owner) if kind == "commitment" or i % 2 else None,
            "counterparty": "Buyer0",
            "counterparty_email": f"buyer0@acct{account}.example.com",
            "action": _sentence(i).rstrip(".?").replace("I'll ", "").capitalize(),
            "due": due,
            "due_text": f"by {due.isoformat()}" if due else None,
            "confidence": 0.35 if i % 13 == 0 else 0.85,
            "status": status,
            "snoozed_until": AS_OF + timedelta(days=rnd.randrange(-20, 40)) if status == "snoozed" else None,
            "flags": flags,
            "span_key": f"{doc}:{i}",
            "dedup_key": f"{i:064x}",
            "source": ("email", "slack", "meeting")[doc % 3],
            "thread_id": f"thread-{doc // 4}",
            "created_at": created,
            "updated_at": created,
            "deal_id": deal,
            "merged_into": i - 1 if status == "merged" else None,
        }


def _evidence(shape: Shape) -> Iterator[dict[str, Any]]:
    for i, _deal, status, _due in _plan(shape):
        doc = 1 + (i - 1) // ITEMS_PER_DOCUMENT
        body, spans = _document_text(doc)
        start, end = spans[(i - 1) % ITEMS_PER_DOCUMENT]
        merged = status == "merged"  # a merged item's evidence is held by its survivor (the one before it)
        yield {
            "id": i,
            "commitment_id": i - 1 if merged else i,
            "document_id": doc,
            "quote": body[start:end],
            "char_start": start,
            "char_end": end,
            "alignment": "exact",
            "merged_from": i if merged else None,
        }


def _links(shape: Shape) -> Iterator[dict[str, Any]]:
    for i, deal, _status, _due in _plan(shape):
        if deal is not None:
            yield {
                "commitment_id": i,
                "deal_id": deal,
                "method": ("contact", "domain", "thread")[i % 3],
                "confidence": 0.8,
                "created_at": NOW,
            }


TABLES: list[tuple[Any, Callable[[Shape], Iterator[dict[str, Any]]]]] = [
    (AccountRow, _accounts),
    (AccountDomainRow, _account_domains),
    (ContactRow, _contacts),
    (DealRow, _deals),
    (DocumentRow, _documents),
    (CommitmentRow, _commitments),
    (EvidenceRow, _evidence),
    (CommitmentDealLinkRow, _links),
]


def _batches(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def loaded(store: Store) -> int:
    """How many commitments the store holds."""
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(CommitmentRow.__table__)).scalar_one())


def build(store: Store, shape: Shape, *, progress: Callable[[str], None] = print) -> float:
    """Fill the empty ``store`` with ``shape``'s data and refresh its statistics; the seconds it took."""
    t0 = time.perf_counter()
    sqlite = store.engine.dialect.name == "sqlite"
    with store.engine.begin() as conn:
        if sqlite:  # a bulk load of a fresh file: no fsync per page, index pages kept in memory
            conn.exec_driver_sql("PRAGMA synchronous=OFF")
            conn.exec_driver_sql("PRAGMA cache_size=-262144")
        for model, rows in TABLES:
            table: Table = model.__table__
            t = time.perf_counter()
            n = 0
            for batch in _batches(rows(shape)):
                conn.execute(insert(table), batch)
                n += len(batch)
            progress(f"  {table.name:<22} {n:>10,} rows in {time.perf_counter() - t:6.1f} s")
        if not sqlite:
            for table_name in ("accounts", "contacts", "deals", "documents", "commitments", "evidence"):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table_name}', 'id'), "
                        f"(SELECT max(id) FROM {table_name}))"
                    )
                )
    t = time.perf_counter()
    store.refresh_statistics()  # what `run` ends with: the database as the product leaves it
    progress(f"  refresh_statistics     {'':>10} in {time.perf_counter() - t:6.1f} s")
    return time.perf_counter() - t0


# --------------------------------------------------------------- databases


def ensure_built(store: Store, shape: Shape, label: str) -> None:
    """Build ``shape`` into ``store`` unless a kept database already holds it (another size is an
    error: exit with one line), printing each table's load time prefixed by ``[label]``."""
    have = loaded(store)
    if have == shape.rows:
        print(f"[{label}] reusing the {have:,} commitments already loaded", flush=True)
        return
    if have:
        raise SystemExit(f"[{label}] the kept database holds {have:,} commitments, not {shape.rows:,}")
    print(f"[{label}] building {shape.rows:,} commitments across {shape.deals:,} deals ...", flush=True)
    secs = build(store, shape, progress=lambda line: print(f"[{label}] {line}", flush=True))
    print(f"[{label}] built in {secs:.1f} s ({shape.rows / secs:,.0f} commitments/s)", flush=True)


@contextmanager
def sqlite_database(keep: str | None = None) -> Iterator[str]:
    """A database file in a temporary folder; or the file ``keep`` (kept, and reused when loaded)."""
    if keep:
        yield f"sqlite:///{Path(keep).resolve()}"
        return
    with tempfile.TemporaryDirectory(prefix="ft-bench-") as tmp:
        yield f"sqlite:///{Path(tmp) / 'bench.db'}"


def postgres_server(explicit: str | None) -> str:
    """``explicit``, else ``FOLLOWTHROUGH_TEST_POSTGRES_URL``, else the server ``scripts/pg-test-server.sh``
    starts; ``SystemExit`` when there is none."""
    url = explicit or os.environ.get("FOLLOWTHROUGH_TEST_POSTGRES_URL")
    if url:
        return url
    out = subprocess.run(
        ["bash", str(REPO / "scripts" / "pg-test-server.sh")], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise SystemExit(
            f"cannot start PostgreSQL: {out.stderr.strip()} (pass --postgres URL or --only sqlite)"
        )
    return out.stdout.strip().splitlines()[-1]


@contextmanager
def postgres_database(server: str, keep: str | None = None) -> Iterator[str]:
    """A fresh database on ``server``, dropped afterwards; or the database ``keep``, created once and kept."""
    import psycopg

    url = make_url(server)
    name = keep or f"ft_bench_{uuid.uuid4().hex[:8]}"
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
    finally:
        if not keep:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
