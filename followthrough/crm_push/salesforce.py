"""Commitments as Salesforce Tasks on their opportunity.

A task is a ``Task`` record: ``Subject`` (the action, cut to Salesforce's 255 characters),
``Description`` (the evidence and its links), ``ActivityDate`` (the due date, or none),
``WhatId`` (the opportunity: the deal's ``crm_id``), ``OwnerId`` (the active User whose email is the
commitment owner's; none found: the field is left out, so Salesforce assigns the task to the
integration user, and a warning is logged), ``Status`` (``Not Started``, or ``Completed`` once the
commitment is closed) and ``Priority`` ``Normal``. A task pushed before is updated by its Id
(``PATCH``), never created twice; its ``WhatId`` follows the commitment to another opportunity. A Task
an interrupted push created is found again among the opportunity's Tasks by the item's link in its
``Description`` (:meth:`SalesforceTaskWriter.find`; a long text area cannot be filtered in SOQL, so
the opportunity's Tasks are read and their descriptions compared here).

The source's ``[[source]]`` table is the one :mod:`followthrough.sync.salesforce` reads (the same
sign-in); ``task_status_open`` / ``task_status_completed`` name other picklist values where an org
renamed them.
"""

from __future__ import annotations

import logging
import re
from typing import Any, ClassVar

from connectors.salesforce import SalesforceClient, SalesforceFailure, soql_quote
from followthrough.crm_push.base import CrmTask, TaskRejected, TaskWriter, carries_item
from followthrough.sync.base import SourceConfig, source_error
from followthrough.sync.salesforce import open_client

log = logging.getLogger("followthrough.crm_push.salesforce")

SUBJECT_MAX = 255
"""``Task.Subject`` is a 255-character field."""
DESCRIPTION_MAX = 32_000
"""``Task.Description`` holds 32,000 characters."""
_OPPORTUNITY_ID = re.compile(r"^006[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?$")


def is_opportunity_id(crm_id: str) -> bool:
    """Whether ``crm_id`` reads as a Salesforce Opportunity Id (key prefix ``006``, 15 or 18 characters)."""
    return bool(_OPPORTUNITY_ID.match(crm_id.strip()))


class SalesforceTaskWriter(TaskWriter):
    """Creates and updates Tasks in one Salesforce org (signs in on first use)."""

    kind: ClassVar[str] = "salesforce"

    def __init__(self, config: SourceConfig) -> None:
        super().__init__(config)
        self._client: SalesforceClient | None = None
        self._users: dict[str, str | None] = {}
        self.status_open = str(config.options.get("task_status_open") or "Not Started")
        self.status_completed = str(config.options.get("task_status_completed") or "Completed")

    @classmethod
    def claims(cls, deal_crm_id: str) -> bool:
        """A deal is Salesforce's when its CRM id is an Opportunity Id."""
        return is_opportunity_id(deal_crm_id)

    def _sf(self) -> SalesforceClient:
        if self._client is None:
            self._client = open_client(self.config)
        return self._client

    def _owner_id(self, email: str | None) -> str | None:
        """The User Id for ``email`` (looked up once per push); ``None`` and a warning when none."""
        if not email:
            return None
        key = email.strip().lower()
        if key not in self._users:
            self._users[key] = self._sf().user_id(key)
            if self._users[key] is None:
                log.warning(
                    "source %r: no active Salesforce user with the email %s; its tasks are left to the "
                    "integration user",
                    self.config.name,
                    key,
                )
        return self._users[key]

    def fields(self, task: CrmTask) -> dict[str, Any]:
        """The Task fields for ``task`` (without ``OwnerId``)."""
        return {
            "Subject": task.subject
            if len(task.subject) <= SUBJECT_MAX
            else task.subject[: SUBJECT_MAX - 1] + "…",
            "Description": task.body[:DESCRIPTION_MAX],
            "ActivityDate": task.due.isoformat() if task.due else None,
            "WhatId": task.deal_crm_id,
            "Status": self.status_completed if task.completed else self.status_open,
            "Priority": "Normal",
        }

    def upsert(self, task: CrmTask, existing_id: str | None) -> str:
        """Create the Task on the opportunity, or update ``existing_id``; returns the Task Id.

        :class:`~followthrough.crm_push.base.TaskRejected` when Salesforce refuses this task (a
        validation rule, a deleted opportunity); :class:`SourceError` when nothing would work
        (sign-in, permissions, the org's API limit, Salesforce unreachable). Both one line naming
        the source.
        """
        try:
            fields = self.fields(task)
            owner = self._owner_id(task.owner_email)
            if owner:
                fields["OwnerId"] = owner
            if existing_id is None:
                return self._sf().create_task(fields)
            self._sf().update_task(existing_id, fields)
            return existing_id
        except SalesforceFailure as e:
            if e.fatal:
                raise source_error(self.config, e) from e
            raise TaskRejected(f"source {self.config.name!r}: {e}") from e

    def find(self, task: CrmTask) -> str | None:
        """The Id of a Task on the opportunity (or the one it was on before) whose ``Description``
        links to the item; ``None`` when there is none."""
        try:
            for deal in dict.fromkeys(d for d in (task.deal_crm_id, task.previous_deal_crm_id) if d):
                soql = f"SELECT Id, Description FROM Task WHERE WhatId = '{soql_quote(deal)}'"
                for page in self._sf().pages(soql):
                    for record in page.records:
                        if carries_item(record.get("Description"), task.commitment_id):
                            return str(record["Id"])
            return None
        except SalesforceFailure as e:
            raise source_error(self.config, e) from e

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


__all__ = ["SalesforceTaskWriter", "is_opportunity_id"]
