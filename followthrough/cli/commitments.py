"""``commitments list|show|done|snooze|dismiss|reopen|link|edit``."""

from __future__ import annotations

import json
from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from followthrough.cli.corrections import cli_actor, edit_cmd
from followthrough.cli.dates import DATE_HELP, METAVAR, day
from followthrough.cli.filters import (
    ALL,
    AccountOpt,
    DealOpt,
    DueBeforeOpt,
    OverdueOpt,
    OwnerOpt,
    SourceOpt,
    StatusOpt,
    TypeOpt,
    UnlinkedOpt,
    commitment_filter,
)
from followthrough.cli.merge import split_cmd
from followthrough.cli.params import LIST_LIMIT, IdArg
from followthrough.cli.state import not_blank, state
from followthrough.types import CommitmentStatus, ParticipantRole, SourceDocument

if TYPE_CHECKING:  # the store and the report load when a command runs: `commitments --help` stays fast
    from store import CommitmentView

app = typer.Typer(help="List, inspect and update commitments and requests.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    status: StatusOpt = CommitmentStatus.OPEN,
    owner: OwnerOpt = None,
    deal: DealOpt = None,
    account: AccountOpt = None,
    overdue: OverdueOpt = False,
    unlinked: UnlinkedOpt = False,
    source: SourceOpt = None,
    type_: TypeOpt = None,
    due_before: DueBeforeOpt = None,
    due_within: Annotated[
        int | None,
        typer.Option(min=0, max=3650, metavar="DAYS", help="Only due from today to DAYS days from today."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="At most this many rows.")] = LIST_LIMIT,
    as_json: JsonOpt = False,
) -> None:
    """Open commitments (or other statuses), ranked by what is at stake.

    ``--json`` prints each item as ``GET /v1/commitments/{id}`` and ``export`` give it (the same fields)."""
    from followthrough.cli.report import all_items, commitments_table, ranked  # noqa: PLC0415 - see above

    st = state(ctx)
    as_of = st.settings().as_of
    f = commitment_filter(
        status=status,
        owner=owner,
        deal=deal,
        account=account,
        overdue=overdue,
        unlinked=unlinked,
        source=source,
        type_=type_,
        due_before=due_before,
        due_within=due_within,
        as_of=as_of,
        page=min(limit, 500),
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
    st.out.print(
        commitments_table(title, items, as_of, st.out.width, show_status=status is None, rows=len(items))
    )


def _sender(doc: SourceDocument) -> str:
    """Who wrote the source: its sender (email From, Slack author), as ``Name <email>``; else ``""``."""
    for p in doc.participants:
        if p.role == ParticipantRole.SENDER:
            return " ".join(x for x in (p.name or p.handle or "", f"<{p.email}>" if p.email else "") if x)
    return ""


def _show(view: CommitmentView, as_json: bool, ctx: typer.Context, sender: str = "") -> None:
    from store import owner_email  # noqa: PLC0415 - see TYPE_CHECKING above

    st = state(ctx)
    if as_json:
        typer.echo(json.dumps(view.model_dump(mode="json"), indent=2))
        return
    t = Table(show_header=False, title=f"Commitment {view.id}", title_justify="left")
    t.add_column("field", style="bold")
    t.add_column("value", overflow="fold")
    deal = f"{view.deal.name} ({view.deal.crm_id}, {view.link_method})" if view.deal else "unlinked"
    email = owner_email(view)
    rows = [
        ("type", view.type),
        ("status", view.status + (f" until {view.snoozed_until}" if view.snoozed_until else "")),
        (
            "owner",
            " ".join(x for x in (view.owner_name or "", f"<{email}>" if email else "") if x)
            or (view.owner or ""),
        ),
        ("counterparty", view.counterparty or ""),
        ("action", view.action),
        ("due", f"{view.due or ''} {f'({phrase})' if (phrase := view.due_phrase()) else ''}".strip()),
        ("deal", deal),
        ("priority", f"{view.priority:.1f}: " + "; ".join(view.priority_reasons)),
        ("source", f"{view.source} {view.message_id}"),
        ("subject", view.document_title or ""),
        ("from", sender),
        ("date", f"{view.occurred_at:%Y-%m-%d %H:%M} UTC"),
        ("flags", ", ".join(view.flags)),
    ]
    if view.sources > 1:
        rows.append(("seen in", f"{view.sources} sources (`commitments split {view.id}` separates them)"))
    if view.merged_into is not None:
        rows.append(("merged into", f"#{view.merged_into} (`commitments split {view.id}` undoes it)"))
    for k, v in rows:
        t.add_row(k, escape(v))
    for ev in view.quotes:
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
        sender = "" if as_json else _sender(store.get_document(view.document_id))
    _show(view, as_json, ctx, sender)


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
    until: Annotated[
        date, typer.Option("--until", parser=day, metavar=METAVAR, help="Hidden until then: " + DATE_HELP)
    ],
    note: NoteOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Hide a commitment until a date."""
    as_of = state(ctx).settings().as_of
    if until <= as_of:
        raise typer.BadParameter(
            f"{until.isoformat()} is not after today ({as_of.isoformat()}): snooze into the future",
            param_hint="'--until'",
        )
    _set(ctx, cid, CommitmentStatus.SNOOZED, until, note, as_json)


@app.command("link")
def link_cmd(
    ctx: typer.Context,
    cid: IdArg,
    deal: Annotated[
        str | None,
        typer.Option(
            "--deal",
            parser=not_blank,
            metavar="DEAL",
            help="The deal: its CRM id (any case) or a unique part of its name, as `commitments edit "
            "--deal` takes it.",
        ),
    ] = None,
    none: Annotated[bool, typer.Option("--none", help="Remove the deal link (for good).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Link a commitment to a deal by hand (or unlink it with --none).

    Exit code: 0 done, 1 unknown id or a deal that names none or several (listed), 2 a usage error.
    """
    if (deal is None) == (not none):
        raise typer.BadParameter(
            "give one: --deal DEAL to link, or --none to unlink", ctx, param_hint="'--deal' / '--none'"
        )
    st = state(ctx)
    with st.open_store() as store:  # the deal is found exactly as `edit --deal` and the API's PATCH find it
        view = store.correct(cid, actor=cli_actor(), deal=deal, unlink=none, as_of=st.settings().as_of)
    if as_json:
        typer.echo(json.dumps(view.model_dump(mode="json"), indent=2))
    else:
        st.out.print(f"Commitment {cid} " + (f"linked to {view.deal.name}." if view.deal else "unlinked."))


app.command("edit")(edit_cmd)
app.command("split")(split_cmd)
