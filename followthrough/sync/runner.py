"""Sync live sources into the store: each source's new batches, stored with its cursor, one at a time.

For each selected source (:class:`~followthrough.sync.base.SourceConfig`), in config order:
read its saved cursor, pull batch after batch (:meth:`LiveSource.pull`), and store each
batch's documents (as ``run`` stores a file's: :func:`followthrough.pipeline.ingest_documents`)
and CRM records together with the cursor after it, in one transaction
(:meth:`store.Store.save_source_batch`). A sync stopped between two batches (Ctrl-C, a
dropped connection, a crash) resumes after the last batch saved.

A source that fails (:class:`~followthrough.sync.base.SourceError`: a wrong password, a
revoked token, a deleted folder) is one line in ``report.errors`` naming it, recorded as its
last error; the next source syncs.

One process syncs a source at a time: each source's ``sync`` lease
(:meth:`store.Store.take_source_lease`) is taken before its cursor is read, renewed after each
batch and released at the end (a lease whose holder on this host died is taken over at once: one
line in ``report.notes``). A source another process is syncing is one line in
``report.skipped`` (``source 'mail': being synced by another process since T``) and the next
source syncs; it is no failure (that source *is* being synced), so it does not change the exit
code. Extraction and linking are the caller's (``followthrough
sync`` runs them after, as ``run`` does).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from followthrough import pipeline
from followthrough.errors import FollowthroughError, InputError, StoreError
from followthrough.pipeline import Progress, RunReport
from followthrough.redaction import redact
from followthrough.sync.base import LiveSource, Pulled, SourceConfig
from followthrough.sync.lease import held_since, lease_holder, take_lease
from followthrough.sync.registry import SOURCES
from followthrough.types import SourceDocument
from store import Store, Unstorable, admit_crm

log = logging.getLogger("followthrough.sync")

Stop = Callable[[], bool]
"""``stop()``: whether to end after the batch just saved (``sync --watch`` on Ctrl-C)."""


@dataclass
class SourceOutcome:
    """What one source's sync did: batches saved, documents stored (seen, new), its error line
    (``None``: it went through every batch), ``stopped`` when asked to stop before the end."""

    name: str
    kind: str
    batches: int = 0
    documents_seen: int = 0
    documents_new: int = 0
    error: str | None = None
    stopped: bool = False
    busy: bool = False
    """Another process was syncing it: skipped."""


def _no_progress(stage: str, advance: int, total: int | None) -> None:
    return None


def _never() -> bool:
    return False


def sync_sources(
    store: Store,
    sources: Sequence[SourceConfig],
    report: RunReport,
    domains: set[str],
    *,
    progress: Progress = _no_progress,
    stop: Stop = _never,
    open_source: Callable[[SourceConfig], LiveSource] | None = None,
) -> list[SourceOutcome]:
    """Sync each of ``sources`` in turn (see the module docstring); what each did.

    ``report`` counts each source as an input (one that fails is one of ``report.errors``),
    its documents as seen/new, its CRM rows in ``report.crm``. ``domains``: our company's
    (empty: the CRM's, as ``run`` guesses them). ``open_source``: builds a source from its
    config (default: the class :data:`~followthrough.sync.registry.SOURCES` names).
    Store errors stop the sync (raised); a stop request ends it after the current batch.
    """
    since = datetime.now(UTC)
    holder = lease_holder()
    outcomes: list[SourceOutcome] = []
    for config in sources:
        if stop():
            break
        report.inputs += 1
        taken = take_lease(store, config.name, config.kind, "sync", holder)
        if taken.note is not None:
            report.notes.append(InputError(_who(config), taken.note.removeprefix(f"{_who(config)}: ")))
        held = taken.held
        if held is not None:
            report.skipped.append(
                InputError(_who(config), f"being synced by another process since {held_since(held)}")
            )
            outcomes.append(SourceOutcome(config.name, config.kind, busy=True))
            continue
        try:
            outcome = sync_source(
                store,
                config,
                report,
                domains,
                since=since,
                progress=progress,
                stop=stop,
                open_source=open_source or _open,
                lease=holder,
            )
        finally:
            store.release_source_lease(config.name, "sync", holder)
        outcomes.append(outcome)
    return outcomes


def _open(config: SourceConfig) -> LiveSource:
    return SOURCES[config.kind](config)


def sync_source(
    store: Store,
    config: SourceConfig,
    report: RunReport,
    domains: set[str],
    *,
    since: datetime,
    progress: Progress = _no_progress,
    stop: Stop = _never,
    open_source: Callable[[SourceConfig], LiveSource] = _open,
    lease: str | None = None,
) -> SourceOutcome:
    """Sync one source: every batch new since its saved cursor, each saved with its cursor.

    ``lease``: the holder of the source's ``sync`` lease (the caller took it), renewed after each batch.
    """
    outcome = SourceOutcome(config.name, config.kind)
    state = store.source_state(config.name)
    cursor = dict(state.cursor) if state else {}
    source: LiveSource | None = None
    try:
        source = open_source(config)
        pulls = source.pull(cursor)
        try:
            for pulled in pulls:
                _save(
                    store,
                    config,
                    pulled,
                    report,
                    domains or store.company_domains_from_crm(),
                    since,
                    progress,
                    outcome,
                )
                if lease is not None:
                    store.renew_source_lease(config.name, "sync", lease)
                if stop():
                    outcome.stopped = True
                    break
        finally:
            close = getattr(pulls, "close", None)
            if close is not None:
                close()
    except StoreError:
        raise
    except FollowthroughError as e:  # SourceError, or a config/secret problem found when it connects
        line = redact(str(e))
        outcome.error = line
        report.errors.append(InputError(_who(config), _problem(config, line)))
        store.source_failed(config.name, config.kind, line)
        return outcome
    finally:
        if source is not None:
            source.close()
    if not outcome.stopped:
        store.source_synced(config.name, config.kind)
    return outcome


def _save(
    store: Store,
    config: SourceConfig,
    pulled: Pulled,
    report: RunReport,
    domains: set[str],
    since: datetime,
    progress: Progress,
    outcome: SourceOutcome,
) -> None:
    """Store one batch with the cursor after it (one transaction) and count it."""
    report.errors.extend(pulled.problems)
    crm = None
    if pulled.crm is not None:
        crm, problems = admit_crm(pulled.crm)
        report.errors.extend(InputError(_who(config), p) for p in problems)
    crm_counts: dict[str, int] = {}

    def save(documents: list[SourceDocument]) -> list[tuple[int, bool] | Unstorable]:
        saved = store.save_source_batch(
            config.name, config.kind, documents, pulled.cursor, crm=crm, since=since
        )
        crm_counts.update(saved.crm)
        return saved.documents

    seen, new = report.documents_seen, report.documents_new
    pipeline.ingest_documents(store, pulled.documents, report, domains, save=save, progress=progress)
    for key, n in crm_counts.items():
        report.crm[key] = report.crm.get(key, 0) + n
    outcome.batches += 1
    outcome.documents_seen += report.documents_seen - seen
    outcome.documents_new += report.documents_new - new


def _who(config: SourceConfig) -> str:
    return f"source {config.name!r}"


def _problem(config: SourceConfig, line: str) -> str:
    """``line`` without the ``source 'name': `` it may start with (the report line names it once)."""
    prefix = f"{_who(config)}: "
    return line[len(prefix) :] if line.startswith(prefix) else line


__all__ = ["SourceOutcome", "Stop", "sync_source", "sync_sources"]
