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
- :class:`Packing`: how many short documents share one request, and how far ahead a thread is looked for
  (:mod:`extractor.llm_packing`);
- :class:`Grounding`: how far a quote may differ from the text, and whether one the text does not hold
  is kept, flagged (:mod:`extractor.llm_items`).

:class:`OutputMode` is the closed set of ways to ask for JSON, strongest first.

Every object checks its values when it is made: one out of range (``Chunking(max_tokens=0)``,
``RateLimits(rpm=0)``) is a :class:`~followthrough.errors.ConfigError` naming the field and the range.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from extractor.grounding import DEFAULT_FUZZY_THRESHOLD
from followthrough.errors import ConfigError

__all__ = [
    "DEFAULT_CONCURRENCY",
    "MIN_CHUNK_TOKENS",
    "Backoff",
    "Breaker",
    "Chunking",
    "Grounding",
    "LlmLimits",
    "OutputMode",
    "Packing",
    "RateLimits",
]

MIN_CHUNK_TOKENS = 100
"""The smallest :attr:`Chunking.max_tokens`: a chunk holds a few sentences, not a few words."""

DEFAULT_CONCURRENCY = 8
"""Documents extracted at once by the LLM backend (``run --concurrency``,
:class:`~followthrough.backends.LlmOptions`)."""


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


def _require(ok: bool, owner: object, field: str, allowed: str) -> None:
    """Raise :class:`ConfigError` ``"LlmLimits.max_attempts must be at least 1 (got 0)"`` unless ``ok``."""
    if not ok:
        value = getattr(owner, field)
        raise ConfigError(f"{type(owner).__name__}.{field} must be {allowed} (got {value!r})")


@dataclass(frozen=True)
class LlmLimits:
    """Bounds on one document's calls to the model."""

    max_attempts: int = 6
    """Tries per call (the first included) for a retryable error: 429, 5xx, a timeout, no completion."""
    request_timeout_s: float = 60.0
    """Seconds one HTTP request may take (never more than what is left of the document's budget)."""
    max_seconds_per_doc: float = 120.0
    """Seconds one document (or one request of several short documents, :class:`Packing`) may take, waits
    for the rate limiter and retries included."""
    max_output_tokens: int = 2048
    """``max_tokens`` (or ``max_completion_tokens``) of each request."""

    def __post_init__(self) -> None:
        _require(self.max_attempts >= 1, self, "max_attempts", "at least 1")
        _require(self.request_timeout_s > 0, self, "request_timeout_s", "more than 0 seconds")
        _require(self.max_seconds_per_doc > 0, self, "max_seconds_per_doc", "more than 0 seconds")
        _require(self.max_output_tokens >= 1, self, "max_output_tokens", "at least 1")


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter between attempts: ``initial_s × 2^(n-1)``, capped at ``max_s``.

    A server's ``Retry-After`` is honoured instead, up to four times ``max_s``.
    """

    initial_s: float = 1.0
    max_s: float = 30.0

    def __post_init__(self) -> None:
        _require(self.initial_s >= 0, self, "initial_s", "0 seconds or more")
        _require(self.max_s >= self.initial_s, self, "max_s", f"at least initial_s ({self.initial_s}s)")


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

    def __post_init__(self) -> None:
        _require(self.connect_attempts >= 1, self, "connect_attempts", "at least 1")
        _require(self.threshold >= 1, self, "threshold", "at least 1")
        _require(self.cooldown_s >= 0, self, "cooldown_s", "0 seconds or more")


@dataclass(frozen=True)
class RateLimits:
    """Client-side pacing shared by every thread (``None``: not limited)."""

    rpm: int | None = None
    """Requests per minute."""
    tpm: int | None = None
    """Tokens per minute (prompt estimate plus reserved reply tokens, settled with the usage reported)."""

    def __post_init__(self) -> None:
        _require(self.rpm is None or self.rpm >= 1, self, "rpm", "at least 1, or None (not limited)")
        _require(self.tpm is None or self.tpm >= 1, self, "tpm", "at least 1, or None (not limited)")


@dataclass(frozen=True)
class Chunking:
    """How a long document is cut: chunks of at most ``max_tokens``, overlapping by ``overlap_tokens``."""

    max_tokens: int = 6000
    overlap_tokens: int = 200

    def __post_init__(self) -> None:
        _require(self.max_tokens >= MIN_CHUNK_TOKENS, self, "max_tokens", f"at least {MIN_CHUNK_TOKENS}")
        _require(
            0 <= self.overlap_tokens < self.max_tokens,
            self,
            "overlap_tokens",
            f"0 or more and less than max_tokens ({self.max_tokens})",
        )


@dataclass(frozen=True)
class Packing:
    """Several short documents per request, so the fixed prompt is paid once for all of them.

    A request holds at most ``max_documents`` documents and ``max_tokens`` tokens of their text; a
    document longer than that (or cut into chunks) is sent alone. Documents of one thread stay together,
    in the order they came, and short threads share a request; ``lookahead`` documents at most are held
    while a thread's next message is waited for (memory stays flat). ``max_documents=1``: one request per
    document.
    """

    max_documents: int = 8
    max_tokens: int = 2000
    lookahead: int = 64

    def __post_init__(self) -> None:
        _require(self.max_documents >= 1, self, "max_documents", "at least 1")
        _require(self.max_tokens >= MIN_CHUNK_TOKENS, self, "max_tokens", f"at least {MIN_CHUNK_TOKENS}")
        _require(
            self.lookahead >= self.max_documents,
            self,
            "lookahead",
            f"at least max_documents ({self.max_documents})",
        )


@dataclass(frozen=True)
class Grounding:
    """How a model's evidence quote is aligned to the document."""

    fuzzy_threshold: float = DEFAULT_FUZZY_THRESHOLD
    """Lowest similarity (0..1) for a fuzzy match; below it the quote is ungrounded."""
    keep_ungrounded: bool = False
    """Keep items whose quote the text does not hold, flagged ``ungrounded`` (dropped by default)."""

    def __post_init__(self) -> None:
        _require(0 <= self.fuzzy_threshold <= 1, self, "fuzzy_threshold", "between 0 and 1")
