"""Throughput of the offline extractor, end to end, on one core.

    python benchmarks/offline_throughput.py [--messages N] [--min-rate R]

Runs :class:`extractor.offline.OfflineExtractor` over real messages (the BC3
dev mbox when ``../shared/eval`` is present, plus synthetic sales email),
cycled to ``N`` messages, in one process and one thread, and prints
``messages/s``. Each message is a fresh ``SourceDocument`` copy, so nothing is
cached between repeats. In the same run it measures two baselines on the same
messages: the naive regular expression the eval README names as the quality
floor ("I'll / I will / we will / let me", "please / could you / ?"), and
reading the mbox with the email connector; it prints the extractor's rate as a
ratio of each, and the end-to-end rate (read the mbox + extract). Exits 1 when
the end-to-end rate is below ``--min-rate``.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from extractor.offline import OfflineExtractor  # noqa: E402
from followthrough.types import Participant, SourceDocument  # noqa: E402

_SYNTHETIC = [
    "Hi Dana,\n\nThanks for the call today. I'll send the revised pricing with the 3-year term by Friday.\n"
    "Could you confirm the SSO setup works with Okta? We already shipped the connector last week.\n\n"
    "Best,\nMarco",
    "Quick update: the sandbox is extended through March 31. Let me know if the team needs more seats.\n"
    "I might look at the API limits next week, no promises.",
    "Action items:\n- Priya: send the benchmark results to Chris by Thursday\n"
    "- Marco to schedule the follow-up next week\n- Dana: confirm the attendees",
    "Can anyone confirm whether the export includes archived channels? We will post the notes after the "
    "meeting. Please review the draft before EOD tomorrow.",
]


def corpus() -> list[SourceDocument]:
    docs: list[SourceDocument] = []
    try:
        from benchmarks.eval_bc3 import MBOX, load_mbox

        if MBOX.exists():
            docs.extend(load_mbox(MBOX))
    except Exception:  # pragma: no cover - the benchmark still runs on synthetic text
        pass
    now = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
    for i, text in enumerate(_SYNTHETIC):
        docs.append(
            SourceDocument(
                source="email",
                external_id=f"<synthetic-{i}@bench>",
                occurred_at=now,
                participants=[
                    Participant(name="Marco Rossi", email="marco@northwind.io", role="sender"),
                    Participant(name="Dana Lee", email="dana@acme.com", role="recipient"),
                ],
                text=text,
            )
        )
    return docs


_NAIVE = re.compile(r"\b(I'll|I will|we will|let me|please|could you)\b|\?", re.IGNORECASE)


def naive(doc: SourceDocument) -> int:
    """The quality floor: one regex over each line."""
    return sum(1 for line in doc.text.splitlines() if _NAIVE.search(line))


def read_mbox_rate(repeats: int) -> tuple[float, int]:
    """Messages/s of the email connector reading the BC3 mbox ``repeats`` times (0 when absent)."""
    try:
        from benchmarks.eval_bc3 import MBOX
        from connectors.email import MboxConnector
    except Exception:  # pragma: no cover
        return 0.0, 0
    if not MBOX.exists():
        return 0.0, 0
    n = 0
    t0 = time.perf_counter()
    for _ in range(repeats):
        n += sum(1 for _ in MboxConnector(MBOX).documents())
    return n / (time.perf_counter() - t0), n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="offline extractor throughput (messages/s, one core)")
    ap.add_argument("--messages", type=int, default=5000)
    ap.add_argument("--min-rate", type=float, default=0.0, help="exit 1 below this many messages/s")
    a = ap.parse_args(argv)
    base = corpus()
    docs = [base[i % len(base)].model_copy(deep=True) for i in range(a.messages)]
    chars = sum(len(d.text) for d in docs)
    ex = OfflineExtractor(company_domains={"northwind.io"}, directory={"priya shah": "priya@northwind.io"})
    ex.extract(base[0])  # load the model outside the timed loop
    items = 0
    t0 = time.perf_counter()
    for d in docs:
        items += len(ex.extract(d))
    elapsed = time.perf_counter() - t0
    rate = len(docs) / elapsed
    t0 = time.perf_counter()
    hits = sum(naive(d) for d in docs)
    naive_rate = len(docs) / (time.perf_counter() - t0)
    read_rate, read_n = read_mbox_rate(max(1, a.messages // 143))
    print(
        f"offline extractor: {len(docs)} messages ({chars / len(docs):.0f} chars avg, {items} items) "
        f"in {elapsed:.2f} s on one core = {rate:.0f} messages/s"
    )
    print(
        f"baseline naive regex ({hits} hits): {naive_rate:.0f} messages/s; "
        f"extractor/naive = {rate / naive_rate:.3f}"
    )
    end_to_end = rate
    if read_rate:
        end_to_end = 1 / (1 / read_rate + 1 / rate)
        print(
            f"baseline mbox reading ({read_n} messages): {read_rate:.0f} messages/s; "
            f"extractor/reading = {rate / read_rate:.2f}"
        )
    print(
        f"end to end (read + extract): {end_to_end:.0f} messages/s = "
        f"{end_to_end / 500:.2f}x the 500 messages/s target"
    )
    if end_to_end < a.min_rate:
        print(f"below the required {a.min_rate:.0f} messages/s", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
