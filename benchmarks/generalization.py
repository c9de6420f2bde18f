"""Does the offline detector generalize to a corpus it was not trained on? Leave one corpus out.

    .venv/bin/python benchmarks/generalization.py [--quick] [--json]

Three labelled sources, each held out in turn while the detector is trained on the other two with the
project's own trainer (:func:`extractor.train.fit_model`: 5-fold cross-validation over its small grid,
Platt calibration, per-head thresholds), in memory; ``model.json`` is never written:

* **Parakweet** email intent (``Yes``/``No``: the sentence carries an intent to act). Trained on the
  train split; held out as train + test splits.
* **Lin** Enron task sentences (``Task``: an action to do).
* **BC3 dev** (``../shared/eval``: directed gold, commitment or request). As training data, each message
  read by the project's email connector is cut into the units the offline extractor reads
  (:func:`extractor.offline.units.units`); a unit is a commitment (request) when it overlaps, by
  ``score.py``'s own ``overlaps``, a non-quoted gold row of that type in the same message with >= 1 vote.

Rows:

(a) Parakweet train + Lin -> BC3 dev, through the real product path: the mbox is ingested into a
    throw-away SQLite store, :func:`followthrough.pipeline.extract_pending` runs an
    :class:`~extractor.offline.OfflineExtractor` built on the in-memory model, the predictions are what
    ``followthrough eval`` scores (grounded items of the export), and they are scored by
    :mod:`followthrough.evaluation` and by ``../shared/eval/score.py`` itself (the two must agree):
    commitment and request P/R/F1 (lenient, >= 1 vote) and commitment owner accuracy. This is the
    shipped model's recipe (less the few texts dropped below), so the shipped ``model.json`` is also run
    on the same path and printed as a reference line.
(b) Parakweet train + BC3 -> Lin, and (c) Lin + BC3 -> Parakweet (train + test). Lin and Parakweet
    labels have no direction, so these are scored as binary *intent* per sentence: predicted positive
    when :func:`extractor.offline.rules.decide` says commitment or request; gold positive = ``Task`` /
    ``Yes``, read from the files (the trainer's derived direction labels are training targets, not
    gold). Every sentence of the held-out corpus is scored, duplicates included.

Training rows whose exact text occurs in the held-out corpus are dropped before fitting (the two Enron
corpora share a few sentences), and the count is printed. Beside each row, in the same run and on the
same sentences, the naive regular expression of ``../shared/eval/README.md``: a commitment is a
sentence matching ``\\b(I'll|I will|we will|let me)\\b``, a request one with "please", "could you" or
"?" (case-insensitive); for BC3 the sentences are the extractor's units of the same documents and the
commitment owner is the sender; for (b) and (c) a sentence is positive when either expression fires.
(The README's regex figures differ slightly from this run's: they were measured with another sentence
segmentation.) The train column gives each model's own out-of-fold F1 per head, to set beside its
held-out score. Last, the cross-validation figures recorded in the shipped ``model.json``.

``--quick`` runs row (a) only (one fit). The full run fits three models, in parallel processes
(``--jobs``, default: the number of cores, at most 3); each fit is one core, and the results do not
depend on ``--jobs``. Deterministic: the trainer is, and nothing else here draws at random. No network.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.eval_bc3 import GOLD, MBOX, SCORE, load_documents  # noqa: E402
from extractor.offline import OfflineExtractor  # noqa: E402
from extractor.offline.model import DetectorModel  # noqa: E402
from extractor.offline.rules import decide  # noqa: E402
from extractor.offline.units import units  # noqa: E402
from extractor.people import Directory  # noqa: E402
from extractor.train import (  # noqa: E402
    DEFAULT_DATA,
    DEFAULT_OUT,
    LIN,
    PARAKWEET_TEST,
    PARAKWEET_TRAIN,
    Labelled,
    dedupe,
    fit_model,
    load_lin,
    load_parakweet,
)
from followthrough import pipeline  # noqa: E402
from followthrough.cli.evaluate import predictions  # noqa: E402
from followthrough.evaluation import KINDS  # noqa: E402
from followthrough.evaluation import score as product_score  # noqa: E402
from followthrough.pipeline import RunReport  # noqa: E402
from followthrough.types import SourceDocument  # noqa: E402
from store import Store  # noqa: E402

# The README's naive baseline.
COMMIT_RE = re.compile(r"\b(I'll|I will|we will|let me)\b", re.I)
REQUEST_RE = re.compile(r"please|could you|\?", re.I)
_SCORE_FIELDS = ("predicted", "precision", "recall_lenient", "f1_lenient", "recall_majority", "f1_majority")


def load_scorer(path: Path = SCORE) -> ModuleType:
    """``shared/eval/score.py`` as a module: its ``overlaps`` and ``score`` are the reference."""
    spec = importlib.util.spec_from_file_location("bc3_score", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load the scorer {path}")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def regex_intent(text: str) -> bool:
    return bool(COMMIT_RE.search(text) or REQUEST_RE.search(text))


def _sender(doc: SourceDocument) -> str | None:
    return next((p.email for p in doc.participants if p.role == "sender" and p.email), None)


def bc3_units(docs: Sequence[SourceDocument]) -> list[tuple[SourceDocument, str]]:
    """(message, unit text) for every unit the offline extractor reads, in mbox order."""
    return [(doc, u.text) for doc in docs for u in units(doc, Directory(None, None).people(doc))]


def bc3_rows(
    docs: Sequence[SourceDocument], gold: list[dict[str, Any]], scorer: ModuleType
) -> list[Labelled]:
    """BC3 units labelled from the directed gold (non-quoted rows with >= 1 vote, same message)."""
    by_msg: dict[str, list[dict[str, Any]]] = {}
    for g in gold:
        if not g.get("quoted") and int(g.get("votes", 0)) >= 1:
            by_msg.setdefault(scorer.mid(g["message_id"]), []).append(g)
    rows: list[Labelled] = []
    for doc, text in bc3_units(docs):
        gs = by_msg.get(scorer.mid(doc.external_id), [])
        hit = {k: any(g["type"] == k and scorer.overlaps(text, g["text"]) for g in gs) for k in KINDS}
        rows.append(Labelled(text, "bc3", hit["commitment"], hit["request"]))
    return rows


def train(rows: Sequence[Labelled], held_out: set[str], note: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(model dict, training facts): ``rows`` minus texts of the held-out corpus, deduplicated, fitted."""
    t = time.perf_counter()
    kept = dedupe([r for r in rows if r.text not in held_out])
    dropped = len({r.text for r in rows} & held_out)
    model = fit_model(kept, data_note=note)
    params = (model["params"]["C"], model["params"]["min_count"])
    chosen = next(c for c in model["cv"] if (c["C"], c["min_count"]) == params)
    facts = {
        "sources": note,
        "rows": len(kept),
        "dropped_overlap_with_test": dropped,
        "C": model["params"]["C"],
        "min_count": model["params"]["min_count"],
        "cv_f1": {h: chosen[f"f1_{h}"] for h in KINDS},
        "threshold": {h: model["heads"][h]["threshold"] for h in KINDS},
        "fit_seconds": round(time.perf_counter() - t, 1),
    }
    return model, facts


def train_all(
    jobs: Sequence[tuple[Sequence[Labelled], set[str], str]], workers: int
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """:func:`train` on every job, in worker processes when there are several (each fit is one core)."""
    if workers <= 1 or len(jobs) <= 1:
        return [train(*job) for job in jobs]
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
        futures = [pool.submit(train, *job) for job in jobs]
        return [f.result() for f in futures]


def _kind_dict(s: Any) -> dict[str, Any]:
    return s.as_dict() if hasattr(s, "as_dict") else dict(s)


def _check_same(product: dict[str, dict[str, Any]], reference: dict[str, dict[str, Any]], what: str) -> None:
    for k in KINDS:
        for f in (*_SCORE_FIELDS, "owner_accuracy"):
            a, b = product[k].get(f), reference[k].get(f)
            if a != b and not (isinstance(a, float) and isinstance(b, float) and abs(a - b) < 1e-12):
                raise SystemExit(f"{what}: followthrough.evaluation and score.py differ on {k} {f}: {a}, {b}")


def score_both(gold: list[dict[str, Any]], preds: list[dict[str, Any]], scorer: ModuleType, what: str) -> Any:
    """Scores by the product's scorer, checked field by field against ``score.py``."""
    ours = {k: _kind_dict(v) for k, v in product_score(gold, preds).items()}
    ref = {k: scorer.score(gold, preds, k) for k in KINDS}
    _check_same(ours, ref, what)
    return ref


def bc3_product(model: DetectorModel, mbox: Path) -> list[dict[str, Any]]:
    """Predictions of the real pipeline (ingest, extract, export) with ``model`` as the detector."""
    with tempfile.TemporaryDirectory(prefix="followthrough-generalization-") as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'eval.db'}")
        try:
            rep = RunReport()
            pipeline.ingest_paths(store, [mbox], rep, set())
            if rep.errors:
                raise SystemExit(f"ingest failed: {rep.errors[0]}")
            domains = store.company_domains_from_crm()
            backend = OfflineExtractor(company_domains=domains, directory=store.directory(), model=model)
            try:
                pipeline.extract_pending(store, backend, rep, domains)
            finally:
                backend.close()
            if rep.errors:
                raise SystemExit(f"extraction failed: {rep.errors[0]}")
            return predictions(store)
        finally:
            store.close()


def bc3_regex(docs: Sequence[SourceDocument]) -> list[dict[str, Any]]:
    preds: list[dict[str, Any]] = []
    for doc, text in bc3_units(docs):
        base = {"message_id": doc.external_id, "evidence": text, "due": None}
        if COMMIT_RE.search(text):
            preds.append({**base, "type": "commitment", "owner": _sender(doc)})
        if REQUEST_RE.search(text):
            preds.append({**base, "type": "request", "owner": None})
    return preds


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


def binary(model: DetectorModel, rows: Sequence[tuple[str, bool]]) -> dict[str, Any]:
    """Sentence-level intent P/R/F1 of the detector and of the regex on the same rows."""
    counts = {"detector": [0, 0, 0], "regex": [0, 0, 0]}  # tp, fp, fn
    for text, y in rows:
        d = decide(text, model)
        for name, hit in (("detector", d.commitment or d.request), ("regex", regex_intent(text))):
            c = counts[name]
            c[0] += hit and y
            c[1] += hit and not y
            c[2] += (not hit) and y
    out: dict[str, Any] = {"sentences": len(rows), "positives": sum(y for _, y in rows)}
    for name, (tp, fp, fn) in counts.items():
        out[name] = {"predicted": tp + fp, **_prf(tp, fp, fn)}
    return out


def run(
    quick: bool, workers: int = 1, data: Path = DEFAULT_DATA, mbox: Path = MBOX, gold_path: Path = GOLD
) -> dict[str, Any]:
    t0 = time.perf_counter()
    scorer = load_scorer()
    gold: list[dict[str, Any]] = scorer.load(str(gold_path))
    docs = load_documents(mbox)
    pk_train = load_parakweet(data / PARAKWEET_TRAIN)
    lin = load_lin(data / LIN)
    bc3 = bc3_rows(docs, gold, scorer)
    shipped = json.loads(DEFAULT_OUT.read_text(encoding="utf-8"))  # read once: printed and run
    out: dict[str, Any] = {
        "bc3_units": {
            "units": len(bc3),
            "commitment": sum(bool(r.commitment) for r in bc3),
            "request": sum(bool(r.request) for r in bc3),
        },
        "rows": {},
    }

    # (a) Parakweet train + Lin -> BC3 dev; (b) Parakweet train + BC3 -> Lin; (c) Lin + BC3 -> Parakweet.
    jobs = [(pk_train + lin, {r.text for r in bc3}, "Parakweet train + Lin")]
    tests: list[tuple[str, str, list[tuple[str, bool]]]] = []
    if not quick:
        lin_gold = [(r.text, bool(r.intent)) for r in load_lin(data / LIN)]
        pk_gold = [
            (r.text, bool(r.intent))
            for path in (PARAKWEET_TRAIN, PARAKWEET_TEST)
            for r in load_parakweet(data / path, source="parakweet")
        ]
        same_lin = [t for t, _ in lin_gold] == [r.text for r in lin]
        same_pk = [t for t, _ in pk_gold[: len(pk_train)]] == [r.text for r in pk_train]
        if not (same_lin and same_pk):
            raise SystemExit("the gold readers here no longer read the files as extractor.train does")
        tests = [("b", "Lin", lin_gold), ("c", "Parakweet train + test", pk_gold)]
        jobs.append((pk_train + bc3, {t for t, _ in lin_gold}, "Parakweet train + BC3 dev"))
        jobs.append((lin + bc3, {t for t, _ in pk_gold}, "Lin + BC3 dev"))
    fitted = train_all(jobs, workers)

    t = time.perf_counter()
    d, facts = fitted[0]
    preds = bc3_product(DetectorModel.from_dict(d), mbox)
    shipped_preds = bc3_product(DetectorModel.from_dict(shipped), mbox)
    out["rows"]["a"] = {
        "train": facts,
        "test": "BC3 dev (product path)",
        "detector": score_both(gold, preds, scorer, "detector"),
        "regex": score_both(gold, bc3_regex(docs), scorer, "regex"),
        "shipped_model_json": score_both(gold, shipped_preds, scorer, "shipped model"),
        "test_seconds": round(time.perf_counter() - t, 1),
    }
    for (key, test_name, test_rows), (d, facts) in zip(tests, fitted[1:], strict=True):
        t = time.perf_counter()
        res = binary(DetectorModel.from_dict(d), test_rows)
        secs = round(time.perf_counter() - t, 1)
        out["rows"][key] = {"train": facts, "test": test_name, **res, "test_seconds": secs}

    out["shipped_model"] = {
        "params": shipped.get("params"),
        "examples": shipped.get("examples"),
        "cv": shipped.get("cv"),
        "heads": {
            h: {k: shipped["heads"][h].get(k) for k in ("threshold", "provenance", "examples", "positives")}
            for h in KINDS
        },
    }
    out["quick"] = quick
    out["workers"] = workers
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def _f(x: float | None) -> str:
    return "  -  " if x is None else f"{x:.2f}"


def _prf_cell(r: dict[str, Any], kind: bool = False) -> str:
    """P/R/F1 of a binary row, or (``kind``) of a score.py row with lenient recall."""
    rec, f1 = (r["recall_lenient"], r["f1_lenient"]) if kind else (r["recall"], r["f1"])
    return f"P={_f(r['precision'])} R={_f(rec)} F1={_f(f1)} (pred {r['predicted']})"


def render(out: dict[str, Any]) -> str:
    lines = ["Leave-one-corpus-out: offline detector vs naive regex, same run, same sentences", ""]
    w = 36
    lines.append(f"{'row / measure':<{w}} {'detector':<34} {'regex baseline':<34}")
    lines.append("-" * (w + 70))
    for key, row in out["rows"].items():
        tr = row["train"]
        lines.append(f"({key}) {tr['sources']} -> {row['test']}")
        cv, th = tr["cv_f1"], tr["threshold"]
        lines.append(
            f"    train: {tr['rows']} distinct sentences ({tr['dropped_overlap_with_test']} dropped: "
            f"text in test); C={tr['C']} min_count={tr['min_count']}"
        )
        lines.append(
            f"    out-of-fold F1 commitment {cv['commitment']:.3f} request {cv['request']:.3f}; "
            f"thresholds commitment {th['commitment']:.2f} request {th['request']:.2f}"
        )
        if key == "a":
            det, rx = row["detector"], row["regex"]
            for k in KINDS:
                label = f"    {k} (lenient, gold {det[k]['gold_lenient']})"
                lines.append(f"{label:<{w}} {_prf_cell(det[k], True):<34} {_prf_cell(rx[k], True):<34}")
            label = "    commitment owner accuracy"
            da, ra = det["commitment"].get("owner_accuracy"), rx["commitment"].get("owner_accuracy")
            lines.append(f"{label:<{w}} {_f(da):<34} {_f(ra):<34}")
            for k in KINDS:
                label = f"    {k} F1 (majority, gold {det[k]['gold_majority']})"
                lines.append(f"{label:<{w}} {_f(det[k]['f1_majority']):<34} {_f(rx[k]['f1_majority']):<34}")
            sh = row["shipped_model_json"]
            lines.append(
                "    for reference, shipped model.json on the same path: "
                + "; ".join(f"{k} {_prf_cell(sh[k], True)}" for k in KINDS)
            )
        else:
            label = f"    intent ({row['sentences']} sent., {row['positives']} pos.)"
            lines.append(f"{label:<{w}} {_prf_cell(row['detector']):<34} {_prf_cell(row['regex']):<34}")
        lines.append(f"    (fit {tr['fit_seconds']:.1f} s, test {row['test_seconds']:.1f} s)")
    if out["quick"]:
        lines.append("(--quick: rows (b) and (c) skipped)")
    u = out["bc3_units"]
    lines.append(
        f"BC3 as training data: {u['units']} units, {u['commitment']} commitment, {u['request']} request "
        "(overlap with a non-quoted gold row, >= 1 vote)"
    )
    sm = out["shipped_model"]
    lines += ["", f"Shipped model.json: {sm['examples']} examples, chosen {sm['params']}"]
    lines.append("  5-fold CV grid (best-threshold F1 of out-of-fold predictions, per head):")
    for c in sm["cv"] or []:
        lines.append(
            f"    C={c['C']:<4} min_count={c['min_count']}  F1 commitment {c['f1_commitment']:.4f}  "
            f"request {c['f1_request']:.4f}"
        )
    for h, head in sm["heads"].items():
        n = f"{head['positives']}/{head['examples']} positive"
        lines.append(f"  {h}: threshold {head['threshold']} ({n})")
        lines.append(f"    provenance: {head['provenance']}")
    lines.append(f"\ntotal {out['seconds']:.1f} s ({out['workers']} worker process(es) for the fits)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true", help="row (a) only (one fit)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    cores = min(3, os.cpu_count() or 1)
    ap.add_argument("--jobs", type=int, default=cores, help="processes for the fits (default: cores, <= 3)")
    a = ap.parse_args(argv)
    out = run(a.quick, a.jobs)
    print(json.dumps(out, indent=2) if a.json else render(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
