"""Issue 14, notifications on Slack: ``digest --send slack`` against a Slack stand-in on loopback that
checks the Block Kit payload, through an incoming webhook and through ``chat.postMessage`` with a bot
token (a direct message to the user ``users.lookupByEmail`` finds), answering 429 with ``Retry-After``
once; and Slack's limits on blocks and text kept for a long digest."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from followthrough.notify import blocks
from followthrough.notify.digest import build
from store import CommitmentView, EvidenceView, PersonView, Store
from tests.clirunner import followthrough
from tests.notify_support import AS_OF, LOGS, PRICING, PUBLIC, SOC2, SSO, SlackStub, seed, slack_server

MARCO, PRIYA = "marco@northwind.io", "priya@northwind.io"
TOKEN = "xoxb-1234567890-abcdefghijkl"


@pytest.fixture(autouse=True)
def _no_slack_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)


def _send(url: str, env: dict[str, str], *args: str) -> tuple[int, str, str]:
    env = {"FOLLOWTHROUGH_PUBLIC_URL": PUBLIC, **env}
    r = followthrough("--as-of", AS_OF.isoformat(), "digest", "--send", "slack", *args, db=url, env=env)
    return r.returncode, r.stdout, r.stderr


def _check_block_kit(payload: dict[str, Any]) -> str:
    """Slack's rules for a message: a text fallback, at most 50 blocks, mrkdwn texts of at most 3,000
    characters; the text of every block, joined."""
    assert isinstance(payload["text"], str) and payload["text"]
    found = payload["blocks"]
    assert 0 < len(found) <= 50
    texts = []
    for block in found:
        assert block["type"] in {"header", "section", "context", "divider"}
        if block["type"] == "header":
            assert block["text"]["type"] == "plain_text" and len(block["text"]["text"]) <= 150
        elif block["type"] == "section":
            assert block["text"]["type"] == "mrkdwn" and len(block["text"]["text"]) <= 3000
        texts += [block.get("text", {}).get("text", "")] + [e["text"] for e in block.get("elements", [])]
    return "\n".join(texts)


def test_webhook_posts_block_kit_per_owner_waiting_out_a_429(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ft.db'}"
    ids = seed(url)
    stub = SlackStub(script=[(429, {"Retry-After": "1", "content-type": "text/plain"}, "rate_limited")])
    with slack_server(stub) as base:
        hook = f"{base}/services/T000/B000/XXXXsecretXXXX"
        code, out, err = _send(url, {"FOLLOWTHROUGH_SLACK_WEBHOOK_URL": hook})
        assert code == 0, err
        posts = stub.posts("/services/T000/B000/XXXXsecretXXXX")
        assert len(posts) == 3  # the 429, its retry, the second owner
        assert posts[1].at - posts[0].at >= 1.0  # Retry-After: 1 was waited out
        assert posts[0].body == posts[1].body
        by_owner = {p.body["text"].split(":")[0]: p.body for p in posts[1:]}
        marco = _check_block_kit(by_owner["followthrough for Marco Rossi"])
        for cid in (ids[PRICING], ids[SSO], ids[LOGS]):
            assert f"<{PUBLIC}/items/{cid}|" in marco
        assert "I&#39;ll" not in marco and "I'll send the revised pricing" in marco  # evidence, mrkdwn-safe
        assert "Your follow-ups for Marco Rossi" in marco
        priya = _check_block_kit(next(v for k, v in by_owner.items() if "Priya" in k or PRIYA in k))
        assert SOC2 in priya and f"{PUBLIC}/items/{ids[SOC2]}" in priya
        assert "XXXXsecretXXXX" not in out + err

        code, out, err = _send(url, {"FOLLOWTHROUGH_SLACK_WEBHOOK_URL": hook})
        assert code == 0 and len(stub.calls) == 3 and "slack: nothing new for anyone" in out


def test_bot_token_direct_messages_each_owner_waiting_out_a_429(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ft.db'}"
    ids = seed(url)
    stub = SlackStub(known={MARCO, PRIYA})
    with slack_server(stub) as base:
        env = {"SLACK_BOT_TOKEN": TOKEN, "FOLLOWTHROUGH_SLACK_API_URL": f"{base}/api"}
        stub.script = []
        original = stub.answer

        def once_429(method: str, path: str, headers: dict[str, str], raw: bytes) -> Any:
            if path.endswith("/chat.postMessage") and not stub.posts("/chat.postMessage"):
                stub.script.append(
                    (429, {"Retry-After": "0"}, json.dumps({"ok": False, "error": "ratelimited"}))
                )
            return original(method, path, headers, raw)

        stub.answer = once_429  # type: ignore[method-assign]
        code, out, err = _send(url, env)
        assert code == 0, err
        lookups = stub.posts("/api/users.lookupByEmail")
        assert sorted(c.body["email"] for c in lookups) == [MARCO, PRIYA]
        posts = stub.posts("/api/chat.postMessage")
        assert len(posts) == 3  # one answered 429, then retried
        assert all(c.headers["authorization"] == f"Bearer {TOKEN}" for c in stub.calls)
        delivered = {p.body["channel"]: p.body for p in posts[1:]}
        assert set(delivered) == {"U-marco", "U-priya"}
        marco = _check_block_kit(delivered["U-marco"])
        assert f"{PUBLIC}/items/{ids[PRICING]}" in marco and "Your follow-ups" in marco
        assert TOKEN not in out + err


def test_a_slack_user_not_found_and_a_webhook_error_stay_pending(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ft.db'}"
    seed(url)
    stub = SlackStub(known={MARCO})
    with slack_server(stub) as base:
        env = {"SLACK_BOT_TOKEN": TOKEN, "FOLLOWTHROUGH_SLACK_API_URL": f"{base}/api/"}
        code, out, err = _send(url, env)
        assert code == 3  # Marco's delivered, Priya's not
        assert f"no Slack user has the email {PRIYA}" in err
    with Store(url) as store:
        pending = [d for d in store.deliveries("slack") if d.pending]
    assert {d.recipient for d in pending} == {PRIYA}

    stub = SlackStub(script=[(404, {"content-type": "text/plain"}, "no_service")])
    with slack_server(stub) as base:
        hook = f"{base}/services/T1/B1/hooksecret123"
        code, out, err = _send(url, {"FOLLOWTHROUGH_SLACK_WEBHOOK_URL": hook})
        assert code == 1 and "Slack webhook answered 404: no_service" in err
        assert "hooksecret123" not in out + err
        code, out, err = _send(url, {"FOLLOWTHROUGH_SLACK_WEBHOOK_URL": hook})
        assert code == 0 and "1 retried" in out


def _item(n: int, quote: str) -> CommitmentView:
    at = datetime(2026, 3, 10, tzinfo=UTC)
    return CommitmentView(
        id=n,
        type="commitment",
        status="open",
        owner=MARCO,
        owner_name="Marco Rossi",
        counterparty="Dana <dana@acme.com>",
        action=f"Send item {n} & <friends>",
        due=date(2026, 3, 1 + n % 28),
        due_text=None,
        confidence=0.9,
        flags=[],
        source="email",
        message_id=f"<m{n}@acme.com>",
        thread_id=None,
        document_id=n,
        occurred_at=at,
        evidence=quote,
        char_start=0,
        char_end=len(quote),
        alignment="exact",
        quotes=[
            EvidenceView(
                quote=quote,
                char_start=0,
                char_end=len(quote),
                alignment="exact",
                message_id=f"<m{n}@acme.com>",
                source="email",
                document_id=n,
                occurred_at=at,
            )
        ],
        deal=None,
        link_method=None,
        link_confidence=None,
        snoozed_until=None,
        priority=1.0,
        priority_reasons=[],
        overdue_days=None,
    )


def test_a_long_digest_keeps_within_slack_limits_and_links_the_rest() -> None:
    items = [_item(n, "I will send it. " * (400 if n == 1 else 2)) for n in range(1, 121)]
    digest = build(PersonView(email=MARCO, name="Marco Rossi"), items, set(), as_of=AS_OF, public_url=PUBLIC)
    payload = {"text": blocks.fallback(digest), "blocks": blocks.blocks(digest, mention="Marco Rossi")}
    text = _check_block_kit(payload)
    assert len(payload["blocks"]) == 50
    shown = text.count(f"<{PUBLIC}/items/")
    assert f"…and {120 - shown} more in your next digest: <{PUBLIC}/mine?owner=marco%40northwind.io|" in text
    assert blocks.fallback(digest).endswith(f"(and {120 - shown} more in your next digest)")
    assert "&amp; &lt;friends&gt;" in text and "<friends>" not in text
