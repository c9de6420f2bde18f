"""A circuit breaker for one LLM endpoint: once the server cannot be reached, stop sending to it.

A batch against a server that is not running (nothing listening on the
port, a host name that does not resolve, a TLS handshake that fails) or that
accepts connections and never answers (a request that times out) would
otherwise spend every document's retries and time budget on it, one after
the other. :class:`CircuitBreaker` counts the calls that gave up because no
answer could be had (:func:`~extractor.llm_errors.no_answer`);
any answer from the server, whatever its status, starts the count over.
Once :attr:`~extractor.llm_settings.Breaker.threshold` calls in a row gave
up, the breaker is open: every call fails at once with one line that names
the endpoint (:class:`~followthrough.errors.ConfigError`, which stops a
batch: the documents not extracted stay pending for the next run), until
:attr:`~extractor.llm_settings.Breaker.cooldown_s` has passed; then calls
may try the server again, and the first that cannot connect opens the
breaker again. Shared by the threads of one
:class:`~extractor.llm_transport.ChatTransport`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from extractor.llm_errors import config_error, extraction_error
from extractor.llm_settings import Breaker
from followthrough.errors import FollowthroughError

__all__ = ["CircuitBreaker"]


class CircuitBreaker:
    """Counts calls in a row that could not connect to ``endpoint`` (a URL safe to show, no userinfo).

    ``clock``: seconds, monotonic (:func:`time.monotonic`; tests pass their own).
    """

    def __init__(
        self, settings: Breaker, endpoint: str, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.settings = settings
        self.endpoint = endpoint
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._open_until: float | None = None
        self._reason = ""

    def check(self) -> None:
        """Raise :class:`~followthrough.errors.ConfigError` while the breaker is open; else nothing."""
        with self._lock:
            if self._open_until is not None and self._clock() < self._open_until:
                raise self._down()

    def reached(self) -> None:
        """The server answered (any HTTP status): the count starts over and the breaker closes."""
        with self._lock:
            self._failures = 0
            self._open_until = None

    def gave_up(self, reason: str) -> FollowthroughError:
        """A call gave up because no connection could be made (``reason``: why, one line, redacted).

        Returns the error to raise: an :class:`~followthrough.errors.ExtractionError` for this
        document, or, once :attr:`Breaker.threshold` calls in a row gave up (the breaker opens, or
        was open), a :class:`~followthrough.errors.ConfigError` that stops the batch.
        """
        with self._lock:
            self._failures += 1
            self._reason = reason
            if self._failures < self.settings.threshold:
                return extraction_error(f"cannot reach the LLM server at {self.endpoint}: {reason}")
            self._open_until = self._clock() + self.settings.cooldown_s
            return self._down()

    def _down(self) -> FollowthroughError:
        return config_error(
            f"cannot reach the LLM server at {self.endpoint} ({self._reason}); {self._failures} "
            "requests in a row got no answer, so no more are sent: start the server or fix "
            "OPENAI_BASE_URL (the documents not extracted stay pending for the next run)"
        )
