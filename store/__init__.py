"""The store: documents, extraction runs, commitments, deals and their links.

SQLAlchemy 2.0 over SQLite (default) or PostgreSQL; Alembic migrations are
applied when a :class:`Store` opens. The store never calls an LLM.

Public surface (``__all__``, pinned by a test; the application imports nothing
else from the store): :class:`Store`, the view models in :mod:`store.views`, API
bearer tokens (:class:`ApiTokens`, :class:`Principal`), :func:`admit_crm`,
:func:`health`, and the errors :class:`NotFound`, :class:`InvalidCursor` and
:class:`Unstorable` (all :class:`StoreError`).
"""

from store.admission import Unstorable, admit_crm
from store.api_tokens import ApiTokens, Principal
from store.queries import InvalidCursor, health
from store.store import NotFound, Store, normalize_url
from store.views import (
    ApiTokenView,
    CommitmentFilter,
    CommitmentView,
    DealRef,
    DealView,
    EvidenceView,
    HistoryView,
    Page,
    RunView,
)

__all__ = [
    "ApiTokenView",
    "ApiTokens",
    "CommitmentFilter",
    "CommitmentView",
    "DealRef",
    "DealView",
    "EvidenceView",
    "HistoryView",
    "InvalidCursor",
    "NotFound",
    "Page",
    "Principal",
    "RunView",
    "Store",
    "Unstorable",
    "admit_crm",
    "health",
    "normalize_url",
]
