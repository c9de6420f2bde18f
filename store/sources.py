"""Live sources' sync state: a cursor per source, saved with the batch of documents it follows.

A live source (``followthrough.sync``) pulls in batches; :meth:`SourceStore.save_source_batch`
stores one batch's documents and CRM records and the source's cursor after it in ONE
transaction, so a sync killed between batches resumes after the last batch saved: nothing
fetched twice, nothing skipped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from followthrough.types import CrmData, SourceDocument
from store.admission import Unstorable, admit_document
from store.base import StoreCore, _retry_conflicts
from store.crm import _Counts, _upsert_accounts, _upsert_contacts, _upsert_deals
from store.documents import _Batch
from store.models import SourceStateRow, utcnow


@dataclass(frozen=True)
class SourceState:
    """One source's sync state as stored.

    ``cursor``: ``str`` → ``str`` (what the source's ``pull`` resumes from; empty before the first
    batch). ``last_sync_at``: when a sync last went through every batch (UTC; ``None``: never).
    ``last_error``: the last failure's one line, ``None`` once a sync succeeds. ``documents``,
    ``crm_records``, ``batches``: what its syncs stored in all (new documents, CRM rows added or
    updated, batches saved).
    """

    name: str
    kind: str
    cursor: dict[str, str] = field(default_factory=dict)
    last_sync_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    documents: int = 0
    crm_records: int = 0
    batches: int = 0


@dataclass(frozen=True)
class SavedBatch:
    """What :meth:`SourceStore.save_source_batch` stored: per document what
    :meth:`~store.documents.DocumentStore.add_documents` returns (``(id, changed)`` or its
    :class:`Unstorable`), and the CRM counts ``{accounts,contacts,deals}_{added,updated}``."""

    documents: list[tuple[int, bool] | Unstorable]
    crm: dict[str, int]


class SourceStore(StoreCore):
    """Per-source cursors, last sync and last error (table ``source_states``)."""

    def source_states(self) -> dict[str, SourceState]:
        """Every source's stored state, by name (sources never synced are absent)."""
        with self._tx() as s:
            return {row.name: _state(row) for row in s.scalars(select(SourceStateRow))}

    def source_state(self, name: str) -> SourceState | None:
        """The stored state of the source ``name``, or ``None`` before its first sync."""
        with self._tx() as s:
            row = s.scalars(select(SourceStateRow).where(SourceStateRow.name == name)).first()
            return None if row is None else _state(row)

    @_retry_conflicts
    def save_source_batch(
        self,
        name: str,
        kind: str,
        documents: Sequence[SourceDocument],
        cursor: Mapping[str, str],
        *,
        crm: CrmData | None = None,
        since: datetime | None = None,
    ) -> SavedBatch:
        """Store one pulled batch and the source's ``cursor`` after it, in one transaction.

        ``documents`` are stored as :meth:`~store.documents.DocumentStore.add_documents` stores them
        (idempotent by ``(source, external_id)``; one the database cannot hold is its
        :class:`Unstorable` in the result, the rest stored); ``crm`` (already admitted:
        :func:`store.admit_crm`) as :meth:`~store.crm.CrmStore.upsert_crm` stores it, ``since``
        being when the sync began (a row is counted once). Either everything, the cursor
        included, is written, or nothing is.
        """
        out: list[tuple[int, bool] | Unstorable | None] = [None] * len(documents)
        admitted: list[tuple[int, SourceDocument]] = []
        for i, doc in enumerate(documents):
            try:
                admitted.append((i, admit_document(doc)))
            except Unstorable as e:
                out[i] = e
        now = utcnow()
        counts = _Counts(since or now)
        with self._tx() as s:
            self._lock(s, f"source:{name}")
            if admitted:
                for i, result in _Batch(s, [d for _, d in admitted]).store():
                    out[admitted[i][0]] = result
            if crm is not None:
                accounts = _upsert_accounts(s, crm, now, counts)
                _upsert_contacts(s, crm.contacts, accounts, now, counts)
                _upsert_deals(s, crm.deals, accounts, now, counts)
            row = _row(s, name, kind)
            row.cursor = {str(k): str(v) for k, v in cursor.items()}
            row.documents += sum(1 for r in out if isinstance(r, tuple) and r[1])
            row.crm_records += sum(counts.values.values())
            row.batches += 1
            row.updated_at = now
        return SavedBatch([r for r in out if r is not None], counts.values)

    @_retry_conflicts
    def source_synced(self, name: str, kind: str) -> None:
        """Record that ``name`` went through every batch now: its last sync time, no last error."""
        with self._tx() as s:
            row = _row(s, name, kind)
            row.last_sync_at = row.updated_at = utcnow()
            row.last_error = None

    @_retry_conflicts
    def source_failed(self, name: str, kind: str, error: str) -> None:
        """Record ``error`` (one line, already free of secrets) as ``name``'s last error, now."""
        with self._tx() as s:
            row = _row(s, name, kind)
            row.last_error = error
            row.last_error_at = row.updated_at = utcnow()


def _row(s: Session, name: str, kind: str) -> SourceStateRow:
    """The state row of ``name`` (created when missing), its kind set to ``kind``."""
    row = s.scalars(select(SourceStateRow).where(SourceStateRow.name == name)).first()
    if row is None:
        row = SourceStateRow(name=name, kind=kind, cursor={}, documents=0, crm_records=0, batches=0)
        s.add(row)
    row.kind = kind
    return row


def _state(row: SourceStateRow) -> SourceState:
    return SourceState(
        name=row.name,
        kind=row.kind,
        cursor={str(k): str(v) for k, v in (row.cursor or {}).items()},
        last_sync_at=row.last_sync_at,
        last_error=row.last_error,
        last_error_at=row.last_error_at,
        documents=row.documents,
        crm_records=row.crm_records,
        batches=row.batches,
    )
