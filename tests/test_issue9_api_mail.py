"""Issue 9: ``POST /v1/documents`` with ``Content-Type: message/rfc822`` (a raw email as the body)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from followthrough.api import create_app
from followthrough.config import Settings
from store import Store
from store.api_tokens import ApiTokens
from tests.api_support import AS_OF, CRM, FakeExtractor, LiveServer, email

CASE = Path("/work/shared/regressions/forward-as-attachment-rfc822/input.eml")
MAIL = {"content-type": "message/rfc822"}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    url = f"sqlite:///{tmp_path / 'mail.db'}"
    with Store(url) as store:
        store.upsert_crm(CRM)
        _, token = ApiTokens(store.engine).create("mail")
    settings = Settings(database_url=url, as_of=AS_OF, company_domains={"northwind.io", "northwind.example"})
    with LiveServer(create_app(url, as_of=AS_OF, settings=settings, extractor=FakeExtractor())) as server:
        yield server.url, {"Authorization": f"Bearer {token}"}


RAW = (
    b"From: Dana Whitfield <dana@acme.com>\r\nTo: Marco Rossi <marco@northwind.io>\r\n"
    b"Subject: Pricing\r\nDate: Tue, 10 Mar 2026 09:00:00 +0100\r\nMessage-ID: <raw1@acme.com>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
    b"Hi Marco,\r\n\r\nCan you send the revised pricing by 2026-03-20?\r\n\r\n"
    b"On Mon, Mar 9, 2026 Marco wrote:\r\n> I'll call you tomorrow.\r\n\r\n-- \r\nDana\r\n"
)


def test_raw_email_is_read_like_a_file(served: tuple[str, dict[str, str]]) -> None:
    url, headers = served
    r = httpx.post(url + "/v1/documents", content=RAW, headers=headers | MAIL)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["source"] == "email" and body["external_id"] == "<raw1@acme.com>"
    assert body["stored"] == "new"
    evidence = [e["quote"] for i in body["items"] for e in i["quotes"]]
    assert evidence == ["Can you send the revised pricing by 2026-03-20?"]  # the quoted "I'll" is not
    # The JSON route answers with the same keys.
    j = httpx.post(url + "/v1/documents", json=email("I'll send the deck by 2026-03-20."), headers=headers)
    assert j.status_code == 201 and set(j.json()) == set(body)
    again = httpx.post(
        url + "/v1/documents", content=RAW, headers=headers | {"content-type": "Message/RFC822"}
    )
    assert again.status_code == 200 and again.json()["stored"] == "unchanged"


def test_forwarded_attachment_over_the_api(served: tuple[str, dict[str, str]]) -> None:
    url, headers = served
    assert CASE.is_file(), f"regression input missing: {CASE}"
    r = httpx.post(url + "/v1/documents", content=CASE.read_bytes(), headers=headers | MAIL)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["external_id"] == "<case10-outer@northwind.example>"
    evidence = [e["quote"] for i in body["items"] for e in i["quotes"]]
    assert "Can you confirm the SSO setup for our 40 users by Thursday?" in evidence


@pytest.mark.parametrize("data", [b"", b"\x00\x01\x02binary" * 10, b"just some words, no headers\n"])
def test_bad_bytes_are_a_422_problem(served: tuple[str, dict[str, str]], data: bytes) -> None:
    url, headers = served
    r = httpx.post(url + "/v1/documents", content=data, headers=headers | MAIL)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["status"] == 422
    assert problem["detail"].startswith("the body is not a readable email message: ")


def test_auth_and_body_limit_come_first(tmp_path: Path, served: tuple[str, dict[str, str]]) -> None:
    url, _ = served
    assert httpx.post(url + "/v1/documents", content=RAW, headers=MAIL).status_code == 401
    db = f"sqlite:///{tmp_path / 'small.db'}"
    with Store(db) as store:
        _, token = ApiTokens(store.engine).create("small")
        _, read_only = ApiTokens(store.engine).create("ro", read_only=True)
    settings = Settings(database_url=db, as_of=AS_OF, company_domains={"northwind.io"})
    app = create_app(db, as_of=AS_OF, settings=settings, extractor=FakeExtractor(), max_body=200)
    with LiveServer(app) as server:
        auth = {"Authorization": f"Bearer {token}"}
        r = httpx.post(server.url + "/v1/documents", content=RAW, headers=auth | MAIL)
        assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"
        ro = {"Authorization": f"Bearer {read_only}"}
        assert (
            httpx.post(server.url + "/v1/documents", content=RAW[:150], headers=ro | MAIL).status_code == 403
        )
