"""``crm push``: open commitments written to the CRM as tasks on their deal.

See :mod:`followthrough.crm_push.runner` for what is pushed and when.

Exit codes: 0 every task pushed (or nothing to push; a source another process is pushing to is
skipped with one line and changes nothing); 1 nothing could be pushed (a revoked token, a missing
scope: one line naming the source and what to fix); 2 a config file that cannot be used or a
``--source`` it does not name as a CRM (each problem one line); 3 partial: some tasks failed, the
rest were pushed; 130 interrupted (Ctrl-C): rerun to resume, nothing is created twice.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from followthrough.cli.state import state

app = typer.Typer(help="Write commitments back to the CRM.", no_args_is_help=True)

EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_PARTIAL = 3
EXIT_INTERRUPTED = 130


@app.command("push")
def push_cmd(
    ctx: typer.Context,
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            metavar="NAME",
            help="Push to this source of the config file only (default: every CRM source).",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be created or updated; change nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON.")] = False,
) -> None:
    """Write every open commitment linked to a deal to its CRM as a task on that deal, idempotently.

    Subject: the action; due date; owner: the CRM user with the owner's email; body: the verbatim
    evidence quote, where it was said and the dashboard link (FOLLOWTHROUGH_PUBLIC_URL/items/ID).
    A task pushed before is updated when the commitment changed, marked completed once it is done
    or dismissed, and never created twice. Sources come from followthrough.toml (or
    FOLLOWTHROUGH_CONFIG); secrets from the environment variables it names.
    """
    from followthrough.config import public_url  # noqa: PLC0415 - imported when the command runs
    from followthrough.crm_push.runner import crm_sources, push  # noqa: PLC0415
    from followthrough.errors import ConfigError  # noqa: PLC0415
    from followthrough.sync.config import ConfigFileError, load  # noqa: PLC0415

    st = state(ctx)
    try:
        config = load()
    except ConfigFileError as e:
        for line in e.problems:
            typer.echo(f"error: {line}", err=True)
        raise typer.Exit(EXIT_CONFIG) from e
    try:
        crm_sources(config.sources, source)
    except ConfigError as e:
        typer.echo(f"error: {config.path}: {e}", err=True)
        raise typer.Exit(EXIT_CONFIG) from e
    url = public_url()
    try:
        with st.open_store() as store:
            report = push(
                store, config.sources, only=source, public_url=url, as_of=st.settings().as_of, dry_run=dry_run
            )
    except KeyboardInterrupt:
        typer.echo("interrupted: rerun to resume", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    for line in report.busy:
        typer.echo(line, err=True)
    for line in report.notes:
        typer.echo(f"note: {line}", err=True)
    for line in report.errors:
        typer.echo(f"error: {line}", err=True)
    if as_json:
        typer.echo(json.dumps(report.as_json(), indent=2))
    else:
        typer.echo(report.summary())
    if report.failed:
        raise typer.Exit(EXIT_PARTIAL if report.pushed else EXIT_FAILED)
