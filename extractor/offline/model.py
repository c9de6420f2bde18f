"""The embedded sentence detector: a logistic regression over sparse features.

The weights live in ``model.json`` beside this file, written by
``python -m extractor.train`` (``make train``). Inference is pure Python (a dict
lookup per feature), needs no network and no third-party package.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from extractor.offline.cues import Cues
from extractor.offline.features import featurize

MODEL_FILE = "model.json"


@dataclass(frozen=True)
class DetectorModel:
    """Weights of the intent detector ("does this sentence ask for or promise an action?")."""

    bias: float
    weights: dict[str, float]
    threshold: float
    meta: dict[str, object]

    def score(self, sentence: str, cues: Cues | None = None) -> float:
        """Probability that ``sentence`` carries an intent to act."""
        w = self.weights
        z = self.bias + sum(w.get(f, 0.0) for f in featurize(sentence, cues))
        if z < -30:
            return 0.0
        return 1.0 / (1.0 + math.exp(-z))

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> DetectorModel:
        weights = data["weights"]
        if not isinstance(weights, dict):
            raise ValueError("model weights must be an object")
        return cls(
            bias=float(data["bias"]),  # type: ignore[arg-type]
            weights={str(k): float(v) for k, v in weights.items()},
            threshold=float(data.get("threshold", 0.5)),  # type: ignore[arg-type]
            meta={k: v for k, v in data.items() if k not in ("weights", "bias")},
        )

    @classmethod
    def load(cls, path: str | Path | None = None) -> DetectorModel:
        if path is None:
            text = resources.files("extractor.offline").joinpath(MODEL_FILE).read_text(encoding="utf-8")
        else:
            text = Path(path).read_text(encoding="utf-8")
        return cls.from_dict(json.loads(text))


@lru_cache(maxsize=1)
def default_model() -> DetectorModel:
    """The model shipped inside the package (loaded once per process)."""
    return DetectorModel.load()
