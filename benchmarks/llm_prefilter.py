"""Does the pre-filter keep recall? Measured on the labelled BC3 dev set.

    .venv/bin/python benchmarks/llm_prefilter.py [--json]

The LLM backend skips a document (or a chunk of a long one) when the offline
detector finds no plausible commitment or request in it. For every gold
sentence of ``../shared/eval/bc3-dev.gold.jsonl`` (quoted sentences left out:
the original message carries them) this checks whether the pre-filter would
still send its message to the model, and how many prompt tokens it saves.

Recall here is the ceiling the LLM can reach after the pre-filter: a gold
sentence in a skipped message can never be found.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.eval_bc3 import GOLD, MBOX, load_documents  # noqa: E402
from extractor.chunking import chunk_document  # noqa: E402
from extractor.llm_messages import MessageBuilder  # noqa: E402
from extractor.llm_prefilter import chunks_to_send  # noqa: E402
from extractor.llm_settings import OutputMode  # noqa: E402
from extractor.offline import OfflineExtractor  # noqa: E402
from prompts.loader import load_prompt  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    docs = load_documents(MBOX)
    detector = OfflineExtractor()
    messages = MessageBuilder(load_prompt())  # the backend's own prompts, no client needed
    kept: dict[str, bool] = {}
    total_tokens = saved_tokens = 0
    for doc in docs:
        mid = doc.external_id.strip().strip("<>")
        chunks = chunk_document(doc)
        keep = chunks_to_send(detector, doc, chunks)  # the backend's own decision, chunk by chunk
        kept[mid] = any(keep)
        for chunk, wanted in zip(chunks, keep, strict=True):
            tokens = messages.estimate_prompt_tokens(messages.for_chunk(doc, chunk), OutputMode.JSON_SCHEMA)
            total_tokens += tokens
            if not wanted:
                saved_tokens += tokens

    gold = [json.loads(line) for line in GOLD.read_text().splitlines() if line.strip()]
    gold = [g for g in gold if not g.get("quoted")]
    report: dict[str, object] = {
        "messages": len(docs),
        "messages_skipped": sum(1 for v in kept.values() if not v),
        "prompt_tokens_without_prefilter": total_tokens,
        "prompt_tokens_saved": saved_tokens,
        "saved_fraction": saved_tokens / max(1, total_tokens),
    }
    for kind in ("commitment", "request"):
        for view, votes in (("lenient", 1), ("majority", 2)):
            rows = [g for g in gold if g["type"] == kind and g["votes"] >= votes]
            hit = [g for g in rows if kept.get(g["message_id"].strip().strip("<>"), False)]
            report[f"{kind}_{view}_recall"] = len(hit) / max(1, len(rows))
            report[f"{kind}_{view}_rows"] = len(rows)
            missed = [g["text"] for g in rows if g not in hit]
            report[f"{kind}_{view}_missed"] = missed[:5]
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(
        f"pre-filter on {report['messages']} BC3 dev messages: {report['messages_skipped']} skipped, "
        f"{saved_tokens} of {total_tokens} prompt tokens saved ({report['saved_fraction']:.0%})"
    )
    for kind in ("commitment", "request"):
        for view in ("lenient", "majority"):
            print(
                f"  {kind:<10} {view:<8} recall kept {report[f'{kind}_{view}_recall']:.3f} "
                f"of {report[f'{kind}_{view}_rows']} gold sentences"
            )
    for kind in ("commitment", "request"):
        for text in report[f"{kind}_majority_missed"]:  # type: ignore[union-attr]
            print(f"  missed ({kind}, majority): {text[:100]!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
