"""End to end: the CLI with OPENAI_BASE_URL pointing at a scripted, misbehaving server.

The server answers 429 first, 500 second, then one broken JSON reply and one
reply with a hallucinated quote. Every grounded item must be stored exactly
once, with its owner resolved to an email and "by Friday" in a Tuesday email
resolved to that Friday; the hallucinated item must not be open; structured
output must have been requested; a second run must make no LLM call.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.clirunner import followthrough
from tests.fake_openai import FakeOpenAI, broken_json, hallucinated, rate_limited, server_error

TUESDAY_EMAIL = """\
From: Marco Rossi <marco@northwind.io>
To: Dana Lee <dana@acme.com>
Subject: Revised pricing
Date: Tue, 10 Mar 2026 09:14:00 -0500
Message-ID: <pricing-1@northwind.io>

Hi Dana,

Thanks for the call today. I'll send the revised pricing by Friday.

Marco
"""

DANA_EMAIL = """\
From: Dana Lee <dana@acme.com>
To: Marco Rossi <marco@northwind.io>
Subject: SSO
Date: Wed, 11 Mar 2026 10:02:00 -0500
Message-ID: <sso-1@acme.com>

Marco, could you confirm the SSO setup works with Okta?

Dana
"""


def test_scripted_server_run_twice(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "pricing.eml").write_text(TUESDAY_EMAIL)
    (inbox / "sso.eml").write_text(DANA_EMAIL)
    db = tmp_path / "ft.db"
    with FakeOpenAI() as server:
        server.queue(rate_limited(retry_after=0.05), server_error(), broken_json(), hallucinated())
        env = {"OPENAI_BASE_URL": server.url}
        args = ("--as-of", "2026-03-12", "--company-domains", "northwind.io")
        first = followthrough(*args, "run", inbox, "--concurrency", "1", "--json", db=db, env=env)
        assert first.returncode == 0, first.stderr + first.stdout
        calls_after_first = server.count
        formats = {(r.get("response_format") or {}).get("type") for r in server.requests}
        exported = followthrough(*args, "export", "--format", "jsonl", db=db, env=env)
        second = followthrough(*args, "run", inbox, "--json", db=db, env=env)
        assert second.returncode == 0, second.stderr + second.stdout
        assert server.count == calls_after_first  # cached: zero LLM calls

    assert formats == {"json_schema"}
    assert (
        calls_after_first == 4
    )  # 429, 500, broken JSON, re-ask (hallucinated quote): both emails in one request
    rows = [json.loads(line) for line in exported.stdout.splitlines() if line.strip()]
    evidence = [r["evidence"] for r in rows]
    assert len(evidence) == len(set(evidence))  # nothing stored twice
    pricing = [r for r in rows if "revised pricing" in r["evidence"]]
    assert len(pricing) == 1
    assert pricing[0]["owner"] == "marco@northwind.io"
    assert pricing[0]["due"] == "2026-03-13"  # "by Friday" in a Tuesday email
    assert not any("wire the payment" in r["evidence"] for r in rows)
    sso = [r for r in rows if "SSO setup" in r["evidence"]]
    assert len(sso) == 1 and sso[0]["type"] == "request" and sso[0]["owner"] == "marco@northwind.io"


def test_failed_document_is_recorded_and_retried_next_run(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "pricing.eml").write_text(TUESDAY_EMAIL)
    db = tmp_path / "ft.db"
    args = ("--as-of", "2026-03-12", "--company-domains", "northwind.io")
    with FakeOpenAI() as server:
        server.queue(broken_json(), broken_json())  # invalid twice: the document fails
        env = {"OPENAI_BASE_URL": server.url}
        first = followthrough(*args, "run", inbox, "--json", db=db, env=env)
        assert first.returncode == 1, first.stderr  # its only document failed: exit 1; it stays pending
        assert server.count == 2
        [failed] = json.loads(first.stdout)["run"]["failed"]
        assert failed.endswith(
            "pricing.eml (message <pricing-1@northwind.io>): "
            "the model's reply failed validation twice: the reply is not valid JSON "
            "(Unterminated string starting at at position 58)"
        )
        second = followthrough(*args, "run", inbox, "--json", db=db, env=env)
        assert second.returncode == 0, second.stderr
        assert server.count == 3  # retried once, now it succeeds
        third = followthrough(*args, "run", inbox, "--json", db=db, env=env)
        assert server.count == 3 and third.returncode == 0  # and is not asked again
        exported = followthrough(*args, "export", "--format", "jsonl", db=db, env=env)
    rows = [json.loads(line) for line in exported.stdout.splitlines() if line.strip()]
    assert [r["evidence"] for r in rows] == ["I'll send the revised pricing by Friday."]
