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
from collections.abc import Mapping
from datetime import UTC, timedelta
from typing import Any

from sqlalchemy import Float, Integer, select
from sqlalchemy.orm import Session

from followthrough.redaction import redact
from followthrough.types import ExtractedItem, ExtractionStatus, RunStatus
from store.admission import admit_item, clamp_count, clean
from store.base import NotFound, StoreCore, _retry_conflicts
from store.models import DocumentRow, ExtractionRow, ExtractionRunRow, utcnow
from store.recording import record_items
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

    @_retry_conflicts
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
    ) -> list[int]:
        """Record one document's extraction and store its items as commitments.

        Returns the ids of the (grounded) commitments the items became, without
        repeats. Ungrounded items are kept with status ``dismissed`` and flag
        ``ungrounded``, never open. The run's counters are not touched: they are
        the caller's, stored by :meth:`finish_run`.
        A failed extraction (``status=ExtractionStatus.FAILED``; another value than a member or its
        string is a ``ValueError``) is recorded with its error and
        changes no commitment; the document stays pending. See
        :mod:`store.recording` for dedup and re-record rules.
        """
        status = ExtractionStatus(status)
        items = [admit_item(i) for i in items]
        prompt_tokens, completion_tokens = clamp_count(prompt_tokens), clamp_count(completion_tokens)
        error = clean(redact(error))[:2000] if error is not None else None
        with self._tx() as s:
            doc = s.get(DocumentRow, doc_id)
            if doc is None:
                raise NotFound(f"no document with id {doc_id}")
            self._lock(s, f"thread:{doc.source}:{doc.thread_id or doc.external_id}")
            if s.get(ExtractionRunRow, run_id) is None:
                raise NotFound(f"no extraction run with id {run_id}")
            s.add(
                ExtractionRow(
                    document_id=doc_id,
                    run_id=run_id,
                    cache_key=cache_key,
                    content_hash=doc.content_hash,
                    status=status,
                    error=error,
                    items=[i.model_dump(mode="json") for i in items] if status == ExtractionStatus.OK else [],
                    prompt_tokens=prompt_tokens,
                    completion_tokens=completion_tokens,
                    created_at=utcnow(),
                )
            )
            if status is not ExtractionStatus.OK:
                return []
            return record_items(s, doc=doc, run_id=run_id, cache_key=cache_key, items=items).ids


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
