"""The shipped detector model: loads offline, is small, and retrains bit for bit."""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path

from extractor.offline.identity import MODEL_FILE
from extractor.offline.model import DetectorModel, default_model
from tests.conftest import TRAIN, require_shared

SHIPPED = Path(str(resources.files("extractor.offline").joinpath(MODEL_FILE)))


def test_model_is_small_and_well_formed() -> None:
    assert SHIPPED.stat().st_size < 5 * 1024 * 1024
    data = json.loads(SHIPPED.read_text(encoding="utf-8"))
    assert data["format"] == 2 and data["kind"] == "calibrated-logistic-regression"
    assert set(data["training_data"]) == {"parakweet-email-intent.train.tsv", "lin-enron-tasks.jsonl"}
    for head in data["heads"].values():
        assert 0.05 <= head["threshold"] <= 0.95 and "cross-validation" in head["provenance"]
        assert head["calibration"]["a"] > 0
        assert 0.0 < head["prefilter_threshold"] <= head["threshold"]
        assert "98%" in head["prefilter_provenance"]
    assert {(r["C"], r["min_count"]) for r in data["cv"]} >= {
        (data["params"]["C"], data["params"]["min_count"])
    }
    model = default_model()
    assert len(model.commitment.weights) > 1000 and len(model.request.weights) > 1000
    asked = model.scores("Could you please send me the signed contract by Friday?")
    assert asked.request > model.request.threshold > asked.commitment
    promised = model.scores("I'll send you the signed contract by Friday.")
    assert promised.commitment > model.commitment.threshold > promised.request
    assert model.score("The weather in Lisbon was lovely.") < 0.2


def test_probabilities_are_calibrated_on_training_data() -> None:
    """Platt scaling fitted out of fold: the mean probability tracks the share of positives."""
    from extractor.train import load_training

    rows = load_training(require_shared(TRAIN))
    model = default_model()
    for head in ("commitment", "request"):
        labelled = [r for r in rows if r.label(head) is not None]
        probs = [getattr(model.scores(r.text), head) for r in labelled]
        share = sum(bool(r.label(head)) for r in labelled) / len(labelled)
        assert abs(sum(probs) / len(probs) - share) < 0.05, head


def test_scores_are_deterministic() -> None:
    a = DetectorModel.load()
    b = DetectorModel.load(SHIPPED)
    for s in ("Please review the draft.", "I'll send it tomorrow.", "Thanks!"):
        assert a.score(s) == b.score(s)


def test_retraining_reproduces_the_shipped_file(tmp_path: Path) -> None:
    from extractor.train import train  # needs scikit-learn, a dev dependency

    out = tmp_path / "model.json"
    train(require_shared(TRAIN), out)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    assert digest == hashlib.sha256(SHIPPED.read_bytes()).hexdigest(), (
        "extractor/offline/model.json is stale: run `make train` (python -m extractor.train) and commit it"
    )


def test_cache_key_names_the_rules_and_the_model() -> None:
    from extractor.offline import OfflineExtractor

    shipped = hashlib.sha256(SHIPPED.read_bytes()).hexdigest()
    key = OfflineExtractor().cache_key
    assert key.startswith("offline:offline:rules-") and key.endswith(f"+model-{shipped[:12]}")
    shipped_model = default_model()
    other = OfflineExtractor(model=DetectorModel(shipped_model.commitment, shipped_model.request, meta={}))
    assert other.cache_key != key
