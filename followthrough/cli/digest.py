"""``digest``: one person's open items on screen, or every owner's new and changed items delivered.

``digest --owner WHO`` prints one person's open items (overdue, due soon, the rest), the customers'
promises on their deals that are past due, and their silent accounts; it sends nothing.
``digest --send email|slack [--owner WHO] [--dry-run]`` delivers, through :mod:`followthrough.notify`,
one message per owner with something new or changed since they were last told on that channel
(``--dry-run``: print those messages instead; no channel settings or server needed). ``run …
--notify`` does the same after a run, on every channel configured (:func:`after_run`). Digests
running at the same time do not announce an item twice (each claims its items first); items
another one is sending are counted as skipped.

Exit codes with ``--send``: 0 every message delivered (or nothing new), 1 none could be delivered,
3 some could not (each failure is one line on stderr, pending for the next run), 2 a channel asked for
is not configured.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from followthrough.cli.state import OWNER_HELP, State, not_blank, state
from followthrough.notify.settings import NOT_CONFIGURED, ChannelName, configured

if TYPE_CHECKING:
    from followthrough.notify import NotifyReport

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3


def _show(st: State, owner: str, as_json: bool) -> None:
    """One person's open items on screen (nothing is sent or recorded)."""
    from followthrough.cli.report import (  # noqa: PLC0415 - loaded when the command runs
        all_items,
        collect_waiting,
        commitments_table,
        ranked,
        render_silent,
    )
    from followthrough.cli.waiting import render_waiting  # noqa: PLC0415
    from followthrough.config import silent_days  # noqa: PLC0415
    from followthrough.types import CommitmentStatus  # noqa: PLC0415
    from store import CommitmentFilter  # noqa: PLC0415

    as_of = st.settings().as_of
    with st.open_store() as store:
        person = store.find_person(owner)
        items = all_items(
            store, CommitmentFilter(status=CommitmentStatus.OPEN, owner=owner, as_of=as_of, limit=500)
        )
        silent, nudges = [], []
        if person.email:  # deals are owned by email: someone known by name only owns none
            domains = st.company_domains(store)
            silent = store.silent_accounts(as_of, silent_days(), domains, owner=person.email)
            nudges = [w for w in collect_waiting(store, as_of, deal_owner=person.email) if w.nudge]
    overdue = ranked([c for c in items if c.due and c.due < as_of])
    soon = ranked([c for c in items if c.due and 0 <= (c.due - as_of).days <= 7])
    rest = ranked([c for c in items if c not in overdue and c not in soon])
    if as_json:
        typer.echo(
            json.dumps(
                {
                    k: [i.model_dump(mode="json") for i in v]
                    for k, v in (("overdue", overdue), ("due_soon", soon), ("other", rest))
                }
                | {"customer_overdue": [w.as_dict() for w in nudges]}
                | {"silent_accounts": [a.model_dump(mode="json") for a in silent]},
                indent=2,
            )
        )
        return
    n_commit = sum(1 for c in items if c.type == "commitment")
    who = " ".join(x for x in (person.name, f"<{person.email}>" if person.email else None) if x)
    st.out.print(
        f"[bold]{escape(who)}[/bold]: {n_commit} open commitment(s), {len(items) - n_commit} open "
        f"request(s); {len(overdue)} overdue, {len(soon)} due in the next 7 days; "
        f"{len(silent)} silent account(s)."
    )
    for title, group in (("Overdue", overdue), ("Due soon", soon), ("Other open", rest)):
        if group:
            st.out.print(commitments_table(title, group, as_of, st.out.width))
    if nudges:
        render_waiting(st.out, f"Customers past due on their promises to you ({len(nudges)})", nudges)
    if silent:
        render_silent(st.out, silent, "Your silent accounts")


def send(
    st: State, channels: list[ChannelName], *, owner: str | None = None, dry_run: bool = False
) -> NotifyReport:
    """Deliver (or with ``dry_run`` build, with no channel settings needed) each owner's new and
    changed items on ``channels``. :class:`ConfigError` for a channel with no settings (check
    :func:`missing` first for exit 2)."""
    from followthrough import notify  # noqa: PLC0415 - loaded when the command runs
    from followthrough.config import public_url  # noqa: PLC0415

    link_base = public_url()
    opened = notify.preview_channels(channels) if dry_run else notify.open_channels(channels)
    with st.open_store() as store:
        return notify.deliver(
            store, opened, as_of=st.settings().as_of, public_url=link_base, owner=owner, dry_run=dry_run
        )


def missing(channels: list[ChannelName]) -> str | None:
    """The line that says a channel of ``channels`` is not configured (``None``: all are)."""
    have = set(configured())
    return next((NOT_CONFIGURED[c] for c in channels if c not in have), None)


def exit_code(report: NotifyReport) -> int:
    """0 all delivered (or nothing to send), 1 nothing delivered and something failed, 3 partial."""
    if not report.failed:
        return EXIT_OK
    return EXIT_PARTIAL if report.delivered else EXIT_FAILED


def render(st: State, report: NotifyReport, *, quiet_stdout: bool = False) -> None:
    """Print what was delivered (stdout; stderr with ``quiet_stdout``, when stdout carries JSON), what
    failed (stderr, one line each), and previews."""
    from followthrough.notify import render as words  # noqa: PLC0415

    out = st.err if quiet_stdout else st.out
    for ch in report.channels:
        for d in ch.previews:
            out.print(
                f"[bold]── {ch.channel} to {escape(d.name)} <{escape(d.email)}> ──[/bold]\n"
                f"Subject: {escape(words.subject(d))}\n",
                highlight=False,
            )
            out.print(escape(words.text_body(d)), highlight=False, soft_wrap=True)
        if ch.previews:
            out.print(f"{ch.channel}: dry run, {len(ch.previews)} message(s) not sent", highlight=False)
            continue
        retried = f"; {ch.retried} retried" if ch.retried else ""
        if ch.messages or ch.failed:
            out.print(
                f"{ch.channel}: {ch.messages} message(s) delivered about {ch.items} item(s){retried}",
                highlight=False,
            )
        else:
            out.print(f"{ch.channel}: nothing new for anyone", highlight=False)
        for f in ch.failed:
            st.err.print(
                f"[red]not delivered[/red] ({ch.channel}) to {escape(f.recipient)}, {f.items} item(s): "
                f"{escape(f.error)}; pending for the next run",
                highlight=False,
            )
        if ch.dropped:
            out.print(f"{ch.channel}: {ch.dropped} pending item(s) dropped (no longer open)", highlight=False)
        if ch.skipped:
            out.print(
                f"{ch.channel}: {ch.skipped} item(s) skipped: claimed by another digest"
                " (running now, or stopped less than 10 minutes ago)",
                highlight=False,
            )
        if ch.held:
            out.print(
                f"{ch.channel}: {ch.held} item(s) did not fit in their message: kept for the next digest",
                highlight=False,
            )
    if report.unaddressed:
        st.err.print(
            f"[cyan]note[/cyan]: {report.unaddressed} open item(s) have an owner with no email address: "
            "no one was told about them",
            highlight=False,
        )


def after_run(st: State, code: int, *, as_json: bool) -> int:
    """``run --notify``, once the run's report is out: deliver on every configured channel
    (:func:`check_notify` ran before the run), say what happened (on stderr under ``--json``), and
    return the exit code: the run's when it is not 0, else the delivery's (:func:`exit_code`)."""
    report = send(st, configured())
    render(st, report, quiet_stdout=as_json)
    return code or exit_code(report)


def check_notify() -> None:
    """Before ``run --notify`` does any work: no channel configured is one line and exit 2; settings
    that are wrong (a bad SMTP URL, sender or public URL) are a :class:`ConfigError` (exit 1)."""
    from followthrough import notify  # noqa: PLC0415
    from followthrough.config import public_url  # noqa: PLC0415

    if not configured():
        typer.echo(
            "error: --notify: no channel is configured: set FOLLOWTHROUGH_SMTP_URL (email) or "
            "FOLLOWTHROUGH_SLACK_WEBHOOK_URL / SLACK_BOT_TOKEN (Slack)",
            err=True,
        )
        raise typer.Exit(EXIT_USAGE)
    public_url()
    for channel in notify.open_channels(configured()):
        channel.close()


def register(app: typer.Typer) -> None:
    @app.command("digest")
    def digest_cmd(
        ctx: typer.Context,
        owner: Annotated[
            str | None,
            typer.Option(
                "--owner",
                parser=not_blank,
                help=OWNER_HELP + " Without --send: required. With --send: only them (default: every owner).",
            ),
        ] = None,
        send_to: Annotated[
            list[ChannelName] | None,
            typer.Option(
                "--send",
                metavar="email|slack",
                help="Deliver each owner's new and changed items: email (FOLLOWTHROUGH_SMTP_URL) or slack "
                "(FOLLOWTHROUGH_SLACK_WEBHOOK_URL or SLACK_BOT_TOKEN); repeat for both.",
                show_default=False,
            ),
        ] = None,
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="With --send: print the messages; send and record nothing.")
        ] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """One person's open items, or (--send) each owner's new and changed items by email or Slack, once.

        Without --send: one person's open commitments (overdue first, then due soon, then the rest),
        the customers' promises on their deals that are past due, and their silent accounts; nothing
        is sent. With --send: one message per owner with something new or changed since they were
        last told on that channel, each item with its evidence quote and its dashboard link
        (FOLLOWTHROUGH_PUBLIC_URL); a failed send is retried by the next digest or run --notify.

        Exit code with --send: 0 delivered (or nothing new), 1 nothing could be delivered, 3 some
        could not (each one line on stderr), 2 the channel is not configured.
        """
        st = state(ctx)
        if not send_to:
            if dry_run:
                raise typer.BadParameter("--dry-run previews what --send would deliver: add --send")
            if owner is None:
                raise typer.BadParameter(
                    "give --owner WHO (one person's items) or --send email|slack (deliver every owner's)",
                    param_hint="'--owner'",
                )
            _show(st, owner, as_json)
            return
        line = None if dry_run else missing(send_to)
        if line is not None:
            typer.echo(f"error: {line}", err=True)
            raise typer.Exit(EXIT_USAGE)
        report = send(st, send_to, owner=owner, dry_run=dry_run)
        if as_json:
            typer.echo(json.dumps(report.as_dict(), indent=2))
            for ch in report.channels:
                for f in ch.failed:
                    typer.echo(f"not delivered ({ch.channel}) to {f.recipient}: {f.error}", err=True)
        else:
            render(st, report)
        raise typer.Exit(exit_code(report))
