"""HubSpot tasks for ``followthrough crm push``: one task per commitment, on its deal.

A task is ``hs_task_subject`` (the commitment's action), ``hs_task_body`` (the evidence quote and
its link), ``hs_timestamp`` (the due date, noon UTC), ``hs_task_status`` (``NOT_STARTED``, or
``COMPLETED`` once the commitment is closed) and ``hubspot_owner_id`` (the HubSpot owner whose email
is the commitment owner's; an unknown email leaves the task unassigned, with a warning). It is
created associated with the deal (association type 216, task → deal) and, pushed again, updated in
place: never a second task for one commitment. A commitment moved to another deal moves its task
(v4 associations: the new deal added, the old one removed). A task deleted in HubSpot since is
created again. A task an interrupted push created is found again among the deal's tasks by the
item's link in its body (:meth:`HubSpotTaskWriter.find`).

The source's ``[[source]]`` table (``kind = "hubspot"``, ``token_env``, ``url``) says where; the
token needs ``crm.objects.contacts.write`` (tasks) and ``crm.objects.owners.read``.
"""

from __future__ import annotations

import logging
from typing import ClassVar

from connectors.hubspot import HubSpotApi, HubSpotProblem, task_properties
from followthrough.crm_push.base import CrmTask, TaskWriter, carries_item
from followthrough.sync.base import SourceConfig, source_error

log = logging.getLogger(__name__)


class HubSpotTaskWriter(TaskWriter):
    """Creates or updates HubSpot tasks on deals; see the module docstring."""

    kind: ClassVar[str] = "hubspot"

    def __init__(self, config: SourceConfig) -> None:
        super().__init__(config)
        self._api: HubSpotApi | None = None
        self._owner_ids: dict[str, str] | None = None

    def upsert(self, task: CrmTask, existing_id: str | None) -> str:
        try:
            api = self._client()
            owner_id = self._owner_id(task.owner_email)
            props = task_properties(
                task.subject,
                task.body,
                task.due,
                owner_id,
                completed=task.completed,
                undated_on=task.undated_on,
            )
            try:
                task_id = api.upsert_task(props, task.deal_crm_id, existing_id)
                if existing_id and task.previous_deal_crm_id:
                    api.move_task(task_id, task.previous_deal_crm_id, task.deal_crm_id)
                return task_id
            except HubSpotProblem as e:
                if not (existing_id and e.status == 404):
                    raise
                log.warning(
                    "HubSpot task %s is gone; creating it again on deal %s", existing_id, task.deal_crm_id
                )
                return api.upsert_task(props, task.deal_crm_id, None)
        except HubSpotProblem as e:
            raise source_error(self.config, e) from e

    def find(self, task: CrmTask) -> str | None:
        """The task on the deal (or on the deal it was on before) whose body links to the item."""
        try:
            for deal in dict.fromkeys(d for d in (task.deal_crm_id, task.previous_deal_crm_id) if d):
                found = self._client().find_task(deal, lambda body: carries_item(body, task.commitment_id))
                if found is not None:
                    return found
            return None
        except HubSpotProblem as e:
            raise source_error(self.config, e) from e

    def _client(self) -> HubSpotApi:
        if self._api is None:
            self._api = HubSpotApi(self.config.secret("token_env"), host=self.config.url or None)
        return self._api

    def _owner_id(self, email: str | None) -> str | None:
        """The HubSpot owner id of ``email`` (case-insensitive); ``None`` (warned) when no owner has it."""
        if not email:
            return None
        if self._owner_ids is None:
            self._owner_ids = {mail: oid for oid, mail in self._client().owners().items()}
        found = self._owner_ids.get(email.strip().lower())
        if found is None:
            log.warning("no HubSpot owner has the email %s; the task is left unassigned", email)
        return found


__all__ = ["HubSpotTaskWriter"]
