"""The :class:`Store`: one object over one database, used by the CLI, the API and the pipeline."""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, date, timedelta, timezone
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from alembic.util import CommandError
from sqlalchemy import (
    ColumnElement,
    Engine,
    Row,
    Select,
    and_,
    case,
    create_engine,
    event,
    func,
    select,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from followthrough.errors import StoreError
from followthrough.types import CrmData, ExtractedItem, Participant, Segment, SourceDocument
from store import fulfilment, linking, migrate
from store.models import (
    AccountRow,
    CommitmentDealLinkRow,
    CommitmentHistoryRow,
    CommitmentRow,
    ContactRow,
    DealRow,
    DocumentRow,
    EvidenceRow,
    ExtractionRow,
    ExtractionRunRow,
    PersonRow,
    utcnow,
)
from store.queries import (
    STATUSES,
    build_select,
    deal_ref,
    eager,
    encode_cursor,
    fetch_views,
    health,
    open_clause,
    to_view,
)
from store.recording import SYSTEM_ACTORS, record_items
from store.session import transaction
from store.views import CommitmentFilter, CommitmentView, DealView, Page, RunView


class NotFound(StoreError, LookupError):
    """No commitment, document, deal or run with that id."""


def normalize_url(url: str) -> str:
    """``postgres://`` and ``postgresql://`` mean psycopg 3 here (psycopg2 is not installed)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _safe(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid URL>"


P = ParamSpec("P")
R = TypeVar("R")
_CONFLICT_ATTEMPTS = 6
_LINK_BATCH = 500  # commitments linked per transaction


def _is_conflict(e: StoreError) -> bool:
    """A write lost a race with another process: a unique key, a deadlock or a busy database."""
    cause = e.__cause__
    if isinstance(cause, IntegrityError):
        return True
    if isinstance(cause, OperationalError):
        code = getattr(cause.orig, "sqlstate", None)
        return code in ("40001", "40P01") or "database is locked" in str(cause.orig)
    return False


def _retry_conflicts(fn: Callable[Concatenate[Store, P], R]) -> Callable[Concatenate[Store, P], R]:
    """Run a write again when it lost a race with a concurrent writer.

    Each attempt is a fresh transaction that re-reads what the other writer
    committed, so the retry finds the row instead of inserting it twice.
    """

    @functools.wraps(fn)
    def wrapper(self: Store, /, *args: P.args, **kwargs: P.kwargs) -> R:
        for attempt in range(_CONFLICT_ATTEMPTS):
            try:
                return fn(self, *args, **kwargs)
            except StoreError as e:
                if attempt == _CONFLICT_ATTEMPTS - 1 or not _is_conflict(e):
                    raise
                time.sleep(0.02 * (attempt + 1) + random.random() * 0.03)
        raise AssertionError("unreachable")

    return wrapper


class Store:
    """Documents, extraction runs, commitments, CRM data and deal links in one database.

    ``Store("sqlite:///path/followthrough.db")`` or
    ``Store("postgresql+psycopg://user:pw@host/db")``. Opening applies the
    Alembic migrations. Every method runs in its own transaction; the object is
    safe to share between threads (each call takes its own session).
    """

    def __init__(self, url: str) -> None:
        self.url = normalize_url(url)
        try:
            parsed = make_url(self.url)
        except ArgumentError as e:
            raise StoreError(
                f"invalid database URL {url!r}: expected sqlite:///PATH or postgresql+psycopg://..."
            ) from e
        try:
            if parsed.get_backend_name() == "sqlite":
                if (
                    parsed.database
                    and parsed.database != ":memory:"
                    and not parsed.database.startswith("file:")
                ):
                    Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
                self.engine: Engine = create_engine(self.url, connect_args={"timeout": 30})
                event.listen(self.engine, "connect", _sqlite_pragmas)
            else:
                self.engine = create_engine(self.url, pool_pre_ping=True)
            migrate.upgrade(self.engine)
        except CommandError as e:
            raise StoreError(
                f"the database at {_safe(self.url)} has a schema this version of followthrough does not know "
                f"({e}); upgrade followthrough or point FOLLOWTHROUGH_DATABASE_URL at another database"
            ) from e
        except (SQLAlchemyError, OSError, ImportError) as e:
            reason = (str(getattr(e, "orig", None) or e).strip().splitlines() or [type(e).__name__])[0]
            raise StoreError(f"cannot open the database at {_safe(self.url)}: {reason}") from e
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _lock(self, s: Session, key: str) -> None:
        """Serialize concurrent writers on ``key`` until the transaction ends.

        PostgreSQL takes a transaction-scoped advisory lock; SQLite already lets
        one writer in at a time.
        """
        if self.engine.dialect.name == "postgresql":
            s.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": key})

    def _tx(self) -> AbstractContextManager[Session]:
        return transaction(self._sessions)

    # ------------------------------------------------------------------ CRM

    @_retry_conflicts
    def upsert_crm(self, crm: CrmData) -> dict[str, int]:
        """Add or update accounts, contacts and deals. Idempotent: a second call changes nothing.

        Accounts are matched by name (case-insensitive), contacts by email, deals
        by CRM id. Returns ``{accounts,contacts,deals}_{added,updated}`` counts.
        """
        counts = {f"{k}_{v}": 0 for k in ("accounts", "contacts", "deals") for v in ("added", "updated")}
        with self._tx() as s:
            accounts = {a.name_key: a for a in s.scalars(select(AccountRow))}

            def account(name: str) -> AccountRow:
                key = name.strip().casefold()
                row = accounts.get(key)
                if row is None:
                    row = AccountRow(name=name.strip(), name_key=key, domains=[], created_at=utcnow())
                    row.updated_at = row.created_at
                    s.add(row)
                    accounts[key] = row
                    counts["accounts_added"] += 1
                return row

            for acc in crm.accounts:
                known = acc.name.strip().casefold() in accounts
                row = account(acc.name)
                domains = sorted(
                    {*(row.domains or []), *(d.lower().strip() for d in acc.domains if d.strip())}
                )
                changed = _assign(
                    row,
                    domains=domains,
                    tier=acc.tier or row.tier,
                    crm_id=acc.crm_id or row.crm_id,
                )
                if known and changed:
                    counts["accounts_updated"] += 1
            s.flush()

            contacts = {c.email: c for c in s.scalars(select(ContactRow))}
            for con in crm.contacts:
                email = con.email.strip().lower()
                acc_row = account(con.account_name) if con.account_name else None
                if acc_row is not None and acc_row.id is None:
                    s.flush()
                crow = contacts.get(email)
                if crow is None:
                    crow = ContactRow(email=email, created_at=utcnow())
                    crow.updated_at = crow.created_at
                    _assign(crow, name=con.name, role=con.role, account_id=acc_row.id if acc_row else None)
                    s.add(crow)
                    contacts[email] = crow
                    counts["contacts_added"] += 1
                elif _assign(
                    crow,
                    name=con.name or crow.name,
                    role=con.role or crow.role,
                    account_id=acc_row.id if acc_row else crow.account_id,
                ):
                    counts["contacts_updated"] += 1

            deals = {d.crm_id: d for d in s.scalars(select(DealRow))}
            for deal in crm.deals:
                acc_row = account(deal.account_name)
                if acc_row.id is None:
                    s.flush()
                drow = deals.get(deal.crm_id)
                values: dict[str, Any] = {
                    "name": deal.name,
                    "account_id": acc_row.id,
                    "stage": deal.stage,
                    "amount": deal.amount,
                    "close_date": deal.close_date,
                    "owner_email": deal.owner_email.lower() if deal.owner_email else None,
                }
                if drow is None:
                    drow = DealRow(crm_id=deal.crm_id, created_at=utcnow())
                    drow.updated_at = drow.created_at
                    _assign(drow, **values)
                    s.add(drow)
                    deals[deal.crm_id] = drow
                    counts["deals_added"] += 1
                elif _assign(drow, **values):
                    counts["deals_updated"] += 1
        return counts

    def company_domains_from_crm(self) -> set[str]:
        """Our own company's domains, guessed from the deal owners' emails."""
        with self._tx() as s:
            emails = s.scalars(select(DealRow.owner_email).where(DealRow.owner_email.is_not(None))).all()
        return {d for d in (linking.domain_of(e) for e in emails if e) if d}

    def directory(self) -> dict[str, str]:
        """Lowercased person name → email, from CRM contacts, deal owners and people seen in documents.

        Holds full names, and first names that belong to exactly one person. A
        deal owner with no known name is also found by the local part of their
        email (``marco@…`` → ``marco``) when that is a plain word. CRM names win
        over names seen in documents (email headers, Slack profiles, attendee
        lines); names shared by two different emails are left out rather than
        guessed.
        """
        with self._tx() as s:
            crm = [(c.name, c.email) for c in s.scalars(select(ContactRow))]
            seen = [(p.name, p.email) for p in s.scalars(select(PersonRow))]
            owners = set(s.scalars(select(DealRow.owner_email).where(DealRow.owner_email.is_not(None))).all())
        full: dict[str, set[str]] = {}
        first: dict[str, set[str]] = {}
        named: set[str] = set()
        crm_full: set[str] = set()
        for origin, people in (("crm", crm), ("seen", seen)):
            for name, email in people:
                key = " ".join((name or "").lower().split())
                if not key or "@" in key:
                    continue
                named.add(email)
                if origin == "crm":
                    crm_full.add(key)
                elif key in crm_full:
                    continue  # the CRM already says who this is
                full.setdefault(key, set()).add(email)
                first.setdefault(key.split()[0], set()).add(email)
        for owner in owners:
            if owner and owner not in named:
                local = owner.split("@", 1)[0].lower()
                if local.isalpha():
                    first.setdefault(local, set()).add(owner)
        out = {k: next(iter(v)) for k, v in first.items() if len(v) == 1}
        out.update({k: next(iter(v)) for k, v in full.items() if len(v) == 1})
        return out

    # ------------------------------------------------------------ documents

    @_retry_conflicts
    def add_document(self, doc: SourceDocument) -> tuple[int, bool]:
        """Store ``doc``; idempotent by ``(source, external_id)``.

        Returns ``(id, changed)``: ``changed`` is False when the same content
        (same ``content_hash``) is already stored, and nothing is written.
        """
        with self._tx() as s:
            row = s.scalars(
                select(DocumentRow).where(
                    DocumentRow.source == doc.source, DocumentRow.external_id == doc.external_id
                )
            ).first()
            if row is not None and row.content_hash == doc.content_hash:
                return row.id, False
            if row is None:
                row = DocumentRow(source=doc.source, external_id=doc.external_id, created_at=utcnow())
                s.add(row)
            offset = doc.occurred_at.utcoffset() or timedelta(0)
            row.thread_id = doc.thread_id
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
                ExtractionRow.status == "ok",
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

    # ------------------------------------------------------ runs, extractions

    def start_run(self, *, extractor: str, model: str, prompt_version: str) -> int:
        with self._tx() as s:
            row = ExtractionRunRow(
                extractor=extractor,
                model=model,
                prompt_version=prompt_version,
                started_at=utcnow(),
                status="running",
                stats={},
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
                    setattr(row, key, int(value))
                elif key in ("cost_usd", "cost"):
                    row.cost_usd = float(value)
                elif key == "status":
                    row.status = str(value)
                else:
                    extra[key] = value
            if "status" not in stats:
                row.status = "ok"
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
                    ExtractionRow.status == "ok",
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
        status: str = "ok",
        error: str | None = None,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
    ) -> list[int]:
        """Record one document's extraction and store its items as commitments.

        Returns the ids of the (grounded) commitments the items became, without
        repeats. Ungrounded items are kept with status ``dismissed`` and flag
        ``ungrounded``, never open, and counted in the run's ``ungrounded``.
        A failed extraction (``status="failed"``) is recorded with its error and
        changes no commitment; the document stays pending. See
        :mod:`store.recording` for dedup and re-record rules.
        """
        if status not in ("ok", "failed"):
            raise StoreError(f"unknown extraction status {status!r}: use ok or failed")
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
                    items=[i.model_dump(mode="json") for i in items] if status == "ok" else [],
                    prompt_tokens=prompt_tokens,
                    completion_tokens=completion_tokens,
                    created_at=utcnow(),
                )
            )
            run.documents += 1
            run.prompt_tokens += prompt_tokens
            run.completion_tokens += completion_tokens
            if status != "ok":
                run.failed += 1
                return []
            result = record_items(s, doc=doc, run_id=run_id, cache_key=cache_key, items=items)
            run.items += len(items) - result.ungrounded
            run.ungrounded += result.ungrounded
            return result.ids

    # -------------------------------------------------------------- linking

    @_retry_conflicts
    def link_commitments(
        self, internal_domains: set[str], *, ids: Collection[int] | None = None
    ) -> dict[str, int]:
        """Link every commitment that has no link yet (see :mod:`store.linking`).

        ``ids`` limits it to those commitments (the API links the items of the
        one document it was given, so that a request does not rescan the whole
        unlinked queue); ``None`` scans every commitment without a link, as a
        batch run does. Returns counts by method: ``mention``, ``contact``,
        ``domain`` and ``unlinked`` (left for the unlinked queue). Manual links
        and manual unlinks are never touched; ungrounded items are skipped.
        """
        counts = {linking.MENTION: 0, linking.CONTACT: 0, linking.DOMAIN: 0, "unlinked": 0}
        chunks: list[list[int]] | None = None
        if ids is not None:
            wanted = self._without_link(sorted(set(ids)))
            if not wanted:
                return counts  # nothing to link: no need to read the CRM
            chunks = [wanted[i : i + _LINK_BATCH] for i in range(0, len(wanted), _LINK_BATCH)]
        with self._tx() as s:
            contacts = list(s.scalars(select(ContactRow)))
            index = linking.LinkIndex(
                deals=[
                    linking.DealInfo(d.id, d.crm_id, d.name, d.account_id, d.stage, d.close_date)
                    for d in s.scalars(select(DealRow))
                ],
                accounts=[
                    linking.AccountInfo(a.id, a.name, tuple(a.domains or []))
                    for a in s.scalars(select(AccountRow))
                ],
                contact_accounts={c.email: c.account_id for c in contacts if c.account_id is not None},
                internal_domains=set(internal_domains),
                contact_names=_unique_names(contacts),
            )
        last_id = 0
        while True:
            chunk = None
            if chunks is not None:
                if not chunks:
                    break
                chunk = chunks.pop(0)
            with self._tx() as s:
                self._lock(s, "linking")
                query = (
                    select(CommitmentRow)
                    .outerjoin(CommitmentDealLinkRow, CommitmentDealLinkRow.commitment_id == CommitmentRow.id)
                    .where(CommitmentDealLinkRow.commitment_id.is_(None))
                    .order_by(CommitmentRow.id)
                    .options(
                        selectinload(CommitmentRow.document),
                        selectinload(CommitmentRow.evidence).selectinload(EvidenceRow.document),
                    )
                )
                if chunk is None:
                    query = query.where(CommitmentRow.id > last_id).limit(_LINK_BATCH)
                else:
                    query = query.where(CommitmentRow.id.in_(chunk))
                rows = s.scalars(query).all()
                if not rows and chunk is None:
                    break
                for c in rows:
                    last_id = c.id
                    if "ungrounded" in (c.flags or []):
                        continue
                    decision = linking.decide(_link_input(c), index) if index.deals else None
                    if decision is None:
                        counts["unlinked"] += 1
                        continue
                    c.deal_id = decision.deal_id
                    s.add(
                        CommitmentDealLinkRow(
                            commitment_id=c.id,
                            deal_id=decision.deal_id,
                            method=decision.method,
                            confidence=decision.confidence,
                            created_at=utcnow(),
                        )
                    )
                    counts[decision.method] += 1
        return counts

    def _without_link(self, ids: list[int]) -> list[int]:
        """Those of ``ids`` (sorted) that are commitments with no link row, in order."""
        out: list[int] = []
        with self._tx() as s:
            for i in range(0, len(ids), _LINK_BATCH):
                out += s.scalars(
                    select(CommitmentRow.id)
                    .outerjoin(CommitmentDealLinkRow, CommitmentDealLinkRow.commitment_id == CommitmentRow.id)
                    .where(
                        CommitmentDealLinkRow.commitment_id.is_(None),
                        CommitmentRow.id.in_(ids[i : i + _LINK_BATCH]),
                    )
                    .order_by(CommitmentRow.id)
                ).all()
        return out

    @_retry_conflicts
    def detect_fulfilments(self, internal_domains: set[str]) -> int:
        """Close open commitments and requests that a later message delivers (see :mod:`store.fulfilment`).

        A closed item gets status ``done``, flag ``fulfilled`` and a history
        entry (actor ``fulfilment``) naming the message and quoting it. Items a
        person has set a status on are left alone. Returns how many were closed.
        """
        internal = {d.lower().lstrip("@") for d in internal_domains if d}
        closed = 0
        with self._tx() as s:
            self._lock(s, "fulfilment")
            for c, later in self._open_with_later(s, skip_touched=True):
                hit = fulfilment.find(c.action, c.owner, c.owner_email, later, internal)
                if hit is None:
                    continue
                old = c.status
                c.status = "done"
                c.snoozed_until = None
                c.flags = [*(c.flags or []), "fulfilled"]
                c.updated_at = utcnow()
                s.add(_hist(c.id, "status", old, "done", "fulfilment", f"{hit.message_id}: {hit.quote}"))
                closed += 1
        return closed

    def answered_requests(self, internal_domains: set[str]) -> dict[int, str]:
        """Open requests that someone on our side replied to later: id → the reply's message id.

        A reply is any sentence by an internal participant after the request,
        later in its document or in a later document of its thread. Requests
        not in the result are the unanswered inbound requests.
        """
        internal = {d.lower().lstrip("@") for d in internal_domains if d}
        names = self.directory()
        out: dict[int, str] = {}
        with self._tx() as s:
            for c, later in self._open_with_later(s, skip_touched=False, kind="request"):
                hit = fulfilment.first_reply(later, internal, names)
                if hit is not None:
                    out[c.id] = hit.message_id
        return out

    def _open_with_later(
        self, s: Session, *, skip_touched: bool, kind: str | None = None
    ) -> Iterator[tuple[CommitmentRow, list[fulfilment.LaterText]]]:
        """Each open item with the text that came after it (same document, then its thread)."""
        query = (
            select(CommitmentRow)
            .where(CommitmentRow.status.in_(("open", "snoozed")))
            .options(selectinload(CommitmentRow.document), selectinload(CommitmentRow.evidence))
        )
        if kind is not None:
            query = query.where(CommitmentRow.type == kind)
        rows = s.scalars(query).all()
        touched: set[int] = set()
        if skip_touched:
            touched = set(
                s.scalars(
                    select(CommitmentHistoryRow.commitment_id).where(
                        CommitmentHistoryRow.field == "status",
                        CommitmentHistoryRow.actor.not_in(SYSTEM_ACTORS),
                    )
                )
            )
        threads: dict[tuple[str, str], list[DocumentRow]] = {}
        for c in rows:
            if c.id in touched or "ungrounded" in (c.flags or []):
                continue
            doc = c.document
            after = max((e.char_end or 0) for e in c.evidence if e.document_id == doc.id)
            later = [_later_text(doc, after)]
            if doc.thread_id:
                key = (doc.source, doc.thread_id)
                if key not in threads:
                    threads[key] = list(
                        s.scalars(
                            select(DocumentRow)
                            .where(DocumentRow.source == key[0], DocumentRow.thread_id == key[1])
                            .order_by(DocumentRow.occurred_at, DocumentRow.id)
                        )
                    )
                later += [
                    _later_text(d, 0)
                    for d in threads[key]
                    if d.id != doc.id and d.occurred_at >= doc.occurred_at
                ]
            yield c, later

    # -------------------------------------------------------------- queries

    def list_commitments(self, f: CommitmentFilter) -> Page:
        """One page in ``(due, id)`` order, undated last; ``next_cursor`` is None on the last page."""
        with self._tx() as s:
            views: list[CommitmentView] = []
            for undated in (False, True):
                stmt = build_select(f, undated=undated)
                if stmt is not None and len(views) <= f.limit:
                    views.extend(fetch_views(s, stmt.limit(f.limit + 1 - len(views)), f.as_of))
            nxt = None
            if len(views) > f.limit:
                last = views[f.limit - 1]
                nxt = encode_cursor(last.due, last.id)
            return Page(items=views[: f.limit], next_cursor=nxt)

    def get_commitment(self, cid: int, *, as_of: date | None = None) -> CommitmentView:
        """One commitment with its evidence, deal and history; :class:`NotFound` if unknown."""
        with self._tx() as s:
            return self._view(s, cid, as_of)

    def _view(self, s: Session, cid: int, as_of: date | None) -> CommitmentView:
        row = s.scalars(select(CommitmentRow).where(CommitmentRow.id == cid).options(*eager())).first()
        if row is None:
            raise NotFound(f"no commitment with id {cid}")
        history = list(
            s.scalars(
                select(CommitmentHistoryRow)
                .where(CommitmentHistoryRow.commitment_id == cid)
                .order_by(CommitmentHistoryRow.id)
            )
        )
        return to_view(row, as_of or date.today(), history)

    def set_status(
        self,
        cid: int,
        status: str,
        *,
        until: date | None = None,
        actor: str = "cli",
        note: str | None = None,
        as_of: date | None = None,
    ) -> CommitmentView:
        """Set ``open``/``done``/``dismissed``/``snoozed``.

        ``until`` (snoozed only) is the day the item comes back; ``None`` snoozes it indefinitely.
        """
        if status not in STATUSES:
            raise StoreError(f"unknown status {status!r}: use open, done, dismissed or snoozed")
        with self._tx() as s:
            row = s.get(CommitmentRow, cid)
            if row is None:
                raise NotFound(f"no commitment with id {cid}")
            new_until = until if status == "snoozed" else None
            if row.status != status:
                s.add(_hist(cid, "status", row.status, status, actor, note))
            if row.snoozed_until != new_until:
                s.add(_hist(cid, "snoozed_until", row.snoozed_until, new_until, actor, note))
            if row.status == status and row.snoozed_until == new_until and note:
                s.add(_hist(cid, "note", None, None, actor, note))
            row.status = status
            row.snoozed_until = new_until
            row.updated_at = utcnow()
            s.flush()
            return self._view(s, cid, as_of)

    def set_deal(
        self, cid: int, deal_crm_id: str | None, *, actor: str = "cli", as_of: date | None = None
    ) -> CommitmentView:
        """Link a commitment to a deal by hand (method ``manual``, confidence 1.0).

        ``None`` unlinks it for good: automatic linking will not link it again.
        """
        with self._tx() as s:
            row = s.scalars(
                select(CommitmentRow).where(CommitmentRow.id == cid).options(selectinload(CommitmentRow.link))
            ).first()
            if row is None:
                raise NotFound(f"no commitment with id {cid}")
            deal = None
            if deal_crm_id is not None:
                deal = s.scalars(select(DealRow).where(DealRow.crm_id == deal_crm_id)).first()
                if deal is None:
                    raise NotFound(f"no deal with CRM id {deal_crm_id!r}")
            old = None
            if row.link is not None and row.link.deal_id is not None:
                old = s.scalar(select(DealRow.crm_id).where(DealRow.id == row.link.deal_id))
                s.delete(row.link)
                s.flush()
            elif row.link is not None:
                s.delete(row.link)
                s.flush()
            s.add(
                CommitmentDealLinkRow(
                    commitment_id=cid,
                    deal_id=deal.id if deal else None,
                    method=linking.MANUAL,
                    confidence=linking.CONFIDENCE[linking.MANUAL],
                    created_at=utcnow(),
                )
            )
            s.add(_hist(cid, "deal", old, deal_crm_id, actor, None))
            row.deal_id = deal.id if deal else None
            row.updated_at = utcnow()
            s.flush()
            s.expire(row)
            return self._view(s, cid, as_of)

    def list_deals(self, as_of: date) -> list[DealView]:
        """Every deal with its commitment counts and health, worst first."""
        with self._tx() as s:
            deals = s.execute(_deal_rows()).all()
            counts = {row.deal_id: row for row in s.execute(_deal_counts(as_of))}
        views = [_deal_view(d, counts.get(d.id)) for d in deals]
        views.sort(key=lambda v: (-v.overdue_count, -v.open_count, -(v.amount or 0), v.crm_id))
        return views

    def get_deal(self, deal_crm_id: str) -> DealView:
        """One deal's view (as :meth:`list_deals` gives it, counted as of today)."""
        with self._tx() as s:
            deal = s.execute(_deal_rows().where(DealRow.crm_id == deal_crm_id)).first()
            if deal is None:
                raise NotFound(f"no deal with CRM id {deal_crm_id!r}")
            counts = s.execute(_deal_counts(date.today()).where(CommitmentRow.deal_id == deal.id)).first()
        return _deal_view(deal, counts)

    def deal_commitments(self, deal_crm_id: str, as_of: date) -> list[CommitmentView]:
        """Every commitment linked to the deal, open ones first, then by priority."""
        with self._tx() as s:
            deal = s.scalars(select(DealRow).where(DealRow.crm_id == deal_crm_id)).first()
            if deal is None:
                raise NotFound(f"no deal with CRM id {deal_crm_id!r}")
            views = fetch_views(
                s,
                select(CommitmentRow)
                .join(CommitmentDealLinkRow, CommitmentDealLinkRow.commitment_id == CommitmentRow.id)
                .where(CommitmentDealLinkRow.deal_id == deal.id)
                .order_by(CommitmentRow.id),
                as_of,
            )
        views.sort(key=lambda v: (v.status != "open", -v.priority, v.due or date.max, v.id))
        return views

    def export_rows(
        self, *, include_ungrounded: bool = False, batch: int = 500
    ) -> Iterator[dict[str, object]]:
        """One flat dict per commitment, in id order (ungrounded ones only when asked).

        Keys: ``message_id`` (the source document's external id), ``type``,
        ``evidence`` (the first quote), ``owner`` (email where resolved, else the
        name), ``due`` (ISO date or None), ``status``, ``deal`` (CRM id or None),
        ``id``, ``action``, ``due_text``, ``counterparty``, ``counterparty_email``,
        ``owner_name``, ``source``,
        ``thread_id``, ``char_start``, ``char_end``, ``alignment``,
        ``confidence``, ``link_method``, ``occurred_at`` (ISO), ``flags``.
        """
        last_id = 0
        while True:
            with self._tx() as s:
                rows = s.scalars(
                    select(CommitmentRow)
                    .where(CommitmentRow.id > last_id)
                    .order_by(CommitmentRow.id)
                    .limit(batch)
                    .options(*eager())
                ).all()
                out = []
                for c in rows:
                    last_id = c.id
                    if not include_ungrounded and "ungrounded" in (c.flags or []):
                        continue
                    out.append(_export_row(c))
            if not rows:
                return
            yield from out


# ----------------------------------------------------------------- helpers


def _deal_rows() -> Select[*tuple[Any, ...]]:
    """Each deal with its account's name and tier, one row per deal."""
    return select(
        DealRow.id,
        DealRow.crm_id,
        DealRow.name,
        DealRow.stage,
        DealRow.amount,
        DealRow.close_date,
        DealRow.owner_email,
        AccountRow.name.label("account"),
        AccountRow.tier,
    ).join(AccountRow, AccountRow.id == DealRow.account_id)


def _deal_counts(as_of: date) -> Select[*tuple[Any, ...]]:
    """Per deal: ``total``, ``done``, ``open``, ``overdue`` (open and past due) and
    ``soon`` (open, due today or within 3 days).

    One pass over the ``(deal_id, status, due, snoozed_until)`` index, grouped by
    deal; a snoozed item whose day has come counts as open.
    """
    c = CommitmentRow
    is_open = open_clause(as_of)

    def n(cond: ColumnElement[bool]) -> ColumnElement[int]:
        return func.sum(case((cond, 1), else_=0))

    return (
        select(
            c.deal_id,
            func.count().label("total"),
            n(c.status == "done").label("done"),
            n(is_open).label("open"),
            n(and_(is_open, c.due < as_of)).label("overdue"),
            n(and_(is_open, c.due >= as_of, c.due <= as_of + timedelta(days=3))).label("soon"),
        )
        .where(c.deal_id.is_not(None))
        .group_by(c.deal_id)
    )


def _deal_view(d: Row[Any], counts: Row[Any] | None) -> DealView:
    open_, overdue, soon, done, total = (
        (int(counts.open), int(counts.overdue), int(counts.soon), int(counts.done), int(counts.total))
        if counts is not None
        else (0, 0, 0, 0, 0)
    )
    return DealView(
        crm_id=d.crm_id,
        name=d.name,
        account=d.account,
        stage=d.stage,
        amount=d.amount,
        close_date=d.close_date,
        owner_email=d.owner_email,
        open_count=open_,
        overdue_count=overdue,
        health=health(open_, overdue, soon),
        tier=d.tier,
        due_soon_count=soon,
        done_count=done,
        total_count=total,
    )


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    # WAL lets the API read while a CLI run writes; NORMAL sync in WAL mode keeps the
    # database consistent on a crash and makes each small transaction ~10x cheaper.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _unique_names(contacts: list[ContactRow]) -> dict[str, int]:
    """Full name → account id for contacts whose name no other contact shares."""
    by_name: dict[str, set[int | None]] = {}
    for c in contacts:
        key = " ".join((c.name or "").lower().split())
        if len(key.split()) >= 2:
            by_name.setdefault(key, set()).add(c.account_id)
    out: dict[str, int] = {}
    for key, accounts in by_name.items():
        (account,) = accounts if len(accounts) == 1 else (None,)
        if account is not None:
            out[key] = account
    return out


def _remember_people(s: Session, participants: list[Participant]) -> None:
    """Keep each name+email pair seen; a fuller name (more words) replaces a shorter one."""
    pairs: dict[str, str] = {}
    for p in participants:
        name = " ".join((p.name or "").split())
        email = (p.email or "").strip().lower()
        if not name or not email or "@" not in email or "@" in name:
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


def _assign(row: object, **values: Any) -> bool:
    """Set attributes that differ; True when anything changed."""
    changed = False
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
            changed = True
    if changed and hasattr(row, "updated_at"):
        row.updated_at = utcnow()
    return changed


def _hist(cid: int, fld: str, old: object, new: object, actor: str, note: str | None) -> CommitmentHistoryRow:
    return CommitmentHistoryRow(
        commitment_id=cid,
        at=utcnow(),
        field=fld,
        old=None if old is None else str(old),
        new=None if new is None else str(new),
        actor=actor,
        note=note,
    )


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


def _later_text(doc: DocumentRow, start: int) -> fulfilment.LaterText:
    """A document's sentences from ``start`` on, with speakers from its segments and its sender."""
    speakers = [
        (int(g.get("char_start", 0)), int(g.get("char_end", 0)), g.get("speaker"), g.get("speaker_email"))
        for g in doc.segments or []
    ]
    sender: dict[str, Any] = next((p for p in doc.participants or [] if p.get("role") == "sender"), {})
    return fulfilment.LaterText(
        message_id=doc.external_id,
        sentences=fulfilment.sentences(doc.text, start, speakers),
        sender=sender.get("name"),
        sender_email=sender.get("email"),
    )


def _link_input(c: CommitmentRow) -> linking.LinkInput:
    docs = [c.document, *(e.document for e in c.evidence if e.document_id != c.document_id)]
    people: list[linking.Participation] = []
    for d in docs:
        for p in d.participants or []:
            if p.get("email") or p.get("name"):
                people.append(linking.Participation(p.get("email"), p.get("internal"), p.get("name")))
    for email, name in ((c.counterparty_email, c.counterparty), (c.owner_email, c.owner)):
        if email or name:
            people.append(linking.Participation(email, None, name))
    texts = [e.quote for e in c.evidence] + [d.title or "" for d in docs]
    bodies = [d.text for d in docs]
    return linking.LinkInput(texts, people, occurred=c.document.occurred_at.date(), bodies=bodies)


def _export_row(c: CommitmentRow) -> dict[str, object]:
    ev = c.evidence[0] if c.evidence else None
    deal = c.link.deal if c.link is not None else None
    return {
        "id": c.id,
        "message_id": c.document.external_id,
        "type": c.type,
        "evidence": ev.quote if ev else None,
        "owner": c.owner_email or c.owner,
        "due": c.due.isoformat() if c.due else None,
        "status": c.status,
        "deal": deal.crm_id if deal else None,
        "action": c.action,
        "due_text": c.due_text,
        "counterparty": c.counterparty,
        "counterparty_email": c.counterparty_email,
        "owner_name": c.owner,
        "source": c.source,
        "thread_id": c.thread_id,
        "char_start": ev.char_start if ev else None,
        "char_end": ev.char_end if ev else None,
        "alignment": ev.alignment if ev else None,
        "confidence": c.confidence,
        "link_method": c.link.method if c.link is not None else None,
        "occurred_at": c.document.occurred_at.isoformat(),
        "flags": list(c.flags or []),
    }


__all__ = ["NotFound", "Store", "deal_ref", "normalize_url"]
