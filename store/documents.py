"""Source documents in the store, and the people seen in them."""

from __future__ import annotations

from datetime import UTC, timedelta, timezone

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from followthrough.types import ExtractionStatus, Participant, Segment, SourceDocument
from store.admission import admit_document, fits_directory
from store.base import NotFound, StoreCore, _retry_conflicts
from store.models import CommitmentRow, DocumentRow, ExtractionRow, PersonRow, utcnow


class DocumentStore(StoreCore):
    """Documents stored once by ``(source, external_id)``; which are pending extraction."""

    @_retry_conflicts
    def add_document(self, doc: SourceDocument) -> tuple[int, bool]:
        """Store ``doc``; idempotent by ``(source, external_id)``.

        Returns ``(id, changed)``: ``changed`` is False when the same content
        (same ``content_hash``) is already stored, and nothing is written.
        Raises :class:`store.admission.Unstorable` (nothing written) when the
        document holds a value the database cannot (see :mod:`store.admission`).
        """
        doc = admit_document(doc)
        with self._tx() as s:
            row = s.scalars(
                select(DocumentRow).where(
                    DocumentRow.source == doc.source, DocumentRow.external_id == doc.external_id
                )
            ).first()
            if row is not None and row.content_hash == doc.content_hash:
                return row.id, False
            thread = _join_thread(s, doc) if doc.source == "email" else doc.thread_id
            if row is None:
                row = DocumentRow(source=doc.source, external_id=doc.external_id, created_at=utcnow())
                s.add(row)
            offset = doc.occurred_at.utcoffset() or timedelta(0)
            row.thread_id = thread
            row.occurred_at = doc.occurred_at
            row.utc_offset_min = int(offset.total_seconds() // 60)
            row.title = doc.title
            row.text = doc.text
            row.content_hash = doc.content_hash
            row.origin = doc.origin
            row.url = doc.url
            row.participants = [p.model_dump(mode="json") for p in doc.participants]
            row.segments = [g.model_dump(mode="json") for g in doc.segments]
            row.meta = dict(doc.metadata)
            row.quoted_text = doc.quoted_text
            row.signature = doc.signature
            row.updated_at = utcnow()
            _remember_people(s, doc.participants)
            s.flush()
            return row.id, True

    def get_document(self, doc_id: int) -> SourceDocument:
        with self._tx() as s:
            row = s.get(DocumentRow, doc_id)
            if row is None:
                raise NotFound(f"no document with id {doc_id}")
            return _to_document(row)

    def document_id(self, source: str, external_id: str) -> int | None:
        """The id of a stored document, or ``None``."""
        with self._tx() as s:
            return s.scalars(
                select(DocumentRow.id).where(
                    DocumentRow.source == source, DocumentRow.external_id == external_id
                )
            ).first()

    def pending_documents(self, cache_key: str) -> list[int]:
        """Ids of documents whose current content has no OK extraction under ``cache_key``.

        New documents, documents whose content changed since their last
        extraction, and documents whose extraction failed are all pending.
        """
        done = (
            select(ExtractionRow.id)
            .where(
                ExtractionRow.document_id == DocumentRow.id,
                ExtractionRow.cache_key == cache_key,
                ExtractionRow.content_hash == DocumentRow.content_hash,
                ExtractionRow.status == ExtractionStatus.OK,
            )
            .exists()
        )
        with self._tx() as s:
            return list(s.scalars(select(DocumentRow.id).where(~done).order_by(DocumentRow.id)).all())

    def count_documents(self) -> dict[str, int]:
        """Number of stored documents by source."""
        with self._tx() as s:
            rows = s.execute(select(DocumentRow.source, func.count()).group_by(DocumentRow.source)).all()
        return {src: int(n) for src, n in rows}


def _join_thread(s: Session, doc: SourceDocument) -> str | None:
    """The thread an email belongs to, resolved over every message stored, whatever the order they came in.

    A message read alone knows only its nearest ancestor (a reply with In-Reply-To and no References
    names its parent, not the root). When that ancestor is stored, the message joins the ancestor's
    thread; messages stored before this one that named it as their thread move to its thread, with
    their commitments.
    """
    thread = doc.thread_id
    if thread and thread != doc.external_id:
        stored = s.scalar(
            select(DocumentRow.thread_id).where(
                DocumentRow.source == "email",
                DocumentRow.external_id == thread,
                DocumentRow.thread_id.is_not(None),
            )
        )
        thread = stored or thread
    if thread and thread != doc.external_id:
        s.execute(
            update(DocumentRow)
            .where(DocumentRow.source == "email", DocumentRow.thread_id == doc.external_id)
            .values(thread_id=thread)
        )
        s.execute(
            update(CommitmentRow)
            .where(CommitmentRow.source == "email", CommitmentRow.thread_id == doc.external_id)
            .values(thread_id=thread)
        )
    return thread


def _remember_people(s: Session, participants: list[Participant]) -> None:
    """Keep each name+email pair seen; a fuller name (more words) replaces a shorter one."""
    pairs: dict[str, str] = {}
    for p in participants:
        name = " ".join((p.name or "").split())
        email = (p.email or "").strip().lower()
        if not name or not email or "@" not in email or "@" in name or not fits_directory(name, email):
            continue
        if len(name.split()) > len(pairs.get(email, "").split()):
            pairs[email] = name
    if not pairs:
        return
    known = {r.email: r for r in s.scalars(select(PersonRow).where(PersonRow.email.in_(list(pairs))))}
    for email, name in pairs.items():
        row = known.get(email)
        if row is None:
            s.add(PersonRow(email=email, name=name, updated_at=utcnow()))
        elif len(name.split()) > len(row.name.split()):
            row.name = name
            row.updated_at = utcnow()


def _to_document(row: DocumentRow) -> SourceDocument:
    tz = timezone(timedelta(minutes=row.utc_offset_min)) if row.utc_offset_min else UTC
    return SourceDocument(
        source=row.source,
        external_id=row.external_id,
        thread_id=row.thread_id,
        occurred_at=row.occurred_at.astimezone(tz),
        title=row.title,
        participants=[Participant.model_validate(p) for p in row.participants or []],
        segments=[Segment.model_validate(g) for g in row.segments or []],
        text=row.text,
        quoted_text=row.quoted_text,
        signature=row.signature,
        url=row.url,
        origin=row.origin,
        metadata={str(k): str(v) for k, v in (row.meta or {}).items()},
        content_hash=row.content_hash,
    )
