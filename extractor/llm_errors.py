"""The LLM client's errors: which to retry, how long to wait, what to tell the user.

Retried (with backoff, honouring ``Retry-After``): 429 except an exhausted
quota, 408/409/425, every 5xx, timeouts and connection errors, and a 200 whose
body is not a chat completion (:class:`NotAChatCompletion`: a proxy's HTML
error page, JSON without ``choices``). Everything else is final. A connection
that cannot be made at all (:func:`connect_failure`: refused, DNS, TLS) is
retried only briefly (:class:`~extractor.llm_settings.Breaker`).
:func:`wrap_sdk_error` turns an SDK exception into the project's own
(``raise wrap_sdk_error(e, ...) from e``): a refused key, a denied permission,
an unknown model or an exhausted quota become :class:`ConfigError` (no other
document could succeed either, so the batch stops); the rest become
:class:`ExtractionError` for this document alone.

Every message built here passes through :func:`followthrough.redaction.redact`,
and a base URL is shown without its userinfo (:func:`extractor.llm_url.safe_url`): an upstream
error that echoes the ``Authorization`` header, or ``https://user:pw@host``,
never reaches a log line, stderr or the database.
"""

from __future__ import annotations

import email.utils
import time

import openai

from extractor.llm_url import safe_url
from followthrough.errors import ConfigError, ExtractionError, FollowthroughError
from followthrough.redaction import redact

__all__ = [
    "NotAChatCompletion",
    "brief",
    "config_error",
    "connect_failure",
    "no_answer",
    "extraction_error",
    "is_retryable",
    "quota_exhausted",
    "refuses_format",
    "retry_after_seconds",
    "wrap_sdk_error",
]


class NotAChatCompletion(Exception):
    """The server answered 200 with something that is not a chat completion (retried, then fatal).

    ``str(err)`` says what came back: its content type and its first characters, redacted. ``usage``
    is what the answer says it cost (prompt, completion tokens), when it says so.
    """

    def __init__(self, message: str, usage: tuple[int | None, int | None] = (None, None)) -> None:
        super().__init__(redact(message))
        self.usage = usage


def extraction_error(message: str) -> ExtractionError:
    """An :class:`ExtractionError` whose message is redacted."""
    return ExtractionError(redact(message))


def config_error(message: str) -> ConfigError:
    """A :class:`ConfigError` whose message is redacted."""
    return ConfigError(redact(message))


_RETRY_STATUS = frozenset({408, 409, 425, 429})


def retry_after_seconds(exc: BaseException) -> float | None:
    """Seconds a server asked us to wait (``retry-after-ms`` / ``retry-after``), if any."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        if parsed is None:
            return None
        return max(0.0, parsed.timestamp() - time.time())


def quota_exhausted(exc: BaseException) -> bool:
    body = getattr(exc, "body", None)
    code = body.get("code") if isinstance(body, dict) else getattr(exc, "code", None)
    return code == "insufficient_quota"


def is_retryable(exc: BaseException) -> bool:
    """429 (not quota), 408/409/425, 5xx, timeouts, connection errors, and a 200 that is no completion."""
    if isinstance(exc, openai.APITimeoutError | openai.APIConnectionError | NotAChatCompletion):
        return True
    if isinstance(exc, openai.APIStatusError):
        if exc.status_code == 429 and quota_exhausted(exc):
            return False
        return exc.status_code in _RETRY_STATUS or exc.status_code >= 500
    return False


_CONNECT_ERRORS = frozenset({"ConnectError", "ConnectTimeout"})
"""What httpx, httpx2 (the SDK's client from openai 3) and httpcore call a connection not made."""


def connect_failure(exc: BaseException) -> str | None:
    """Why no connection to the server could be made, or ``None`` when ``exc`` is not that.

    A connection refused (nothing listening), a host name that does not resolve, a TLS handshake
    that fails, a connect that times out: the SDK raises :class:`openai.APIConnectionError` (or its
    :class:`openai.APITimeoutError`) from the HTTP client's ``ConnectError`` / ``ConnectTimeout``;
    the reason is that error's text (``"[Errno 111] Connection refused"``), redacted. A server that
    answered, or a read that timed out, is no connect failure: the server is there.
    """
    if not isinstance(exc, openai.APIConnectionError):
        return None
    cause = exc.__cause__
    while cause is not None:
        if type(cause).__name__ in _CONNECT_ERRORS:
            return redact(str(cause) or "the connection timed out")[:200]
        cause = cause.__cause__
    return None


def no_answer(exc: BaseException) -> str | None:
    """Why the server gave no answer: a connect failure (:func:`connect_failure`), or a request that
    timed out after the connection was made (a server that accepts and never answers); else ``None``.

    Both mean the server is not serving: :class:`~extractor.llm_breaker.CircuitBreaker` counts them.
    """
    reason = connect_failure(exc)
    if reason is None and isinstance(exc, openai.APITimeoutError):
        return "the server accepted the connection but did not answer in time"
    return reason


def refuses_format(exc: openai.APIStatusError) -> bool:
    text = str(exc).lower()
    if "context" in text and ("length" in text or "window" in text or "too long" in text):
        return False
    return any(
        word in text
        for word in (
            "response_format",
            "json_schema",
            "json schema",
            "schema",
            "json_object",
            "grammar",
            "format",
        )
    )


def brief(exc: BaseException) -> str:
    """The server's own message for an error, short and redacted (it may echo the request's headers)."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error")
        message = body.get("message") or (error.get("message") if isinstance(error, dict) else None)
        if message:
            return redact(str(message))[:200]
    return redact(str(exc))[:200]


def wrap_sdk_error(exc: openai.OpenAIError, *, model: str, base_url: str) -> FollowthroughError:
    """The project error to raise (``from exc``) for an SDK error that was not retried away."""
    url = safe_url(base_url)
    if isinstance(exc, openai.AuthenticationError):
        return config_error(f"the LLM server refused the API key ({exc.status_code}): check OPENAI_API_KEY")
    if isinstance(exc, openai.PermissionDeniedError):
        return config_error(f"the LLM server denied access ({exc.status_code}): {brief(exc)}")
    if isinstance(exc, openai.NotFoundError):
        return config_error(
            f"the LLM server at {url} does not know model {model!r} (or the endpoint): "
            f"set FOLLOWTHROUGH_MODEL to a model it serves ({brief(exc)})"
        )
    if isinstance(exc, openai.RateLimitError):
        if quota_exhausted(exc):
            return config_error("the LLM account has no quota left (insufficient_quota)")
        return extraction_error(
            f"still rate limited when the retries or the time budget ran out: {brief(exc)}"
        )
    if isinstance(exc, openai.APIStatusError):
        return extraction_error(f"the LLM server answered {exc.status_code}: {brief(exc)}")
    if isinstance(exc, openai.APITimeoutError):
        return extraction_error("the LLM server did not answer in time")
    if isinstance(exc, openai.APIConnectionError):
        return extraction_error(f"cannot reach the LLM server at {url}: {connect_failure(exc) or brief(exc)}")
    return extraction_error(f"LLM call failed: {brief(exc)}")
