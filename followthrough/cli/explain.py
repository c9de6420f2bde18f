"""``explain``: why the offline extractor decides what it decides about one sentence.

Prints the cues that fired (with their meaning), the calibrated probability of
each class beside its threshold, the rules that decided, and the items the
extractor would store. The tool to fix a miss without breaking ten other
sentences: change a cue or a rule, then ``explain`` the sentence and run the
casebook (``pytest tests/test_casebook.py``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time
from typing import Annotated, Any

import typer
from rich.markup import escape

from followthrough.cli.state import state


def register(app: typer.Typer) -> None:
    app.command("explain")(explain)


def explain(
    ctx: typer.Context,
    sentence: Annotated[
        str,
        typer.Argument(
            metavar="SENTENCE", help="The text to explain (quote it; put -- before text that starts with -)."
        ),
    ],
    speaker: Annotated[str | None, typer.Option("--speaker", help="Who says it (a name).")] = None,
    internal: Annotated[
        bool | None,
        typer.Option(
            "--internal/--external",
            help="The speaker is on our side / the customer's side (default: unknown, taken as ours).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the cues, class probabilities and the rule that decided, for one sentence."""
    from extractor.offline import OfflineExtractor
    from extractor.offline.cues import CUE_BY_NAME

    # Arguments from a terminal in a broken encoding hold lone surrogates: show them as U+FFFD.
    sentence = sentence.encode("utf-8", "replace").decode("utf-8")
    if not sentence.strip():
        raise typer.BadParameter("give a sentence to explain", param_hint="SENTENCE")
    ex = OfflineExtractor()
    as_of = state(ctx).settings().as_of
    now = datetime.combine(as_of, time(12), tzinfo=UTC)
    e = ex.explain(sentence, speaker=speaker, internal=internal, now=now)
    model = ex.detector
    if as_json:
        out: dict[str, Any] = {
            "sentence": sentence,
            "parts": [
                {
                    "text": text,
                    "decision": d.label,
                    "rule": d.rule,
                    "reason": d.reason,
                    "cues": d.cues.names(),
                    "p_commitment": round(d.scores.commitment, 4),
                    "p_request": round(d.scores.request, 4),
                }
                for text, d in e.parts
            ],
            "thresholds": {"commitment": model.commitment.threshold, "request": model.request.threshold},
            "items": [i.model_dump(mode="json") for i in e.items],
            "notes": e.notes,
        }
        typer.echo(json.dumps(out, indent=2, ensure_ascii=False))
        return
    out_console = state(ctx).out
    for text, d in e.parts:
        if len(e.parts) > 1:
            out_console.print(f"[bold]clause[/bold] {escape(text)}")
        out_console.print(f"[bold]decision[/bold]  {d.label}  (rule: {d.rule})")
        out_console.print(f"  why: {escape(d.reason)}")
        out_console.print(
            f"  P(commitment) = {d.scores.commitment:.2f}  threshold {model.commitment.threshold:.2f}"
        )
        out_console.print(
            f"  P(request)    = {d.scores.request:.2f}  threshold {model.request.threshold:.2f}"
        )
        names = d.cues.names()
        out_console.print("  cues: " + ("none" if not names else ""))
        for name in names:
            cue = CUE_BY_NAME[name]
            out_console.print(f"    {name:<15} {cue.group:<10} {escape(cue.meaning)}")
    for note in e.notes:
        out_console.print(f"[bold]note[/bold] {escape(note)}")
    out_console.print(f"[bold]items[/bold] ({len(e.items)})")
    for item in e.items:
        bits = [item.type, f"owner {item.owner or '-'}"]
        if item.due:
            bits.append(f"due {item.due.isoformat()} ({item.due_text})")
        if item.flags:
            bits.append("flags " + ",".join(item.flags))
        out_console.print("  " + escape(" · ".join(bits)))
        out_console.print(f"    action: {escape(item.action)}")
        out_console.print(f"    evidence: {escape(item.evidence.quote)}")
