"""Issue 10: crafted input never reaches the database, errors never carry its words, one request never
holds up the others, credentials stay out of answers and logs, edits keep a true history, CSV cells
are never formulas, and items in ``review`` wait for a person.

Every HTTP test runs against a real uvicorn server on loopback (:class:`tests.api_support.LiveServer`).
"""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import json
import logging
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import exc as sa_exc
from sqlalchemy import text

from followthrough.api import create_app
from followthrough.api.access_log import ACCESS_LOGGER, RedactTarget, redact_target
from followthrough.api.extraction import ExtractionQueue, ExtractionTimeout, extract_timeout
from followthrough.api.problems import DATABASE_ERROR, DATABASE_UNAVAILABLE, INTERNAL_ERROR
from followthrough.cli.export import Format, _write, csv_cell
from followthrough.config import Settings
from followthrough.errors import ConfigError, StoreError
from followthrough.types import RunStatus, SourceDocument
from store import Store
from store.api_tokens import ApiTokens
from store.queries import MAX_ID, encode_cursor
from tests.api_support import AS_OF, BACKENDS, CRM, FakeExtractor, LiveServer, database, email
from tests.clirunner import followthrough
from tests.fake_openai import FakeOpenAI, Reply
from tests.store_fixtures import make_doc, make_item, store_url  # noqa: F401

PROBLEM = "application/problem+json"
LEAKS = ("Traceback", "sqlalchemy", "psycopg", "sqlite3", "SELECT ", "INSERT ", "UPDATE ", 'File "')


def no_leak(body: str) -> None:
    for marker in LEAKS:
        assert marker not in body, (marker, body[:500])


def b64(raw: bytes | str) -> str:
    data = raw.encode() if isinstance(raw, str) else raw
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@dataclass
class Api:
    url: str
    token: str
    database_url: str
    app: Any

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=60)


def _serve(url: str, **kw: Any) -> tuple[str, Any]:
    with Store(url) as store:
        store.upsert_crm(CRM)
        _, token = ApiTokens(store.engine).create(f"issue10-{time.monotonic_ns()}")
    settings = Settings(database_url=url, as_of=AS_OF, company_domains={"northwind.io"})
    kw.setdefault("extractor", FakeExtractor())
    return token, create_app(url, as_of=AS_OF, settings=settings, **kw)


@pytest.fixture(scope="module", params=BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    tmp = tmp_path_factory.mktemp("issue10")
    with database(request.param, "test_issue10_api", tmp) as url:
        token, app = _serve(url)
        with LiveServer(app) as server:
            api = Api(server.url, token, url, app)
            with api.client() as c:
                for n in range(1, 6):
                    body = email(f"I'll send part {n} by 2026-03-{10 + n}. Can you confirm item {n}?")
                    assert c.post("/v1/documents", json=body).status_code == 201
            yield api


def _assert_problem(r: httpx.Response, *statuses: int) -> dict[str, Any]:
    assert r.status_code in statuses, (r.status_code, r.text)
    assert r.headers["content-type"] == PROBLEM
    no_leak(r.text)
    problem: dict[str, Any] = r.json()
    assert problem["status"] == r.status_code and problem["detail"]
    return problem


# ------------------------------------------------------------------ 1. cursors and integers

CRAFTED_JSON = [
    f"[null,{2**31}]",
    f"[null,{2**63 - 1}]",
    f"[null,{2**63}]",
    f"[null,{2**64}]",
    f"[null,{-(2**70)}]",
    "[null,-1]",
    "[null,0]",
    "[null,true]",
    "[null,false]",
    "[null,1.5]",
    "[null,1e3]",
    '[null,"1"]',
    "[null,null]",
    "[null,NaN]",
    "[null,Infinity]",
    "[null,1e400]",
    "[null," + "9" * 5000 + "]",
    f'["2026-03-01",{2**70}]',
    '["99999-01-01",1]',
    '["2026-13-01",1]',
    '["2026-02-30",1]',
    '["20260301",1]',
    '["2026-03-01T00:00:00",1]',
    '["2026-W10-1",1]',
    '["0000-01-01",1]',
    "[1,1]",
    "[true,1]",
    "[[],1]",
    '[{"a":1},1]',
    '{"due":null,"id":1}',
    "[null]",
    "[null,1,2]",
    "[]",
    '"x"',
    "1",
    "null",
    "true",
    "[" * 300 + "]" * 300,
]
CRAFTED = [
    *(b64(j) for j in CRAFTED_JSON),
    b64(b"\xff\xfe\x00\x01garbage"),
    b64(bytes(range(256))),
    "not-a-cursor",
    "!!!!",
    "WyJudWxsIiwxXQ==",  # padded
    "a",
    "abcde",
    "W10 ",
    "W10\n",
    "W1+/",
    "é",
]


def test_crafted_cursors_are_422_problems_that_say_the_cursor_is_invalid(api: Api) -> None:
    with api.client() as c:
        for cursor in CRAFTED:
            r = c.get("/v1/commitments", params={"cursor": cursor, "status": "all"})
            problem = _assert_problem(r, 422)
            assert problem["errors"][0]["loc"] == ["query", "cursor"]
            if len(cursor) <= 500:  # longer ones are refused for their length
                assert "invalid cursor" in problem["detail"], (cursor[:100], problem)


def test_cursors_at_the_edges_of_the_range_are_accepted(api: Api) -> None:
    with api.client() as c:
        for due, cid in ((None, MAX_ID), (None, 1), (date(1, 1, 1), 1), (date(9999, 12, 31), MAX_ID)):
            r = c.get("/v1/commitments", params={"cursor": encode_cursor(due, cid), "status": "all"})
            assert r.status_code == 200, (due, cid, r.text)
        # a real cursor still pages
        first = c.get("/v1/commitments", params={"status": "all", "limit": 2}).json()
        nxt = c.get("/v1/commitments", params={"status": "all", "limit": 2, "cursor": first["next_cursor"]})
        assert nxt.status_code == 200 and nxt.json()["items"]


def test_out_of_range_path_and_query_integers_are_404_or_422(api: Api) -> None:
    big = ("99999999999999999999", str(2**31), str(2**63), str(2**64), "-1", "0", "1e3", "0x10", "-0")
    with api.client() as c:
        for raw in big:
            _assert_problem(c.get(f"/v1/commitments/{raw}"), 422)
            _assert_problem(c.patch(f"/v1/commitments/{raw}", json={"status": "done"}), 422)
        for lenient in ("1.0", "%201", "%2B1"):  # pydantic reads these as 1
            assert c.get(f"/v1/commitments/{lenient}").status_code == 200
        _assert_problem(c.get(f"/v1/commitments/{2**31 - 1}"), 404)
        for deal in ("99999999999999999999", "-1", "0", "%00", "x" * 200):
            _assert_problem(c.get(f"/v1/deals/{deal}/commitments"), 404, 422)
        for limit in ("-1", "0", "501", str(2**63), "99999999999999999999", "1e2", "true", "NaN"):
            _assert_problem(c.get("/v1/commitments", params={"limit": limit}), 422)
        for day in ("0001-01-01", "9999-12-31"):
            assert c.get("/v1/commitments", params={"due_before": day}).status_code == 200
        for day in ("10000-01-01", "2026-02-30", "-2026-01-01"):
            _assert_problem(c.get("/v1/commitments", params={"due_before": day}), 422)
        r = c.patch("/v1/commitments/1", json={"status": "snoozed", "until": "9999-12-31"})
        assert r.status_code == 200, r.text
        _assert_problem(c.patch("/v1/commitments/1", json={"status": "snoozed", "until": "10000-01-01"}), 422)
        assert c.patch("/v1/commitments/1", json={"status": "open"}).status_code == 200


# ------------------------------------------------------------------ 2. no database words in a body


class _Broken:
    """The app's store, with its reads raising ``error()``."""

    def __init__(self, store: Store, error: Callable[[], BaseException]) -> None:
        self._store = store
        self._error = error

    def __getattr__(self, name: str) -> Any:
        if name in ("list_summaries", "get_commitment", "deal_page", "deal_summaries"):

            def fail(*args: object, **kwargs: object) -> Any:
                raise self._error()

            return fail
        return getattr(self._store, name)


def _caught(store: Store, sql: str, params: dict[str, Any] | None = None) -> StoreError:
    """The :class:`StoreError` the store itself raises for ``sql`` (a real driver error inside)."""
    try:
        with store._tx() as s:
            s.execute(text(sql), params or {})
    except StoreError as e:
        return e
    raise AssertionError(f"{sql} did not fail")


def test_database_and_unexpected_errors_answer_generic_problems(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "hunter2-the-database-password"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    caplog.set_level(logging.INFO)
    url = f"sqlite:///{tmp_path / 'errors.db'}"
    token, app = _serve(url)
    with LiveServer(app) as server:
        state = app.state.api
        real = state.store
        missing_table = _caught(real, f"SELECT '{secret}' FROM no_such_table")
        bad_bind = _caught(real, "SELECT :x", {"x": object()})
        unstorable = StoreError("the database cannot hold a value: Python int too large")
        unstorable.__cause__ = OverflowError("Python int too large to convert to SQLite INTEGER")
        cases: list[tuple[Callable[[], BaseException], int, str]] = [
            (lambda: unstorable, 500, DATABASE_ERROR),
            (lambda: missing_table, 503, DATABASE_UNAVAILABLE),
            (lambda: bad_bind, 500, DATABASE_ERROR),
            (
                lambda: StoreError(f"database error: connection to {secret} refused"),
                503,
                DATABASE_UNAVAILABLE,
            ),
            (
                lambda: sa_exc.IntegrityError("INSERT INTO x VALUES (1)", {}, sqlite3.IntegrityError("dup")),
                500,
                DATABASE_ERROR,
            ),
            (
                lambda: sa_exc.OperationalError("SELECT 1", {}, sqlite3.OperationalError("locked")),
                503,
                DATABASE_UNAVAILABLE,
            ),
            (lambda: sqlite3.ProgrammingError("Error binding parameter 1 in SELECT x"), 500, DATABASE_ERROR),
            (lambda: OverflowError("Python int too large to convert to SQLite INTEGER"), 500, INTERNAL_ERROR),
            (lambda: RuntimeError(f"Traceback (most recent call last): key={secret}"), 500, INTERNAL_ERROR),
        ]
        headers = {"Authorization": f"Bearer {token}"}
        for error, status, detail in cases:
            state.store = _Broken(real, error)
            for path in ("/v1/commitments", "/v1/commitments/1", "/v1/deals", "/v1/deals/D-100/commitments"):
                r = httpx.get(server.url + path, headers=headers, timeout=30)
                problem = _assert_problem(r, status)
                assert problem["detail"] == detail, (error(), path, problem)
                assert secret not in r.text and "no_such_table" not in r.text
                if status == 503:
                    assert int(r.headers["retry-after"]) > 0
        state.store = real

        class _Down:
            def verify(self, token: str) -> None:
                raise missing_table

        state.api_tokens, tokens = _Down(), state.api_tokens
        r = httpx.get(server.url + "/v1/commitments", headers=headers, timeout=30)
        assert _assert_problem(r, 503)["detail"] == DATABASE_UNAVAILABLE
        state.api_tokens = tokens
    log = caplog.text
    assert "no_such_table" in log  # the reason is in the log ...
    assert "OverflowError" in log and "RuntimeError" in log
    assert secret not in log  # ... redacted
    assert "Exception in ASGI application" not in log  # answered once, not re-raised to the server


# ------------------------------------------------------------------ 4. extraction off the event loop


def _adversarial(n: int = 200_000, run: int = 50_000) -> str:
    """``n`` characters: a run of ``run`` word characters (what a regex that backtracks chokes on),
    then sentences, every hundredth a promise (each item is stored and linked: a few dozen, so
    that the test waits for extraction, not for thousands of inserts)."""
    parts = ["a" * run]
    i = 0
    while sum(len(p) + 1 for p in parts) < n:
        if i % 100 == 0:
            parts.append(f"I'll send the report number {i} by Friday.")
        else:
            parts.append(f"The report number {i} was read by the team on Monday.")
        i += 1
    return " ".join(parts)[:n]


PROBE = """
import json, os, sys, time, urllib.request
url, stop = sys.argv[1], sys.argv[2]
latencies = []
while not os.path.exists(stop):
    t = time.monotonic()
    with urllib.request.urlopen(url, timeout=60) as r:
        assert r.status == 200
    latencies.append((t, time.monotonic() - t))
    time.sleep(0.05)
print(json.dumps(latencies))
"""


def test_healthz_answers_while_a_200k_document_is_extracted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client in another process (whose clock a busy server cannot stop) times /healthz while the
    server extracts a hostile 200,000-character document with the offline extractor.

    Health is answered off the extraction pool: no probe waits for the extraction. A server that ran
    it on its event loop would hold a probe for the whole request, so the slowest probe is compared
    with the request's own time (both slow down alike on a loaded machine), with 1 s as a floor."""
    monkeypatch.setenv("FOLLOWTHROUGH_EXTRACT_TIMEOUT", "3")
    url = f"sqlite:///{tmp_path / 'big.db'}"
    with Store(url) as store:
        store.upsert_crm(CRM)
        _, token = ApiTokens(store.engine).create("big")
    body = email(_adversarial(), external_id="<big@northwind.io>")
    assert len(body["text"]) == 200_000  # type: ignore[arg-type]
    headers = {"Authorization": f"Bearer {token}"}
    stop = tmp_path / "stop-probing"
    with LiveServer(create_app(url, as_of=AS_OF)) as server:  # the offline extractor
        probe = subprocess.Popen(
            [sys.executable, "-c", PROBE, server.url + "/healthz", str(stop)],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            time.sleep(0.5)  # the prober is up and has answers before the document arrives
            posted = time.monotonic()  # the same clock as the prober's (CLOCK_MONOTONIC is system-wide)
            first = httpx.post(server.url + "/v1/documents", json=body, headers=headers, timeout=120)
            took = time.monotonic() - posted
        finally:
            stop.touch()
            out, _ = probe.communicate(timeout=60)
        probes = [(float(t), float(dt)) for t, dt in json.loads(out)]
        during = [dt for t, dt in probes if t < posted + took and t + dt > posted]
        assert len(probes) >= 3 and during, (took, probes)
        assert max(dt for _, dt in probes) < max(1.0, 0.5 * took), (took, probes)
        assert first.status_code in (201, 503), first.text
        if first.status_code == 503:  # over the budget: it goes on, and is stored
            assert int(first.headers["retry-after"]) >= 1
            assert "FOLLOWTHROUGH_EXTRACT_TIMEOUT" in first.json()["detail"]
        deadline = time.monotonic() + 240
        r = first
        while r.status_code == 503 and time.monotonic() < deadline:
            time.sleep(1)
            r = httpx.post(server.url + "/v1/documents", json=body, headers=headers, timeout=120)
        # stored by this request (201), or, after a 503, by the extraction that went on (200, unchanged)
        assert r.status_code == 201 if first.status_code == 201 else r.status_code in (200, 201), r.text
        assert r.json()["items"]


class _Slow(FakeExtractor):
    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def extract(self, doc: SourceDocument) -> list[Any]:
        time.sleep(self.seconds)
        return super().extract(doc)


def test_an_extraction_over_its_budget_is_a_503_and_is_stored_afterwards(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FOLLOWTHROUGH_EXTRACT_TIMEOUT", "0.3")
    slow = _Slow(1.0)
    token, app = _serve(f"sqlite:///{tmp_path / 'slow.db'}", extractor=slow)
    body = email("I'll send the slow report by 2026-03-20.", external_id="<slow@northwind.io>")
    headers = {"Authorization": f"Bearer {token}"}
    with LiveServer(app) as server:
        r = httpx.post(server.url + "/v1/documents", json=body, headers=headers, timeout=30)
        problem = _assert_problem(r, 503)
        assert r.headers["retry-after"] == "1"
        assert "time budget of 0.3 s" in problem["detail"] and "stored" in problem["detail"]
        assert httpx.get(server.url + "/healthz", timeout=5).status_code == 200
        deadline = time.monotonic() + 30
        while r.status_code == 503 and time.monotonic() < deadline:
            time.sleep(0.3)
            r = httpx.post(server.url + "/v1/documents", json=body, headers=headers, timeout=30)
        assert r.status_code == 200, r.text  # stored by the first request's extraction: not created here
        assert r.json()["cached"] is True and r.json()["items"][0]["action"].startswith("Send the slow")
    assert slow.calls == 1  # extracted once, in the background


def test_the_queue_cancels_work_that_has_not_started() -> None:
    ran: list[str] = []

    def job(name: str, seconds: float) -> Callable[[], str]:
        def work() -> str:
            ran.append(name)
            time.sleep(seconds)
            return name

        return work

    async def scenario() -> tuple[BaseException | str, ...]:
        queue = ExtractionQueue(0.2, workers=1)
        results = await asyncio.gather(
            queue.run(job("long", 0.6)), queue.run(job("queued", 0)), return_exceptions=True
        )
        queue.close(5)
        return tuple(results)

    long, queued = asyncio.run(scenario())
    assert isinstance(long, ExtractionTimeout) and long.started and "goes on" in long.detail
    assert isinstance(queued, ExtractionTimeout) and not queued.started and "busy" in queued.detail
    assert ran == ["long"]  # the queued one never ran


@pytest.mark.parametrize("bad", ["0", "-3", "soon", "nan", "inf"])
def test_the_extraction_budget_is_configurable(bad: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert extract_timeout() == 120.0
    assert extract_timeout(2.5) == 2.5
    monkeypatch.setenv("FOLLOWTHROUGH_EXTRACT_TIMEOUT", "45")
    assert extract_timeout() == 45.0
    monkeypatch.setenv("FOLLOWTHROUGH_EXTRACT_TIMEOUT", bad)
    with pytest.raises(ConfigError, match="FOLLOWTHROUGH_EXTRACT_TIMEOUT"):
        extract_timeout()


# ------------------------------------------------------------------ 5. extraction backend errors


class _Html(BaseHTTPRequestHandler):
    """An "LLM server" that answers 200 with a web page (a proxy's login page, a misconfigured URL)."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def do_POST(self) -> None:  # noqa: N802
        assert isinstance(self.server, _HtmlServer)
        self.server.posts += 1
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        page = f"<html><body>Welcome. Your request: {self.headers.get('Authorization')}</body></html>"
        data = page.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _HtmlServer(ThreadingHTTPServer):
    """Serves :class:`_Html` on loopback and counts the requests it answered (``posts``)."""

    posts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


@pytest.fixture
def html_server() -> Iterator[_HtmlServer]:
    server = _HtmlServer(("127.0.0.1", 0), _Html)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def quick_llm_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The API's LLM backend built as configured, its waits between attempts cut to milliseconds.

    The same attempts are made (a 200 that is no completion is retried like a 5xx), without the
    seconds of exponential back-off between them.
    """
    from extractor.llm_settings import Backoff
    from followthrough.api import app as api_app

    build = api_app.build_extractor

    def build_quick(*args: Any, **kwargs: Any) -> Any:
        extractor = build(*args, **kwargs)
        extractor.transport.backoff = Backoff(initial_s=0.001, max_s=0.01)
        return extractor

    monkeypatch.setattr(api_app, "build_extractor", build_quick)


KEY = "test-llm-key-0123456789abcdef"


def _post_with_llm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, base_url: str, name: str
) -> httpx.Response:
    monkeypatch.setenv("OPENAI_BASE_URL", base_url)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    url = f"sqlite:///{tmp_path / (name + '.db')}"
    with Store(url) as store:
        store.upsert_crm(CRM)
        _, token = ApiTokens(store.engine).create(name)
    settings = Settings(database_url=url, as_of=AS_OF, company_domains={"northwind.io"}, extractor="openai")
    with LiveServer(create_app(url, as_of=AS_OF, settings=settings)) as server:
        return httpx.post(
            server.url + "/v1/documents",
            json=email("Hi Dana, I'll send you the revised pricing by Friday. Can you confirm?"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )


@pytest.mark.usefixtures("quick_llm_retries")
def test_an_llm_server_answering_a_web_page_is_a_502(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    html_server: _HtmlServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    r = _post_with_llm(tmp_path, monkeypatch, html_server.url, "html")
    assert html_server.posts > 1, "the page is retried like a 5xx before the document fails"
    problem = _assert_problem(r, 502)
    assert problem["detail"].startswith("extraction failed")
    assert KEY not in r.text and KEY not in caplog.text


def test_an_upstream_error_echoing_the_key_is_a_502_without_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with FakeOpenAI() as llm:
        echo = f"invalid request; headers were Authorization: Bearer {KEY}, api_key={KEY}"
        llm.queue(*[Reply(status=400, error=echo) for _ in range(5)])
        r = _post_with_llm(tmp_path, monkeypatch, llm.url, "echo")
        assert llm.count >= 1
    problem = _assert_problem(r, 502)
    assert "extraction failed" in problem["detail"] and "400" in problem["detail"]
    assert KEY not in r.text and KEY[8:] not in r.text
    assert KEY not in caplog.text


# ------------------------------------------------------------------ 6. the access log


def test_credentials_in_a_query_string_never_reach_the_access_log(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    secrets = ["ft_" + "s" * 30, "plainsecret12345", "percentsecret123", "sk-abcdefghijklmnop"]
    with api.client() as c:
        c.get("/v1/commitments", params={"token": secrets[0]})
        c.get("/v1/commitments", params={"limit": 1, "api_key": secrets[1]})
        c.get(f"/v1/commitments?to%6Ben={secrets[2]}&limit=1")
        c.get(f"/v1/commitments?owner={secrets[3]}")
        c.get("/healthz", params={"access_token": secrets[1]})
    lines = [r.getMessage() for r in caplog.records if r.name == ACCESS_LOGGER]
    text = "\n".join(lines)
    assert "GET /v1/commitments?token=*** HTTP/1.1" in text
    assert "api_key=***" in text and "to%6Ben=***" in text
    server_side = [r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    for secret in [*secrets, api.token]:
        assert secret not in "\n".join(server_side)


@pytest.fixture
def uvicorn_logging() -> Iterator[None]:
    """Put uvicorn's loggers back as they were (its logging config stops their propagation)."""
    names = ("uvicorn", "uvicorn.error", "uvicorn.access")
    saved = {
        n: (lg.handlers[:], lg.filters[:], lg.level, lg.propagate)
        for n in names
        for lg in [logging.getLogger(n)]
    }
    yield
    for n, (handlers, filters, level, propagate) in saved.items():
        lg = logging.getLogger(n)
        lg.handlers[:], lg.filters[:], lg.level, lg.propagate = handlers, filters, level, propagate


def test_the_serve_logging_config_keeps_the_redaction(
    uvicorn_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    create_app("sqlite://", settings=Settings(database_url="sqlite://", as_of=AS_OF))
    # what `followthrough serve` (uvicorn.run) configures after create_app: uvicorn's own logging
    uvicorn.Config(app="followthrough.api:create_app", log_level="info")
    logger = logging.getLogger(ACCESS_LOGGER)
    assert any(isinstance(f, RedactTarget) for f in logger.filters)
    logger.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:1", "GET", "/v1/deals?token=abcdef123456", "1.1", 200)
    out = capsys.readouterr()
    assert "GET /v1/deals?token=*** HTTP/1.1" in out.out + out.err
    assert "abcdef123456" not in out.out + out.err
    assert redact_target("/v1/commitments?limit=5&cursor=W10") == "/v1/commitments?limit=5&cursor=W10"


# ------------------------------------------------------------------ 7. concurrent edits


def _one_commitment(store: Store) -> int:
    doc = make_doc(text="Thanks Dana. I'll send the revised pricing to you by Friday.")
    doc_id, _ = store.add_document(doc)
    run = store.start_run(extractor="offline", model="m", prompt_version="v1")
    (cid,) = store.record_extraction(
        run, doc_id, "k", [make_item(doc, "I'll send the revised pricing to you by Friday")]
    )
    store.finish_run(run, RunStatus.OK)
    return cid


def _chain_ok(history: list[Any], field: str) -> list[Any]:
    entries = [h for h in history if h.field == field]
    for before, after in zip(entries, entries[1:], strict=False):
        assert after.old == before.new, [(h.old, h.new, h.actor) for h in entries]
    return entries


def test_concurrent_status_changes_keep_a_true_history(store_url: str) -> None:  # noqa: F811
    with Store(store_url) as store:
        store.upsert_crm(CRM)
        cid = _one_commitment(store)
        statuses = ["done", "dismissed", "open", "review"]  # waiting is for customers' promises
        barrier = threading.Barrier(8)
        errors: list[BaseException] = []

        def worker(n: int) -> None:
            try:
                barrier.wait()
                for i in range(8):
                    store.set_status(cid, statuses[(n + i) % len(statuses)], actor=f"t{n}", as_of=AS_OF)
                store.set_deal(cid, None if n % 2 else "D-100", actor=f"t{n}", as_of=AS_OF)
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        view = store.get_commitment(cid, as_of=AS_OF)
        entries = _chain_ok(view.history, "status")
        assert entries[0].old is None or entries[0].old == "open"
        assert entries[-1].new == view.status
        assert len(_chain_ok(view.history, "deal")) == 8


def test_concurrent_patches_over_http_keep_a_true_history(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'patch.db'}"
    token, app = _serve(url)
    with LiveServer(app) as server:
        headers = {"Authorization": f"Bearer {token}"}
        r = httpx.post(
            server.url + "/v1/documents", json=email("I'll send the plan by 2026-03-20."), headers=headers
        )
        cid = r.json()["items"][0]["id"]
        barrier = threading.Barrier(6)
        codes: list[int] = []

        def worker(n: int) -> None:
            with httpx.Client(base_url=server.url, headers=headers, timeout=60) as c:
                barrier.wait()
                for i in range(5):
                    status = ("done", "dismissed", "open")[(n + i) % 3]
                    codes.append(c.patch(f"/v1/commitments/{cid}", json={"status": status}).status_code)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert set(codes) == {200}
        one = httpx.get(f"{server.url}/v1/commitments/{cid}", headers=headers).json()
    statuses = [h for h in one["history"] if h["field"] == "status"]
    for before, after in zip(statuses, statuses[1:], strict=False):
        assert after["old"] == before["new"], statuses


# ------------------------------------------------------------------ 8. CSV export


FORMULAS = ['=HYPERLINK("http://evil","x")', "+1+1", "-2+3", "@SUM(A1:A2)", "\tx=1", "\rcmd|' /C calc'!A0"]


def test_csv_cells_are_never_formulas() -> None:
    for f in FORMULAS:
        assert csv_cell(f) == "'" + f
    assert csv_cell("plain text") == "plain text" and csv_cell(None) == ""
    assert csv_cell(-1) == -1 and csv_cell(0.5) == 0.5  # numbers stay numbers
    rows = [
        {"action": f, "evidence": f, "owner": f, "id": n, "char_start": 0} for n, f in enumerate(FORMULAS)
    ]
    out = io.StringIO()
    assert _write(iter(rows), Format.csv, out) == len(FORMULAS)
    parsed = list(csv.DictReader(io.StringIO(out.getvalue(), newline="")))
    for row, f in zip(parsed, FORMULAS, strict=True):
        assert row["action"] == row["evidence"] == row["owner"] == "'" + f
    jsonl = io.StringIO()
    _write(iter(rows), Format.jsonl, jsonl)  # JSON is data: left as it is
    assert [json.loads(line)["action"] for line in jsonl.getvalue().splitlines()] == FORMULAS


def test_followthrough_export_csv_escapes_formulas(tmp_path: Path) -> None:
    db = tmp_path / "export.db"
    text_ = "=cmd|' /C calc'!A0. I'll send the pricing by Friday."
    with Store(f"sqlite:///{db}") as store:
        doc = make_doc(text=text_)
        doc_id, _ = store.add_document(doc)
        run = store.start_run(extractor="offline", model="m", prompt_version="v1")
        item = make_item(doc, "=cmd|' /C calc'!A0", action="+SUM(1,2)", owner="@owner", owner_email=None)
        store.record_extraction(run, doc_id, "k", [item])
        store.finish_run(run, RunStatus.OK)
    result = followthrough("export", "--format", "csv", db=db)
    assert result.returncode == 0, result.stderr
    (row,) = list(csv.DictReader(io.StringIO(result.stdout, newline="")))
    assert row["evidence"] == "'=cmd|' /C calc'!A0"
    assert row["action"] == "'+SUM(1,2)" and row["owner"] == "'@owner"


# ------------------------------------------------------------------ 9. review


def test_review_items_are_filtered_and_confirmed_or_rejected_by_a_person(api: Api) -> None:
    with api.client() as c:
        r = c.post(
            "/v1/documents", json=email("I'll send the review sample A by 2026-03-30. I'll send sample B.")
        )
        a, b = (i["id"] for i in r.json()["items"])
        with Store(api.database_url) as store:
            store.set_status(a, "review", actor="llm-check")
            store.set_status(b, "review", actor="llm-check")
        review = {
            i["id"]
            for i in c.get("/v1/commitments", params={"status": "review", "limit": 500}).json()["items"]
        }
        assert {a, b} <= review
        open_ids = {i["id"] for i in c.get("/v1/commitments", params={"limit": 500}).json()["items"]}
        assert not {a, b} & open_ids
        overdue = {
            i["id"] for i in c.get("/v1/commitments", params={"overdue": True, "limit": 500}).json()["items"]
        }
        assert not {a, b} & overdue
        confirmed = c.patch(f"/v1/commitments/{a}", json={"status": "open", "note": "checked"}).json()
        assert confirmed["status"] == "open"
        assert confirmed["history"][-1]["old"] == "review" and confirmed["history"][-1]["new"] == "open"
        rejected = c.patch(f"/v1/commitments/{b}", json={"status": "dismissed"}).json()
        assert rejected["status"] == "dismissed"
        review = {
            i["id"]
            for i in c.get("/v1/commitments", params={"status": "review", "limit": 500}).json()["items"]
        }
        assert not {a, b} & review
        assert c.patch(f"/v1/commitments/{b}", json={"status": "review"}).json()["status"] == "review"
        assert a in {i["id"] for i in c.get("/v1/commitments", params={"limit": 500}).json()["items"]}


# ------------------------------------------------------------------ 1. a value the database cannot hold


def test_a_document_the_database_cannot_hold_is_a_422_naming_the_value(api: Api) -> None:
    with api.client() as c:
        body = email("I'll send the pricing sheet tomorrow.", occurred_at="9999-12-31T23:59:59-12:00")
        assert "occurred_at" in _assert_problem(c.post("/v1/documents", json=body), 422)["detail"]
        body = email("I'll send the pricing sheet tomorrow.", external_id="<" + "x" * 3000 + "@acme.com>")
        r = c.post("/v1/documents", json=body)
        problem = _assert_problem(r, 422)
        assert "external_id" in problem["detail"] or "message id is 3,011 characters" in problem["detail"]
        r = c.post("/v1/documents", json=email("Thanks.\x00 I'll send the NUL deck by 2026-03-20."))
        assert "NUL" in _assert_problem(r, 422)["detail"]
