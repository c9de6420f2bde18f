"""The eval scorer agrees with shared/eval/score.py, number for number."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from followthrough.errors import InputError
from followthrough.evaluation import load_jsonl, overlaps, score
from tests.conftest import EVAL, require_shared

GOLD = EVAL / "bc3-dev.gold.jsonl"
SCORER = EVAL / "score.py"


def _official(gold: Path, pred: Path) -> dict[str, dict[str, float]]:
    out = subprocess.run(
        [sys.executable, str(SCORER), "--gold", str(gold), "--pred", str(pred), "--json"],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)


def _predictions() -> list[dict[str, object]]:
    """A mix of hits, partial quotes, wrong owners, wrong types and false alarms."""
    gold = load_jsonl(GOLD)
    preds: list[dict[str, object]] = []
    for n, row in enumerate(gold):
        text = str(row["text"])
        if n % 3 == 0:
            preds.append(
                {
                    "message_id": row["message_id"],
                    "type": row["type"],
                    "evidence": text,
                    "owner": row["owner"],
                }
            )
        elif n % 3 == 1:
            half = " ".join(text.split()[: max(1, len(text.split()) // 2)])
            preds.append({"message_id": row["message_id"].strip("<>"), "type": row["type"], "evidence": half})
        else:
            other = "request" if row["type"] == "commitment" else "commitment"
            preds.append({"message_id": row["message_id"], "type": other, "evidence": text, "owner": "x@y"})
    preds.append({"message_id": "<nope@x>", "type": "commitment", "evidence": "I will do it", "owner": None})
    return preds


def test_scores_match_the_official_scorer(tmp_path: Path) -> None:
    require_shared(GOLD)
    preds = _predictions()
    pred_file = tmp_path / "pred.jsonl"
    pred_file.write_text("".join(json.dumps(p) + "\n" for p in preds))
    official = _official(GOLD, pred_file)
    ours = score(load_jsonl(GOLD), preds)
    for kind, res in official.items():
        mine = ours[kind].as_dict()
        for key, value in res.items():
            assert mine[key] == pytest.approx(value), (kind, key)
    assert ours["commitment"].false_alarms, "false alarms are listed"
    assert ours["request"].misses, "misses are listed"


def test_overlap_rules() -> None:
    sentence = "I will send the revised pricing to Dana by Friday."
    assert overlaps("send the revised pricing to Dana", sentence)
    assert overlaps(sentence, sentence)
    assert not overlaps("", sentence)
    assert not overlaps(" ".join([sentence] * 4), sentence), "a whole message does not point at a sentence"


def test_bad_gold_line_names_the_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "gold.jsonl"
    bad.write_text('{"type": "request"}\nnot json\n')
    with pytest.raises(InputError, match=r"gold.jsonl:2: invalid JSON"):
        load_jsonl(bad)


def test_spans_must_meet_when_both_sides_carry_offsets(tmp_path: Path) -> None:
    """A transcript is one long document: a short gold line matches only predictions whose span meets it."""
    text = "Go ahead. I will send the notes. Go ahead. Could you check the numbers?"
    gold = [
        {
            "message_id": "m",
            "type": "request",
            "text": "Go ahead.",
            "votes": 2,
            "char_start": 33,
            "char_end": 42,
        },
        {
            "message_id": "m",
            "type": "commitment",
            "text": "I will send the notes.",
            "votes": 1,
            "char_start": 10,
            "char_end": 32,
            "owner": "a@x",
        },
        {"message_id": "m", "type": "request", "text": "Could you check the numbers?", "votes": 1},
    ]
    preds = [
        {"message_id": "m", "type": "request", "evidence": "Go ahead.", "char_start": 0, "char_end": 9},
        {"message_id": "m", "type": "request", "evidence": "Go ahead.", "char_start": 33, "char_end": 42},
        {
            "message_id": "m",
            "type": "commitment",
            "evidence": "I will send the notes",
            "char_start": 10,
            "char_end": 31,
            "owner": "a@x",
        },
        {"message_id": "m", "type": "commitment", "evidence": "I will send the notes"},
        {
            "message_id": "m",
            "type": "request",
            "evidence": text[43:],
            "char_start": 43,
            "char_end": len(text),
        },
    ]
    g, p = tmp_path / "gold.jsonl", tmp_path / "pred.jsonl"
    g.write_text("".join(json.dumps(r) + "\n" for r in gold))
    p.write_text("".join(json.dumps(r) + "\n" for r in preds))
    official = _official(g, p)
    ours = score(gold, preds)
    assert ours["request"].right == 2, "the disjoint 'Go ahead.' is a false alarm"
    for kind, res in official.items():
        mine = ours[kind].as_dict()
        for key, value in res.items():
            assert mine[key] == pytest.approx(value), (kind, key)
