"""The :class:`Store`: one object over one database, used by the CLI, the API and the pipeline.

The class is assembled from one part per job, each a class over
:class:`store.base.StoreCore` (the engine, a transaction per call, the
writers' lock and conflict retries):

- :class:`store.fulfilments.FulfilmentStore`: delivered items, answered requests
  (over :class:`store.crm.CrmStore`, whose name directory it reads)
- :class:`store.crm.CrmStore`: accounts, contacts and deals; the name directory
- :class:`store.documents.DocumentStore`: source documents and the people seen in them
- :class:`store.runs.RunStore`: extraction runs, the extraction cache, recording items
- :class:`store.deal_links.LinkStore`: automatic deal linking
- :class:`store.commitments.CommitmentStore`: listings, edits, export
- :class:`store.deals.DealStore`: deals with their counts
- :class:`store.accounts.AccountStore`: accounts with their deals, items, last touches; silent ones
  (over :class:`store.crm.CrmStore` and :class:`store.deals.DealStore`)
- :class:`store.lookup.LookupStore`: people, deals and accounts found the way people type them
- :class:`store.merges.MergeStore`: one promise seen in several sources merged into one; split again
- :class:`store.batches.BatchStore`: batches submitted to an LLM provider's Batch API, open until recorded
- :class:`store.inputs.InputStore`: inputs read whole, so that a re-run skips those unchanged
- :class:`store.dashboard.DashboardStore`: the dashboard's review queue, threads, deals' last touch
- :class:`store.notifications.NotificationStore`: what each owner was told about each item, per channel
- :class:`store.sources.SourceStore`: live sources' cursors, saved with the batch they follow
- :class:`store.crm_tasks.CrmTaskStore`: commitments pushed to a CRM as tasks (``crm push``)

This module opens the database (applying the migrations) and closes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from followthrough.errors import StoreError
from followthrough.types import TieredValue
from store import migrate
from store.accounts import AccountStore
from store.base import BUSY_ATTEMPT_S, NotFound
from store.batches import BatchStore
from store.commitments import CommitmentStore
from store.crm import CrmStore, restore_indexes
from store.crm_tasks import CrmTaskStore
from store.dashboard import DashboardStore
from store.deal_links import LinkStore
from store.deals import DealStore
from store.documents import DocumentStore
from store.fulfilments import FulfilmentStore
from store.inputs import InputStore
from store.lookup import LookupStore
from store.merges import MergeStore
from store.notifications import NotificationStore
from store.queries import deal_ref
from store.runs import RunStore
from store.sources import SourceStore


def normalize_url(url: str) -> str:
    """``postgres://`` and ``postgresql://`` mean psycopg 3 here (psycopg2 is not installed)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _safe(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid URL>"


class Store(
    FulfilmentStore,
    AccountStore,
    CrmStore,
    DocumentStore,
    RunStore,
    LinkStore,
    CommitmentStore,
    DealStore,
    LookupStore,
    MergeStore,
    BatchStore,
    InputStore,
    DashboardStore,
    NotificationStore,
    SourceStore,
    CrmTaskStore,
):
    """Documents, extraction runs, commitments, CRM data and deal links in one database.

    ``Store("sqlite:///path/followthrough.db")`` or
    ``Store("postgresql+psycopg://user:pw@host/db")``. Opening applies the
    Alembic migrations. ``response_hours``: the response target that open
    requests are ranked against (see :attr:`StoreCore.response_hours`). Every
    method runs in its own transaction; the object is safe to share between
    threads (each call takes its own session).
    """

    def __init__(self, url: str, *, response_hours: TieredValue | None = None) -> None:
        self.url = normalize_url(url)
        self.response_hours = response_hours
        try:
            parsed = make_url(self.url)
        except ArgumentError as e:
            raise StoreError(
                f"invalid database URL {url!r}: expected sqlite:///PATH or postgresql+psycopg://..."
            ) from e
        try:
            if parsed.get_backend_name() == "sqlite":
                if (
                    parsed.database
                    and parsed.database != ":memory:"
                    and not parsed.database.startswith("file:")
                ):
                    Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
                self.engine: Engine = create_engine(self.url, connect_args={"timeout": BUSY_ATTEMPT_S})
                event.listen(self.engine, "connect", _sqlite_pragmas)
            else:
                self.engine = create_engine(self.url, pool_pre_ping=True)
            migrate.upgrade(self.engine)
            if self.engine.dialect.name == "sqlite":
                restore_indexes(self.engine)  # an import killed before it made its indexes again
        except migrate.UnknownRevision as e:
            raise StoreError(
                f"the database at {_safe(self.url)} has a schema this version of followthrough does not know "
                f"({e}); upgrade followthrough or point FOLLOWTHROUGH_DATABASE_URL at another database"
            ) from e
        except (SQLAlchemyError, OSError, ImportError) as e:
            reason = (str(getattr(e, "orig", None) or e).strip().splitlines() or [type(e).__name__])[0]
            raise StoreError(f"cannot open the database at {_safe(self.url)}: {reason}") from e
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={int(BUSY_ATTEMPT_S * 1000)}")
    # WAL lets the API read while a CLI run writes; NORMAL sync in WAL mode keeps the
    # database consistent on a crash and makes each small transaction ~10x cheaper.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


__all__ = ["NotFound", "Store", "deal_ref", "normalize_url"]
