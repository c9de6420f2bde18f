"""A provider's Batch API in the OpenAI shape: upload a JSONL of requests, create a batch, poll, download.

The calls, through the same ``openai.OpenAI`` client the online backend uses (its base URL, key and
proxy credentials)::

    POST /files                 multipart: purpose=batch, file=<JSONL, one request a line>
    POST /batches               {"input_file_id", "endpoint": "/v1/chat/completions",
                                 "completion_window": "24h"}
    GET  /batches/{id}          until its status is completed, failed, expired or cancelled
    GET  /files/{id}/content    the output file (answers) and the error file (per-request errors)

The SDK retries 429, 5xx, timeouts and connection errors a few times (:data:`SDK_RETRIES`). What is
left becomes the project's own error (:func:`~extractor.llm_errors.wrap_sdk_error`): a refused key is
a :class:`~followthrough.errors.ConfigError`, as is a server with no Batch API (404 on ``/files``);
the rest is an :class:`~followthrough.errors.ExtractionError`. Messages are redacted and name the
endpoint without userinfo.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any, Final

import openai

from extractor.batch.settings import COMPLETION_WINDOW
from extractor.llm_errors import brief, config_error, wrap_sdk_error
from extractor.llm_url import safe_url
from followthrough.errors import FollowthroughError

__all__ = ["CHAT_ENDPOINT", "ENDED", "SDK_RETRIES", "BatchApi", "BatchState"]

log = logging.getLogger("followthrough.extractor.batch")

CHAT_ENDPOINT: Final = "/v1/chat/completions"
"""The endpoint every request of a batch goes to (each JSONL line's ``url``)."""
ENDED = frozenset({"completed", "failed", "expired", "cancelled"})
"""The statuses of a batch that will not change again."""
SDK_RETRIES = 3
"""Attempts the SDK makes after a 429, a 5xx, a timeout or a lost connection, with its own backoff."""
TRANSFER_TIMEOUT_S = 600.0
"""Seconds for one call: an upload or a download may be up to 200 MB."""


@dataclass(frozen=True)
class BatchState:
    """A batch as the provider reports it.

    ``status``: ``validating``, ``in_progress``, ``finalizing``, ``completed``, ``failed``,
    ``expired``, ``cancelling`` or ``cancelled``. ``output_file_id`` / ``error_file_id``: the files
    of answers and of per-request errors, once it has ended (either may be ``None``). ``errors``: why
    the provider failed the batch as a whole (validation of the input file), one line, or ``""``.
    """

    id: str
    status: str
    output_file_id: str | None = None
    error_file_id: str | None = None
    errors: str = ""

    @property
    def ended(self) -> bool:
        """Whether the batch's status is final (:data:`ENDED`)."""
        return self.status in ENDED


class BatchApi:
    """The files and batches endpoints of the server ``client`` points at (``model``: for messages)."""

    def __init__(self, client: openai.OpenAI, *, model: str) -> None:
        self.client = client.with_options(max_retries=SDK_RETRIES, timeout=TRANSFER_TIMEOUT_S)
        self.model = model
        self.endpoint = safe_url(str(client.base_url).rstrip("/"))
        """Where batches go: the base URL without userinfo (kept with each batch in the store)."""

    def submit(self, requests: IO[bytes]) -> tuple[str, BatchState]:
        """Upload ``requests`` (a JSONL file, read from its start) and create a batch of them.

        Returns the uploaded file's id and the new batch. Raises :class:`ConfigError` when the key is
        refused or the server has no Batch API, :class:`ExtractionError` for any other failure.
        """
        try:
            uploaded = self.client.files.create(
                file=("requests.jsonl", requests, "application/jsonl"), purpose="batch"
            )
            batch = self.client.batches.create(
                input_file_id=uploaded.id,
                endpoint=CHAT_ENDPOINT,
                completion_window=COMPLETION_WINDOW,
                metadata={"created_by": "followthrough"},
            )
        except openai.NotFoundError as e:
            raise config_error(
                f"the LLM server at {self.endpoint} has no Batch API (/files or /batches: {brief(e)}); "
                "run without --batch"
            ) from e
        except openai.OpenAIError as e:
            raise self._error(e) from e
        return uploaded.id, _state(batch)

    def poll(self, batch_id: str) -> BatchState:
        """The batch's state now. A batch the provider no longer knows (404) reads as ``failed``.

        Raises :class:`ConfigError` (a refused key) or :class:`ExtractionError` (the server could not
        say, after the SDK's retries: the batch is still whatever it was).
        """
        try:
            return _state(self.client.batches.retrieve(batch_id))
        except openai.NotFoundError:
            return BatchState(batch_id, "failed", errors="the LLM server no longer knows this batch")
        except openai.OpenAIError as e:
            raise self._error(e) from e

    def lines(self, file_id: str) -> Iterator[dict[str, Any]]:
        """Each JSON object of an output or error file, streamed (a line that is not one is logged and
        skipped: its request counts as unanswered). Raises as :meth:`poll` does."""
        try:
            with self.client.files.with_streaming_response.content(file_id) as response:
                for number, line in enumerate(response.iter_lines(), 1):
                    if not line.strip():
                        continue
                    try:
                        data = json.loads(line)
                    except ValueError:
                        data = None
                    if isinstance(data, dict):
                        yield data
                    else:
                        log.warning("line %d of batch file %s is not a JSON object; skipped", number, file_id)
        except openai.OpenAIError as e:
            raise self._error(e) from e

    def _error(self, e: openai.OpenAIError) -> FollowthroughError:
        return wrap_sdk_error(e, model=self.model, base_url=self.endpoint)


def _state(batch: openai.types.Batch) -> BatchState:
    """A :class:`BatchState` from the SDK's ``Batch``."""
    reasons = [
        f"line {e.line}: {e.message}" if e.line is not None else str(e.message)
        for e in ((batch.errors.data or []) if batch.errors is not None else [])
        if e.message
    ]
    return BatchState(
        id=batch.id,
        status=str(batch.status),
        output_file_id=batch.output_file_id,
        error_file_id=batch.error_file_id,
        errors="; ".join(reasons)[:500],
    )
