"""``commitments list|show|done|snooze|dismiss|reopen|link|edit``."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from followthrough.cli.corrections import cli_actor, edit_cmd
from followthrough.cli.merge import split_cmd
from followthrough.cli.report import all_items, commitments_table, ranked
from followthrough.cli.state import OWNER_HELP, not_blank, state
from followthrough.errors import ConfigError
from followthrough.types import CommitmentStatus, ItemType, SourceKind
from store import CommitmentFilter, CommitmentView

app = typer.Typer(help="List, inspect and update commitments and requests.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
IdArg = Annotated[int, typer.Argument(min=1, max=2**63 - 1, help="Commitment id (see `commitments list`).")]
ALL = "all"
"""``--status all``: every status (the filter's ``None``)."""


def _status(value: str | CommitmentStatus) -> CommitmentStatus | None:
    """``--status``: a :class:`CommitmentStatus` value, or ``all`` (``None``); a usage error otherwise."""
    if value == ALL:
        return None
    try:
        return CommitmentStatus(value)
    except ValueError:
        choices = ", ".join([*CommitmentStatus, ALL])
        raise typer.BadParameter(f"{value!r} is not one of {choices}") from None


StatusOpt = Annotated[
    CommitmentStatus | None,
    typer.Option(
        parser=_status,
        metavar="<" + "|".join([*CommitmentStatus, ALL]) + ">",
        help="open also holds snoozed items whose date has come; waiting: customers' promises to us; "
        "review: items to confirm (reopen) or reject (dismiss).",
    ),
]


def _date(value: str | None, flag: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as e:
        raise ConfigError(f"{flag} {value!r} is not a date: use YYYY-MM-DD") from e


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    status: StatusOpt = CommitmentStatus.OPEN,
    owner: Annotated[str | None, typer.Option(parser=not_blank, help=OWNER_HELP)] = None,
    deal: Annotated[
        str | None,
        typer.Option(
            parser=not_blank,
            help='A deal\'s CRM id (any case) or a unique part of its name ("data platform").',
        ),
    ] = None,
    account: Annotated[
        str | None,
        typer.Option(
            parser=not_blank,
            help="Only items on an account's deals: its name or a part of it, CRM id or domain.",
        ),
    ] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only past their due date.")] = False,
    unlinked: Annotated[bool, typer.Option("--unlinked", help="Only those linked to no deal.")] = False,
    source: Annotated[SourceKind | None, typer.Option(help="Only items from this source.")] = None,
    type_: Annotated[
        ItemType | None, typer.Option("--type", help="Only commitments, or only requests.")
    ] = None,
    due_before: Annotated[str | None, typer.Option("--due-before", help="YYYY-MM-DD")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="At most this many rows.")] = 200,
    as_json: JsonOpt = False,
) -> None:
    """Open commitments (or other statuses), ranked by what is at stake."""
    st = state(ctx)
    as_of = st.settings().as_of
    f = CommitmentFilter(
        status=status,
        owner=owner,
        deal=deal,
        account=account,
        overdue=overdue,
        unlinked=unlinked,
        source=source,
        type=type_,
        due_before=_date(due_before, "--due-before"),
        as_of=as_of,
        limit=min(limit, 500),
    )
    with st.open_store() as store:
        items = ranked(all_items(store, f))[:limit]
    if as_json:
        typer.echo(json.dumps([i.model_dump(mode="json") for i in items], indent=2))
        return
    if not items:
        st.out.print("No commitments match.")
        return
    title = f"{len(items)} {status or ALL} item(s)"
    st.out.print(commitments_table(title, items, as_of, st.out.width, show_status=status is None))


def _show(view: CommitmentView, as_json: bool, ctx: typer.Context) -> None:
    st = state(ctx)
    if as_json:
        typer.echo(json.dumps(view.model_dump(mode="json"), indent=2))
        return
    t = Table(show_header=False, title=f"Commitment {view.id}", title_justify="left")
    t.add_column("field", style="bold")
    t.add_column("value", overflow="fold")
    deal = f"{view.deal.name} ({view.deal.crm_id}, {view.link_method})" if view.deal else "unlinked"
    rows = [
        ("type", view.type),
        ("status", view.status + (f" until {view.snoozed_until}" if view.snoozed_until else "")),
        (
            "owner",
            " ".join(x for x in (view.owner or "", f"<{view.owner_email}>" if view.owner_email else "") if x),
        ),
        ("counterparty", view.counterparty or ""),
        ("action", view.action),
        ("due", f"{view.due or ''} {f'({view.due_text})' if view.due_text else ''}".strip()),
        ("deal", deal),
        ("priority", f"{view.priority:.1f}: " + "; ".join(view.priority_reasons)),
        ("source", f"{view.source} {view.message_id}"),
        ("flags", ", ".join(view.flags)),
    ]
    if view.sources > 1:
        rows.append(("seen in", f"{view.sources} sources (`commitments split {view.id}` separates them)"))
    if view.merged_into is not None:
        rows.append(("merged into", f"#{view.merged_into} (`commitments split {view.id}` undoes it)"))
    for k, v in rows:
        t.add_row(k, escape(v))
    for ev in view.evidence:
        t.add_row(
            "evidence",
            escape(
                f'"{ev.quote}"  [{ev.char_start}:{ev.char_end} {ev.alignment}] '
                f"{ev.source} {ev.occurred_at:%Y-%m-%d} {ev.message_id}"
            ),
        )
    for h in view.history:
        note = f" ({h.note})" if h.note else ""
        t.add_row(
            "history",
            escape(f"{h.at:%Y-%m-%d %H:%M} {h.actor}: {h.field} {h.old or '-'} → {h.new or '-'}{note}"),
        )
    st.out.print(t)


@app.command("show")
def show_cmd(ctx: typer.Context, cid: IdArg, as_json: JsonOpt = False) -> None:
    """One commitment with its evidence, source and deal link."""
    st = state(ctx)
    with st.open_store() as store:
        view = store.get_commitment(cid, as_of=st.settings().as_of)
    _show(view, as_json, ctx)


def _set(
    ctx: typer.Context,
    cid: int,
    status: CommitmentStatus,
    until: date | None,
    note: str | None,
    as_json: bool,
) -> None:
    st = state(ctx)
    with st.open_store() as store:
        view = store.set_status(
            cid, status, until=until, actor=cli_actor(), note=note, as_of=st.settings().as_of
        )
    if as_json:
        typer.echo(json.dumps(view.model_dump(mode="json"), indent=2))
    else:
        state(ctx).out.print(
            f"Commitment {cid} is now {view.status}" + (f" until {until}" if until else "") + "."
        )


NoteOpt = Annotated[str | None, typer.Option("--note", help="Why (kept in the history).")]


@app.command("done")
def done_cmd(ctx: typer.Context, cid: IdArg, note: NoteOpt = None, as_json: JsonOpt = False) -> None:
    """Mark a commitment kept."""
    _set(ctx, cid, CommitmentStatus.DONE, None, note, as_json)


@app.command("dismiss")
def dismiss_cmd(ctx: typer.Context, cid: IdArg, note: NoteOpt = None, as_json: JsonOpt = False) -> None:
    """Dismiss a false alarm."""
    _set(ctx, cid, CommitmentStatus.DISMISSED, None, note, as_json)


@app.command("reopen")
def reopen_cmd(ctx: typer.Context, cid: IdArg, note: NoteOpt = None, as_json: JsonOpt = False) -> None:
    """Open a commitment again, or confirm one waiting for review (status review)."""
    _set(ctx, cid, CommitmentStatus.OPEN, None, note, as_json)


@app.command("snooze")
def snooze_cmd(
    ctx: typer.Context,
    cid: IdArg,
    until: Annotated[str, typer.Option("--until", help="YYYY-MM-DD: hidden until then.")],
    note: NoteOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Hide a commitment until a date."""
    day = _date(until, "--until")
    as_of = state(ctx).settings().as_of
    if day is not None and day <= as_of:
        raise ConfigError(f"--until {until} is not after today ({as_of.isoformat()}): snooze into the future")
    _set(ctx, cid, CommitmentStatus.SNOOZED, day, note, as_json)


@app.command("link")
def link_cmd(
    ctx: typer.Context,
    cid: IdArg,
    deal: Annotated[
        str | None, typer.Option("--deal", help="Deal CRM id; omit with --none to unlink.")
    ] = None,
    none: Annotated[bool, typer.Option("--none", help="Remove the deal link.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Link a commitment to a deal by hand (or unlink it)."""
    if not deal and not none:
        raise ConfigError("give --deal CRM_ID, or --none to unlink")
    st = state(ctx)
    with st.open_store() as store:
        view = store.set_deal(cid, None if none else deal, actor=cli_actor(), as_of=st.settings().as_of)
    if as_json:
        typer.echo(json.dumps(view.model_dump(mode="json"), indent=2))
    else:
        state(ctx).out.print(
            f"Commitment {cid} " + (f"linked to {view.deal.name}." if view.deal else "unlinked.")
        )


app.command("edit")(edit_cmd)
app.command("split")(split_cmd)
