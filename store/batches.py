"""Batches submitted to an LLM provider's Batch API: which are open, and which documents each holds.

A run that submits documents through a Batch API (``extract --batch``) keeps
each batch here the moment the provider accepts it, so that a later run, in
another process after this one was killed or ran with ``--no-wait``, polls the
open batches and records their results instead of submitting the documents
again. The store only remembers; it never talks to the provider.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select

from store.base import NotFound, StoreCore, _retry_conflicts
from store.models import DocumentRow, LlmBatchDocumentRow, LlmBatchRow, utcnow


class BatchedDocument(NamedTuple):
    """One document of a batch: its id, its content hash when submitted, the requests held for it."""

    document_id: int
    content_hash: str
    requests: int


@dataclass(frozen=True)
class OpenBatch:
    """A batch whose results are not recorded yet, as submitted (``status``: the provider's, last polled)."""

    batch_id: str
    endpoint: str
    input_file_id: str
    status: str
    submitted_at: datetime
    documents: tuple[BatchedDocument, ...]


class BatchStore(StoreCore):
    """The Batch API's batches of one database: added when submitted, closed when recorded."""

    @_retry_conflicts
    def add_batch(
        self,
        batch_id: str,
        *,
        endpoint: str,
        cache_key: str,
        input_file_id: str,
        status: str,
        documents: Sequence[tuple[int, str, int]],
    ) -> None:
        """Remember a batch the provider accepted (open), with the documents it holds: each
        ``(document id, content hash when submitted, requests)``.

        ``endpoint``: the base URL it was submitted to, without userinfo; ``cache_key``: the
        extractor's key its results are recorded under.
        """
        with self._tx() as s:
            row = LlmBatchRow(
                batch_id=batch_id,
                endpoint=endpoint,
                cache_key=cache_key,
                input_file_id=input_file_id,
                status=status,
                submitted_at=utcnow(),
            )
            s.add(row)
            s.flush()
            s.add_all(
                LlmBatchDocumentRow(
                    batch_row_id=row.id, document_id=doc_id, content_hash=content_hash, requests=requests
                )
                for doc_id, content_hash, requests in documents
            )

    def open_batches(self, cache_key: str) -> list[OpenBatch]:
        """The batches under ``cache_key`` whose results are not recorded yet, oldest first."""
        with self._tx() as s:
            rows = s.scalars(
                select(LlmBatchRow)
                .where(LlmBatchRow.cache_key == cache_key, LlmBatchRow.closed_at.is_(None))
                .order_by(LlmBatchRow.id)
            ).all()
            held: dict[int, list[BatchedDocument]] = {r.id: [] for r in rows}
            if held:
                for d in s.scalars(
                    select(LlmBatchDocumentRow)
                    .where(LlmBatchDocumentRow.batch_row_id.in_(list(held)))
                    .order_by(LlmBatchDocumentRow.document_id)
                ):
                    held[d.batch_row_id].append(BatchedDocument(d.document_id, d.content_hash, d.requests))
            return [
                OpenBatch(
                    r.batch_id, r.endpoint, r.input_file_id, r.status, r.submitted_at, tuple(held[r.id])
                )
                for r in rows
            ]

    def batched_documents(self, cache_key: str) -> set[int]:
        """Ids of the documents an open batch under ``cache_key`` holds with their current content
        (one that changed since it was submitted is not held: it is pending again)."""
        with self._tx() as s:
            return set(
                s.scalars(
                    select(LlmBatchDocumentRow.document_id)
                    .join(LlmBatchRow, LlmBatchRow.id == LlmBatchDocumentRow.batch_row_id)
                    .join(DocumentRow, DocumentRow.id == LlmBatchDocumentRow.document_id)
                    .where(
                        LlmBatchRow.cache_key == cache_key,
                        LlmBatchRow.closed_at.is_(None),
                        DocumentRow.content_hash == LlmBatchDocumentRow.content_hash,
                    )
                ).all()
            )

    @_retry_conflicts
    def batch_polled(self, batch_id: str, status: str, *, closed: bool = False) -> None:
        """Note the provider's ``status`` of a batch; ``closed``: its results are recorded (or it ended
        without any), and it is never polled again. Raises :class:`NotFound` for an unknown batch."""
        with self._tx() as s:
            row = s.scalars(select(LlmBatchRow).where(LlmBatchRow.batch_id == batch_id)).first()
            if row is None:
                raise NotFound(f"no batch {batch_id!r}")
            row.status = status[:30]
            row.polled_at = utcnow()
            if closed:
                row.closed_at = row.polled_at
