"""``tokens create|list|revoke``: bearer tokens for the HTTP API (not the LLM's tokens).

A token is printed once, by ``create``, alone on the last line of standard
output (so ``TOKEN=$(followthrough tokens create --name bot)`` works); only
its SHA-256 hash and first characters are stored.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from followthrough.cli.state import not_blank, state

if TYPE_CHECKING:  # the store loads when a command runs: `tokens --help` stays fast
    from store import ApiTokens, Store

app = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)


def _tokens(store: Store) -> ApiTokens:
    from store import ApiTokens  # noqa: PLC0415 - see TYPE_CHECKING above

    return ApiTokens(store.engine)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


@app.command("create")
def create_cmd(
    ctx: typer.Context,
    name: Annotated[
        str,
        typer.Option("--name", parser=not_blank, help="What the token is for (unique), e.g. crm-sync."),
    ],
    read_only: Annotated[
        bool, typer.Option("--read-only", help="The token can read but not PATCH or POST.")
    ] = False,
    person: Annotated[
        str | None,
        typer.Option(
            "--person",
            metavar="EMAIL",
            help="The person the token speaks for: the dashboard's My items shows their items.",
        ),
    ] = None,
) -> None:
    """Create a token and print it (once: it cannot be shown again)."""
    st = state(ctx)
    with st.open_store() as store:
        info, secret = _tokens(store).create(name, read_only=read_only, person_email=person)
    access = "read-only" if info.read_only else "read-write"
    whose = f" for {info.person_email}" if info.person_email else ""
    st.err.print(
        f"Created {access} token {info.name!r}{whose} (id {info.id}). Copy it now: it is not shown again.",
        highlight=False,
    )
    typer.echo(secret)


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Tokens with their prefix, access, creation, last use and revocation (never the secret)."""
    st = state(ctx)
    with st.open_store() as store:
        tokens = _tokens(store).list()
    if as_json:
        typer.echo(json.dumps([t.model_dump(mode="json") for t in tokens], indent=2))
        return
    if not tokens:
        st.out.print("No tokens. Create one with `followthrough tokens create --name NAME`.")
        return
    table = Table(title=f"API tokens ({len(tokens)})", title_justify="left")
    for col in ("ID", "Name", "Prefix", "Access", "Person", "Created", "Last used", "Revoked"):
        table.add_column(col)
    for t in tokens:
        table.add_row(
            str(t.id),
            t.name,
            f"{t.prefix}…" if t.prefix else "",
            "read-only" if t.read_only else "read-write",
            t.person_email or "",
            _when(t.created_at),
            _when(t.last_used_at),
            _when(t.revoked_at),
        )
    st.out.print(table)


@app.command("revoke")
def revoke_cmd(
    ctx: typer.Context,
    name: Annotated[
        str,
        typer.Argument(
            parser=not_blank, metavar="NAME", help="The token's name (or id), as `tokens list` shows it."
        ),
    ],
) -> None:
    """Revoke a token: requests with it get 401 from now on."""
    st = state(ctx)
    with st.open_store() as store:
        info = _tokens(store).revoke(name)
    st.out.print(f"Revoked token {info.name!r}.")
