"""The CRM push contract: one task per open commitment, and the writer that puts it on the deal.

A :class:`CrmTask` is what ``followthrough crm push`` sends for one commitment; a :class:`TaskWriter`
(one per CRM kind, see :mod:`followthrough.crm_push.registry`) creates it on the linked deal or
updates the task pushed before. Writers raise :class:`~followthrough.sync.base.SourceError` (one
line naming the source and what to fix) on authentication or permission problems.
"""

from __future__ import annotations

import re
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

    Not part of what is sent (left out of the push's fingerprint): ``previous_deal_crm_id``, the
    deal the task was on when it was last pushed (set when the commitment moved to another deal:
    the writer moves the task), and ``undated_on``, the day a task without a due date is dated
    where the CRM needs one (``crm push --as-of``; ``None``: today).
    """

    commitment_id: int
    deal_crm_id: str
    subject: str
    due: date | None
    owner_email: str | None
    body: str
    completed: bool = False
    previous_deal_crm_id: str | None = None
    undated_on: date | None = None


ITEM_LINK = "/items/{id}"
"""The path of an item's dashboard page: every task's body carries it, and it is how a task created
by an interrupted push is found again (:meth:`TaskWriter.find`)."""


def carries_item(body: str | None, commitment_id: int) -> bool:
    """Whether a task's ``body`` links to item ``commitment_id``'s page (``/items/12`` but not
    ``/items/123``)."""
    path = re.escape(ITEM_LINK.format(id=commitment_id))
    return bool(body) and re.search(path + r"(?![0-9A-Za-z])", body or "") is not None


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

    def find(self, task: CrmTask) -> str | None:
        """The id of a task already on ``task.deal_crm_id`` for this commitment (its body links to
        the item, :func:`carries_item`), or ``None``. Asked before creating a task whose earlier
        create may have reached the CRM unrecorded (an interrupted push). Default: none found."""
        return None

    def close(self) -> None:  # noqa: B027 - optional hook, default no-op
        """Release the writer's connections (default: nothing to release)."""


__all__ = ["ITEM_LINK", "CrmTask", "TaskRejected", "TaskWriter", "carries_item"]
