"""``export --format jsonl|csv``: every commitment, one per line or row.

A CSV cell is text from email, Slack and meetings: a cell that starts with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return would be read as a formula by a spreadsheet (CSV injection), so
:func:`csv_cell` prefixes it with a single quote, as OWASP recommends. JSON Lines are data, left as is.
"""

from __future__ import annotations

import csv
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TextIO

import typer

from followthrough.cli.state import state
from followthrough.errors import InputError

FIELDS = [
    "message_id",
    "type",
    "evidence",
    "owner",
    "due",
    "status",
    "deal",
    "id",
    "action",
    "due_text",
    "counterparty",
    "source",
    "thread_id",
    "char_start",
    "char_end",
    "alignment",
    "confidence",
    "link_method",
    "occurred_at",
]


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


class Format(StrEnum):
    jsonl = "jsonl"
    csv = "csv"


def _write(rows: object, fmt: Format, out: TextIO) -> int:
    n = 0
    if fmt is Format.csv:
        writer = csv.DictWriter(out, fieldnames=FIELDS, extrasaction="ignore")
        writer.writeheader()
        for row in rows:  # type: ignore[attr-defined]
            writer.writerow({k: csv_cell(row.get(k)) for k in FIELDS})
            n += 1
    else:
        for row in rows:  # type: ignore[attr-defined]
            out.write(json.dumps(row, default=str, ensure_ascii=False) + "\n")
            n += 1
    return n


def register(app: typer.Typer) -> None:
    @app.command("export")
    def export_cmd(
        ctx: typer.Context,
        fmt: Annotated[Format, typer.Option("--format", "-f", help="jsonl or csv.")] = Format.jsonl,
        output: Annotated[
            Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
        ] = None,
    ) -> None:
        """Export every commitment and request (message_id, type, evidence, owner, due, status, deal, ...)."""
        st = state(ctx)
        with st.open_store() as store:
            rows = store.export_rows()
            if output is None:
                n = _write(rows, fmt, sys.stdout)
            else:
                try:
                    with output.open("w", encoding="utf-8", newline="") as fh:
                        n = _write(rows, fmt, fh)
                except OSError as e:
                    raise InputError(output, f"cannot write: {e.strerror or e}") from e
        if output is not None:
            st.err.print(f"Wrote {n} rows to {output}.")
