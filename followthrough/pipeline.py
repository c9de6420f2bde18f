"""A pipeline run: ingest → extract → link, with counts for the report.

The pipeline is the only place that sees connectors, extractor and store at
once. It never loses a document: each one is stored before extraction, a
failed extraction is recorded as failed (and picked up by the next run), and
results are cached by (content hash, extractor cache key) so unchanged input
costs nothing the second time.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import date
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import assert_never

from connectors.base import Yields
from extractor import ExtractionFailed, ExtractionResult, Extractor
from extractor.offline.budget import BUDGET_ENV
from followthrough import digests, ingest
from followthrough.crm_reader import admitted_chunks
from followthrough.errors import ExtractionError, InputError, StoreError
from followthrough.limits import (
    MAX_BODY_CHARS,
    MAX_ITEMS_PER_DOCUMENT,
    MAX_PARTICIPANTS,
    MAX_PROBLEMS_PER_EXPORT,
)
from followthrough.redaction import redact
from followthrough.types import ExtractionStatus, RunStatus, SourceDocument, is_internal
from store import InputFile, NotFound, Recording, Store, Unstorable

Progress = Callable[[str, int, int | None], None]
"""``progress(stage, advance, total)``: called as work gets done."""

DocumentReader = Callable[[Sequence[ingest.Input], list[InputError], date | None], Iterable[SourceDocument]]
"""``read(inputs, errors, undated)``: the documents of ``inputs`` in their order, problems appended to
``errors`` (:func:`read_in_order` here; ``followthrough.distributed.Cluster.read`` on a Ray cluster)."""


def read_in_order(
    inputs: Sequence[ingest.Input], errors: list[InputError], undated: date | None
) -> Iterator[SourceDocument]:
    """Each input's documents in turn, read in this process (:func:`followthrough.ingest.documents`)."""
    for item in inputs:
        yield from ingest.documents(item, errors, undated)


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
    unchanged_inputs: int = 0
    """Inputs not read again: their content is what an earlier run read whole (their documents count
    as seen)."""
    crm: dict[str, int] = field(default_factory=dict)
    errors: list[InputError] = field(default_factory=list)
    skipped: list[InputError] = field(default_factory=list)
    notes: list[InputError] = field(default_factory=list)
    """Things a user should know that did not stop reading (a meeting dated by its file's mtime)."""
    extracted: int = field(default=0, metadata=_STAT)
    cached: int = field(default=0, metadata=_STAT)
    failed: list[str] = field(default_factory=list, metadata=_STAT)
    """One line per document that failed: where it came from and why (stored as a count)."""
    over_budget: int = field(default=0, metadata=_STAT)
    """Of ``failed``, the documents that ran out of the offline time budget (a fault of the document's
    size, not of a backend: a run whose every failure is one of these is partial, not failed)."""
    held: list[str] = field(default_factory=list, metadata=_STAT)
    """One line per document held back: its unchanged content ran out of a time budget no smaller
    than this run's on an earlier run (reported then), so it is not tried again (``--retry-failed``
    tries it). Not a problem of this run: it does not change the exit code (stored as a count)."""
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
        return (
            self.documents_seen > 0
            or sum(self.crm.values()) > 0
            or self.unchanged_inputs > 0  # read whole by an earlier run: read, and its lines reported
            or self.inputs > len(self.errors)
        )

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
    read: DocumentReader = read_in_order,
) -> None:
    """Read every input into the store, in :class:`Yields` order: CRM records first, so domains are known.

    ``undated``: the day for meetings whose files carry no date (``run --date``).
    ``follow_symlinks``: read what links inside a folder point to outside it.
    ``read``: what reads the documents (this process, or a Ray cluster's workers); storing is here.
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
                _store_documents(store, inputs, report, company, progress, undated, read)
            case _:
                assert_never(yields)


def _store_documents(
    store: Store,
    inputs: list[ingest.Input],
    report: RunReport,
    domains: set[str],
    progress: Progress,
    undated: date | None,
    read: DocumentReader,
) -> None:
    """Read and store the documents of ``inputs``; the first of two that disagree about one message wins.

    An input whose digest (:mod:`followthrough.digests`) is the one recorded when it was last read
    whole is not read again: its documents count as seen and its problem lines are reported as
    they were. Each input read here to the end is recorded with its digest.
    """
    how = digests.reading(domains, undated)
    sums = {_key(item): digests.digest(item, how) for item in inputs}
    unread, unchanged = _unchanged(store, inputs, sums)
    for last in unchanged:
        report.documents_seen += last.documents
        _replay(last, report)
    if not unread:
        return
    marks = _marks(report)
    counts = _read_documents(store, unread, report, domains, progress, undated, read)
    _remember(store, unread, sums, report, marks, counts)


def _unchanged(
    store: Store,
    inputs: list[ingest.Input],
    sums: dict[str, str | None],
    bind: Callable[[str], str] = lambda digest: digest,
) -> tuple[list[ingest.Input], list[InputFile]]:
    """``inputs`` split into those to read and the records of those unchanged: recorded as read whole
    with the digest ``bind`` makes of theirs now (:mod:`followthrough.digests`)."""
    known = store.input_files(list(sums))
    unread: list[ingest.Input] = []
    unchanged: list[InputFile] = []
    for item in inputs:
        last, digest = known.get(_key(item)), sums[_key(item)]
        if last is not None and digest is not None and last.digest == bind(digest):
            unchanged.append(last)
        else:
            unread.append(item)
    return unread, unchanged


def _replay(last: InputFile, report: RunReport) -> None:
    """An input skipped as unchanged: counted, and the problem lines its reading gave reported again."""
    report.unchanged_inputs += 1
    for kind, where, problem in last.problems:
        _PROBLEM_LISTS[kind](report).append(InputError(where, problem))


def _marks(report: RunReport) -> dict[str, int]:
    """How many problem lines each list of ``report`` holds now (where this reading's lines start)."""
    return {kind: len(of(report)) for kind, of in _PROBLEM_LISTS.items()}


def _remember(
    store: Store,
    inputs: list[ingest.Input],
    sums: dict[str, str | None],
    report: RunReport,
    marks: dict[str, int],
    counts: dict[str, int],
    *,
    state: str | None = None,
) -> None:
    """Record each of ``inputs`` as read whole, with its digest (combined with ``state``, the CRM's,
    for an export), its documents and the problem lines it gave since ``marks``. Nothing is
    recorded when a line names no input (it could not be reported again)."""
    problems = {kind: of(report)[marks[kind] :] for kind, of in _PROBLEM_LISTS.items()}
    done: list[InputFile] = []
    for item in inputs:
        digest = sums[_key(item)]
        if digest is None:
            continue
        path = str(item.path)
        mine = [
            (kind, e.path, e.problem)
            for kind, lines in problems.items()
            for e in lines
            if _owned(e.path, path)
        ]
        key = digest if state is None else digests.combined(digest, state)
        done.append(InputFile(_key(item), key, counts.get(path, 0), mine))
    claimed = sum(len(f.problems) for f in done)
    if claimed == sum(len(lines) for lines in problems.values()):  # each line has its input
        store.remember_inputs(done)


_PROBLEM_LISTS: dict[str, Callable[[RunReport], list[InputError]]] = {
    "errors": lambda r: r.errors,
    "skipped": lambda r: r.skipped,
    "notes": lambda r: r.notes,
}
"""The report's lists of problem lines, by the name an input's record keeps them under."""


def _key(item: ingest.Input) -> str:
    """The path an input is recorded under: absolute, as named (not resolved)."""
    return str(item.path.absolute())


def _owned(where: str, path: str) -> bool:
    """Whether a problem line's ``where`` is about the input at ``path`` (the path or a part of it)."""
    if not where.startswith(path):
        return False
    rest = where[len(path) : len(path) + 1]
    return not rest or not (rest.isalnum() or rest in "._-")  # "mail.mbox#3", "export/", "notes.md: …"


def _read_documents(
    store: Store,
    inputs: list[ingest.Input],
    report: RunReport,
    domains: set[str],
    progress: Progress,
    undated: date | None,
    read: DocumentReader,
) -> dict[str, int]:
    """Read and store the documents of ``inputs``; how many each input (by its path) gave."""
    paths = sorted((str(item.path) for item in inputs), key=len, reverse=True)
    counts: dict[str, int] = {}
    seen: dict[tuple[str, str], tuple[str, str]] = {}
    batch: list[SourceDocument] = []
    for doc in read(inputs, report.errors, undated):
        owner = next((p for p in paths if _owned(doc.origin, p)), None)
        if owner is not None:
            counts[owner] = counts.get(owner, 0) + 1
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
        report.notes.extend(cut_notes(doc))
        if doc.source == "email" and doc.metadata.get("date_source") in ("file_mtime", "unknown"):
            report.notes.append(
                InputError(
                    _where(doc),
                    "no readable Date header (nor Received, nor mbox From_ line); dated by the "
                    f"file's modification time {doc.occurred_at.date().isoformat()}",
                )
            )
        batch.append(classify_participants(doc, domains))
        if len(batch) >= STORE_BATCH:
            _store_batch(store, batch, report, progress)
    _store_batch(store, batch, report, progress)
    return counts


STORE_BATCH = 500
"""Documents stored per transaction while reading: one query finds which are already stored, the
new ones are inserted in bulk."""


DocumentSaver = Callable[[list[SourceDocument]], Sequence[tuple[int, bool] | Unstorable]]
"""``save(documents)``: stores a batch, per document ``(id, changed)`` or its :class:`Unstorable`
(:meth:`Store.add_documents`; a live source's runner also saves its cursor in the same transaction)."""


def ingest_documents(
    store: Store,
    documents: Sequence[SourceDocument],
    report: RunReport,
    domains: set[str],
    *,
    save: DocumentSaver | None = None,
    progress: Progress = _no_progress,
) -> None:
    """Store documents that come from elsewhere than a file (a live source) as ``run`` stores a file's:
    participants classified by the company ``domains``, a note for a body cut at the limit, each
    document counted (seen, new) or one line in ``report.errors`` why it was not stored.

    ``save``: what stores the batch (default :meth:`Store.add_documents`), called once even when
    ``documents`` is empty (a live source saves its cursor with it). Pass a few hundred at a time.
    """
    batch: list[SourceDocument] = []
    for doc in documents:
        report.notes.extend(cut_notes(doc))
        batch.append(classify_participants(doc, domains))
    _store_batch(store, batch, report, progress, save=save, always=True)


def _store_batch(
    store: Store,
    batch: list[SourceDocument],
    report: RunReport,
    progress: Progress,
    *,
    save: DocumentSaver | None = None,
    always: bool = False,
) -> None:
    """Store the documents read so far (and empty ``batch``): each one stored, or one line why not.
    ``save``: what stores them (default :meth:`Store.add_documents`); ``always``: call it even for none."""
    if not batch and not always:
        return
    for doc, result in zip(batch, (save or store.add_documents)(batch), strict=True):
        if isinstance(result, Unstorable):
            report.errors.append(InputError(_where(doc), f"not stored: {result}"))
            continue
        report.documents_seen += 1
        report.documents_new += int(result[1])
    progress("ingest", len(batch), None)
    batch.clear()


def cut_notes(doc: SourceDocument) -> list[InputError]:
    """The notes for what a connector cut from ``doc`` at a limit (its body, its people)."""
    notes: list[InputError] = []
    if doc.metadata.get("truncated") == "true":
        notes.append(
            InputError(
                _where(doc), f"body cut at {MAX_BODY_CHARS:,} characters (the limit); the rest not read"
            )
        )
    if doc.metadata.get("participants_cut") == "true":
        notes.append(
            InputError(
                _where(doc),
                f"more than {MAX_PARTICIPANTS:,} people in its address headers (the limit); "
                f"the first {MAX_PARTICIPANTS:,} kept",
            )
        )
    return notes


def _where(doc: SourceDocument) -> str:
    """The file (and message) a document came from, for one error line."""
    return _where_of(doc.origin, doc.external_id)


def _where_of(origin: str, external_id: str) -> str:
    """:func:`_where` of a document's ``origin`` and ``external_id``."""
    origin = origin or external_id
    ident = external_id if len(external_id) <= 80 else external_id[:77] + "..."
    return origin if external_id in origin else f"{origin} (message {ident})"


def _store_crm(store: Store, inputs: list[ingest.Input], report: RunReport) -> None:
    """Read and store every CRM export a chunk at a time (one transaction each: memory stays flat
    whatever the export's size); a record the database cannot hold is one line, never the file.

    An export read whole before, unchanged since, while no import changed the CRM tables
    (:meth:`Store.crm_state`), is not read again: its problem lines are reported as they were."""
    sums = {_key(item): digests.digest(item, digests.reading((), None)) for item in inputs}
    state = store.crm_state()
    # read whole before, and no import changed the CRM since: its rows are all there
    unread, unchanged = _unchanged(store, inputs, sums, lambda digest: digests.combined(digest, state))
    for last in unchanged:
        _replay(last, report)
    marks = _marks(report)
    with store.crm_import() as importing:  # a row this import adds or changes is counted once
        for item in unread:
            shown = hidden = 0
            for crm, problems in admitted_chunks(item):
                room = max(0, MAX_PROBLEMS_PER_EXPORT - shown)
                report.errors.extend(problems[:room])
                shown, hidden = shown + min(room, len(problems)), hidden + max(0, len(problems) - room)
                if not (crm.accounts or crm.contacts or crm.deals):
                    continue
                try:
                    counts = importing.upsert(crm)
                except Unstorable as e:
                    report.errors.append(InputError(item.path, f"CRM records not stored: {e}"))
                    continue
                for key, n in counts.items():
                    report.crm[key] = report.crm.get(key, 0) + n
            if hidden:
                report.errors.append(
                    InputError(
                        item.path,
                        f"{hidden:,} more problem lines not shown (the first {MAX_PROBLEMS_PER_EXPORT:,} "
                        "are; the limit)",
                    )
                )
    if unread:
        _remember(store, unread, sums, report, marks, {}, state=store.crm_state())


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
        self.recorded: list[int] = []
        """Documents whose items this run recorded (extracted or from the cache)."""
        self.commitments: list[int] = []
        """The (grounded) commitments those items became, in the order recorded (repeats possible)."""

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
        """Extract one batch of stored documents; what became of each, cached ones first.

        The batch's documents are read back in one query and their participants
        classified by the company domains; those whose content has a cached
        extraction under the extractor's key (one query) are recorded from the
        cache, then the extractor runs on the rest (:meth:`Extractor.run_many`)
        and the results are recorded together (:meth:`record`): nothing is
        written to the store while the extractor still reads its input. The
        batch is held in memory whole: pass at most :data:`EXTRACT_BATCH` ids.
        """
        outcomes: list[DocumentOutcome] = []
        readable: list[tuple[int, SourceDocument]] = []
        stored = self.store.get_documents(doc_ids)
        for doc_id in doc_ids:
            got = stored.get(doc_id)
            if not isinstance(got, SourceDocument):
                error = got or NotFound(f"no document with id {doc_id}")
                outcomes.append(
                    self._fail(doc_id, f"document {doc_id}", error, f"cannot read it back: {error}")
                )
                continue
            readable.append((doc_id, classify_participants(got, self.domains)))
        cache = self.store.cached_items_many({doc.content_hash for _, doc in readable}, self.key)
        hits = [
            (i, d, ExtractionResult(items=list(cache[d.content_hash])))
            for i, d in readable
            if d.content_hash in cache
        ]
        outcomes.extend(self._record_all(hits, cached=True))
        fresh = [doc for _, doc in readable if doc.content_hash not in cache]
        ids = {(doc.external_id, doc.source): i for i, doc in readable}
        results = [
            (ids[doc.external_id, doc.source], doc, out) for doc, out in self.extractor.run_many(fresh)
        ]
        outcomes.extend(self.record(results))
        return outcomes

    def record(
        self, results: Sequence[tuple[int, SourceDocument, ExtractionResult | ExtractionFailed]]
    ) -> list[DocumentOutcome]:
        """Record results an extractor produced elsewhere (a provider's Batch API, Ray workers).

        ``results``: ``(document id, the document as extracted, its result or failure)``;
        recorded exactly as :meth:`extract` records its own (grounded items stored, a failure
        marks the document ``failed`` with what the attempt spent), in one transaction. What
        became of each: failures first, then the rest in order.
        """
        outcomes: list[DocumentOutcome] = []
        done: list[tuple[int, SourceDocument, ExtractionResult]] = []
        for doc_id, doc, outcome in results:
            if isinstance(outcome, ExtractionFailed):
                outcomes.append(self._fail(doc_id, _where(doc), outcome, str(outcome), outcome.spent))
            else:
                done.append((doc_id, doc, outcome))
        outcomes.extend(self._record_all(done, cached=False))
        return outcomes

    def _record_all(
        self, results: Sequence[tuple[int, SourceDocument, ExtractionResult]], *, cached: bool
    ) -> list[DocumentOutcome]:
        """Store the documents' items in one go; cached results cost nothing and count as ``cached``.
        A document's items past :data:`~followthrough.limits.MAX_ITEMS_PER_DOCUMENT` are left out,
        with one line in ``report.notes``."""
        recordings: list[Recording] = []
        for doc_id, doc, r in results:
            items = r.items
            if len(items) > MAX_ITEMS_PER_DOCUMENT:
                items = items[:MAX_ITEMS_PER_DOCUMENT]
                self.report.notes.append(
                    InputError(
                        _where(doc),
                        f"{len(r.items):,} items found; kept the first {MAX_ITEMS_PER_DOCUMENT:,} (the limit "
                        "for one document)",
                    )
                )
            recordings.append(
                Recording(doc_id, items, prompt_tokens=r.prompt_tokens, completion_tokens=r.completion_tokens)
            )
        outcomes: list[DocumentOutcome] = []
        stored = self.store.record_extractions(self.run_id, self.key, recordings)
        for (doc_id, doc, result), got in zip(results, stored, strict=True):
            if isinstance(got, Unstorable):
                outcomes.append(self._fail(doc_id, _where(doc), got, f"items not stored: {got}", result))
                continue
            if cached:
                self.report.cached += 1
            else:
                self.report.extracted += 1
            self.report.items += len(result.items)
            _account(result, self.report)
            self.recorded.append(doc_id)
            self.commitments.extend(got)
            outcomes.append(DocumentOutcome(doc_id, got, cached=cached, ungrounded=result.ungrounded))
        if results:
            self.progress("extract", len(results), None)
        return outcomes

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
                budget_s=error.budget_s if isinstance(error, ExtractionError) else None,
            )
        except Unstorable:
            pass  # the reason itself could not be stored; the report still names it
        self.report.failed.append(f"{where}: {reason}")
        if isinstance(error, ExtractionError) and error.budget_s is not None:
            self.report.over_budget += 1
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
    *,
    retry_failed: bool = False,
) -> ExtractionRun:
    """Extract every document that has no successful extraction under the extractor's key.

    One :class:`ExtractionRun` over the pending documents, :data:`EXTRACT_BATCH` at a time;
    returned (closed) so that :func:`link` can look at what it recorded
    (:attr:`ExtractionRun.recorded`, :attr:`ExtractionRun.commitments`). A document whose unchanged
    content ran out of a time budget at least as large as the backend's (:attr:`Extractor.budget_s`)
    on an earlier run is not tried again but is one line in ``report.held``, unless ``retry_failed``.
    """
    budget_s = None if retry_failed else extractor.budget_s
    pending = store.pending_documents(extractor.cache_key, budget_s)
    if budget_s is not None:
        report.held.extend(
            f"{_where_of(h.origin, h.external_id)}: ran out of its {h.budget_s:g} s offline time budget "
            f"on an earlier run; not tried again under a budget no larger (raise {BUDGET_ENV}, or pass "
            "--retry-failed)"
            for h in store.held_documents(extractor.cache_key, budget_s)
        )
    with ExtractionRun(store, extractor, report, domains, documents=len(pending), progress=progress) as run:
        progress("extract", 0, len(pending))
        for start in range(0, len(pending), EXTRACT_BATCH):
            run.extract(pending[start : start + EXTRACT_BATCH])
    return run


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
    fulfilled, answered = store.close_delivered_and_answered(domains, documents=documents)
    report.fulfilled += fulfilled
    report.answered += answered
    report.merged += store.merge_duplicates(ids=ids)
