"""Issue 15: Slack as a live source, through the real ``slack_sdk`` client against a local Slack Web API.

First sync, incremental sync (only what is new), new replies in an open thread, a 429 answered once,
a revoked token, a missing scope and a deleted channel; the same thread read from the API and from an
export gives the same document.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from connectors.slack import SlackConnector
from connectors.slack_api import _Pacer
from followthrough.sync.base import Pulled, SourceConfig, SourceError
from followthrough.sync.registry import SOURCES
from followthrough.sync.slack import SlackSource
from followthrough.types import SourceDocument
from tests.clirunner import followthrough
from tests.fake_hubspot import FakeHubSpot
from tests.fake_slack_api import FakeSlack, slack_user

TOKEN_ENV = "FT_TEST_SLACK_TOKEN"


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSlack]:
    fake = FakeSlack()
    fake.users = [
        slack_user("U1", "Dana Reyes", "dana@northwind.io"),
        slack_user("U2", "Sam Okafor", "sam@acme.com", tz="Europe/London"),
    ]
    monkeypatch.setenv(TOKEN_ENV, fake.token)
    fake.start()
    yield fake
    fake.stop()


def _source(fake: FakeSlack, **options: Any) -> SlackSource:
    table = {"name": "team", "kind": "slack", "url": fake.url, "token_env": TOKEN_ENV, **options}
    return SlackSource(SourceConfig(name="team", kind="slack", url=fake.url, options=table))


def _sync(source: SlackSource, cursor: Mapping[str, str]) -> tuple[list[SourceDocument], dict[str, str], int]:
    """Every document of one sync, the cursor after it, and the number of batches."""
    batches: list[Pulled] = list(source.pull(cursor))
    docs = [d for b in batches for d in b.documents]
    assert all(b.crm is None for b in batches)
    return docs, dict(batches[-1].cursor) if batches else dict(cursor), len(batches)


def _seed(fake: FakeSlack) -> tuple[float, str]:
    """#deals with two lone messages and a thread; a recent time base (threads are re-checked 14 days)."""
    base = time.time() - 3600
    fake.add_channel("C1", "deals")
    fake.post("C1", base, "U2", "Can you send the security questionnaire?")
    parent = fake.post("C1", base + 10, "U2", "Also: who owns the renewal quote?")
    fake.post("C1", base + 20, "U1", "I will send the renewal quote by Friday.", thread_ts=parent)
    fake.post("C1", base + 30, "U1", "<@U2> I'll get you the questionnaire tomorrow.")
    fake.post("C1", base + 40, "U1", "joined", subtype="channel_join")
    return base, parent


def test_registered() -> None:
    assert SOURCES["slack"] is SlackSource


def test_first_sync_reads_threads_pages_and_users(slack: FakeSlack) -> None:
    _, parent = _seed(slack)
    docs, cursor, _ = _sync(_source(slack), {})
    assert [d.external_id for d in docs] == [
        f"deals/{docs[0].external_id.split('/')[1]}",
        f"deals/{parent}",
        f"deals/{docs[2].external_id.split('/')[1]}",
    ]
    thread = docs[1]
    assert thread.text == "Also: who owns the renewal quote?\nI will send the renewal quote by Friday."
    assert [s.speaker for s in thread.segments] == ["Sam Okafor", "Dana Reyes"]
    assert [s.speaker_email for s in thread.segments] == ["sam@acme.com", "dana@northwind.io"]
    when = thread.segments[1].occurred_at
    assert when is not None and str(when.tzinfo) == "America/New_York"
    assert thread.url is not None and thread.url.startswith("https://acme.slack.com/archives/C1/p")
    mention = docs[2]
    assert mention.text.startswith("@Sam Okafor I'll get you")
    assert [p.role.value for p in mention.participants] == ["sender", "mentioned"]
    # history came in pages (page_cap 2), users.list too
    methods = slack.methods_called()
    assert methods.count("conversations.history") == 2 and methods.count("users.list") == 1
    assert set(cursor) == {"C1.ts", "C1.threads"}
    assert json.loads(cursor["C1.threads"]) == {parent: docs[1].metadata["segment_ts"].split('"')[3]}


def test_incremental_sync_fetches_only_new_messages(slack: FakeSlack) -> None:
    base, _ = _seed(slack)
    source = _source(slack)
    first, cursor, _ = _sync(source, {})
    assert len(first) == 3
    again, cursor2, batches = _sync(source, cursor)
    assert again == [] and batches == 0 and cursor2 == cursor
    slack.post("C1", base + 100, "U1", "Sending the SOC 2 report on Monday.")
    slack.calls.clear()
    new, cursor3, _ = _sync(source, cursor)
    assert [d.text for d in new] == ["Sending the SOC 2 report on Monday."]
    assert float(cursor3["C1.ts"]) > float(cursor["C1.ts"])
    # the old thread was not fetched again: nothing changed in it
    assert "conversations.replies" not in slack.methods_called()


def test_new_reply_in_an_open_thread_is_read_again(slack: FakeSlack) -> None:
    base, parent = _seed(slack)
    source = _source(slack)
    _, cursor, _ = _sync(source, {})
    # a reply to the old thread, and a first reply to a message that had none
    slack.post("C1", base + 200, "U2", "Thanks, Friday works.", thread_ts=parent)
    lone = slack.channels["C1"].messages[0]["ts"]
    slack.post("C1", base + 210, "U1", "Answering here: sent it.", thread_ts=lone)
    docs, cursor2, _ = _sync(source, cursor)
    by_id = {d.external_id: d for d in docs}
    assert set(by_id) == {f"deals/{parent}", f"deals/{lone}"}
    assert by_id[f"deals/{parent}"].text.endswith("\nThanks, Friday works.")
    assert len(by_id[f"deals/{parent}"].segments) == 3
    assert by_id[f"deals/{lone}"].text.endswith("\nAnswering here: sent it.")
    assert cursor2["C1.ts"] == cursor["C1.ts"]  # no new top-level message
    assert set(json.loads(cursor2["C1.threads"])) == {parent, lone}
    # and a third sync finds nothing
    assert _sync(source, cursor2)[0] == []


def test_thread_recheck_is_bounded_by_age(slack: FakeSlack) -> None:
    old = time.time() - 30 * 86400
    slack.add_channel("C1", "deals")
    parent = slack.post("C1", old, "U2", "Old question?")
    slack.post("C1", old + 5, "U1", "Old answer, will do.", thread_ts=parent)
    source = _source(slack, thread_days=14)
    docs, cursor, _ = _sync(source, {})
    assert len(docs) == 1 and json.loads(cursor["C1.threads"]) == {}  # too old to keep re-checking
    slack.post("C1", time.time() - 60, "U1", "A late reply.", thread_ts=parent)
    assert _sync(source, cursor)[0] == []


def test_batches_are_bounded_and_resume_after_the_last_one(slack: FakeSlack) -> None:
    base = time.time() - 3600
    slack.add_channel("C1", "deals")
    for n in range(5):
        slack.post("C1", base + n, "U1", f"Promise number {n}: I will send it.")
    source = _source(slack, batch_size=2)
    batches = list(source.pull({}))
    assert [len(b.documents) for b in batches] == [2, 2, 1]
    # killed after the first batch: the rerun starts after it, nothing twice, nothing skipped
    rest, _, _ = _sync(source, batches[0].cursor)
    assert [d.text for d in rest] == [f"Promise number {n}: I will send it." for n in (2, 3, 4)]


def test_rate_limited_call_is_retried_after_retry_after(slack: FakeSlack) -> None:
    _seed(slack)
    slack.rate_limit_once = {"conversations.history"}
    docs, _, _ = _sync(_source(slack), {})
    assert len(docs) == 3
    history = [c for c in slack.calls if c[0] == "conversations.history"]
    assert history[1][2] - history[0][2] >= slack.retry_after  # the client waited Retry-After


def test_pacer_keeps_to_the_tier_rate() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pacer = _Pacer(clock=lambda: now[0], sleep=sleep)
    for _ in range(20):
        pacer.wait("users.list")  # tier 2: a burst of 20 passes
    assert slept == []
    pacer.wait("users.list")
    assert slept and slept[0] == pytest.approx(3.0)  # then one every 60/20 s


def test_revoked_token_is_one_line(slack: FakeSlack) -> None:
    _seed(slack)
    slack.revoked = True
    with pytest.raises(SourceError) as e:
        list(_source(slack).pull({}))
    line = str(e.value)
    assert "\n" not in line and "'team'" in line and "revoked" in line and "new token" in line
    assert slack.token not in line


def test_wrong_token_and_unset_variable(slack: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, "xoxb-wrong")
    with pytest.raises(SourceError, match="invalid_auth"):
        list(_source(slack).pull({}))
    monkeypatch.delenv(TOKEN_ENV)
    with pytest.raises(SourceError, match=TOKEN_ENV):
        list(_source(slack).pull({}))


def test_missing_scope_names_the_scope(slack: FakeSlack) -> None:
    _seed(slack)
    slack.scopes.discard("channels:history")
    with pytest.raises(SourceError) as e:
        list(_source(slack).pull({}))
    line = str(e.value)
    assert "\n" not in line and "scope channels:history" in line and "reinstall" in line


def test_deleted_channel_is_one_line_and_the_others_still_sync(slack: FakeSlack) -> None:
    base, _ = _seed(slack)
    slack.add_channel("C2", "renewals")
    slack.post("C2", base, "U1", "I will call Acme on Tuesday.")
    source = _source(slack, channels=["deals", "renewals"])
    _, cursor, _ = _sync(source, {})
    slack.channels["C1"].deleted = True
    slack.post("C2", base + 50, "U1", "I will email the contract today.")
    pulled: list[Pulled] = []
    with pytest.raises(SourceError) as e:
        for batch in source.pull(cursor):
            pulled.append(batch)
    assert "#deals" in str(e.value) and "not found" in str(e.value) and "\n" not in str(e.value)
    assert [d.text for b in pulled for d in b.documents] == ["I will email the contract today."]


def test_channel_deleted_while_reading_is_one_line(slack: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> None:
    _seed(slack)
    real = slack._conversations_history

    def gone(params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        slack.channels["C1"].deleted = True
        return real(params)

    monkeypatch.setattr(slack, "_conversations_history", gone)
    with pytest.raises(SourceError, match=r"#deals \(C1\).*not found"):
        list(_source(slack).pull({}))


def test_api_and_export_give_the_same_document(slack: FakeSlack, tmp_path: Path) -> None:
    _seed(slack)
    docs, _, _ = _sync(_source(slack), {})
    export = tmp_path / "export"
    (export / "deals").mkdir(parents=True)
    (export / "users.json").write_text(json.dumps(slack.users))
    (export / "channels.json").write_text(json.dumps([{"id": "C1", "name": "deals"}]))
    day = [dict(m) for m in slack.channels["C1"].messages]
    (export / "deals" / "2026-01-01.json").write_text(json.dumps(day))
    from_export = list(SlackConnector(export).documents())

    def same(d: SourceDocument) -> dict[str, Any]:
        return d.model_dump(exclude={"origin", "url"})

    assert [same(d) for d in docs] == [same(d) for d in from_export]


def test_followthrough_sync_end_to_end(slack: FakeSlack, tmp_path: Path) -> None:
    """``followthrough sync`` with a followthrough.toml: Slack and HubSpot into the store, extracted as
    ``run`` would; a second sync reads nothing new; a revoked token is one line (exit 3) and HubSpot
    still syncs."""
    hub = FakeHubSpot().start()
    try:
        slack.add_channel("C1", "deals")
        slack.post("C1", time.time() - 3600, "U1", "I will send the renewal quote to Sam by Friday.")
        hub.put("companies", "11", name="Acme Corp", domain="acme.com")
        hub.put("deals", "31", dealname="Acme renewal")
        hub.associate("deals", "31", "companies", "11", 5)
        config = tmp_path / "followthrough.toml"
        config.write_text(
            f'[[source]]\nname = "team"\nkind = "slack"\nurl = "{slack.url}"\n'
            'token_env = "SLACK_BOT_TOKEN"\n\n'
            f'[[source]]\nname = "crm"\nkind = "hubspot"\nurl = "{hub.url}"\n'
            'token_env = "HUBSPOT_TOKEN"\n'
        )
        env = {
            "FOLLOWTHROUGH_CONFIG": str(config),
            "SLACK_BOT_TOKEN": slack.token,
            "HUBSPOT_TOKEN": hub.token,
        }
        db = tmp_path / "ft.db"
        first = followthrough("sync", "--json", db=db, env=env)
        assert first.returncode == 0, first.stderr
        run = json.loads(first.stdout)["run"]
        assert (run["documents_new"], run["crm"]["deals_added"], run["items"]) == (1, 1, 1)
        quote = json.loads(first.stdout)["attention"]["due_soon"][0]["evidence"]
        assert quote == "I will send the renewal quote to Sam by Friday."
        second = followthrough("sync", "--json", db=db, env=env)
        assert second.returncode == 0 and json.loads(second.stdout)["run"]["documents_seen"] == 0
        slack.revoked = True
        hub.put("deals", "31", dealname="Acme renewal 2027")
        third = followthrough("sync", "--json", db=db, env=env)
        assert third.returncode == 3
        assert "source 'team': the bot token was revoked (token_revoked)" in third.stderr + third.stdout
        assert json.loads(third.stdout)["run"]["crm"]["deals_updated"] == 1
    finally:
        hub.stop()
