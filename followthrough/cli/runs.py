"""``runs``: past extraction runs with their documents, tokens and cost."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from followthrough.cli.report import clip
from followthrough.cli.state import state


def register(app: typer.Typer) -> None:
    @app.command("runs")
    def runs_cmd(
        ctx: typer.Context,
        limit: Annotated[int, typer.Option(min=1, max=100_000, help="How many recent runs.")] = 20,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Recent extraction runs: status, extractor, model, prompt version, documents, tokens, cost.

        Status: running, ok, partial (some documents failed), failed, or interrupted (its process
        was killed; marked when the next run starts).
        """
        st = state(ctx)
        with st.open_store() as store:
            runs = store.list_runs(limit)
        if as_json:
            typer.echo(json.dumps([r.model_dump(mode="json") for r in runs], indent=2))
            return
        wide = st.out.width >= 150
        table = Table(title=f"Runs ({len(runs)})", title_justify="left")
        columns = [
            "ID",
            "Started",
            "Status",
            "Extractor",
            "Docs",
            "Items",
            "Cached",
            "Failed",
            "Tokens",
            "Cost",
        ]
        if not wide:
            columns.remove("Cached")  # 80 columns: the rest must fit; --json has everything
        if wide:
            columns[4:4] = ["Prompt"]
            columns.insert(-2, "Ungrounded")
        if any(r.stats.get("held") for r in runs):  # documents held back after running out of the budget
            columns.insert(columns.index("Failed") + 1, "Held")
        for col in columns:
            left = col in ("Started", "Status", "Extractor", "Prompt")
            header = {
                "Cached": "Cache",
                "Failed": "Fail",
                "Tokens": "Tokens in/out" if wide else "Tokens",
            }
            name = header.get(col, col)
            table.add_column(name, justify="left" if left else "right", no_wrap=True, min_width=len(name))
        for r in runs:
            backend = r.extractor if r.model in (r.extractor, "") else f"{r.extractor}:{r.model}"
            cells = {
                "ID": str(r.id),
                "Started": r.started_at.strftime("%Y-%m-%d %H:%M" if wide else "%m-%d %H:%M"),
                "Status": r.status,
                "Extractor": clip(backend, 40 if wide else 14),
                "Prompt": clip(r.prompt_version, 24),
                "Docs": str(r.documents),
                "Items": str(r.items),
                "Cached": str(r.cached),
                "Failed": str(r.failed),
                "Held": str(r.stats.get("held", 0)),
                "Ungrounded": str(r.ungrounded),
                "Tokens": f"{r.prompt_tokens}/{r.completion_tokens}",
                "Cost": f"${r.cost_usd:.4f}" if r.cost_usd else "-",
            }
            table.add_row(*(cells[c] for c in columns))
        st.out.print(table)
