"""Score predictions against labelled gold data, exactly as ``shared/eval/score.py`` does.

A prediction matches a gold row when both name the same message (angle
brackets and spaces ignored) and type, and the evidence overlaps the gold
sentence: one contains the other (as normalized word sequences), or their word
sets share at least half of the smaller one, and the evidence is at most about
twice the sentence's length. When both the gold row and the prediction carry
character offsets (``char_start``/``char_end`` into the document text, as gold
for long meeting transcripts does), their spans must also intersect. Quoted
gold rows are left out. Precision counts a
prediction right if it matches a row with >= 1 vote; recall is reported against
rows with >= 1 vote (lenient) and >= 2 votes (majority). Owner accuracy counts,
for matched commitments whose gold row names an owner, predictions whose owner
equals it (case-insensitive).

Beyond the scorer's numbers this module lists the misses (gold rows no
prediction matched, most votes first) and false alarms (predictions that
matched nothing), so a developer can see why.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from followthrough.errors import InputError

_WORD = re.compile(r"[a-z0-9']+")
KINDS = ("commitment", "request")


def _words(s: str) -> set[str]:
    return set(_WORD.findall((s or "").lower()))


def overlaps(evidence: str, sentence: str) -> bool:
    """The scorer's matching rule: ``evidence`` points at ``sentence``."""
    na = " ".join(_WORD.findall(evidence.lower()))
    nb = " ".join(_WORD.findall(sentence.lower()))
    if not na or not nb:
        return False
    if len(na.split()) > 2 * len(nb.split()) + 8:
        return False
    if na in nb or nb in na:
        return True
    wa, wb = _words(evidence), _words(sentence)
    return len(wa & wb) >= 0.5 * min(len(wa), len(wb))


def spans_meet(pred: dict[str, Any], gold: dict[str, Any]) -> bool:
    """True unless both rows carry offsets and the spans are disjoint (the scorer's span rule)."""
    ps, pe = pred.get("char_start"), pred.get("char_end")
    gs, ge = gold.get("char_start"), gold.get("char_end")
    if ps is None or pe is None or gs is None or ge is None:
        return True
    return bool(ps < ge and gs < pe)


def message_key(value: object) -> str:
    return str(value or "").strip().strip("<>").strip()


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    """Rows of a JSONL file; a bad line is an :class:`InputError` naming it."""
    rows: list[dict[str, Any]] = []
    try:
        with path.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as e:
                    raise InputError(f"{path}:{n}", f"invalid JSON: {e.msg}") from e
                if not isinstance(row, dict):
                    raise InputError(f"{path}:{n}", "each line must be a JSON object")
                rows.append(row)
    except OSError as e:
        raise InputError(path, f"cannot read: {e.strerror or e}") from e
    return rows


@dataclass
class KindScore:
    kind: str
    predicted: int = 0
    right: int = 0
    precision: float = 0.0
    gold_lenient: int = 0
    gold_majority: int = 0
    recall_lenient: float = 0.0
    recall_majority: float = 0.0
    f1_lenient: float = 0.0
    f1_majority: float = 0.0
    owner_right: int = 0
    owner_total: int = 0
    misses: list[dict[str, Any]] = field(default_factory=list)
    false_alarms: list[dict[str, Any]] = field(default_factory=list)

    @property
    def owner_accuracy(self) -> float | None:
        return self.owner_right / self.owner_total if self.owner_total else None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "predicted": self.predicted,
            "precision": self.precision,
            "gold_lenient": self.gold_lenient,
            "recall_lenient": self.recall_lenient,
            "f1_lenient": self.f1_lenient,
            "gold_majority": self.gold_majority,
            "recall_majority": self.recall_majority,
            "f1_majority": self.f1_majority,
        }
        if self.owner_accuracy is not None:
            out["owner_accuracy"] = self.owner_accuracy
        return out


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def score_kind(gold: Iterable[dict[str, Any]], pred: Iterable[dict[str, Any]], kind: str) -> KindScore:
    g = [r for r in gold if r.get("type") == kind and not r.get("quoted")]
    p = [r for r in pred if r.get("type") == kind]
    by_msg: dict[str, list[dict[str, Any]]] = {}
    for r in g:
        by_msg.setdefault(message_key(r.get("message_id")), []).append(r)
    matched: set[int] = set()
    res = KindScore(kind=kind, predicted=len(p))
    for r in p:
        hits = [
            x
            for x in by_msg.get(message_key(r.get("message_id")), [])
            if overlaps(str(r.get("evidence") or ""), str(x.get("text") or "")) and spans_meet(r, x)
        ]
        if not hits:
            res.false_alarms.append(r)
            continue
        res.right += 1
        matched.update(id(x) for x in hits)
        if kind == "commitment" and hits[0].get("owner"):
            res.owner_total += 1
            res.owner_right += int(str(r.get("owner") or "").lower() == hits[0]["owner"])
    res.precision = res.right / len(p) if p else 0.0
    lenient = [x for x in g if int(x.get("votes", 0)) >= 1]
    majority = [x for x in g if int(x.get("votes", 0)) >= 2]
    res.gold_lenient, res.gold_majority = len(lenient), len(majority)
    res.recall_lenient = sum(id(x) in matched for x in lenient) / len(lenient) if lenient else 0.0
    res.recall_majority = sum(id(x) in matched for x in majority) / len(majority) if majority else 0.0
    res.f1_lenient = _f1(res.precision, res.recall_lenient)
    res.f1_majority = _f1(res.precision, res.recall_majority)
    res.misses = sorted(
        (x for x in lenient if id(x) not in matched),
        key=lambda x: (-int(x.get("votes", 0)), str(x.get("text"))),
    )
    return res


def score(gold: list[dict[str, Any]], pred: list[dict[str, Any]]) -> dict[str, KindScore]:
    return {k: score_kind(gold, pred, k) for k in KINDS}
