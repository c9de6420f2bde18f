"""Extraction runs and extractions: the cache, and recording one document's items.

A run's counters (the numeric columns of ``extraction_runs``: documents, items, failed, cached,
ungrounded, tokens, cost) have one owner: the caller's report, stored by :meth:`RunStore.finish_run`
when the run ends (``followthrough.pipeline.RunReport.run_stats``). Recording an extraction writes the
extraction only. A run whose process died never finishes: the next :meth:`RunStore.start_run` marks it
``interrupted`` with what its recorded extractions show (:func:`_tally`).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from typing import Any

from sqlalchemy import Float, Integer, select
from sqlalchemy.orm import Session, load_only

from followthrough.redaction import redact
from followthrough.types import ExtractedItem, ExtractionStatus, RunStatus
from store.admission import Unstorable, admit_item, clamp_count, clean
from store.base import NotFound, StoreCore, _retry_conflicts
from store.bulk import insert_rows
from store.models import (
    CommitmentRow,
    DocumentRow,
    EvidenceRow,
    ExtractionRow,
    ExtractionRunRow,
    table_of,
    utcnow,
)
from store.recording import record_fresh, record_items
from store.views import RunView

RUN_COUNTERS = frozenset(
    c.key
    for c in ExtractionRunRow.__table__.columns
    if not c.primary_key and isinstance(c.type, Integer | Float)
)
"""The counter columns of a run (its numeric columns): what :meth:`RunStore.finish_run` sets."""


class RunStore(StoreCore):
    """Extraction runs with their counters, and each document's extraction."""

    @_retry_conflicts
    def start_run(self, *, extractor: str, model: str, prompt_version: str) -> int:
        """Open a run (status ``running``), owned by this process (``stats.pid``, ``stats.host``).

        Runs left ``running`` by a process that no longer exists (killed, or the machine went
        down) are closed first with status ``interrupted`` and the counts of their recorded
        extractions: see :func:`_abandoned` and :func:`_tally`.
        """
        with self._tx() as s:
            running = select(ExtractionRunRow).where(ExtractionRunRow.status == RunStatus.RUNNING)
            for old in s.scalars(running).all():
                if _abandoned(old):
                    _tally(s, old)
                    old.status = RunStatus.INTERRUPTED
                    old.finished_at = old.finished_at or utcnow()
            row = ExtractionRunRow(
                extractor=extractor,
                model=model,
                prompt_version=prompt_version,
                started_at=utcnow(),
                status=RunStatus.RUNNING,
                stats={"pid": os.getpid(), "host": socket.gethostname()},
            )
            s.add(row)
            s.flush()
            return row.id

    @_retry_conflicts
    def finish_run(
        self, run_id: int, status: RunStatus, stats: Mapping[str, int | float | str] | None = None
    ) -> None:
        """Close a run with its ``status`` (another value than a member or its string is a
        ``ValueError``) and the caller's counts.

        A key of ``stats`` that names a counter column (:data:`RUN_COUNTERS`: ``documents``,
        ``items``, ``failed``, ``cached``, ``ungrounded``, ``prompt_tokens``, ``completion_tokens``,
        ``cost_usd``) sets that column; other keys are kept in the run's ``stats`` JSON. A counter
        not given stays 0. Raises :class:`NotFound` for an unknown run.
        """
        status = RunStatus(status)
        with self._tx() as s:
            row = s.get(ExtractionRunRow, run_id)
            if row is None:
                raise NotFound(f"no extraction run with id {run_id}")
            extra: dict[str, Any] = dict(row.stats or {})
            for key, value in (stats or {}).items():
                if key == "cost_usd":
                    row.cost_usd = float(value)
                elif key in RUN_COUNTERS:
                    setattr(row, key, clamp_count(int(value)))
                else:
                    extra[key] = value
            row.status = status
            row.stats = extra
            row.finished_at = utcnow()

    def list_runs(self, limit: int = 20) -> list[RunView]:
        with self._tx() as s:
            rows = s.scalars(select(ExtractionRunRow).order_by(ExtractionRunRow.id.desc()).limit(limit)).all()
            return [_run_view(r) for r in rows]

    def get_run(self, run_id: int) -> RunView:
        with self._tx() as s:
            row = s.get(ExtractionRunRow, run_id)
            if row is None:
                raise NotFound(f"no extraction run with id {run_id}")
            return _run_view(row)

    def cached_items(self, content_hash: str, cache_key: str) -> list[ExtractedItem] | None:
        """Items of the newest OK extraction of this content under this key, or ``None``."""
        with self._tx() as s:
            row = s.scalars(
                select(ExtractionRow)
                .where(
                    ExtractionRow.content_hash == content_hash,
                    ExtractionRow.cache_key == cache_key,
                    ExtractionRow.status == ExtractionStatus.OK,
                )
                .order_by(ExtractionRow.id.desc())
                .limit(1)
            ).first()
            if row is None:
                return None
            return [ExtractedItem.model_validate(x) for x in row.items]

    def cached_items_many(
        self, content_hashes: Collection[str], cache_key: str
    ) -> dict[str, list[ExtractedItem]]:
        """:meth:`cached_items` for many contents in one query: content hash → items (hashes with no
        cached extraction are absent)."""
        out: dict[str, list[ExtractedItem]] = {}
        if not content_hashes:
            return out
        with self._tx() as s:
            rows = s.execute(
                select(ExtractionRow.content_hash, ExtractionRow.items)
                .where(
                    ExtractionRow.content_hash.in_(list(content_hashes)),
                    ExtractionRow.cache_key == cache_key,
                    ExtractionRow.status == ExtractionStatus.OK,
                )
                .order_by(ExtractionRow.id)
            ).all()
            for r in rows:  # the newest wins
                out[r.content_hash] = [ExtractedItem.model_validate(x) for x in r.items]
        return out

    def record_extractions(
        self, run_id: int, cache_key: str, recordings: Sequence[Recording]
    ) -> list[list[int] | Unstorable]:
        """Record many documents' extractions in one transaction; per recording what
        :meth:`record_extraction` returns, or the :class:`Unstorable` that one document raised.

        Documents no extraction stored anything for are recorded in bulk
        (:func:`store.recording.record_fresh`), the others one by one under the rules of
        :func:`store.recording.record_items`, all in the same transaction. When a value is refused
        inside it, the batch is recorded again document by document, so that one document's value
        costs that document alone. Pass batches of a few hundred.
        """
        if not recordings:
            return []
        try:
            return self._record_batch(run_id, cache_key, recordings)
        except Unstorable:
            out: list[list[int] | Unstorable] = []
            for r in recordings:
                try:
                    out.append(
                        self.record_extraction(
                            run_id,
                            r.document_id,
                            cache_key,
                            r.items,
                            status=r.status,
                            error=r.error,
                            prompt_tokens=r.prompt_tokens,
                            completion_tokens=r.completion_tokens,
                            budget_s=r.budget_s,
                        )
                    )
                except Unstorable as e:
                    out.append(e)
            return out

    @_retry_conflicts
    def _record_batch(
        self, run_id: int, cache_key: str, recordings: Sequence[Recording]
    ) -> list[list[int] | Unstorable]:
        prepared: list[tuple[Recording, list[ExtractedItem], str | None] | Unstorable] = []
        for r in recordings:
            try:
                prepared.append((r, [admit_item(i) for i in r.items], _error_text(r.error)))
            except Unstorable as e:
                prepared.append(e)
        ids = [r.document_id for r in recordings]
        with self._tx() as s:
            d_ = DocumentRow
            # what recording reads of a document; a re-recorded one (record_items) loads the rest
            # when it needs it, so a fresh batch never reads the texts the extractor just had
            lean = load_only(d_.id, d_.source, d_.thread_id, d_.external_id, d_.content_hash)
            docs = {d.id: d for d in s.scalars(select(d_).where(d_.id.in_(ids)).options(lean))}
            for doc_id in ids:
                if doc_id not in docs:
                    raise NotFound(f"no document with id {doc_id}")
            for key in sorted({_thread_lock(d) for d in docs.values()}):
                self._lock(s, key)
            if s.get(ExtractionRunRow, run_id) is None:
                raise NotFound(f"no extraction run with id {run_id}")
            insert_rows(
                s,
                table_of(ExtractionRow),
                _EXTRACTION_COLUMNS,
                (
                    (
                        r.document_id,
                        run_id,
                        cache_key,
                        docs[r.document_id].content_hash,
                        r.status,
                        error,
                        [i.model_dump(mode="json") for i in items] if r.status is ExtractionStatus.OK else [],
                        clamp_count(r.prompt_tokens),
                        clamp_count(r.completion_tokens),
                        r.budget_s if r.status is ExtractionStatus.FAILED else None,
                    )
                    for p in prepared
                    if not isinstance(p, Unstorable)
                    for r, items, error in [p]
                ),
                shared={"created_at": utcnow()},
            )
            ok = [p for p in prepared if not isinstance(p, Unstorable) and p[0].status is ExtractionStatus.OK]
            earlier = _documents_with_items(s, [r.document_id for r, _, _ in ok])
            results: dict[int, list[int]] = {}
            for r, items, _ in ok:
                if r.document_id in earlier:
                    doc = docs[r.document_id]
                    results[id(r)] = record_items(
                        s, doc=doc, run_id=run_id, cache_key=cache_key, items=items
                    ).ids
            fresh = [(r, items) for r, items, _ in ok if r.document_id not in earlier]
            if fresh:
                recorded = record_fresh(
                    s,
                    [(docs[r.document_id], items) for r, items in fresh],
                    run_id=run_id,
                    cache_key=cache_key,
                )
                for (r, _), got in zip(fresh, recorded, strict=True):
                    results[id(r)] = got
        return [p if isinstance(p, Unstorable) else results.get(id(p[0]), []) for p in prepared]

    def record_extraction(
        self,
        run_id: int,
        doc_id: int,
        cache_key: str,
        items: list[ExtractedItem],
        *,
        status: ExtractionStatus = ExtractionStatus.OK,
        error: str | None = None,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        budget_s: float | None = None,
    ) -> list[int]:
        """Record one document's extraction and store its items as commitments
        (:meth:`record_extractions` of one, in a transaction of its own).

        Returns the ids of the (grounded) commitments the items became, without
        repeats. Ungrounded items are kept with status ``dismissed`` and flag
        ``ungrounded``, never open. The run's counters are not touched: they are
        the caller's, stored by :meth:`finish_run`.
        A failed extraction (``status=ExtractionStatus.FAILED``; another value than a member or its
        string is a ``ValueError``) is recorded with its error and
        changes no commitment; the document stays pending, unless it spent a time budget of
        ``budget_s`` seconds (see :meth:`~store.documents.DocumentStore.pending_documents`).
        See :mod:`store.recording` for dedup and re-record rules.
        """
        recording = Recording(
            doc_id, items, ExtractionStatus(status), error, prompt_tokens, completion_tokens, budget_s
        )
        (result,) = self._record_batch(run_id, cache_key, [recording])
        if isinstance(result, Unstorable):
            raise result
        return result


_EXTRACTION_COLUMNS = (
    "document_id",
    "run_id",
    "cache_key",
    "content_hash",
    "status",
    "error",
    "items",
    "prompt_tokens",
    "completion_tokens",
    "budget_s",
)


@dataclass(frozen=True)
class Recording:
    """One document's extraction to record (:meth:`RunStore.record_extractions`)."""

    document_id: int
    items: list[ExtractedItem] = field(default_factory=list)
    status: ExtractionStatus = ExtractionStatus.OK
    error: str | None = None
    """Why it failed (``status`` failed); redacted and cut to 2,000 characters when stored."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    budget_s: float | None = None
    """For a failure that spent a time budget, that budget in seconds
    (:attr:`followthrough.errors.ExtractionError.budget_s`); stored with a failure only."""


def _error_text(error: str | None) -> str | None:
    return clean(redact(error))[:2000] if error is not None else None


def _thread_lock(doc: DocumentRow) -> str:
    """The lock that serializes writers recording items of one thread."""
    return f"thread:{doc.source}:{doc.thread_id or doc.external_id}"


def _documents_with_items(s: Session, doc_ids: list[int]) -> set[int]:
    """Those of ``doc_ids`` that a commitment or a piece of evidence already refers to."""
    if not doc_ids:
        return set()
    owned = s.scalars(
        select(CommitmentRow.document_id).where(CommitmentRow.document_id.in_(doc_ids)).distinct()
    )
    quoted = s.scalars(select(EvidenceRow.document_id).where(EvidenceRow.document_id.in_(doc_ids)).distinct())
    return set(owned) | set(quoted)


def _tally(s: Session, run: ExtractionRunRow) -> None:
    """Set a run that never finished to what its recorded extractions show: ``documents`` (each
    extraction), ``failed``, ``items`` (those of its successful extractions) and the tokens. What only
    the report knew (``cached``, ``ungrounded``, the cost) stays as it is."""
    rows = s.execute(
        select(
            ExtractionRow.status,
            ExtractionRow.items,
            ExtractionRow.prompt_tokens,
            ExtractionRow.completion_tokens,
        ).where(ExtractionRow.run_id == run.id)
    ).all()
    run.documents = len(rows)
    run.failed = sum(1 for r in rows if r.status is not ExtractionStatus.OK)
    run.items = sum(len(r.items or []) for r in rows if r.status is ExtractionStatus.OK)
    run.prompt_tokens = clamp_count(sum(r.prompt_tokens for r in rows))
    run.completion_tokens = clamp_count(sum(r.completion_tokens for r in rows))


_FOREIGN_RUN_STALE = timedelta(days=1)
"""A run of another machine still ``running`` after this long is taken as abandoned."""


def _abandoned(run: ExtractionRunRow) -> bool:
    """Whether a ``running`` run's process is gone.

    On this machine: its pid no longer exists. On another machine (or a run recorded
    before runs carried a pid): it started more than :data:`_FOREIGN_RUN_STALE` ago.
    """
    stats = run.stats or {}
    pid, host = stats.get("pid"), stats.get("host")
    if isinstance(pid, int) and host == socket.gethostname():
        if pid == os.getpid():
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except OSError:
            return False  # exists, owned by another user
        return False
    started = run.started_at if run.started_at.tzinfo else run.started_at.replace(tzinfo=UTC)
    return utcnow() - started > _FOREIGN_RUN_STALE


def _run_view(r: ExtractionRunRow) -> RunView:
    return RunView(
        id=r.id,
        started_at=r.started_at,
        finished_at=r.finished_at,
        extractor=r.extractor,
        model=r.model,
        prompt_version=r.prompt_version,
        status=r.status,
        documents=r.documents,
        items=r.items,
        failed=r.failed,
        cached=r.cached,
        ungrounded=r.ungrounded,
        prompt_tokens=r.prompt_tokens,
        completion_tokens=r.completion_tokens,
        cost_usd=r.cost_usd,
        stats=dict(r.stats or {}),
    )
