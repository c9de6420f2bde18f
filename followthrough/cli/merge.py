"""``commitments split``: undo the merge of one promise seen in several sources.

The merge pass of every run folds the same promise said in a meeting and again in
the follow-up email into one commitment (:mod:`store.merge_rules`); ``split`` gives
each merged commitment its evidence and its status back, and the pass never merges
that pair again.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from followthrough.cli.corrections import cli_actor
from followthrough.cli.params import id_argument
from followthrough.cli.state import state


def split_cmd(
    ctx: typer.Context,
    cid: Annotated[
        int, id_argument("A commitment seen in several sources, or one merged into it (status merged).")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the commitments as JSON.")] = False,
) -> None:
    """Split a merged commitment back into one item per source; they are never merged again.

    Exit code: 0 split, 1 unknown id or nothing merged.
    """
    st = state(ctx)
    as_of = st.settings().as_of
    with st.open_store() as store:
        ids = store.split_commitment(cid, actor=cli_actor())
        views = [store.get_commitment(i, as_of=as_of) for i in ids]
    if as_json:
        typer.echo(json.dumps([v.model_dump(mode="json") for v in views], indent=2))
        return
    st.out.print(f"Commitment {cid} split: " + ", ".join(f"#{v.id} ({v.status})" for v in views) + ".")
