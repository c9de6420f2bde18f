"""The online LLM backend's requests, sent through a Batch API, and each document's result read back.

:class:`BatchExtractor` wraps an :class:`~extractor.openai_backend.OpenAIExtractor` and uses its
parts, so a document extracted through a batch is asked and read exactly as online:

* :meth:`BatchExtractor.requests`: the document is chunked, pre-filtered and each chunk's messages
  built by the online backend's :class:`~extractor.llm_messages.MessageBuilder`; each chunk sent is
  one JSONL line whose body is the online request's
  (:meth:`~extractor.llm_transport.ChatTransport.request_body`), ``custom_id`` naming the document
  and the chunk (:func:`custom_id`);
* :meth:`BatchExtractor.result`: each chunk's answer is validated (:func:`~extractor.wire.parse_reply`)
  and the items grounded, confirmed and resolved by the online backend's
  :class:`~extractor.llm_items.ItemBuilder`, with the tokens the batch reports.

What differs from online: no re-ask (a reply that fails validation fails the document, which stays
pending), and the price: :meth:`BatchExtractor.estimate_cost` is the online estimate times
:data:`~extractor.batch.settings.BATCH_PRICE_FACTOR`. The cache key is the online backend's: a
result is the same whichever way it came.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from extractor.base import ExtractionFailed, ExtractionResult, Extractor, unexpected
from extractor.batch.answers import Answer
from extractor.batch.api import CHAT_ENDPOINT
from extractor.batch.settings import BATCH_PRICE_FACTOR
from extractor.chunking import Chunk, chunk_document
from extractor.llm_errors import extraction_error
from extractor.llm_prefilter import chunks_to_send
from extractor.openai_backend import OpenAIExtractor
from extractor.token_count import count_tokens
from extractor.wire import WireItem, WireParseError, parse_reply
from followthrough.errors import ExtractionError
from followthrough.redaction import redact
from followthrough.types import ExtractedItem, SourceDocument

__all__ = ["BatchExtractor", "DocumentRequests", "custom_id"]


def custom_id(doc_id: int, part: int) -> str:
    """The ``custom_id`` of the request for chunk ``part`` (from 0) of stored document ``doc_id``."""
    return f"doc-{doc_id}-part-{part}"


@dataclass
class DocumentRequests:
    """One document's batch requests (JSONL objects), and what it cost before any was sent.

    ``lines`` empty: the pre-filter kept every chunk from the model, and ``unsent`` (no items,
    ``prefiltered``, the tokens saved) is the document's result as it is.
    """

    lines: list[dict[str, Any]] = field(default_factory=list)
    unsent: ExtractionResult = field(default_factory=ExtractionResult)


class BatchExtractor(Extractor):
    """An :class:`OpenAIExtractor`'s requests for the Batch API, and its results read from the answers.

    Same name, model, prompt version and cache key as ``online``; the cost estimate is the Batch
    price. :meth:`extract` (one document alone, outside a batch) asks ``online``.
    """

    name: ClassVar[str] = OpenAIExtractor.name

    def __init__(self, online: OpenAIExtractor) -> None:
        self.online = online

    @property
    def model(self) -> str:
        return self.online.model

    @property
    def prompt_version(self) -> str:
        return self.online.prompt_version

    def estimate_cost(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        """Estimated USD for these tokens at the Batch price (``None``: the model's price is unknown)."""
        online = self.online.estimate_cost(prompt_tokens, completion_tokens)
        return None if online is None else online * BATCH_PRICE_FACTOR

    def extract(self, doc: SourceDocument) -> list[ExtractedItem]:
        return self.online.extract(doc)

    def close(self) -> None:
        self.online.close()

    # -- submitting -------------------------------------------------------------------
    def requests(self, doc_id: int, doc: SourceDocument) -> DocumentRequests:
        """The batch requests of stored document ``doc_id`` (``doc``): one per chunk the pre-filter sends."""
        online = self.online
        out = DocumentRequests()
        chunks = chunk_document(doc, online.chunking)
        keep = chunks_to_send(online.prefilter, doc, chunks)
        for chunk, wanted in zip(chunks, keep, strict=True):
            conversation = online.messages.for_chunk(doc, chunk)
            if not wanted:
                out.unsent.tokens_saved += online.messages.estimate_prompt_tokens(conversation, online.mode)
                continue
            out.lines.append(
                {
                    "custom_id": custom_id(doc_id, chunk.index),
                    "method": "POST",
                    "url": CHAT_ENDPOINT,
                    "body": online.transport.request_body(conversation, online.mode),
                }
            )
        out.unsent.prefiltered = not any(keep)
        return out

    # -- reading back -----------------------------------------------------------------
    def result(
        self, doc_id: int, doc: SourceDocument, answers: Mapping[str, Answer], *, requests: int
    ) -> ExtractionResult | ExtractionFailed | None:
        """Document ``doc_id``'s result from the batch's ``answers`` (by ``custom_id``), of which
        ``requests`` are its own; ``None`` when the batch did not answer every one of them (it ended
        first, or the document's chunks are no longer those submitted): nothing to record.

        Items are grounded and resolved as online. A per-request error, a refusal, or a reply that
        fails validation is an :class:`ExtractionFailed` with the reason and every token the
        document's answers report (each answer of the batch was paid for).
        """
        online = self.online
        result = ExtractionResult()
        chunks = chunk_document(doc, online.chunking)
        mine = [(chunk, answers.get(custom_id(doc_id, chunk.index))) for chunk in chunks]
        answered = [(chunk, answer) for chunk, answer in mine if answer is not None]
        if len(answered) != requests or any(answer.not_run for _, answer in answered):
            return None
        problem: ExtractionError | None = None
        replies: list[tuple[WireItem, Chunk]] = []
        try:
            for chunk, answer in mine:
                conversation = online.messages.for_chunk(doc, chunk)
                if answer is None:  # the pre-filter kept it from the model
                    result.tokens_saved += online.messages.estimate_prompt_tokens(conversation, online.mode)
                    continue
                result.llm_calls += 1
                completion = answer.completion
                if completion is None:
                    result.prompt_tokens += answer.spent[0]
                    result.completion_tokens += answer.spent[1]
                    problem = problem or extraction_error(
                        f"{answer.error} (batch request {answer.custom_id})"
                    )
                    continue
                result.prompt_tokens += completion.prompt_tokens or online.messages.estimate_prompt_tokens(
                    conversation, online.mode
                )
                result.completion_tokens += completion.completion_tokens or count_tokens(
                    completion.content or ""
                )
                if completion.refusal:
                    problem = problem or extraction_error(f"the model refused: {completion.refusal}")
                    continue
                try:
                    reply = parse_reply(completion.content)
                except WireParseError as e:
                    problem = problem or extraction_error(f"the model's reply failed validation: {e}")
                    continue
                replies.extend((item, chunk) for item in reply.items)
            if problem is not None:
                return ExtractionFailed(str(problem), result)
            result.items = online.item_builder.build(doc, replies, result)
        except (ArithmeticError, LookupError, ValueError, TypeError, AttributeError, RecursionError) as e:
            # A bug, or a value no code path foresaw: this document fails, the tokens it cost are kept.
            return ExtractionFailed(redact(str(unexpected(e))), result)
        return result
