"""What every part of :class:`store.Store` builds on.

:class:`StoreCore` (the engine, a transaction per call, the writers' lock),
the ``_retry_conflicts`` decorator for writes that can race a concurrent
writer, and :class:`NotFound`.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from followthrough.errors import StoreError
from store.session import transaction


class NotFound(StoreError, LookupError):
    """No commitment, document, deal or run with that id."""


P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S", bound="StoreCore")
_CONFLICT_ATTEMPTS = 6


def _is_conflict(e: StoreError) -> bool:
    """A write lost a race with another process: a unique key, a deadlock or a busy database."""
    cause = e.__cause__
    if isinstance(cause, IntegrityError):
        return True
    if isinstance(cause, OperationalError):
        code = getattr(cause.orig, "sqlstate", None)
        return code in ("40001", "40P01") or "database is locked" in str(cause.orig)
    return False


class StoreCore:
    """The engine, a transaction per call, and the writers' lock; :class:`store.Store` sets them up."""

    engine: Engine
    _sessions: sessionmaker[Session]

    def _lock(self, s: Session, key: str) -> None:
        """Serialize concurrent writers on ``key`` until the transaction ends.

        PostgreSQL takes a transaction-scoped advisory lock; SQLite already lets
        one writer in at a time.
        """
        if self.engine.dialect.name == "postgresql":
            s.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": key})

    def _tx(self) -> AbstractContextManager[Session]:
        return transaction(self._sessions)


def _retry_conflicts(fn: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[S, P], R]:
    """Run a write again when it lost a race with a concurrent writer.

    Each attempt is a fresh transaction that re-reads what the other writer
    committed, so the retry finds the row instead of inserting it twice.
    """

    @functools.wraps(fn)
    def wrapper(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        for attempt in range(_CONFLICT_ATTEMPTS):
            try:
                return fn(self, *args, **kwargs)
            except StoreError as e:
                if attempt == _CONFLICT_ATTEMPTS - 1 or not _is_conflict(e):
                    raise
                time.sleep(0.02 * (attempt + 1) + random.random() * 0.03)
        raise AssertionError("unreachable")

    return wrapper
