"""Source documents in the store, and the people seen in them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, timedelta, timezone
from typing import Any

from sqlalchemy import Select, func, insert, select, update
from sqlalchemy.orm import Session, aliased

from followthrough.types import ExtractionStatus, Participant, Segment, SourceDocument
from store.admission import Unstorable, admit_document, fits_directory
from store.base import NotFound, StoreCore, _retry_conflicts
from store.bulk import chunked, insert_rows
from store.models import CommitmentRow, DocumentRow, ExtractionRow, PersonRow, table_of, utcnow


class DocumentStore(StoreCore):
    """Documents stored once by ``(source, external_id)``; which are pending extraction."""

    def add_document(self, doc: SourceDocument) -> tuple[int, bool]:
        """Store ``doc``; idempotent by ``(source, external_id)``: :meth:`add_documents` of one.

        Returns ``(id, changed)``: ``changed`` is False when the same content
        (same ``content_hash``) is already stored, and nothing is written.
        Raises :class:`store.admission.Unstorable` (nothing written) when the
        document holds a value the database cannot (see :mod:`store.admission`).
        """
        (result,) = self.add_documents([doc])
        if isinstance(result, Unstorable):
            raise result
        return result

    @_retry_conflicts
    def add_documents(self, docs: Sequence[SourceDocument]) -> list[tuple[int, bool] | Unstorable]:
        """Store a batch of documents in one transaction; per document what :meth:`add_document` returns.

        The same rules as :meth:`add_document`, in the order given (a later
        document of the batch sees the earlier ones: an email joins the thread
        of an ancestor stored before it, in this batch or an earlier one), with
        one query for what is already stored, bulk inserts for what is new and
        one statement per changed document. A document the database cannot
        hold is its :class:`Unstorable` in the result (nothing of it written);
        the rest of the batch is stored. Pass batches of a few hundred.
        """
        out: list[tuple[int, bool] | Unstorable | None] = [None] * len(docs)
        admitted: list[tuple[int, SourceDocument]] = []
        for i, doc in enumerate(docs):
            try:
                admitted.append((i, admit_document(doc)))
            except Unstorable as e:
                out[i] = e
        if admitted:
            with self._tx() as s:
                for i, result in _Batch(s, [d for _, d in admitted]).store():
                    out[admitted[i][0]] = result
        return [r for r in out if r is not None]

    def get_document(self, doc_id: int) -> SourceDocument:
        with self._tx() as s:
            row = s.get(DocumentRow, doc_id)
            if row is None:
                raise NotFound(f"no document with id {doc_id}")
            return _to_document(row)

    def get_documents(self, doc_ids: Sequence[int]) -> dict[int, SourceDocument | ValueError]:
        """The stored documents of ``doc_ids`` in one query, by id; a row that cannot be read back
        (a value out of range) is its error. Ids not stored are absent."""
        out: dict[int, SourceDocument | ValueError] = {}
        with self._tx() as s:
            for row in s.scalars(select(DocumentRow).where(DocumentRow.id.in_(list(doc_ids)))):
                try:
                    out[row.id] = _to_document(row)
                except (ValueError, ArithmeticError) as e:
                    out[row.id] = ValueError(str(e))
        return out

    def document_id(self, source: str, external_id: str) -> int | None:
        """The id of a stored document, or ``None``."""
        with self._tx() as s:
            return s.scalars(
                select(DocumentRow.id).where(
                    DocumentRow.source == source, DocumentRow.external_id == external_id
                )
            ).first()

    def pending_documents(self, cache_key: str, budget_s: float | None = None) -> list[int]:
        """Ids of documents whose current content has no OK extraction under ``cache_key``.

        New documents, documents whose content changed since their last extraction, and documents
        whose extraction failed are all pending, but for those held back under a time budget of
        ``budget_s`` seconds when it is given (:meth:`held_documents`).
        """
        query = select(DocumentRow.id).where(~_extractions(cache_key, ExtractionStatus.OK).exists())
        if budget_s is not None:
            query = query.where(~_extractions(cache_key, ExtractionStatus.FAILED, budget_s).exists())
        with self._tx() as s:
            return list(s.scalars(query.order_by(DocumentRow.id)).all())

    def held_documents(self, cache_key: str, budget_s: float) -> list[HeldDocument]:
        """Documents whose current content, extracted under ``cache_key``, failed by spending a time
        budget at least ``budget_s`` seconds long and has no OK extraction since: what a run under a
        budget of ``budget_s`` does not try again. In id order, each with the largest budget it spent."""
        e_, d_ = ExtractionRow, DocumentRow
        query = (
            select(d_.id, d_.source, d_.external_id, d_.origin, func.max(e_.budget_s))
            .join(e_, e_.document_id == d_.id)
            .where(
                e_.cache_key == cache_key,
                e_.content_hash == d_.content_hash,
                e_.status == ExtractionStatus.FAILED,
                e_.budget_s >= budget_s,
                ~_extractions(cache_key, ExtractionStatus.OK).exists(),
            )
            .group_by(d_.id, d_.source, d_.external_id, d_.origin)
            .order_by(d_.id)
        )
        with self._tx() as s:
            return [
                HeldDocument(i, src, ext, origin, spent or 0.0)
                for i, src, ext, origin, spent in s.execute(query)
            ]

    def count_documents(self) -> dict[str, int]:
        """Number of stored documents by source."""
        with self._tx() as s:
            rows = s.execute(select(DocumentRow.source, func.count()).group_by(DocumentRow.source)).all()
        return {src: int(n) for src, n in rows}


@dataclass(frozen=True)
class HeldDocument:
    """A document a run does not try again (:meth:`DocumentStore.held_documents`): where it came from
    and the time budget (seconds) its extraction spent."""

    document_id: int
    source: str
    external_id: str
    origin: str
    budget_s: float


def _extractions(cache_key: str, status: ExtractionStatus, spent_s: float | None = None) -> Select[int]:
    """A document's extractions of its current content under ``cache_key`` with ``status`` (and, given
    ``spent_s``, that spent a time budget of at least that many seconds), correlated with ``documents``
    only (an alias of ``extractions``, so that a query over extractions can hold it)."""
    e_ = aliased(ExtractionRow)
    query = select(e_.id).where(
        e_.document_id == DocumentRow.id,
        e_.cache_key == cache_key,
        e_.content_hash == DocumentRow.content_hash,
        e_.status == status,
    )
    return query if spent_s is None else query.where(e_.budget_s >= spent_s)


def _row_values(doc: SourceDocument, thread: str | None) -> dict[str, Any]:
    """The stored column values of ``doc`` (but ``id``, ``source``, ``external_id``, ``created_at``)."""
    offset = doc.occurred_at.utcoffset() or timedelta(0)
    return {
        "thread_id": thread,
        "occurred_at": doc.occurred_at,
        "utc_offset_min": int(offset.total_seconds() // 60),
        "title": doc.title,
        "text": doc.text,
        "content_hash": doc.content_hash,
        "origin": doc.origin,
        "url": doc.url,
        "participants": [p.model_dump(mode="json") for p in doc.participants],
        "segments": [g.model_dump(mode="json") for g in doc.segments],
        "meta": dict(doc.metadata),
        "quoted_text": doc.quoted_text,
        "signature": doc.signature,
        "updated_at": utcnow(),
    }


@dataclass
class _Batch:
    """One transaction's worth of documents for :meth:`DocumentStore.add_documents`.

    An email joins the thread of its nearest stored ancestor, whatever order
    messages come in: a message read alone knows only that ancestor (a reply
    with In-Reply-To and no References names its parent, not the root); when
    the ancestor is stored, the message joins the ancestor's thread, and
    messages stored before it that named it as their thread move to its
    thread, with their commitments. The stored rows a batch may name are read
    in one query and the batch's own assignments kept in :attr:`threads` (a
    reply later in the batch finds its ancestor; earlier ones move).
    """

    s: Session
    docs: list[SourceDocument]
    threads: dict[str, str | None] = field(default_factory=dict)
    """external_id → thread of the emails stored by this batch (and the stored ones it looked up)."""
    named_by_stored: set[str | None] = field(default_factory=set)
    """External ids of this batch's emails that messages stored earlier name as their thread."""

    def store(self) -> list[tuple[int, tuple[int, bool]]]:
        s = self.s
        stored: dict[tuple[str, str], tuple[int, str]] = {}
        by_source: dict[str, set[str]] = {}
        for d in self.docs:
            by_source.setdefault(d.source, set()).add(d.external_id)
        for source, ext_ids in by_source.items():
            rows = s.execute(
                select(DocumentRow.id, DocumentRow.external_id, DocumentRow.content_hash).where(
                    DocumentRow.source == source, DocumentRow.external_id.in_(list(ext_ids))
                )
            ).all()
            for r in rows:
                stored[source, r.external_id] = (r.id, r.content_hash)
        self._prefetch_threads()
        results: list[tuple[int, tuple[int, bool] | None]] = []
        new_rows: list[dict[str, Any]] = []
        new_index: list[int] = []
        seen: dict[tuple[str, str], int] = {}
        for i, doc in enumerate(self.docs):
            key = (doc.source, doc.external_id)
            if key in seen:  # the same message twice in one batch: the second adds nothing
                results.append((i, None))
                continue
            seen[key] = i
            have = stored.get(key)
            if have is not None and have[1] == doc.content_hash:
                results.append((i, (have[0], False)))
                continue
            thread = self._thread(doc) if doc.source == "email" else doc.thread_id
            values = _row_values(doc, thread)
            if have is None:
                values.update(source=doc.source, external_id=doc.external_id, created_at=utcnow())
                new_rows.append(values)
                new_index.append(i)
                results.append((i, None))
            else:
                s.execute(update(DocumentRow).where(DocumentRow.id == have[0]).values(**values))
                results.append((i, (have[0], True)))
        for values in new_rows:  # a later message of the batch may have moved an earlier one's thread
            if values["source"] == "email":
                values["thread_id"] = self.threads.get(values["external_id"], values["thread_id"])
        ids: dict[int, int] = {}
        if new_rows:
            # one executemany at the driver (store.bulk: no RETURNING, no per-row parameter dicts),
            # then the ids by (source, external_id), unique
            keys = list(new_rows[0])
            columns = ["metadata" if k == "meta" else k for k in keys]  # the attribute's column
            insert_rows(s, table_of(DocumentRow), columns, ([v[k] for k in keys] for v in new_rows))
            by_key: dict[tuple[str, str], int] = {}
            for source in {str(v["source"]) for v in new_rows}:
                ext = [str(v["external_id"]) for v in new_rows if v["source"] == source]
                found = s.execute(
                    select(DocumentRow.external_id, DocumentRow.id).where(
                        DocumentRow.source == source, DocumentRow.external_id.in_(ext)
                    )
                ).all()
                by_key.update({(source, e): i for e, i in found})
            ids = {i: by_key[self.docs[i].source, self.docs[i].external_id] for i in new_index}
        _remember_people(s, [p for d in self.docs for p in d.participants])
        out: list[tuple[int, tuple[int, bool]]] = []
        for i, result in results:
            if result is None:
                if i in ids:
                    result = (ids[i], True)
                else:  # a repeat within the batch: the first one's row
                    first = seen[self.docs[i].source, self.docs[i].external_id]
                    result = (
                        ids.get(first) or stored[self.docs[i].source, self.docs[i].external_id][0],
                        False,
                    )
            out.append((i, result))
        return out

    def _prefetch_threads(self) -> None:
        """The stored threads of the emails this batch's emails name as their thread, and which of
        this batch's emails stored messages name as theirs (only those have anything to move)."""
        emails = [d for d in self.docs if d.source == "email"]
        named = {d.thread_id for d in emails if d.thread_id}
        if not named:
            return
        # by the thread index alone, the source checked here: with ``source = 'email'`` in SQL, a
        # database without statistics yet (a first run) reads every stored email by the
        # (source, external_id) index for each batch, quadratic in the mailbox
        self.named_by_stored = {
            thread
            for source, thread in self.s.execute(
                select(DocumentRow.source, DocumentRow.thread_id)
                .where(DocumentRow.thread_id.in_([d.external_id for d in emails]))
                .distinct()
            )
            if source == "email"
        }
        rows = self.s.execute(
            select(DocumentRow.external_id, DocumentRow.thread_id).where(
                DocumentRow.source == "email",
                DocumentRow.external_id.in_(list(named)),
                DocumentRow.thread_id.is_not(None),
            )
        ).all()
        self.threads.update({r.external_id: r.thread_id for r in rows})

    def _thread(self, doc: SourceDocument) -> str | None:
        """The thread of one email of the batch (see the class docstring)."""
        thread = doc.thread_id
        if thread and thread != doc.external_id:
            thread = self.threads.get(thread) or thread
        self.threads[doc.external_id] = thread
        if thread and thread != doc.external_id:
            for e in [e for e, t in self.threads.items() if t == doc.external_id]:
                self.threads[e] = thread
            if doc.external_id not in self.named_by_stored:
                return thread
            self.s.execute(
                update(DocumentRow)
                .where(DocumentRow.source == "email", DocumentRow.thread_id == doc.external_id)
                .values(thread_id=thread)
            )
            self.s.execute(
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
    emails = list(pairs)  # in chunks: a batch's people can outnumber a statement's parameters
    known = {
        r.email: r
        for chunk in chunked(emails)
        for r in s.scalars(select(PersonRow).where(PersonRow.email.in_(chunk)))
    }
    new = [{"email": e, "name": n, "updated_at": utcnow()} for e, n in pairs.items() if e not in known]
    if new:
        s.connection().execute(insert(table_of(PersonRow)), new)
    for email, name in pairs.items():
        row = known.get(email)
        if row is not None and len(name.split()) > len(row.name.split()):
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
