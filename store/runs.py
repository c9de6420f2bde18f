"""Extraction runs and extractions: the cache, and recording one document's items."""

from __future__ import annotations

import os
import socket
from datetime import UTC, timedelta
from typing import Any

from sqlalchemy import select

from followthrough.redaction import redact
from followthrough.types import ExtractedItem, ExtractionStatus, RunStatus
from store.admission import admit_item, clamp_count, clean
from store.base import NotFound, StoreCore, _retry_conflicts
from store.models import DocumentRow, ExtractionRow, ExtractionRunRow, utcnow
from store.recording import record_items
from store.views import RunView


class RunStore(StoreCore):
    """Extraction runs with their counters, and each document's extraction."""

    @_retry_conflicts
    def start_run(self, *, extractor: str, model: str, prompt_version: str) -> int:
        """Open a run (status ``running``), owned by this process (``stats.pid``, ``stats.host``).

        Runs left ``running`` by a process that no longer exists (killed, or the machine went
        down) are closed first with status ``interrupted``: see :func:`_abandoned`.
        """
        with self._tx() as s:
            running = select(ExtractionRunRow).where(ExtractionRunRow.status == RunStatus.RUNNING)
            for old in s.scalars(running):
                if _abandoned(old):
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

    _RUN_COUNTERS = (
        "documents",
        "items",
        "failed",
        "cached",
        "ungrounded",
        "prompt_tokens",
        "completion_tokens",
    )

    @_retry_conflicts
    def finish_run(self, run_id: int, stats: dict[str, int | float | str]) -> None:
        """Close a run. Known keys (``documents``, ``items``, ``failed``, ``cached``,
        ``ungrounded``, ``prompt_tokens``, ``completion_tokens``, ``cost_usd``
        (or ``cost``), ``status``) overwrite the counters that
        :meth:`record_extraction` kept; other keys are kept in ``stats``.
        ``status`` defaults to ``ok``."""
        with self._tx() as s:
            row = s.get(ExtractionRunRow, run_id)
            if row is None:
                raise NotFound(f"no extraction run with id {run_id}")
            extra: dict[str, Any] = dict(row.stats or {})
            for key, value in stats.items():
                if key in self._RUN_COUNTERS:
                    setattr(row, key, clamp_count(int(value)))
                elif key in ("cost_usd", "cost"):
                    row.cost_usd = float(value)
                elif key == "status":
                    row.status = RunStatus(str(value))
                else:
                    extra[key] = value
            if "status" not in stats:
                row.status = RunStatus.OK
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
        ``ungrounded``, never open, and counted in the run's ``ungrounded``.
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
            run = s.get(ExtractionRunRow, run_id)
            if run is None:
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
            run.documents += 1
            run.prompt_tokens += prompt_tokens
            run.completion_tokens += completion_tokens
            if status != ExtractionStatus.OK:
                run.failed += 1
                return []
            result = record_items(s, doc=doc, run_id=run_id, cache_key=cache_key, items=items)
            run.items += len(items) - result.ungrounded
            run.ungrounded += result.ungrounded
            return result.ids


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
