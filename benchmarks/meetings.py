"""Long meetings, end to end: seconds per meeting-hour of ``followthrough run`` on N transcripts.

    python benchmarks/meetings.py [--meetings N] [--minutes M] [--quick] [--max-seconds S]

Writes ``N`` generated hour-long meetings (``--minutes``; half Zoom WebVTT transcripts, half
Markdown notes with an attendee list and an action-item section) to a temporary folder: four or
five speakers, ours and the customer's, talking in cues of a sentence or two (about 750 an hour);
promises and requests spread through the hour; some of them delivered ("I've just shared the
pricing sheet in the chat") or answered a few minutes later, as in a real call. It then runs
``followthrough run FOLDER --extractor offline`` on them in a subprocess, as a user does (a fresh
SQLite database), and in the same run two baselines on the same files, in this process: reading
them with the meeting connectors alone, and reading plus the offline extractor alone. It prints
each as seconds per meeting-hour and the run's ratio to the extractor baseline; the difference is
what storing, linking and the post-extraction passes (fulfilment, answers, merges) cost.

Exits 1 when ``--max-seconds`` is given and the run took longer (the issue's target: 75 one-hour
meetings in at most 120 s).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from connectors.registry import reader_for  # noqa: E402
from extractor.offline import OfflineExtractor  # noqa: E402
from followthrough.types import SourceDocument  # noqa: E402

OURS = [("Marco Rossi", "marco@northwind.io"), ("Priya Shah", "priya@northwind.io")]
CUSTOMERS = [
    ("acme.com", [("Dana Lee", "dana"), ("Chris Park", "chris"), ("Sam Ortiz", "sam")]),
    ("globex.com", [("Zoë Müller", "zoe"), ("Marcus Reed", "marcus"), ("Lena Berg", "lena")]),
    ("initech.io", [("Nina Okafor", "nina"), ("Greg Tan", "greg"), ("Omar Haddad", "omar")]),
]
THINGS = [
    "pricing sheet",
    "security questionnaire",
    "SOC 2 report",
    "data residency write-up",
    "migration plan",
    "benchmark results",
    "architecture diagram",
    "sandbox credentials",
    "SSO setup guide",
    "renewal quote",
    "API rate limit summary",
    "onboarding checklist",
    "reference customer list",
    "retention policy",
    "audit log export",
    "integration roadmap",
]
TOPICS = [
    "the ingestion path",
    "lineage",
    "the warehouse sync",
    "role mapping",
    "the audit trail",
    "usage reporting",
    "the staging cluster",
    "alerting",
    "the export job",
    "cost controls",
]
_FILLER = [
    "So on {topic}, what we usually see is that teams start small and grow from there.",
    "Right, and that lines up with what our analysts told us about {topic}.",
    "Okay. Let me just pull that up on my screen.",
    "Yeah, that makes sense to me.",
    "The way {topic} works today is that every change is versioned and you can roll back.",
    "We looked at {topic} last quarter and the numbers were fine for our volume.",
    "Can everyone see my screen now?",
    "Sure, go ahead.",
    "I think the bigger question for us is how {topic} behaves under load.",
    "That was mostly a configuration issue on our side, it's resolved now.",
    "Our team in Munich handles most of {topic}, so they will want to see it too.",
    "Got it. And that's per workspace, not per user.",
    "Mhm. Right.",
    "Sorry, you cut out for a second there.",
    "We had a similar setup at my last company and {topic} was always the hard part.",
    "Good point, I had not thought about {topic} that way.",
    "So if I understand correctly, {topic} runs nightly and the rest is streaming.",
    "Exactly, and you can change the schedule per pipeline.",
]


def _people(rng: random.Random) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Ours and theirs in one meeting: ``(name, email)``."""
    domain, names = rng.choice(CUSTOMERS)
    theirs = [(n, f"{local}@{domain}") for n, local in rng.sample(names, rng.choice((2, 3)))]
    return list(OURS), theirs


def _turns(rng: random.Random, minutes: int) -> Iterator[tuple[float, str, str]]:
    """``(second, speaker, sentence)`` of one meeting: filler with promises and requests spread through
    it, some delivered or answered a few minutes later."""
    ours, theirs = _people(rng)
    cues = minutes * 12  # a cue every five seconds
    planned: dict[int, list[tuple[str, str]]] = {}  # cue index → what someone says then
    for _ in range(minutes // 4):  # a promise every four minutes or so
        at = rng.randrange(cues)
        who, _email = rng.choice(ours)
        thing = rng.choice(THINGS)
        planned.setdefault(at, []).append((who, f"I'll send you the {thing} by Friday."))
        if rng.random() < 0.4:  # delivered two to ten minutes later
            later = at + rng.randrange(24, 120)
            planned.setdefault(later, []).append((who, f"I've just shared the {thing} in the chat."))
    for _ in range(minutes // 5):  # a request every five minutes or so
        at = rng.randrange(cues)
        asker = rng.choice(theirs)[0]
        thing, topic = rng.choice(THINGS), rng.choice(TOPICS)
        if rng.random() < 0.5:
            planned.setdefault(at, []).append((asker, f"Could you send us the {thing}?"))
        else:
            planned.setdefault(at, []).append((asker, f"What is the default retention for {topic}?"))
            if rng.random() < 0.6:
                answer = f"The default retention for {topic} is 400 days, and you can change it."
                planned.setdefault(at + 1, []).append((rng.choice(ours)[0], answer))
    everyone = [n for n, _ in ours + theirs]
    for i in range(cues):
        second = i * 5 + rng.random() * 2
        for who, said in planned.get(i, []):
            yield second, who, said
        if i not in planned:
            yield second, rng.choice(everyone), rng.choice(_FILLER).format(topic=rng.choice(TOPICS))


def _stamp(seconds: float) -> str:
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{int(h):02d}:{int(m):02d}:{s:06.3f}"


def write_meeting(folder: Path, i: int, minutes: int, rng: random.Random) -> Path:
    """One meeting ``i`` in ``folder``: a WebVTT transcript for even ``i``, Markdown notes for odd."""
    day = date(2026, 1, 5) + timedelta(days=i * 7 // 5)  # about five meetings a week
    turns = list(_turns(rng, minutes))
    if i % 2 == 0:
        path = folder / f"GMT{day:%Y%m%d}-{9 + i % 8:02d}0000_Recording.transcript.vtt"
        lines = ["WEBVTT", ""]
        for n, (second, who, said) in enumerate(turns, 1):
            lines += [str(n), f"{_stamp(second)} --> {_stamp(second + 4.5)}", f"{who}: {said}", ""]
        path.write_text("\n".join(lines), encoding="utf-8")
        return path
    ours, theirs = _people(rng)
    attendees = ", ".join(f"{n} <{e}>" for n, e in ours + theirs)
    body = [f"# Customer call {i}", f"Date: {day.isoformat()} 15:00 +00:00", f"Attendees: {attendees}", ""]
    body += [f"{who.split()[0]}: {said}" for _, who, said in turns]
    promised = [(who, said) for _, who, said in turns if said.startswith("I'll send")]
    body += ["", "## Action items"]
    body += [f"- {who.split()[0]} to {said[5:].rstrip('.')}" for who, said in promised[:6]]
    path = folder / f"{day.isoformat()}-customer-call-{i}.md"
    path.write_text("\n".join(body) + "\n", encoding="utf-8")
    return path


def read_all(paths: list[Path]) -> list[SourceDocument]:
    docs: list[SourceDocument] = []
    for p in paths:
        reader = reader_for(p)
        assert reader is not None, p
        docs.extend(reader(p).documents())  # type: ignore[attr-defined]
    return docs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--meetings", type=int, default=75)
    ap.add_argument("--minutes", type=int, default=60, help="length of each meeting")
    ap.add_argument("--quick", action="store_true", help="8 meetings: a smoke run")
    ap.add_argument("--max-seconds", type=float, default=None, help="exit 1 when the run takes longer")
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args()
    n = 8 if args.quick else args.meetings
    hours = n * args.minutes / 60
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "meetings"
        folder.mkdir()
        paths = [write_meeting(folder, i, args.minutes, rng) for i in range(n)]
        size = sum(p.stat().st_size for p in paths)
        print(f"{n} meetings of {args.minutes} min ({size / 1e6:.1f} MB) in {folder}")

        t0 = time.perf_counter()
        docs = read_all(paths)
        read_s = time.perf_counter() - t0
        extractor = OfflineExtractor()
        t0 = time.perf_counter()
        items = sum(len(extractor.extract(d)) for d in docs)
        extract_s = read_s + time.perf_counter() - t0

        env = {**os.environ, "FOLLOWTHROUGH_DATABASE_URL": f"sqlite:///{Path(tmp) / 'bench.db'}"}
        env["FOLLOWTHROUGH_COMPANY_DOMAINS"] = "northwind.io"
        cmd = [sys.executable, "-m", "followthrough", "run", str(folder), "--extractor", "offline", "--json"]
        t0 = time.perf_counter()
        done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=False)
        run_s = time.perf_counter() - t0
        if done.returncode not in (0, 3):
            print(done.stderr[-2000:], file=sys.stderr)
            print(f"followthrough run failed (exit {done.returncode})")
            return 1
    print(f"{items} items found by the extractor")
    for label, seconds in (
        ("read (connectors alone)", read_s),
        ("read + offline extractor", extract_s),
        ("followthrough run, end to end", run_s),
    ):
        print(f"  {label:32s} {seconds:8.2f} s  {seconds / hours:7.3f} s per meeting-hour")
    print(f"  run / (read + extract): {run_s / max(extract_s, 1e-9):.1f}x")
    if args.max_seconds is not None and run_s > args.max_seconds:
        print(f"missed: {run_s:.1f} s > {args.max_seconds:.0f} s")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
