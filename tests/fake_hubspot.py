"""A local HubSpot CRM API for tests: the endpoints a sync and a push call, in HubSpot's documented shapes.

From https://developers.hubspot.com/docs/api/crm/ (search, associations v4, owners, pipelines, tasks):

* ``Authorization: Bearer <private-app token>``; a wrong token is ``401`` with
  ``{"status": "error", "message": ..., "correlationId": ..., "category": "INVALID_AUTHENTICATION"}``,
  a missing scope ``403`` with ``"category": "MISSING_SCOPES"`` and
  ``errors[].context.requiredGranularScopes``; a rate limit ``429`` with ``"errorType": "RATE_LIMIT"``;
* ``POST /crm/v3/objects/{type}/search``: ``filterGroups`` (``GTE`` on a datetime property, epoch ms),
  ``sorts`` as objects (a string sort is a ``400``, as HubSpot answers), ``limit``, ``after``;
  answers ``{"total", "results": [{"id", "properties", "createdAt", "updatedAt", "archived"}],
  "paging": {"next": {"after", "link"}}}`` — at most :attr:`FakeHubSpot.page_cap` results a page;
* ``POST /crm/v4/associations/{from}/{to}/batch/read``, ``POST /crm/v3/objects/companies/batch/read``,
  ``GET /crm/v3/owners/``, ``GET /crm/v3/pipelines/deals``, ``POST /crm/v3/objects/tasks`` and
  ``PATCH /crm/v3/objects/tasks/{id}``;
* ``POST /crm/v3/objects/tasks/search`` with an ``associations.deal`` ``EQ`` filter (the tasks on a deal);
* ``PUT /crm/v4/objects/tasks/{id}/associations/deals/{deal}`` (body: ``[{"associationCategory",
  "associationTypeId"}]``; answers ``{"fromObjectTypeId", "fromObjectId", "toObjectTypeId",
  "toObjectId", "labels"}``) and ``DELETE`` of the same path (``204``, no body).

:meth:`FakeHubSpot.start` serves it on a free loopback port; :attr:`FakeHubSpot.url` is the host to
give the client; :attr:`FakeHubSpot.requests` records ``(method, path)``.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

MODIFIED = {
    "companies": "hs_lastmodifieddate",
    "contacts": "lastmodifieddate",
    "deals": "hs_lastmodifieddate",
}
ALL_SCOPES = frozenset(
    {
        "crm.objects.companies.read",
        "crm.objects.contacts.read",
        "crm.objects.deals.read",
        "crm.objects.owners.read",
        "crm.objects.contacts.write",
    }
)


def iso_ms(ms: int) -> str:
    """Epoch milliseconds as HubSpot writes datetimes: ``2026-03-31T17:00:00.123Z``."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


@dataclass
class FakeHubSpot:
    token: str = "pat-na1-test"
    scopes: set[str] = field(default_factory=lambda: set(ALL_SCOPES))
    page_cap: int = 2
    objects: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: {"companies": {}, "contacts": {}, "deals": {}, "tasks": {}}
    )
    associations: dict[tuple[str, str, str], list[tuple[str, int]]] = field(default_factory=dict)
    """(from type, from id, to type) → [(to id, association type id)]."""
    owners: list[dict[str, Any]] = field(default_factory=list)
    pipelines: list[dict[str, Any]] = field(default_factory=list)
    rate_limit_once: set[str] = field(default_factory=set)
    """Path prefixes whose next request is answered 429."""
    requests: list[tuple[str, str]] = field(default_factory=list)
    clock: int = 1_780_000_000_000
    last_id: int = 100

    # -- building the portal --------------------------------------------------------------
    def put(self, object_type: str, oid: str, modified_ms: int | None = None, **properties: Any) -> None:
        """Create or change a record; its last-modified time is ``modified_ms`` (else a fresh tick)."""
        if modified_ms is None:
            self.clock += 1000
            modified_ms = self.clock
        rec = self.objects[object_type].setdefault(
            oid, {"id": oid, "properties": {}, "createdAt": iso_ms(modified_ms), "archived": False}
        )
        rec["properties"].update({k: None if v is None else str(v) for k, v in properties.items()})
        rec["properties"][MODIFIED.get(object_type, "hs_lastmodifieddate")] = iso_ms(modified_ms)
        rec["properties"]["hs_object_id"] = oid
        rec["updatedAt"] = iso_ms(modified_ms)
        rec["_modified"] = modified_ms

    def associate(self, from_type: str, from_id: str, to_type: str, to_id: str, type_id: int) -> None:
        self.associations.setdefault((from_type, from_id, to_type), []).append((to_id, type_id))

    # -- answers --------------------------------------------------------------------------
    def answer(
        self, method: str, path: str, query: dict[str, str], body: Any, auth: str | None
    ) -> tuple[int, Any]:
        self.requests.append((method, path))
        hit = next((p for p in self.rate_limit_once if path.startswith(p)), None)
        if hit is not None:
            self.rate_limit_once.discard(hit)
            return 429, {
                "status": "error",
                "message": "You have reached your secondly limit.",
                "errorType": "RATE_LIMIT",
                "correlationId": str(uuid.uuid4()),
                "policyName": "SECONDLY",
            }
        if (auth or "") != f"Bearer {self.token}":
            return 401, _error(
                "INVALID_AUTHENTICATION",
                "Authentication credentials not found. This API supports OAuth 2.0 authentication.",
            )
        route: list[tuple[str, str, Callable[..., tuple[int, Any]]]] = [
            ("POST", r"/crm/v3/objects/(companies|contacts|deals)/search", self._search),
            ("POST", r"/crm/v4/associations/(\w+)/(\w+)/batch/read", self._associations),
            ("POST", r"/crm/v3/objects/(companies)/batch/read", self._batch_read),
            ("GET", r"/crm/v3/owners/?", self._owners),
            ("GET", r"/crm/v3/pipelines/(deals)", self._pipelines),
            ("POST", r"/crm/v3/objects/tasks/search", self._search_tasks),
            ("POST", r"/crm/v3/objects/tasks", self._create_task),
            ("PUT", r"/crm/v4/objects/tasks/(\d+)/associations/deals/(\d+)", self._link_task),
            ("DELETE", r"/crm/v4/objects/tasks/(\d+)/associations/deals/(\d+)", self._unlink_task),
            ("PATCH", r"/crm/v3/objects/tasks/(\d+)", self._update_task),
        ]
        for verb, pattern, handler in route:
            m = re.fullmatch(pattern, path)
            if verb == method and m:
                need = _scope(path, method)
                if need not in self.scopes:
                    err = _error(
                        "MISSING_SCOPES",
                        "This app hasn't been granted all required scopes to make this call.",
                    )
                    err["errors"] = [
                        {
                            "message": "One or more of the following scopes are required.",
                            "context": {"requiredGranularScopes": [need]},
                        }
                    ]
                    return 403, err
                result: tuple[int, Any] = handler(*m.groups(), query=query, body=body)
                return result
        return 404, _error("OBJECT_NOT_FOUND", f"no route {method} {path}")

    def _search(self, object_type: str, *, query: dict[str, str], body: Any) -> tuple[int, Any]:
        sorts = body.get("sorts") or []
        if any(not isinstance(s, dict) for s in sorts):
            return 400, _error("VALIDATION_ERROR", "Invalid input JSON on line 1: sorts must be objects")
        records = [r for r in self.objects[object_type].values() if not r["archived"]]
        for group in body.get("filterGroups") or []:
            for f in group.get("filters") or []:
                assert f["operator"] == "GTE" and f["propertyName"] == MODIFIED[object_type], f
                records = [r for r in records if r["_modified"] >= int(f["value"])]
        records.sort(key=lambda r: (r["_modified"], int(r["id"])))
        start = int(body.get("after") or 0)
        size = min(int(body.get("limit") or 10), self.page_cap)
        page = records[start : start + size]
        wanted = set(body.get("properties") or [])
        results = [_public(r, wanted | {"hs_object_id", "createdate", MODIFIED[object_type]}) for r in page]
        out: dict[str, Any] = {"total": len(records), "results": results}
        if start + size < len(records):
            nxt = str(start + size)
            out["paging"] = {"next": {"after": nxt, "link": f"?after={nxt}"}}
        return 200, out

    def _associations(
        self, from_type: str, to_type: str, *, query: dict[str, str], body: Any
    ) -> tuple[int, Any]:
        results = []
        for item in body.get("inputs") or []:
            tos = self.associations.get((from_type, str(item["id"]), to_type), [])
            if tos:
                results.append(
                    {
                        "from": {"id": str(item["id"])},
                        "to": [
                            {
                                "toObjectId": int(tid),
                                "associationTypes": [
                                    {"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": None}
                                ],
                            }
                            for tid, type_id in tos
                        ],
                    }
                )
        now = iso_ms(self.clock)
        return 200, {"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now}

    def _batch_read(self, object_type: str, *, query: dict[str, str], body: Any) -> tuple[int, Any]:
        wanted = set(body.get("properties") or [])
        found = [self.objects[object_type].get(str(i["id"])) for i in body.get("inputs") or []]
        now = iso_ms(self.clock)
        results = [_public(r, wanted | {"hs_object_id"}) for r in found if r]
        return 200, {"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now}

    def _owners(self, *, query: dict[str, str], body: Any) -> tuple[int, Any]:
        start = int(query.get("after") or 0)
        size = min(int(query.get("limit") or 100), self.page_cap)
        out: dict[str, Any] = {"results": self.owners[start : start + size]}
        if start + size < len(self.owners):
            out["paging"] = {"next": {"after": str(start + size), "link": "..."}}
        return 200, out

    def _pipelines(self, object_type: str, *, query: dict[str, str], body: Any) -> tuple[int, Any]:
        return 200, {"results": self.pipelines}

    def _create_task(self, *, query: dict[str, str], body: Any) -> tuple[int, Any]:
        assoc = body.get("associations") or []
        deal_ids = [a["to"]["id"] for a in assoc if any(t["associationTypeId"] == 216 for t in a["types"])]
        if not deal_ids or any(d not in self.objects["deals"] for d in deal_ids):
            return 400, _error("VALIDATION_ERROR", "One or more associations are invalid")
        self.last_id += 1
        oid = str(self.last_id)
        self.put("tasks", oid, **body["properties"])
        for d in deal_ids:
            self.associate("tasks", oid, "deals", d, 216)
        return 201, _public(self.objects["tasks"][oid], set(body["properties"]))

    def _update_task(self, oid: str, *, query: dict[str, str], body: Any) -> tuple[int, Any]:
        if oid not in self.objects["tasks"]:
            return 404, _error("OBJECT_NOT_FOUND", "resource not found")
        self.put("tasks", oid, **body["properties"])
        return 200, _public(self.objects["tasks"][oid], set(body["properties"]))

    def deals_of_task(self, oid: str) -> list[str]:
        """The deals task ``oid`` is associated with."""
        return [to for to, _ in self.associations.get(("tasks", oid, "deals"), [])]

    def _search_tasks(self, *, query: dict[str, str], body: Any) -> tuple[int, Any]:
        tasks = [r for r in self.objects["tasks"].values() if not r["archived"]]
        for group in body.get("filterGroups") or []:
            for f in group.get("filters") or []:
                assert f["propertyName"] == "associations.deal" and f["operator"] == "EQ", f
                tasks = [t for t in tasks if str(f["value"]) in self.deals_of_task(t["id"])]
        tasks.sort(key=lambda r: int(r["id"]))
        start = int(body.get("after") or 0)
        size = min(int(body.get("limit") or 10), self.page_cap)
        wanted = set(body.get("properties") or [])
        out: dict[str, Any] = {
            "total": len(tasks),
            "results": [_public(t, wanted | {"hs_object_id"}) for t in tasks[start : start + size]],
        }
        if start + size < len(tasks):
            out["paging"] = {"next": {"after": str(start + size), "link": "..."}}
        return 200, out

    def _link_task(self, oid: str, deal: str, *, query: dict[str, str], body: Any) -> tuple[int, Any]:
        if oid not in self.objects["tasks"] or deal not in self.objects["deals"]:
            return 404, _error("OBJECT_NOT_FOUND", "resource not found")
        types = [int(t["associationTypeId"]) for t in body] if isinstance(body, list) else []
        if types != [216]:
            return 400, _error("VALIDATION_ERROR", f"invalid association types {types}")
        if deal not in self.deals_of_task(oid):
            self.associate("tasks", oid, "deals", deal, 216)
        return 200, {
            "fromObjectTypeId": "0-27",
            "fromObjectId": int(oid),
            "toObjectTypeId": "0-3",
            "toObjectId": int(deal),
            "labels": [],
        }

    def _unlink_task(self, oid: str, deal: str, *, query: dict[str, str], body: Any) -> tuple[int, Any]:
        links = self.associations.get(("tasks", oid, "deals"), [])
        self.associations[("tasks", oid, "deals")] = [(to, t) for to, t in links if to != deal]
        return 204, None

    # -- serving --------------------------------------------------------------------------
    def start(self) -> FakeHubSpot:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}") if length else {}
                status, answer = fake.answer(
                    self.command,
                    parts.path,
                    dict(parse_qsl(parts.query)),
                    body,
                    self.headers.get("Authorization"),
                )
                data = b"" if status == 204 else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json;charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = _serve
            do_POST = _serve
            do_PATCH = _serve
            do_PUT = _serve
            do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _public(rec: dict[str, Any], wanted: set[str]) -> dict[str, Any]:
    props = {k: v for k, v in rec["properties"].items() if k in wanted}
    return {
        "id": rec["id"],
        "properties": props,
        "createdAt": rec["createdAt"],
        "updatedAt": rec["updatedAt"],
        "archived": rec["archived"],
    }


def _error(category: str, message: str) -> dict[str, Any]:
    return {"status": "error", "message": message, "correlationId": str(uuid.uuid4()), "category": category}


def _scope(path: str, method: str) -> str:
    if "/owners" in path:
        return "crm.objects.owners.read"
    if "/tasks" in path:
        return "crm.objects.contacts.write"
    if "/pipelines/deals" in path:
        return "crm.objects.deals.read"
    assoc = re.match(r"/crm/v4/associations/(\w+)/", path)
    if assoc:
        return f"crm.objects.{assoc.group(1)}.read"
    kind = next((k for k in ("companies", "contacts", "deals") if f"/{k}/" in path + "/"), "deals")
    return f"crm.objects.{kind}.read"
