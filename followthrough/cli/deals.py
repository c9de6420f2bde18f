"""``deals`` and ``digest``."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from followthrough.cli.report import _all, _ranked, commitments_table
from followthrough.cli.state import state
from store.views import CommitmentFilter


def register(app: typer.Typer) -> None:
    @app.command("deals")
    def deals_cmd(
        ctx: typer.Context,
        deal: Annotated[str | None, typer.Argument(help="A deal CRM id: show its commitments.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Deals with their open and overdue commitments (or one deal's commitments)."""
        st = state(ctx)
        as_of = st.settings().as_of
        store = st.open_store()
        try:
            if deal:
                items = _ranked(store.deal_commitments(deal, as_of))
                if as_json:
                    typer.echo(json.dumps([i.model_dump(mode="json") for i in items], indent=2))
                else:
                    st.out.print(
                        commitments_table(f"Deal {deal}: {len(items)} item(s)", items, as_of, st.out.width)
                    )
                return
            deals = store.list_deals(as_of)
        finally:
            store.close()
        if as_json:
            typer.echo(json.dumps([d.model_dump(mode="json") for d in deals], indent=2))
            return
        table = Table(title=f"Deals ({len(deals)})", title_justify="left")
        for col, just in (
            ("Deal", "left"),
            ("Name", "left"),
            ("Account", "left"),
            ("Stage", "left"),
            ("Amount", "right"),
            ("Close", "left"),
            ("Open", "right"),
            ("Overdue", "right"),
            ("Health", "left"),
        ):
            table.add_column(col, justify=just)  # type: ignore[arg-type]
        for d in deals:
            table.add_row(
                d.crm_id,
                d.name,
                d.account,
                d.stage or "",
                f"{d.amount:,.0f}" if d.amount is not None else "",
                d.close_date.isoformat() if d.close_date else "",
                str(d.open_count),
                str(d.overdue_count),
                d.health,
            )
        st.out.print(table)

    @app.command("digest")
    def digest_cmd(
        ctx: typer.Context,
        owner: Annotated[str, typer.Option("--owner", help="Owner email (or name).")],
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """One person's open commitments: overdue first, then due soon, then the rest."""
        st = state(ctx)
        as_of = st.settings().as_of
        store = st.open_store()
        try:
            items = _all(store, CommitmentFilter(status="open", owner=owner, as_of=as_of, limit=500))
        finally:
            store.close()
        overdue = _ranked([c for c in items if c.due and c.due < as_of])
        soon = _ranked([c for c in items if c.due and 0 <= (c.due - as_of).days <= 7])
        rest = _ranked([c for c in items if c not in overdue and c not in soon])
        if as_json:
            typer.echo(
                json.dumps(
                    {
                        k: [i.model_dump(mode="json") for i in v]
                        for k, v in (("overdue", overdue), ("due_soon", soon), ("other", rest))
                    },
                    indent=2,
                )
            )
            return
        n_commit = sum(1 for c in items if c.type == "commitment")
        st.out.print(
            f"[bold]{owner}[/bold]: {n_commit} open commitment(s), {len(items) - n_commit} open request(s); "
            f"{len(overdue)} overdue, {len(soon)} due in the next 7 days."
        )
        for title, group in (("Overdue", overdue), ("Due soon", soon), ("Other open", rest)):
            if group:
                st.out.print(commitments_table(title, group, as_of, st.out.width))
