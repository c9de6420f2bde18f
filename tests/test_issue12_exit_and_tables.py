"""Issue 12: exit codes a scheduler can trust, and listings people can read at 80 and 120 columns.

An LLM server that cannot be reached (a real loopback port with nothing listening) fails a run in
seconds with one line naming it, and a non-zero exit; a server that refuses the key or the model
stops the batch with exit 1; every document failing is exit 1, not 3 (partial). The listings give
the action the width, show the status with ``--status all``, and never cut an id a user types.
"""

from __future__ import annotations

import json
import re
import socket
import time
from datetime import UTC, date, datetime
from pathlib import Path

import openai
import pytest
from rich.console import Console

from extractor.base import ExtractionFailed
from extractor.llm_breaker import CircuitBreaker
from extractor.llm_settings import Backoff, Breaker, LlmLimits
from extractor.openai_backend import OpenAIExtractor
from followthrough.cli.report import ACTION_MIN_WIDTH, commitments_table
from followthrough.cli.tables import Column, fitted_table
from followthrough.errors import ConfigError, ExtractionError
from followthrough.types import Participant, SourceDocument
from store import CommitmentView
from tests.clirunner import followthrough
from tests.conftest import DEMO, DEMO_EXPECTED
from tests.fake_openai import FakeOpenAI, Reply

MBOX = DEMO / "email" / "customers.mbox"
AS_OF = json.loads(DEMO_EXPECTED.read_text())["as_of"]


def closed_port() -> int:
    """A loopback port nothing listens on: bound by the OS, then closed."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def llm_env(url: str) -> dict[str, str]:
    return {"OPENAI_BASE_URL": url, "OPENAI_API_KEY": "sk-test", "FOLLOWTHROUGH_EXTRACTOR": "openai"}


def write_emails(folder: Path, n: int) -> Path:
    """``n`` small .eml files, each with a promise in it."""
    folder.mkdir()
    for i in range(n):
        (folder / f"m{i}.eml").write_text(
            f"From: Marco Rossi <marco@northwind.io>\nTo: Dana Lee <dana@acme.com>\n"
            f"Subject: Follow-up {i}\nDate: Tue, 10 Mar 2026 09:{i:02d}:00 -0500\n"
            f"Message-ID: <m{i}@northwind.io>\n\nHi Dana,\nI'll send the revised pricing {i} by Friday.\n"
        )
    return folder


def runs(db: Path) -> list[dict[str, object]]:
    result = followthrough("runs", "--json", db=db)
    assert result.returncode == 0, result.stderr
    out: list[dict[str, object]] = json.loads(result.stdout)
    return out


# -- an unreachable server ---------------------------------------------------------------------------------
def test_run_against_nothing_listening_exits_non_zero_in_seconds_naming_the_endpoint(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    db = tmp_path / "ft.db"
    started = time.monotonic()
    result = followthrough("run", MBOX, db=db, env=llm_env(url))
    elapsed = time.monotonic() - started
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert elapsed < 15, elapsed
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert url in lines[0] and "cannot reach the LLM server" in lines[0] and "Traceback" not in lines[0]
    assert runs(db)[0]["status"] == "failed"
    # the documents not extracted stay pending: with a server there, the next run extracts them all
    with FakeOpenAI() as server:
        again = followthrough("extract", "--json", db=db, env=llm_env(server.url))
        assert again.returncode == 0, again.stderr
        summary = json.loads(again.stdout)
        assert summary["failed"] == [] and summary["extracted"] >= 10 and server.count >= 1
        left = json.loads(followthrough("extract", "--json", db=db, env=llm_env(server.url)).stdout)
    assert left["extracted"] == left["cached"] == 0 and left["failed"] == []


def test_every_document_failing_is_exit_1_not_partial(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    db = tmp_path / "ft.db"
    assert followthrough("ingest", write_emails(tmp_path / "mail", 2), db=db).returncode == 0
    result = followthrough("extract", db=db, env=llm_env(url))
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "every document failed to extract" in result.stderr and "exit code 1" in result.stderr
    failed = [line for line in result.stderr.splitlines() if line.startswith("extraction failed")]
    assert len(failed) == 2 and all(url in line and "Connection refused" in line for line in failed)
    assert runs(db)[0]["status"] == "failed"


def test_some_documents_failing_is_still_partial(tmp_path: Path) -> None:
    db = tmp_path / "ft.db"
    assert followthrough("ingest", write_emails(tmp_path / "mail", 3), db=db).returncode == 0
    with FakeOpenAI() as server:
        malformed = Reply(status=400, error="the request is malformed")
        server.queue(malformed, malformed)  # the shared request, then the first document sent alone
        result = followthrough("extract", "--concurrency", "1", db=db, env=llm_env(server.url))
    assert result.returncode == 3, (result.stdout, result.stderr)
    assert "exit code 3 (partial)" in result.stderr
    assert runs(db)[0]["status"] == "partial"


@pytest.mark.parametrize(
    ("status", "says"),
    [(401, "refused the API key"), (404, "does not know model")],
)
def test_a_server_refusing_the_key_or_the_model_stops_the_run_with_exit_1(
    tmp_path: Path, status: int, says: str
) -> None:
    db = tmp_path / "ft.db"
    with FakeOpenAI() as server:
        server.queue(*[Reply(status=status, error="no") for _ in range(20)])
        result = followthrough("run", write_emails(tmp_path / "mail", 3), db=db, env=llm_env(server.url))
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and says in lines[0], result.stderr
    assert runs(db)[0]["status"] == "failed"


# -- the transport and its breaker -------------------------------------------------------------------------
DOC = SourceDocument(
    source="email",
    external_id="<m1@acme.com>",
    occurred_at=datetime(2026, 3, 10, 9, 30, tzinfo=UTC),
    title="Pricing",
    participants=[Participant(name="Marco Rossi", email="marco@northwind.io", role="sender")],
    text="Hi Dana,\nI'll send the revised pricing by Friday.\n",
)


def test_a_refused_connection_is_tried_twice_then_the_breaker_stops_every_call() -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    waits: list[float] = []
    client = openai.OpenAI(base_url=url, api_key="sk-test", max_retries=0)
    ext = OpenAIExtractor(
        client,
        model="gpt-4o-mini",
        limits=LlmLimits(max_attempts=6),
        backoff=Backoff(initial_s=0.001, max_s=0.01),
        sleep=waits.append,
    )
    try:
        outcomes = [ext.run_safely(DOC) for _ in range(2)]
        assert all(isinstance(o, ExtractionFailed) for o in outcomes)
        assert "Connection refused" in str(outcomes[0]) and url in str(outcomes[0])
        assert len(waits) == 2  # one retry per document, not five
        with pytest.raises(ConfigError, match="3 requests in a row got no answer") as third:
            ext.run(DOC)
        assert url in str(third.value)
        waits.clear()
        started = time.monotonic()
        with pytest.raises(ConfigError):  # the endpoint counts as down: no attempt, no wait
            ext.run(DOC)
        assert waits == [] and time.monotonic() - started < 0.5
    finally:
        client.close()


def test_a_server_that_accepts_and_never_answers_trips_the_breaker_too() -> None:
    """A hung server (the connection is accepted, no byte comes back) is as dead as a refused port:
    each call times out, and after three calls in a row the batch stops instead of waiting out every
    document's time budget."""
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])  # accepted, never answered
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    client = openai.OpenAI(base_url=url, api_key="sk-test", max_retries=0)
    ext = OpenAIExtractor(
        client,
        model="gpt-4o-mini",
        limits=LlmLimits(max_attempts=6, request_timeout_s=0.3, max_seconds_per_doc=30),
        backoff=Backoff(initial_s=0.001, max_s=0.01),
    )
    try:
        started = time.monotonic()
        first, second = ext.run_safely(DOC), ext.run_safely(DOC)
        assert isinstance(first, ExtractionFailed) and "did not answer in time" in str(first)
        assert isinstance(second, ExtractionFailed)
        with pytest.raises(ConfigError, match="3 requests in a row got no answer") as third:
            ext.run(DOC)
        assert url in str(third.value)
        assert time.monotonic() - started < 10  # 3 documents × 2 attempts × 0.3 s, not 6 × 30 s budgets
    finally:
        stop.set()
        thread.join()
        client.close()
        for conn in held:
            conn.close()
        listener.close()


def test_the_breaker_counts_failures_in_a_row_and_lets_a_call_through_after_its_cooldown() -> None:
    now = [0.0]
    breaker = CircuitBreaker(Breaker(threshold=3, cooldown_s=30), "http://llm:8000/v1", clock=lambda: now[0])
    assert isinstance(breaker.gave_up("refused"), ExtractionError)
    assert isinstance(breaker.gave_up("refused"), ExtractionError)
    breaker.reached()  # the server answered: the count starts over
    assert isinstance(breaker.gave_up("refused"), ExtractionError)
    assert isinstance(breaker.gave_up("refused"), ExtractionError)
    opened = breaker.gave_up("refused")
    assert isinstance(opened, ConfigError) and "http://llm:8000/v1 (refused)" in str(opened)
    with pytest.raises(ConfigError):
        breaker.check()
    now[0] = 31.0
    breaker.check()  # cooled down: one call may try
    assert isinstance(breaker.gave_up("refused"), ConfigError)  # and one failure opens it again
    with pytest.raises(ConfigError):
        breaker.check()
    breaker.reached()
    breaker.check()


# -- listings ----------------------------------------------------------------------------------------------
def view(
    cid: int,
    action: str,
    *,
    status: str = "open",
    kind: str = "commitment",
    owner: str | None = "Priya Shah",
    email: str = "priya@northwind.io",
    deal: tuple[str, str, str] | None = ("D-1001", "Acme Corp - Data Platform Expansion", "Acme Corp"),
    due: date | None = date(2026, 3, 11),
) -> CommitmentView:
    return CommitmentView.model_validate(
        {
            "id": cid,
            "type": kind,
            "status": status,
            "owner": email if owner else None,
            "owner_name": owner,
            "counterparty": None,
            "action": action,
            "due": due,
            "due_text": None,
            "confidence": 0.9,
            "flags": [],
            "source": "email",
            "message_id": "<m@x>",
            "thread_id": None,
            "document_id": 1,
            "occurred_at": datetime(2026, 3, 5, tzinfo=UTC),
            "evidence": action,
            "char_start": 0,
            "char_end": len(action),
            "alignment": "exact",
            "quotes": [],
            "deal": None
            if deal is None
            else {"crm_id": deal[0], "name": deal[1], "account": deal[2], "stage": None, "amount": None}
            | {"close_date": None},
            "link_method": None,
            "link_confidence": None,
            "snoozed_until": None,
            "priority": 1.0,
            "priority_reasons": [],
            "overdue_days": None,
        }
    )


ITEMS = [
    view(4, "Put together a short Okta configuration guide for your team"),
    view(
        123456,
        "Get our BAA template and the HIPAA security whitepaper over to Marcus",
        status="dismissed",
        owner="Marco Rossi",
        email="marco@northwind.io",
        deal=("0065g00000AbCdEfGH", "Umbrella Health - HIPAA Data Lake", "Umbrella Health Systems"),
    ),
    view(7, "Confirm the SSO setup works with Okta", kind="request", status="snoozed", owner=None, deal=None),
]


def render(table: object, width: int) -> str:
    console = Console(width=width, record=True, soft_wrap=False, color_system=None)
    console.print(table)
    return console.export_text()


def header_cells(text: str) -> dict[str, int]:
    """Each column's header and its width in character cells (without padding)."""
    header = next(line for line in text.splitlines() if line.startswith("┃"))
    cells = header.strip("┃").split("┃")
    return {cell.strip(): len(cell) - 2 for cell in cells}


def cells(text: str) -> list[str]:
    """The text of every cell of every row."""
    return [
        c.strip() for line in text.splitlines() if line.startswith("│") for c in line.strip("│").split("│")
    ]


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("show_status", [False, True])
@pytest.mark.parametrize("items", [ITEMS[:1] + ITEMS[2:], ITEMS], ids=["short-ids", "long-ids"])
def test_the_action_gets_the_width_and_ids_are_never_cut(
    width: int, show_status: bool, items: list[CommitmentView]
) -> None:
    text = render(commitments_table("t", items, date(2026, 3, 20), width, show_status=show_status), width)
    assert all(len(line) <= width for line in text.splitlines())
    columns = header_cells(text)
    assert columns["Action (? = request)"] >= ACTION_MIN_WIDTH
    found = cells(text)
    assert all(str(c.id) in found for c in items)
    if "Deal" in columns:
        assert all(c.deal.crm_id in found for c in items if c.deal)
    else:  # left out rather than cut: only when the terminal cannot hold an 18-character deal id
        assert width < 120 and items is ITEMS
    assert ("Status" in columns) is show_status
    if show_status:
        assert {"open", "snoozed"} <= set(found)
    assert "Priya" in found or "Priya Shah" in found  # a name, not an email, in the owner column
    assert not any("@" in cell for cell in found)


def test_a_column_too_long_for_its_room_ends_in_an_ellipsis_and_a_fixed_one_is_whole() -> None:
    table = fitted_table(
        "t",
        [
            Column("ID", ["12345678"]),
            Column("Owner", ["Bartholomew Montgomery-Smythe"], max_width=10),
            Column("Action", ["word " * 40], grow=True, min_width=30),
        ],
        60,
    )
    text = render(table, 60)
    assert "12345678" in cells(text) and "Bartholom…" in cells(text)
    assert header_cells(text)["Action"] >= 30 and "Bartholomew Montgomery" not in text


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("demo") / "ft.db"
    result = followthrough("--as-of", AS_OF, "run", DEMO, db=db)
    assert result.returncode == 0, result.stderr
    return db


@pytest.mark.parametrize("columns", ["80", "120"])
def test_demo_listings_read_at_80_and_120_columns(demo_db: Path, columns: str) -> None:
    env = {"COLUMNS": columns}
    listed = followthrough("--as-of", AS_OF, "commitments", "list", "--status", "all", "--json", db=demo_db)
    items = json.loads(listed.stdout)
    assert items
    result = followthrough("--as-of", AS_OF, "commitments", "list", "--status", "all", db=demo_db, env=env)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert all(len(line) <= int(columns) for line in text.splitlines())
    heads = header_cells(text)
    assert "Status" in heads and heads["Action (? = request)"] >= ACTION_MIN_WIDTH
    found = cells(text)
    assert {str(i["id"]) for i in items[:50]} <= set(found)
    assert {i["deal"]["crm_id"] for i in items[:50] if i["deal"]} <= set(found)
    assert {i["status"] for i in items[:50]} <= set(found)

    deals = followthrough("deals", db=demo_db, env=env)
    assert deals.returncode == 0, deals.stderr
    assert all(len(line) <= int(columns) for line in deals.stdout.splitlines())
    assert {f"D-100{n}" for n in range(1, 8)} <= set(cells(deals.stdout))


def test_the_default_listing_has_no_status_column(demo_db: Path) -> None:
    result = followthrough("--as-of", AS_OF, "commitments", "list", db=demo_db, env={"COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    assert "Status" not in header_cells(result.stdout)
    assert re.search(r"│\s+\d+ │", result.stdout)
