"""``runs``: past extraction runs with their documents, tokens and cost."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from followthrough.cli.state import state


def register(app: typer.Typer) -> None:
    @app.command("runs")
    def runs_cmd(
        ctx: typer.Context,
        limit: Annotated[int, typer.Option(min=1, help="How many recent runs.")] = 20,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Recent extraction runs: extractor, model, prompt version, documents, tokens, cost."""
        st = state(ctx)
        store = st.open_store()
        try:
            runs = store.list_runs(limit)
        finally:
            store.close()
        if as_json:
            typer.echo(json.dumps([r.model_dump(mode="json") for r in runs], indent=2))
            return
        table = Table(title=f"Runs ({len(runs)})", title_justify="left")
        for col in (
            "ID",
            "Started",
            "Extractor",
            "Model",
            "Prompt",
            "Docs",
            "Items",
            "Cached",
            "Failed",
            "Ungrounded",
            "Tokens in/out",
            "Cost",
        ):
            table.add_column(
                col,
                justify="right"
                if col in ("ID", "Docs", "Items", "Cached", "Failed", "Ungrounded", "Cost")
                else "left",
            )
        for r in runs:
            table.add_row(
                str(r.id),
                r.started_at.strftime("%Y-%m-%d %H:%M"),
                r.extractor,
                r.model,
                r.prompt_version[:20],
                str(r.documents),
                str(r.items),
                str(r.cached),
                str(r.failed),
                str(r.ungrounded),
                f"{r.prompt_tokens}/{r.completion_tokens}",
                f"${r.cost_usd:.4f}",
            )
        st.out.print(table)
