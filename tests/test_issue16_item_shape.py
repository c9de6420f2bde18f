"""Issue 16, one item shape: ``commitments list --json``, ``GET /v1/commitments/{id}`` and
``export --format jsonl`` give the same object for the same item, and that object keeps the fields
``../shared/eval/score.py`` reads (``evidence`` a verbatim quote, ``owner`` the owner's email,
``char_start``/``char_end`` its offsets): the scorer scores the export as it is."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from followthrough.api import create_app
from store import Store
from store.api_tokens import ApiTokens
from tests.api_support import BACKENDS, LiveServer, database
from tests.clirunner import followthrough
from tests.conftest import EVAL, require_shared

AS_OF = "2026-03-16"
PROMISE = "I'll send you the revised pricing by Friday."
ASK = "Could you confirm how many seats you need for the renewal?"
MESSAGE_ID = "<pricing-1@northwind.io>"
EMAIL = f"""From: Marco Rossi <marco@northwind.io>
To: Dana Whitfield <dana@acme.com>
Subject: Renewal pricing
Date: Tue, 10 Mar 2026 09:30:00 +0000
Message-ID: {MESSAGE_ID}

Hi Dana,

Thanks for the call this morning. {PROMISE}
{ASK}

Best,
Marco
"""
GOLD = [  # the labels of the case, in ../shared/eval's gold format
    {
        "message_id": MESSAGE_ID,
        "type": "commitment",
        "text": PROMISE,
        "owner": "marco@northwind.io",
        "votes": 3,
    },
    {"message_id": MESSAGE_ID, "type": "request", "text": ASK, "owner": None, "votes": 2},
]


@pytest.fixture(params=BACKENDS)
def case(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database holding the labelled email, extracted offline."""
    (tmp_path / "pricing.eml").write_text(EMAIL, encoding="utf-8")
    with database(request.param, "shape", tmp_path) as url:
        run = followthrough(
            "--as-of", AS_OF, "--quiet", "run", tmp_path / "pricing.eml", "--extractor", "offline", db=url
        )
        assert run.returncode == 0, run.stderr
        yield url


def _export(url: str) -> list[dict[str, Any]]:
    r = followthrough("--as-of", AS_OF, "export", "--format", "jsonl", db=url)
    assert r.returncode == 0, r.stderr
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def test_list_json_api_and_export_give_the_same_object(case: str) -> None:
    exported = {i["id"]: i for i in _export(case)}
    listed = followthrough("--as-of", AS_OF, "commitments", "list", "--status", "all", "--json", db=case)
    assert listed.returncode == 0, listed.stderr
    by_list = {i["id"]: i for i in json.loads(listed.stdout)}
    assert len(exported) == 2 and set(by_list) == set(exported)
    with Store(case) as s:
        _, token = ApiTokens(s.engine).create("reader", read_only=True)
    with (
        LiveServer(create_app(case, as_of=date.fromisoformat(AS_OF))) as server,
        httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as c,
    ):
        for cid, item in exported.items():
            got = c.get(f"/v1/commitments/{cid}")
            assert got.status_code == 200, got.text
            assert got.json() == item == by_list[cid]
        page = c.get("/v1/commitments", params={"status": "all", "expand": "evidence"}).json()["items"]
        lean = c.get("/v1/commitments", params={"status": "all"}).json()["items"]
    for summary in page:  # a listing's item: the same fields, same names, same values
        assert {k: v for k, v in exported[summary["id"]].items() if k in summary} == summary
    assert all(i["evidence"] is None and i["quotes"] is None for i in lean)  # lean unless expanded
    promise = next(i for i in exported.values() if i["type"] == "commitment")
    assert (promise["evidence"], promise["owner"], promise["owner_name"]) == (
        PROMISE,
        "marco@northwind.io",
        "Marco Rossi",
    )
    assert promise["quotes"][0]["quote"] == PROMISE and promise["occurred_at"].endswith("Z")
    assert EMAIL.split("\n\n", 1)[1][promise["char_start"] : promise["char_end"]] == PROMISE
    assert "owner_email" not in promise


def test_score_py_scores_the_jsonl_export_as_it_is(case: str, tmp_path: Path) -> None:
    scorer = require_shared(EVAL / "score.py")
    gold, pred = tmp_path / "gold.jsonl", tmp_path / "pred.jsonl"
    gold.write_text("".join(json.dumps(g) + "\n" for g in GOLD), encoding="utf-8")
    r = followthrough("--as-of", AS_OF, "export", "--format", "jsonl", "-o", pred, db=case)
    assert r.returncode == 0, r.stderr
    done = subprocess.run(
        [sys.executable, str(scorer), "--gold", str(gold), "--pred", str(pred), "--json"],
        cwd=scorer.parent,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    scores = json.loads(done.stdout)
    for kind in ("commitment", "request"):
        assert (scores[kind]["precision"], scores[kind]["recall_lenient"]) == (1.0, 1.0), scores
    assert scores["commitment"]["owner_accuracy"] == 1.0


def test_eval_scores_what_the_export_writes(case: str, tmp_path: Path) -> None:
    """``eval --predictions`` writes the export's lines: score.py's fields are the same."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "pricing.eml").write_text(EMAIL, encoding="utf-8")
    gold, pred = tmp_path / "gold.jsonl", tmp_path / "pred.jsonl"
    gold.write_text("".join(json.dumps(g) + "\n" for g in GOLD), encoding="utf-8")
    r = followthrough(
        "--as-of", AS_OF, "eval", tmp_path / "in", "--gold", gold, "--extractor", "offline",
        "--predictions", pred, "--json",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["commitment"]["precision"] == 1.0
    fields = ("message_id", "type", "evidence", "owner", "due", "char_start", "char_end")
    written = [json.loads(line) for line in pred.read_text(encoding="utf-8").splitlines()]
    assert sorted(tuple(p[k] for k in fields) for p in written) == sorted(
        tuple(e[k] for k in fields) for e in _export(case)
    )
