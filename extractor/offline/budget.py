"""The offline extractor's time budget for one document.

The budget is cooperative: the extractor asks :meth:`Deadline.check` between sentences (each at
most :data:`~followthrough.limits.MAX_SENTENCE_CHARS` long, so no check is ever far off), and a
spent budget raises :class:`BudgetExceeded`, an :class:`ExtractionError`: the document is recorded
as failed with that reason and the batch goes on. No thread and no signal is involved.

The budget is ``budget_s`` given to the extractor, else ``FOLLOWTHROUGH_OFFLINE_BUDGET`` (seconds),
else :data:`~followthrough.limits.OFFLINE_BUDGET_S`.
"""

from __future__ import annotations

import math
import os
import time

from followthrough.errors import ConfigError, ExtractionError
from followthrough.limits import OFFLINE_BUDGET_S

BUDGET_ENV = "FOLLOWTHROUGH_OFFLINE_BUDGET"


class BudgetExceeded(ExtractionError):
    """The offline extractor spent its time budget of ``budget_s`` seconds on one document; ``str()``
    is the one line. A later run under a budget no larger would spend it again on the same content:
    it does not try the document again unless asked (:attr:`ExtractionError.budget_s`)."""

    def __init__(self, message: str, budget_s: float) -> None:
        super().__init__(message)
        self.budget_s = budget_s


def offline_budget_s(explicit: float | None = None) -> float:
    """Seconds per document: ``explicit``, else the environment, else the default.

    Raises :class:`ConfigError` for a value that is not a positive number of seconds.
    """
    value: float | str = explicit if explicit is not None else os.environ.get(BUDGET_ENV, "").strip()
    if value == "":
        return OFFLINE_BUDGET_S
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise ConfigError(
            f"{BUDGET_ENV}={value!r} is not a positive number of seconds: use e.g. {OFFLINE_BUDGET_S:g}"
        )
    return seconds


class Deadline:
    """The end of one document's budget of ``budget_s`` seconds, counted from creation (monotonic)."""

    __slots__ = ("budget_s", "end")

    def __init__(self, budget_s: float) -> None:
        self.budget_s = budget_s
        self.end = time.monotonic() + budget_s

    def check(self, read: int) -> None:
        """Raise :class:`BudgetExceeded` when the budget is spent; ``read``: sentences read so far."""
        if time.monotonic() > self.end:
            raise BudgetExceeded(
                f"offline extraction exceeded its {self.budget_s:g} s budget (stopped after {read:,} "
                f"sentence{'s' if read != 1 else ''}; not tried again under a budget no larger: set "
                f"{BUDGET_ENV} to allow more)",
                self.budget_s,
            )


__all__ = ["BUDGET_ENV", "BudgetExceeded", "Deadline", "offline_budget_s"]
