"""The LLM backend: any OpenAI-compatible ``/v1/chat/completions`` endpoint.

OpenAI, Azure OpenAI (v1 endpoint), vLLM, Ollama, llama.cpp server, LM Studio.
Documents go through these steps, each in its own module::

    chunk (tokens, on speaker/paragraph boundaries, header repeated)   extractor.chunking
      → pre-filter (offline candidate detector: chunks with nothing       extractor.llm_prefilter
        plausible are skipped)
      → pack (short documents share a request, a thread's together)      extractor.llm_packing
      → messages (system prompt for the output mode, few-shot turns,      extractor.llm_messages
        each document under its id and header)
      → rate limiter, chat completion (structured output; retries on      extractor.llm_transport
        429/5xx/timeouts, Retry-After honoured; output mode downgrade,
        parameter adaptation)
      → validate (wire schema; one re-ask with the validation error)      extractor.wire (here)
      → split the items by the document each names                        extractor.llm_packing
      → ground, confirm, flag, resolve, merge (per document)              extractor.llm_items

This module orchestrates: :class:`OpenAIExtractor` runs those steps for one
document under a time budget (:meth:`~OpenAIExtractor.run`), and for many
concurrently (:meth:`~OpenAIExtractor.run_many`), where short documents share
requests (:class:`~extractor.llm_settings.Packing`); each item is grounded in
the document it names, and each document gets its own result with its share of
the request's cost. Settings are small frozen objects (:mod:`extractor.llm_settings`);
the client is injected, or built by :func:`~extractor.llm_transport.build_client`
from the resolved configuration (:mod:`extractor.llm_config`).

Output modes (:class:`~extractor.llm_settings.OutputMode`: ``json_schema``,
``json_object``, ``text``) are tried in order, and a refusal is remembered;
every reply is validated the same way whichever mode produced it.

Grounded is not enough: a model that obeys an instruction planted in the
document quotes that very sentence. So an item is open only when the offline
detector also reads its evidence as that act; otherwise it is flagged
``unconfirmed``, and ``instruction`` too when it reads as an instruction to the
model (:mod:`extractor.llm_items`; counted as ``unconfirmed``, ``instruction_like``).

Errors: a document that still fails after its retries, its re-ask or its time
budget raises :class:`~extractor.base.ExtractionFailed` (with the tokens it
spent); ``run_many`` yields it, the pipeline records the document failed and
retries it next run. A shared request that fails is sent again document by
document (unless no connection could be made). A 200 that is no chat
completion (a proxy's HTML page, no ``choices``) is retried like a 5xx.
An unexpected exception while extracting one document fails that document too
(:meth:`~extractor.base.Extractor.run_safely`). A refused key, an unknown model
or an exhausted quota raise :class:`~followthrough.errors.ConfigError`, which
stops the batch: no other document could succeed either. Every message is
redacted (:func:`followthrough.redaction.redact`): no key, password or
``Authorization`` value reaches a log, stderr or the database.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from functools import partial
from typing import ClassVar

import openai

from extractor.base import ExtractionFailed, ExtractionResult, Extractor, unexpected
from extractor.chunking import Chunk, chunk_document
from extractor.llm_config import model_name, resolve_llm_config
from extractor.llm_errors import connect_failure, extraction_error
from extractor.llm_items import ItemBuilder
from extractor.llm_messages import LAYOUT_VERSION, Conversation, MessageBuilder, Part
from extractor.llm_packing import Entry, Packer, assign, share
from extractor.llm_prefilter import Prefilter, chunks_to_send
from extractor.llm_settings import (
    DEFAULT_CONCURRENCY,
    Backoff,
    Chunking,
    Grounding,
    LlmLimits,
    OutputMode,
    Packing,
    RateLimits,
)
from extractor.llm_transport import ChatTransport, build_client
from extractor.offline import OfflineExtractor
from extractor.pricing import estimate_cost
from extractor.wire import WireItem, WireParseError, WireResponse, parse_reply
from followthrough.errors import ConfigError, ExtractionError
from followthrough.redaction import redact
from followthrough.types import ExtractedItem, SourceDocument
from prompts.loader import Prompt, load_prompt

__all__ = ["OpenAIExtractor"]

log = logging.getLogger("followthrough.extractor.openai")

IN_FLIGHT_PER_WORKER = 2
"""Requests queued or running per worker thread: memory stays flat however long the input."""

Outcome = tuple[SourceDocument, ExtractionResult | ExtractionFailed]
"""One document and what its extraction gave (what :meth:`OpenAIExtractor.run_many` yields)."""
_BUGS = (ArithmeticError, LookupError, ValueError, TypeError, AttributeError, RecursionError)
"""Exceptions no code path foresaw: the document they happen on fails, the batch goes on."""


class OpenAIExtractor(Extractor):
    """Commitments and requests from an OpenAI-compatible chat model.

    ``client``: a configured ``openai.OpenAI`` (tests point one at a fake server; the caller closes
    it), or ``None`` to have one built from the environment (:func:`~extractor.llm_config.resolve_llm_config`,
    :func:`~extractor.llm_transport.build_client`) and closed by :meth:`close`. ``model``: the model
    to ask (default :func:`~extractor.llm_config.model_name`). Each settings object left ``None``
    takes its defaults (``packing``: how many short documents :meth:`run_many` sends per request).
    ``prefilter`` decides which chunks are sent; ``confirmer`` is the offline detector that must also
    read an item's evidence as its act (the pre-filter's when it is one, else one over ``directory``).
    ``sleep`` waits between retries (tests pass a recorder).

    Raises :class:`ConfigError` for ``concurrency`` below 1, an unknown ``mode`` or an unresolvable
    configuration (no key for OpenAI's API, a base URL that is not http(s)).
    """

    name: ClassVar[str] = "openai"

    def __init__(
        self,
        client: openai.OpenAI | None = None,
        *,
        model: str | None = None,
        prompt: Prompt | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        limits: LlmLimits | None = None,
        backoff: Backoff | None = None,
        rate_limits: RateLimits | None = None,
        chunking: Chunking | None = None,
        packing: Packing | None = None,
        grounding: Grounding | None = None,
        mode: OutputMode = OutputMode.JSON_SCHEMA,
        temperature: float | None = 0.0,
        prefilter: Prefilter | None = None,
        confirmer: OfflineExtractor | None = None,
        directory: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if concurrency < 1:
            raise ConfigError("--concurrency must be at least 1")
        limits = limits or LlmLimits()
        self._owns_client = client is None
        if client is None:
            config = resolve_llm_config(model=model)
            client, model = build_client(config, timeout_s=limits.request_timeout_s), config.model
        self._model = model_name(model)
        self.prompt = prompt or load_prompt()
        self.concurrency = concurrency
        self.limits = limits
        self.chunking = chunking or Chunking()
        self.packing = packing or Packing()
        self.prefilter = prefilter
        self.messages = MessageBuilder(self.prompt)
        self.transport = ChatTransport(
            client,
            model=self._model,
            messages=self.messages,
            limits=limits,
            backoff=backoff or Backoff(),
            rate_limits=rate_limits or RateLimits(),
            mode=mode,
            temperature=temperature,
            sleep=sleep,
        )
        names = directory if directory is not None else {}  # never `or`: a NameIndex's length reads it whole
        if confirmer is None and isinstance(prefilter, OfflineExtractor):
            confirmer = prefilter  # the same model and directory
        self.item_builder = ItemBuilder(
            grounding=grounding or Grounding(),
            confirmer=confirmer or OfflineExtractor(directory=names),
            directory=names,
        )

    # -- identity -----------------------------------------------------------------
    @property
    def model(self) -> str:
        return self._model

    @property
    def prompt_version(self) -> str:
        """The prompt file's version and the request layout (:data:`~extractor.llm_messages.LAYOUT_VERSION`):
        ``extract_v2@<hash>+layout2``. Either changing changes the cache key."""
        return f"{self.prompt.version}+layout{LAYOUT_VERSION}"

    @property
    def mode(self) -> OutputMode:
        """The output mode in use (it only ever moves to a weaker one)."""
        return self.transport.mode

    def estimate_cost(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        """Estimated USD for these tokens with this model (``None``: price unknown)."""
        return estimate_cost(self._model, prompt_tokens, completion_tokens)

    # -- one document -------------------------------------------------------------
    def extract(self, doc: SourceDocument) -> list[ExtractedItem]:
        return self.run(doc).items

    def run(self, doc: SourceDocument) -> ExtractionResult:
        """Extract one document; a failure raises :class:`ExtractionFailed` with the tokens spent on it."""
        result = ExtractionResult()
        try:
            return self._run(doc, result)
        except ExtractionFailed:
            raise
        except (ExtractionError, *_BUGS) as e:
            raise _failed(e, result) from e  # the caller names the document

    def _run(self, doc: SourceDocument, result: ExtractionResult) -> ExtractionResult:
        deadline = time.monotonic() + self.limits.max_seconds_per_doc
        chunks = chunk_document(doc, self.chunking)
        keep = chunks_to_send(self.prefilter, doc, chunks)
        replies: list[tuple[WireItem, Chunk]] = []
        for chunk, wanted in zip(chunks, keep, strict=True):
            conversation = self.messages.for_chunk(doc, chunk)
            if not wanted:
                result.tokens_saved += self.messages.estimate_prompt_tokens(conversation, self.mode)
                continue
            reply = self._ask(conversation, deadline, result)
            replies.extend((item, chunk) for item in reply.items)
        result.prefiltered = not any(keep)
        result.items = self.item_builder.build(doc, replies, result)
        return result

    def _ask(self, conversation: Conversation, deadline: float, result: ExtractionResult) -> WireResponse:
        """One chunk: a completion, validated, re-asked once on a bad reply."""
        content = self.transport.complete(conversation, deadline, result)
        try:
            return parse_reply(content)
        except WireParseError as first:
            log.info("re-asking after an invalid reply: %s", first)
            reask = self.messages.reask(conversation, content, str(first))
            content = self.transport.complete(reask, deadline, result)
            try:
                return parse_reply(content)
            except WireParseError as second:
                raise extraction_error(f"the model's reply failed validation twice: {second}") from second

    # -- many documents -------------------------------------------------------------
    def run_many(self, docs: Iterable[SourceDocument]) -> Iterator[Outcome]:
        """Extract concurrently, yielding each document as its request completes; short ones share requests.

        At most ``IN_FLIGHT_PER_WORKER × concurrency`` requests are queued or running, ``packing.lookahead``
        documents wait to be packed: memory stays flat however long ``docs`` is. A :class:`ConfigError`
        stops the batch; other failures are yielded, each document's alone.
        """
        jobs = self._jobs(iter(docs))
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="followthrough-llm")
        pending: set[Future[list[Outcome]]] = set()

        def submit_next() -> None:
            job = next(jobs, None)
            if job is not None:
                pending.add(pool.submit(job))

        try:
            for _ in range(IN_FLIGHT_PER_WORKER * self.concurrency):
                submit_next()
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    pending.discard(future)
                    outcomes = future.result()
                    submit_next()
                    yield from outcomes
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _jobs(self, docs: Iterator[SourceDocument]) -> Iterator[Callable[[], list[Outcome]]]:
        """The work for ``docs``, one callable per request (or per document needing none), in order."""
        packer = Packer(self.packing)
        for doc in docs:
            try:
                entry = self._entry(doc)
            except (ExtractionError, *_BUGS):
                entry = None  # alone, where the failure is reported as the document's
            if isinstance(entry, Entry):
                for request in packer.add(entry):
                    yield partial(self._run_request, request)
            elif entry is None:
                yield partial(self._run_alone, doc)
            else:
                yield partial(list, [(doc, entry)])
        for request in packer.flush():
            yield partial(self._run_request, request)

    def _entry(self, doc: SourceDocument) -> Entry | ExtractionResult | None:
        """``doc`` in a shared request (an :class:`Entry`), not sent (the pre-filter's result) or alone."""
        if self.packing.max_documents == 1:
            return None
        chunks = chunk_document(doc, self.chunking)
        if len(chunks) > 1 or chunks[0].tokens > self.packing.max_tokens:
            return None
        [chunk] = chunks
        if not chunks_to_send(self.prefilter, doc, chunks)[0]:
            saved = self.messages.estimate_prompt_tokens(self.messages.for_chunk(doc, chunk), self.mode)
            return ExtractionResult(prefiltered=True, tokens_saved=saved)
        return Entry(doc, chunk)

    def _run_alone(self, doc: SourceDocument) -> list[Outcome]:
        return [(doc, self.run_safely(doc))]

    def _run_request(self, entries: list[Entry]) -> list[Outcome]:
        """One request for several whole documents: each one's result, with its share of the cost. When it
        fails (retries, re-ask and time budget spent), each document is sent again alone; when no connection
        could be made, each fails with that reason."""
        if len(entries) == 1:
            return self._run_alone(entries[0].doc)
        parts = [Part(str(i + 1), e.doc, e.chunk) for i, e in enumerate(entries)]
        spent = ExtractionResult()
        sizes = [e.chunk.tokens for e in entries]
        deadline = time.monotonic() + self.limits.max_seconds_per_doc
        try:
            reply = self._ask(self.messages.for_parts(parts), deadline, spent)
        except (ExtractionError, *_BUGS) as error:
            if error.__cause__ is not None and connect_failure(error.__cause__):  # alone would fare no better
                alone: list[Outcome] = [(e.doc, _failed(error, ExtractionResult())) for e in entries]
            else:
                reason = redact(str(error))
                log.info("a request of %d documents failed (%s); sending each alone", len(entries), reason)
                alone = [(e.doc, self.run_safely(e.doc)) for e in entries]
            share(spent, [outcome for _, outcome in alone], prompt_weights=sizes, completion_weights=sizes)
            return alone
        mine, unnamed = assign(reply.items, parts)
        results = [ExtractionResult() for _ in parts]
        results[0].ungrounded += len(unnamed)  # quotes of no document: never kept
        share(spent, results, prompt_weights=sizes, completion_weights=[len(m) for m in mine])
        return [self._build(p, items, r) for p, items, r in zip(parts, mine, results, strict=True)]

    def _build(self, part: Part, items: list[WireItem], result: ExtractionResult) -> Outcome:
        """``part``'s document's items from the ones the reply gave it; an unforeseen error fails it alone."""
        try:
            result.items = self.item_builder.build(part.doc, [(w, part.chunk) for w in items], result)
        except _BUGS as e:
            return part.doc, _failed(e, result)
        return part.doc, result

    def close(self) -> None:
        if self._owns_client:
            self.transport.client.close()


def _failed(error: BaseException, spent: ExtractionResult) -> ExtractionFailed:
    """``error`` as one document's failure, the tokens ``spent`` on it kept; the message redacted."""
    if isinstance(error, ExtractionFailed):
        return error
    reason = error if isinstance(error, ExtractionError) else unexpected(error)
    return ExtractionFailed(redact(str(reason)), spent)
