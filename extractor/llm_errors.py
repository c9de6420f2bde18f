"""The LLM client's errors: which to retry, how long to wait, what to tell the user.

Retried (with backoff, honouring ``Retry-After``): 429 except an exhausted
quota, 408/409/425, every 5xx, timeouts and connection errors. Everything else
is final. :func:`wrap_sdk_error` turns an SDK exception into the project's own
(``raise wrap_sdk_error(e, ...) from e``): a refused key, a denied permission,
an unknown model or an exhausted quota become :class:`ConfigError` (no other
document could succeed either, so the batch stops); the rest become
:class:`ExtractionError` for this document alone.
"""

from __future__ import annotations

import email.utils
import time

import openai

from followthrough.errors import ConfigError, ExtractionError, FollowthroughError

__all__ = [
    "brief",
    "is_retryable",
    "quota_exhausted",
    "refuses_format",
    "retry_after_seconds",
    "wrap_sdk_error",
]

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
    """429 (not quota), 408/409/425, 5xx, timeouts and connection errors."""
    if isinstance(exc, openai.APITimeoutError | openai.APIConnectionError):
        return True
    if isinstance(exc, openai.APIStatusError):
        if exc.status_code == 429 and quota_exhausted(exc):
            return False
        return exc.status_code in _RETRY_STATUS or exc.status_code >= 500
    return False


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
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        message = body.get("message") or (body.get("error") or {}).get("message")
        if message:
            return str(message)[:200]
    return str(exc)[:200]


def wrap_sdk_error(exc: openai.OpenAIError, *, model: str, base_url: str) -> FollowthroughError:
    """The project error to raise (``from exc``) for an SDK error that was not retried away."""
    if isinstance(exc, openai.AuthenticationError):
        return ConfigError(f"the LLM server refused the API key ({exc.status_code}): check OPENAI_API_KEY")
    if isinstance(exc, openai.PermissionDeniedError):
        return ConfigError(f"the LLM server denied access ({exc.status_code}): {brief(exc)}")
    if isinstance(exc, openai.NotFoundError):
        return ConfigError(
            f"the LLM server at {base_url} does not know model {model!r} (or the endpoint): "
            f"set FOLLOWTHROUGH_MODEL to a model it serves ({brief(exc)})"
        )
    if isinstance(exc, openai.RateLimitError):
        if quota_exhausted(exc):
            return ConfigError("the LLM account has no quota left (insufficient_quota)")
        return ExtractionError(
            f"still rate limited when the retries or the time budget ran out: {brief(exc)}"
        )
    if isinstance(exc, openai.APIStatusError):
        return ExtractionError(f"the LLM server answered {exc.status_code}: {brief(exc)}")
    if isinstance(exc, openai.APITimeoutError):
        return ExtractionError("the LLM server did not answer in time")
    if isinstance(exc, openai.APIConnectionError):
        return ExtractionError(f"cannot reach the LLM server at {base_url}: {exc}")
    return ExtractionError(f"LLM call failed: {exc}")
