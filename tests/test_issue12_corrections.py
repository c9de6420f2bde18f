"""Corrections (issue 12): a person corrects an item's owner, due date, action, type or deal.

Every change is a history entry (old → new) naming who made it; a later extraction, under the
same cache key (the document re-ingested with other content) or another (a new prompt or
backend), never overwrites a corrected field. Through the store (SQLite and PostgreSQL), the
``commitments edit`` command, and ``PATCH /v1/commitments/{id}`` on a live server.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from followthrough.api import create_app
from followthrough.config import Settings
from followthrough.types import ExtractedItem, Participant, RunStatus, SourceDocument
from store import CommitmentView, NotFound, Store, Unresolved
from store.api_tokens import ApiTokens
from tests.api_support import AS_OF, BACKENDS, CRM, FakeExtractor, LiveServer, database, email
from tests.clirunner import followthrough
from tests.store_fixtures import demo_crm, make_doc, make_item, store, store_url  # noqa: F401

TEXT = "Thanks Dana. I'll send the revised pricing to you by Friday. Can you confirm the SSO setup?"
PRICING = "I'll send the revised pricing to you by Friday"
EDITED = "Hi Dana, one more thing first. " + TEXT


def _record(
    store: Store,  # noqa: F811
    doc: SourceDocument,
    items: list[ExtractedItem],
    key: str = "offline:m:1",
) -> list[int]:
    doc_id, _ = store.add_document(doc)
    run = store.start_run(extractor="offline", model="m", prompt_version=key)
    ids = store.record_extraction(run, doc_id, key, items)
    store.finish_run(run, RunStatus.OK)
    return ids


def _changes(view: CommitmentView, actor: str) -> list[tuple[str, str | None, str | None]]:
    return [(h.field, h.old, h.new) for h in view.history if h.actor == actor]


# ---------------------------------------------------------------------- store


def test_each_correction_is_one_history_entry_with_who_made_it(store: Store) -> None:  # noqa: F811
    store.upsert_crm(demo_crm())
    doc = make_doc(text=TEXT)
    (cid,) = _record(store, doc, [make_item(doc, PRICING)])
    view = store.correct(
        cid,
        actor="cli:alice",
        owner="priya",  # a deal owner known by the local part of her email
        due=date(2026, 3, 20),
        action="Send the revised pricing sheet",
        type="request",
        deal="D-200",
        as_of=AS_OF,
    )
    assert (view.owner, view.due, view.action, view.type) == (
        "priya@northwind.io",
        date(2026, 3, 20),
        "Send the revised pricing sheet",
        "request",
    )
    assert view.deal is not None and view.deal.crm_id == "D-200" and view.link_method == "manual"
    assert _changes(view, "cli:alice") == [
        ("owner", "marco@northwind.io", "priya@northwind.io"),
        ("due", "2026-03-13", "2026-03-20"),
        ("action", PRICING, "Send the revised pricing sheet"),
        ("type", "commitment", "request"),
        ("deal", None, "D-200"),
    ]
    # the same values again change nothing; clearing the due date and unlinking do
    again = store.correct(cid, actor="cli:bob", owner="PRIYA@northwind.io", type="request", as_of=AS_OF)
    assert _changes(again, "cli:bob") == []
    cleared = store.correct(cid, actor="cli:bob", clear_due=True, unlink=True, as_of=AS_OF)
    assert cleared.due is None and cleared.deal is None
    assert _changes(cleared, "cli:bob") == [("due", "2026-03-20", None), ("deal", "D-200", None)]


def test_an_owner_is_an_email_or_a_name_that_names_one_person(store: Store) -> None:  # noqa: F811
    store.upsert_crm(demo_crm())
    doc = make_doc(text=TEXT)
    (cid,) = _record(store, doc, [make_item(doc, PRICING, owner="Dana", owner_email=None)])
    by_name = store.correct(cid, actor="t", owner="marco rossi")
    assert (by_name.owner_name, by_name.owner) == ("Marco Rossi", "marco@northwind.io")
    by_first = store.correct(cid, actor="t", owner="Hank")
    assert (by_first.owner_name, by_first.owner) == ("Hank Scorpio", "hank@globex.com")
    new_colleague = store.correct(cid, actor="t", owner="Sam.Ng@Northwind.io")
    assert (new_colleague.owner_name, new_colleague.owner) == (None, "sam.ng@northwind.io")
    with pytest.raises(Unresolved, match="no one matches 'zz'"):
        store.correct(cid, actor="t", owner="zz")
    with pytest.raises(Unresolved, match="not an email address"):
        store.correct(cid, actor="t", owner="marco@")


def test_an_ambiguous_name_lists_the_candidates_and_changes_nothing(store: Store) -> None:  # noqa: F811
    store.upsert_crm(demo_crm())
    two = make_doc(
        "<two@acme.com>",
        "I'll send the revised pricing to you by Friday.",
        participants=[
            Participant(name="Dana Lee", email="dana@acme.com", role="sender"),
            Participant(name="Dana Smith", email="dana@globex.com", role="recipient"),
        ],
    )
    (cid,) = _record(store, two, [make_item(two, PRICING)])
    with pytest.raises(Unresolved, match=r"'dana' matches 2: dana@acme.com \(Dana Lee\), dana@globex.com"):
        store.correct(cid, actor="t", owner="dana", due=date(2026, 4, 1))
    view = store.get_commitment(cid)
    assert view.owner == "marco@northwind.io" and view.due == date(2026, 3, 13)
    with pytest.raises(Unresolved, match="no deal matches 'D-999'"):
        store.correct(cid, actor="t", due=date(2026, 4, 1), deal="D-999")
    assert store.get_commitment(cid).due == date(2026, 3, 13)  # one transaction: nothing changed
    with pytest.raises(NotFound, match="no commitment with id 9999"):
        store.correct(9999, actor="t", due=date(2026, 4, 1))


def test_re_extraction_of_changed_content_never_overwrites_a_correction(store: Store) -> None:  # noqa: F811
    store.upsert_crm(demo_crm())
    doc = make_doc(text=TEXT)
    (cid,) = _record(store, doc, [make_item(doc, PRICING)])
    store.correct(cid, actor="cli:alice", owner="priya@northwind.io", due=date(2026, 3, 27))
    # the email is re-ingested with other content and extracted again under the same key: the
    # extraction still says Marco and the 13th, and rewords the action (not corrected: it follows)
    edited = make_doc(text=EDITED)
    _, changed = store.add_document(edited)
    assert changed
    ids = _record(store, edited, [make_item(edited, PRICING, action="Send Dana the revised pricing")])
    assert ids == [cid]
    view = store.get_commitment(cid)
    assert (view.owner, view.due) == ("priya@northwind.io", date(2026, 3, 27))
    assert view.action == "Send Dana the revised pricing"
    ev = view.quotes[0]
    assert EDITED[ev.char_start : ev.char_end] == PRICING  # the evidence follows the new text
    assert [h.field for h in view.history if h.actor == "extractor"] == ["status"]  # no due rewrite


def test_re_extraction_under_another_key_never_overwrites_a_correction(store: Store) -> None:  # noqa: F811
    doc = make_doc(text=TEXT)
    (cid,) = _record(store, doc, [make_item(doc, PRICING)])
    store.correct(
        cid, actor="api:crm-sync", owner="priya@northwind.io", due=date(2026, 3, 27), type="request"
    )
    assert _record(store, doc, [make_item(doc, PRICING)], key="llm:gpt:v2") == [cid]
    view = store.get_commitment(cid)
    assert (view.owner, view.due, view.type) == ("priya@northwind.io", date(2026, 3, 27), "request")


# ------------------------------------------------------------------------ CLI

EML = """\
From: Marco Rossi <marco@northwind.io>
To: Dana Lee <dana@acme.com>
Subject: Pricing
Date: Tue, 10 Mar 2026 09:14:00 -0500
Message-ID: <pricing-1@northwind.io>

{body}
"""


def _cli(db: Path, *args: str) -> Any:
    return followthrough("--as-of", "2026-03-16", "--company-domains", "northwind.io", *args, db=db)


def test_commitments_edit_sticks_across_a_re_run(tmp_path: Path) -> None:
    db, mail = tmp_path / "t.db", tmp_path / "pricing.eml"
    mail.write_text(EML.format(body="Hi Dana, I'll send you the revised pricing by Friday."))
    assert _cli(db, "run", mail, "--extractor", "offline").returncode == 0
    listed = _cli(db, "commitments", "list", "--json")
    (item,) = [i for i in json.loads(listed.stdout) if i["type"] == "commitment"]
    cid = str(item["id"])
    res = _cli(db, "commitments", "edit", cid, "--owner", "priya@northwind.io", "--due", "2026-03-27")
    assert res.returncode == 0, res.stderr
    assert "owner: marco@northwind.io → priya@northwind.io" in res.stdout
    # the same message, edited, read again: extracted anew under the same key
    mail.write_text(
        EML.format(body="Hi Dana, thanks for the call. I'll send you the revised pricing by Friday.")
    )
    assert _cli(db, "run", mail, "--extractor", "offline").returncode == 0
    shown = json.loads(_cli(db, "commitments", "show", cid, "--json").stdout)
    assert (shown["owner"], shown["due"]) == ("priya@northwind.io", "2026-03-27")
    (ev,) = shown["quotes"]  # extracted anew from the edited message: the old offsets are gone
    assert ev["quote"] == "I'll send you the revised pricing by Friday." and ev["char_start"] == 30
    actor = f"cli:{getpass.getuser()}"
    assert {(h["field"], h["actor"]) for h in shown["history"]} >= {("owner", actor), ("due", actor)}


def test_commitments_edit_errors_are_one_line_with_the_usual_exit_codes(tmp_path: Path) -> None:
    db, mail = tmp_path / "t.db", tmp_path / "pricing.eml"
    mail.write_text(EML.format(body="Hi Dana, I'll send you the revised pricing by Friday."))
    assert _cli(db, "run", mail, "--extractor", "offline").returncode == 0
    # issue 16: "next friday" is a date now, a misspelt one is not
    bad_due = _cli(db, "commitments", "edit", "1", "--due", "next fryday")
    assert bad_due.returncode == 2 and "is not a date: use e.g. 2026-03-20" in bad_due.stderr
    assert '"in 2 weeks" or none' in bad_due.stderr  # issue 16: worded as every date option's error
    bad_type = _cli(db, "commitments", "edit", "1", "--type", "promise")
    assert bad_type.returncode == 2 and "not one of: commitment, request" in bad_type.stderr
    nothing = _cli(db, "commitments", "edit", "1")
    assert nothing.returncode == 2 and "nothing to change" in nothing.stderr
    for args, message in (
        (("999", "--due", "none"), "error: no commitment with id 999"),
        (("1", "--owner", "zz"), "error: no one matches 'zz'"),
        (("1", "--deal", "D-404"), "error: no deal matches 'D-404'"),
    ):
        res = _cli(db, "commitments", "edit", *args)
        assert res.returncode == 1, res
        assert res.stderr.strip().startswith(message) and len(res.stderr.strip().splitlines()) == 1
    cleared = _cli(db, "commitments", "edit", "1", "--due", "none", "--json")
    assert cleared.returncode == 0 and json.loads(cleared.stdout)["due"] is None


# ------------------------------------------------------------------------ API


@pytest.fixture(params=BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    """A live server over a fresh database with the CRM: (URL, read-write token, database URL)."""
    with database(request.param, "corrections", tmp_path) as url:
        with Store(url) as store:
            store.upsert_crm(CRM)
            _, token = ApiTokens(store.engine).create("pipeline-bot")
        settings = Settings(database_url=url, as_of=AS_OF, company_domains={"northwind.io"})
        app = create_app(url, as_of=AS_OF, settings=settings, extractor=FakeExtractor())
        with LiveServer(app) as server:
            yield server.url, token, url


def test_patch_corrects_fields_and_a_re_extraction_keeps_them(api: tuple[str, str, str]) -> None:
    url, token, _ = api
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
        body = email("Hi Dana. I'll send the revised pricing by 2026-03-13.", external_id="<p@northwind.io>")
        (item,) = c.post("/v1/documents", json=body).json()["items"]
        r = c.patch(
            f"/v1/commitments/{item['id']}",
            json={
                "owner": "dana@acme.com",
                "due": "2026-03-27",
                "action": "Send the pricing",
                "deal": "D-100",
            },
        )
        assert r.status_code == 200, r.text
        patched = r.json()
        assert (patched["owner"], patched["due"], patched["action"]) == (
            "dana@acme.com",
            "2026-03-27",
            "Send the pricing",
        )
        assert {(h["field"], h["actor"]) for h in patched["history"]} >= {
            ("owner", "api:pipeline-bot"),
            ("due", "api:pipeline-bot"),
            ("action", "api:pipeline-bot"),
            ("deal", "api:pipeline-bot"),
        }
        # the same document posted again with other content: extracted again, corrections kept
        body["text"] = "Hi Dana, as promised. I'll send the revised pricing by 2026-03-13."
        (again,) = c.post("/v1/documents", json=body).json()["items"]
        assert again["id"] == item["id"]
        assert (again["owner"], again["due"], again["action"]) == (
            "dana@acme.com",
            "2026-03-27",
            "Send the pricing",
        )
        r = c.patch(f"/v1/commitments/{item['id']}", json={"due": None, "type": "request"})
        assert r.status_code == 200 and r.json()["due"] is None and r.json()["type"] == "request"


@pytest.mark.parametrize(
    "body",
    [
        {"due": "2026-13-01"},
        {"due": "next friday"},
        {"type": "promise"},
        {"owner": "  "},
        {"action": ""},
        {"owner": None},
        {"owner": "zz"},
        {"deal": "D-404"},
        {},
    ],
)
def test_patch_refuses_bad_values_with_422(api: tuple[str, str, str], body: dict[str, Any]) -> None:
    url, token, _ = api
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
        (item,) = c.post("/v1/documents", json=email("I'll send the deck by 2026-03-20.")).json()["items"]
        r = c.patch(f"/v1/commitments/{item['id']}", json=body)
        assert r.status_code == 422, r.text
        assert c.get(f"/v1/commitments/{item['id']}").json()["due"] == "2026-03-20"
        assert c.patch("/v1/commitments/987654", json={"due": "2026-04-01"}).status_code == 404


def test_openapi_documents_the_correctable_fields(api: tuple[str, str, str]) -> None:
    url, token, _ = api
    schema = httpx.get(url + "/openapi.json", headers={"Authorization": f"Bearer {token}"}).json()
    patch = schema["components"]["schemas"]["CommitmentPatch"]["properties"]
    for name in ("owner", "due", "action", "type", "deal", "status"):
        assert name in patch, name
    for name in ("owner", "due", "deal"):
        assert patch[name].get("description"), name
