"""One line of a batch's output or error file: the request it answers, and its completion or error.

An output line (OpenAI's shape)::

    {"custom_id": "doc-17-part-0", "response": {"status_code": 200, "body": <chat completion>}, "error": null}

An error line carries a ``response`` whose ``status_code`` is not 200 (its ``body`` holds the
server's ``error``), or ``"response": null`` and an ``error`` with a ``code`` and a ``message``
(``batch_expired``: the 24 h window ended before the request ran). A 200 body is read by
:func:`~extractor.chat_completion.read_completion`, the online path's reader: a body that is no chat
completion is an error here too. Every message is redacted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from extractor.chat_completion import Completion, read_completion
from extractor.llm_errors import NotAChatCompletion
from followthrough.redaction import redact

__all__ = ["NOT_RUN", "Answer", "read_answer"]

NOT_RUN = frozenset({"batch_expired", "batch_cancelled"})
"""Error codes of a request the batch never ran (it expired or was cancelled first)."""


@dataclass(frozen=True)
class Answer:
    """What a batch says about one request: its completion, or why there is none.

    ``error``: one line, redacted (``None`` with a completion). ``not_run``: the batch ended before
    the request ran (:data:`NOT_RUN`): nothing was spent, the document may be submitted again.
    ``spent``: the prompt and completion tokens an error says it cost, when it says so.
    """

    custom_id: str
    completion: Completion | None = None
    error: str | None = None
    not_run: bool = False
    spent: tuple[int, int] = (0, 0)


class _Body:
    """A JSON body as :func:`read_completion` reads a raw HTTP response (headers, text, json())."""

    headers: Mapping[str, str] = {"content-type": "application/json"}

    def __init__(self, body: object) -> None:
        self._body = body

    @property
    def text(self) -> str:
        return json.dumps(self._body)

    @property
    def content(self) -> bytes:
        return self.text.encode()

    def json(self) -> Any:
        return self._body


def read_answer(line: Mapping[str, Any]) -> Answer | None:
    """The answer a line gives, or ``None`` for a line that names no request (no ``custom_id``)."""
    custom_id = line.get("custom_id")
    if not isinstance(custom_id, str):
        return None
    response = line.get("response")
    if isinstance(response, dict) and response.get("status_code") == 200:
        try:
            return Answer(custom_id, completion=read_completion(_Body(response.get("body"))))
        except NotAChatCompletion as e:
            return Answer(custom_id, error=str(e), spent=(e.usage[0] or 0, e.usage[1] or 0))
    if isinstance(response, dict):
        status = response.get("status_code")
        return Answer(
            custom_id, error=redact(f"the LLM server answered {status}: {_message(response.get('body'))}")
        )
    error = line.get("error")
    code = error.get("code") if isinstance(error, dict) else None
    return Answer(
        custom_id,
        error=redact(f"{code or 'error'}: {_message({'error': error})}"),
        not_run=code in NOT_RUN,
    )


def _message(body: object) -> str:
    """The server's own message in an error body (``{"error": {"message": ...}}``), short."""
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else error if isinstance(error, str) else None
    return str(message or "no message")[:300]
