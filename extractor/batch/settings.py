"""Settings of a Batch API run: waiting, polling, the size of one batch, and its price.

Imports no HTTP client, so :mod:`followthrough.backends` can carry them for the CLI's ``--batch``
without loading ``openai`` on the offline path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from followthrough.errors import ConfigError

__all__ = ["BATCH_PRICE_FACTOR", "COMPLETION_WINDOW", "BatchSettings"]

BATCH_PRICE_FACTOR = 0.5
"""What a token costs through the Batch API, as a share of the online price (OpenAI: half)."""
COMPLETION_WINDOW: Final = "24h"
"""The one completion window the Batch API offers: a batch not done within it expires."""


@dataclass(frozen=True)
class BatchSettings:
    """How ``extract --batch`` submits and waits.

    ``wait``: poll until every open batch has ended (or ``max_wait_s`` passed); ``False``
    (``--no-wait``): submit, record what has already ended, and leave the rest open for a later run.
    ``poll_s``: seconds between two polls of the open batches. ``max_wait_s``: seconds to wait in all
    (a batch may take its whole 24 h window). ``max_requests`` and ``max_bytes``: the most requests and
    the largest JSONL file of one batch (OpenAI: 50,000 requests, 200 MB); more make more batches.
    Raises :class:`ConfigError` for a value out of range.
    """

    wait: bool = True
    poll_s: float = 30.0
    max_wait_s: float = 25 * 3600.0
    max_requests: int = 50_000
    max_bytes: int = 190 * 1024 * 1024

    def __post_init__(self) -> None:
        if not self.poll_s > 0:
            raise ConfigError(f"--poll-seconds must be above 0 (got {self.poll_s:g})")
        if not self.max_wait_s >= 0:
            raise ConfigError(f"--max-wait-seconds must be 0 or more (got {self.max_wait_s:g})")
        if self.max_requests < 1 or self.max_bytes < 1024:
            raise ConfigError("a batch must hold at least 1 request and 1 KiB")
