"""The store: documents, extraction runs, commitments, deals and their links.

SQLAlchemy 2.0 over SQLite (default) or PostgreSQL; Alembic migrations are
applied when a :class:`Store` opens. The store never calls an LLM.

Public surface (``__all__``, pinned by a test; the application imports nothing
else from the store): :class:`Store`, the view models in :mod:`store.views`, API
bearer tokens (:class:`ApiTokens`, :class:`Principal`), :func:`admit_crm`,
:func:`health`, the report's lean :class:`Ranked` item, and the errors :class:`NotFound`,
:class:`InvalidCursor`,
:class:`Unresolved` (a person, deal or account typed that names none, or several),
:class:`InvalidStatus` (a status an item cannot be given) and :class:`Unstorable` (all
:class:`StoreError`); the dashboard's trends (:func:`owner_trend`, :func:`response_times`:
:mod:`store.trends`).
"""

from store.admission import Unstorable, admissible_as_read, admit_crm
from store.api_tokens import ApiTokens, Principal
from store.commitments import InvalidStatus
from store.crm_records import CrmRecords
from store.crm_tasks import PushItem
from store.inputs import InputFile
from store.lookup import Unresolved
from store.notifications import Delivery
from store.priority import money
from store.queries import InvalidCursor, Ranked, health
from store.recording import SYSTEM_ACTORS
from store.runs import Recording
from store.sources import LeaseHeld, LeasePurpose
from store.store import NotFound, Store, normalize_url
from store.trends import OwnerDay, ResponseSample, owner_trend, response_times
from store.views import (
    AccountDetail,
    AccountFilter,
    AccountPage,
    AccountView,
    ApiTokenView,
    CommitmentFilter,
    CommitmentSummary,
    CommitmentView,
    DealHealth,
    DealPage,
    DealRef,
    DealView,
    EvidenceView,
    HistoryView,
    Page,
    PersonView,
    RunView,
    SummaryPage,
    owner_email,
)

__all__ = [
    "SYSTEM_ACTORS",
    "AccountDetail",
    "AccountFilter",
    "AccountPage",
    "AccountView",
    "ApiTokenView",
    "ApiTokens",
    "CommitmentFilter",
    "CommitmentSummary",
    "CommitmentView",
    "CrmRecords",
    "DealHealth",
    "DealPage",
    "DealRef",
    "DealView",
    "Delivery",
    "EvidenceView",
    "HistoryView",
    "InputFile",
    "InvalidCursor",
    "InvalidStatus",
    "LeaseHeld",
    "LeasePurpose",
    "NotFound",
    "OwnerDay",
    "Page",
    "PersonView",
    "Principal",
    "PushItem",
    "Ranked",
    "Recording",
    "ResponseSample",
    "RunView",
    "Store",
    "SummaryPage",
    "Unresolved",
    "Unstorable",
    "admissible_as_read",
    "admit_crm",
    "health",
    "money",
    "normalize_url",
    "owner_email",
    "owner_trend",
    "response_times",
]
