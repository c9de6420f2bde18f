"""A client-side limiter for requests and tokens per minute, shared by threads.

Two token buckets (requests, tokens) refill continuously at ``limit / 60`` per
second and hold at most ``burst_seconds`` worth, so a batch runs at the
provider's rate without the bursts that trip per-second quantized limits. A
request larger than the token bucket waits until the bucket is full and then
goes into debt, so the long-run rate still holds. :meth:`RateLimiter.pause`
stops every thread until a ``Retry-After`` has passed; :meth:`settle`
corrects a reservation with the usage the server reported.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["RateLimiter", "RateLimitTimeout"]


class RateLimitTimeout(TimeoutError):
    """Waiting for capacity would pass the caller's deadline."""


class _Bucket:
    def __init__(self, per_minute: float, burst_seconds: float, now: float) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate * burst_seconds)
        self.level = self.capacity
        self.stamp = now

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait_for(self, amount: float) -> float:
        need = min(amount, self.capacity)
        return 0.0 if self.level >= need else (need - self.level) / self.rate


class RateLimiter:
    """Blocks callers so that at most ``rpm`` requests and ``tpm`` tokens go per minute."""

    def __init__(
        self,
        rpm: float | None = None,
        tpm: float | None = None,
        *,
        burst_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rpm is not None and rpm <= 0 or tpm is not None and tpm <= 0:
            raise ValueError("rpm and tpm must be positive")
        self._clock = clock
        now = clock()
        self._requests = _Bucket(rpm, burst_seconds, now) if rpm else None
        self._tokens = _Bucket(tpm, burst_seconds, now) if tpm else None
        self._paused_until = 0.0
        self._cond = threading.Condition()
        self.waited = 0.0
        """Total seconds callers spent waiting (for reports and tests)."""

    @property
    def enabled(self) -> bool:
        return self._requests is not None or self._tokens is not None

    def acquire(self, tokens: int = 0, deadline: float | None = None) -> float:
        """Wait for one request and ``tokens`` tokens; return the seconds waited.

        Raises :class:`RateLimitTimeout` when the wait would pass ``deadline``
        (a :func:`time.monotonic`-style instant of the same clock).
        """
        started = self._clock()
        with self._cond:
            while True:
                now = self._clock()
                delay = max(0.0, self._paused_until - now)
                for bucket, amount in ((self._requests, 1), (self._tokens, tokens)):
                    if bucket is not None:
                        bucket.refill(now)
                        delay = max(delay, bucket.wait_for(amount))
                if delay <= 0:
                    if self._requests is not None:
                        self._requests.level -= 1
                    if self._tokens is not None:
                        self._tokens.level -= tokens
                    waited = now - started
                    self.waited += waited
                    return waited
                if deadline is not None and now + delay > deadline:
                    raise RateLimitTimeout(f"rate limit: {delay:.1f}s wait would pass the deadline")
                self._cond.wait(timeout=delay)

    def settle(self, reserved: int, actual: int) -> None:
        """Correct a token reservation with the tokens actually used."""
        if self._tokens is None or actual == reserved:
            return
        with self._cond:
            self._tokens.refill(self._clock())
            self._tokens.level -= actual - reserved
            self._tokens.level = min(self._tokens.level, self._tokens.capacity)
            self._cond.notify_all()

    def pause(self, seconds: float) -> None:
        """Hold every caller for ``seconds`` (a server's ``Retry-After``)."""
        if seconds <= 0:
            return
        with self._cond:
            self._paused_until = max(self._paused_until, self._clock() + seconds)
