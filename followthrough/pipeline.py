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

from extractor.base import ExtractionResult, Extractor
from followthrough import ingest
from followthrough.errors import ExtractionError, InputError
from followthrough.types import SourceDocument
from store import Store

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
) -> None:
    """Read every input into the store; CRM exports first so domains are known.

    ``undated``: the day for meetings whose files carry no date (``run --date``).
    """
    planned = ingest.plan(paths)
    report.errors.extend(planned.errors)
    report.skipped.extend(planned.skipped)
    report.inputs += len(planned.inputs)
    crm_inputs = planned.crm_inputs
    if crm_inputs:
        crm = ingest.read_crm(crm_inputs, report.errors)
        for key, n in store.upsert_crm(crm).items():
            report.crm[key] = report.crm.get(key, 0) + n
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
            classify_participants(doc, domains)
            _, changed = store.add_document(doc)
            report.documents_seen += 1
            report.documents_new += int(changed)
            progress("ingest", 1, None)


def extract_pending(
    store: Store,
    extractor: Extractor,
    report: RunReport,
    domains: set[str],
    progress: Progress = _no_progress,
) -> None:
    """Extract every document that has no successful extraction under this key."""
    key = extractor.cache_key
    pending = store.pending_documents(key)
    run_id = store.start_run(
        extractor=extractor.name, model=extractor.model, prompt_version=extractor.prompt_version
    )
    report.run_id = run_id
    progress("extract", 0, len(pending))

    def fresh() -> Iterator[SourceDocument]:
        for doc_id in pending:
            doc = classify_participants(store.get_document(doc_id), domains)
            ids[doc.external_id, doc.source] = doc_id
            cached = store.cached_items(doc.content_hash, key)
            if cached is not None:
                store.record_extraction(run_id, doc_id, key, cached)
                report.cached += 1
                report.items += len(cached)
                progress("extract", 1, None)
                continue
            yield doc

    ids: dict[tuple[str, str], int] = {}
    try:
        for doc, outcome in extractor.run_many(fresh()):
            doc_id = ids[doc.external_id, doc.source]
            if isinstance(outcome, ExtractionError):
                spent = getattr(outcome, "result", None)
                tokens = (
                    (spent.prompt_tokens, spent.completion_tokens)
                    if isinstance(spent, ExtractionResult)
                    else (0, 0)
                )
                store.record_extraction(
                    run_id,
                    doc_id,
                    key,
                    [],
                    status="failed",
                    error=str(outcome),
                    prompt_tokens=tokens[0],
                    completion_tokens=tokens[1],
                )
                report.failed.append(f"{doc.origin or doc.external_id}: {outcome}")
                if isinstance(spent, ExtractionResult):
                    _account(spent, report)
            else:
                _record(store, run_id, doc_id, key, outcome, report)
            progress("extract", 1, None)
    finally:
        report.cost_usd = extractor.estimate_cost(report.prompt_tokens, report.completion_tokens) or 0.0
        store.finish_run(
            run_id,
            {
                "documents": len(pending),
                "extracted": report.extracted,
                "cached": report.cached,
                "failed": len(report.failed),
                "items": report.items,
                "ungrounded": report.ungrounded,
                "prefiltered": report.prefiltered,
                "tokens_saved": report.tokens_saved,
                "prompt_tokens": report.prompt_tokens,
                "completion_tokens": report.completion_tokens,
                "llm_calls": report.llm_calls,
                "cost_usd": round(report.cost_usd, 6),
            },
        )


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
