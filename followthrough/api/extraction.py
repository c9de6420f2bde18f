"""Extract one submitted document: store it, run the extractor, record, link; off the event loop.

The batch pipeline (:func:`followthrough.pipeline.extract_pending`) extracts
every pending document; the API extracts the one it was given, in the same
steps and with the same cache: an unchanged document already extracted with
this extractor costs no model call.

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

from extractor.base import Extractor
from followthrough.errors import ConfigError, ExtractionError
from followthrough.pipeline import classify_participants
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
    document_id: int
    changed: bool
    new: bool
    cached: bool
    commitment_ids: list[int]
    ungrounded: int


def extract_one(store: Store, extractor: Extractor, doc: SourceDocument, domains: set[str]) -> Extracted:
    """Store ``doc``, extract it (or reuse a cached extraction), record the items and link them.

    A failed extraction is recorded as failed (the document stays pending for
    the next ``followthrough extract``) and re-raised as :class:`ExtractionError`.
    """
    classify_participants(doc, domains)
    known = store.document_id(doc.source, doc.external_id) is not None
    doc_id, changed = store.add_document(doc)
    key = extractor.cache_key
    run_id = store.start_run(
        extractor=extractor.name, model=extractor.model, prompt_version=extractor.prompt_version
    )
    cached_items = store.cached_items(doc.content_hash, key)
    prompt_tokens = completion_tokens = 0
    ungrounded = 0
    if cached_items is not None:
        items = cached_items
    else:
        try:
            try:
                result = extractor.run(doc)
            except ExtractionError:
                raise
            except Exception as e:  # a backend bug or an answer nobody foresaw: the backend failed
                log.error(
                    "the %s extractor failed on document %d: %s",
                    extractor.name,
                    doc_id,
                    redact(f"{type(e).__name__}: {e}"),
                )
                raise ExtractionError(
                    f"the {extractor.name} extractor failed unexpectedly ({type(e).__name__})"
                ) from e
        except ExtractionError as e:
            store.record_extraction(run_id, doc_id, key, [], status="failed", error=redact(str(e)))
            store.finish_run(run_id, {"status": "failed", "origin": "api"})
            raise
        items = result.items
        prompt_tokens, completion_tokens = result.prompt_tokens, result.completion_tokens
        ungrounded = result.ungrounded
    ids = store.record_extraction(
        run_id, doc_id, key, items, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
    )
    ungrounded += sum(1 for i in items if not i.grounded)
    store.finish_run(run_id, {"cached": int(cached_items is not None), "origin": "api"})
    store.link_commitments(domains, ids=ids)
    return Extracted(
        document_id=doc_id,
        changed=changed,
        new=not known,
        cached=cached_items is not None,
        commitment_ids=ids,
        ungrounded=ungrounded,
    )
