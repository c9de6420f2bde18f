"""The HTTP API's common listings at scale: requests/s and p50/p95 latency at concurrency 1, 8 and 32.

    python benchmarks/api.py [--rows 1000000] [--deals 20000] [--quick] [--workers 2]
                             [--only sqlite|postgres] [--postgres URL] [--keep NAME]
                             [--requests 200] [--target-ms 20] [--target-rps 200]

Builds a database of ``--rows`` commitments (:mod:`benchmarks.dataset`: bulk Core
inserts through the real models, ending with ``store.refresh_statistics()``, the
database as ``followthrough run`` leaves it), starts the real server
(``followthrough serve --workers N`` in a subprocess) and times, over HTTP with
keep-alive clients in threads:

- health (the baseline: no token, one ``SELECT 1``: the HTTP floor)
- default list     GET /v1/commitments
- overdue          GET /v1/commitments?overdue=true
- unlinked         GET /v1/commitments?unlinked=true
- by owner         GET /v1/commitments?owner=rep{n}@northwind.io
- by deal          GET /v1/commitments?deal=D-{n}
- deals list       GET /v1/deals

each at concurrency 1, 8 and 32 (``--requests`` requests per level, parameters
varying), on SQLite and on PostgreSQL (``--postgres URL``, else
``FOLLOWTHROUGH_TEST_POSTGRES_URL``, else ``scripts/pg-test-server.sh``; a fresh
database is created and dropped). Prints one table with the ratio of each
listing's p50 to the health baseline's, and exits 1 when a listing's p95 at
concurrency 1 is not under ``--target-ms`` (20) or its rate at concurrency 8 is
under ``--target-rps`` (200). ``--quick``: 20,000 rows, 60 requests per level
(``benchmarks/run_all.py``). ``--keep NAME`` keeps the databases (``NAME.db`` and
PostgreSQL database ``NAME``) and reuses them when already loaded.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.dataset import (  # noqa: E402
    AS_OF,
    OWNERS,
    Shape,
    deal_crm_id,
    ensure_built,
    owner_email,
    postgres_database,
    postgres_server,
    sqlite_database,
)
from store import ApiTokens, Store  # noqa: E402

BASELINE = "health (baseline)"
LEVELS = (1, 8, 32)


def listings(shape: Shape) -> dict[str, Callable[[random.Random], str]]:
    """Each listing's path, drawn per request (owners and deals vary)."""
    return {
        BASELINE: lambda r: "/healthz",
        "default list": lambda r: "/v1/commitments",
        "overdue": lambda r: "/v1/commitments?overdue=true",
        "unlinked": lambda r: "/v1/commitments?unlinked=true",
        "by owner": lambda r: f"/v1/commitments?owner={owner_email(r.randrange(OWNERS))}",
        "by deal": lambda r: f"/v1/commitments?deal={deal_crm_id(1 + r.randrange(shape.deals))}",
        "deals list": lambda r: "/v1/deals",
    }


@dataclass
class Result:
    database: str
    listing: str
    concurrency: int
    rps: float
    p50: float
    p95: float


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(url: str, workers: int) -> Iterator[str]:
    """``followthrough serve`` on ``url`` in a subprocess; yields its base URL once it answers."""
    port = _free_port()
    cmd = [
        sys.executable,
        "-m",
        "followthrough",
        "--db",
        url,
        "--as-of",
        AS_OF.isoformat(),
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--extractor",
        "offline",
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"the server exited ({proc.returncode}): {proc.stderr.read()[-2000:]}")
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the server did not answer within 120 s")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def measure(
    base: str, token: str, path: Callable[[random.Random], str], concurrency: int, requests: int
) -> tuple[float, float, float]:
    """(requests/s, p50 ms, p95 ms) of ``requests`` requests from ``concurrency`` keep-alive clients."""
    local = threading.local()
    headers = {"Authorization": f"Bearer {token}"}

    def client() -> httpx.Client:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=base, headers=headers, timeout=60)
        return local.client  # type: ignore[no-any-return]

    rnd = random.Random(concurrency)
    paths = [path(rnd) for _ in range(requests + 2 * concurrency)]
    warm, timed = paths[: 2 * concurrency], paths[2 * concurrency :]

    def one(p: str) -> float:
        t0 = time.perf_counter()
        r = client().get(p)
        elapsed = (time.perf_counter() - t0) * 1000
        if r.status_code != 200:
            raise SystemExit(f"GET {p}: {r.status_code} {r.text[:300]}")
        return elapsed

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, warm))
        t0 = time.perf_counter()
        times = list(pool.map(one, timed))
        wall = time.perf_counter() - t0
    return len(timed) / wall, statistics.median(times), percentile(times, 0.95)


def bench(label: str, url: str, shape: Shape, args: argparse.Namespace) -> list[Result]:
    with Store(url) as store:
        ensure_built(store, shape, label)
        tokens = ApiTokens(store.engine)
        name = f"bench-{os.getpid()}-{time.time_ns()}"
        _, token = tokens.create(name, read_only=True)
    results: list[Result] = []
    try:
        with server(url, args.workers) as base:
            for listing, path in listings(shape).items():
                for level in args.levels:
                    n = args.requests if level == 1 else 2 * args.requests
                    rps, p50, p95 = measure(base, token, path, level, n)
                    results.append(Result(label, listing, level, rps, p50, p95))
                    print(
                        f"[{label}] {listing:<18} c={level:<3} {rps:8.1f} req/s  p50 {p50:7.2f} ms  "
                        f"p95 {p95:7.2f} ms",
                        flush=True,
                    )
    finally:
        with Store(url) as store:
            ApiTokens(store.engine).revoke(name)
    return results


def report(results: list[Result], args: argparse.Namespace, rows: int) -> int:
    """Print the table; the number of targets missed."""
    print()
    print(
        f"{'database':<9} {'listing':<18} {'conc':>4} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'x base':>7}  verdict"
    )
    base = {(r.database, r.concurrency): r.p50 for r in results if r.listing == BASELINE and r.p50 > 0}
    misses = 0
    for r in results:
        ratio = r.p50 / base[(r.database, r.concurrency)] if (r.database, r.concurrency) in base else 0.0
        verdict = ""
        if r.listing != BASELINE and r.concurrency == 1:
            ok = r.p95 < args.target_ms
            misses += not ok
            verdict = f"p95 < {args.target_ms:g} ms: " + ("ok" if ok else "MISSED")
        elif r.listing != BASELINE and r.concurrency == 8:
            ok = r.rps >= args.target_rps
            misses += not ok
            verdict = f">= {args.target_rps:g} req/s: " + ("ok" if ok else "MISSED")
        print(
            f"{r.database:<9} {r.listing:<18} {r.concurrency:>4} {r.rps:8.1f} {r.p50:8.2f} {r.p95:8.2f} "
            f"{ratio:7.1f}  {verdict}"
        )
    print(f"\n{rows:,} rows, {args.workers} worker(s): {misses} target(s) missed.")
    return misses


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="commitments (default 1,000,000)")
    ap.add_argument("--deals", type=int, default=20_000, help="deals (default 20,000)")
    ap.add_argument("--quick", action="store_true", help="20,000 rows and 60 requests per level")
    ap.add_argument("--workers", type=int, default=2, help="server worker processes (default 2)")
    ap.add_argument("--only", choices=("sqlite", "postgres"), help="run on one database only")
    ap.add_argument("--postgres", help="PostgreSQL server URL (a fresh database is created on it)")
    ap.add_argument("--keep", metavar="NAME", help="keep (and reuse) the databases: NAME.db and NAME")
    ap.add_argument(
        "--requests", type=int, default=200, help="requests per level at concurrency 1 (x2 above)"
    )
    ap.add_argument("--concurrency", default="1,8,32", help="levels, comma separated (default 1,8,32)")
    ap.add_argument("--target-ms", type=float, default=20.0, help="p95 target at concurrency 1 (20 ms)")
    ap.add_argument("--target-rps", type=float, default=200.0, help="req/s target at concurrency 8 (200)")
    args = ap.parse_args(argv)
    if args.quick:
        args.rows, args.deals, args.requests = 20_000, 1_000, 60
    args.levels = [int(n) for n in args.concurrency.split(",")]
    shape = Shape(rows=args.rows, deals=args.deals)
    results: list[Result] = []
    if args.only in (None, "sqlite"):
        with sqlite_database(f"{args.keep}.db" if args.keep else None) as url:
            results += bench("sqlite", url, shape, args)
    if args.only in (None, "postgres"):
        with postgres_database(postgres_server(args.postgres), args.keep) as url:
            results += bench("postgres", url, shape, args)
    return 1 if report(results, args, shape.rows) else 0


if __name__ == "__main__":
    sys.exit(main())
