"""Throughput of the offline extractor, end to end, on one core.

    python benchmarks/offline_throughput.py [--messages N] [--min-rate R]

Runs :class:`extractor.offline.OfflineExtractor` over real messages (the BC3
dev mbox when ``../shared/eval`` is present, plus the demo workspace's
documents), cycled to ``N`` messages, in one process and one thread, and prints
``messages/s``. Each message is a fresh ``SourceDocument`` copy, so nothing is
cached between repeats. Exits 1 when the rate is below ``--min-rate``.
"""

from __future__ import annotations

import argparse
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
    print(
        f"offline extractor: {len(docs)} messages ({chars / len(docs):.0f} chars avg, {items} items) "
        f"in {elapsed:.2f} s on one core = {rate:.0f} messages/s"
    )
    if rate < a.min_rate:
        print(f"below the required {a.min_rate:.0f} messages/s", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
