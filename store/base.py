"""What every part of :class:`store.Store` builds on.

:class:`StoreCore` (the engine, a transaction per call, the writers' lock),
the ``_retry_conflicts`` decorator for writes that can race a concurrent
writer, and :class:`NotFound`.
"""

from __future__ import annotations

import functools
import logging
import os
import random
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from followthrough.errors import StoreError
from followthrough.types import TieredValue
from store.session import transaction

log = logging.getLogger("followthrough.store")


class NotFound(StoreError, LookupError):
    """No commitment, document, deal or run with that id."""


P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S", bound="StoreCore")
_CONFLICT_ATTEMPTS = 6


BUSY_ATTEMPT_S = 5.0
"""How long SQLite itself waits for a lock (``busy_timeout``) before the store reports and backs off."""
DEFAULT_LOCK_WAIT_S = 300.0
"""How long, in all, a write waits for another process's lock (env ``FOLLOWTHROUGH_LOCK_WAIT``, seconds)."""


def lock_wait_s() -> float:
    """The bound on waiting for a locked database, from ``FOLLOWTHROUGH_LOCK_WAIT`` (seconds)."""
    raw = os.environ.get("FOLLOWTHROUGH_LOCK_WAIT", "").strip()
    try:
        return max(0.0, float(raw)) if raw else DEFAULT_LOCK_WAIT_S
    except ValueError:
        return DEFAULT_LOCK_WAIT_S


def _is_busy(e: StoreError) -> bool:
    """SQLite's answer when another connection holds the write lock past ``busy_timeout``."""
    cause = e.__cause__
    return isinstance(cause, OperationalError) and "database is locked" in str(cause.orig)


def lock_holders(database: str | None) -> list[str]:
    """Other processes that have the SQLite file ``database`` open, as ``"pid 123 (sqlite3)"``.

    Read from ``/proc`` (Linux); empty where that cannot be known (another OS, another user's
    process, a database that is not a local file).
    """
    if not database or database == ":memory:" or not Path("/proc").is_dir():
        return []
    try:
        target = Path(database).resolve()
    except (OSError, RuntimeError):
        return []
    names = {str(target), f"{target}-wal", f"{target}-shm"}
    found: list[str] = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            fds = list((proc / "fd").iterdir())
            if any(os.readlink(fd) in names for fd in fds):
                command = (proc / "comm").read_text().strip()
                found.append(f"pid {proc.name} ({command})")
        except OSError:
            continue
    return found


def _is_conflict(e: StoreError) -> bool:
    """A write lost a race with another process: a unique key, a deadlock or a busy database."""
    cause = e.__cause__
    if isinstance(cause, IntegrityError):
        return True
    if isinstance(cause, OperationalError):
        code = getattr(cause.orig, "sqlstate", None)
        return code in ("40001", "40P01") or "database is locked" in str(cause.orig)
    return False


STATISTICS_TABLES = (
    "accounts",
    "contacts",
    "deals",
    "documents",
    "commitments",
    "evidence",
    "commitment_deal_links",
)
"""The tables whose statistics PostgreSQL refreshes after bulk work (the ones the listings read)."""

ITEM_STATUS_LOCK = "item-status"
"""The lock the passes that close or merge open items share (merge, split, fulfilment and answers):
each reads an item's row and its evidence in separate statements, so on PostgreSQL a concurrent run's
pass must not move evidence or change a status between them."""


class StoreCore:
    """The engine, a transaction per call, and the writers' lock; :class:`store.Store` sets them up."""

    engine: Engine
    _sessions: sessionmaker[Session]
    on_busy: Callable[[str], None] | None = None
    lock_wait: float | None = None
    """Seconds a write waits for another process's lock; ``None``: :func:`lock_wait_s` (the environment).
    The API sets a short one: a client would rather get a 503 with ``Retry-After`` than wait minutes."""
    """Told each time a write waits for another process's lock (the CLI prints it on stderr)."""
    response_hours: TieredValue | None = None
    """The response target for inbound requests, in hours by account tier, that views rank open requests
    against (``Store(url, response_hours=...)``); ``None``: their age is shown, with no target."""

    def _lock(self, s: Session, key: str) -> None:
        """Serialize concurrent writers on ``key`` until the transaction ends.

        PostgreSQL takes a transaction-scoped advisory lock; SQLite already lets
        one writer in at a time.
        """
        if self.engine.dialect.name == "postgresql":
            s.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": key})

    def _tx(self) -> AbstractContextManager[Session]:
        return transaction(self._sessions)

    def refresh_statistics(self) -> bool:
        """Give the query planner fresh statistics after bulk work (what ``run``, ``ingest`` and
        ``extract`` end with), so listings use their indexes instead of sorting every open row.

        SQLite: ``ANALYZE`` (exact statistics; an ``analysis_limit`` of 1,000 rows made "overdue"
        and "unlinked" 3-4x slower at 100k items in ``benchmarks/query.py``, so none is set; its
        load of 100k items, this included, takes 2.6 s). PostgreSQL: ``ANALYZE`` of the tables the
        listings read (sampled; autovacuum would, later). A failure (another writer holds the
        database) is logged and returns ``False``: statistics are a help, never a reason to fail
        the work already stored.
        """
        try:
            with self.engine.begin() as conn:
                if self.engine.dialect.name == "sqlite":
                    conn.exec_driver_sql("ANALYZE")
                else:
                    conn.exec_driver_sql(f"ANALYZE {', '.join(STATISTICS_TABLES)}")
        except SQLAlchemyError as e:
            log.warning("planner statistics not refreshed: %s", type(e).__name__)
            return False
        return True


def _retry_conflicts(fn: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[S, P], R]:
    """Run a write again when it lost a race with a concurrent writer.

    Each attempt is a fresh transaction that re-reads what the other writer
    committed, so the retry finds the row instead of inserting it twice.
    """

    @functools.wraps(fn)
    def wrapper(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        attempt = 0
        waited_since: float | None = None
        while True:
            try:
                return fn(self, *args, **kwargs)
            except StoreError as e:
                if _is_busy(e):
                    waited_since = _wait_for_lock(self, waited_since, e)
                    continue
                attempt += 1
                if attempt >= _CONFLICT_ATTEMPTS or not _is_conflict(e):
                    raise
                time.sleep(0.02 * attempt + random.random() * 0.03)

    return wrapper


def _wait_for_lock(store: StoreCore, since: float | None, error: StoreError) -> float:
    """Back off once for a locked database, telling ``store.on_busy``; give up past :func:`lock_wait_s`."""
    now = time.monotonic()
    since = now - BUSY_ATTEMPT_S if since is None else since
    waited = now - since
    holders = lock_holders(store.engine.url.database)
    who = f"by {', '.join(holders)}" if holders else "by another process"
    bound = lock_wait_s() if store.lock_wait is None else store.lock_wait
    if waited >= bound:
        raise StoreError(
            f"database is locked {who}; gave up after waiting {waited:.0f} s "
            "(FOLLOWTHROUGH_LOCK_WAIT sets how long to wait)"
        ) from error
    pause = min(max(1.0, waited / 4), 15.0, bound - waited)
    if store.on_busy is not None:
        store.on_busy(f"database is locked {who}; waited {waited:.0f} s, retrying in {pause:.0f} s")
    time.sleep(pause)
    return since
