"""Issue 14, what the messages say, as a new user met it: a changed item counted and grouped as
changed (subject, text, HTML, Slack); a due date a person corrected shown without the phrase it was
first written as; a dry run that needs no SMTP server; a Slack ``429`` asking for an hour that is
not waited for (the message stays pending with one line, the run goes on); and a Slack message too
long for its 50 blocks, whose left-out items wait for the next digest instead of being marked told.

Real SMTP server (aiosmtpd) and a Slack stand-in on loopback; real SQLite.
"""

from __future__ import annotations

import re
import time
from datetime import date
from pathlib import Path

import pytest

from followthrough.notify import blocks
from followthrough.notify.deliver import open_items
from followthrough.notify.digest import build
from store import PersonView, Store
from tests.api_support import CRM
from tests.clirunner import followthrough
from tests.notify_support import (
    AS_OF,
    PRICING,
    PUBLIC,
    Inbox,
    SlackStub,
    parts,
    seed,
    slack_server,
    smtp_server,
)
from tests.store_fixtures import make_doc, make_item

MARCO, PRIYA = "marco@northwind.io", "priya@northwind.io"
TOKEN = "xoxb-1234567890-abcdefghijkl"


@pytest.fixture(autouse=True)
def _no_channels(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SLACK_BOT_TOKEN", "FOLLOWTHROUGH_SLACK_WEBHOOK_URL", "FOLLOWTHROUGH_SMTP_URL"):
        monkeypatch.delenv(name, raising=False)


def _email(port: int) -> dict[str, str]:
    return {
        "FOLLOWTHROUGH_SMTP_URL": f"smtp://127.0.0.1:{port}",
        "FOLLOWTHROUGH_MAIL_FROM": "followthrough@northwind.io",
        "FOLLOWTHROUGH_PUBLIC_URL": PUBLIC,
    }


def _send(url: str, channel: str, env: dict[str, str], *args: str) -> tuple[int, str, str]:
    env = {"FOLLOWTHROUGH_PUBLIC_URL": PUBLIC, **env}
    r = followthrough("--as-of", AS_OF.isoformat(), "digest", "--send", channel, *args, db=url, env=env)
    return r.returncode, r.stdout, r.stderr


def test_a_changed_item_is_counted_and_grouped_as_changed_without_its_old_due_phrase(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ft.db'}"
    ids = seed(url)
    inbox = Inbox()
    with smtp_server(inbox) as port:
        assert _send(url, "email", _email(port))[0] == 0
        first, _ = parts(inbox.to(MARCO)[0].message)
        assert 'Due 2026-03-13 ("by Friday")' in first  # as the source wrote it
        with Store(url) as store:  # a person moves the pricing, said "by Friday", to the 26th
            store.correct(ids[PRICING], actor="marco", due=date(2026, 3, 26))
        code, out, err = _send(url, "email", _email(port))
    assert code == 0, err
    again = inbox.messages[-1]
    assert again.rcpt_tos == [MARCO]
    assert again.message["Subject"] == "followthrough: 1 item: 1 changed"
    text, html = parts(again.message)
    assert "1 item: 1 changed" in text and "1 item: 1 changed" in html
    assert (
        "\nChanged\n-------\n" in text.replace("\r\n", "\n")
        and "New promises" not in text
        and "[changed]" in text
    )
    assert "Changed (1)" in html and "New promises" not in html
    assert "Due 2026-03-26\r\n" in text and '("by Friday")' not in text  # the quote still says it
    assert ">Due 2026-03-26<" in html and "(&#34;by Friday&#34;)" not in html

    with Store(url) as store:
        items = [i for i in open_items(store, AS_OF) if i.id == ids[PRICING]]
    assert items[0].due_phrase() is None
    digest = build(
        PersonView(email=MARCO, name="Marco"), items, {ids[PRICING]}, as_of=AS_OF, public_url=PUBLIC
    )
    slack = "\n".join(b.get("text", {}).get("text", "") for b in blocks.blocks(digest))
    assert "1 item: 1 changed" in slack and "*Changed* (1)" in slack
    assert "Due 2026-03-26\n" in slack and '("by Friday")' not in slack
    assert "1 changed" in blocks.fallback(digest)


def test_due_phrase_kept_until_a_person_corrects_the_date(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ft.db'}"
    ids = seed(url)
    with Store(url) as store:
        store.correct(ids[PRICING], actor="marco", action="Send Dana the revised pricing")
        (item,) = [i for i in open_items(store, AS_OF) if i.id == ids[PRICING]]
        assert item.due_phrase() == "by Friday"  # the action changed, not the date
        store.correct(ids[PRICING], actor="marco", due=date(2026, 3, 20))
        (item,) = [i for i in open_items(store, AS_OF) if i.id == ids[PRICING]]
        assert item.due_text == "by Friday" and item.due_phrase() is None


@pytest.mark.parametrize("channel", ["email", "slack"])
def test_a_dry_run_needs_no_server_or_settings(channel: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ft.db'}"
    ids = seed(url)
    code, out, err = _send(url, channel, {}, "--dry-run")
    assert code == 0, err
    assert "Subject: followthrough: 3 items" in out and PRICING in out
    assert f"{PUBLIC}/items/{ids[PRICING]}" in out and "message(s) not sent" in out
    with Store(url) as store:
        assert store.deliveries(channel) == []
    assert _send(url, channel, {})[0] == 2  # sending still needs the settings


def _no_long_sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record every ``time.sleep`` asked for, sleeping at most 50 ms of it."""
    asked: list[float] = []
    real = time.sleep

    def sleep(seconds: float) -> None:
        asked.append(seconds)
        real(min(seconds, 0.05))

    monkeypatch.setattr(time, "sleep", sleep)
    return asked


def test_a_slack_429_asking_for_an_hour_is_not_waited_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'ft.db'}"
    seed(url)
    asked = _no_long_sleeps(monkeypatch)
    hour = (429, {"Retry-After": "3600", "content-type": "text/plain"}, "rate_limited")
    stub = SlackStub(script=[hour])
    with slack_server(stub) as base:
        hook = {"FOLLOWTHROUGH_SLACK_WEBHOOK_URL": f"{base}/services/T0/B0/secrethook"}
        code, out, err = _send(url, "slack", hook)
        assert code == 3, err  # the first owner's message waits for the next run; the second went
        assert "Slack asked to retry after 3600 s; pending for the next run" in err
        assert max(asked, default=0) <= 60
        assert len(stub.calls) == 2 and "1 message(s) delivered" in out
        with Store(url) as store:
            (pending,) = {d.recipient: d for d in store.deliveries("slack") if d.pending}.values()
            assert pending.error == "Slack asked to retry after 3600 s"
        code, out, err = _send(url, "slack", hook)
        assert code == 0 and "retried" in out, err

    url = f"sqlite:///{tmp_path / 'bot.db'}"
    seed(url)
    stub = SlackStub(known={MARCO, PRIYA})
    with slack_server(stub) as base:
        stub.script = []
        original = stub.answer

        def posts_429(
            method: str, path: str, headers: dict[str, str], raw: bytes
        ) -> tuple[int, dict[str, str], str]:
            if path.endswith("/chat.postMessage"):
                return 429, {"Retry-After": "3600"}, '{"ok": false, "error": "ratelimited"}'
            return original(method, path, headers, raw)

        stub.answer = posts_429  # type: ignore[method-assign]
        env = {"SLACK_BOT_TOKEN": TOKEN, "FOLLOWTHROUGH_SLACK_API_URL": f"{base}/api"}
        code, out, err = _send(url, "slack", env)
    assert code == 1 and err.count("Slack asked to retry after 3600 s") == 2
    assert max(asked, default=0) <= 60 and TOKEN not in out + err


def test_a_429_within_the_wait_left_is_waited_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'ft.db'}"
    seed(url)
    asked = _no_long_sleeps(monkeypatch)
    stub = SlackStub(script=[(429, {"Retry-After": "30"}, "rate_limited")] * 2)
    with slack_server(stub) as base:
        code, out, err = _send(url, "slack", {"FOLLOWTHROUGH_SLACK_WEBHOOK_URL": f"{base}/services/T/B/x"})
    assert code == 0, err  # 30 s, then 30 s more: 60 s in all, the most one message waits
    assert 30 in asked and len(stub.calls) == 4


def test_what_does_not_fit_a_slack_message_waits_for_the_next_digest(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ft.db'}"
    quotes = [f"I'll send document number {n} to you." for n in range(60)]
    with Store(url) as store:
        store.upsert_crm(CRM)
        doc = make_doc("<many@acme.com>", " ".join(quotes))
        run = store.start_run(extractor="offline", model="m", prompt_version="v1")
        doc_id, _ = store.add_document(doc)
        items = [make_item(doc, q, action=f"Send document {n}", due=None) for n, q in enumerate(quotes)]
        ids = store.record_extraction(run, doc_id, "k", items)
    stub = SlackStub()
    with slack_server(stub) as base:
        hook = {"FOLLOWTHROUGH_SLACK_WEBHOOK_URL": f"{base}/services/T/B/x"}
        code, out, err = _send(url, "slack", hook)
        assert code == 0, err
        (first,) = stub.calls
        shown = {int(i) for i in re.findall(re.escape(PUBLIC) + r"/items/(\d+)", str(first.body["blocks"]))}
        assert len(first.body["blocks"]) == 50 and 0 < len(shown) < 60
        left = 60 - len(shown)
        assert f"…and {left} more in your next digest" in str(first.body["blocks"])
        assert f"{len(shown)} items: {len(shown)} new" in first.body["text"]
        assert f"{left} item(s) did not fit in their message: kept for the next digest" in out
        with Store(url) as store:
            assert {d.commitment_id for d in store.deliveries("slack") if d.announced} == shown

        code, out, err = _send(url, "slack", hook)
        assert code == 0, err
        rest = {
            int(i) for i in re.findall(re.escape(PUBLIC) + r"/items/(\d+)", str(stub.calls[1].body["blocks"]))
        }
        assert rest == set(ids) - shown
        assert _send(url, "slack", hook)[1].strip().endswith("slack: nothing new for anyone")
