"""The task writer for each CRM kind: ``WRITERS[kind]`` is the :class:`~.base.TaskWriter` subclass.

Each CRM registers itself with one line here ("hubspot", "salesforce").
"""

from __future__ import annotations

from followthrough.crm_push.base import TaskWriter
from followthrough.crm_push.hubspot import HubSpotTaskWriter
from followthrough.crm_push.salesforce import SalesforceTaskWriter

WRITERS: dict[str, type[TaskWriter]] = {
    "hubspot": HubSpotTaskWriter,
    "salesforce": SalesforceTaskWriter,
}

__all__ = ["WRITERS"]
