"""Extract one submitted document: store it, run the extractor, record, link; off the event loop.

The batch pipeline (:func:`followthrough.pipeline.extract_pending`) extracts
every pending document; the API extracts the one it was given with the same
routine (:class:`followthrough.pipeline.ExtractionRun`): the same cache (an
unchanged document already extracted with this extractor costs no model call),
the same run record and the same linking and fulfilment detection.

Extraction is CPU work (the offline detector) or a long wait (an LLM), so
``POST /v1/documents`` never runs it on the event loop nor in the server's
shared thread pool (which the other routes, ``/healthz`` and the token check
need): :class:`ExtractionQueue` runs it on a small pool of its own, and waits
for it at most :func:`extract_timeout` seconds (``FOLLOWTHROUGH_EXTRACT_TIMEOUT``,
default :data:`DEFAULT_EXTRACT_TIMEOUT_S`). Past that the request is answered
503 with ``Retry-After``: work that has started goes on and is stored (the
same request, sent again, is answered from the store), work still queued is
dropped.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, TypeVar

from extractor import Extractor
from followthrough.errors import ConfigError, ExtractionError
from followthrough.pipeline import ExtractionRun, RunReport, classify_participants, link
from followthrough.redaction import redact
from followthrough.types import SourceDocument
from store import Store

log = logging.getLogger("followthrough.api")

T = TypeVar("T")

TIMEOUT_ENV = "FOLLOWTHROUGH_EXTRACT_TIMEOUT"
DEFAULT_EXTRACT_TIMEOUT_S = 120.0
EXTRACT_WORKERS = 2
"""Threads for extraction (one extracts at a time, the app's extraction lock; one prepares the next)."""


def extract_timeout(explicit: float | None = None) -> float:
    """Seconds a request waits for its extraction: ``explicit``, else the environment, else the default."""
    value: float | str = explicit if explicit is not None else os.environ.get(TIMEOUT_ENV, "").strip()
    if value == "":
        return DEFAULT_EXTRACT_TIMEOUT_S
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise ConfigError(
            f"{TIMEOUT_ENV}={value!r} is not a positive number of seconds: "
            f"use e.g. {DEFAULT_EXTRACT_TIMEOUT_S:g}"
        )
    return seconds


class ExtractionTimeout(Exception):
    """The extraction did not finish within the time budget; ``started`` says whether it goes on."""

    def __init__(self, seconds: float, *, started: bool) -> None:
        self.seconds = seconds
        self.started = started
        super().__init__(self.detail)

    @property
    def retry_after(self) -> int:
        return max(1, min(60, math.ceil(self.seconds / 4)))

    @property
    def detail(self) -> str:
        if self.started:
            return (
                f"the extraction did not finish within this server's time budget of {self.seconds:g} s "
                f"(set by {TIMEOUT_ENV}); it goes on and its result is stored: send the same request "
                "again later to get it (it is not stored twice)"
            )
        return (
            f"the server is busy extracting other documents and did not start this one within "
            f"{self.seconds:g} s (set by {TIMEOUT_ENV}); nothing was stored: send it again later"
        )


class ExtractionQueue:
    """A small thread pool of its own for extraction, with a time budget per request.

    :meth:`run` awaits the work without holding the event loop or a thread of
    the server's shared pool. The pool bounds how many extractions run at once
    (:data:`EXTRACT_WORKERS`); a request that waits longer than ``timeout``
    seconds raises :class:`ExtractionTimeout`, and its work is cancelled if it
    has not started, or left to finish (and be stored) if it has.
    """

    def __init__(self, timeout: float, *, workers: int = EXTRACT_WORKERS) -> None:
        self.timeout = timeout
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="followthrough-extract")
        self._pending: set[Future[Any]] = set()
        self._lock = threading.Lock()

    async def run(self, fn: Callable[[], T]) -> T:
        """``fn()`` on the pool; its result, its exception, or :class:`ExtractionTimeout`."""
        future = self._pool.submit(fn)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._forget)
        waiter = asyncio.wrap_future(future)
        done, _ = await asyncio.wait({waiter}, timeout=self.timeout)
        if waiter in done:
            return waiter.result()
        started = not future.cancel()
        if started:  # it goes on: log how it ends (and keep asyncio from warning about an unread result)
            waiter.add_done_callback(_abandoned)
        raise ExtractionTimeout(self.timeout, started=started)

    def _forget(self, future: Future[Any]) -> None:
        with self._lock:
            self._pending.discard(future)

    def close(self, grace: float) -> None:
        """Drop queued work; wait up to ``grace`` seconds for running work to finish and be stored."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            running = {f for f in self._pending if not f.done()}
        if running:
            log.info("waiting up to %g s for %d extraction(s) to be stored", grace, len(running))
            wait(running, timeout=grace)


def _abandoned(waiter: asyncio.Future[Any]) -> None:
    if waiter.cancelled():
        return
    exc = waiter.exception()
    if exc is None:
        log.info("an extraction answered 503 (over its time budget) has finished and is stored")
    else:
        log.warning("an extraction answered 503 (over its time budget) failed: %s", redact(str(exc)))


@dataclass
class Extracted:
    """One submitted document, stored and extracted: what ``POST /v1/documents`` answers from."""

    document_id: int
    changed: bool
    """Its content differs from what was stored under its (source, external id) (or it is new)."""
    new: bool
    """Nothing was stored under its (source, external id) before."""
    cached: bool
    """Its items came from an earlier extraction of the same content: no model call."""
    commitment_ids: list[int]
    ungrounded: int
    """Items the extractor returned whose evidence is not in the text (none from the cache)."""


def extract_one(store: Store, extractor: Extractor, doc: SourceDocument, domains: set[str]) -> Extracted:
    """Store ``doc`` and extract it as the batch pipeline does: one :class:`ExtractionRun` (origin ``api``),
    then its items linked to deals and fulfilments detected (:func:`~followthrough.pipeline.link`).

    A failed extraction is recorded as failed with what it spent (the document
    stays pending for the next ``followthrough extract``), the run closed
    ``failed``, and the failure raised: an :class:`ExtractionError` (502; also for
    a backend that refuses its configuration, a key or a model), or
    :class:`store.admission.Unstorable` for items the database cannot hold (422).
    """
    classify_participants(doc, domains)
    known = store.document_id(doc.source, doc.external_id) is not None
    doc_id, changed = store.add_document(doc)
    report = RunReport()
    try:
        with ExtractionRun(store, extractor, report, domains, documents=1, origin="api") as run:
            (outcome,) = run.extract([doc_id])
    except ConfigError as e:  # the backend as a whole refused (a key, a model): for this request, it failed
        raise ExtractionError(str(e)) from e
    link(store, report, domains, ids=outcome.commitment_ids, documents=[doc_id])
    if outcome.error is not None:
        raise outcome.error
    return Extracted(
        document_id=doc_id,
        changed=changed,
        new=not known,
        cached=outcome.cached,
        commitment_ids=outcome.commitment_ids,
        ungrounded=outcome.ungrounded,
    )
