"""``accounts [NAME]``: every account with its deals, open items and last touch; or one account in full."""

from __future__ import annotations

import json
import shlex
from datetime import date, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from followthrough.cli.params import LIST_LIMIT
from followthrough.cli.report import WIDE, commitments_table
from followthrough.cli.state import OWNER_HELP, not_blank, state
from followthrough.cli.tables import NAME_MIN_WIDTH, Column, fitted_table
from followthrough.config import silent_days
from store import AccountDetail, AccountView, NotFound, Store, money


def _day(at: datetime | None) -> str:
    return at.date().isoformat() if at else "never"


def _silence(a: AccountView) -> str:
    """``"38d SILENT"``, ``"6d"``, ``"never"`` (days since we last wrote or met; silent ones marked)."""
    days = "never" if a.days_since_touch is None else f"{a.days_since_touch}d"
    return f"{days} SILENT" if a.silent else days


def _amount(a: AccountView, wide: bool) -> str:
    if not a.open_deals:
        return "-"
    return f"{a.open_amount:,.0f}" if wide else money(a.open_amount)


def accounts_table(accounts: list[AccountView], width: int, *, total: int | None = None) -> Table:
    """One row per account (silent ones in bold): the name takes the room left and wraps; from
    :data:`WIDE` columns also the tier. The id (typed next) and the name are never cut; too narrow
    for all the columns, the last touch by them goes first, then the tier, by us, the deal count."""
    wide = width >= WIDE
    columns = [
        Column("ID", [str(a.id) for a in accounts], justify="right"),
        Column("Account", [a.name for a in accounts], grow=True, min_width=NAME_MIN_WIDTH),
    ]
    if wide:
        columns.append(Column("Tier", [a.tier or "" for a in accounts], max_width=12, drop=2))
    columns += [
        Column("Deals", [str(a.open_deals) for a in accounts], justify="right", drop=4),
        Column("Open $", [_amount(a, wide) for a in accounts], justify="right"),
        Column(
            "Items",
            [
                f"{a.open_items} ({a.overdue_items} late)" if wide and a.overdue_items else str(a.open_items)
                for a in accounts
            ],
            justify="right",
        ),
        Column("Last by us" if wide else "Us", [_day(a.last_touch_by_us) for a in accounts], drop=3),
        Column("Last by them" if wide else "Them", [_day(a.last_touch_by_them) for a in accounts], drop=1),
        Column("Since", [_silence(a) for a in accounts]),
    ]
    return fitted_table(
        f"Accounts ({len(accounts) if total is None else total})",
        columns,
        width,
        row_styles=["bold" if a.silent else None for a in accounts],
    )


def _deals_table(d: AccountDetail, width: int) -> Table:
    """The account's deals: the deal id (typed next) and the name are never cut; too narrow for all
    the columns, the owner goes first, then the stage, the amount."""
    wide = width >= WIDE
    owners = [deal.owner_email or "" for deal in d.deals]
    columns = [
        Column("Deal", [deal.crm_id for deal in d.deals]),
        Column("Name", [deal.name for deal in d.deals], grow=True, min_width=NAME_MIN_WIDTH),
        Column("Stage", [deal.stage or "" for deal in d.deals], max_width=12, drop=2),
        Column(
            "Amount",
            [f"{deal.amount:,.0f}" if deal.amount is not None else "" for deal in d.deals],
            justify="right",
            drop=3,
        ),
        Column(
            "Owner",
            owners if wide else [o.split("@")[0] for o in owners],
            max_width=22 if wide else 10,
            drop=1,
        ),
        Column("Open", [str(deal.open_count) for deal in d.deals], justify="right"),
    ]
    return fitted_table(f"Deals ({len(d.deals)})", columns, width)


def _render_detail(out: Console, d: AccountDetail, as_of: date, width: int) -> None:
    a = d.account
    t = Table(show_header=False, title=f"Account {a.id}: {escape(a.name)}", title_justify="left")
    t.add_column("field", style="bold", no_wrap=True)
    t.add_column("value", overflow="fold")
    silence = "never touched by us" if a.days_since_touch is None else f"{a.days_since_touch} days since"
    rows = [
        ("tier", a.tier or ""),
        ("domains", ", ".join(a.domains)),
        ("CRM id", a.crm_id or ""),
        ("open deals", f"{a.open_deals} ({_amount(a, True)})" if a.open_deals else "none"),
        ("deal owners", ", ".join(a.deal_owners)),
        ("open items", f"{a.open_items} ({a.overdue_items} overdue)"),
        ("last touch by us", _day(a.last_touch_by_us)),
        ("last touch by them", _day(a.last_touch_by_them)),
        (
            "silence",
            f"{silence}; silent after {a.silent_after_days} days"
            + (": SILENT" if a.silent else "")
            + ("" if a.watched else " (not watched: no open deal)"),
        ),
        ("at stake", "; ".join(a.reasons)),
    ]
    for k, v in rows:
        t.add_row(k, escape(v))
    out.print(t)
    out.print(_deals_table(d, width))
    if d.items:
        out.print(commitments_table(f"Open items ({len(d.items)})", d.items, as_of, width))


def _one(store: Store, name: str, as_of: date, domains: set[str]) -> AccountDetail:
    """The account ``name`` is the listing's id of, else the one it names (see ``store.lookup``)."""
    if name.isdigit():
        try:
            return store.get_account(int(name), as_of, silent_days(), domains)
        except NotFound:
            pass  # a CRM id or a name made of digits
    return store.get_account(store.find_account(name), as_of, silent_days(), domains)


def register(app: typer.Typer) -> None:
    @app.command("accounts")
    def accounts_cmd(
        ctx: typer.Context,
        name: Annotated[
            str | None,
            typer.Argument(
                parser=not_blank,
                metavar="NAME",
                help="One account in full: its name or a part of it, CRM id, domain or id.",
            ),
        ] = None,
        silent: Annotated[
            bool,
            typer.Option("--silent", help="Only accounts nobody on our side has written to or met lately."),
        ] = False,
        owner: Annotated[
            str | None, typer.Option(parser=not_blank, help=OWNER_HELP + " Only accounts with their deals.")
        ] = None,
        limit: Annotated[
            int, typer.Option(min=1, max=1_000_000, help="At most this many accounts.")
        ] = LIST_LIMIT,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Accounts: tier, open deals, open items, last touch by us and by them, silence.

        An account is silent when it has an open deal (or a tier named in FOLLOWTHROUGH_SILENT_DAYS)
        and nobody on our side has written to or met its people for its tier's limit (default 30 days,
        tier 1: 14), counted to --as-of.
        """
        st = state(ctx)
        as_of = st.settings().as_of
        with st.open_store() as store:
            domains = st.company_domains(store)
            if name is not None:
                detail = _one(store, name, as_of, domains)
            else:
                accounts, total = store.top_accounts(
                    as_of, silent_days(), domains, silent=silent, owner=owner, limit=limit
                )
        if name is not None:
            if as_json:
                typer.echo(json.dumps(detail.model_dump(mode="json"), indent=2))
            else:
                _render_detail(st.out, detail, as_of, st.out.width)
            return
        if as_json:
            typer.echo(json.dumps([a.model_dump(mode="json") for a in accounts], indent=2))
        elif not accounts:
            st.out.print("No silent accounts." if silent else "No accounts: load a CRM export first.")
        else:
            table = accounts_table(accounts, st.out.width, total=total)
            if total > len(accounts):
                flags = (" --silent" if silent else "") + (f" --owner {shlex.quote(owner)}" if owner else "")
                table.caption = f"{total - len(accounts)} more: {st.again()} accounts{flags} --limit {total}"
            st.out.print(table)
