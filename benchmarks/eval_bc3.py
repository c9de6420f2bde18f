"""Score the offline extractor on the BC3 dev set (and cross-check on Parakweet).

    python benchmarks/eval_bc3.py [--mbox PATH] [--gold PATH] [--pred OUT.jsonl] [--parakweet]

Reads the mbox with the project's email connector (or, with ``--stdlib`` or
when connectors are absent, with the standard library: body lines starting
with ">" and "On ... wrote:" headers are dropped), runs :class:`OfflineExtractor` with no company domains (BC3
has none: the sender is "us"), writes predictions as JSONL
``{message_id, type, evidence, owner, due}`` and prints ``score.py``'s output.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import json
import mailbox
import re
import subprocess
import sys
from collections.abc import Iterator
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from extractor.offline import OfflineExtractor  # noqa: E402
from followthrough.types import ExtractedItem, Participant, SourceDocument  # noqa: E402

SHARED = REPO.parent / "shared"
MBOX = SHARED / "eval" / "bc3-dev.mbox"
GOLD = SHARED / "eval" / "bc3-dev.gold.jsonl"
SCORE = SHARED / "eval" / "score.py"
PARAKWEET_TEST = SHARED / "train" / "parakweet-email-intent.test.tsv"

_REPLY_HEADER = re.compile(r"^\s*(?:on\b.{4,160}\bwrote:?|-{2,}\s*original message\s*-{2,})\s*$", re.I)


def _body(msg: email.message.Message) -> str:
    part = msg
    if msg.is_multipart():
        for p in msg.walk():
            if p.get_content_type() == "text/plain":
                part = p
                break
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        return payload.decode("utf-8", errors="replace")


def load_documents(path: Path = MBOX) -> list[SourceDocument]:
    """BC3 messages through the project's email connector, or the stdlib reader when it is absent."""
    try:
        from connectors.base import Connector
        from connectors.registry import reader_for
    except ImportError:  # pragma: no cover - connectors ship with the package
        return list(load_mbox(path))
    cls = reader_for(path)
    if cls is None or not issubclass(cls, Connector):
        return list(load_mbox(path))
    return list(cls(path).documents())


def load_mbox(path: Path = MBOX) -> Iterator[SourceDocument]:
    """BC3 messages as SourceDocuments (new content only), with the standard library alone."""
    box = mailbox.mbox(str(path), create=False)
    try:
        messages = list(box)
    finally:
        box.close()
    for msg in messages:
        raw = _body(msg)
        lines: list[str] = []
        quoted: list[str] = []
        for line in raw.replace("\r\n", "\n").split("\n"):
            if line.lstrip().startswith(">") or _REPLY_HEADER.match(line):
                quoted.append(line)
                continue
            lines.append(line)
        text = "\n".join(lines).strip("\n")
        participants = []
        for role, header in (("sender", "From"), ("recipient", "To"), ("cc", "Cc")):
            for name, addr in getaddresses(msg.get_all(header, [])):
                if addr:
                    participants.append(Participant(name=name or None, email=addr.lower(), role=role))
        yield SourceDocument(
            source="email",
            external_id=str(msg["Message-ID"]).strip(),
            thread_id=None,
            occurred_at=parsedate_to_datetime(msg["Date"]),
            title=str(msg["Subject"] or ""),
            participants=participants,
            text=text,
            quoted_text="\n".join(quoted),
        )


def prediction(doc: SourceDocument, item: ExtractedItem) -> dict[str, object]:
    return {
        "message_id": doc.external_id,
        "type": item.type,
        "evidence": item.evidence.quote,
        "owner": item.owner_email or item.owner,
        "due": item.due.isoformat() if item.due else None,
    }


def run_bc3(
    pred_path: Path, mbox: Path = MBOX, gold: Path = GOLD, *, stdlib: bool = False
) -> dict[str, dict[str, float]]:
    ex = OfflineExtractor()
    docs = list(load_mbox(mbox)) if stdlib else load_documents(mbox)
    with pred_path.open("w", encoding="utf-8") as f:
        for doc in docs:
            for item in ex.extract(doc):
                f.write(json.dumps(prediction(doc, item)) + "\n")
    out = subprocess.run(
        [sys.executable, str(SCORE), "--gold", str(gold), "--pred", str(pred_path), "--json"],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, dict[str, float]] = json.loads(out.stdout)
    return result


def parakweet_crosscheck(path: Path = PARAKWEET_TEST) -> dict[str, float]:
    """Sentence-level P/R/F1 of the detector (any intent = Yes) on the Parakweet test split."""
    from extractor.offline.model import default_model
    from extractor.offline.rules import decide
    from extractor.train import load_parakweet

    model = default_model()
    rows = load_parakweet(path)
    tp = fp = fn = tn = 0
    for row in rows:
        d = decide(row.text, model)
        hit, y = d.commitment or d.request, bool(row.intent)
        tp += hit and y
        fp += hit and not y
        fn += (not hit) and y
        tn += (not hit) and not y
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {
        "n": len(rows),
        "precision": p,
        "recall": r,
        "f1": 2 * p * r / (p + r) if p + r else 0.0,
        "accuracy": (tp + tn) / len(rows),
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mbox", type=Path, default=MBOX)
    ap.add_argument("--gold", type=Path, default=GOLD)
    ap.add_argument("--pred", type=Path, default=Path("/tmp/followthrough-bc3-pred.jsonl"))
    ap.add_argument("--parakweet", action="store_true", help="also print the Parakweet test cross-check")
    ap.add_argument("--stdlib", action="store_true", help="read the mbox with the stdlib, not the connector")
    a = ap.parse_args()
    run_bc3(a.pred, a.mbox, a.gold, stdlib=a.stdlib)
    subprocess.run([sys.executable, str(SCORE), "--gold", str(a.gold), "--pred", str(a.pred)], check=True)
    if a.parakweet:
        r = parakweet_crosscheck()
        print(
            f"parakweet-test n={r['n']:.0f} P={r['precision']:.2f} R={r['recall']:.2f} "
            f"F1={r['f1']:.2f} acc={r['accuracy']:.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
