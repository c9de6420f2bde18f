"""``commitments edit``: correct an item's owner, due date, action, type or deal by hand.

Every change is one history entry naming who made it (:func:`cli_actor`), and a
corrected field is never overwritten by a later extraction (see
:meth:`store.Store.correct`).
"""

from __future__ import annotations

import getpass
import json
from datetime import date
from typing import Annotated

import typer
from rich.markup import escape

from followthrough.cli.dates import DATE_HELP, day
from followthrough.cli.params import IdArg, not_one_of
from followthrough.cli.state import not_blank, state
from followthrough.types import ItemType

NONE = "none"
"""``--due none``: the item has no due date."""


def cli_actor() -> str:
    """Who a change made from the command line is recorded as: ``cli:<login name>`` (``cli`` if unknown)."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name in the environment nor the password database
        return "cli"
    return f"cli:{user}" if user else "cli"


def _due(value: str) -> str:
    """``--due``: a date as :mod:`followthrough.cli.dates` reads it (ISO, 03/20/2026, "next friday"),
    returned as ``YYYY-MM-DD``, or ``none``; a usage error worded as every date option's otherwise
    (``or none`` added)."""
    if value.strip().lower() == NONE:
        return NONE
    return day(value, also=NONE).isoformat()


def _item_type(value: str) -> ItemType:
    """``--type``: ``commitment`` or ``request``; a usage error otherwise."""
    if value == "commitment":
        return "commitment"
    if value == "request":
        return "request"
    raise typer.BadParameter(not_one_of(value, ("commitment", "request")))


def edit_cmd(
    ctx: typer.Context,
    cid: IdArg,
    owner: Annotated[
        str | None,
        typer.Option(
            parser=not_blank,
            metavar="WHO",
            help="The owner: an email, or a name known from the CRM or the documents.",
        ),
    ] = None,
    due: Annotated[
        str | None,
        typer.Option(parser=_due, metavar="DATE|none", help="The due date; none removes it. " + DATE_HELP),
    ] = None,
    action: Annotated[
        str | None, typer.Option(parser=not_blank, metavar="TEXT", help="What is to be done, reworded.")
    ] = None,
    type_: Annotated[
        ItemType | None,
        typer.Option("--type", parser=_item_type, metavar="<commitment|request>", help="What the item is."),
    ] = None,
    deal: Annotated[
        str | None,
        typer.Option(
            metavar="CRM_ID", help="Link to this deal: its CRM id or a unique part of its name; none unlinks."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the commitment as JSON.")] = False,
) -> None:
    """Correct what the extraction got wrong; a later run never overwrites a correction.

    Each change is kept in the item's history with who made it (your login name).
    Exit code: 0 done, 1 unknown id, deal or owner, 2 a bad value.
    """
    if owner is None and due is None and action is None and type_ is None and deal is None:
        raise typer.BadParameter("nothing to change: give --owner, --due, --action, --type or --deal", ctx)
    st = state(ctx)
    unlink = deal is not None and deal.strip().lower() == NONE
    with st.open_store() as store:
        before = len(store.get_commitment(cid).history)
        view = store.correct(
            cid,
            actor=cli_actor(),
            owner=owner,
            due=date.fromisoformat(due) if due is not None and due != NONE else None,  # _due's ISO day
            clear_due=due == NONE,
            action=action,
            type=type_,
            deal=None if unlink else deal,
            unlink=unlink,
            domains=st.company_domains(store),
            as_of=st.settings().as_of,
        )
    if as_json:
        typer.echo(json.dumps(view.model_dump(mode="json"), indent=2))
        return
    changes = view.history[before:]
    st.out.print(f"Commitment {cid}: " + (f"{len(changes)} change(s)." if changes else "nothing changed."))
    for h in changes:
        st.out.print(escape(f"  {h.field}: {h.old or '-'} → {h.new or '-'}"), highlight=False)
