"""Live sources' sync state: a cursor per source, saved with the batch of documents it follows.

A live source (``followthrough.sync``) pulls in batches; :meth:`SourceStore.save_source_batch`
stores one batch's documents and CRM records and the source's cursor after it in ONE
transaction, so a sync killed between batches resumes after the last batch saved: nothing
fetched twice, nothing skipped.

A source is synced (and pushed to, ``crm push``) by one process at a time:
:meth:`SourceStore.take_source_lease` takes the source's ``sync`` or ``push`` lease with one
conditional UPDATE (free, expired, or already the caller's), :meth:`SourceStore.renew_source_lease`
keeps it after each batch and :meth:`SourceStore.release_source_lease` ends it. A process that
crashed leaves its lease to expire (:data:`LEASE`), unless the caller, who knows the holder is dead
(``followthrough.sync.lease``), takes it over at once (``take_from``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from followthrough.types import CrmData, SourceDocument
from store.admission import Unstorable, admit_document
from store.base import StoreCore, _retry_conflicts
from store.crm import _Counts, upsert_records
from store.documents import _Batch
from store.models import SourceStateRow, utcnow

LeasePurpose = Literal["sync", "push"]
"""What a source lease is for: pulling it (``sync``) or writing tasks to it (``crm push``)."""
LEASE = timedelta(minutes=15)
"""How long a lease lasts unless renewed: longer than one batch or one task takes."""


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
class LeaseHeld:
    """Another process holds a source's lease: its ``holder`` name and ``since`` when (UTC)."""

    holder: str
    since: datetime


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
                upsert_records(s, crm, now, counts)
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
            row.last_error = row.last_error_at = None

    @_retry_conflicts
    def source_failed(self, name: str, kind: str, error: str) -> None:
        """Record ``error`` (one line, already free of secrets) as ``name``'s last error, now."""
        with self._tx() as s:
            row = _row(s, name, kind)
            row.last_error = error
            row.last_error_at = row.updated_at = utcnow()

    @_retry_conflicts
    def take_source_lease(
        self,
        name: str,
        kind: str,
        purpose: LeasePurpose,
        holder: str,
        *,
        lease: timedelta = LEASE,
        take_from: str | None = None,
    ) -> LeaseHeld | None:
        """Take ``name``'s ``purpose`` lease for ``holder`` (a process's unique name) until now + ``lease``.

        One conditional UPDATE, committed at once: it wins when the lease is free, expired, already
        ``holder``'s, or still ``take_from``'s (a holder the caller found dead: its lease is taken over
        at once, and only if nobody took it since). Returns ``None`` when taken, else who holds it
        (:class:`LeaseHeld`).
        """
        with self._tx() as s:  # the row first, so that the UPDATE has something to win
            _row(s, name, kind)
        now = utcnow()
        columns = _lease_columns(purpose)
        with self._tx() as s:
            held_by, since, expires = (getattr(SourceStateRow, c) for c in columns)
            done = s.execute(
                update(SourceStateRow)
                .where(
                    SourceStateRow.name == name,
                    or_(
                        held_by.is_(None),
                        held_by == holder,
                        expires < now,
                        *([held_by == take_from] if take_from is not None else []),
                    ),
                )
                .values({columns[0]: holder, columns[1]: now, columns[2]: now + lease})
                .execution_options(synchronize_session=False)
            )
            if getattr(done, "rowcount", 0) == 1:
                return None
            row = s.execute(select(held_by, since).where(SourceStateRow.name == name)).one()
            return LeaseHeld(str(row[0]), row[1])

    @_retry_conflicts
    def renew_source_lease(
        self, name: str, purpose: LeasePurpose, holder: str, *, lease: timedelta = LEASE
    ) -> bool:
        """Extend ``holder``'s lease on ``name`` to now + ``lease``; ``False`` when it is not ``holder``'s."""
        columns = _lease_columns(purpose)
        with self._tx() as s:
            done = s.execute(
                update(SourceStateRow)
                .where(SourceStateRow.name == name, getattr(SourceStateRow, columns[0]) == holder)
                .values({columns[2]: utcnow() + lease})
                .execution_options(synchronize_session=False)
            )
            return getattr(done, "rowcount", 0) == 1

    @_retry_conflicts
    def release_source_lease(self, name: str, purpose: LeasePurpose, holder: str) -> None:
        """End ``holder``'s lease on ``name`` (nothing when it is not ``holder``'s)."""
        columns = _lease_columns(purpose)
        with self._tx() as s:
            s.execute(
                update(SourceStateRow)
                .where(SourceStateRow.name == name, getattr(SourceStateRow, columns[0]) == holder)
                .values(dict.fromkeys(columns))
                .execution_options(synchronize_session=False)
            )


def _lease_columns(purpose: LeasePurpose) -> tuple[str, str, str]:
    """The holder, since and expires columns of ``purpose``'s lease."""
    if purpose not in ("sync", "push"):
        raise ValueError(f"no {purpose!r} lease")
    return f"{purpose}_holder", f"{purpose}_since", f"{purpose}_expires"


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
