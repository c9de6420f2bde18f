"""Issue 10 fuzzing: every route, every path and query parameter, crafted cursors; and decode_cursor.

Against a real server on loopback (SQLite; PostgreSQL too when configured), seeded with a few
documents: schemathesis generates requests for every operation of /openapi.json, and Hypothesis
generates what a schema does not describe: cursors that are base64 of arbitrary JSON or of random
bytes, integers of any size in paths and queries, unknown parameters, arbitrary PATCH and POST
bodies. No answer may be a 5xx, and no body may carry a traceback, a driver's name or SQL (unless
the request itself sent those words, which an error may quote back).

Every test is derandomized (the same cases on every run) and bounded: the file runs in well under
a minute on two cores.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, date
from typing import Any
from urllib.parse import quote, unquote

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from followthrough.api import create_app
from followthrough.config import Settings
from store import InvalidCursor, Store
from store.api_tokens import ApiTokens
from store.queries import MAX_ID, decode_cursor, encode_cursor
from tests.api_support import AS_OF, BACKENDS, CRM, FakeExtractor, LiveServer, database, email

LEAKS = ("Traceback", "sqlalchemy", "psycopg", "sqlite3", "SELECT ", "INSERT ")
PROBLEM = "application/problem+json"

FUZZ = settings(
    max_examples=40,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module", params=BACKENDS)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, httpx.Client]]:
    tmp = tmp_path_factory.mktemp("issue10_fuzz")
    with database(request.param, "test_issue10_fuzz", tmp) as url:
        with Store(url) as store:
            store.upsert_crm(CRM)
            _, token = ApiTokens(store.engine).create("fuzz")
        settings_ = Settings(database_url=url, as_of=AS_OF, company_domains={"northwind.io"})
        app = create_app(url, as_of=AS_OF, settings=settings_, extractor=FakeExtractor())
        with LiveServer(app) as server:
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
                for n in range(1, 8):
                    due = f" by 2026-03-{10 + n}" if n % 2 else ""
                    body = email(f"I'll send the deliverable {n}{due}. Can you confirm item {n}?")
                    assert client.post("/v1/documents", json=body).status_code == 201
                yield server.url, token, client


def _sent(request: httpx.Request) -> str:
    return unquote(str(request.url)) + request.content.decode("utf-8", "replace")


def check(response: httpx.Response) -> None:
    """Not a 5xx; an error is a problem; no body carries words the request did not send."""
    assert response.status_code < 500, (response.request.method, response.request.url, response.text)
    if response.status_code >= 400:
        assert response.headers["content-type"] == PROBLEM, response.text
    sent = _sent(response.request)
    for marker in LEAKS:
        assert marker not in response.text or marker in sent, (marker, response.text[:500])


# ------------------------------------------------------------------ schemathesis: every operation

SPEC = create_app("sqlite://", settings=Settings(database_url="sqlite://", as_of=AS_OF)).openapi()
schema = schemathesis.openapi.from_dict(SPEC)


@schema.parametrize()
@settings(
    max_examples=30, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
def test_no_operation_answers_5xx_or_leaks(case: Any, served: tuple[str, str, httpx.Client]) -> None:
    url, token, _ = served
    response = case.call(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    case.validate_response(response, checks=[not_a_server_error])
    text = response.text
    sent = unquote(str(response.request.url)) + str(response.request.body or "")
    for marker in LEAKS:
        assert marker not in text or marker in sent, (marker, text[:500])


# ------------------------------------------------------------------ Hypothesis: crafted cursors


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


EDGE_INTS = [0, -1, 1, MAX_ID, MAX_ID + 1, 2**63 - 1, 2**63, 2**64, -(2**63), -(2**64), 10**30]
extreme_ints = st.one_of(
    st.sampled_from(EDGE_INTS),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.integers(),
)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    extreme_ints,
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
due_like = st.one_of(
    st.none(),
    st.dates().map(date.isoformat),
    st.text(alphabet="0123456789-T:WZ+", max_size=16),
    st.sampled_from(
        ["0000-01-01", "9999-12-31", "10000-01-01", "2026-02-30", "20260316", "2026-03-16T00:00"]
    ),
    json_scalars,
)
pair_ids = st.one_of(st.sampled_from(EDGE_INTS), st.booleans(), extreme_ints, json_scalars)
pair_like = st.tuples(due_like, pair_ids).map(lambda t: json.dumps(list(t)))
cursors = st.one_of(
    pair_like.map(lambda s: b64(s.encode())),  # the shape encode_cursor writes, with anything in it
    json_values.map(lambda v: b64(json.dumps(v).encode())),
    pair_like.map(lambda s: base64.b64encode(s.encode()).decode()),  # standard alphabet, padded
    st.binary(max_size=120).map(b64),
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/", max_size=80),
    st.text(max_size=60),
)


KNOWN_BAD = [
    f"[null,{2**64}]",
    f"[null,{-(2**64)}]",
    f"[null,{2**31}]",
    "[null,true]",
    '["2026-01-01",false]',
]


@settings(FUZZ, max_examples=80)
@given(cursor=cursors, status=st.sampled_from(["open", "all", "review", "done"]), limit=st.integers(1, 3))
@example(cursor=b64(KNOWN_BAD[0].encode()), status="open", limit=1)
@example(cursor=b64(KNOWN_BAD[1].encode()), status="all", limit=1)
@example(cursor=b64(KNOWN_BAD[2].encode()), status="all", limit=1)
@example(cursor=b64(KNOWN_BAD[3].encode()), status="open", limit=1)
@example(cursor=b64(KNOWN_BAD[4].encode()), status="all", limit=1)
def test_crafted_cursors_are_refused_before_the_database(
    served: tuple[str, str, httpx.Client], cursor: str, status: str, limit: int
) -> None:
    _, _, client = served
    r = client.get("/v1/commitments", params={"cursor": cursor, "status": status, "limit": limit})
    check(r)
    assert r.status_code in (200, 422), r.text
    if r.status_code == 422 and cursor and len(cursor) <= 500 and "\x00" not in cursor:
        assert r.json()["errors"][0]["loc"] == ["query", "cursor"]


@FUZZ
@given(due=st.one_of(st.none(), st.dates()), cid=st.integers(1, MAX_ID))
def test_real_cursors_are_accepted(served: tuple[str, str, httpx.Client], due: date | None, cid: int) -> None:
    _, _, client = served
    r = client.get("/v1/commitments", params={"cursor": encode_cursor(due, cid), "status": "all"})
    assert r.status_code == 200, r.text


# ------------------------------------------------------------------ Hypothesis: every route

QUERY_NAMES = [
    "status",
    "owner",
    "deal",
    "overdue",
    "due_before",
    "unlinked",
    "source",
    "type",
    "limit",
    "cursor",
    "token",
    "x",
]
query_values = st.one_of(
    st.text(max_size=30),
    extreme_ints.map(str),
    st.sampled_from(
        ["true", "false", "open", "review", "2026-03-16", "9999-12-31", "0001-01-01", "D-100", "email"]
    ),
    cursors,
)
queries = st.dictionaries(st.sampled_from(QUERY_NAMES), query_values, max_size=4)
path_ids = st.one_of(extreme_ints.map(str), st.text(max_size=20).map(lambda s: quote(s, safe="")))
paths = st.one_of(
    st.just("/v1/commitments"),
    st.just("/v1/deals"),
    st.just("/healthz"),
    path_ids.map(lambda i: f"/v1/commitments/{i}"),
    st.one_of(st.just("D-100"), st.text(max_size=30), extreme_ints.map(str)).map(
        lambda d: f"/v1/deals/{quote(d, safe='')}/commitments"
    ),
)


@FUZZ
@given(path=paths, query=queries)
def test_every_route_with_any_path_and_query(
    served: tuple[str, str, httpx.Client], path: str, query: dict[str, str]
) -> None:
    _, _, client = served
    r = client.get(path, params=query)
    check(r)


patch_bodies = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "status": st.one_of(
                st.sampled_from(["open", "review", "done", "dismissed", "snoozed", "waiting", "all"]),
                json_scalars,
            ),
            "until": st.one_of(st.dates().map(date.isoformat), due_like),
            "deal": st.one_of(st.sampled_from(["D-100", "D-200"]), json_scalars),
            "note": st.one_of(st.text(max_size=40), json_scalars),
            "extra": json_scalars,
        },
    ),
    json_values,
)


@FUZZ
@given(cid=st.one_of(st.integers(-3, 20), extreme_ints), body=patch_bodies)
def test_patch_with_any_id_and_body(served: tuple[str, str, httpx.Client], cid: int, body: Any) -> None:
    _, _, client = served
    r = client.patch(
        f"/v1/commitments/{cid}", content=json.dumps(body), headers={"Content-Type": "application/json"}
    )
    check(r)


document_bodies = st.fixed_dictionaries(
    {
        "source": st.sampled_from(["email", "slack", "meeting", "fax"]),
        "occurred_at": st.one_of(
            st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()),
            st.datetimes().map(lambda d: d.isoformat()),
            json_scalars,
        ),
        "text": st.one_of(st.text(min_size=1, max_size=120), json_scalars),
    },
    optional={
        "external_id": st.one_of(st.text(max_size=30), json_scalars),
        "title": st.text(max_size=30),
        "thread_id": st.one_of(st.text(max_size=30), json_scalars),
        "participants": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "name": st.text(max_size=20),
                    "email": st.text(max_size=20),
                    "role": st.sampled_from(["sender", "recipient", "cc", "boss"]),
                },
            ),
            max_size=3,
        ),
    },
)


@settings(FUZZ, max_examples=25)
@given(body=st.one_of(document_bodies, json_values))
def test_post_documents_with_any_body(served: tuple[str, str, httpx.Client], body: Any) -> None:
    _, _, client = served
    r = client.post("/v1/documents", content=json.dumps(body), headers={"Content-Type": "application/json"})
    check(r)


# ------------------------------------------------------------------ decode_cursor, directly


def _valid_or_invalid(cursor: str) -> None:
    try:
        due, cid = decode_cursor(cursor)
    except InvalidCursor as e:
        assert "invalid cursor" in str(e)
        return
    assert due is None or isinstance(due, date)
    assert type(cid) is int and 1 <= cid <= MAX_ID


@settings(FUZZ, max_examples=400)
@given(cursor=st.one_of(st.text(), cursors))
def test_decode_cursor_answers_a_valid_key_or_invalid_cursor(cursor: str) -> None:
    _valid_or_invalid(cursor)


@settings(FUZZ, max_examples=300)
@given(value=json_values)
def test_decode_cursor_accepts_only_what_encode_cursor_writes(value: Any) -> None:
    cursor = b64(json.dumps(value).encode())
    try:
        due, cid = decode_cursor(cursor)
    except InvalidCursor:
        return
    assert value == [None if due is None else due.isoformat(), cid]
    assert decode_cursor(encode_cursor(due, cid)) == (due, cid)


@settings(FUZZ, max_examples=200)
@given(due=st.one_of(st.none(), st.dates()), cid=st.integers(1, MAX_ID))
def test_encode_then_decode_is_the_identity(due: date | None, cid: int) -> None:
    assert decode_cursor(encode_cursor(due, cid)) == (due, cid)
