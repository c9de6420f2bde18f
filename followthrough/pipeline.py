"""A pipeline run: ingest → extract → link, with counts for the report.

The pipeline is the only place that sees connectors, extractor and store at
once. It never loses a document: each one is stored before extraction, a
failed extraction is recorded as failed (and picked up by the next run), and
results are cached by (content hash, extractor cache key) so unchanged input
costs nothing the second time.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, fields
from datetime import date
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import assert_never

from connectors.base import Yields
from extractor import ExtractionFailed, ExtractionResult, Extractor
from followthrough import ingest
from followthrough.errors import InputError, StoreError
from followthrough.redaction import redact
from followthrough.types import CrmData, ExtractionStatus, RunStatus, SourceDocument, is_internal
from store import Store, Unstorable, admit_crm

Progress = Callable[[str, int, int | None], None]
"""``progress(stage, advance, total)``: called as work gets done."""


_DATE_HINT = {
    "vtt": 'add a "NOTE Date: YYYY-MM-DD" block, name the file with the date, or pass --date YYYY-MM-DD',
    "notes": 'put a "Date: YYYY-MM-DD" line in it, name the file with the date, or pass --date YYYY-MM-DD',
}


def _no_progress(stage: str, advance: int, total: int | None) -> None:
    return None


_STAT = MappingProxyType({"stat": True})
"""Field metadata of the :class:`RunReport` counters that are also stored with the extraction run."""


@dataclass
class RunReport:
    """What one run did, for the summary line and ``--json``.

    The one declaration of the run's counters: :meth:`as_dict` (``run --json``)
    and :meth:`run_stats` (stored with the extraction run) are derived from
    these fields, in this order; a field marked with :data:`_STAT` metadata is
    also a counter of the stored run.
    """

    inputs: int = 0
    documents_seen: int = 0
    documents_new: int = 0
    crm: dict[str, int] = field(default_factory=dict)
    errors: list[InputError] = field(default_factory=list)
    skipped: list[InputError] = field(default_factory=list)
    notes: list[InputError] = field(default_factory=list)
    """Things a user should know that did not stop reading (a meeting dated by its file's mtime)."""
    extracted: int = field(default=0, metadata=_STAT)
    cached: int = field(default=0, metadata=_STAT)
    failed: list[str] = field(default_factory=list, metadata=_STAT)
    """One line per document that failed: where it came from and why (stored as a count)."""
    items: int = field(default=0, metadata=_STAT)
    ungrounded: int = field(default=0, metadata=_STAT)
    unconfirmed: int = field(default=0, metadata=_STAT)
    """Model items held for review: the offline detector did not read them as the stated act."""
    instruction_like: int = field(default=0, metadata=_STAT)
    """Model items whose evidence reads as an instruction to the model (prompt injection)."""
    prefiltered: int = field(default=0, metadata=_STAT)
    tokens_saved: int = field(default=0, metadata=_STAT)
    prompt_tokens: int = field(default=0, metadata=_STAT)
    completion_tokens: int = field(default=0, metadata=_STAT)
    llm_calls: int = field(default=0, metadata=_STAT)
    cost_usd: float = field(default=0.0, metadata=_STAT)
    """Estimated USD (rounded to 1e-6 in :meth:`as_dict` and :meth:`run_stats`)."""
    links: dict[str, int] = field(default_factory=dict)
    fulfilled: int = 0
    answered: int = 0
    """Requests closed because one of ours answered them (or took them on) later in their thread."""
    merged: int = 0
    """Commitments folded into the same promise seen in another source (``commitments split`` undoes it)."""
    run_id: int | None = None

    @property
    def processed_anything(self) -> bool:
        return self.documents_seen > 0 or sum(self.crm.values()) > 0 or self.inputs > len(self.errors)

    @property
    def stored_anything(self) -> bool:
        """Whether this run wrote new documents, CRM records or extractions (a re-run on unchanged
        input writes none: nothing for the planner to learn)."""
        return self.documents_new > 0 or sum(self.crm.values()) > 0 or self.extracted + self.cached > 0

    @property
    def problems(self) -> int:
        """Inputs, records and documents that could not be read, stored or extracted."""
        return len(self.errors) + len(self.failed)

    @property
    def extraction_status(self) -> RunStatus:
        """``ok`` (no document failed), ``partial`` (some did) or ``failed`` (every one tried did)."""
        if not self.failed:
            return RunStatus.OK
        return RunStatus.PARTIAL if self.extracted + self.cached else RunStatus.FAILED

    def as_dict(self) -> dict[str, object]:
        """Every field, for ``run --json``: problems as lines of text, the cost rounded."""
        out: dict[str, object] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, list):
                value = [str(v) for v in value]
            elif isinstance(value, float):
                value = round(value, 6)
            out[f.name] = value
        return out

    def run_stats(self) -> dict[str, int | float]:
        """The counters stored with the extraction run: the :data:`_STAT` fields, lists by their length."""
        out: dict[str, int | float] = {}
        for f in fields(self):
            if not f.metadata.get("stat"):
                continue
            value = getattr(self, f.name)
            out[f.name] = len(value) if isinstance(value, list) else round(value, 6)
        return out


def classify_participants(doc: SourceDocument, domains: set[str]) -> SourceDocument:
    """Mark each participant internal or external by the company domains."""
    if not domains:
        return doc
    for p in doc.participants:
        if p.email and "@" in p.email:
            p.internal = is_internal(p.email, domains)
    return doc


def ingest_paths(
    store: Store,
    paths: list[Path],
    report: RunReport,
    domains: set[str],
    progress: Progress = _no_progress,
    undated: date | None = None,
    follow_symlinks: bool = False,
) -> None:
    """Read every input into the store, in :class:`Yields` order: CRM records first, so domains are known.

    ``undated``: the day for meetings whose files carry no date (``run --date``).
    ``follow_symlinks``: read what links inside a folder point to outside it.
    A record the database cannot hold is one line in ``report.errors``; the rest is stored.
    """
    planned = ingest.plan(paths, follow_symlinks=follow_symlinks)
    report.errors.extend(planned.errors)
    report.skipped.extend(planned.skipped)
    report.inputs += len(planned.inputs)
    for yields in Yields:
        inputs = planned.yielding(yields)
        if not inputs:
            continue
        match yields:
            case Yields.CRM:
                _store_crm(store, inputs, report)
            case Yields.DOCUMENTS:
                company = domains or store.company_domains_from_crm()
                _store_documents(store, inputs, report, company, progress, undated)
            case _:
                assert_never(yields)


def _store_documents(
    store: Store,
    inputs: list[ingest.Input],
    report: RunReport,
    domains: set[str],
    progress: Progress,
    undated: date | None,
) -> None:
    """Read and store the documents of ``inputs``; the first of two that disagree about one message wins."""
    seen: dict[tuple[str, str], tuple[str, str]] = {}
    for item in inputs:
        for doc in ingest.documents(item, report.errors, undated):
            first = seen.setdefault((doc.source, doc.external_id), (doc.content_hash, doc.origin))
            if first != (doc.content_hash, doc.origin):
                if first[0] != doc.content_hash:
                    # Two inputs disagree about one message: keep the first, so runs stay repeatable.
                    report.skipped.append(
                        InputError(
                            doc.origin or doc.external_id,
                            f"{doc.external_id} was already read from {first[1]} with other content; "
                            "kept that one",
                        )
                    )
                continue
            if ingest.undated_meeting(doc):
                report.notes.append(
                    InputError(
                        doc.origin or doc.external_id,
                        "no meeting date found; dated by the file's modification time "
                        f"{doc.occurred_at.date().isoformat()} "
                        f"({_DATE_HINT.get(doc.metadata.get('format', ''), _DATE_HINT['notes'])})",
                    )
                )
            if doc.source == "email" and doc.metadata.get("date_source") in ("file_mtime", "unknown"):
                report.notes.append(
                    InputError(
                        _where(doc),
                        "no readable Date header (nor Received, nor mbox From_ line); dated by the "
                        f"file's modification time {doc.occurred_at.date().isoformat()}",
                    )
                )
            classify_participants(doc, domains)
            try:
                _, changed = store.add_document(doc)
            except Unstorable as e:
                report.errors.append(InputError(_where(doc), f"not stored: {e}"))
                continue
            report.documents_seen += 1
            report.documents_new += int(changed)
            progress("ingest", 1, None)


def _where(doc: SourceDocument) -> str:
    """The file (and message) a document came from, for one error line."""
    origin = doc.origin or doc.external_id
    ident = doc.external_id if len(doc.external_id) <= 80 else doc.external_id[:77] + "..."
    return origin if doc.external_id in origin else f"{origin} (message {ident})"


def _store_crm(store: Store, inputs: list[ingest.Input], report: RunReport) -> None:
    """Read and store every CRM export; a record the database cannot hold is one line, never the file."""
    merged = CrmData()
    for item in inputs:
        crm, problems = admit_crm(ingest.records(item, report.errors))
        report.errors.extend(InputError(item.path, p) for p in problems)
        merged = merged.merge(crm)
    try:
        counts = store.upsert_crm(merged)
    except Unstorable as e:
        report.errors.extend(InputError(item.path, f"CRM records not stored: {e}") for item in inputs)
        return
    for key, n in counts.items():
        report.crm[key] = report.crm.get(key, 0) + n


EXTRACT_BATCH = 256
"""Documents read back, looked up in the cache and handed to the extractor at a time: memory stays flat
however many are pending (within a batch the LLM backend keeps ``2 × concurrency`` in flight)."""

_UNREADABLE = (Unstorable, ValueError, ArithmeticError)
"""What reading a stored document back raises when a value in it is out of range or malformed."""


@dataclass(frozen=True)
class DocumentOutcome:
    """What became of one document in an :class:`ExtractionRun`."""

    document_id: int
    commitment_ids: list[int] = field(default_factory=list)
    """The commitments its (grounded) items became, without repeats; none when it failed."""
    cached: bool = False
    """Its items came from the cache (an earlier extraction of the same content): no extractor call."""
    ungrounded: int = 0
    """Items the extractor returned whose evidence is not in the text (none from the cache)."""
    error: Exception | None = None
    """Why it failed, when it did: an :class:`ExtractionFailed`, an :class:`Unstorable` (items the
    database cannot hold), or the error reading the stored document back."""


class ExtractionRun:
    """One extraction run: each stored document answered from the cache or by the extractor, and recorded.

    The one routine behind ``followthrough extract`` (:func:`extract_pending`) and
    ``POST /v1/documents``::

        with ExtractionRun(store, extractor, report, domains, documents=len(ids)) as run:
            for start in range(0, len(ids), EXTRACT_BATCH):
                run.extract(ids[start : start + EXTRACT_BATCH])

    Entering opens the run (``report.run_id``); :meth:`extract` does one batch;
    leaving closes the run with ``report``'s counters (:meth:`RunReport.run_stats`),
    ``documents`` (how many it set out to extract), ``origin`` when given (``"api"``)
    and its status: ``ok``, ``partial`` (some documents failed), ``failed`` (all
    did, or an exception stopped the run) or ``interrupted`` (Ctrl-C). ``report``
    gathers what every batch did and what it cost (``cost_usd`` set on leaving).

    One document's failure is that document's alone: an extractor error (or an
    exception no backend foresaw, see :meth:`Extractor.run_safely`), a stored
    document that cannot be read back, or items the database cannot hold mark it
    ``failed`` with the reason and what the attempt spent (it stays pending for
    the next run), and the next document is extracted. Exceptions that stop a
    backend as a whole (a refused key: :class:`~followthrough.errors.ConfigError`)
    and store errors other than :class:`Unstorable` stop the run.
    """

    def __init__(
        self,
        store: Store,
        extractor: Extractor,
        report: RunReport,
        domains: set[str],
        *,
        documents: int,
        progress: Progress = _no_progress,
        origin: str | None = None,
    ) -> None:
        self.store = store
        self.extractor = extractor
        self.report = report
        self.domains = domains
        self.documents = documents
        self.progress = progress
        self.origin = origin
        self.key = extractor.cache_key
        self.run_id = 0

    def __enter__(self) -> ExtractionRun:
        self.run_id = self.store.start_run(
            extractor=self.extractor.name,
            model=self.extractor.model,
            prompt_version=self.extractor.prompt_version,
        )
        self.report.run_id = self.run_id
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        report = self.report
        if exc_type is None:
            status = report.extraction_status
        else:
            status = RunStatus.INTERRUPTED if issubclass(exc_type, KeyboardInterrupt) else RunStatus.FAILED
        report.cost_usd = self.extractor.estimate_cost(report.prompt_tokens, report.completion_tokens) or 0.0
        stats: dict[str, int | float | str] = {"documents": self.documents}
        stats.update(report.run_stats())
        if self.origin is not None:
            stats["origin"] = self.origin
        try:
            self.store.finish_run(self.run_id, status, stats)
        except StoreError:
            if status in (RunStatus.OK, RunStatus.PARTIAL):
                raise
            # the run already stopped on an error; that error is the one to report (the next
            # start marks this run interrupted)

    def extract(self, doc_ids: Sequence[int]) -> list[DocumentOutcome]:
        """Extract one batch of stored documents; what became of each, in the order they finished.

        Each document is read back and its participants classified by the
        company domains; those whose content has a cached extraction under the
        extractor's key are recorded from the cache first, then the extractor
        runs on the rest (:meth:`Extractor.run_many`) and each result or
        failure is recorded as it comes: nothing is written to the store while
        the extractor still reads its input. The batch is held in memory whole:
        pass at most :data:`EXTRACT_BATCH` ids.
        """
        outcomes: list[DocumentOutcome] = []
        fresh: list[SourceDocument] = []
        ids: dict[tuple[str, str], int] = {}
        for doc_id in doc_ids:
            try:
                doc = classify_participants(self.store.get_document(doc_id), self.domains)
            except _UNREADABLE as e:
                outcomes.append(self._fail(doc_id, f"document {doc_id}", e, f"cannot read it back: {e}"))
                continue
            cached = self.store.cached_items(doc.content_hash, self.key)
            if cached is None:
                ids[doc.external_id, doc.source] = doc_id
                fresh.append(doc)
            else:
                outcomes.append(self._record(doc_id, doc, ExtractionResult(items=cached), cached=True))
        for doc, outcome in self.extractor.run_many(fresh):
            doc_id = ids[doc.external_id, doc.source]
            if isinstance(outcome, ExtractionFailed):
                outcomes.append(self._fail(doc_id, _where(doc), outcome, str(outcome), outcome.spent))
            else:
                outcomes.append(self._record(doc_id, doc, outcome, cached=False))
        return outcomes

    def _record(
        self, doc_id: int, doc: SourceDocument, result: ExtractionResult, *, cached: bool
    ) -> DocumentOutcome:
        """Store one document's items; a cached result costs nothing and counts as ``cached``."""
        try:
            commitment_ids = self.store.record_extraction(
                self.run_id,
                doc_id,
                self.key,
                result.items,
                prompt_tokens=result.prompt_tokens,
                completion_tokens=result.completion_tokens,
            )
        except Unstorable as e:
            return self._fail(doc_id, _where(doc), e, f"items not stored: {e}", result)
        if cached:
            self.report.cached += 1
        else:
            self.report.extracted += 1
        self.report.items += len(result.items)
        _account(result, self.report)
        self.progress("extract", 1, None)
        return DocumentOutcome(doc_id, commitment_ids, cached=cached, ungrounded=result.ungrounded)

    def _fail(
        self,
        doc_id: int,
        where: str,
        error: Exception,
        reason: str,
        spent: ExtractionResult | None = None,
    ) -> DocumentOutcome:
        """Record one document's extraction as failed, with its reason and what it cost."""
        reason = redact(reason)
        try:
            self.store.record_extraction(
                self.run_id,
                doc_id,
                self.key,
                [],
                status=ExtractionStatus.FAILED,
                error=reason,
                prompt_tokens=spent.prompt_tokens if spent else 0,
                completion_tokens=spent.completion_tokens if spent else 0,
            )
        except Unstorable:
            pass  # the reason itself could not be stored; the report still names it
        self.report.failed.append(f"{where}: {reason}")
        if spent is not None:
            _account(spent, self.report)
        self.progress("extract", 1, None)
        return DocumentOutcome(doc_id, error=error)


def extract_pending(
    store: Store,
    extractor: Extractor,
    report: RunReport,
    domains: set[str],
    progress: Progress = _no_progress,
) -> None:
    """Extract every document that has no successful extraction under the extractor's key.

    One :class:`ExtractionRun` over the pending documents, :data:`EXTRACT_BATCH` at a time.
    """
    pending = store.pending_documents(extractor.cache_key)
    with ExtractionRun(store, extractor, report, domains, documents=len(pending), progress=progress) as run:
        progress("extract", 0, len(pending))
        for start in range(0, len(pending), EXTRACT_BATCH):
            run.extract(pending[start : start + EXTRACT_BATCH])


def _account(result: ExtractionResult, report: RunReport) -> None:
    """Add what one document cost and what its extraction counted (also for one that failed part-way)."""
    report.ungrounded += result.ungrounded
    report.unconfirmed += result.unconfirmed
    report.instruction_like += result.instruction_like
    report.prefiltered += int(result.prefiltered)
    report.tokens_saved += result.tokens_saved
    report.prompt_tokens += result.prompt_tokens
    report.completion_tokens += result.completion_tokens
    report.llm_calls += result.llm_calls


def link(
    store: Store,
    report: RunReport,
    domains: set[str],
    *,
    ids: Collection[int] | None = None,
    documents: Collection[int] | None = None,
) -> None:
    """Link commitments to deals, close those a later message of ours delivered, then the requests
    one of ours answered; last, merge one promise seen in several sources into one commitment
    (after the closing, so that each sighting was looked at in its own thread).

    ``ids``: link only these commitments (the API links the items of the one
    document it was given, not the whole unlinked queue); ``None`` links every
    commitment without a link. ``documents``: fulfilment and answer detection look only at the
    open items in these documents' threads (what they can deliver or answer: the API's one
    document, so a request costs the same however many items are open); ``None``: every open item.
    """
    for method, n in store.link_commitments(domains, ids=ids).items():
        report.links[method] = report.links.get(method, 0) + n
    report.fulfilled += store.detect_fulfilments(domains, documents=documents)
    report.answered += store.detect_answers(domains, documents=documents)
    report.merged += store.merge_duplicates(ids=ids)
