"""The embedded sentence detector: a logistic regression over sparse features.

The weights live in ``model.json`` beside this file, written by
``python -m extractor.train`` (``make train``). Inference is pure Python (a dict
lookup per feature), needs no network and no third-party package.
"""

from __future__ import annotations

import hashlib
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

    @property
    def digest(self) -> str:
        """The sha256 of the model file (empty for a model built in memory)."""
        return str(self.meta.get("sha256", ""))

    @classmethod
    def load(cls, path: str | Path | None = None) -> DetectorModel:
        if path is None:
            text = resources.files("extractor.offline").joinpath(MODEL_FILE).read_text(encoding="utf-8")
        else:
            text = Path(path).read_text(encoding="utf-8")
        data = json.loads(text)
        data["sha256"] = hashlib.sha256(text.encode("utf-8")).hexdigest()
        return cls.from_dict(data)


@lru_cache(maxsize=1)
def default_model() -> DetectorModel:
    """The model shipped inside the package (loaded once per process)."""
    return DetectorModel.load()


@lru_cache(maxsize=1)
def rules_digest() -> str:
    """A hash of the offline backend's own source (rules, patterns, features): changes with the code."""
    h = hashlib.sha256()
    try:
        pkg = resources.files("extractor.offline")
        for name in sorted(p.name for p in pkg.iterdir() if p.name.endswith(".py")):
            h.update(name.encode())
            h.update(pkg.joinpath(name).read_bytes())
    except (OSError, TypeError):  # pragma: no cover - an unusual install without sources
        return "unknown"
    return h.hexdigest()
