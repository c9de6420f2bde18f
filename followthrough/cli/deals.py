"""``deals`` (``digest`` is in :mod:`followthrough.cli.digest`)."""

from __future__ import annotations

import json
import shlex
from typing import Annotated

import typer

from followthrough.cli.params import LIST_LIMIT
from followthrough.cli.report import WIDE, commitments_table, ranked
from followthrough.cli.state import OWNER_HELP, not_blank, state
from followthrough.cli.tables import NAME_MIN_WIDTH, Column, fitted_table
from store import money


def register(app: typer.Typer) -> None:
    @app.command("deals")
    def deals_cmd(
        ctx: typer.Context,
        deal: Annotated[
            str | None,
            typer.Argument(
                parser=not_blank,
                metavar="DEAL",
                help="A deal's CRM id (any case) or a unique part of its name: show its commitments.",
            ),
        ] = None,
        owner: Annotated[
            str | None, typer.Option(parser=not_blank, help=OWNER_HELP + " Only the deals they own.")
        ] = None,
        limit: Annotated[
            int, typer.Option(min=1, max=1_000_000, help="At most this many deals.")
        ] = LIST_LIMIT,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Deals with their open and overdue commitments, worst first (or one deal's commitments)."""
        st = state(ctx)
        as_of = st.settings().as_of
        with st.open_store() as store:
            if deal:
                deal = store.find_deal(deal)
                items = ranked(store.deal_commitments(deal, as_of))
                if as_json:
                    typer.echo(json.dumps([i.model_dump(mode="json") for i in items], indent=2))
                else:
                    st.out.print(
                        commitments_table(f"Deal {deal}: {len(items)} item(s)", items, as_of, st.out.width)
                    )
                return
            email = store.find_person(owner).email if owner else None
            deals = store.list_deals(as_of, limit=limit, owner_email=email)
            total = store.count_deals(owner_email=email) if len(deals) == limit else len(deals)
        if as_json:
            typer.echo(json.dumps([d.model_dump(mode="json") for d in deals], indent=2))
            return
        wide = st.out.width >= WIDE
        amounts = ["" if d.amount is None else f"{d.amount:,.0f}" if wide else money(d.amount) for d in deals]
        # The deal id (typed next) and the name are never left out; the others go, Account first.
        columns = [
            Column("Deal", [d.crm_id for d in deals]),
            Column("Name", [d.name for d in deals], grow=True, min_width=NAME_MIN_WIDTH),
        ]
        if wide:
            columns.append(Column("Account", [d.account for d in deals], max_width=18, drop=1))
        columns += [
            Column("Stage", [d.stage or "" for d in deals], max_width=14 if wide else 11, drop=3),
            Column("Amount", amounts, justify="right", drop=5),
        ]
        if wide:
            columns.append(
                Column("Close", [d.close_date.isoformat() if d.close_date else "" for d in deals], drop=2)
            )
        columns += [
            Column("Open", [str(d.open_count) for d in deals], justify="right", drop=6),
            Column("Late", [str(d.overdue_count) for d in deals], justify="right", drop=4),
            Column("Health", [d.health for d in deals]),
        ]
        table = fitted_table(f"Deals ({total})", columns, st.out.width)
        if total > len(deals):
            mine = f" --owner {shlex.quote(owner)}" if owner else ""
            table.caption = f"{total - len(deals)} more: {st.again()} deals{mine} --limit {total}"
        st.out.print(table)
