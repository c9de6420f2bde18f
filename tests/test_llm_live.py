"""Against a real OpenAI-compatible endpoint: only with ``pytest -m live`` and a key or base URL set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.clirunner import followthrough
from tests.conftest import DEMO

pytestmark = pytest.mark.live


@pytest.mark.usefixtures("live_endpoint")
def test_demo_mailbox_through_the_real_model(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    crm = DEMO / "crm"
    mbox = DEMO / "email" / "customers.mbox"
    first = followthrough("--as-of", "2026-03-16", "run", crm, mbox, "--extractor", "openai", "--json", db=db)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)["run"]
    assert report["llm_calls"] > 0 and report["prompt_tokens"] > 0
    assert report["items"] > 0
    rows = [json.loads(x) for x in followthrough("export", db=db).stdout.splitlines() if x.strip()]
    assert all(r["evidence"] and r["char_start"] is not None for r in rows), "every stored item is grounded"
    again = followthrough("--as-of", "2026-03-16", "run", crm, mbox, "--extractor", "openai", "--json", db=db)
    assert json.loads(again.stdout)["run"]["llm_calls"] == 0, "unchanged input costs nothing the second time"
