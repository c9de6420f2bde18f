"""Regression guard: the offline extractor's scores on the BC3 dev set do not fall.

BC3 dev is for reporting: nothing in the extractor was chosen by these numbers.
The floors sit a little under what the shipped extractor measures (commitment
F1 0.51, request F1 0.75, owner accuracy 1.00 on 2026-11-30) so that an
unintended change shows, not to steer the rules.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import EVAL

TARGETS = {"commitment_f1": 0.45, "request_f1": 0.70, "owner_accuracy": 0.90}


@pytest.mark.slow
def test_bc3_dev_scores(tmp_path: Path) -> None:
    if not (EVAL / "bc3-dev.mbox").exists():
        pytest.fail(f"BC3 dev set not found at {EVAL}")
    from benchmarks.eval_bc3 import run_bc3

    # The stdlib reader, so this guards the extractor, not the email connector (same scores today).
    res = run_bc3(tmp_path / "pred.jsonl", EVAL / "bc3-dev.mbox", EVAL / "bc3-dev.gold.jsonl", stdlib=True)
    com, req = res["commitment"], res["request"]
    summary = (
        f"commitment F1={com['f1_lenient']:.2f} request F1={req['f1_lenient']:.2f} "
        f"owner={com.get('owner_accuracy', 0):.2f}"
    )
    assert com["f1_lenient"] >= TARGETS["commitment_f1"], summary
    assert req["f1_lenient"] >= TARGETS["request_f1"], summary
    assert com.get("owner_accuracy", 0.0) >= TARGETS["owner_accuracy"], summary
