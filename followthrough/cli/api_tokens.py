"""``tokens create|list|revoke``: bearer tokens for the HTTP API (not the LLM's tokens).

A token is printed once, by ``create``, alone on the last line of standard
output (so ``TOKEN=$(followthrough tokens create --name bot)`` works); only
its SHA-256 hash and first characters are stored.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from followthrough.cli.state import state
from store import ApiTokens

app = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


@app.command("create")
def create_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", help="What the token is for (unique), e.g. crm-sync.")],
    read_only: Annotated[
        bool, typer.Option("--read-only", help="The token can read but not PATCH or POST.")
    ] = False,
) -> None:
    """Create a token and print it (once: it cannot be shown again)."""
    st = state(ctx)
    with st.open_store() as store:
        info, secret = ApiTokens(store.engine).create(name, read_only=read_only)
    access = "read-only" if info.read_only else "read-write"
    st.err.print(
        f"Created {access} token {info.name!r} (id {info.id}). Copy it now: it is not shown again.",
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
        tokens = ApiTokens(store.engine).list()
    if as_json:
        typer.echo(json.dumps([t.model_dump(mode="json") for t in tokens], indent=2))
        return
    if not tokens:
        st.out.print("No tokens. Create one with `followthrough tokens create --name NAME`.")
        return
    table = Table(title=f"API tokens ({len(tokens)})", title_justify="left")
    for col in ("ID", "Name", "Prefix", "Access", "Created", "Last used", "Revoked"):
        table.add_column(col)
    for t in tokens:
        table.add_row(
            str(t.id),
            t.name,
            f"{t.prefix}…" if t.prefix else "",
            "read-only" if t.read_only else "read-write",
            _when(t.created_at),
            _when(t.last_used_at),
            _when(t.revoked_at),
        )
    st.out.print(table)


@app.command("revoke")
def revoke_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The token's name (or id), as `tokens list` shows it.")],
) -> None:
    """Revoke a token: requests with it get 401 from now on."""
    st = state(ctx)
    with st.open_store() as store:
        info = ApiTokens(store.engine).revoke(name)
    st.out.print(f"Revoked token {info.name!r}.")
