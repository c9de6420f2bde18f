"""``extract --batch``: pending documents through an LLM provider's Batch API, resumable across runs.

One run (:func:`extract_batched`) does, in one :class:`~followthrough.pipeline.ExtractionRun`::

    collect   poll every open batch kept in the store; one that has ended has its output and
              error files read and each of its documents recorded (ExtractionRun.record), as the
              online path records them; the batch is closed
    submit    every pending document that no open batch holds (by id and content hash): answered
              from the cache, recorded as pre-filtered, or written as requests to a JSONL file,
              uploaded, made a batch and kept in the store (many batches when one is full)
    wait      poll every ``poll_s`` seconds and collect, until no batch is open or ``max_wait_s``
              has passed (``--no-wait``: not at all)

Since batches live in the store from the moment the provider accepts them, a run that was killed,
or ran with ``--no-wait``, is picked up by the next ``extract --batch``: it collects the open
batches instead of submitting their documents again, and a document is never in two open batches.

Outcomes per document, as online: items grounded and recorded; a per-request error, a refusal or a
reply that fails validation records the document failed with the reason (it stays pending, and the
next run submits it again); a batch the provider failed as a whole fails its documents with the
provider's reason. A batch that expired (24 h) or was cancelled before a document's requests ran
records nothing for it: one line says so, and it is submitted again at once. Batches still open at
the end are one line each. Tokens are counted as the provider reports them; the run's cost is the
Batch price (:data:`~extractor.batch.settings.BATCH_PRICE_FACTOR`).
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections.abc import Sequence
from typing import IO, Any

from extractor import ExtractionFailed, ExtractionResult, Extractor
from extractor.batch.answers import Answer, read_answer
from extractor.batch.api import BatchApi, BatchState
from extractor.batch.backend import BatchExtractor
from extractor.batch.settings import BatchSettings
from extractor.openai_backend import OpenAIExtractor
from followthrough.errors import ConfigError, ExtractionError, InputError
from followthrough.pipeline import EXTRACT_BATCH, ExtractionRun, Progress, RunReport, classify_participants
from followthrough.types import SourceDocument
from store import Store

__all__ = ["extract_batched"]

log = logging.getLogger("followthrough.batch")

_Result = tuple[int, SourceDocument, ExtractionResult | ExtractionFailed]
_Held = tuple[int, str, int]
"""A document of a batch: its id, its content hash when submitted, the requests the batch holds for it."""


def extract_batched(
    store: Store,
    extractor: Extractor,
    report: RunReport,
    domains: set[str],
    settings: BatchSettings,
    progress: Progress,
) -> None:
    """Extract every pending document through the Batch API of ``extractor``'s server (see the module).

    ``extractor`` must be the LLM backend (:class:`OpenAIExtractor`; its client, model, prompt and
    pre-filter are used); another is a :class:`ConfigError`. The run is stored with ``origin``
    ``batch``. Raises :class:`ConfigError` (a refused key, a server with no Batch API) and
    :class:`~followthrough.errors.ExtractionError` (a batch could not be submitted: its documents
    stay pending); batches submitted before stay in the store for the next run.
    """
    if not isinstance(extractor, OpenAIExtractor):
        raise ConfigError(
            "--batch sends documents through an LLM provider's Batch API: use --extractor openai "
            "(with OPENAI_API_KEY, or OPENAI_BASE_URL for another OpenAI-compatible server)"
        )
    backend = BatchExtractor(extractor)
    api = BatchApi(extractor.transport.client, model=extractor.model)
    pending = store.pending_documents(backend.cache_key)
    with ExtractionRun(
        store, backend, report, domains, documents=len(pending), progress=progress, origin="batch"
    ) as run:
        progress("extract", 0, len(pending))
        batches = _Batches(store, api, backend, run, settings)
        deadline = time.monotonic() + settings.max_wait_s
        batches.collect()
        batches.submit()
        while settings.wait and batches.waiting() and time.monotonic() < deadline:
            time.sleep(max(0.0, min(settings.poll_s, deadline - time.monotonic())))
            batches.collect()
            batches.submit()  # what an expired batch left undone
        batches.note_open()


class _Batches:
    """The open batches of one cache key: collected, submitted, noted (one :func:`extract_batched`)."""

    def __init__(
        self,
        store: Store,
        api: BatchApi,
        backend: BatchExtractor,
        run: ExtractionRun,
        settings: BatchSettings,
    ) -> None:
        self.store = store
        self.api = api
        self.backend = backend
        self.run = run
        self.settings = settings
        self.key = backend.cache_key
        self.tried: set[int] = set()
        """Documents this run recorded (or failed): never submitted again by it."""
        self.elsewhere: set[str] = set()
        """Open batches submitted to another endpoint than this run's (noted once, not polled)."""

    # -- collecting ---------------------------------------------------------------------
    def collect(self) -> None:
        """Poll each open batch once; record the documents of those that have ended, and close them.

        A batch the server could not say anything about (after the SDK's retries), or whose files could
        not be read, stays open for the next poll: nothing of it is recorded until all its answers are in.
        """
        for batch in self.store.open_batches(self.key):
            if batch.endpoint != self.api.endpoint:
                self.elsewhere.add(batch.batch_id)
                continue
            try:
                state = self.api.poll(batch.batch_id)
                answers = self._answers(state) if state.ended else {}
            except ExtractionError as e:
                log.warning("batch %s stays open: %s", batch.batch_id, e)
                continue
            if state.ended:
                self._record(batch.batch_id, batch.documents, state, answers)
            self.store.batch_polled(batch.batch_id, state.status, closed=state.ended)

    def _answers(self, state: BatchState) -> dict[str, Answer]:
        """Every answer of an ended batch, by ``custom_id``: its output file, then its error file."""
        answers: dict[str, Answer] = {}
        for file_id in (state.output_file_id, state.error_file_id):
            for line in self.api.lines(file_id) if file_id else ():
                answer = read_answer(line)
                if answer is not None:
                    answers[answer.custom_id] = answer
        return answers

    def waiting(self) -> bool:
        """Whether an open batch of this endpoint is still to be collected."""
        return any(b.endpoint == self.api.endpoint for b in self.store.open_batches(self.key))

    def _record(
        self, batch_id: str, held: Sequence[_Held], state: BatchState, answers: dict[str, Answer]
    ) -> None:
        """Record each document of an ended batch (``held``: as :data:`_Held`) from its ``answers``
        (see :meth:`BatchExtractor.result`)."""
        pending = set(self.store.pending_documents(self.key))
        not_run = 0
        for start in range(0, len(held), EXTRACT_BATCH):
            group = held[start : start + EXTRACT_BATCH]
            results: list[_Result] = []
            for doc_id, content_hash, requests in group:
                doc = self._document(doc_id) if doc_id in pending else None
                if doc is None or doc.content_hash != content_hash:
                    continue  # recorded since, gone, or changed (pending again: submitted anew)
                outcome = self.backend.result(doc_id, doc, answers, requests=requests)
                if outcome is None and state.status in ("expired", "cancelled"):
                    not_run += 1
                    continue
                results.append((doc_id, doc, outcome or self._unanswered(batch_id, state)))
                self.tried.add(doc_id)
            self.run.record(results)
        if not_run:
            self.run.report.notes.append(
                InputError(
                    f"batch {batch_id}",
                    f"{state.status} before {not_run} document(s) were extracted (the Batch API runs a "
                    "batch within 24 h); they are submitted again",
                )
            )

    @staticmethod
    def _unanswered(batch_id: str, state: BatchState) -> ExtractionFailed:
        """Why a document of an ended batch has no answer to every one of its requests."""
        if state.status == "failed":
            reason = state.errors or "no reason given"
            return ExtractionFailed(f"the LLM server failed batch {batch_id}: {reason}")
        return ExtractionFailed(f"batch {batch_id} {state.status} without answering every part of it")

    def _document(self, doc_id: int) -> SourceDocument | None:
        """A stored document with its participants classified; ``None`` when it is gone."""
        try:
            return classify_participants(self.store.get_document(doc_id), self.run.domains)
        except LookupError:
            return None

    # -- submitting ---------------------------------------------------------------------
    def submit(self) -> None:
        """Submit every pending document no open batch holds and this run has not tried.

        A document with a cached extraction (the same content, extracted before) is recorded from
        the cache, one the pre-filter keeps wholly from the model is recorded as it is, and an
        unreadable one is recorded failed (all through :meth:`ExtractionRun.extract`/``record``).
        """
        held = self.store.batched_documents(self.key)
        ids = [i for i in self.store.pending_documents(self.key) if i not in held and i not in self.tried]
        with _RequestFile(self.settings) as requests:
            for start in range(0, len(ids), EXTRACT_BATCH):
                group = ids[start : start + EXTRACT_BATCH]
                alone: list[int] = []
                unsent: list[_Result] = []
                for doc_id in group:
                    try:
                        doc = classify_participants(self.store.get_document(doc_id), self.run.domains)
                    except (LookupError, ValueError, ArithmeticError):
                        alone.append(doc_id)  # ExtractionRun.extract records why it cannot be read
                        continue
                    if self.store.cached_items(doc.content_hash, self.key) is not None:
                        alone.append(doc_id)
                        continue
                    planned = self.backend.requests(doc_id, doc)
                    if not planned.lines:
                        unsent.append((doc_id, doc, planned.unsent))
                        continue
                    lines = [_encode(line) for line in planned.lines]
                    if not requests.fits(lines):
                        self._send(requests)
                    requests.add(doc_id, doc.content_hash, lines)
                self.tried.update(alone)
                self.tried.update(doc_id for doc_id, _, _ in unsent)
                self.run.extract(alone)
                self.run.record(unsent)
            if requests.documents:
                self._send(requests)

    def _send(self, requests: _RequestFile) -> None:
        """Upload one file of requests as a batch, keep it in the store, and start a new file."""
        input_file_id, state = self.api.submit(requests.rewound())
        self.store.add_batch(
            state.id,
            endpoint=self.api.endpoint,
            cache_key=self.key,
            input_file_id=input_file_id,
            status=state.status,
            documents=requests.documents,
        )
        log.info(
            "submitted batch %s: %d documents, %d requests", state.id, len(requests.documents), requests.count
        )
        requests.reset()

    def note_open(self) -> None:
        """One line for each batch still open when the run ends: the next ``extract --batch`` collects it."""
        for batch in self.store.open_batches(self.key):
            where = (
                ""
                if batch.batch_id not in self.elsewhere
                else f" at {batch.endpoint} (not this run's server)"
            )
            self.run.report.notes.append(
                InputError(
                    f"batch {batch.batch_id}",
                    f"{len(batch.documents)} document(s) still {batch.status}{where}; "
                    "`followthrough extract --batch` records them once it has ended",
                )
            )


class _RequestFile:
    """The JSONL file of one batch's requests, on disk (memory stays flat), with the documents it holds."""

    def __init__(self, settings: BatchSettings) -> None:
        self.settings = settings
        self.file: IO[bytes] = tempfile.TemporaryFile()
        self.documents: list[_Held] = []
        self.count = 0
        self.size = 0

    def __enter__(self) -> _RequestFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.file.close()

    def fits(self, lines: list[bytes]) -> bool:
        """Whether one more document's ``lines`` (JSONL, :func:`_encode`) fit this batch (an empty file
        takes any document)."""
        if not self.documents:
            return True
        size = sum(len(line) for line in lines)
        return (
            self.count + len(lines) <= self.settings.max_requests
            and self.size + size <= self.settings.max_bytes
        )

    def add(self, doc_id: int, content_hash: str, lines: list[bytes]) -> None:
        """Write one document's request ``lines`` (JSONL; its content hash: what they were built from)."""
        for line in lines:
            self.file.write(line)
            self.size += len(line)
        self.count += len(lines)
        self.documents.append((doc_id, content_hash, len(lines)))

    def rewound(self) -> IO[bytes]:
        """The file, read from its start."""
        self.file.flush()
        self.file.seek(0)
        return self.file

    def reset(self) -> None:
        """Empty the file for the next batch."""
        self.file.seek(0)
        self.file.truncate()
        self.documents, self.count, self.size = [], 0, 0


def _encode(line: dict[str, Any]) -> bytes:
    """One JSONL line (UTF-8, compact, newline-terminated)."""
    return json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
