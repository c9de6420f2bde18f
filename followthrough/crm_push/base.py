"""The CRM push contract: one task per open commitment, and the writer that puts it on the deal.

A :class:`CrmTask` is what ``followthrough crm push`` sends for one commitment; a :class:`TaskWriter`
(one per CRM kind, see :mod:`followthrough.crm_push.registry`) creates it on the linked deal or
updates the task pushed before. Writers raise :class:`~followthrough.sync.base.SourceError` (one
line naming the source and what to fix) on authentication or permission problems.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import date
from typing import ClassVar

from followthrough.sync.base import SourceConfig, SourceError


@dataclass(frozen=True)
class CrmTask:
    """One open commitment as a CRM task.

    ``deal_crm_id`` is the store's deal ``crm_id`` (for pulled deals the vendor's deal/opportunity
    id); ``subject`` the commitment's action; ``due`` its due date (None: no due date);
    ``owner_email`` the commitment owner's email, mapped to the CRM user by email inside the writer
    (unknown email: the task is left unassigned and a warning logged); ``body`` the verbatim
    evidence quote, where it was said and the dashboard link ``{public_url}/items/{id}``.
    ``completed`` marks a commitment closed since it was pushed (done or dismissed): the writer
    sets the task's status to completed.
    """

    commitment_id: int
    deal_crm_id: str
    subject: str
    due: date | None
    owner_email: str | None
    body: str
    completed: bool = False


class TaskRejected(SourceError):
    """The CRM refused this one task (a validation rule, a deleted deal): the push counts it failed
    and goes on with the next. Any other :class:`SourceError` from a writer (sign-in, scope, rate
    or API limit, unreachable) ends the push to that source."""


class TaskWriter(ABC):
    """Writes :class:`CrmTask` s to one configured CRM source (``[[source]]`` of its ``kind``)."""

    kind: ClassVar[str]

    def __init__(self, config: SourceConfig) -> None:
        self.config = config

    @classmethod
    def claims(cls, deal_crm_id: str) -> bool:
        """Whether a deal with this CRM id can belong to this kind of CRM (its id shape). Asked only
        when several CRM sources are configured, to route each deal to its own CRM; default: yes."""
        return True

    @abstractmethod
    def upsert(self, task: CrmTask, existing_id: str | None) -> str:
        """Create the task on the deal (``existing_id`` None) or update that task; returns the CRM's task id.

        Raises SourceError on auth/scope problems (one line); :class:`TaskRejected` when only this
        task was refused.
        """

    def close(self) -> None:  # noqa: B027 - optional hook, default no-op
        """Release the writer's connections (default: nothing to release)."""


__all__ = ["CrmTask", "TaskRejected", "TaskWriter"]
