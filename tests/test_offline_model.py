"""The shipped detector model: loads offline, is small, and retrains bit for bit."""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path

import pytest

from extractor.offline.model import MODEL_FILE, DetectorModel, default_model
from tests.conftest import TRAIN

SHIPPED = Path(str(resources.files("extractor.offline").joinpath(MODEL_FILE)))


def test_model_is_small_and_well_formed() -> None:
    assert SHIPPED.stat().st_size < 3 * 1024 * 1024
    data = json.loads(SHIPPED.read_text(encoding="utf-8"))
    assert data["format"] == 1 and data["kind"] == "logistic-regression"
    assert "parakweet-email-intent.test.tsv" not in data["training_data"]
    model = default_model()
    assert len(model.weights) > 1000
    assert model.score("Could you please send me the signed contract by Friday?") > 0.5
    assert model.score("The weather in Lisbon was lovely.") < 0.5


def test_scores_are_deterministic() -> None:
    a = DetectorModel.load()
    b = DetectorModel.load(SHIPPED)
    for s in ("Please review the draft.", "I'll send it tomorrow.", "Thanks!"):
        assert a.score(s) == b.score(s)


def test_retraining_reproduces_the_shipped_file(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    if not (TRAIN / "parakweet-email-intent.train.tsv").exists():
        pytest.skip(f"training data not found at {TRAIN}")
    from extractor.train import train

    out = tmp_path / "model.json"
    train(TRAIN, out)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    assert digest == hashlib.sha256(SHIPPED.read_bytes()).hexdigest(), (
        "extractor/offline/model.json is stale: run `make train` (python -m extractor.train) and commit it"
    )


def test_cache_key_names_the_rules_and_the_model() -> None:
    from extractor.offline import OfflineExtractor

    shipped = hashlib.sha256(SHIPPED.read_bytes()).hexdigest()
    key = OfflineExtractor().cache_key
    assert key.startswith("offline:offline:rules-") and key.endswith(f"+model-{shipped[:12]}")
    other = OfflineExtractor(model=DetectorModel(bias=0.0, weights={}, threshold=0.5, meta={}))
    assert other.cache_key != key
