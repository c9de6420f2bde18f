"""Reading a ``/chat/completions`` response body: the reply's text or refusal, and the usage reported.

Read leniently (servers other than OpenAI leave fields out) but never trusted: a
proxy's HTML page, JSON without ``choices``, a choice without a ``message``, or
a message with neither text nor a refusal is no answer, and raises
:class:`~extractor.llm_errors.NotAChatCompletion` (retried like a 5xx by the
transport) naming the content type and the first characters, redacted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from extractor.llm_errors import NotAChatCompletion
from followthrough.redaction import redact

__all__ = ["Completion", "RawResponse", "read_completion"]

_PREVIEW_CHARS = 120
"""How much of a body that is no completion the error quotes."""


@dataclass(frozen=True)
class Completion:
    """What a chat completion's body says: the first choice's text or refusal, and the usage (tokens)."""

    content: str | None
    refusal: str | None
    prompt_tokens: int | None
    completion_tokens: int | None


class RawResponse(Protocol):
    """The raw HTTP response the SDK hands back (``httpx`` or the SDK's own ``httpx2``)."""

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def text(self) -> str: ...

    @property
    def content(self) -> bytes: ...

    def json(self) -> Any: ...


def read_completion(raw: RawResponse) -> Completion:
    """The completion in ``raw``, or :class:`NotAChatCompletion` saying what came back instead.

    Its usage, when the body reports one, is kept on the exception (``usage``: prompt, completion).
    """
    try:
        data = raw.json()
    except ValueError:  # not JSON (an HTML page, plain text, truncated JSON)
        data = None
    usage = data.get("usage") if isinstance(data, dict) else None
    spent = (_tokens(usage, "prompt_tokens"), _tokens(usage, "completion_tokens"))
    problem: str | None = None
    content: object = None
    refusal: object = None
    if not isinstance(data, dict):
        problem = "the body is not a JSON object"
    else:
        choices = data.get("choices")
        first = choices[0] if isinstance(choices, list) and choices else None
        message = first.get("message") if isinstance(first, dict) else None
        if first is None:
            problem = "no choices"
        elif not isinstance(message, dict):
            problem = "a choice without a message"
        else:
            content, refusal = message.get("content"), message.get("refusal")
            if isinstance(content, list):  # content parts: [{"type": "text", "text": "..."}]
                parts = [p.get("text") for p in content if isinstance(p, dict)]
                content = "".join(p for p in parts if isinstance(p, str)) if parts else None
            if content is not None and not isinstance(content, str):
                problem = "the message content is not text"
            elif content is None and not (isinstance(refusal, str) and refusal):
                problem = "the message has no content"
    if problem is not None:
        raise NotAChatCompletion(
            f"the LLM server's answer was not a chat completion ({problem}; "
            f"content-type {raw.headers.get('content-type') or 'none'!r}, starts {_first_chars(raw)!r})",
            spent,
        )
    return Completion(
        content if isinstance(content, str) else None,
        refusal if isinstance(refusal, str) and refusal else None,
        *spent,
    )


def _tokens(usage: object, name: str) -> int | None:
    """A positive token count from the ``usage`` object, or ``None``."""
    value = usage.get(name) if isinstance(usage, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _first_chars(raw: RawResponse, limit: int = _PREVIEW_CHARS) -> str:
    """The start of a body, on one line, redacted (an error page may echo the request's headers)."""
    try:
        text = raw.text
    except (UnicodeDecodeError, LookupError):
        text = raw.content.decode("utf-8", "replace")
    return redact(" ".join(text[: limit * 4].split()))[:limit]
