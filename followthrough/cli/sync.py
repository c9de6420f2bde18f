"""``sync`` and ``sources``: pull what is new from live sources (IMAP, Slack, CRMs), then run the pipeline.

Sources are ``[[source]]`` tables of ``followthrough.toml`` (:mod:`followthrough.sync.config`).
A bad config file is one line per problem and exit code 2. ``sync`` then stores each
source's new batches with its cursor (:mod:`followthrough.sync.runner`), extracts, links
and prints the report ``run`` prints, with its exit codes: 0 every source synced (a source
another process is syncing is skipped with one line and counts as synced), 3 partial (a source
or a message failed: one line each, the other sources synced), 1 no source could be read, 130
interrupted by Ctrl-C ("interrupted: rerun to resume": the next sync resumes after the last
batch saved).
"""

from __future__ import annotations

import json
import re
import signal
import threading
from datetime import datetime
from types import FrameType
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from followthrough.backends import LlmOptions
from followthrough.cli import run as run_cmds
from followthrough.cli.state import State, state
from followthrough.pipeline import RunReport
from followthrough.redaction import redact
from followthrough.sync import runner
from followthrough.sync.base import SourceConfig
from followthrough.sync.config import ConfigFileError, SyncConfig, load
from store import Store

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
STACKED_BELOW = 72
"""Terminal columns under which ``sources`` prints one block per source instead of a table."""
_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$", re.IGNORECASE)
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}

SourcesArg = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="SOURCE...",
        help="Source names from the config file (default: every source).",
        show_default=False,
    ),
]
WatchOpt = Annotated[
    str | None,
    typer.Option(
        "--watch",
        metavar="INTERVAL",
        help="Sync again every INTERVAL (30s, 5m, 1h) until Ctrl-C, which ends after the current batch "
        "(exit 0).",
        show_default=False,
    ),
]


def parse_interval(text: str) -> float:
    """``"30s"``, ``"5m"``, ``"1h"``, ``"250ms"`` or plain seconds → seconds (> 0); ``ValueError`` else."""
    match = _INTERVAL.match(text)
    if not match:
        raise ValueError(f"{text!r} is not an interval (e.g. 30s, 5m, 1h)")
    seconds = float(match.group(1)) * _UNIT_S[(match.group(2) or "s").lower()]
    if seconds <= 0:
        raise ValueError("the interval must be more than 0")
    return seconds


def _config(st: State) -> SyncConfig:
    """The config file, or its problems on stderr (one line each) and exit code 2."""
    try:
        return load()
    except ConfigFileError as e:
        _usage(st, e.problems)


def _usage(st: State, problems: list[str]) -> NoReturn:
    for line in problems:
        # config lines mask their own secrets (followthrough.sync.config): a setting such as
        # auth = "password" is shown as written
        st.err.print(f"[red]error[/red]: {escape(line)}", highlight=False)
    raise typer.Exit(EXIT_USAGE)


class _StopRequest:
    """Ctrl-C under ``--watch``: the first asks to stop after the current batch, a second stops now."""

    def __init__(self, st: State) -> None:
        self.st = st
        self.event = threading.Event()

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.event.is_set():
            raise KeyboardInterrupt
        self.event.set()
        self.st.err.print("stopping after the current batch (Ctrl-C again to stop now)", highlight=False)

    def requested(self) -> bool:
        return self.event.is_set()


def register(app: typer.Typer) -> None:
    @app.command("sync")
    def sync_cmd(
        ctx: typer.Context,
        names: SourcesArg = None,
        watch: WatchOpt = None,
        extractor: run_cmds.ExtractorOpt = None,
        model: run_cmds.ModelOpt = None,
        retry_failed: run_cmds.RetryOpt = False,
        as_json: run_cmds.JsonOpt = False,
    ) -> None:
        """Pull what is new from the configured live sources, then extract, link and report as `run` does.

        Sources come from followthrough.toml (or $FOLLOWTHROUGH_CONFIG). Each source's state (its
        cursor) is kept in the database, saved with each batch: an interrupted sync resumes where it
        stopped. Exit code: 0 every source synced, 3 partial (a source or message failed: one line
        each; the others synced), 1 nothing could be read, 2 a bad config file or option.
        """
        st = state(ctx)
        config = _config(st)
        try:
            sources = config.select(names or [])
        except ConfigFileError as e:
            _usage(st, e.problems)
        interval = None
        if watch is not None:
            try:
                interval = parse_interval(watch)
            except ValueError as e:
                _usage(st, [f"--watch: {e}"])
        extract = (extractor, model, LlmOptions())
        try:
            if interval is None:
                raise typer.Exit(_sync_once(st, as_json, sources, extract, lambda: False, retry_failed))
            stop = _StopRequest(st)
            previous = signal.signal(signal.SIGINT, stop)
            try:
                while not stop.requested():
                    _sync_once(st, as_json, sources, extract, stop.requested, retry_failed)
                    stop.event.wait(interval)
            finally:
                signal.signal(signal.SIGINT, previous)
        except KeyboardInterrupt:
            st.err.print("interrupted: rerun to resume", highlight=False)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        raise typer.Exit(0)

    @app.command("sources")
    def sources_cmd(ctx: typer.Context, as_json: run_cmds.JsonOpt = False) -> None:
        """The configured live sources: kind, last sync, cursor and last error.

        Exit code: 0, or 2 when the config file is missing or wrong (one line per problem).
        """
        st = state(ctx)
        config = _config(st)
        with st.open_store() as store:
            rows = _source_rows(store, config.sources)
        if as_json:
            typer.echo(json.dumps(rows, indent=2, default=str))
            return
        render_sources(st.out, f"Sources ({len(rows)}) in {config.path}", rows)


def render_sources(out: Console, title: str, rows: list[dict[str, object]]) -> None:
    """The sources as a table whose cells wrap (nothing is ever left out), the Last error column only
    when a source has one; under :data:`STACKED_BELOW` columns, one block of lines per source."""
    cells = [
        {
            "Name": str(r["name"]),
            "Kind": str(r["kind"]),
            "Last sync": _when(r["last_sync_at"]),
            "Cursor": _cursor_summary(r["cursor"]),
            "Last error": redact(str(r["last_error"] or "")),
        }
        for r in rows
    ]
    headers = ["Name", "Kind", "Last sync", "Cursor"]
    if any(c["Last error"] for c in cells):
        headers.append("Last error")
    if out.width < STACKED_BELOW:
        out.print(title, style="bold", markup=False, highlight=False)
        for c in cells:
            out.print(f"{c['Name']} ({c['Kind']})", markup=False, highlight=False)
            for header in headers[2:]:
                if header != "Last error" or c[header]:
                    out.print(f"  {header.lower()}: {c[header]}", markup=False, highlight=False)
        return
    table = Table(title=escape(title), title_justify="left")
    for header in headers:
        table.add_column(header, overflow="fold", no_wrap=False, ratio=2 if header == "Last error" else None)
    for c in cells:
        table.add_row(*(escape(c[h]) for h in headers))
    out.print(table)


def _sync_once(
    st: State,
    as_json: bool,
    sources: list[SourceConfig],
    extract: tuple[str | None, str | None, LlmOptions],
    stop: runner.Stop,
    retry_failed: bool = False,
) -> int:
    """One sync of ``sources`` with the report ``run`` prints; its exit code (``retry_failed``: as
    ``run --retry-failed``)."""

    def gather(store: Store, report: RunReport, bar: run_cmds._Bar) -> None:
        runner.sync_sources(store, sources, report, st.company_domains(store), progress=bar, stop=stop)

    return run_cmds._batch_report(
        st, as_json, gather=gather, extract=extract, attention=True, retry_failed=retry_failed
    )


def _source_rows(store: Store, sources: list[SourceConfig]) -> list[dict[str, object]]:
    """One row per configured source, with its stored state (never synced: empty)."""
    states = store.source_states()
    rows: list[dict[str, object]] = []
    for config in sources:
        saved = states.get(config.name)
        rows.append(
            {
                "name": config.name,
                "kind": config.kind,
                "url": redact(config.url) if config.url else None,
                "last_sync_at": saved.last_sync_at.isoformat() if saved and saved.last_sync_at else None,
                "cursor": dict(saved.cursor) if saved else {},
                "last_error": saved.last_error if saved else None,
                "last_error_at": saved.last_error_at.isoformat() if saved and saved.last_error_at else None,
                "documents": saved.documents if saved else 0,
                "crm_records": saved.crm_records if saved else 0,
                "batches": saved.batches if saved else 0,
            }
        )
    return rows


def _when(value: object) -> str:
    if not isinstance(value, str):
        return "never"
    return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M UTC")


def _cursor_summary(cursor: object) -> str:
    """``INBOX uid 42, Sent uid 7`` from ``{"INBOX.uid": "42", ...}``; other keys as ``key=value``."""
    if not isinstance(cursor, dict) or not cursor:
        return "-"
    parts: list[str] = []
    for key, value in cursor.items():
        if key.endswith(".uidvalidity"):
            continue
        if key.endswith(".uid"):
            parts.append(f"{key[: -len('.uid')]} uid {value}")
        else:
            parts.append(f"{key}={value}")
    return ", ".join(parts) or "-"


__all__ = ["parse_interval", "register"]
