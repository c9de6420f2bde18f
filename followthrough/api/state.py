"""What the running app holds: the store, the API tokens, the extractor and its queue, the clock."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from fastapi import Request

from extractor import Extractor
from followthrough.api.extraction import DEFAULT_EXTRACT_TIMEOUT_S, ExtractionQueue
from store import ApiTokens, Store


@dataclass
class ApiState:
    store: Store
    api_tokens: ApiTokens
    extractor: Extractor
    domains: set[str]
    fixed_as_of: date | None = None
    extraction_lock: threading.Lock = field(default_factory=threading.Lock)
    """One extraction at a time: the extractor and the recording of its items are not run concurrently."""
    extractions: ExtractionQueue = field(default_factory=lambda: ExtractionQueue(DEFAULT_EXTRACT_TIMEOUT_S))
    """Where ``POST /v1/documents`` runs its work: off the event loop, within a time budget."""

    def as_of(self) -> date:
        """Today (UTC), or the date the app was started with."""
        return self.fixed_as_of or datetime.now(UTC).date()


def api_state(request: Request) -> ApiState:
    st = request.app.state.api
    assert isinstance(st, ApiState)
    return st
