"""Train the offline detector from the labelled data in ``../shared/train/``.

    python -m extractor.train [--data DIR] [--out FILE]

Reads the Parakweet email-intent training split (``Yes`` = the sentence carries
an intent to act) and the Lin Enron task sentences (a ``Task`` label = an
action to do, requested or promised), builds the features in
:mod:`extractor.offline.features`, fits an L2 logistic regression
(scikit-learn, ``liblinear``, fixed seed) and writes the weights as JSON into
the package (``extractor/offline/model.json``).

``C`` and ``MIN_COUNT`` are the best of a 5-fold cross-validation on the
training rows themselves (F1 0.78; C in 0.1..2, min count 1..3).

The output is reproducible bit for bit: inputs are read in a fixed order,
features are sorted, the solver is deterministic, and weights are rounded to
four decimals. The Parakweet *test* split and the BC3 evaluation data are never
used for training. scikit-learn is needed only here (``pip install -e '.[train]'``),
never at run time.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
from collections import Counter
from pathlib import Path

from extractor.offline.features import featurize

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "train"
DEFAULT_OUT = Path(__file__).resolve().parent / "offline" / "model.json"
PARAKWEET_TRAIN = "parakweet-email-intent.train.tsv"
LIN = "lin-enron-tasks.jsonl"
MIN_COUNT = 2
C = 0.5
THRESHOLD = 0.5


def load_parakweet(path: Path) -> list[tuple[str, int]]:
    rows: list[tuple[str, int]] = []
    with path.open(encoding="utf-8", errors="replace", newline="") as f:
        for rec in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(rec) < 2 or rec[0] not in ("Yes", "No"):
                continue
            text = "\t".join(rec[1:]).strip()
            if text:
                rows.append((text, 1 if rec[0] == "Yes" else 0))
    return rows


def load_lin(path: Path) -> list[tuple[str, int]]:
    rows: list[tuple[str, int]] = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            rec = json.loads(line)
            text = str(rec.get("Sentence", "")).strip()
            labels = [x.strip() for x in str(rec.get("Task/Goal", "")).split(",")]
            if text:
                rows.append((text, 1 if "Task" in labels else 0))
    return rows


def load_training(data: Path) -> list[tuple[str, int]]:
    rows = load_parakweet(data / PARAKWEET_TRAIN) + load_lin(data / LIN)
    # De-duplicate (same text, keep the positive label if any) and sort: order-independent input.
    merged: dict[str, int] = {}
    for text, y in rows:
        merged[text] = max(merged.get(text, 0), y)
    return sorted(merged.items())


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def train(data: Path = DEFAULT_DATA, out: Path = DEFAULT_OUT) -> dict[str, object]:
    try:
        from scipy.sparse import csr_matrix  # type: ignore[import-untyped]
        from sklearn.linear_model import LogisticRegression
    except ImportError as e:  # pragma: no cover - exercised by hand
        raise SystemExit("training needs scikit-learn: pip install -e '.[train]'") from e

    rows = load_training(data)
    feats = [featurize(text) for text, _ in rows]
    counts = Counter(f for fs in feats for f in fs)
    vocab = sorted(f for f, n in counts.items() if n >= MIN_COUNT)
    index = {f: i for i, f in enumerate(vocab)}
    indptr: list[int] = [0]
    indices: list[int] = []
    for fs in feats:
        indices.extend(index[f] for f in fs if f in index)
        indptr.append(len(indices))
    x = csr_matrix(([1.0] * len(indices), indices, indptr), shape=(len(rows), len(vocab)))
    y = [label for _, label in rows]
    clf = LogisticRegression(C=C, solver="liblinear", random_state=0, max_iter=1000, tol=1e-6)
    clf.fit(x, y)
    coef = clf.coef_[0]
    weights = {f: round(float(coef[i]), 4) for f, i in index.items() if abs(coef[i]) >= 1e-3}
    model: dict[str, object] = {
        "format": 1,
        "kind": "logistic-regression",
        "description": "P(sentence carries an intent to act: a request or a commitment)",
        "threshold": THRESHOLD,
        "params": {"C": C, "min_count": MIN_COUNT, "solver": "liblinear"},
        "training_data": {
            PARAKWEET_TRAIN: _sha256(data / PARAKWEET_TRAIN),
            LIN: _sha256(data / LIN),
        },
        "examples": len(rows),
        "positives": sum(y),
        "bias": round(float(clf.intercept_[0]), 4),
        "weights": dict(sorted(weights.items())),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(model, indent=0, sort_keys=False, ensure_ascii=True) + "\n", encoding="utf-8")
    return model


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with the training files")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write model.json")
    a = ap.parse_args(argv)
    model = train(a.data, a.out)
    size = a.out.stat().st_size
    weights = model["weights"]
    n = len(weights) if isinstance(weights, dict) else 0
    print(f"wrote {a.out} ({size / 1024:.0f} KiB, {n} weights, {model['examples']} examples)")
    print(f"sha256 {_sha256(a.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
