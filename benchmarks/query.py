"""Query latency of the store at scale, on SQLite and PostgreSQL.

    python benchmarks/query.py [--rows 1000000] [--deals 20000] [--repeat 40]
                               [--only sqlite|postgres] [--postgres URL] [--target-ms 20]
                               [--list-repeat 10] [--list-target-ms 500]

Loads ``--rows`` commitments (with one evidence quote each, one document per
ten commitments, 85% linked to one of ``--deals`` deals, 500 owners, a mix of
statuses and due dates) into a fresh database of each kind with bulk inserts
(executemany on SQLite, COPY on PostgreSQL), then times the queries the API
serves through :class:`store.Store`, the same code path as the HTTP routes
(filters, eager loading of evidence and deal, rows → views):

- open for an owner          GET /v1/commitments?owner=...
- overdue                    GET /v1/commitments?overdue=true
- unlinked                   GET /v1/commitments?unlinked=true
- a deal's commitments       GET /v1/deals/{id}/commitments (store.deal_commitments)
- deep cursor page           GET /v1/commitments?status=all&cursor=... (page of 50 about halfway in)
- one deal summary           one deal's counts and health (store.get_deal)
- deals list                 GET /v1/deals: every deal with its counts (store.list_deals)

Each query runs ``--repeat`` times with varying parameters after a warm-up
(the deals list ``--list-repeat`` times); p50 and p95 are printed per query
and database, with the target check: ``--target-ms`` (default 20), and for
the deals list, which reads every deal and counts every linked commitment,
``--list-target-ms`` (default 500). Exits 1 when a p95 misses its target.

PostgreSQL: ``--postgres URL`` (a server URL; a fresh database is created on it
and dropped afterwards), else ``FOLLOWTHROUGH_TEST_POSTGRES_URL``, else
``scripts/pg-test-server.sh`` is started.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from store import CommitmentFilter, Store  # noqa: E402
from store.queries import build_select, encode_cursor  # noqa: E402

AS_OF = date(2026, 3, 16)
OWNERS = 500
DOCS_PER = 10
BATCH = 20_000
STAGES = ["Discovery", "Demo", "Technical validation", "Proposal", "Negotiation", "Closed Won"]
STATUSES = ["open"] * 60 + ["done"] * 25 + ["dismissed"] * 10 + ["snoozed"] * 5
NOW = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)
DEALS_LIST = "deals list"


# --------------------------------------------------------------------- data


@dataclass
class Shape:
    rows: int
    deals: int

    @property
    def accounts(self) -> int:
        return max(1, self.deals // 4)

    @property
    def documents(self) -> int:
        return max(1, self.rows // DOCS_PER)


def _ts(dialect: str, value: datetime) -> Any:
    return value.replace(tzinfo=None).isoformat(sep=" ") if dialect == "sqlite" else value


def accounts(shape: Shape, dialect: str) -> Iterator[tuple[Any, ...]]:
    now = _ts(dialect, NOW)
    for i in range(1, shape.accounts + 1):
        yield (
            i,
            f"Account {i}",
            f"account {i}",
            f"A-{i}",
            f'["acct{i}.example.com"]',
            str(1 + i % 3),
            now,
            now,
        )


def deals(shape: Shape, dialect: str) -> Iterator[tuple[Any, ...]]:
    now = _ts(dialect, NOW)
    for i in range(1, shape.deals + 1):
        close = date(2026, 1, 1) + timedelta(days=i % 365)
        yield (
            i,
            f"D-{i:06d}",
            f"Deal {i}",
            1 + (i - 1) % shape.accounts,
            STAGES[i % len(STAGES)],
            float(5_000 + (i * 7919) % 400_000),
            close if dialect != "sqlite" else close.isoformat(),
            f"rep{i % OWNERS}@northwind.io",
            now,
            now,
        )


def documents(shape: Shape, dialect: str) -> Iterator[tuple[Any, ...]]:
    for i in range(1, shape.documents + 1):
        at = NOW - timedelta(minutes=i * 7)
        body = f"Message {i}: I'll send the revised pricing by Friday. Can you confirm the SSO setup?"
        digest = hashlib.sha256(body.encode()).hexdigest()
        ts = _ts(dialect, at)
        yield (
            i,
            ("email", "slack", "meeting")[i % 3],
            f"<msg-{i}@bench>",
            f"thread-{i // 4}",
            ts,
            0,
            f"Subject {i}",
            body,
            digest,
            "bench",
            None,
            "[]",
            "[]",
            "{}",
            "",
            "",
            ts,
            ts,
        )


def deal_plan(shape: Shape) -> Iterator[int | None]:
    """Each commitment's deal (85% linked): for the link rows and their mirror ``commitments.deal_id``."""
    rnd = random.Random(7)
    for _ in range(shape.rows):
        yield 1 + rnd.randrange(shape.deals) if rnd.random() < 0.85 else None


def commitments(shape: Shape, dialect: str) -> Iterator[tuple[Any, ...]]:
    rnd = random.Random(42)
    start = date(2025, 1, 1)
    for i, deal in enumerate(deal_plan(shape), start=1):
        doc = 1 + (i - 1) // DOCS_PER
        due = start + timedelta(days=rnd.randrange(912)) if rnd.random() < 0.8 else None
        status = STATUSES[rnd.randrange(len(STATUSES))]
        snoozed = (AS_OF + timedelta(days=rnd.randrange(-20, 40))) if status == "snoozed" else None
        kind = "commitment" if rnd.random() < 0.8 else "request"
        owner = rnd.randrange(OWNERS)
        created = _ts(dialect, NOW - timedelta(minutes=i))
        if dialect == "sqlite":
            due = due.isoformat() if due else None  # type: ignore[assignment]
            snoozed = snoozed.isoformat() if snoozed else None  # type: ignore[assignment]
        yield (
            i,
            doc,
            None,
            "bench:1",
            kind,
            f"Rep {owner}",
            f"rep{owner}@northwind.io",
            "Dana",
            "dana@example.com",
            f"Send the revised pricing #{i}",
            due,
            "by Friday" if due else None,
            0.8,
            status,
            snoozed,
            "[]",
            f"{doc}:{kind}:{i}",
            hashlib.sha256(str(i).encode()).hexdigest(),
            ("email", "slack", "meeting")[doc % 3],
            f"thread-{doc // 4}",
            created,
            created,
            deal,
        )


def evidence(shape: Shape, dialect: str) -> Iterator[tuple[Any, ...]]:
    for i in range(1, shape.rows + 1):
        doc = 1 + (i - 1) // DOCS_PER
        yield (i, i, doc, "I'll send the revised pricing by Friday.", 12, 53, "exact")


def links(shape: Shape, dialect: str) -> Iterator[tuple[Any, ...]]:
    now = _ts(dialect, NOW)
    for i, deal in enumerate(deal_plan(shape), start=1):
        if deal is not None:
            yield (i, deal, "contact", 0.8, now)


TABLES: list[tuple[str, list[str], Callable[[Shape, str], Iterator[tuple[Any, ...]]]]] = [
    (
        "accounts",
        ["id", "name", "name_key", "crm_id", "domains", "tier", "created_at", "updated_at"],
        accounts,
    ),
    (
        "deals",
        [
            "id",
            "crm_id",
            "name",
            "account_id",
            "stage",
            "amount",
            "close_date",
            "owner_email",
            "created_at",
            "updated_at",
        ],
        deals,
    ),
    (
        "documents",
        [
            "id",
            "source",
            "external_id",
            "thread_id",
            "occurred_at",
            "utc_offset_min",
            "title",
            "text",
            "content_hash",
            "origin",
            "url",
            "participants",
            "segments",
            "metadata",
            "quoted_text",
            "signature",
            "created_at",
            "updated_at",
        ],
        documents,
    ),
    (
        "commitments",
        [
            "id",
            "document_id",
            "run_id",
            "cache_key",
            "type",
            "owner",
            "owner_email",
            "counterparty",
            "counterparty_email",
            "action",
            "due",
            "due_text",
            "confidence",
            "status",
            "snoozed_until",
            "flags",
            "span_key",
            "dedup_key",
            "source",
            "thread_id",
            "created_at",
            "updated_at",
            "deal_id",
        ],
        commitments,
    ),
    (
        "evidence",
        ["id", "commitment_id", "document_id", "quote", "char_start", "char_end", "alignment"],
        evidence,
    ),
    ("commitment_deal_links", ["commitment_id", "deal_id", "method", "confidence", "created_at"], links),
]


def _batches(rows: Iterator[tuple[Any, ...]], size: int = BATCH) -> Iterator[list[tuple[Any, ...]]]:
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def load(store: Store, shape: Shape) -> float:
    """Bulk-load the synthetic data set; returns the seconds it took."""
    t0 = time.perf_counter()
    dialect = store.engine.dialect.name
    raw = store.engine.raw_connection()
    try:
        cur = raw.cursor()
        if dialect == "sqlite":
            cur.execute("PRAGMA synchronous=OFF")
            cur.execute("PRAGMA cache_size=-262144")  # 256 MiB: index inserts stay in memory
            for table, cols, rows in TABLES:
                sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
                for batch in _batches(rows(shape, dialect)):
                    cur.executemany(sql, batch)
            raw.commit()
        else:
            for table, cols, rows in TABLES:
                with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                    for row in rows(shape, dialect):
                        copy.write_row(row)
            for table in ("accounts", "deals", "documents", "commitments", "evidence"):
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                )
            raw.commit()
        cur.close()
    finally:
        raw.close()
    # the statistics `run` leaves behind (store.refresh_statistics), not a full ANALYZE by hand: the
    # listings are measured on a database as the product keeps it
    store.refresh_statistics()
    return time.perf_counter() - t0


# ------------------------------------------------------------------ timing


def _deep_cursor(store: Store, rows: int) -> str:
    f = CommitmentFilter(status=None, as_of=AS_OF, limit=1)
    with store.engine.connect() as conn:
        stmt = build_select(f).with_only_columns(text("commitments.due"), text("commitments.id"))
        due, cid = conn.execute(stmt.offset(rows // 2).limit(1)).one()
    if isinstance(due, str):
        due = date.fromisoformat(due)
    return encode_cursor(due, cid)


def queries(store: Store, shape: Shape) -> dict[str, Callable[[random.Random], object]]:
    cursor = _deep_cursor(store, shape.rows)

    def page(**kw: Any) -> Callable[[random.Random], object]:
        def run(rnd: random.Random) -> object:
            args = {k: (v(rnd) if callable(v) else v) for k, v in kw.items()}
            return store.list_commitments(CommitmentFilter(as_of=AS_OF, limit=50, **args))

        return run

    return {
        "open for an owner": page(owner=lambda r: f"rep{r.randrange(OWNERS)}@northwind.io"),
        "overdue": page(overdue=True, type=lambda r: r.choice([None, "commitment"])),
        "unlinked": page(unlinked=True, type=lambda r: r.choice([None, "commitment"])),
        "a deal's commitments": lambda r: store.deal_commitments(
            f"D-{1 + r.randrange(shape.deals):06d}", AS_OF
        ),
        "deep cursor page of 50": page(status=None, cursor=cursor),
        "one deal summary": lambda r: store.get_deal(f"D-{1 + r.randrange(shape.deals):06d}"),
        DEALS_LIST: lambda r: store.list_deals(AS_OF),
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def measure(fn: Callable[[random.Random], object], repeat: int) -> tuple[float, float]:
    rnd = random.Random(1)
    for _ in range(3):
        fn(rnd)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(rnd)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), percentile(times, 0.95)


# --------------------------------------------------------------- databases


@contextmanager
def sqlite_database(keep: str | None = None) -> Iterator[str]:
    """A database file in a temporary folder; or the file ``keep`` (kept, and reused when loaded)."""
    if keep:
        yield f"sqlite:///{Path(keep).resolve()}"
        return
    with tempfile.TemporaryDirectory(prefix="ft-bench-") as tmp:
        yield f"sqlite:///{Path(tmp) / 'bench.db'}"


def _postgres_server(explicit: str | None) -> str:
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


BASELINE = "baseline: one by id"
EXTRA = {DEALS_LIST}
"""Measured for scale, not one of the issue's targets: they do not decide the exit code."""


def bench(
    label: str, url: str, shape: Shape, repeat: int, list_repeat: int
) -> list[tuple[str, str, float, float]]:
    with Store(url) as store:
        with store.engine.connect() as conn:
            loaded = conn.execute(text("SELECT count(*) FROM commitments")).scalar_one()
        if loaded == shape.rows:
            print(f"[{label}] reusing the {loaded:,} commitments already loaded", flush=True)
        elif loaded:
            raise SystemExit(f"[{label}] the kept database holds {loaded:,} commitments, not {shape.rows:,}")
        else:
            print(
                f"[{label}] loading {shape.rows:,} commitments across {shape.deals:,} deals ...", flush=True
            )
            secs = load(store, shape)
            print(f"[{label}] loaded in {secs:.1f} s ({shape.rows / secs:,.0f} commitments/s)", flush=True)
        results = []
        with store.engine.connect() as conn:
            first_id = conn.execute(text("SELECT min(id) FROM commitments")).scalar_one()
        # The baseline, measured in the same run: one commitment fetched by its primary key.
        p50, p95 = measure(lambda _rnd: store.get_commitment(first_id), repeat)
        results.append((label, BASELINE, p50, p95))
        print(f"[{label}] {BASELINE:<24} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms", flush=True)
        for name, fn in queries(store, shape).items():
            p50, p95 = measure(fn, list_repeat if name == DEALS_LIST else repeat)
            results.append((label, name, p50, p95))
            print(f"[{label}] {name:<24} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms", flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="commitments to load (default 1,000,000)")
    ap.add_argument("--deals", type=int, default=20_000, help="deals (default 20,000)")
    ap.add_argument("--repeat", type=int, default=40, help="timed runs per query (default 40)")
    ap.add_argument("--only", choices=("sqlite", "postgres"), help="run on one database only")
    ap.add_argument("--postgres", help="PostgreSQL server URL (a fresh database is created on it)")
    ap.add_argument("--target-ms", type=float, default=20.0, help="p95 target per query (default 20 ms)")
    ap.add_argument("--list-repeat", type=int, default=10, help="timed runs of the deals list (default 10)")
    ap.add_argument(
        "--list-target-ms",
        type=float,
        default=500.0,
        help="p95 target of the deals list, every deal with its counts (default 500 ms)",
    )
    ap.add_argument(
        "--keep",
        metavar="NAME",
        help="keep the data for the next run: SQLite file NAME.db and PostgreSQL database NAME "
        "(reused when already loaded)",
    )
    args = ap.parse_args(argv)
    shape = Shape(rows=args.rows, deals=args.deals)
    results: list[tuple[str, str, float, float]] = []
    if args.only in (None, "sqlite"):
        with sqlite_database(f"{args.keep}.db" if args.keep else None) as url:
            results += bench("sqlite", url, shape, args.repeat, args.list_repeat)
    if args.only in (None, "postgres"):
        with postgres_database(_postgres_server(args.postgres), args.keep) as url:
            results += bench("postgres", url, shape, args.repeat, args.list_repeat)
    print()
    print(f"{'database':<10} {'query':<24} {'p50 ms':>8} {'p95 ms':>8} {'x base':>7}  {'target p95':>10}")
    base = {label: p50 for label, name, p50, _ in results if name == BASELINE}
    misses = counted = 0
    for label, name, p50, p95 in results:
        ratio = f"{p50 / base[label]:7.1f}" if base.get(label) else f"{'':7}"
        if name == BASELINE:
            print(f"{label:<10} {name:<24} {p50:8.2f} {p95:8.2f} {ratio}")
            continue
        target = args.list_target_ms if name == DEALS_LIST else args.target_ms
        ok = p95 < target
        verdict = "ok" if ok else "MISSED"
        if name in EXTRA:
            verdict += " (extra, not an issue target)"
        else:
            counted += 1
            misses += not ok
        print(f"{label:<10} {name:<24} {p50:8.2f} {p95:8.2f} {ratio}  {f'< {target:g} ms':>10}  {verdict}")
    print(
        f"\n{counted - misses} of {counted} target queries meet p95 < {args.target_ms:g} ms "
        f"({shape.rows:,} rows)."
    )
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
