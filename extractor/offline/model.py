"""The embedded detector: two calibrated logistic-regression heads over sparse features.

One head scores *commitment* (the writer, their side or a named colleague
binds themselves to act), the other *request* (the addressee is asked to act
or to answer). Each head is a weight per feature (:mod:`.features`), a Platt
calibration (``p = 1 / (1 + exp(-(a * z + b)))`` fitted on out-of-fold scores)
and a threshold, each with a one-line provenance saying what data and what
measure chose it. The weights live in ``model.json`` beside this file, written
by ``python -m extractor.train`` (``make train``). Inference is pure Python (a
dict lookup per feature), needs no network and no third-party package.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from functools import lru_cache
from itertools import repeat
from pathlib import Path
from typing import Any

from extractor.offline.cues import Cues
from extractor.offline.features import featurize
from extractor.offline.identity import model_text, text_digest

HEADS = ("commitment", "request")


def _sigmoid(z: float) -> float:
    if z < -35:
        return 0.0
    if z > 35:
        return 1.0
    return 1.0 / (1.0 + math.exp(-z))


@dataclass(frozen=True)
class Head:
    """One class of the detector: weights, calibration, decision threshold and the LLM pre-filter's floor."""

    bias: float
    weights: dict[str, float]
    platt_a: float
    platt_b: float
    threshold: float
    provenance: str
    prefilter_threshold: float = 0.0

    def margin(self, feats: list[str]) -> float:
        """The uncalibrated score ``z`` (log-odds of the training labels)."""
        return self.bias + sum(map(self.weights.get, feats, repeat(0.0)))

    def probability(self, feats: list[str]) -> float:
        """Calibrated probability of this class, in [0, 1]."""
        return _sigmoid(self.platt_a * self.margin(feats) + self.platt_b)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Head:
        return cls(
            bias=float(data["bias"]),
            weights={str(k): float(v) for k, v in data["weights"].items()},
            platt_a=float(data["calibration"]["a"]),
            platt_b=float(data["calibration"]["b"]),
            threshold=float(data["threshold"]),
            provenance=str(data.get("provenance", "")),
            prefilter_threshold=float(data.get("prefilter_threshold", 0.0)),
        )


@dataclass(frozen=True)
class Scores:
    """Calibrated class probabilities of one sentence."""

    commitment: float
    request: float

    @property
    def best(self) -> float:
        return max(self.commitment, self.request)


@dataclass(frozen=True)
class DetectorModel:
    """The two heads and the file's metadata (training data hashes, CV results)."""

    commitment: Head
    request: Head
    meta: dict[str, Any]

    def scores(self, sentence: str, cues: Cues | None = None) -> Scores:
        feats = featurize(sentence, cues)
        return Scores(self.commitment.probability(feats), self.request.probability(feats))

    def score(self, sentence: str, cues: Cues | None = None) -> float:
        """The higher of the two calibrated probabilities (the pre-filter's measure)."""
        return self.scores(sentence, cues).best

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DetectorModel:
        heads = data.get("heads")
        if not isinstance(heads, dict) or any(h not in heads for h in HEADS):
            raise ValueError("model file must hold heads 'commitment' and 'request' (run make train)")
        return cls(
            commitment=Head.from_dict(heads["commitment"]),
            request=Head.from_dict(heads["request"]),
            meta={k: v for k, v in data.items() if k != "heads"},
        )

    @property
    def digest(self) -> str:
        """The sha256 of the model file, or of the heads of a model built in memory (the cache key part)."""
        if "sha256" in self.meta:
            return str(self.meta["sha256"])
        h = hashlib.sha256()
        for head in (self.commitment, self.request):
            state = [head.bias, head.platt_a, head.platt_b, head.threshold, sorted(head.weights.items())]
            h.update(json.dumps(state).encode("utf-8"))
        return h.hexdigest()

    @classmethod
    def load(cls, path: str | Path | None = None) -> DetectorModel:
        text = model_text() if path is None else Path(path).read_text(encoding="utf-8")
        data = json.loads(text)
        data["sha256"] = text_digest(text)
        return cls.from_dict(data)


@lru_cache(maxsize=1)
def default_model() -> DetectorModel:
    """The model shipped inside the package (loaded once per process)."""
    return DetectorModel.load()
