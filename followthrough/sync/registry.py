"""Live source kinds by name: ``SOURCES["imap"]`` is the class that pulls an IMAP account.

Each kind registers itself with one line here.
"""

from __future__ import annotations

from followthrough.sync.base import LiveSource
from followthrough.sync.hubspot import HubSpotSource
from followthrough.sync.imap import ImapSource
from followthrough.sync.salesforce import SalesforceSource
from followthrough.sync.slack import SlackSource

SOURCES: dict[str, type[LiveSource]] = {
    "hubspot": HubSpotSource,
    "imap": ImapSource,
    "salesforce": SalesforceSource,
    "slack": SlackSource,
}

__all__ = ["SOURCES"]
