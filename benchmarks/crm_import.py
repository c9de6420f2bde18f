"""Importing a CRM deals export: rows per second and peak memory, 10k to 1M rows.

    python benchmarks/crm_import.py [--rows 10000,100000,1000000] [--unique-accounts] [--messages 3000]
                                    [--max-rss-mb 500] [--min-rate 0] [--max-run-s 60] [--keep DIR]

For each size, writes a deals export (one row per deal: 20 deals per account,
or an account of its own on every row with ``--unique-accounts``; 200 owners,
one buyer contact per row; about 180 bytes a row), then measures,
each in a process of its own:

- ``csv.reader``   the baseline: the same file read by the standard library
                   alone (no mapping, no values parsed, nothing stored);
- ``import``       ``followthrough ingest FILE`` into a fresh SQLite database,
                   as a user runs it;
- ``re-import``    the same command again: the export and the CRM tables are
                   unchanged, so its digest skips it (README, "the re-run");
                   tests/test_issue13_streaming.py covers a forced re-read;
- ``run+mail``     ``followthrough run DIR`` on a fresh database, DIR holding
                   ``--messages`` generated messages with their own small CRM
                   (benchmarks/end_to_end.py) and this export beside it: the
                   whole batch (import, extract, link, post-passes, report).

Peak RSS is the process's own (``wait4``); "tree MB" is the most the process
and its children (a large export is read in a process of its own) held at once,
sampled from ``/proc`` every 50 ms.

Prints rows/s, CPU seconds and peak RSS per step, the import's time as a
multiple of the baseline, and the re-import's as a fraction of the import.
Exits 1 when an import's peak RSS passes ``--max-rss-mb`` (default 500), its
rate falls under ``--min-rate`` rows/s (default: no rate target), or a
``run+mail`` takes over ``--max-run-s`` seconds (default 60) or its tree over
``--max-tree-mb`` (default 1024).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STAGES = ("Discovery", "Demo", "Proposal", "Negotiation", "Closed Won", "Closed Lost")
HEADER = (
    "deal_id,deal_name,account_name,account_domain,stage,amount,close_date,"
    "owner_email,owner_name,tier,contact_email,contact_name,contact_role"
).split(",")
BASELINE = r"""
import csv, sys
with open(sys.argv[1], newline="", encoding="utf-8") as f:
    rows = sum(1 for _ in csv.reader(f)) - 1
print(rows)
"""


def write_export(path: Path, rows: int, seed: int = 1, *, unique_accounts: bool = False) -> Path:
    """A deals export of ``rows`` rows (deterministic for a seed): 20 deals per account, or with
    ``unique_accounts`` an account of its own on every row."""
    rng = random.Random(seed)
    accounts = max(1, rows // 20)
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(HEADER)
        for i in range(rows):
            a, o = (i if unique_accounts else rng.randrange(accounts)), rng.randrange(200)
            out.writerow(
                [
                    f"D-{i:07d}",
                    f"Account {a} - Deal {i}",
                    f"Account {a}",
                    f"account{a}.com",
                    rng.choice(STAGES),
                    str(rng.randrange(1_000, 500_000)),
                    f"2026-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
                    f"owner{o}@northwind.io",
                    f"Owner {o}",
                    rng.choice(("Enterprise", "Mid-Market", "SMB")),
                    f"buyer{i}@account{a}.com",
                    f"Buyer {i}",
                    "Buyer",
                ]
            )
    return path


@dataclass
class Step:
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    tree_mb: float = 0.0


def _tree_rss_kb(pid: int) -> int:
    """The resident memory of ``pid`` and all its descendants now, in KiB (0 once it is gone)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            total += next((int(x.split()[1]) for x in status.splitlines() if x.startswith("VmRSS:")), 0)
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total


def measure(cmd: list[str]) -> Step:
    """Run ``cmd`` to its end: wall and CPU seconds, the peak RSS of that process alone and the
    most its process tree held at once."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            peak[0] = max(peak[0], _tree_rss_kb(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {err.strip()[-500:]}")
    return Step(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, peak[0] / 1024)


def bench(rows: int, folder: Path, messages: int, unique_accounts: bool = False) -> dict[str, Step]:
    export = write_export(folder / f"deals-{rows}.csv", rows, unique_accounts=unique_accounts)
    db = folder / f"crm-{rows}.db"
    db.unlink(missing_ok=True)
    ingest = [sys.executable, "-m", "followthrough", "-q", "--db", f"sqlite:///{db}", "ingest", str(export)]
    steps = {
        "csv.reader": measure([sys.executable, "-c", BASELINE, str(export)]),
        "import": measure(ingest),
        "re-import": measure(ingest),
    }
    if messages:
        from end_to_end import generate  # the end-to-end benchmark's mailbox and its CRM

        workspace = folder / f"workspace-{rows}"
        shutil.rmtree(workspace, ignore_errors=True)
        generate(workspace, messages)
        os.link(export, workspace / "crm" / "export.csv")
        db = folder / f"run-{rows}.db"
        db.unlink(missing_ok=True)
        run = ["run", str(workspace), "--as-of", "2026-12-01", "--json"]
        steps["run+mail"] = measure(
            [sys.executable, "-m", "followthrough", "-q", "--db", f"sqlite:///{db}", *run]
        )
    return steps


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--rows", default="10000,100000,1000000", help="export sizes, comma separated")
    ap.add_argument("--max-rss-mb", type=float, default=500.0, help="peak RSS target per import")
    ap.add_argument("--min-rate", type=float, default=0.0, help="rows/s target per import (default none)")
    ap.add_argument("--keep", type=Path, help="write the exports and databases here and keep them")
    ap.add_argument(
        "--messages", type=int, default=3000, help="messages beside the export in run+mail (0: no run)"
    )
    ap.add_argument("--unique-accounts", action="store_true", help="an account of its own on every row")
    ap.add_argument("--max-run-s", type=float, default=60.0, help="wall-time target of run+mail")
    ap.add_argument(
        "--max-tree-mb", type=float, default=1024.0, help="process-tree memory target of run+mail"
    )
    args = ap.parse_args(argv)
    sizes = [int(n) for n in args.rows.split(",") if n.strip()]
    with tempfile.TemporaryDirectory(prefix="crm-import-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        results = {rows: bench(rows, folder, args.messages, args.unique_accounts) for rows in sizes}
    print(
        f"{'rows':>9} {'step':<11} {'wall s':>8} {'cpu s':>8} {'rows/s':>9} {'peak MB':>8} "
        f"{'tree MB':>8}  ratio"
    )
    missed: list[str] = []
    for rows, steps in results.items():
        base, first = steps["csv.reader"], steps["import"]
        for name, step in steps.items():
            rate = rows / step.wall_s if step.wall_s else float("inf")
            if name == "import":
                ratio = f"{step.wall_s / base.wall_s:.0f}x csv.reader"
            elif name == "re-import":
                ratio = f"{step.wall_s / first.wall_s:.2f} of the import"
            else:
                ratio = ""
            print(
                f"{rows:>9,} {name:<11} {step.wall_s:8.1f} {step.cpu_s:8.1f} {rate:9,.0f} "
                f"{step.peak_rss_mb:8.0f} {step.tree_mb:8.0f}  {ratio}"
            )
        if first.peak_rss_mb > args.max_rss_mb:
            missed.append(f"{rows:,} rows: peak RSS {first.peak_rss_mb:.0f} MB > {args.max_rss_mb:.0f} MB")
        run = steps.get("run+mail")
        if run is not None and run.wall_s > args.max_run_s:
            missed.append(f"{rows:,} rows: run+mail took {run.wall_s:.0f} s > {args.max_run_s:.0f} s")
        if run is not None and run.tree_mb > args.max_tree_mb:
            missed.append(f"{rows:,} rows: run+mail held {run.tree_mb:.0f} MB > {args.max_tree_mb:.0f} MB")
        if rows / first.wall_s < args.min_rate:
            missed.append(f"{rows:,} rows: {rows / first.wall_s:,.0f} rows/s < {args.min_rate:,.0f}")
    if len(results) > 1:
        (n0, s0), (n1, s1) = list(results.items())[0], list(results.items())[-1]
        grow = s1["import"].cpu_s / s0["import"].cpu_s
        print(f"\nimport CPU time grows {grow:.1f}x for {n1 / n0:.0f}x the rows")
    for line in missed:
        print("MISSED:", line)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
