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

import gc
import os
import sys
from datetime import date
from typing import Annotated

import typer

from followthrough import __version__
from followthrough.cli.dates import DATE_HELP, METAVAR, as_of_day, set_reference
from followthrough.cli.lazy import LAZY, Lazy, RootGroup
from followthrough.cli.state import State
from followthrough.errors import FollowthroughError
from followthrough.limits import CRM_READER_PROCESS, GC_THRESHOLDS
from followthrough.redaction import redact

app = typer.Typer(
    name="followthrough",
    help="Find every commitment made to a customer, link it to its deal, and surface what is due.",
    no_args_is_help=True,
    add_completion=True,
    cls=RootGroup,
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
        date | None,
        typer.Option(
            "--as-of",
            parser=as_of_day,
            metavar=METAVAR,
            help="Treat this date as today: makes every report deterministic. " + DATE_HELP,
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
    ctx.obj = State(
        as_of=as_of.isoformat() if as_of else None, database=database, domains=domains, quiet=quiet
    )


# Commands are imported when they run (followthrough.cli.lazy): ``--help`` and ``--version`` stay fast.
# A new command: one line here; its summary is the first line of its help (a test compares them).
LAZY.extend(
    [
        Lazy("run", "followthrough.cli.run", "Ingest, extract, link, then report what needs attention."),
        Lazy(
            "ingest",
            "followthrough.cli.run",
            "Read inputs into the store (idempotent: re-ingesting adds nothing).",
        ),
        Lazy(
            "extract",
            "followthrough.cli.run",
            "Extract every stored document not yet extracted (or failed) with this extractor, then link "
            "(--retry-failed: also those held back after running out of the time budget).",
        ),
        Lazy(
            "sync",
            "followthrough.cli.sync",
            "Pull what is new from the configured live sources, then extract, link and report as `run` does.",
        ),
        Lazy(
            "sources",
            "followthrough.cli.sync",
            "The configured live sources: kind, last sync, cursor and last error.",
        ),
        Lazy(
            "deals",
            "followthrough.cli.deals",
            "Deals with their open and overdue commitments, worst first (or one deal's commitments).",
        ),
        Lazy(
            "digest",
            "followthrough.cli.digest",
            "One person's open items, or (--send) each owner's new and changed items"
            " by email or Slack, once.",
        ),
        Lazy(
            "accounts",
            "followthrough.cli.accounts",
            "Accounts: tier, open deals, open items, last touch by us and by them, silence.",
        ),
        Lazy(
            "export",
            "followthrough.cli.export",
            "Export commitments and requests as JSON Lines (the API's item shape) or CSV, filtered as "
            "`commitments list` is.",
        ),
        Lazy(
            "eval",
            "followthrough.cli.evaluate",
            "Score the pipeline on labelled data (precision, recall, F1, owner accuracy, misses).",
        ),
        Lazy(
            "explain",
            "followthrough.cli.explain",
            "Show the cues, class probabilities and the rule that decided, for one sentence.",
        ),
        Lazy(
            "runs",
            "followthrough.cli.runs",
            "Recent extraction runs: status, extractor, model, prompt version, documents, tokens, cost.",
        ),
        Lazy(
            "serve",
            "followthrough.cli.serve",
            "Serve the dashboard at / and the HTTP API (docs at /docs, schema at /openapi.json).",
        ),
        Lazy(
            "commitments",
            "followthrough.cli.commitments",
            "List, inspect and update commitments and requests.",
            typer_app="app",
        ),
        Lazy(
            "tokens", "followthrough.cli.api_tokens", "Create, list and revoke API tokens.", typer_app="app"
        ),
        Lazy("crm", "followthrough.cli.crm", "Write commitments back to the CRM.", typer_app="app"),
    ]
)


EXIT_INTERNAL = 70
"""``EX_SOFTWARE`` (sysexits.h): a bug, not a problem with the input."""

EXIT_CLOSED_PIPE = 1
"""A reader that stopped reading (``followthrough export | head -1``): quietly, as click and rich end a
command whose output pipe closed."""


def _closed_pipe() -> None:
    """Standard output's reader is gone: point it at /dev/null so the exit flush is quiet, then exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no file descriptor (a test's captured output): nothing to quiet
        pass
    sys.exit(EXIT_CLOSED_PIPE)


def console() -> None:
    """The ``followthrough`` executable and ``python -m followthrough``: :func:`main` in a process of
    its own, with the collector set for one command (:data:`GC_THRESHOLDS`).

    On the way out every object is frozen (:func:`gc.freeze`): the interpreter's own collections at
    exit then skip what the command built, which is freed by reference counting anyway (a sixth of
    a re-run's time was the collector at exit, walking every module and cache). Only here, never in
    :func:`main`, which tests and embedding programs call in their own long-lived process.

    Nothing at all in a CRM reader process (:mod:`followthrough.crm_reader`): ``spawn`` runs the
    main script again there, and a script that calls this without an ``if __name__ == "__main__"``
    guard must not run its command twice."""
    # a spawned process has imported multiprocessing before it runs this; a command has not (yet)
    spawned = sys.modules.get("multiprocessing")
    if spawned is not None and spawned.current_process().name == CRM_READER_PROCESS:
        return  # a script without a main guard, run again to start a CRM reader process: not the command
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        main()
    finally:
        gc.freeze()


def main() -> None:
    """The command line: known errors become one line and exit code 1 (see the module docstring);
    output whose reader went away (a closed pipe) ends quietly with :data:`EXIT_CLOSED_PIPE`."""
    set_reference(None)
    try:
        try:
            app()
        finally:
            sys.stdout.flush()  # a closed pipe is found here, not as "Exception ignored" at exit
    except BrokenPipeError:
        _closed_pipe()
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
