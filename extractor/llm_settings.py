"""The LLM backend's settings: small frozen objects with named defaults, as httpx's ``Timeout``/``Limits``.

Each object groups the knobs of one job, so :class:`~extractor.openai_backend.OpenAIExtractor` takes
a handful of them instead of two dozen keyword arguments, and a caller that changes one value writes
``LlmLimits(max_attempts=3)`` and keeps the other defaults:

- :class:`LlmLimits`: attempts per call, seconds per request and per document, tokens per reply
  (:mod:`extractor.llm_transport`);
- :class:`Backoff`: the wait between attempts, unless the server sends ``Retry-After``
  (:mod:`extractor.llm_transport`);
- :class:`Breaker`: how soon a server that cannot be reached counts as down (:mod:`extractor.llm_breaker`);
- :class:`RateLimits`: requests and tokens per minute, all threads together (:mod:`extractor.ratelimit`);
- :class:`Chunking`: the size of one chunk of a long document and the overlap (:mod:`extractor.chunking`);
- :class:`Grounding`: how far a quote may differ from the text, and whether one the text does not hold
  is kept, flagged (:mod:`extractor.llm_items`).

:class:`OutputMode` is the closed set of ways to ask for JSON, strongest first.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from extractor.grounding import DEFAULT_FUZZY_THRESHOLD

__all__ = ["Backoff", "Breaker", "Chunking", "Grounding", "LlmLimits", "OutputMode", "RateLimits"]


class OutputMode(StrEnum):
    """How the reply's JSON shape is asked for; a server that refuses one gets the next, for good.

    ``JSON_SCHEMA``: strict structured output (``response_format`` json_schema). ``JSON_OBJECT``: JSON
    mode, the schema in the system prompt. ``TEXT``: no ``response_format``, the schema in the prompt only.
    """

    JSON_SCHEMA = "json_schema"
    JSON_OBJECT = "json_object"
    TEXT = "text"

    def fallback(self) -> OutputMode | None:
        """The next weaker mode, or ``None`` after ``TEXT``."""
        modes = list(OutputMode)
        index = modes.index(self) + 1
        return modes[index] if index < len(modes) else None


@dataclass(frozen=True)
class LlmLimits:
    """Bounds on one document's calls to the model."""

    max_attempts: int = 6
    """Tries per call (the first included) for a retryable error: 429, 5xx, a timeout, no completion."""
    request_timeout_s: float = 60.0
    """Seconds one HTTP request may take (never more than what is left of the document's budget)."""
    max_seconds_per_doc: float = 120.0
    """Seconds one document may take, waits for the rate limiter and retries included."""
    max_output_tokens: int = 2048
    """``max_tokens`` (or ``max_completion_tokens``) of each request."""


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter between attempts: ``initial_s × 2^(n-1)``, capped at ``max_s``.

    A server's ``Retry-After`` is honoured instead, up to four times ``max_s``.
    """

    initial_s: float = 1.0
    max_s: float = 30.0


@dataclass(frozen=True)
class Breaker:
    """Failing fast when the server cannot be reached: nothing listening, a DNS or TLS failure.

    Such a call is tried ``connect_attempts`` times (the first included, :class:`Backoff` apart), not
    :attr:`LlmLimits.max_attempts`. Once ``threshold`` calls in a row gave up that way, the endpoint
    counts as down: every call fails at once, without a request, for ``cooldown_s`` seconds; then calls
    may try again (a long-running server recovers), and the first that cannot connect opens it again.
    """

    connect_attempts: int = 2
    """Tries per call while the connection cannot be made."""
    threshold: int = 3
    """Calls in a row that could not connect after which the endpoint counts as down."""
    cooldown_s: float = 30.0
    """Seconds the endpoint counts as down before a call may try it again."""


@dataclass(frozen=True)
class RateLimits:
    """Client-side pacing shared by every thread (``None``: not limited)."""

    rpm: int | None = None
    """Requests per minute."""
    tpm: int | None = None
    """Tokens per minute (prompt estimate plus reserved reply tokens, settled with the usage reported)."""


@dataclass(frozen=True)
class Chunking:
    """How a long document is cut: chunks of at most ``max_tokens``, overlapping by ``overlap_tokens``."""

    max_tokens: int = 6000
    overlap_tokens: int = 200


@dataclass(frozen=True)
class Grounding:
    """How a model's evidence quote is aligned to the document."""

    fuzzy_threshold: float = DEFAULT_FUZZY_THRESHOLD
    """Lowest similarity (0..1) for a fuzzy match; below it the quote is ungrounded."""
    keep_ungrounded: bool = False
    """Keep items whose quote the text does not hold, flagged ``ungrounded`` (dropped by default)."""
