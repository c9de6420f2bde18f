"""Talking to an OpenAI-compatible server: the client, one chat completion with retries, and adaptation.

:func:`build_client` is the one place an ``openai.OpenAI`` is built from a
resolved :class:`~extractor.llm_config.LLMConfig` (userinfo in the base URL
goes to the HTTP client as credentials, the SDK's own retries are off).
:class:`ChatTransport` sends one :class:`~extractor.llm_messages.Conversation`
and returns the reply's text:

* rate limiter first (RPM/TPM, shared by all threads), then
  ``POST /chat/completions``;
* retries with tenacity on what :func:`~extractor.llm_errors.is_retryable`
  says (429, 5xx, timeouts, a 200 that is no completion), waiting the
  server's ``Retry-After`` or an exponential :class:`~extractor.llm_settings.Backoff`,
  never past the document's deadline nor :attr:`LlmLimits.max_attempts`;
* fail fast on a server that cannot be reached (refused, DNS, TLS): such a
  call is tried :attr:`~extractor.llm_settings.Breaker.connect_attempts`
  times, and after a few calls in a row that could not connect, the
  endpoint's :class:`~extractor.llm_breaker.CircuitBreaker` fails every call
  at once with a :class:`ConfigError` that names the endpoint;
* output mode downgrade: a server that refuses ``response_format`` (or
  answers 501) gets the next :class:`~extractor.llm_settings.OutputMode`,
  remembered for every later request;
* parameter adaptation: a server that refuses ``max_tokens`` (reasoning
  models want ``max_completion_tokens``) or a set temperature gets the
  request without it, remembered too.

Errors: an SDK error that was not retried away becomes the project's own
(:func:`~extractor.llm_errors.wrap_sdk_error`: :class:`ConfigError` for a
refused key or unknown model, :class:`ExtractionError` for this document);
every message is redacted. The tokens each call spent are added to the
caller's :class:`~extractor.base.ExtractionResult` as they happen, so a
document that fails still reports them.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import openai
from tenacity import RetryCallState, Retrying, retry_if_exception

from extractor.base import ExtractionResult
from extractor.chat_completion import read_completion
from extractor.llm_breaker import CircuitBreaker
from extractor.llm_config import LLMConfig
from extractor.llm_errors import (
    NotAChatCompletion,
    brief,
    extraction_error,
    is_retryable,
    no_answer,
    refuses_format,
    retry_after_seconds,
    wrap_sdk_error,
)
from extractor.llm_messages import Conversation, MessageBuilder
from extractor.llm_settings import Backoff, Breaker, LlmLimits, OutputMode, RateLimits
from extractor.llm_url import safe_url, split_userinfo
from extractor.ratelimit import RateLimiter, RateLimitTimeout
from extractor.token_count import count_tokens
from followthrough.errors import ConfigError

__all__ = ["ChatTransport", "build_client", "REPLY_TOKENS_RESERVED"]

log = logging.getLogger("followthrough.extractor.openai")

REPLY_TOKENS_RESERVED = 512
"""Reply tokens the rate limiter reserves per request (or ``max_output_tokens`` if lower); settled after."""
RETRY_AFTER_CAP = 4
"""A server's ``Retry-After`` is honoured up to this many times :attr:`Backoff.max_s`."""
_ADJUSTMENTS = len(OutputMode) + 2
"""Resends a request may need: each mode downgrade and each parameter adjustment happens at most once."""


def build_client(config: LLMConfig, *, timeout_s: float = LlmLimits.request_timeout_s) -> openai.OpenAI:
    """An ``openai.OpenAI`` for ``config``: ``timeout_s`` per request, SDK retries off (ours retry).

    Userinfo in the base URL (a proxy's basic auth) goes to the HTTP client as credentials, not in the
    URL: the SDK and httpx print the URL in logs and errors.
    """
    url, auth = split_userinfo(config.base_url)
    return openai.OpenAI(
        api_key=config.api_key,
        base_url=url,
        max_retries=0,
        timeout=timeout_s,
        http_client=openai.DefaultHttpxClient(auth=auth) if auth is not None else None,
    )


class _Resend(Exception):
    """The server refused a parameter (response_format, max_tokens, temperature); it was adjusted."""


class ChatTransport:
    """One model on one server: sends conversations, retrying and adapting; shared by threads.

    ``breaker``: when the server counts as down (default :class:`Breaker`). Raises :class:`ConfigError`
    for a ``mode`` that is no :class:`OutputMode`.
    """

    def __init__(
        self,
        client: openai.OpenAI,
        *,
        model: str,
        messages: MessageBuilder,
        limits: LlmLimits,
        backoff: Backoff,
        rate_limits: RateLimits,
        mode: OutputMode,
        temperature: float | None,
        breaker: Breaker | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.model = model
        self.messages = messages
        self.limits = limits
        self.backoff = backoff
        self.limiter = RateLimiter(rpm=rate_limits.rpm, tpm=rate_limits.tpm)
        self.breaker = CircuitBreaker(breaker or Breaker(), safe_url(str(client.base_url).rstrip("/")))
        self._sleep = sleep
        self._lock = threading.Lock()  # guards the adapted state below
        try:
            self._mode = OutputMode(mode)  # an untyped caller's "json_object" is accepted too
        except ValueError as e:
            choices = ", ".join(OutputMode)
            raise ConfigError(f"unknown output mode {mode!r}: choose one of {choices}") from e
        self._max_tokens_key = "max_tokens"
        self._temperature = temperature

    @property
    def mode(self) -> OutputMode:
        """The output mode in use (it only ever moves to :meth:`OutputMode.fallback`)."""
        return self._mode

    def complete(self, conversation: Conversation, deadline: float, spent: ExtractionResult) -> str | None:
        """The reply's text for ``conversation`` (``deadline``: a :func:`time.monotonic` instant).

        Adds each call and its tokens to ``spent``. Raises :class:`ExtractionError` (this document) or
        :class:`ConfigError` (no document can succeed: a refused key, an unknown model, a server that
        cannot be reached) once retries, adjustments or time run out, or at once while the endpoint
        counts as down.
        """
        for _ in range(_ADJUSTMENTS):
            try:
                return self._with_retries(conversation, deadline, spent)
            except _Resend:
                continue
        raise extraction_error("the LLM server kept refusing the request's parameters")

    # -- retries ------------------------------------------------------------------
    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        after = retry_after_seconds(exc) if exc is not None else None
        if after is not None:
            return min(after, self.backoff.max_s * RETRY_AFTER_CAP) + random.uniform(0, 0.1 * max(after, 0.1))
        exp: float = self.backoff.initial_s * 2.0 ** (state.attempt_number - 1)
        return min(self.backoff.max_s, exp) + random.uniform(0, self.backoff.initial_s)

    def _with_retries(
        self, conversation: Conversation, deadline: float, spent: ExtractionResult
    ) -> str | None:
        def stop(state: RetryCallState) -> bool:
            upcoming = state.upcoming_sleep or 0.0
            exc = state.outcome.exception() if state.outcome else None
            unreachable = exc is not None and no_answer(exc) is not None
            attempts = self.breaker.settings.connect_attempts if unreachable else self.limits.max_attempts
            return state.attempt_number >= attempts or time.monotonic() + upcoming >= deadline

        retrying = Retrying(
            retry=retry_if_exception(is_retryable),
            wait=self._wait,
            stop=stop,
            sleep=self._sleep,
            reraise=True,
            before_sleep=lambda s: log.info(
                "retrying after %s (attempt %d)",
                type(s.outcome.exception()).__name__ if s.outcome else "?",
                s.attempt_number,
            ),
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._call_once(conversation, deadline, spent)
        except _Resend:
            raise
        except RateLimitTimeout as e:
            raise extraction_error(
                f"time budget of {self.limits.max_seconds_per_doc:g}s spent waiting: {e}"
            ) from e
        except NotAChatCompletion as e:
            raise extraction_error(str(e)) from e
        except openai.OpenAIError as e:
            reason = no_answer(e)
            if reason is not None:
                raise self.breaker.gave_up(reason) from e
            raise wrap_sdk_error(e, model=self.model, base_url=safe_url(self.client.base_url)) from e
        raise AssertionError("unreachable")  # pragma: no cover

    # -- one call -----------------------------------------------------------------
    def request_body(self, conversation: Conversation, mode: OutputMode) -> dict[str, Any]:
        """The JSON body of ``POST /chat/completions`` for ``conversation`` in ``mode`` (also each line of a
        Batch API request file, :mod:`extractor.batch.backend`)."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [self.messages.system(mode), *conversation.messages],
            self._max_tokens_key: self.limits.max_output_tokens,
        }
        if self._temperature is not None:
            body["temperature"] = self._temperature
        response_format = self.messages.response_format(mode)
        if response_format is not None:
            body["response_format"] = response_format
        return body

    def _call_once(self, conversation: Conversation, deadline: float, spent: ExtractionResult) -> str | None:
        self.breaker.check()  # another thread may have found the server down while this one waited
        mode = self._mode
        prompt_estimate = self.messages.estimate_prompt_tokens(conversation, mode)
        reserved = prompt_estimate + min(self.limits.max_output_tokens, REPLY_TOKENS_RESERVED)
        self.limiter.acquire(reserved, deadline)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise extraction_error(f"time budget of {self.limits.max_seconds_per_doc:g}s spent")
        body = self.request_body(conversation, mode)
        spent.llm_calls += 1
        try:
            # POST /chat/completions through the client (auth, base URL, Azure routing, error
            # mapping) without ``chat.completions.create``'s TypedDict transform of the params,
            # which costs ~20 ms of CPU per call with few-shot messages and caps throughput.
            # The raw response: its body is checked here (a 200 may be a proxy's error page).
            raw = self.client.post(
                "/chat/completions",
                cast_to=httpx.Response,
                body=body,
                options={"timeout": min(self.limits.request_timeout_s, max(1.0, remaining))},
            )
        except (openai.BadRequestError, openai.UnprocessableEntityError) as e:
            self.breaker.reached()
            if self._adjust_parameters(e):
                raise _Resend from e
            if mode is not OutputMode.TEXT and refuses_format(e):
                self._downgrade(mode, e)
                raise _Resend from e
            raise
        except openai.APIStatusError as e:
            self.breaker.reached()
            if e.status_code == 429:
                self.limiter.pause(retry_after_seconds(e) or self.backoff.initial_s)
            if e.status_code == 501 and mode is not OutputMode.TEXT:
                self._downgrade(mode, e)
                raise _Resend from e
            raise
        self.breaker.reached()
        try:
            completion = read_completion(raw)
        except NotAChatCompletion as e:
            prompt, reply = e.usage[0] or 0, e.usage[1] or 0  # what the answer says it cost, if any
            self._account(spent, reserved, prompt, reply)
            raise
        prompt_tokens = completion.prompt_tokens or prompt_estimate
        completion_tokens = completion.completion_tokens or count_tokens(completion.content or "")
        self._account(spent, reserved, prompt_tokens, completion_tokens)
        if completion.refusal:
            raise extraction_error(f"the model refused: {completion.refusal}")
        return completion.content

    def _account(
        self, spent: ExtractionResult, reserved: int, prompt_tokens: int, completion_tokens: int
    ) -> None:
        """Add a call's tokens to ``spent`` and settle the limiter's reservation with them."""
        spent.prompt_tokens += prompt_tokens
        spent.completion_tokens += completion_tokens
        self.limiter.settle(reserved, prompt_tokens + completion_tokens)

    # -- adaptation ---------------------------------------------------------------
    def _adjust_parameters(self, exc: openai.APIStatusError) -> bool:
        """Reasoning models (o-series, gpt-5) refuse ``max_tokens`` and a set temperature."""
        text = str(exc).lower()
        with self._lock:
            if (
                "max_tokens" in text
                and "max_completion_tokens" in text
                and self._max_tokens_key == "max_tokens"
            ):
                self._max_tokens_key = "max_completion_tokens"
            elif "temperature" in text and self._temperature is not None:
                self._temperature = None
            else:
                return False
        log.warning("the server refused a parameter (%s); adjusted and resending", brief(exc))
        return True

    def _downgrade(self, mode: OutputMode, exc: Exception) -> None:
        with self._lock:
            fallback = mode.fallback()
            if self._mode is mode and fallback is not None:
                self._mode = fallback
                log.warning(
                    "the server refused response_format %s (%s); using %s from now on",
                    mode,
                    brief(exc),
                    self._mode,
                )
