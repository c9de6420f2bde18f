"""``followthrough run`` end to end on generated mail, as a user runs it.

    python benchmarks/end_to_end.py [--sizes 1000,10000,100000] [--min-rate 500] [--max-rerun 0.05]

For each size it writes a workspace: an mbox of ``N`` messages in threads of
realistic size (1–8 messages; customers and our side alternate, replies quote
what they answer, signatures, promises, requests, deliveries and answers in
the thread) and a CRM export whose accounts are the customers' domains. Then,
each in a fresh process pinned to one core (``taskset`` where present) on a
fresh SQLite database, it measures:

- ``run``: the real CLI (``followthrough run DIR``: read, extract offline,
  record, link, fulfilment, answers, merge, statistics, report) — messages/s,
  CPU seconds (user + system of the child) and peak RSS;
- the re-run: the same command again on the unchanged workspace, as a ratio of
  the first run's wall time (the median of three re-runs, which do the same work;
  the first and the slowest are printed beside it);
- the naive-regex ceiling: reading the same mbox with Python's :mod:`mailbox`
  and one regular expression per line (the eval README's quality floor) — no
  store, no threads — the fastest a user could possibly get from a script.

Every figure is the child's own wall clock and ``getrusage`` of that child
(``RUSAGE_CHILDREN`` measured around it), never a sum of separately timed
loops. Exit code 1 when a size's rate is under ``--min-rate`` (messages/s
per core) or its re-run ratio over ``--max-rerun``.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import TextIO

REPO = Path(__file__).resolve().parent.parent

_OURS = [("Marco Rossi", "marco"), ("Priya Shah", "priya"), ("Chris Wong", "chris"), ("Lena Park", "lena")]
_OUR_FIRST = ["Marco", "Priya", "Chris", "Lena", "Ada", "Ben", "Cleo", "Dev", "Eva", "Finn", "Gia", "Hugo"]
_OUR_LAST = ["Rossi", "Shah", "Wong", "Park", "Kim", "Moreau", "Ibe", "Lund", "Roy", "Sato"]
MESSAGES_PER_REP = 400
"""Our people grow with the mailbox: one for each 400 messages (a quarter of a rep's customer mail),
at least four. A fixed four for 100,000 messages would be 25,000 each, no company's shape."""


def _our_people(n: int) -> list[tuple[str, str]]:
    """``(name, local part)`` of the people on our side for a mailbox of ``n`` messages."""
    count = max(len(_OURS), n // MESSAGES_PER_REP)
    people = list(_OURS)
    for last in _OUR_LAST:
        for first in _OUR_FIRST:
            if len(people) >= count:
                return people
            local = f"{first.lower()}.{last.lower()}"
            if all(local != p[1] for p in people):
                people.append((f"{first} {last}", local))
    return people


_FIRST = ["Dana", "Raj", "Ruth", "Omar", "Ines", "Tom", "Aiko", "Sven", "Nora", "Luis", "Mia", "Femi"]
_LAST = ["Lee", "Patel", "Alvarez", "Haddad", "Costa", "Berg", "Tanaka", "Okafor", "Silva", "Novak"]
_TOPICS = [
    "SSO rollout",
    "renewal terms",
    "pilot scope",
    "security questionnaire",
    "data export",
    "pricing for the 3-year term",
    "API rate limits",
    "onboarding plan",
    "SOC 2 report",
    "sandbox access",
]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "next week", "end of month", "tomorrow"]
_OPEN = [
    "Thanks for the call today.",
    "Following up on our conversation.",
    "Good to see the team last week.",
    "Quick note before the weekend.",
    "Circling back on this.",
]
_PROMISE = [
    "I'll send the revised {t} by {d}.",
    "We will share the {t} document with your team by {d}.",
    "Let me check with engineering on the {t} and get back to you by {d}.",
    "I will set up a follow-up on the {t} for {d}.",
]
_REQUEST = [
    "Could you send us the {t} details by {d}?",
    "Can you confirm who owns the {t} on your side?",
    "Please review the {t} draft before {d}.",
    "Would you be able to share the {t} requirements?",
]
_DELIVER = [
    "As promised, attached is the {t}.",
    "I've sent over the {t} this morning.",
    "Here is the {t} we discussed.",
]
_ANSWER = [
    "Sure, the {t} owner on our side is me.",
    "Yes, we can do that. The {t} details are below.",
    "Happy to: the {t} is attached.",
]
_FILLER = [
    "The team is aligned on the approach.",
    "We had a good discussion internally about the timeline.",
    "Nothing blocking from our side at the moment.",
    "The current numbers look fine for the first phase.",
    "Our procurement process usually takes two weeks.",
]


@dataclass(frozen=True)
class Workspace:
    root: Path
    messages: int
    mbox: Path


def generate(root: Path, n: int, seed: int = 13) -> Workspace:
    """Write ``n`` messages (mbox) and a CRM export under ``root``."""
    rng = random.Random(seed)
    (root / "email").mkdir(parents=True, exist_ok=True)
    (root / "crm").mkdir(parents=True, exist_ok=True)
    accounts = max(5, n // 40)
    ours = _our_people(n)
    domains = [f"customer{i}.com" for i in range(accounts)]
    with (root / "crm" / "deals.csv").open("w") as f:
        f.write(
            "deal_id,deal_name,account_name,account_domain,stage,amount,close_date,owner_email,owner_name,tier\n"
        )
        for i, dom in enumerate(domains):
            name, local = ours[i % len(ours)]
            f.write(
                f"D-{i + 1},Customer {i} - Expansion,Customer {i},{dom},Proposal,"
                f"{rng.randint(10, 500) * 1000},2027-03-31,{local}@northwind.io,{name},"
                f"{('Enterprise', 'Mid-Market', 'SMB')[i % 3]}\n"
            )
    mbox = root / "email" / "mail.mbox"
    start = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
    written = 0
    thread_no = 0
    with mbox.open("w", encoding="utf-8") as f:
        while written < n:
            size = min(n - written, rng.choice((1, 1, 2, 2, 3, 3, 4, 5, 6, 8)))
            at = start + timedelta(minutes=7 * thread_no)
            written += _thread(f, rng, thread_no, size, domains, ours, at)
            thread_no += 1
    return Workspace(root, n, mbox)


def _thread(
    f: TextIO,
    rng: random.Random,
    no: int,
    size: int,
    domains: list[str],
    ours: list[tuple[str, str]],
    at: datetime,
) -> int:
    dom_no = rng.randrange(len(domains))
    dom = domains[dom_no]
    them = (f"{rng.choice(_FIRST)} {rng.choice(_LAST)}", dom)
    them_addr = f"{them[0].split()[0].lower()}@{dom}"
    us = ours[dom_no % len(ours)]  # an account's mail is its owner's
    us_addr = f"{us[1]}@northwind.io"
    topic = rng.choice(_TOPICS)
    subject = f"{topic.capitalize()} for {dom.split('.')[0].capitalize()}"
    ids: list[str] = []
    previous_body = ""
    for i in range(size):
        from_us = i % 2 == (no % 2)
        sender, sender_addr, to, to_addr = (us[0], us_addr, them[0], them_addr)
        if not from_us:
            sender, sender_addr, to, to_addr = them[0], them_addr, us[0], us_addr
        lines = [f"Hi {to.split()[0]},", "", rng.choice(_OPEN)]
        for _ in range(rng.randint(1, 3)):
            lines.append(rng.choice(_FILLER))
        t, d = rng.choice(_TOPICS), rng.choice(_DAYS)
        if i > 0 and rng.random() < 0.5:
            lines.append(rng.choice(_ANSWER if not from_us else _DELIVER).format(t=topic, d=d))
        if rng.random() < 0.6:
            lines.append(rng.choice(_PROMISE if from_us else _REQUEST).format(t=t, d=d))
        if rng.random() < 0.4:
            lines.append(rng.choice(_REQUEST).format(t=rng.choice(_TOPICS), d=rng.choice(_DAYS)))
        lines += ["", "Best,", sender.split()[0], "", "-- ", sender, f"{sender_addr.split('@')[1]}"]
        body = "\n".join(lines)
        when = at + timedelta(hours=5 * i)
        msg_id = f"<t{no}.m{i}@{sender_addr.split('@')[1]}>"
        quoted = ""
        if previous_body:
            quoted = "\n\nOn " + format_datetime(when - timedelta(hours=5)) + f", {to} wrote:\n"
            quoted += "\n".join("> " + line for line in previous_body.splitlines())
        f.write(f"From {sender_addr} {when.strftime('%a %b %d %H:%M:%S %Y')}\n")
        f.write(f"From: {sender} <{sender_addr}>\nTo: {to} <{to_addr}>\n")
        f.write(f"Subject: {'Re: ' if i else ''}{subject}\nDate: {format_datetime(when)}\n")
        f.write(f"Message-ID: {msg_id}\n")
        if ids:
            f.write(f"In-Reply-To: {ids[-1]}\nReferences: {' '.join(ids)}\n")
        f.write("MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n")
        for line in (body + quoted).splitlines():
            f.write((">" + line if line.startswith("From ") else line) + "\n")
        f.write("\n")
        ids.append(msg_id)
        previous_body = body
    return size


@dataclass(frozen=True)
class Measure:
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    rc: int


def _pinned(cmd: list[str]) -> list[str]:
    taskset = shutil.which("taskset")
    return [taskset, "-c", str(os.sched_getaffinity(0).pop()), *cmd] if taskset else cmd


def measure(cmd: list[str], env: dict[str, str]) -> Measure:
    """Run ``cmd`` pinned to one core; its wall time, CPU time and peak RSS (its own rusage, ``wait4``)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        _pinned(cmd), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 3):
        sys.stderr.write(err[-2000:])
    return Measure(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, proc.returncode)


_NAIVE_SCRIPT = r"""
import mailbox, re, sys
naive = re.compile(r"\b(I'll|I will|we will|let me|please|could you)\b|\?", re.IGNORECASE)
hits = 0
for msg in mailbox.mbox(sys.argv[1]):
    payload = msg.get_payload(decode=True) or b""
    for line in payload.decode("utf-8", "replace").splitlines():
        if not line.startswith(">") and naive.search(line):
            hits += 1
print(hits)
"""


RERUNS = 3
"""Re-runs measured per size (the median is the figure)."""


def bench(n: int, keep: Path | None) -> dict[str, float]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix=f"ft-e2e-{n}-", dir=keep))
    try:
        ws = generate(root / "ws", n)
        env = dict(os.environ)
        env["FOLLOWTHROUGH_DATABASE_URL"] = f"sqlite:///{root / 'ft.db'}"
        env.pop("FOLLOWTHROUGH_LLM_BASE_URL", None)
        env.pop("OPENAI_API_KEY", None)
        cli = [sys.executable, "-m", "followthrough", "--as-of", "2026-12-01", "run", str(ws.root), "--json"]
        first = measure(cli, env)
        if first.rc not in (0, 3):  # no figures from a run that did not run
            raise SystemExit(f"followthrough run exited {first.rc} (stderr above); nothing measured")
        # Re-runs do the same work each time (nothing is written but the run's own record): the
        # median of RERUNS is the figure, so one moment of a shared machine's noise on a one-second
        # step does not decide it; the first and the slowest are printed beside it.
        agains = [measure(cli, env) for _ in range(RERUNS)]
        again = sorted(agains, key=lambda m: m.wall_s)[len(agains) // 2]
        naive = measure([sys.executable, "-c", _NAIVE_SCRIPT, str(ws.mbox)], env)
        return {
            "messages": n,
            "run_s": first.wall_s,
            "run_cpu_s": first.cpu_s,
            "msgs_per_s": n / first.wall_s,
            "msgs_per_cpu_s": n / first.cpu_s,
            "peak_rss_mb": first.peak_rss_mb,
            "rerun_s": again.wall_s,
            "rerun_first_s": agains[0].wall_s,
            "rerun_max_s": max(m.wall_s for m in agains),
            "rerun_ratio": again.wall_s / first.wall_s,
            "rerun_cpu_ratio": again.cpu_s / first.cpu_s,
            "naive_msgs_per_s": n / naive.wall_s,
            "rc": float(first.rc or next((m.rc for m in agains if m.rc), 0)),
        }
    finally:
        if keep is None:
            shutil.rmtree(root, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--sizes", default="1000,10000,100000", help="comma-separated message counts")
    ap.add_argument("--quick", action="store_true", help="1,000 messages only (a smoke run)")
    ap.add_argument("--min-rate", type=float, default=500.0, help="messages/s (one core) a size must reach")
    ap.add_argument("--max-rerun", type=float, default=0.05, help="largest re-run/first-run time ratio")
    ap.add_argument(
        "--keep", type=Path, default=None, help="keep each workspace and database under this folder"
    )
    args = ap.parse_args()
    sizes = [1000] if args.quick else [int(s) for s in args.sizes.split(",") if s]
    print(
        f"{'messages':>9} {'run s':>8} {'msg/s':>8} {'CPU s':>8} {'msg/CPU s':>10} {'peak MB':>8} "
        f"{'re-run s':>9} {'ratio':>6} {'CPU ratio':>9} {'naive msg/s':>12}  re-runs: first, slowest"
    )
    missed: list[str] = []
    for n in sizes:
        r = bench(n, args.keep)
        print(
            f"{n:>9} {r['run_s']:>8.1f} {r['msgs_per_s']:>8.0f} {r['run_cpu_s']:>8.1f} "
            f"{r['msgs_per_cpu_s']:>10.0f} {r['peak_rss_mb']:>8.0f} {r['rerun_s']:>9.2f} "
            f"{r['rerun_ratio']:>6.3f} {r['rerun_cpu_ratio']:>9.3f} {r['naive_msgs_per_s']:>12.0f}"
            f"  {r['rerun_first_s']:.2f}, {r['rerun_max_s']:.2f}",
            flush=True,
        )
        if r["rc"]:
            missed.append(f"{n}: run exited {int(r['rc'])}")
        if r["msgs_per_s"] < args.min_rate:
            missed.append(f"{n}: {r['msgs_per_s']:.0f} msg/s < {args.min_rate:.0f}")
        if r["rerun_ratio"] > args.max_rerun:
            missed.append(f"{n}: re-run ratio {r['rerun_ratio']:.3f} > {args.max_rerun}")
    print("targets met" if not missed else "missed: " + "; ".join(missed))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
