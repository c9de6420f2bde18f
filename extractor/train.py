"""Train the offline detector from the labelled data in ``../shared/train/``.

    python -m extractor.train [--data DIR] [--out FILE]

Training data (never the BC3 evaluation set):

* the Parakweet email-intent *train* split (``Yes`` = the sentence carries an
  intent to act). Its annotation judges acts asked of the reader, not the
  writer's own promises (of its 183 sentences with "I'll / I will / we will",
  93 are labelled ``No``: "I'll call them tomorrow"), so a Parakweet sentence
  with a commissive cue gets no commitment label, only a request label;
* the Lin Enron task sentences (a ``Task`` label = an action to do).

Neither label says *who* acts. Direction comes from the grammar
(:func:`derive_labels`): an intent sentence whose main clause has a
commissive cue (first-person or team subject with future or volitional
modality, "let me", "will do", a named person with "will") is a commitment; one
with a directive cue (question, imperative, "please", "could you", "let me
know", an indirect ask, a suggestion) is a request; both when it has both; and
an intent sentence with neither is left out (its direction is unknown). A
sentence without intent is neither.

Each head (commitment, request) is an L2 logistic regression (scikit-learn,
``liblinear``). ``C`` and the feature ``min_count`` are chosen by 5-fold
cross-validation on the training rows with the one-standard-error rule: the
most regularized configuration whose mean F1 over folds (of the two heads)
is within one standard error of the best (Hastie, Tibshirani & Friedman,
*Elements of Statistical Learning*, 7.10): the data is one company's email,
and the product reads other text. The chosen configuration's out-of-fold scores then
fit a Platt calibration per head and pick each head's threshold (best F1 of the
calibrated out-of-fold probabilities). The model file records every choice
and the measure that made it.

The output is reproducible bit for bit: inputs are read in a fixed order,
folds come from a hash of the text, the solver is deterministic, and numbers
are rounded. scikit-learn is needed only here (``pip install -e '.[train]'``),
never at run time.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from extractor.offline.cues import COMMISSIVE, DIRECTIVE, analyze
from extractor.offline.features import featurize

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "train"
DEFAULT_OUT = Path(__file__).resolve().parent / "offline" / "model.json"
PARAKWEET_TRAIN = "parakweet-email-intent.train.tsv"
PARAKWEET_TEST = "parakweet-email-intent.test.tsv"
LIN = "lin-enron-tasks.jsonl"
GRID_C = (0.03, 0.1, 0.3, 1.0)
GRID_MIN_COUNT = (2, 3)
FOLDS = 5
PREFILTER_RECALL = 0.98  # the LLM pre-filter's floor keeps this share of training positives
HEADS = ("commitment", "request")
# Direction cues that do not by themselves say who acts (kept as features, not as labels).
_WEAK_COMMISSIVE = frozenset({"passive_future", "offer_q"})
_WEAK_DIRECTIVE = frozenset({"anyone"})


@dataclass(frozen=True)
class Labelled:
    """One training sentence: ``True``/``False`` per head, ``None`` where the direction is unknown.

    ``intent`` is the corpus's own label (Parakweet ``Yes``, Lin ``Task``), when it has one.
    """

    text: str
    source: str
    commitment: bool | None
    request: bool | None
    intent: bool | None = None

    def label(self, head: str) -> bool | None:
        return self.commitment if head == "commitment" else self.request


def derive_labels(
    text: str, intent: bool, *, commissive_labelled: bool = True
) -> tuple[bool | None, bool | None]:
    """(commitment, request) for a sentence labelled only "carries an intent to act" or not.

    ``commissive_labelled=False`` is for data whose annotation did not judge the
    writer's own promises: a sentence with a commissive cue then gets no
    commitment label either way.
    """
    c = analyze(text)
    fired = c.fired
    past_only = "past" in fired and not fired & {"fp_future", "fp_and_will", "team_future", "named_future"}
    commissive = bool(fired & (COMMISSIVE - _WEAK_COMMISSIVE)) and not past_only and "negated" not in fired
    directive = bool(fired & (DIRECTIVE - _WEAK_DIRECTIVE))
    com: bool | None = intent and commissive
    req: bool | None = intent and directive
    if intent and not commissive and not directive:
        com = req = None  # an intent to act, but whose: unknown
    if not commissive_labelled and fired & COMMISSIVE:
        com = None
    return com, req


def load_parakweet(path: Path, source: str = "parakweet") -> list[Labelled]:
    rows: list[Labelled] = []
    with path.open(encoding="utf-8", errors="replace", newline="") as f:
        for rec in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(rec) < 2 or rec[0] not in ("Yes", "No"):
                continue
            text = "\t".join(rec[1:]).strip()
            if text:
                yes = rec[0] == "Yes"
                rows.append(
                    Labelled(text, source, *derive_labels(text, yes, commissive_labelled=False), intent=yes)
                )
    return rows


def load_lin(path: Path) -> list[Labelled]:
    rows: list[Labelled] = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            rec = json.loads(line)
            text = str(rec.get("Sentence", "")).strip()
            labels = [x.strip() for x in str(rec.get("Task/Goal", "")).split(",")]
            if text:
                task = "Task" in labels
                rows.append(Labelled(text, "lin", *derive_labels(text, task), intent=task))
    return rows


def load_training(data: Path) -> list[Labelled]:
    """Parakweet train + Lin, de-duplicated by text (a positive label wins), sorted by text."""
    return dedupe(load_parakweet(data / PARAKWEET_TRAIN) + load_lin(data / LIN))


def dedupe(rows: Sequence[Labelled]) -> list[Labelled]:
    merged: dict[str, Labelled] = {}
    for r in rows:
        old = merged.get(r.text)
        if old is None:
            merged[r.text] = r
            continue
        merged[r.text] = Labelled(
            r.text,
            old.source,
            _either(old.commitment, r.commitment),
            _either(old.request, r.request),
            _either(old.intent, r.intent),
        )
    return [merged[t] for t in sorted(merged)]


def _either(a: bool | None, b: bool | None) -> bool | None:
    if a is None or b is None:
        return a if b is None else b
    return a or b


def _fold(text: str) -> int:
    return int(hashlib.sha1(text.encode("utf-8")).hexdigest()[:8], 16) % FOLDS


def _best_f1(probs: Sequence[float], ys: Sequence[bool]) -> tuple[float, float]:
    """(threshold, F1): the threshold in 0.05..0.95 (step 0.01) with the best F1 (lowest on ties)."""
    best = (0.5, 0.0)
    for i in range(5, 96):
        t = i / 100
        tp = sum(1 for p, y in zip(probs, ys, strict=True) if p >= t and y)
        fp = sum(1 for p, y in zip(probs, ys, strict=True) if p >= t and not y)
        fn = sum(1 for p, y in zip(probs, ys, strict=True) if p < t and y)
        f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        if f1 > best[1] + 1e-12:
            best = (t, f1)
    return best


def _recall_floor(probs: Sequence[float], ys: Sequence[bool], recall: float) -> float:
    """The highest threshold (step 0.01) that at least ``recall`` of the positives reach."""
    positives = sorted((p for p, y in zip(probs, ys, strict=True) if y), reverse=True)
    if not positives:
        return 0.0
    kth = positives[min(len(positives) - 1, math.ceil(recall * len(positives)) - 1)]
    return math.floor(kth * 100) / 100


def _fold_f1(zs: Sequence[float], ys: Sequence[bool], ks: Sequence[int]) -> tuple[float, float]:
    """Mean and standard error over folds of F1 at the pooled best threshold (on uncalibrated scores)."""
    probs = [1 / (1 + math.exp(-z)) if z > -35 else 0.0 for z in zs]
    t, _ = _best_f1(probs, ys)
    f1s: list[float] = []
    for k in sorted(set(ks)):
        tp = sum(1 for p, y, kk in zip(probs, ys, ks, strict=True) if kk == k and p >= t and y)
        fp = sum(1 for p, y, kk in zip(probs, ys, ks, strict=True) if kk == k and p >= t and not y)
        fn = sum(1 for p, y, kk in zip(probs, ys, ks, strict=True) if kk == k and p < t and y)
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    mean = sum(f1s) / len(f1s)
    var = sum((f - mean) ** 2 for f in f1s) / (len(f1s) - 1) if len(f1s) > 1 else 0.0
    return mean, math.sqrt(var / len(f1s))


class _Fitter:
    """Feature matrices and logistic-regression fits (scikit-learn, imported lazily)."""

    def __init__(self, rows: Sequence[Labelled]) -> None:
        try:
            from scipy.sparse import csr_matrix  # type: ignore[import-untyped]
            from sklearn.linear_model import LogisticRegression
        except ImportError as e:  # pragma: no cover - exercised by hand
            raise SystemExit("training needs scikit-learn: pip install -e '.[train]'") from e
        self._csr = csr_matrix
        self._lr = LogisticRegression
        self.rows = list(rows)
        self.feats = [featurize(r.text) for r in self.rows]
        self.folds = [_fold(r.text) for r in self.rows]

    def _matrix(self, idx: Sequence[int], index: dict[str, int]) -> Any:
        indptr = [0]
        indices: list[int] = []
        for i in idx:
            indices.extend(index[f] for f in self.feats[i] if f in index)
            indptr.append(len(indices))
        return self._csr(([1.0] * len(indices), indices, indptr), shape=(len(idx), len(index)))

    def vocab(self, idx: Sequence[int], min_count: int) -> dict[str, int]:
        counts = Counter(f for i in idx for f in self.feats[i])
        return {f: j for j, f in enumerate(sorted(f for f, n in counts.items() if n >= min_count))}

    def fit(self, head: str, idx: Sequence[int], c: float, min_count: int) -> tuple[float, dict[str, float]]:
        """(bias, weights) of one head fitted on rows ``idx`` (rows with an unknown label are left out)."""
        use = [i for i in idx if self.rows[i].label(head) is not None]
        index = self.vocab(use, min_count)
        y = [bool(self.rows[i].label(head)) for i in use]
        clf = self._lr(C=c, solver="liblinear", random_state=0, max_iter=1000, tol=1e-6)
        clf.fit(self._matrix(use, index), y)
        coef = clf.coef_[0]
        weights = {f: round(float(coef[j]), 4) for f, j in index.items() if abs(coef[j]) >= 1e-3}
        return round(float(clf.intercept_[0]), 4), weights

    def out_of_fold(self, head: str, c: float, min_count: int) -> tuple[list[float], list[bool], list[int]]:
        """Margins of every labelled row from a model that never saw its fold, the labels and the folds."""
        zs: list[float] = []
        ys: list[bool] = []
        ks: list[int] = []
        for k in range(FOLDS):
            train = [i for i, f in enumerate(self.folds) if f != k]
            test = [i for i, f in enumerate(self.folds) if f == k and self.rows[i].label(head) is not None]
            bias, w = self.fit(head, train, c, min_count)
            for i in test:
                zs.append(bias + sum(w.get(f, 0.0) for f in self.feats[i]))
                ys.append(bool(self.rows[i].label(head)))
                ks.append(k)
        return zs, ys, ks

    def platt(self, zs: Sequence[float], ys: Sequence[bool]) -> tuple[float, float]:
        clf = self._lr(C=1e4, solver="lbfgs", max_iter=1000, tol=1e-8)
        clf.fit([[z] for z in zs], list(ys))
        return round(float(clf.coef_[0][0]), 6), round(float(clf.intercept_[0]), 6)


def fit_model(rows: Sequence[Labelled], *, data_note: str, log: Any = None) -> dict[str, Any]:
    """The model dict (as written to ``model.json``) trained and calibrated on ``rows``."""
    fitter = _Fitter(rows)
    cv: list[dict[str, Any]] = []
    scored: list[tuple[float, float, float, int]] = []  # (mean F1, its standard error, C, min_count)
    oof: dict[tuple[float, int], dict[str, tuple[list[float], list[bool], list[int]]]] = {}
    for c in GRID_C:
        for mc in GRID_MIN_COUNT:
            per = {h: fitter.out_of_fold(h, c, mc) for h in HEADS}
            oof[(c, mc)] = per
            means: dict[str, float] = {}
            errors: dict[str, float] = {}
            for h, (zs, ys, ks) in per.items():
                means[h], errors[h] = _fold_f1(zs, ys, ks)
            mean = sum(means.values()) / len(means)
            error = sum(errors.values()) / len(errors)
            scored.append((mean, error, c, mc))
            cv.append(
                {
                    "C": c,
                    "min_count": mc,
                    **{f"f1_{h}": round(means[h], 4) for h in HEADS},
                    "standard_error": round(error, 4),
                }
            )
            if log:
                log(
                    f"cv C={c} min_count={mc}: "
                    + " ".join(f"{h} F1={means[h]:.3f}" for h in HEADS)
                    + f" (se {error:.3f})"
                )
    # The one-standard-error rule: the most regularized configuration whose mean F1 is within one
    # standard error of the best. Fewer, smaller weights carry better to text unlike the training email.
    top = max(scored)
    c, mc = min(((c, -mc) for mean, _, c, mc in scored if mean >= top[0] - top[1]))
    mc = -mc
    heads: dict[str, Any] = {}
    everything = list(range(len(fitter.rows)))
    for h in HEADS:
        zs, ys, _ = oof[(c, mc)][h]
        a, b = fitter.platt(zs, ys)
        probs = [1 / (1 + math.exp(-(a * z + b))) if a * z + b > -35 else 0.0 for z in zs]
        threshold, f1 = _best_f1(probs, ys)
        recall_floor = _recall_floor(probs, ys, PREFILTER_RECALL)
        bias, weights = fitter.fit(h, everything, c, mc)
        heads[h] = {
            "threshold": threshold,
            "prefilter_threshold": recall_floor,
            "prefilter_provenance": (
                f"the highest threshold that keeps {PREFILTER_RECALL:.0%} of the positives in calibrated "
                f"5-fold out-of-fold predictions on {data_note}"
            ),
            "provenance": (
                f"best F1 ({f1:.3f}) of calibrated 5-fold out-of-fold predictions on {data_note}; "
                f"C={c}, min_count={mc} chosen by the same cross-validation (one-standard-error rule)"
            ),
            "calibration": {"a": a, "b": b, "method": "Platt, fitted on out-of-fold margins"},
            "examples": len(ys),
            "positives": sum(ys),
            "bias": bias,
            "weights": dict(sorted(weights.items())),
        }
    return {
        "format": 2,
        "kind": "calibrated-logistic-regression",
        "description": "P(commitment) and P(request) of one sentence, each calibrated",
        "params": {"C": c, "min_count": mc, "solver": "liblinear", "folds": FOLDS},
        "cv": cv,
        "examples": len(fitter.rows),
        "heads": heads,
    }


def train(data: Path = DEFAULT_DATA, out: Path = DEFAULT_OUT, *, log: Any = None) -> dict[str, Any]:
    rows = load_training(data)
    model = fit_model(rows, data_note="Parakweet train + Lin", log=log)
    model["training_data"] = {PARAKWEET_TRAIN: _sha256(data / PARAKWEET_TRAIN), LIN: _sha256(data / LIN)}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(model, indent=0, ensure_ascii=True) + "\n", encoding="utf-8")
    return model


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with the training files")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write model.json")
    a = ap.parse_args(argv)
    model = train(a.data, a.out, log=print)
    size = a.out.stat().st_size
    for h in HEADS:
        head = model["heads"][h]
        print(f"{h}: threshold {head['threshold']} ({head['provenance']}), {len(head['weights'])} weights")
    print(f"wrote {a.out} ({size / 1024:.0f} KiB, {model['examples']} examples)")
    print(f"sha256 {_sha256(a.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
