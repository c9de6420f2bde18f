"""A pipeline run: ingest → extract → link, with counts for the report.

The pipeline is the only place that sees connectors, extractor and store at
once. It never loses a document: each one is stored before extraction, a
failed extraction is recorded as failed (and picked up by the next run), and
results are cached by (content hash, extractor cache key) so unchanged input
costs nothing the second time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from extractor.base import ExtractionFailed, ExtractionResult, Extractor
from followthrough import ingest
from followthrough.errors import InputError, StoreError
from followthrough.redaction import redact
from followthrough.types import CrmData, SourceDocument
from store import Store
from store.admission import Unstorable, admit_crm

Progress = Callable[[str, int, int | None], None]
"""``progress(stage, advance, total)``: called as work gets done."""


_DATE_HINT = {
    "vtt": 'add a "NOTE Date: YYYY-MM-DD" block, name the file with the date, or pass --date YYYY-MM-DD',
    "notes": 'put a "Date: YYYY-MM-DD" line in it, name the file with the date, or pass --date YYYY-MM-DD',
}


def _no_progress(stage: str, advance: int, total: int | None) -> None:
    return None


@dataclass
class RunReport:
    """What one run did, for the summary line and ``--json``."""

    inputs: int = 0
    documents_seen: int = 0
    documents_new: int = 0
    crm: dict[str, int] = field(default_factory=dict)
    errors: list[InputError] = field(default_factory=list)
    skipped: list[InputError] = field(default_factory=list)
    notes: list[InputError] = field(default_factory=list)
    """Things a user should know that did not stop reading (a meeting dated by its file's mtime)."""
    extracted: int = 0
    cached: int = 0
    failed: list[str] = field(default_factory=list)
    items: int = 0
    ungrounded: int = 0
    unconfirmed: int = 0
    """Model items held for review: the offline detector did not read them as the stated act."""
    instruction_like: int = 0
    """Model items whose evidence reads as an instruction to the model (prompt injection)."""
    prefiltered: int = 0
    tokens_saved: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    llm_calls: int = 0
    cost_usd: float = 0.0
    links: dict[str, int] = field(default_factory=dict)
    fulfilled: int = 0
    run_id: int | None = None

    @property
    def processed_anything(self) -> bool:
        return self.documents_seen > 0 or sum(self.crm.values()) > 0 or self.inputs > len(self.errors)

    @property
    def problems(self) -> int:
        """Inputs, records and documents that could not be read, stored or extracted."""
        return len(self.errors) + len(self.failed)

    def as_dict(self) -> dict[str, object]:
        return {
            "inputs": self.inputs,
            "documents_seen": self.documents_seen,
            "documents_new": self.documents_new,
            "crm": self.crm,
            "errors": [str(e) for e in self.errors],
            "skipped": [str(e) for e in self.skipped],
            "notes": [str(e) for e in self.notes],
            "extracted": self.extracted,
            "cached": self.cached,
            "failed": self.failed,
            "items": self.items,
            "ungrounded": self.ungrounded,
            "unconfirmed": self.unconfirmed,
            "instruction_like": self.instruction_like,
            "prefiltered": self.prefiltered,
            "tokens_saved": self.tokens_saved,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "llm_calls": self.llm_calls,
            "cost_usd": round(self.cost_usd, 6),
            "links": self.links,
            "fulfilled": self.fulfilled,
            "run_id": self.run_id,
        }


def classify_participants(doc: SourceDocument, domains: set[str]) -> SourceDocument:
    """Mark each participant internal or external by the company domains."""
    if not domains:
        return doc
    for p in doc.participants:
        if p.email and "@" in p.email:
            host = p.email.rsplit("@", 1)[1].lower()
            p.internal = any(host == d or host.endswith("." + d) for d in domains)
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
    """Read every input into the store; CRM exports first so domains are known.

    ``undated``: the day for meetings whose files carry no date (``run --date``).
    ``follow_symlinks``: read what links inside a folder point to outside it.
    A document the database cannot hold is one line in ``report.errors``; the rest is stored.
    """
    planned = ingest.plan(paths, follow_symlinks=follow_symlinks)
    report.errors.extend(planned.errors)
    report.skipped.extend(planned.skipped)
    report.inputs += len(planned.inputs)
    crm_inputs = planned.crm_inputs
    if crm_inputs:
        _store_crm(store, crm_inputs, report)
    domains = domains or store.company_domains_from_crm()
    seen: dict[tuple[str, str], tuple[str, str]] = {}
    for item in planned.document_inputs:
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
        crm, problems = admit_crm(ingest.read_crm([item], report.errors))
        report.errors.extend(InputError(item.path, p) for p in problems)
        merged = merged.merge(crm)
    try:
        counts = store.upsert_crm(merged)
    except Unstorable as e:
        report.errors.extend(InputError(item.path, f"CRM records not stored: {e}") for item in inputs)
        return
    for key, n in counts.items():
        report.crm[key] = report.crm.get(key, 0) + n


def extract_pending(
    store: Store,
    extractor: Extractor,
    report: RunReport,
    domains: set[str],
    progress: Progress = _no_progress,
) -> None:
    """Extract every document that has no successful extraction under this key.

    One document's failure is that document's alone: an extractor error, an
    exception no backend foresaw, a stored document that cannot be read back,
    or items the database cannot hold mark it ``failed`` with the reason (it
    stays pending) and the next document is extracted. The run is closed with
    what really happened: ``ok``, ``partial`` (some documents failed),
    ``failed`` (all did, or the run stopped on an error) or ``interrupted``.
    """
    key = extractor.cache_key
    pending = store.pending_documents(key)
    run_id = store.start_run(
        extractor=extractor.name, model=extractor.model, prompt_version=extractor.prompt_version
    )
    report.run_id = run_id
    progress("extract", 0, len(pending))
    ids: dict[tuple[str, str], int] = {}

    def fresh() -> Iterator[SourceDocument]:
        for doc_id in pending:
            try:
                doc = classify_participants(store.get_document(doc_id), domains)
            except (Unstorable, ValueError, ArithmeticError) as e:
                _fail(store, run_id, doc_id, key, f"document {doc_id}", f"cannot read it back: {e}", report)
                progress("extract", 1, None)
                continue
            ids[doc.external_id, doc.source] = doc_id
            cached = store.cached_items(doc.content_hash, key)
            if cached is not None:
                try:
                    store.record_extraction(run_id, doc_id, key, cached)
                except Unstorable as e:
                    _fail(store, run_id, doc_id, key, _where(doc), f"items not stored: {e}", report)
                else:
                    report.cached += 1
                    report.items += len(cached)
                progress("extract", 1, None)
                continue
            yield doc

    status = "failed"
    try:
        for doc, outcome in extractor.run_many(fresh()):
            doc_id = ids[doc.external_id, doc.source]
            if isinstance(outcome, ExtractionFailed):
                _fail(store, run_id, doc_id, key, _where(doc), str(outcome), report, outcome.spent)
            else:
                try:
                    _record(store, run_id, doc_id, key, outcome, report)
                except Unstorable as e:
                    _fail(store, run_id, doc_id, key, _where(doc), f"items not stored: {e}", report, outcome)
            progress("extract", 1, None)
        done = report.extracted + report.cached
        status = "ok" if not report.failed else "partial" if done else "failed"
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        report.cost_usd = extractor.estimate_cost(report.prompt_tokens, report.completion_tokens) or 0.0
        _close_run(store, run_id, len(pending), status, report)


def _fail(
    store: Store,
    run_id: int,
    doc_id: int,
    key: str,
    where: str,
    reason: str,
    report: RunReport,
    spent: ExtractionResult | None = None,
) -> None:
    """Record one document's extraction as failed, with its reason and what it cost."""
    reason = redact(reason)
    try:
        store.record_extraction(
            run_id,
            doc_id,
            key,
            [],
            status="failed",
            error=reason,
            prompt_tokens=spent.prompt_tokens if spent else 0,
            completion_tokens=spent.completion_tokens if spent else 0,
        )
    except Unstorable:
        pass  # the reason itself could not be stored; the report still names it
    report.failed.append(f"{where}: {reason}")
    if spent is not None:
        _account(spent, report)


def _close_run(store: Store, run_id: int, documents: int, status: str, report: RunReport) -> None:
    stats: dict[str, int | float | str] = {
        "status": status,
        "documents": documents,
        "extracted": report.extracted,
        "cached": report.cached,
        "failed": len(report.failed),
        "items": report.items,
        "ungrounded": report.ungrounded,
        "unconfirmed": report.unconfirmed,
        "instruction_like": report.instruction_like,
        "prefiltered": report.prefiltered,
        "tokens_saved": report.tokens_saved,
        "prompt_tokens": report.prompt_tokens,
        "completion_tokens": report.completion_tokens,
        "llm_calls": report.llm_calls,
        "cost_usd": round(report.cost_usd, 6),
    }
    try:
        store.finish_run(run_id, stats)
    except StoreError:
        if status in ("ok", "partial"):
            raise
        # the run already stopped on an error; that error is the one to report (the next
        # start marks this run interrupted)


def _record(
    store: Store, run_id: int, doc_id: int, key: str, result: ExtractionResult, report: RunReport
) -> None:
    store.record_extraction(
        run_id,
        doc_id,
        key,
        result.items,
        prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens,
    )
    report.extracted += 1
    report.items += len(result.items)
    _account(result, report)


def _account(result: ExtractionResult, report: RunReport) -> None:
    """Add what one document cost (also for a document that failed part-way)."""
    report.ungrounded += result.ungrounded
    report.unconfirmed += result.unconfirmed
    report.instruction_like += result.instruction_like
    report.prefiltered += int(result.prefiltered)
    report.tokens_saved += result.tokens_saved
    report.prompt_tokens += result.prompt_tokens
    report.completion_tokens += result.completion_tokens
    report.llm_calls += result.llm_calls


def link(store: Store, report: RunReport, domains: set[str]) -> None:
    """Link commitments to deals, then close those a later message of ours delivered."""
    for method, n in store.link_commitments(domains).items():
        report.links[method] = report.links.get(method, 0) + n
    report.fulfilled += store.detect_fulfilments(domains)
