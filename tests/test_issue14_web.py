"""The dashboard over HTTP: a real uvicorn server on the demo workspace, driven with httpx.

Sign-in with an API token then a session cookie; CSRF refused without the form's token; a read-only
token sees but cannot act; every page renders the demo's data; every action lands in the item's
history under the token's name (read back through the API); errors are pages; nothing of a token
reaches a page or a cookie.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from followthrough.api import create_app
from store import ApiTokens, Store
from tests.api_support import BACKENDS, LiveServer, database
from tests.clirunner import followthrough
from tests.conftest import DEMO, DEMO_EXPECTED

EXPECTED = json.loads(DEMO_EXPECTED.read_text())
AS_OF = date.fromisoformat(EXPECTED["as_of"])
PAGES = {
    "/": "attention",
    "/mine": "mine",
    "/deals": "deals",
    "/accounts": "accounts",
    "/review": "review",
    "/login": "login",
}


@dataclass
class Dashboard:
    url: str
    database: str
    writer: str  # a read-write token speaking for marco@northwind.io
    reader: str  # a read-only token

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, follow_redirects=False, timeout=30)

    def api(self, path: str) -> Any:
        with httpx.Client(base_url=self.url, timeout=30) as c:
            r = c.get(path, headers={"Authorization": f"Bearer {self.writer}"})
            r.raise_for_status()
            return r.json()


@pytest.fixture(scope="module", params=BACKENDS)
def dashboard(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Dashboard]:
    tmp = tmp_path_factory.mktemp("web")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FOLLOWTHROUGH_HOME", str(tmp / "home"))
        with database(request.param, "web", tmp) as url:
            run = followthrough("--as-of", EXPECTED["as_of"], "run", str(DEMO), db=url)
            assert run.returncode == 0, run.stderr
            with Store(url) as store:
                tokens = ApiTokens(store.engine)
                _, writer = tokens.create("dana-laptop", person_email="marco@northwind.io")
                _, reader = tokens.create("wallboard", read_only=True)
            with LiveServer(create_app(url, as_of=AS_OF)) as server:
                yield Dashboard(server.url, url, writer, reader)


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "no CSRF field in the page"
    return found.group(1)


def sign_in(c: httpx.Client, token: str, next_path: str = "/") -> httpx.Response:
    form = c.get("/login", params={"next": next_path})
    assert form.status_code == 200
    return c.post("/login", data={"token": token, "csrf_token": csrf_of(form.text), "next": next_path})


@contextmanager
def signed_in(d: Dashboard, token: str | None = None) -> Iterator[httpx.Client]:
    with d.client() as c:
        r = sign_in(c, token or d.writer)
        assert r.status_code == 303, r.text
        yield c


def item_ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<article class="item[^"]*" data-item-id="(\d+)"', page)]


def section(page: str, section_id: str) -> str:
    start = page.index(f'<section id="{section_id}"')
    return page[start : page.index("</section>", start)]


def history(d: Dashboard, cid: int) -> list[dict[str, Any]]:
    return list(d.api(f"/v1/commitments/{cid}")["history"])


def act(c: httpx.Client, cid: int, action: str, **fields: str) -> httpx.Response:
    page = c.get(f"/items/{cid}")
    assert page.status_code == 200
    data = {"csrf_token": csrf_of(page.text), "action": action, "next": f"/items/{cid}", **fields}
    return c.post(f"/items/{cid}/actions", data=data)


def open_item(d: Dashboard, **query: str) -> dict[str, Any]:
    """An open item no other test of this module acts on (each test takes the ones it needs)."""
    items = d.api("/v1/commitments?" + "&".join(f"{k}={v}" for k, v in query.items()))["items"]
    assert items, f"the demo has no open item for {query}"
    return dict(items[0])


# --- sign-in, sessions, CSRF -------------------------------------------------------------------------


def test_a_visitor_is_sent_to_the_login_form(dashboard: Dashboard) -> None:
    with dashboard.client() as c:
        r = c.get("/deals")
        assert r.status_code == 303
        assert r.headers["location"] == "/login?next=/deals"
        form = c.get(r.headers["location"])
    assert form.status_code == 200
    assert '<form method="post" action="/login">' in form.text
    assert re.search(r'<input id="token" name="token"', form.text)
    assert '<button type="submit">Sign in</button>' in form.text
    assert 'data-page="login"' in form.text
    with dashboard.client() as c:  # a form posted after the session ended: back to its item
        r = c.post("/items/3/actions", data={"action": "done"})
        assert r.status_code == 303 and r.headers["location"] == "/login?next=/items/3"


def test_sign_in_starts_a_session_that_holds_no_token(dashboard: Dashboard) -> None:
    with dashboard.client() as c:
        r = sign_in(c, dashboard.writer, "/review")
        assert r.status_code == 303
        assert r.headers["location"] == "/review"
        cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("followthrough_session="))
        attributes = {a.strip().split("=")[0].lower() for a in cookie.split(";")[1:]}
        assert {"httponly", "samesite", "path", "max-age"} <= attributes
        assert "samesite=lax" in cookie.lower()
        assert "secure" not in attributes  # plain http on loopback; Secure when served over HTTPS
        assert dashboard.writer not in cookie and dashboard.writer[3:20] not in cookie
        page = c.get("/review")
        assert page.status_code == 200
        assert dashboard.writer not in page.text


def test_next_never_leads_off_the_site(dashboard: Dashboard) -> None:
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
        with dashboard.client() as c:
            r = sign_in(c, dashboard.writer, target)
            assert r.status_code == 303 and r.headers["location"] == "/", target
    with signed_in(dashboard) as c:
        cid = open_item(dashboard, owner="tom@northwind.io")["id"]
        page = c.get(f"/items/{cid}").text
        r = c.post(
            f"/items/{cid}/actions",
            data={"csrf_token": csrf_of(page), "action": "confirm", "next": "//evil.example/"},
        )
        assert r.status_code == 303 and r.headers["location"] == f"/items/{cid}"


def test_a_wrong_or_revoked_token_is_refused_and_a_revoked_one_ends_the_session(dashboard: Dashboard) -> None:
    with dashboard.client() as c:
        r = sign_in(c, "ft_not-a-token")
        assert r.status_code == 401
        assert "followthrough_session" not in r.headers.get("set-cookie", "")
        assert "ft_not-a-token" not in r.text  # never echoed
    with Store(dashboard.database) as store:
        _, doomed = ApiTokens(store.engine).create("doomed")
    with signed_in(dashboard, doomed) as c:
        assert c.get("/").status_code == 200
        with Store(dashboard.database) as store:
            ApiTokens(store.engine).revoke("doomed")
        r = c.get("/")
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
        assert sign_in(c, doomed).status_code == 401


def test_a_scripts_bare_post_login_signs_in(dashboard: Dashboard) -> None:
    """``curl -d "token=$TOKEN" .../login``: no cookie, no CSRF field, no Origin: signed in."""
    with dashboard.client() as c:
        r = c.post("/login", data={"token": dashboard.writer})
        assert r.status_code == 303 and r.headers["location"] == "/"
        assert c.get("/").status_code == 200
    with dashboard.client() as c:  # from this very site's page (a form without the field)
        r = c.post("/login", data={"token": dashboard.writer}, headers={"Origin": dashboard.url})
        assert r.status_code == 303
    for data in ({"token": "ft_not-a-token"}, {}, {"token": ""}):
        with dashboard.client() as c:
            r = c.post("/login", data=data)
            assert r.status_code == 401, data
            assert "not valid" in r.text and "expired" not in r.text, data
            assert "followthrough_session" not in r.headers.get("set-cookie", "")


def test_login_needs_its_csrf_token_and_a_same_origin_post(dashboard: Dashboard) -> None:
    with dashboard.client() as c:
        for headers in ({"Origin": "https://evil.example"}, {"Referer": "https://evil.example/page"}):
            cross = c.post("/login", data={"token": dashboard.writer}, headers=headers)
            assert cross.status_code == 403, headers  # login CSRF: signing the visitor in as someone
            assert "followthrough_session" not in cross.headers.get("set-cookie", "")
        wrong_field = c.post("/login", data={"token": dashboard.writer, "csrf_token": "guess"})
        assert wrong_field.status_code == 403 and "expired" in wrong_field.text
        form = c.get("/login")
        forged = c.post(
            "/login",
            data={"token": dashboard.writer, "csrf_token": csrf_of(form.text)},
            headers={"Origin": "https://evil.example"},
        )
        assert forged.status_code == 403
        assert "followthrough_session" not in forged.headers.get("set-cookie", "")
    with dashboard.client() as other, dashboard.client() as victim:  # another browser's form value
        stolen = csrf_of(victim.get("/login").text)
        other.get("/login")
        assert other.post("/login", data={"token": dashboard.writer, "csrf_token": stolen}).status_code == 403


def test_an_action_without_the_sessions_csrf_token_is_refused(dashboard: Dashboard) -> None:
    cid = open_item(dashboard, owner="tom@northwind.io")["id"]
    before = history(dashboard, cid)
    with signed_in(dashboard) as c:
        r = c.post(f"/items/{cid}/actions", data={"action": "done", "csrf_token": "guess"})
        assert r.status_code == 403
        assert 'data-page="error"' in r.text
        r = c.post(f"/items/{cid}/actions", data={"action": "done"})
        assert r.status_code == 403
    assert history(dashboard, cid) == before
    assert dashboard.api(f"/v1/commitments/{cid}")["status"] == "open"


def test_sign_out_ends_the_session(dashboard: Dashboard) -> None:
    with signed_in(dashboard) as c:
        page = c.get("/accounts")
        assert c.post("/logout", data={}).status_code == 403  # CSRF-checked too
        copied = c.cookies.get("followthrough_session")
        assert copied
        r = c.post("/logout", data={"csrf_token": csrf_of(page.text)})
        assert r.status_code == 303 and r.headers["location"] == "/login"
        assert 'followthrough_session=""' in r.headers["set-cookie"]
        assert c.get("/").status_code == 303
    cid = open_item(dashboard, owner="tom@northwind.io")["id"]
    with dashboard.client() as replay:  # the cookie copied before signing out is worth nothing now
        replay.cookies.set("followthrough_session", copied)
        r = replay.get("/accounts")
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
        r = replay.post(f"/items/{cid}/actions", data={"action": "done", "csrf_token": csrf_of(page.text)})
        assert r.status_code == 403
    assert dashboard.api(f"/v1/commitments/{cid}")["status"] == "open"


def test_a_read_only_token_sees_every_page_but_cannot_act(dashboard: Dashboard) -> None:
    cid = open_item(dashboard, owner="tom@northwind.io")["id"]
    with signed_in(dashboard, dashboard.reader) as c:
        for path in ("/", "/mine?owner=priya@northwind.io", "/review", f"/items/{cid}"):
            page = c.get(path)
            assert page.status_code == 200, path
            assert 'value="done"' not in page.text and "/actions" not in page.text, path
            assert "read-only" in page.text
        csrf = csrf_of(c.get("/").text)  # the sign-out form's
        r = c.post(f"/items/{cid}/actions", data={"action": "done", "csrf_token": csrf})
        assert r.status_code == 403
        assert "read-only" in r.text
    assert dashboard.api(f"/v1/commitments/{cid}")["status"] == "open"


# --- pages ---------------------------------------------------------------------------------------------


def test_every_page_renders_the_demo(dashboard: Dashboard) -> None:
    with signed_in(dashboard) as c:
        for path, name in PAGES.items():
            r = c.get(path)
            if path == "/login":  # signed in: straight on
                assert r.status_code == 303
                continue
            assert r.status_code == 200, path
            assert f'<main id="content" data-page="{name}"' in r.text, path
            assert r.headers["content-type"].startswith("text/html")
            assert "no-store" in r.headers["cache-control"]
        deals = c.get("/deals").text
        for crm_id in ("D-1001", "D-1002"):
            assert f'href="/deals/{crm_id}"' in deals
        deal = c.get("/deals/D-1002")
        assert deal.status_code == 200 and item_ids(deal.text)
        accounts = c.get("/accounts").text
        assert "Massive Dynamic" in accounts and "silent" in accounts
        silent = c.get("/accounts", params={"silent": "1"}).text
        assert "Massive Dynamic" in silent and "Globex" not in silent


def test_needs_attention_shows_the_overdue_items_with_their_evidence_and_why(dashboard: Dashboard) -> None:
    with signed_in(dashboard) as c:
        page = c.get("/").text
    for sid in ("overdue", "due-soon", "unanswered", "unlinked", "silent", "waiting"):
        assert f'<section id="{sid}"' in page
    overdue = html.unescape(section(page, "overdue"))
    planted = [i for i in EXPECTED["items"] if i.get("overdue") and i["type"] == "commitment"]
    assert planted
    found = [i for i in planted if i["evidence_contains"] in overdue]
    assert found, "no planted overdue commitment in the Overdue section"
    for article in re.findall(r"<article.*?</article>", section(page, "overdue"), re.S):
        assert '<blockquote class="evidence"' in article
        assert 'class="why"' in article  # each ranked with its reason
        assert 'value="done">Done</button>' in article
    assert "Massive Dynamic" in section(page, "silent")


def test_unanswered_requests_show_their_age_against_the_target_and_stand_out(dashboard: Dashboard) -> None:
    with signed_in(dashboard) as c:
        unanswered = section(c.get("/").text, "unanswered")
    articles = re.findall(r"<article.*?</article>", unanswered, re.S)
    assert articles
    late = [a for a in articles if 'class="item late' in a]
    assert late, "no request past its target stands out"
    assert all(re.search(r"asked \d+h ago · target 24h · <strong>\d+h over</strong>", a) for a in late)


def test_my_items_are_the_tokens_person_by_default_or_the_one_picked(dashboard: Dashboard) -> None:
    with signed_in(dashboard) as c:
        mine = c.get("/mine").text
        other = c.get("/mine", params={"owner": "priya@northwind.io"}).text
        nobody = c.get("/mine", params={"owner": "no-such-person@nowhere.example"})
    marco = dashboard.api("/v1/commitments?owner=marco@northwind.io&limit=500")["items"]
    priya = dashboard.api("/v1/commitments?owner=priya@northwind.io&limit=500")["items"]
    assert "marco@northwind.io" in mine
    assert set(item_ids(mine)) <= {i["id"] for i in marco}
    assert set(item_ids(other)) <= {i["id"] for i in priya} and item_ids(other)
    assert nobody.status_code == 404 and 'role="alert"' in nobody.text and "No such owner" in nobody.text


def test_the_item_page_marks_the_evidence_inside_its_source(dashboard: Dashboard) -> None:
    overdue = next(i for i in EXPECTED["items"] if i.get("overdue") and i["deal"] == "D-1002")
    listed = dashboard.api("/v1/commitments?status=all&limit=500&expand=evidence")["items"]
    item = next(i for i in listed if any(overdue["evidence_contains"] in e["quote"] for e in i["quotes"]))
    with signed_in(dashboard) as c:
        page = c.get(f"/items/{item['id']}")
    assert page.status_code == 200
    marks = [html.unescape(m) for m in re.findall(r"<mark>(.*?)</mark>", page.text, re.S)]
    assert item["evidence"] == item["quotes"][0]["quote"] and item["evidence"] in marks
    assert 'href="/deals/D-1002"' in page.text
    assert '<section id="history"' in page.text and '<section id="thread"' in page.text


def test_errors_are_pages(dashboard: Dashboard) -> None:
    with signed_in(dashboard) as c:
        wrong = (("/items/999999", 404), ("/items/abc", 404), ("/deals/NOPE-1", 404), ("/?x=1", 400))
        for path, status in wrong:
            r = c.get(path)
            assert r.status_code == status, path
            assert 'data-page="error"' in r.text and "Traceback" not in r.text
        unknown = c.get("/no-such-page", headers={"Accept": "text/html"})
        assert unknown.status_code == 404 and 'data-page="error"' in unknown.text
    with httpx.Client(base_url=dashboard.url) as api:  # the API keeps its problem+json
        r = api.get("/v1/nope", headers={"Authorization": f"Bearer {dashboard.writer}"})
        assert r.headers["content-type"].startswith("application/problem+json")


def test_every_asset_is_served_from_the_package(dashboard: Dashboard) -> None:
    with signed_in(dashboard) as c:
        pages = [c.get(p).text for p in ("/", "/review", "/deals")]
        assets = {a for page in pages for a in re.findall(r'(?:src|href)="([^"#]+)"', page)}
        assert all(a.startswith("/") and not a.startswith("//") for a in assets), assets
        for asset in ("/static/style.css", "/static/vendor/htmx/htmx.min.js", "/static/favicon.svg"):
            assert asset in assets
            r = c.get(asset)
            assert r.status_code == 200 and r.content, asset


# --- actions -------------------------------------------------------------------------------------------


def _by(entries: list[dict[str, Any]], field: str) -> list[dict[str, Any]]:
    return [h for h in entries if h["field"] == field and h["actor"] == "web:dana-laptop"]


def test_done_and_reopen_land_in_history_and_the_item_leaves_the_list(dashboard: Dashboard) -> None:
    cid = open_item(dashboard, owner="priya@northwind.io", overdue="true")["id"]
    with signed_in(dashboard) as c:
        assert cid in item_ids(section(c.get("/").text, "overdue"))
        r = act(c, cid, "done")
        assert r.status_code == 303 and r.headers["location"] == f"/items/{cid}"
        assert cid not in item_ids(section(c.get("/").text, "overdue"))
        assert dashboard.api(f"/v1/commitments/{cid}")["status"] == "done"
        assert act(c, cid, "reopen").status_code == 303
    entries = _by(history(dashboard, cid), "status")
    assert [(h["old"], h["new"]) for h in entries] == [("open", "done"), ("done", "open")]


def test_dismiss_snooze_edit_and_link_land_in_history(dashboard: Dashboard) -> None:
    item = open_item(dashboard, owner="marco@northwind.io", due_before="2026-03-15")
    cid = item["id"]
    with signed_in(dashboard) as c:
        assert act(c, cid, "snooze", until="2026-04-01").status_code == 303
        snoozed = dashboard.api(f"/v1/commitments/{cid}")
        assert snoozed["status"] == "snoozed" and snoozed["snoozed_until"] == "2026-04-01"
        assert act(c, cid, "snooze", until="2026-03-01").status_code == 422  # not after today
        assert act(c, cid, "reopen").status_code == 303
        fields = {"owner": "priya@northwind.io", "due": "2026-03-30", "text": "Send the revised proposal"}
        r = act(c, cid, "edit", **fields)
        assert r.status_code == 303
        edited = dashboard.api(f"/v1/commitments/{cid}")
        assert edited["owner"] == "priya@northwind.io"
        assert edited["due"] == "2026-03-30" and edited["action"] == "Send the revised proposal"
        assert act(c, cid, "link", deal="D-1005").status_code == 303
        assert dashboard.api(f"/v1/commitments/{cid}")["deal"]["crm_id"] == "D-1005"
        assert act(c, cid, "link", deal="no such deal at all").status_code == 422
        assert act(c, cid, "dismiss").status_code == 303
    h = history(dashboard, cid)
    assert [e["new"] for e in _by(h, "status")] == ["snoozed", "open", "dismissed"]
    assert _by(h, "owner") and _by(h, "due") and _by(h, "action") and _by(h, "deal")
    assert _by(h, "deal")[-1]["new"] == "D-1005"


def test_review_lists_the_least_sure_items_and_confirm_takes_one_off(dashboard: Dashboard) -> None:
    with signed_in(dashboard) as c:
        page = c.get("/review").text
        ids = item_ids(page)
        assert ids, "the demo has low-confidence items to review"
        cid = ids[-1]
        r = c.post(
            f"/items/{cid}/actions",
            data={"csrf_token": csrf_of(page), "action": "confirm", "next": "/review", "context": "queue"},
            headers={"HX-Request": "true"},
        )
        assert r.status_code == 200
        assert 'class="notice"' in r.text and "<article" not in r.text  # htmx: the item leaves the list
        assert cid not in item_ids(c.get("/review").text)
    confirmed = [e for e in history(dashboard, cid) if e["actor"] == "web:dana-laptop"]
    assert confirmed and confirmed[-1]["note"] == "confirmed"


def test_an_htmx_action_answers_the_updated_item(dashboard: Dashboard) -> None:
    cid = open_item(dashboard, owner="priya@northwind.io", unlinked="true")["id"]
    with signed_in(dashboard) as c:
        page = c.get(f"/items/{cid}").text
        r = c.post(
            f"/items/{cid}/actions",
            data={"csrf_token": csrf_of(page), "action": "link", "deal": "D-1002", "context": "item"},
            headers={"HX-Request": "true"},
        )
    assert r.status_code == 200
    assert f'data-item-id="{cid}"' in r.text and 'href="/deals/D-1002"' in r.text
    assert "<html" not in r.text


def test_the_vendored_htmx_is_the_published_file_with_its_licence() -> None:
    folder = Path(__file__).resolve().parents[1] / "followthrough" / "web" / "static" / "vendor" / "htmx"
    listed = {
        name: digest
        for digest, name in re.findall(
            r"^([0-9a-f]{64})  (\S+)$", (folder / "PROVENANCE.md").read_text(), re.M
        )
    }
    assert {"htmx.min.js", "LICENSE"} <= set(listed)
    for name in ("htmx.min.js", "LICENSE"):
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == listed[name], name
    assert "Zero-Clause BSD" in (folder / "LICENSE").read_text()


# --- tokens speak for a person ---------------------------------------------------------------------------


def test_tokens_create_person(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    made = followthrough("tokens", "create", "--name", "dana", "--person", "Dana@Acme.com", db=db)
    assert made.returncode == 0, made.stderr
    assert "for dana@acme.com" in made.stderr
    listed = json.loads(followthrough("tokens", "list", "--json", db=db).stdout)
    assert listed[0]["person_email"] == "dana@acme.com"
    bad = followthrough("tokens", "create", "--name", "x", "--person", "not an email", db=db)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    with Store(f"sqlite:///{db}") as store:
        principal = ApiTokens(store.engine).verify(made.stdout.strip().splitlines()[-1])
    assert principal is not None and principal.person_email == "dana@acme.com"


# --- follow-ups of a new user's first look ---------------------------------------------------------------


def another_token(d: Dashboard, name: str) -> str:
    """A read-write token of its own, so that what a test does is not another test's history."""
    with Store(d.database) as store:
        return ApiTokens(store.engine).create(name)[1]


def test_a_page_past_the_last_is_an_empty_page_with_a_way_back(dashboard: Dashboard) -> None:
    with signed_in(dashboard) as c:
        first = c.get("/deals", params={"page": "1"})
        assert first.status_code == 200 and 'href="/deals/D-1001"' in first.text
        r = c.get("/deals", params={"page": "999"})
        assert r.status_code == 200
        assert "No deals on this page" in r.text and '<a href="/deals">' in r.text
        assert 'href="/deals/D-1001"' not in r.text
        for page in ("0", "-1", "x"):  # not a page number: the first page
            r = c.get("/deals", params={"page": page})
            assert r.status_code == 200 and 'href="/deals/D-1001"' in r.text, page


def test_an_unknown_outside_owner_is_refused_and_a_new_colleague_is_not(dashboard: Dashboard) -> None:
    item = open_item(dashboard, owner="tom@northwind.io")
    cid = item["id"]
    token = another_token(dashboard, "owner-laptop")
    with signed_in(dashboard, token) as c:
        r = act(c, cid, "edit", owner="nobody@typo-corp.example")
        assert r.status_code == 422
        text = html.unescape(r.text)
        assert "unknown owner 'nobody@typo-corp.example'" in text and "known: " in text
        assert "tom@northwind.io" in text
    after = dashboard.api(f"/v1/commitments/{cid}")
    assert (after["owner"], after["status"]) == ("tom@northwind.io", "open")  # not "waiting"
    with httpx.Client(base_url=dashboard.url, timeout=30) as api:
        headers = {"Authorization": f"Bearer {token}"}
        r = api.patch(f"/v1/commitments/{cid}", json={"owner": "x@typo-corp.example"}, headers=headers)
        assert r.status_code == 422 and "unknown owner" in r.json()["detail"]
        r = api.patch(f"/v1/commitments/{cid}", json={"owner": "new.hire@northwind.io"}, headers=headers)
        assert r.status_code == 200 and r.json()["owner"] == "new.hire@northwind.io"
        assert r.json()["status"] == "open"
        r = api.patch(f"/v1/commitments/{cid}", json={"owner": "tom@northwind.io"}, headers=headers)
        assert r.status_code == 200  # as the other tests expect it


def test_an_in_place_done_updates_the_pages_counts(dashboard: Dashboard) -> None:
    with signed_in(dashboard, another_token(dashboard, "counts-laptop")) as c:
        page = c.get("/").text
        overdue = item_ids(section(page, "overdue"))
        assert overdue
        before = int(re.search(r">Overdue \((\d+)\)<", page).group(1))  # type: ignore[union-attr]
        total = int(re.search(r"· (\d+) open</span>", page).group(1))  # type: ignore[union-attr]
        cid = overdue[-1]
        r = c.post(
            f"/items/{cid}/actions",
            data={
                "csrf_token": csrf_of(page),
                "action": "done",
                "next": "/",
                "context": "list",
                "slot": "overdue",
            },
            headers={"HX-Request": "true"},
        )
        assert r.status_code == 200 and 'class="notice"' in r.text
        assert '<nav class="jump" id="attention-jump" aria-label="Sections" hx-swap-oob="true">' in r.text
        assert f">Overdue ({before - 1})<" in r.text
        assert re.search(r'<h1 id="attention-heading" hx-swap-oob="true">', r.text)
        assert f"· {total - 1} open</span>" in r.text
        assert act(c, cid, "reopen").status_code == 303  # leave the demo as the other tests expect it
        mine = c.get("/mine", params={"owner": "priya@northwind.io"}).text
        counts = re.search(r'<p id="mine-counts">(\d+) open', mine)
        assert counts
        pid = item_ids(mine)[0]
        r = c.post(
            f"/items/{pid}/actions",
            data={
                "csrf_token": csrf_of(mine),
                "action": "dismiss",
                "next": "/mine?owner=priya@northwind.io",
                "context": "list",
            },
            headers={"HX-Request": "true"},
        )
        assert f'<p id="mine-counts" hx-swap-oob="true">{int(counts.group(1)) - 1} open' in r.text
        assert act(c, pid, "reopen").status_code == 303
