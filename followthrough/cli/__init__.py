"""The ``followthrough`` command line (Typer): one module per command group.

Exit codes scripts can rely on:

====  ==============================================================
0     done, nothing failed
1     an error stopped the command, no input could be read, or every document failed to extract
2     usage error (unknown option, bad value)
3     partial: some inputs, records or documents failed (each one line on stderr)
70    an internal error (a bug): one line; ``FOLLOWTHROUGH_DEBUG=1`` shows the traceback
130   interrupted (Ctrl-C)
====  ==============================================================

Known errors (:class:`followthrough.errors.FollowthroughError`) print as one
line on stderr. Every message is passed through
:func:`followthrough.redaction.redact`, so no credential reaches the terminal.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from followthrough import __version__
from followthrough.cli import (
    accounts,
    api_tokens,
    commitments,
    deals,
    evaluate,
    explain,
    export,
    run,
    runs,
    serve,
)
from followthrough.cli.state import State
from followthrough.errors import FollowthroughError
from followthrough.redaction import redact

app = typer.Typer(
    name="followthrough",
    help="Find every commitment made to a customer, link it to its deal, and surface what is due.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"followthrough {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="Treat this date (YYYY-MM-DD) as today: makes every report deterministic."
        ),
    ] = None,
    database: Annotated[
        str | None,
        typer.Option(
            "--database", "--db", help="Database URL (env: FOLLOWTHROUGH_DATABASE_URL).", show_default=False
        ),
    ] = None,
    domains: Annotated[
        str | None,
        typer.Option(
            "--company-domains",
            help="Our own email domains, comma separated (env: FOLLOWTHROUGH_COMPANY_DOMAINS; "
            "default: the CRM deal owners' domains).",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    ctx.obj = State(as_of=as_of, database=database, domains=domains, quiet=quiet)


run.register(app)
app.add_typer(commitments.app, name="commitments")
deals.register(app)
accounts.register(app)
export.register(app)
evaluate.register(app)
explain.register(app)
runs.register(app)
serve.register(app)
app.add_typer(api_tokens.app, name="tokens")


EXIT_INTERNAL = 70
"""``EX_SOFTWARE`` (sysexits.h): a bug, not a problem with the input."""


def main() -> None:
    """Console entry point: known errors become one line and exit code 1 (see the module docstring)."""
    try:
        app()
    except FollowthroughError as e:
        typer.echo(f"error: {redact(str(e))}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as e:  # noqa: BLE001 - the last line of defence: one line, never a traceback
        if os.environ.get("FOLLOWTHROUGH_DEBUG"):
            raise
        message = (str(e).strip().splitlines() or [""])[0][:300]
        typer.echo(
            f"error: internal error ({type(e).__name__}: {redact(message)}); "
            "run again with FOLLOWTHROUGH_DEBUG=1 for the traceback and report it",
            err=True,
        )
        sys.exit(EXIT_INTERNAL)
