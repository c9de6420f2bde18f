"""``eval``: run the normal pipeline on labelled input and score it like score.py."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from followthrough import pipeline
from followthrough.backends import LlmOptions, build_extractor
from followthrough.cli.export import predictions as export_predictions
from followthrough.cli.state import state
from followthrough.config import ExtractorName, Settings
from followthrough.errors import InputError
from followthrough.evaluation import KINDS, KindScore, load_jsonl, score
from followthrough.pipeline import RunReport
from store import Store


def predictions(store: Store) -> list[dict[str, Any]]:
    """What ``export --format jsonl`` writes for every item (any status; items that failed grounding
    left out): the lines score.py reads."""
    return export_predictions(store)


def _fmt(x: float | None) -> str:
    return "" if x is None else f"{x:.2f}"


def _render(st_out: Any, scores: dict[str, KindScore], show: int) -> None:
    table = Table(title="Extraction quality", title_justify="left")
    table.caption = "R, F1: lenient (>= 1 vote); maj: majority (>= 2 votes); owner: owner accuracy"
    for col in ("type", "pred", "P", "R", "F1", "R maj", "F1 maj", "owner"):
        table.add_column(col, justify="left" if col == "type" else "right", no_wrap=True)
    for k, s in scores.items():
        table.add_row(
            k,
            str(s.predicted),
            _fmt(s.precision),
            _fmt(s.recall_lenient),
            _fmt(s.f1_lenient),
            _fmt(s.recall_majority),
            _fmt(s.f1_majority),
            _fmt(s.owner_accuracy),
        )
    st_out.print(table)
    if show <= 0:
        return
    for k, s in scores.items():
        if s.misses:
            t = Table(title=f"Worst {k} misses (gold, most votes first)", title_justify="left")
            t.add_column("votes", justify="right")
            t.add_column("message")
            t.add_column("sentence", overflow="fold")
            for m in s.misses[:show]:
                t.add_row(*map(escape, (str(m.get("votes")), str(m.get("message_id")), str(m.get("text")))))
            st_out.print(t)
        if s.false_alarms:
            t = Table(title=f"{k} false alarms", title_justify="left")
            t.add_column("message")
            t.add_column("owner")
            t.add_column("evidence", overflow="fold")
            for fa in s.false_alarms[:show]:
                t.add_row(
                    *map(
                        escape,
                        (str(fa.get("message_id")), str(fa.get("owner") or ""), str(fa.get("evidence"))),
                    )
                )
            st_out.print(t)


def register(app: typer.Typer) -> None:
    @app.command("eval")
    def eval_cmd(
        ctx: typer.Context,
        inputs: Annotated[
            list[Path],
            typer.Argument(metavar="INPUT...", help="Labelled input (e.g. shared/eval/bc3-dev.mbox)."),
        ],
        gold: Annotated[Path, typer.Option("--gold", help="Gold JSONL (shared/eval/*.gold.jsonl format).")],
        extractor: Annotated[str | None, typer.Option("--extractor", help=" | ".join(ExtractorName))] = None,
        model: Annotated[str | None, typer.Option("--model", help="Model name for the LLM backend.")] = None,
        show: Annotated[
            int, typer.Option("--show", min=0, help="Rows of misses and false alarms to list.")
        ] = 15,
        pred_out: Annotated[
            Path | None, typer.Option("--predictions", help="Also write the predictions JSONL here.")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print scores as JSON.")] = False,
    ) -> None:
        """Score the pipeline on labelled data (precision, recall, F1, owner accuracy, misses).

        It runs on a store of its own in a temporary directory, removed when it ends: your database and
        FOLLOWTHROUGH_HOME (~/.followthrough) are left as they were.
        """
        st = state(ctx)
        gold_rows = load_jsonl(gold)
        labelled = [r for r in gold_rows if r.get("type") in KINDS and r.get("message_id")]
        if not labelled:
            raise InputError(
                gold, "no gold rows: each line needs message_id and a type of commitment or request"
            )
        # Everything eval creates lives in a temporary directory, removed when it ends: its own store,
        # never the user's database, and nothing under ~/.followthrough (FOLLOWTHROUGH_HOME).
        with tempfile.TemporaryDirectory(prefix="followthrough-eval-") as tmp:
            settings = Settings.resolve(
                database=f"sqlite:///{Path(tmp) / 'eval.db'}",
                as_of=st.as_of,
                domains=st.domains,
                extractor=extractor,
                model=model,
            )
            with Store(settings.database_url) as store:
                rep = RunReport()
                pipeline.ingest_paths(store, inputs, rep, settings.company_domains)
                domains = settings.company_domains or store.company_domains_from_crm()
                backend = build_extractor(
                    settings, domains=domains, directory=store.directory(), options=LlmOptions()
                )
                try:
                    pipeline.extract_pending(store, backend, rep, domains)
                finally:
                    backend.close()
                preds = predictions(store)
        for e in rep.errors:
            st.err.print(f"error: {e}", highlight=False, markup=False)
        if not rep.documents_seen:
            if rep.errors:
                raise typer.Exit(1)  # each unreadable input was named above
            raise InputError(", ".join(str(p) for p in inputs), "nothing could be read: no document to score")
        if pred_out is not None:
            with pred_out.open("w", encoding="utf-8") as fh:
                for p in preds:
                    fh.write(json.dumps(p, default=str, ensure_ascii=False) + "\n")
        scores = score(gold_rows, preds)
        if as_json:
            out: dict[str, object] = {k: scores[k].as_dict() for k in KINDS}
            out["run"] = {"documents": rep.documents_seen, "extractor": settings.extractor}
            typer.echo(json.dumps(out, indent=2))
            return
        st.out.print(
            f"{rep.documents_seen} documents, extractor {settings.extractor}, {len(preds)} predictions."
        )
        _render(st.out, scores, show)
