"""The HTTP API, served by a real uvicorn server, on SQLite and on PostgreSQL.

Each backend gets one server over a fresh database seeded with a small CRM
and a few documents posted through the API itself (extracted by a
deterministic fake extractor). Tests that change data work on commitments
they create, so their order does not matter.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from followthrough.api import create_app
from followthrough.config import Settings
from store import Store
from store.api_tokens import ApiTokens
from tests.api_support import AS_OF, BACKENDS, CRM, FakeExtractor, LiveServer, database, email

PROBLEM = "application/problem+json"


@dataclass
class Api:
    url: str
    rw: str
    ro: str
    revoked: str
    database_url: str
    extractor: FakeExtractor

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token if token is not None else self.rw}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


SEED = [
    email(
        "Hi Dana. I'll send the revised pricing by 2026-03-13. Can you confirm the SSO setup? Thanks.",
        external_id="<pricing@northwind.io>",
        title="Pricing",
    ),
    email(
        "Hank, I will share the pilot plan by 2026-03-20.",
        to=("Hank Scorpio", "hank@globex.com"),
        external_id="<pilot@northwind.io>",
    ),
    {
        "source": "slack",
        "external_id": "C123/1710000000.000100",
        "thread_id": "C123/1710000000.000100",
        "occurred_at": "2026-03-11T09:00:00Z",
        "text": "I'll write up the internal retro notes.",
        "participants": [{"name": "Marco Rossi", "email": "marco@northwind.io", "role": "sender"}],
    },
    {
        "source": "meeting",
        "occurred_at": "2026-03-12T15:00:00Z",
        "title": "Acme weekly",
        "text": "I will book the security review by 2026-03-25.",
        "participants": [
            {"name": "Dana Whitfield", "email": "dana@acme.com", "role": "attendee"},
            {"name": "Marco Rossi", "email": "marco@northwind.io", "role": "attendee"},
        ],
    },
] + [
    email(
        f"I'll send update number {n} by 2026-04-{n + 1:02d}." if n % 3 else f"I'll send update number {n}.",
        external_id=f"<update-{n}@northwind.io>",
    )
    for n in range(1, 13)
]


@pytest.fixture(scope="module", params=BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    tmp = tmp_path_factory.mktemp("api")
    with database(request.param, "test_api", tmp) as url:
        with Store(url) as store:
            store.upsert_crm(CRM)
            tokens = ApiTokens(store.engine)
            _, rw = tokens.create("tests")
            _, ro = tokens.create("reader", read_only=True)
            _, revoked = tokens.create("old")
            tokens.revoke("old")
        fake = FakeExtractor()
        settings = Settings(database_url=url, as_of=AS_OF, company_domains={"northwind.io"})
        app = create_app(url, as_of=AS_OF, settings=settings, extractor=fake)
        with LiveServer(app) as server:
            api = Api(server.url, rw, ro, revoked, url, fake)
            with api.client() as c:
                for body in SEED:
                    r = c.post("/v1/documents", json=body)
                    assert r.status_code == 201, r.text
            yield api


def _all(c: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        q = dict(params, **({"cursor": cursor} if cursor else {}))
        r = c.get("/v1/commitments", params=q)
        assert r.status_code == 200, r.text
        page = r.json()
        out.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return out


def _new_commitment(api: Api, label: str) -> dict[str, Any]:
    with api.client() as c:
        r = c.post(
            "/v1/documents", json=email(f"I'll deliver the {label} by 2026-03-30.", external_id=f"<{label}>")
        )
    assert r.status_code == 201, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    (item,) = items
    return item


# ----------------------------------------------------------------------- auth


def test_healthz_needs_no_token(api: Api) -> None:
    r = httpx.get(api.url + "/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok" and r.json()["database"] == "ok"


V1_ROUTES = [
    ("GET", "/v1/commitments"),
    ("GET", "/v1/commitments/1"),
    ("PATCH", "/v1/commitments/1"),
    ("GET", "/v1/deals"),
    ("GET", "/v1/deals/D-100/commitments"),
    ("POST", "/v1/documents"),
]


@pytest.mark.parametrize(("method", "path"), V1_ROUTES)
def test_every_v1_route_refuses_a_missing_token(api: Api, method: str, path: str) -> None:
    r = httpx.request(method, api.url + path, json={"status": "done"})
    assert r.status_code == 401
    assert r.headers["content-type"] == PROBLEM
    assert r.headers["www-authenticate"].startswith("Bearer")
    problem = r.json()
    assert problem["status"] == 401 and problem["title"] == "Unauthorized"
    assert "followthrough tokens create" in problem["detail"]


@pytest.mark.parametrize(
    "header",
    ["Bearer ft_not-a-real-token", "Bearer", "Basic dXNlcjpwYXNz", "ft_missing-scheme", "Bearer revoked"],
)
def test_a_wrong_malformed_or_revoked_token_is_401(api: Api, header: str) -> None:
    if header == "Bearer revoked":
        header = f"Bearer {api.revoked}"
    r = httpx.get(api.url + "/v1/commitments", headers={"Authorization": header})
    assert r.status_code == 401, r.text
    assert r.headers["content-type"] == PROBLEM
    assert api.revoked not in r.text


def test_a_read_only_token_reads_but_cannot_write(api: Api) -> None:
    item = _new_commitment(api, "read-only check")
    with api.client(api.ro) as c:
        assert c.get("/v1/commitments").status_code == 200
        assert c.get(f"/v1/commitments/{item['id']}").status_code == 200
        r = c.patch(f"/v1/commitments/{item['id']}", json={"status": "done"})
        assert r.status_code == 403
        assert r.headers["content-type"] == PROBLEM
        assert "read-only" in r.json()["detail"]
        assert c.post("/v1/documents", json=email("I'll try to sneak in.")).status_code == 403
    with api.client() as c:
        assert c.get(f"/v1/commitments/{item['id']}").json()["status"] == "open"


BAD_JSON = b'{"status": "done", oops'
JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(("method", "path"), [("POST", "/v1/documents"), ("PATCH", "/v1/commitments/1")])
def test_the_token_is_checked_before_the_body(api: Api, method: str, path: str) -> None:
    for auth, status in (
        ({}, 401),
        ({"Authorization": "Bearer ft_not-a-real-token"}, 401),
        ({"Authorization": f"Bearer {api.ro}"}, 403),
    ):
        r = httpx.request(method, api.url + path, content=BAD_JSON, headers={**JSON, **auth})
        assert r.status_code == status, (auth, r.text)
        assert r.headers["content-type"] == PROBLEM
        assert r.json()["status"] == status and "errors" not in r.json()
        if status == 401:
            assert r.headers["www-authenticate"].startswith("Bearer")
    r = httpx.request(
        method, api.url + path, content=BAD_JSON, headers={**JSON, "Authorization": f"Bearer {api.rw}"}
    )
    assert r.status_code == 422  # with a good token the body is looked at


def test_the_token_is_checked_before_the_query_and_path(api: Api) -> None:
    bad: list[tuple[str, dict[str, str | int]]] = [
        ("/v1/commitments", {"limit": 0, "status": "late", "due_before": "next friday"}),
        ("/v1/commitments", {"cursor": "not-a-cursor"}),
        ("/v1/commitments/abc", {}),
        ("/v1/commitments/99999999999999999999", {}),
        ("/v1/no-such-route", {}),
    ]
    for path, params in bad:
        for headers in ({}, {"Authorization": f"Bearer {api.revoked}"}):
            r = httpx.get(api.url + path, params=params, headers=headers)
            assert r.status_code == 401, (path, params, r.text)
            assert r.headers["content-type"] == PROBLEM
            assert r.headers["www-authenticate"].startswith("Bearer")
    with api.client(api.ro) as c:  # a read-only token reads, so its GETs reach validation
        assert c.get("/v1/commitments", params={"limit": 0}).status_code == 422


def test_tokens_never_reach_the_logs(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with api.client() as c:
        c.get("/v1/commitments", params={"limit": 1})
        c.get("/v1/commitments/999999")
        c.patch("/v1/commitments/1", json={"status": "nope"})
    httpx.get(api.url + "/v1/deals", headers={"Authorization": f"Bearer {api.revoked}"})
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert '"GET /v1/commitments?limit=1 HTTP/1.1" 200' in text  # the access log was captured
    for secret in (api.rw, api.ro, api.revoked):
        assert secret not in text
        assert secret[10:] not in text
    assert "authorization" not in text.lower()


# ----------------------------------------------------------------- documents


def test_posting_a_document_returns_the_items_found_grounded_and_linked(api: Api) -> None:
    text = "Hello Dana.\nI'll send the SOC 2 report by 2026-03-18. Can you share the vendor form?"
    with api.client() as c:
        r = c.post("/v1/documents", json=email(text, external_id="<soc2@northwind.io>"))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["source"] == "email" and body["external_id"] == "<soc2@northwind.io>"
    assert body["stored"] == "new" and body["cached"] is False
    by_type = {i["type"]: i for i in body["items"]}
    assert set(by_type) == {"commitment", "request"}
    promise = by_type["commitment"]
    assert promise["owner"] == "marco@northwind.io"
    assert promise["due"] == "2026-03-18"
    assert promise["status"] == "open"
    assert promise["message_id"] == "<soc2@northwind.io>"
    (ev,) = promise["quotes"]
    assert (
        text[ev["char_start"] : ev["char_end"]] == ev["quote"] == "I'll send the SOC 2 report by 2026-03-18."
    )
    assert promise["deal"]["crm_id"] == "D-100"
    assert promise["link_method"] == "contact"


def test_posting_the_same_document_twice_stores_it_once(api: Api) -> None:
    body = email("I'll send the reference list by 2026-03-19.")  # no external_id: derived from content
    with api.client() as c:
        first = c.post("/v1/documents", json=body).json()
        calls = api.extractor.calls
        second = c.post("/v1/documents", json=body)
    assert second.status_code == 200  # known already: 201 only when created
    again = second.json()
    assert again["stored"] == "unchanged" and again["cached"] is True
    assert again["external_id"] == first["external_id"]
    assert [i["id"] for i in again["items"]] == [i["id"] for i in first["items"]]
    assert api.extractor.calls == calls  # served from the extraction cache


def test_a_document_body_is_validated(api: Api) -> None:
    with api.client() as c:
        bad = [
            {"source": "fax", "occurred_at": "2026-03-10T10:00:00Z", "text": "hi"},
            {"source": "email", "occurred_at": "2026-03-10T10:00:00", "text": "naive time"},
            {"source": "email", "occurred_at": "2026-03-10T10:00:00Z", "text": ""},
            {"source": "email", "occurred_at": "2026-03-10T10:00:00Z", "text": "nul \x00 byte"},
            {"source": "email", "occurred_at": "2026-03-10T10:00:00Z", "text": "x", "extra": 1},
            {"source": "slack", "occurred_at": "2026-03-10T10:00:00Z"},
        ]
        for body in bad:
            r = c.post("/v1/documents", json=body)
            assert r.status_code == 422, (body, r.text)
            assert r.headers["content-type"] == PROBLEM
            assert r.json()["errors"], r.text
        r = c.post("/v1/documents", content=b"{not json", headers={"content-type": "application/json"})
        assert r.status_code == 422


# ---------------------------------------------------------------- listing


def test_lists_open_commitments_lean_and_with_their_evidence_on_request(api: Api) -> None:
    with api.client() as c:
        r = c.get("/v1/commitments")
        expanded = c.get("/v1/commitments", params={"expand": "evidence"}).json()
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    page = r.json()
    assert set(page) == {"items", "next_cursor"}
    assert page["items"] and all(i["status"] == "open" for i in page["items"])
    assert all(i["evidence"] is None and "history" not in i for i in page["items"])  # lean by default
    assert [i["id"] for i in expanded["items"]] == [i["id"] for i in page["items"]]
    assert all(i["evidence"] for i in expanded["items"])


def test_filters(api: Api) -> None:
    with api.client() as c:
        overdue = _all(c, overdue="true")
        assert overdue and all(i["due"] < AS_OF.isoformat() for i in overdue)
        assert any(i["action"].startswith("Send the revised pricing") for i in overdue)

        acme = _all(c, deal="D-100")
        assert acme and all(i["deal"]["crm_id"] == "D-100" for i in acme)
        assert not any(i["deal"] and i["deal"]["crm_id"] == "D-200" for i in acme)

        unlinked = _all(c, unlinked="true")
        assert unlinked and all(i["deal"] is None for i in unlinked)
        assert any("retro notes" in i["action"] for i in unlinked)  # internal-only Slack message

        slack = _all(c, source="slack")
        assert slack and {i["source"] for i in slack} == {"slack"}

        requests = _all(c, type="request")
        assert requests and {i["type"] for i in requests} == {"request"}

        before = _all(c, due_before="2026-03-21")
        assert before and all(i["due"] and i["due"] < "2026-03-21" for i in before)

        mine = _all(c, owner="marco@northwind.io")
        assert mine and all(i["owner"] == "marco@northwind.io" for i in mine)
        assert _all(c, owner="MARCO@NORTHWIND.IO") == mine
        # an owner nobody has is an error naming the people there are, never an empty page (issue 12)
        nobody = c.get("/v1/commitments", params={"owner": "nobody@example.com"})
        assert nobody.status_code == 422 and "marco@northwind.io" in nobody.json()["detail"], nobody.text


def test_cursor_pages_visit_every_item_once_in_a_stable_order(api: Api) -> None:
    with api.client() as c:
        everything = _all(c, status="all", limit=500)
        pages = []
        cursor = None
        while True:
            r = c.get(
                "/v1/commitments",
                params={"status": "all", "limit": 4, **({"cursor": cursor} if cursor else {})},
            )
            page = r.json()
            assert len(page["items"]) <= 4
            pages.append(page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
    paged = [i["id"] for p in pages for i in p]
    assert len(pages) > 2
    assert paged == [i["id"] for i in everything]
    assert len(set(paged)) == len(paged)
    dues = [i["due"] for i in everything]
    dated = [d for d in dues if d is not None]
    assert dated == sorted(dated)
    assert dues[: len(dated)] == dated  # undated last


def test_a_bad_cursor_or_filter_is_a_422_problem(api: Api) -> None:
    with api.client() as c:
        for params in (
            {"cursor": "not-a-cursor"},
            {"status": "late"},
            {"limit": 0},
            {"limit": 501},
            {"due_before": "next friday"},
            {"overdue": "maybe"},
            {"source": "fax"},
            {"owner": "a\x00b"},
        ):
            r = c.get("/v1/commitments", params=params)
            assert r.status_code == 422, (params, r.text)
            assert r.headers["content-type"] == PROBLEM
            problem = r.json()
            assert problem["status"] == 422 and problem["detail"] and problem["errors"]
            assert problem["errors"][0]["loc"][0] == "query"


# ------------------------------------------------------------- one commitment


def test_one_commitment_has_evidence_source_and_deal(api: Api) -> None:
    with api.client() as c:
        (item,) = [i for i in _all(c, deal="D-100") if i["action"].startswith("Send the revised pricing")]
        r = c.get(f"/v1/commitments/{item['id']}")
    assert r.status_code == 200
    one = r.json()
    assert one["message_id"] == "<pricing@northwind.io>"
    assert one["source"] == "email" and one["document_title"] == "Pricing"
    assert one["evidence"] == one["quotes"][0]["quote"] == "I'll send the revised pricing by 2026-03-13."
    assert one["deal"] == {
        "crm_id": "D-100",
        "name": "Acme Corp expansion",
        "account": "Acme Corp",
        "stage": "Negotiation",
        "amount": 120000.0,
        "close_date": "2026-04-30",
        "tier": "1",
    }
    assert one["overdue_days"] == 3
    assert one["history"][0]["new"] == "open"


def test_unknown_ids_are_404_problems(api: Api) -> None:
    with api.client() as c:
        for path in ("/v1/commitments/987654", "/v1/deals/NO-SUCH-DEAL/commitments"):
            r = c.get(path)
            assert r.status_code == 404, r.text
            assert r.headers["content-type"] == PROBLEM
            assert "no " in r.json()["detail"]
        r = c.patch("/v1/commitments/987654", json={"status": "done"})
        assert r.status_code == 404
        assert c.get("/v1/commitments/abc").status_code == 422
        assert c.get("/v1/commitments/99999999999999999999").status_code == 422
        r = c.get("/v1/no-such-route")
        assert r.status_code == 404 and r.headers["content-type"] == PROBLEM
        r = c.delete("/v1/commitments/1")
        assert r.status_code == 405 and r.headers["content-type"] == PROBLEM


# --------------------------------------------------------------------- PATCH


def test_patch_done_sticks_and_is_in_the_history(api: Api) -> None:
    item = _new_commitment(api, "done check")
    with api.client() as c:
        r = c.patch(f"/v1/commitments/{item['id']}", json={"status": "done", "note": "sent on Monday"})
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "done"
        again = c.get(f"/v1/commitments/{item['id']}").json()
        assert again["status"] == "done"
        change = again["history"][-1]
        assert (change["field"], change["old"], change["new"]) == ("status", "open", "done")
        assert change["actor"] == "api:tests" and change["note"] == "sent on Monday"
        assert item["id"] not in {i["id"] for i in _all(c)}
        assert item["id"] in {i["id"] for i in _all(c, status="done")}
        r = c.patch(f"/v1/commitments/{item['id']}", json={"status": "open"})
        assert r.json()["status"] == "open"


def test_patch_snooze_needs_a_future_until(api: Api) -> None:
    item = _new_commitment(api, "snooze check")
    url = f"/v1/commitments/{item['id']}"
    with api.client() as c:
        for body in (
            {"status": "snoozed"},
            {"status": "snoozed", "until": "2026-03-16"},
            {"status": "done", "until": "2026-04-01"},
            {},
            {"status": "closed"},
            {"status": "done", "colour": "red"},
        ):
            r = c.patch(url, json=body)
            assert r.status_code == 422, (body, r.text)
            assert r.headers["content-type"] == PROBLEM
        r = c.patch(url, json={"status": "snoozed", "until": "2026-04-01"})
        assert r.status_code == 200
        assert (r.json()["status"], r.json()["snoozed_until"]) == ("snoozed", "2026-04-01")
        assert item["id"] not in {i["id"] for i in _all(c)}
        assert item["id"] in {i["id"] for i in _all(c, status="snoozed")}


def test_patch_links_and_unlinks_a_deal(api: Api) -> None:
    item = _new_commitment(api, "link check")
    url = f"/v1/commitments/{item['id']}"
    with api.client() as c:
        r = c.patch(url, json={"deal": "D-200"})
        assert r.status_code == 200, r.text
        assert r.json()["deal"]["crm_id"] == "D-200" and r.json()["link_method"] == "manual"
        assert item["id"] in {i["id"] for i in _all(c, deal="D-200")}
        r = c.patch(url, json={"deal": "NOPE-1"})
        assert r.status_code == 422 and "NOPE-1" in r.json()["detail"]
        r = c.patch(url, json={"deal": None, "status": "dismissed"})
        assert r.status_code == 200
        assert r.json()["deal"] is None and r.json()["status"] == "dismissed"
        fields = [h["field"] for h in r.json()["history"]]
        assert fields.count("deal") == 2 and "status" in fields


# --------------------------------------------------------------------- deals


def test_deals_and_a_deals_commitments_with_health(api: Api) -> None:
    with api.client() as c:
        deals = c.get("/v1/deals").json()["items"]
        assert {d["crm_id"] for d in deals} == {"D-100", "D-200"}
        acme = next(d for d in deals if d["crm_id"] == "D-100")
        assert acme["overdue_count"] >= 1 and acme["health"] == "at risk"
        r = c.get("/v1/deals/D-100/commitments")
    assert r.status_code == 200
    body = r.json()
    assert body["deal"]["crm_id"] == "D-100"
    health = body["health"]
    assert health["status"] == "at risk"
    assert health["overdue"] >= 1 and health["open"] >= health["overdue"]
    assert health["total"] == len(body["items"])
    assert all(i["deal"]["crm_id"] == "D-100" for i in body["items"])


# ------------------------------------------------------------------- OpenAPI


def test_openapi_lists_every_route_with_bearer_auth_and_problem_errors(api: Api) -> None:
    spec = httpx.get(api.url + "/openapi.json").json()
    assert set(spec["paths"]) == {
        "/healthz",
        "/v1/accounts",
        "/v1/accounts/{account_id}",
        "/v1/commitments",
        "/v1/commitments/{commitment_id}",
        "/v1/commitments/{commitment_id}/split",
        "/v1/deals",
        "/v1/deals/{deal_id}/commitments",
        "/v1/documents",
    }
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if path.startswith("/v1"):
                assert op["security"] == [{"HTTPBearer": []}], (method, path)
                assert "401" in op["responses"]
                if method in ("post", "patch"):
                    assert {"403", "413"} <= set(op["responses"]), (method, path)
            for code, resp in op["responses"].items():
                if code[0] in "45":
                    assert list(resp["content"]) == [PROBLEM], (method, path, code)
    assert spec["paths"]["/v1/documents"]["post"]["responses"]["201"]


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'offline.db'}"


def test_the_default_offline_extractor_serves_post_documents(sqlite_url: str) -> None:
    with Store(sqlite_url) as store:
        store.upsert_crm(CRM)
        _, token = ApiTokens(store.engine).create("offline")
    with LiveServer(create_app(sqlite_url, as_of=AS_OF)) as server:
        r = httpx.post(
            server.url + "/v1/documents",
            headers={"Authorization": f"Bearer {token}"},
            json=email("Hi Dana,\n\nI'll send you the revised pricing by Friday.\n\nBest,\nMarco"),
            timeout=60,
        )
    assert r.status_code == 201, r.text
    items = r.json()["items"]
    assert any(i["type"] == "commitment" and "pricing" in i["action"].lower() for i in items), items
    assert all(i["alignment"] in ("exact", "fuzzy") for i in items)
