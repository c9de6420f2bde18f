"""``run``, ``ingest`` and ``extract``: the batch side of the CLI."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from extractor.batch.settings import BatchSettings
from extractor.llm_settings import DEFAULT_CONCURRENCY
from followthrough import distributed, pipeline
from followthrough.attention import collect
from followthrough.backends import LlmOptions, build_extractor
from followthrough.cli.dates import DATE_HELP, METAVAR, day
from followthrough.cli.params import not_one_of
from followthrough.cli.state import State, state
from followthrough.config import ExtractorName
from followthrough.errors import InputError
from followthrough.pipeline import RunReport
from followthrough.redaction import redact
from followthrough.types import RunStatus
from store import Store

if TYPE_CHECKING:
    from rich.progress import Progress

PathsArg = Annotated[
    list[Path],
    typer.Argument(
        metavar="PATH...",
        help="Files, folders or archives: .eml, mbox, Slack export (folder or ZIP), notes, .vtt, CRM CSV.",
    ),
]
DateOpt = Annotated[
    date | None,
    typer.Option(
        "--date",
        parser=day,
        metavar=METAVAR,
        help="The day of meeting notes and transcripts that carry none in their name or text: " + DATE_HELP,
        show_default=False,
    ),
]


def _extractor(value: str) -> str:
    """``--extractor``: one of :class:`ExtractorName` (any case); a usage error (exit 2) otherwise."""
    if value.strip().lower() not in {e.value for e in ExtractorName}:
        raise typer.BadParameter(not_one_of(value, ExtractorName))
    return value


JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
ExtractorOpt = Annotated[
    str | None,
    typer.Option(
        "--extractor",
        parser=_extractor,
        metavar="EXTRACTOR",
        help=f"{' | '.join(ExtractorName)} (env: FOLLOWTHROUGH_EXTRACTOR; default: {ExtractorName.OPENAI} "
        f"when OPENAI_API_KEY or OPENAI_BASE_URL is set, else {ExtractorName.OFFLINE}).",
        show_default=False,
    ),
]
ModelOpt = Annotated[
    str | None, typer.Option("--model", help="Model name (env: FOLLOWTHROUGH_MODEL).", show_default=False)
]
ConcurrencyOpt = Annotated[
    int, typer.Option("--concurrency", min=1, max=256, help="Documents in flight (LLM).")
]
RpmOpt = Annotated[int | None, typer.Option("--rpm", min=1, help="Requests per minute limit (LLM).")]
TpmOpt = Annotated[int | None, typer.Option("--tpm", min=1, help="Tokens per minute limit (LLM).")]
FollowOpt = Annotated[
    bool,
    typer.Option(
        "--follow-symlinks",
        help="Read files that symbolic links inside a folder point to outside it (default: skip them).",
    ),
]
PrefilterOpt = Annotated[
    bool,
    typer.Option("--prefilter/--no-prefilter", help="Skip text the offline detector finds nothing in (LLM)."),
]
BatchOpt = Annotated[
    bool,
    typer.Option(
        "--batch",
        help="Send the documents through the LLM provider's Batch API (half the price, done within 24 h); "
        "a later `extract --batch` collects batches still open.",
    ),
]
WaitOpt = Annotated[
    bool,
    typer.Option(
        "--wait/--no-wait",
        help="With --batch: wait for the batches to end, or submit them and let a later run collect them.",
    ),
]
PollOpt = Annotated[
    float, typer.Option("--poll-seconds", min=0.001, help="With --batch: seconds between two polls.")
]
MaxWaitOpt = Annotated[
    float, typer.Option("--max-wait-seconds", min=0, help="With --batch: the longest to wait, in seconds.")
]


RetryOpt = Annotated[
    bool,
    typer.Option(
        "--retry-failed",
        help="Try again documents that ran out of the offline time budget on an earlier run (by default "
        "an unchanged one is listed and skipped while the budget is no larger; other failures are always "
        "tried again).",
    ),
]
NotifyOpt = Annotated[
    bool,
    typer.Option(
        "--notify",
        help="After the report, send each owner their new and changed items on every channel configured "
        "(email: FOLLOWTHROUGH_SMTP_URL; Slack: FOLLOWTHROUGH_SLACK_WEBHOOK_URL or SLACK_BOT_TOKEN).",
    ),
]


def _ray_address(address: str | None) -> str | None:
    """``--ray``'s check: without Ray installed, one line and exit code 2 (before any work)."""
    if address is not None and not distributed.ray_installed():
        typer.echo(f"error: {distributed.RAY_MISSING}", err=True)
        raise typer.Exit(2)
    return address


RayOpt = Annotated[
    str | None,
    typer.Option(
        "--ray",
        metavar="ADDRESS",
        callback=_ray_address,
        help="Read and extract on a Ray cluster (host:port, ray://host:port, auto; `local` starts one on "
        "this machine); this process records the results. Needs the `ray` extra.",
        show_default=False,
    ),
]


class _Bar:
    """Adapts pipeline progress callbacks to a rich progress bar."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.tasks: dict[str, int] = {}

    def __call__(self, stage: str, advance: int, total: int | None) -> None:
        if self.progress is None:
            return
        if stage not in self.tasks:
            label = {"ingest": "Reading", "extract": "Extracting"}.get(stage, stage)
            self.tasks[stage] = int(self.progress.add_task(label, total=total))
        task = self.tasks[stage]
        if total is not None:
            self.progress.update(task, total=total)  # type: ignore[arg-type]
        if advance:
            self.progress.advance(task, advance)  # type: ignore[arg-type]


def _progress(st: State, as_json: bool) -> tuple[AbstractContextManager[object], _Bar]:
    if st.quiet or as_json or not st.err.is_terminal:
        return nullcontext(), _Bar(None)
    # rich's progress bar, markup and tables load only when shown (a --json re-run never needs them)
    from rich.progress import (  # noqa: PLC0415
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=st.err,
        transient=True,
    )
    return bar, _Bar(bar)


def _escape(text: str) -> str:
    """``text`` with rich markup escaped (rich's markup module loads on the first line printed)."""
    from rich.markup import escape  # noqa: PLC0415

    return escape(text)


_SKIPPED_LISTED = 5


def _print_problems(st: State, rep: RunReport) -> None:
    for e in rep.errors:
        st.err.print(f"[red]error[/red]: {_escape(redact(str(e)))}", highlight=False)
    if len(rep.skipped) <= _SKIPPED_LISTED:
        for e in rep.skipped:
            st.err.print(f"[yellow]skipped[/yellow]: {_escape(str(e))}", highlight=False)
    else:
        by_reason: dict[str, list[InputError]] = {}
        for e in rep.skipped:
            by_reason.setdefault(_reason_kind(e.problem), []).append(e)
        for reason, group in sorted(by_reason.items(), key=lambda kv: -len(kv[1])):
            if len(group) == 1:
                st.err.print(f"[yellow]skipped[/yellow]: {_escape(redact(str(group[0])))}", highlight=False)
                continue
            kinds = Counter(Path(e.path).suffix or "(no suffix)" for e in group)
            summary = ", ".join(f"{n} {suffix}" for suffix, n in kinds.most_common(6))
            st.err.print(
                f"[yellow]skipped[/yellow] {len(group)} files: {_escape(reason)} ({summary}), "
                f"e.g. {_escape(group[0].path)}; --json lists them all",
                highlight=False,
            )
    for e in rep.notes:
        st.err.print(f"[cyan]note[/cyan]: {_escape(str(e))}", highlight=False)
    for f in rep.failed:
        st.err.print(f"[red]extraction failed[/red]: {_escape(redact(f))}", highlight=False)
    for f in rep.held:
        st.err.print(f"[yellow]held back[/yellow]: {_escape(redact(f))}", highlight=False)


def _problem_counts(rep: RunReport) -> str:
    """What went wrong, counted by kind: ``"2 inputs or records not read or stored, 1 document not
    extracted"``."""
    unread, failed = len(rep.errors), len(rep.failed)
    parts = []
    if unread:
        s = "s" if unread > 1 else ""
        parts.append(f"{unread} input{s} or record{s} not read or stored")
    if failed:
        parts.append(f"{failed} document{'s' if failed > 1 else ''} not extracted")
    return ", ".join(parts)


EXIT_OK = 0
EXIT_FAILED = 1
"""Nothing done: inputs were given and none could be read, or every document extracted failed (an
unreachable or misconfigured LLM server). A known error that stops the command exits 1 as well."""
EXIT_PARTIAL = 3
"""Some inputs, records or documents failed, the rest was read, stored and extracted."""


def _reason_kind(problem: str) -> str:
    """A skip reason without the parts that name one file: "unsupported file type (.png)" → its kind."""
    return re.sub(r"\s*\([^)]*\)|:.*$", "", problem).strip() or problem


def _exit_code(rep: RunReport, *, read: bool) -> int:
    """``0`` all read, stored and extracted; ``3`` partial (some input, record or document failed:
    the count is printed); ``1`` inputs were given (``read``) and nothing could be read, or every
    document extracted failed, unless inputs were read and gave more documents than failed (a re-run
    tries only the one that failed before: the rest of the unchanged folder is still read)."""
    if read and not rep.processed_anything:
        return EXIT_FAILED
    if (
        rep.extraction_status is RunStatus.FAILED
        and not (read and rep.documents_seen > len(rep.failed))
        and rep.over_budget < len(rep.failed)  # documents too long for the budget: theirs, not the backend's
    ):
        return EXIT_FAILED
    return EXIT_PARTIAL if rep.problems else EXIT_OK


def _extract(
    st: State,
    store: Store,
    rep: RunReport,
    bar: _Bar,
    *,
    extractor: str | None,
    model: str | None,
    options: LlmOptions,
    relink: bool = True,
    cluster: distributed.Cluster | None = None,
    retry_failed: bool = False,
) -> None:
    """Extract what is pending, then link. ``relink``: look at every unlinked item again (the CRM
    may have changed: `extract` alone, or a run that stored CRM records); else only at this run's.
    ``retry_failed``: also what failed before in a way that would recur (:func:`pipeline.extract_pending`)."""
    settings = st.settings(extractor=extractor, model=model)
    domains = st.company_domains(store)
    backend = build_extractor(settings, domains=domains, directory=store.directory(), options=options)
    if cluster is not None and options.batch is None:  # the same backend on the cluster's workers
        backend = cluster.extractor(backend, settings, domains, store.directory(), options)
    try:
        if options.batch is not None:
            from followthrough.batch_run import extract_batched  # loads the LLM client: --batch only

            extract_batched(store, backend, rep, domains, options.batch, bar)
            done = None
        else:
            done = pipeline.extract_pending(store, backend, rep, domains, bar, retry_failed=retry_failed)
    finally:
        backend.close()
    if done is None or relink:
        pipeline.link(store, rep, domains)
    else:  # only what this run recorded can link, deliver or answer anew
        pipeline.link(store, rep, domains, ids=done.commitments, documents=done.recorded)


Gather = Callable[[Store, RunReport, _Bar], None]
"""``gather(store, report, bar)``: reads what a command stores before extraction (``sync``: live sources)."""


def _batch(
    st: State,
    as_json: bool,
    *,
    paths: list[Path] | None = None,
    extract: tuple[str | None, str | None, LlmOptions] | None = None,
    attention: bool = False,
    undated: date | None = None,
    follow_symlinks: bool = False,
    ray: str | None = None,
    retry_failed: bool = False,
) -> None:
    """The shared shape of run/ingest/extract: work under a progress bar, then one report; exits with
    its code (:func:`_batch_report`)."""
    code = _batch_report(
        st,
        as_json,
        paths=paths,
        extract=extract,
        attention=attention,
        undated=undated,
        follow_symlinks=follow_symlinks,
        ray=ray,
        retry_failed=retry_failed,
    )
    raise typer.Exit(code)


def _batch_report(
    st: State,
    as_json: bool,
    *,
    paths: list[Path] | None = None,
    gather: Gather | None = None,
    extract: tuple[str | None, str | None, LlmOptions] | None = None,
    attention: bool = False,
    undated: date | None = None,
    follow_symlinks: bool = False,
    ray: str | None = None,
    retry_failed: bool = False,
) -> int:
    """Work under a progress bar, then one report; the exit code. ``paths``: inputs to read;
    ``gather``: what else stores documents first (live sources); ``extract``: extract and link
    (``retry_failed``: also documents held back, :func:`pipeline.extract_pending`)."""
    with st.open_store() as store:
        store.on_busy = lambda message: st.err.print(
            f"[yellow]waiting[/yellow]: {_escape(message)}", highlight=False
        )
        rep = RunReport()
        ctxm, bar = _progress(st, as_json)
        found = None
        joined: AbstractContextManager[distributed.Cluster | None] = (
            distributed.connect(ray) if ray else nullcontext()
        )
        with joined as cluster, ctxm:
            if paths is not None:
                pipeline.ingest_paths(
                    store,
                    paths,
                    rep,
                    st.settings().company_domains,
                    bar,
                    undated=undated,
                    follow_symlinks=follow_symlinks,
                    read=cluster.read if cluster else pipeline.read_in_order,
                )
            if gather is not None:
                gather(store, rep, bar)
            if extract is not None:
                backend, model, options = extract
                relink = (paths is None and gather is None) or sum(rep.crm.values()) > 0
                _extract(
                    st,
                    store,
                    rep,
                    bar,
                    extractor=backend,
                    model=model,
                    options=options,
                    relink=relink,
                    cluster=cluster,
                    retry_failed=retry_failed,
                )
        if rep.stored_anything:  # bulk work done: the listings that follow (and the API) plan well
            store.refresh_statistics()
        if attention:
            as_of, ours = st.settings().as_of, st.company_domains(store)
            store.refresh_touches(as_of, ours)  # kept for the next report while nothing changes
            found = collect(store, as_of, domains=ours)
    if as_json:
        out: dict[str, object] = rep.as_dict()
        if found is not None:
            out = {"run": out, "attention": found.as_dict()}
        typer.echo(json.dumps(out, default=str, indent=2))
    else:
        from followthrough.cli import report as report_view  # noqa: PLC0415 - rich, only to render

        _print_problems(st, rep)
        report_view.render_run(st.out, rep)
        if found is not None:
            report_view.render_attention(st.out, found, st.settings().as_of, again=st.again())
    code = _exit_code(rep, read=paths is not None or gather is not None)
    if code == EXIT_PARTIAL:
        st.err.print(
            f"[red]{_problem_counts(rep)}[/red] (listed above); exit code 3 (partial)", highlight=False
        )
    elif code == EXIT_FAILED and rep.extraction_status is RunStatus.FAILED:
        st.err.print(
            f"[red]every document failed to extract[/red] ({len(rep.failed)}, listed above); exit code 1",
            highlight=False,
        )
    elif code == EXIT_FAILED:
        st.err.print("[red]nothing could be read[/red] (listed above); exit code 1", highlight=False)
    return code


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run_cmd(
        ctx: typer.Context,
        paths: PathsArg,
        extractor: ExtractorOpt = None,
        model: ModelOpt = None,
        concurrency: ConcurrencyOpt = DEFAULT_CONCURRENCY,
        rpm: RpmOpt = None,
        tpm: TpmOpt = None,
        prefilter: PrefilterOpt = True,
        batch: BatchOpt = False,
        wait: WaitOpt = True,
        poll_seconds: PollOpt = BatchSettings.poll_s,
        max_wait_seconds: MaxWaitOpt = BatchSettings.max_wait_s,
        meeting_date: DateOpt = None,
        follow_symlinks: FollowOpt = False,
        ray: RayOpt = None,
        retry_failed: RetryOpt = False,
        notify: NotifyOpt = False,
        as_json: JsonOpt = False,
    ) -> None:
        """Ingest, extract, link, then report what needs attention.

        Exit code: 0 everything read and extracted (a document held back, as it ran out of the offline
        time budget on an earlier run, is one line but no failure), 3 partial (some input or document
        failed; each is one line on stderr), 1 nothing could be read, every document failed to extract
        (an unreachable or misconfigured LLM server: one line names it), or an error stopped the run.
        With --notify, a run that exits 0 exits 1 (or 3) when no (or not every) message could be
        delivered: those stay pending for the next digest or run; 2 when no channel is configured.
        """
        options = LlmOptions(
            concurrency=concurrency,
            rpm=rpm,
            tpm=tpm,
            prefilter=prefilter,
            batch=BatchSettings(wait, poll_seconds, max_wait_seconds) if batch else None,
        )
        if notify:  # no channel configured: exit 2 before any work
            from followthrough.cli import digest as digest_cli  # noqa: PLC0415 - email/Slack load only for --notify

            digest_cli.check_notify()
        code = _batch_report(
            state(ctx),
            as_json,
            paths=paths,
            extract=(extractor, model, options),
            attention=True,
            undated=meeting_date,
            follow_symlinks=follow_symlinks,
            ray=ray,
            retry_failed=retry_failed,
        )
        if notify:
            code = digest_cli.after_run(state(ctx), code, as_json=as_json)
        raise typer.Exit(code)

    @app.command("ingest")
    def ingest_cmd(
        ctx: typer.Context,
        paths: PathsArg,
        meeting_date: DateOpt = None,
        follow_symlinks: FollowOpt = False,
        as_json: JsonOpt = False,
    ) -> None:
        """Read inputs into the store (idempotent: re-ingesting adds nothing).

        Exit code: 0 all read, 3 partial (some input failed), 1 nothing could be read.
        """
        _batch(state(ctx), as_json, paths=paths, undated=meeting_date, follow_symlinks=follow_symlinks)

    @app.command("extract")
    def extract_cmd(
        ctx: typer.Context,
        extractor: ExtractorOpt = None,
        model: ModelOpt = None,
        concurrency: ConcurrencyOpt = DEFAULT_CONCURRENCY,
        rpm: RpmOpt = None,
        tpm: TpmOpt = None,
        prefilter: PrefilterOpt = True,
        batch: BatchOpt = False,
        wait: WaitOpt = True,
        poll_seconds: PollOpt = BatchSettings.poll_s,
        max_wait_seconds: MaxWaitOpt = BatchSettings.max_wait_s,
        ray: RayOpt = None,
        retry_failed: RetryOpt = False,
        as_json: JsonOpt = False,
    ) -> None:
        """Extract every stored document not yet extracted (or failed) with this extractor, then link
        (--retry-failed: also those held back after running out of the time budget).

        Exit code: 0 all extracted (but those held back), 3 partial (some document failed; it stays
        pending), 1 every
        document failed (an unreachable or misconfigured LLM server) or an error stopped the run.
        """
        options = LlmOptions(
            concurrency=concurrency,
            rpm=rpm,
            tpm=tpm,
            prefilter=prefilter,
            batch=BatchSettings(wait, poll_seconds, max_wait_seconds) if batch else None,
        )
        _batch(state(ctx), as_json, extract=(extractor, model, options), ray=ray, retry_failed=retry_failed)
