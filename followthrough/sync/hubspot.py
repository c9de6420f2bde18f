"""HubSpot (private-app token) as a live source: companies, contacts and deals modified since the last sync.

``[[source]]`` keys::

    kind = "hubspot"
    token_env = "HUBSPOT_TOKEN"        # env var holding the private app's access token (required)
    url = "https://api.hubapi.com"     # API host (optional; tests point it at loopback)

Cursor, per object type (``companies``, ``contacts``, ``deals``, pulled in that order so accounts
come before what names them):

    deals.modified   the newest last-modified time read, epoch milliseconds
    deals.ids        the ids read that carry exactly that time (comma-separated): the tie-break

The next sync searches ``last-modified >= deals.modified`` and leaves out the ids already read at
that very millisecond, so a record is read again only when it changed again. One search page (100
records) is one batch of :class:`~followthrough.types.CrmData` (the tables a CRM CSV import fills,
see :mod:`connectors.hubspot`) with the cursor after it.

HubSpot's search index follows writes by a few seconds: a record saved while a sync runs may be
read by the next one only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import ClassVar

from connectors.hubspot import OBJECT_TYPES, HubSpotApi, HubSpotProblem, Record, crm_page
from followthrough.sync.base import LiveSource, Pulled, source_error


class HubSpotSource(LiveSource):
    """Pulls HubSpot companies, contacts and deals incrementally by last-modified time."""

    kind: ClassVar[str] = "hubspot"
    keys: ClassVar[frozenset[str]] = frozenset({"token_env"})

    def pull(self, cursor: Mapping[str, str]) -> Iterator[Pulled]:
        state = dict(cursor)
        try:
            api = HubSpotApi(self.config.secret("token_env"), host=self.config.url or None)
            for object_type in OBJECT_TYPES:
                since, seen = _position(state, object_type)
                for page in api.search_modified(object_type, since):
                    fresh = [r for r in page if _is_new(r, since, seen)]
                    if not fresh:
                        continue
                    crm = crm_page(api, object_type, fresh)
                    since, seen = _advance(since, seen, fresh)
                    state[f"{object_type}.modified"] = str(since)
                    state[f"{object_type}.ids"] = ",".join(sorted(seen))
                    yield Pulled(documents=[], crm=crm, cursor=dict(state))
        except HubSpotProblem as e:
            raise source_error(self.config, e) from e


def _position(state: Mapping[str, str], object_type: str) -> tuple[int | None, set[str]]:
    raw = state.get(f"{object_type}.modified", "")
    since = int(raw) if raw.isdigit() else None
    ids = {i for i in state.get(f"{object_type}.ids", "").split(",") if i}
    return since, ids if since is not None else set()


def _is_new(record: Record, since: int | None, seen: set[str]) -> bool:
    if since is None or record.modified_ms > since:
        return True
    return record.modified_ms == since and record.id not in seen


def _advance(since: int | None, seen: set[str], records: list[Record]) -> tuple[int, set[str]]:
    """The cursor after ``records``: the newest time among them and every id read at that time."""
    newest = max(r.modified_ms for r in records)
    if since is not None and newest < since:
        return since, seen
    at_newest = {r.id for r in records if r.modified_ms == newest}
    return newest, (seen | at_newest) if newest == since else at_newest


__all__ = ["HubSpotSource"]
