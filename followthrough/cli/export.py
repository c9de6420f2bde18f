"""``export --format jsonl|csv``: commitments and requests, one per line or row.

``jsonl`` writes each item exactly as ``GET /v1/commitments/{id}`` and ``commitments list --json`` do
(:class:`store.CommitmentView`, ``model_dump(mode="json")``: the same field names and types; times in
RFC 3339 with ``Z``). Those lines are also what ``../shared/eval/score.py`` reads: its fields
(:data:`SCORE_FIELDS`) are top-level in the item: ``evidence`` is the primary verbatim quote with its
``char_start``/``char_end``, ``owner`` the owner's email where known, else the name as written.
``csv`` flattens that item for a spreadsheet: :data:`CSV_COLUMNS` names each column by its JSON path
(``deal.name``), lists join with ``; ``, and ``--bom`` starts the file with a UTF-8 byte order mark so
that Excel reads it as UTF-8. The filters are ``commitments list``'s (:mod:`followthrough.cli.filters`),
with ``--status all`` by default; items that failed grounding are left out unless
``--include-ungrounded``.

A CSV cell is text from email, Slack and meetings: a cell that starts with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return would be read as a formula by a spreadsheet (CSV injection), so
:func:`csv_cell` prefixes it with a single quote, as OWASP recommends. JSON Lines are data, left as is.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer

from followthrough.cli.filters import (
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
from followthrough.cli.state import state
from followthrough.errors import InputError

if TYPE_CHECKING:
    from store import CommitmentFilter, Store

SCORE_FIELDS = ("message_id", "type", "evidence", "owner", "due", "char_start", "char_end")
"""What ``../shared/eval/score.py`` reads from a prediction line: top-level fields of every jsonl line."""

CSV_COLUMNS = (
    "id",
    "type",
    "status",
    "owner",
    "owner_name",
    "counterparty",
    "counterparty_email",
    "action",
    "due",
    "due_text",
    "overdue_days",
    "priority",
    "deal.crm_id",
    "deal.name",
    "deal.account",
    "deal.stage",
    "link_method",
    "flags",
    "source",
    "message_id",
    "document_title",
    "occurred_at",
    "confidence",
    "evidence",
)
"""The CSV header: JSON paths into the item (``deal.name``: the linked deal's name; ``evidence``: the
primary evidence quote). ``flags`` joins the list with ``; ``."""


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet reads as the start of a formula (or that hides one from the eye)."""


def csv_cell(value: object) -> object:
    """``value`` as a CSV cell that no spreadsheet evaluates: text starting with a formula character
    gets a leading ``'``; ``None`` is the empty cell; numbers are left as numbers."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _at(item: dict[str, Any], path: str) -> object:
    value: object = item
    for key in path.split("."):
        if isinstance(value, list):
            value = value[int(key)] if len(value) > int(key) else None
        elif isinstance(value, dict):
            value = value.get(key)
        else:
            return None
    return "; ".join(map(str, value)) if isinstance(value, list) else value


def csv_row(item: dict[str, Any]) -> dict[str, object]:
    """One item (its JSON form) as a CSV row under :data:`CSV_COLUMNS`, each cell made safe."""
    return {c: csv_cell(_at(item, c)) for c in CSV_COLUMNS}


def items(store: Store, f: CommitmentFilter, *, include_ungrounded: bool = False) -> Iterator[dict[str, Any]]:
    """The items ``f`` lists, in id order, each as its JSON (the API's item shape: what a jsonl line
    holds); items that failed grounding only with ``include_ungrounded``."""
    from followthrough.attention import all_items  # noqa: PLC0415 - loads the store: only when run
    from followthrough.types import ItemFlag  # noqa: PLC0415

    for view in sorted(all_items(store, f), key=lambda v: v.id):
        if include_ungrounded or ItemFlag.UNGROUNDED not in view.flags:
            yield view.model_dump(mode="json")


def predictions(store: Store) -> list[dict[str, Any]]:
    """Every item in ``store`` (any status, grounded ones) as ``export --format jsonl`` writes it: the
    lines ``../shared/eval/score.py`` reads."""
    from store import CommitmentFilter  # noqa: PLC0415 - loads the store: only when run

    return list(items(store, CommitmentFilter(status=None, limit=500)))


class Format(StrEnum):
    jsonl = "jsonl"
    csv = "csv"


def _write(rows: Iterable[dict[str, Any]], fmt: Format, out: TextIO) -> int:
    n = 0
    if fmt is Format.csv:
        writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow(csv_row(row))
            n += 1
    else:
        for row in rows:
            out.write(json.dumps(row, default=str, ensure_ascii=False) + "\n")
            n += 1
    return n


def register(app: typer.Typer) -> None:
    @app.command("export")
    def export_cmd(
        ctx: typer.Context,
        fmt: Annotated[
            Format,
            typer.Option(
                "--format",
                "-f",
                help="jsonl: the API's item JSON, one a line (what ../shared/eval/score.py reads); "
                "csv: for a spreadsheet.",
            ),
        ] = Format.jsonl,
        output: Annotated[
            Path | None, typer.Option("--output", "-o", help="Write to this file (- or none: stdout).")
        ] = None,
        bom: Annotated[
            bool,
            typer.Option("--bom", help="Start the CSV with a UTF-8 byte order mark (Excel reads it so)."),
        ] = False,
        status: StatusOpt = None,
        owner: OwnerOpt = None,
        deal: DealOpt = None,
        account: AccountOpt = None,
        overdue: OverdueOpt = False,
        unlinked: UnlinkedOpt = False,
        source: SourceOpt = None,
        type_: TypeOpt = None,
        due_before: DueBeforeOpt = None,
        include_ungrounded: Annotated[
            bool,
            typer.Option("--include-ungrounded", help="Also items whose quote was not found in the text."),
        ] = False,
    ) -> None:
        """Export commitments and requests as JSON Lines (the API's item shape) or CSV, filtered as
        `commitments list` is.

        Every status unless --status says otherwise; in id order.
        """
        if bom and fmt is not Format.csv:
            raise typer.BadParameter("--bom is for --format csv", ctx, param_hint="'--bom'")
        st = state(ctx)
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
            as_of=st.settings().as_of,
        )
        encoding = "utf-8-sig" if bom else "utf-8"
        if output is not None and str(output) == "-":  # "-o -": standard output, as most tools read it
            output = None
        with st.open_store() as store:
            rows = items(store, f, include_ungrounded=include_ungrounded)
            if output is None:
                if bom:
                    sys.stdout.write("\ufeff")
                n = _write(rows, fmt, sys.stdout)
            else:
                try:
                    with output.open("w", encoding=encoding, newline="") as fh:
                        n = _write(rows, fmt, fh)
                except OSError as e:
                    raise InputError(output, f"cannot write: {e.strerror or e}") from e
        if output is not None:
            st.err.print(f"Wrote {n} rows to {output}.")
