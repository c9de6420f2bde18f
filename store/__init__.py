"""The store: documents, extraction runs, commitments, deals and their links.

SQLAlchemy 2.0 over SQLite (default) or PostgreSQL; Alembic migrations are
applied when a :class:`Store` opens. The store never calls an LLM.

Public surface: :class:`Store`, the view models in :mod:`store.views`, and the
errors :class:`NotFound` and :class:`InvalidCursor` (both :class:`StoreError`).
"""

from store.queries import InvalidCursor
from store.store import NotFound, Store, normalize_url
from store.views import (
    CommitmentFilter,
    CommitmentView,
    DealRef,
    DealView,
    EvidenceView,
    HistoryView,
    Page,
    RunView,
    TokenView,
)

__all__ = [
    "CommitmentFilter",
    "CommitmentView",
    "DealRef",
    "DealView",
    "EvidenceView",
    "HistoryView",
    "InvalidCursor",
    "NotFound",
    "Page",
    "RunView",
    "Store",
    "TokenView",
    "normalize_url",
]
