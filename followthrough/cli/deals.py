"""``deals`` and ``digest``."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from followthrough.cli.report import all_items, clip, commitments_table, fit, ranked
from followthrough.cli.state import state
from store import CommitmentFilter


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
        with st.open_store() as store:
            if deal:
                items = ranked(store.deal_commitments(deal, as_of))
                if as_json:
                    typer.echo(json.dumps([i.model_dump(mode="json") for i in items], indent=2))
                else:
                    st.out.print(
                        commitments_table(f"Deal {deal}: {len(items)} item(s)", items, as_of, st.out.width)
                    )
                return
            deals = store.list_deals(as_of)
        if as_json:
            typer.echo(json.dumps([d.model_dump(mode="json") for d in deals], indent=2))
            return
        wide = st.out.width >= 120
        table = Table(title=f"Deals ({len(deals)})", title_justify="left")
        fixed = {"Deal": max(4, min(12, max((len(d.crm_id) for d in deals), default=4)))}
        fixed |= (
            {"Account": 20, "Stage": 12, "Amount": 10, "Close": 10} if wide else {"Stage": 11, "Amount": 6}
        )
        fixed |= {"Open": 4, "Late": 4, "Health": 9}
        room = fit(fixed, st.out.width, 12)
        table.add_column("Deal", width=fixed["Deal"], no_wrap=True)
        table.add_column("Name", width=room, no_wrap=True)
        for col in fixed:
            if col != "Deal":
                right = col in ("Amount", "Open", "Late")
                table.add_column(col, width=fixed[col], no_wrap=True, justify="right" if right else "left")
        for d in deals:
            amount = ""
            if d.amount is not None:
                amount = f"{d.amount:,.0f}" if wide else f"${d.amount / 1000:,.0f}k"
            values = {
                "Account": d.account,
                "Stage": d.stage or "",
                "Amount": amount,
                "Close": d.close_date.isoformat() if d.close_date else "",
                "Open": str(d.open_count),
                "Late": str(d.overdue_count),
                "Health": d.health,
            }
            row = [clip(d.crm_id, fixed["Deal"]), clip(d.name, room)]
            row += [clip(values[col], fixed[col]) for col in fixed if col != "Deal"]
            table.add_row(*map(escape, row))
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
        with st.open_store() as store:
            items = all_items(store, CommitmentFilter(status="open", owner=owner, as_of=as_of, limit=500))
        overdue = ranked([c for c in items if c.due and c.due < as_of])
        soon = ranked([c for c in items if c.due and 0 <= (c.due - as_of).days <= 7])
        rest = ranked([c for c in items if c not in overdue and c not in soon])
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
