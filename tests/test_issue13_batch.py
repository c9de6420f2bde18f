"""Issue 13: ``--batch`` sends the documents through a Batch API (OpenAI shape), resumable across runs.

Against :class:`tests.fake_batch_api.FakeBatchAPI` (files and batches endpoints on loopback, each
request answered by the online fake server's own logic): a batch is submitted, polled, downloaded and
recorded once, with the same items the online path stores and the cost at the Batch price; a run
killed after submitting, or one with ``--no-wait``, is collected by the next run without submitting
again; a per-request error fails that document alone; an expired batch is submitted again; a batch
the provider fails fails its documents with the provider's reason; a re-run records nothing new.
SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from extractor.batch.settings import BATCH_PRICE_FACTOR
from extractor.llm_config import DEFAULT_MODEL
from extractor.pricing import estimate_cost
from store import Store
from tests.clirunner import followthrough
from tests.conftest import REPO
from tests.fake_batch_api import FakeBatchAPI
from tests.fake_openai import FakeOpenAI, broken_json
from tests.store_fixtures import store_url  # noqa: F401

ARGS = ("--as-of", "2026-03-12", "--company-domains", "northwind.io")
FAST = ("--poll-seconds", "0.01", "--max-wait-seconds", "30")

EMAILS = {
    "pricing.eml": """\
From: Marco Rossi <marco@northwind.io>
To: Dana Lee <dana@acme.com>
Subject: Revised pricing
Date: Tue, 10 Mar 2026 09:14:00 -0500
Message-ID: <pricing-1@northwind.io>

Hi Dana,

Thanks for the call today. I'll send the revised pricing by Friday.

Marco
""",
    "sso.eml": """\
From: Dana Lee <dana@acme.com>
To: Marco Rossi <marco@northwind.io>
Subject: SSO
Date: Wed, 11 Mar 2026 10:02:00 -0500
Message-ID: <sso-1@acme.com>

Marco, could you confirm the SSO setup works with Okta?

Dana
""",
    "thanks.eml": """\
From: Dana Lee <dana@acme.com>
To: Marco Rossi <marco@northwind.io>
Subject: Re: lunch
Date: Wed, 11 Mar 2026 12:30:00 -0500
Message-ID: <lunch-1@acme.com>

Great lunch today, thanks.

Dana
""",
}


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    for name, text in EMAILS.items():
        (folder / name).write_text(text)
    return folder


def _export(db: Path | str, env: dict[str, str]) -> list[dict[str, object]]:
    out = followthrough(*ARGS, "export", "--format", "jsonl", db=db, env=env)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    return sorted(rows, key=lambda r: str(r["evidence"]))


def _shape(rows: list[dict[str, object]]) -> list[tuple[object, ...]]:
    """What an item says, without ids and times (compared between the batch and the online path)."""
    keys = ("type", "owner", "counterparty", "action", "due", "evidence", "status", "flags", "source")
    return [tuple(json.dumps(r.get(k), sort_keys=True) for k in keys) for r in rows]


def test_batch_run_is_recorded_once_like_the_online_path(
    inbox: Path,
    tmp_path: Path,
    store_url: str,  # noqa: F811
) -> None:
    with FakeBatchAPI() as api:
        env = {"OPENAI_BASE_URL": api.url}
        first = followthrough(*ARGS, "run", "--batch", *FAST, inbox, "--json", db=store_url, env=env)
        assert first.returncode == 0, first.stderr + first.stdout
        run = json.loads(first.stdout)["run"]
        assert len(api.uploads) == 1 and len(api.batches) == 1
        assert api.batches["batch_1"]["status"] == "completed"
        submitted = api.uploads[0]
        assert len(submitted) == 2  # the lunch note holds nothing plausible: the pre-filter keeps it back
        assert {line["url"] for line in submitted} == {"/v1/chat/completions"}
        assert {line["body"]["response_format"]["type"] for line in submitted} == {"json_schema"}
        assert len({line["custom_id"] for line in submitted}) == 2
        assert run["extracted"] == 3 and run["failed"] == [] and run["llm_calls"] == 2
        assert run["prefiltered"] == 1 and run["tokens_saved"] > 0
        online_price = estimate_cost(DEFAULT_MODEL, run["prompt_tokens"], run["completion_tokens"])
        assert online_price is not None and run["prompt_tokens"] == api.model.prompt_tokens
        assert run["cost_usd"] == pytest.approx(online_price * BATCH_PRICE_FACTOR, abs=2e-6)
        batch_rows = _export(store_url, env)

        again = followthrough(*ARGS, "extract", "--batch", *FAST, "--json", db=store_url, env=env)
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout)["extracted"] == 0  # nothing pending: nothing new recorded
        assert len(api.uploads) == 1 and len(api.batches) == 1
        assert _export(store_url, env) == batch_rows

    online_db = tmp_path / "online.db"
    with FakeOpenAI() as server:
        env = {"OPENAI_BASE_URL": server.url}
        online = followthrough(*ARGS, "run", inbox, "--json", db=online_db, env=env)
        assert online.returncode == 0, online.stderr
        online_rows = _export(online_db, env)
    assert _shape(batch_rows) == _shape(online_rows)
    pricing = [r for r in batch_rows if "revised pricing" in str(r["evidence"])]
    assert (
        len(pricing) == 1
        and pricing[0]["owner"] == "marco@northwind.io"
        and pricing[0]["due"] == "2026-03-13"
    )
    sso = [r for r in batch_rows if "SSO setup" in str(r["evidence"])]
    assert len(sso) == 1 and sso[0]["type"] == "request"


def test_no_wait_submits_and_the_next_run_collects_without_submitting_again(
    inbox: Path,
    store_url: str,  # noqa: F811
) -> None:
    with FakeBatchAPI() as api:
        env = {"OPENAI_BASE_URL": api.url}
        assert followthrough("ingest", inbox, db=store_url, env=env).returncode == 0
        api.hold = True
        first = followthrough(*ARGS, "extract", "--batch", "--no-wait", *FAST, db=store_url, env=env)
        assert first.returncode == 0, first.stderr
        assert "note: batch batch_1: 2 document(s) still" in " ".join(first.stderr.split())
        assert len(api.uploads) == 1 and _export(store_url, env) == []

        held = followthrough(*ARGS, "extract", "--batch", "--no-wait", *FAST, "--json", db=store_url, env=env)
        assert held.returncode == 0 and json.loads(held.stdout)["extracted"] == 0
        assert len(api.uploads) == 1  # its documents are in an open batch: not submitted twice

        api.hold = False
        second = followthrough(*ARGS, "extract", "--batch", *FAST, "--json", db=store_url, env=env)
        assert second.returncode == 0, second.stderr
        assert json.loads(second.stdout)["extracted"] == 2
        assert len(api.uploads) == 1 and len(api.batches) == 1
        rows = _export(store_url, env)
        assert len(rows) == 2 and len({r["evidence"] for r in rows}) == 2


def test_a_killed_run_is_collected_by_the_next_one(inbox: Path, tmp_path: Path) -> None:
    db = tmp_path / "ft.db"
    with FakeBatchAPI() as api:
        env = {"OPENAI_BASE_URL": api.url}
        assert followthrough("ingest", inbox, db=db, env=env).returncode == 0
        api.hold = True
        process = subprocess.Popen(
            [sys.executable, "-m", "followthrough", *ARGS, "extract", "--batch", *FAST],
            cwd=REPO,
            env={**os.environ, "FOLLOWTHROUGH_DATABASE_URL": f"sqlite:///{db}", **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 60
            while api.polls < 2 and time.monotonic() < deadline and process.poll() is None:
                time.sleep(0.02)  # polled twice: submitted and kept in the store, now waiting
            assert api.polls >= 2, process.stderr.read() if process.stderr else ""
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            if process.stderr:
                process.stderr.close()
        assert len(api.uploads) == 1

        api.hold = False
        second = followthrough(*ARGS, "extract", "--batch", *FAST, "--json", db=db, env=env)
        assert second.returncode == 0, second.stderr
        assert json.loads(second.stdout)["extracted"] == 2
        assert len(api.uploads) == 1 and len(api.batches) == 1  # collected, not submitted again
        with Store(f"sqlite:///{db}") as store:
            statuses = [r.status for r in store.list_runs()]
        assert statuses[0] == "ok" and "interrupted" in statuses  # the killed run is closed as such


def test_a_per_request_error_fails_that_document_alone(inbox: Path, tmp_path: Path) -> None:
    db = tmp_path / "ft.db"
    with FakeBatchAPI() as api:
        env = {"OPENAI_BASE_URL": api.url}
        api.fail_when = lambda body: "SSO setup" in json.dumps(body["messages"][-1])
        first = followthrough(*ARGS, "run", "--batch", *FAST, inbox, "--json", db=db, env=env)
        assert first.returncode == 3, first.stderr  # partial
        run = json.loads(first.stdout)["run"]
        [failed] = run["failed"]
        assert "sso.eml" in failed
        assert "the LLM server answered 400: the request was refused: invalid content" in failed
        assert run["extracted"] == 2
        assert [r["evidence"] for r in _export(db, env)] == ["I'll send the revised pricing by Friday."]

        api.fail_when = None
        second = followthrough(*ARGS, "extract", "--batch", *FAST, "--json", db=db, env=env)
        assert second.returncode == 0, second.stderr
        assert json.loads(second.stdout)["extracted"] == 1
        assert len(api.uploads) == 2 and len(api.uploads[1]) == 1  # only the failed one, again
        assert len(_export(db, env)) == 2


def test_a_reply_failing_validation_fails_its_document_without_a_re_ask(inbox: Path, tmp_path: Path) -> None:
    db = tmp_path / "ft.db"
    with FakeBatchAPI() as api:
        env = {"OPENAI_BASE_URL": api.url}
        api.model.queue(broken_json())  # the batch's first request gets a truncated reply
        out = followthrough(*ARGS, "run", "--batch", *FAST, inbox, "--json", db=db, env=env)
        assert out.returncode == 3, out.stderr
        run = json.loads(out.stdout)["run"]
        [failed] = run["failed"]
        assert "the model's reply failed validation: the reply is not valid JSON" in failed
        assert run["llm_calls"] == 2 and api.requests_submitted == 2  # no re-ask: it stays pending
        assert len(_export(db, env)) == 1


def test_an_expired_batch_is_submitted_again_with_one_line(inbox: Path, tmp_path: Path) -> None:
    db = tmp_path / "ft.db"
    with FakeBatchAPI() as api:
        env = {"OPENAI_BASE_URL": api.url}
        api.end_as.append("expired")
        out = followthrough(*ARGS, "run", "--batch", *FAST, inbox, "--json", db=db, env=env)
        assert out.returncode == 0, out.stderr
        run = json.loads(out.stdout)["run"]
        assert [n for n in run["notes"] if "batch_1" in n] == [
            "batch batch_1: expired before 2 document(s) were extracted (the Batch API runs a batch "
            "within 24 h); they are submitted again"
        ]
        assert [b["status"] for b in api.batches.values()] == ["expired", "completed"]
        assert len(api.uploads) == 2 and len(api.uploads[1]) == 2
        assert run["extracted"] == 3 and run["failed"] == []
        assert len(_export(db, env)) == 2


def test_a_batch_the_provider_fails_fails_its_documents_with_the_reason(inbox: Path, tmp_path: Path) -> None:
    db = tmp_path / "ft.db"
    with FakeBatchAPI() as api:
        env = {"OPENAI_BASE_URL": api.url}
        api.end_as.append("failed")
        out = followthrough(*ARGS, "run", "--batch", *FAST, inbox, "--json", db=db, env=env)
        assert out.returncode == 3, out.stderr  # the pre-filtered note is extracted; the two others failed
        failed = json.loads(out.stdout)["run"]["failed"]
        assert len(failed) == 2
        assert all(
            f.endswith("the LLM server failed batch batch_1: line 1: model not available for batch")
            for f in failed
        )
        assert len(api.uploads) == 1  # not submitted again by the same run


def test_batch_needs_the_llm_backend(inbox: Path, tmp_path: Path) -> None:
    out = followthrough("run", "--batch", "--extractor", "offline", inbox, db=tmp_path / "ft.db")
    assert out.returncode == 1
    assert "--batch sends documents through an LLM provider's Batch API" in out.stderr


def test_a_server_without_a_batch_api_is_one_line(inbox: Path, tmp_path: Path) -> None:
    with FakeOpenAI() as server:  # chat completions only: /v1/files answers 404
        out = followthrough(
            *ARGS, "run", "--batch", inbox, db=tmp_path / "ft.db", env={"OPENAI_BASE_URL": server.url}
        )
    assert out.returncode == 1
    assert f"the LLM server at {server.url} has no Batch API" in " ".join(out.stderr.split())
    assert "run without --batch" in " ".join(out.stderr.split())


def test_a_full_batch_starts_another(inbox: Path, tmp_path: Path) -> None:
    """One batch holds at most ``max_requests`` requests; a document's requests stay in one batch."""
    import openai

    from extractor.batch.settings import BatchSettings
    from extractor.openai_backend import OpenAIExtractor
    from followthrough import pipeline
    from followthrough.batch_run import extract_batched

    with FakeBatchAPI() as api, Store(f"sqlite:///{tmp_path / 'ft.db'}") as store:
        report = pipeline.RunReport()
        pipeline.ingest_paths(store, [inbox], report, {"northwind.io"})
        client = openai.OpenAI(base_url=api.url, api_key="test", max_retries=0)
        extractor = OpenAIExtractor(client)
        settings = BatchSettings(poll_s=0.01, max_wait_s=30, max_requests=1)
        extract_batched(store, extractor, report, {"northwind.io"}, settings, lambda *_: None)
        client.close()
        assert [len(u) for u in api.uploads] == [1, 1, 1]  # no pre-filter here: every document is sent
        assert [b["status"] for b in api.batches.values()] == ["completed"] * 3
        assert report.extracted == 3 and report.failed == [] and report.notes == []
        assert store.open_batches(extractor.cache_key) == []
