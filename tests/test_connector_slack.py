"""The Slack connector on real exports (ZIP and folder) and real message files."""

from __future__ import annotations

import json
import shutil
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.registry import reader_for
from connectors.slack import SlackConnector
from connectors.slack_text import render_mrkdwn
from followthrough.errors import InputError
from followthrough.types import SourceDocument
from tests.conftest import DEMO, DEMO_EXPECTED


def read(path: Path, errors: list[InputError] | None = None) -> list[SourceDocument]:
    if errors is None:
        return list(SlackConnector(path).documents())
    return list(SlackConnector(path, on_error=errors.append).documents())


def assert_offsets(docs: list[SourceDocument]) -> None:
    for doc in docs:
        assert doc.segments
        for seg in doc.segments:
            assert doc.text[seg.char_start : seg.char_end] == seg.text
        assert len(json.loads(doc.metadata["segment_ts"])) == len(doc.segments)


@pytest.fixture
def viewer(samples: Path) -> Path:
    return samples / "slack-export-viewer"


def test_zip_and_folder_give_the_same_documents(viewer: Path) -> None:
    from_zip = read(viewer / "testarchive.REDACTED.zip")
    from_folder = read(viewer / "testarchive_unzipped")
    assert len(from_zip) == len(from_folder) > 40

    def comparable(d: SourceDocument) -> dict[str, object]:
        return d.model_dump(exclude={"origin"})

    assert [comparable(d) for d in from_zip] == [comparable(d) for d in from_folder]
    assert_offsets(from_zip)
    assert {d.metadata["channel"] for d in from_zip} == {"enrique", "traveling-sailor"}
    assert all(d.source == "slack" and d.occurred_at.tzinfo is not None for d in from_zip)


def test_detects_exports_and_message_files_but_not_metadata(viewer: Path, samples: Path) -> None:
    assert SlackConnector.detect(viewer / "testarchive.REDACTED.zip")
    assert SlackConnector.detect(viewer / "testarchive_unzipped")
    for f in (samples / "slack-threads-zulip").glob("*.json"):
        assert SlackConnector.detect(f), f
    assert not SlackConnector.detect(viewer / "testarchive_unzipped" / "users.json")
    assert not SlackConnector.detect(viewer / "testarchive_unzipped" / "integration_logs.json")
    assert not SlackConnector.detect(viewer / "LICENSE")
    assert not SlackConnector.detect(samples / "zoom-transcript")


def test_export_names_mentions_and_skips_noise(viewer: Path) -> None:
    docs = read(viewer / "testarchive_unzipped")
    first = docs[0]
    # channel_join messages come before it in enrique/2016-01-14.json and are skipped
    assert first.external_id == "enrique/1452837352.000006"
    assert first.text.startswith("@Harry Potter: Created an issue for a setup.py")
    assert first.segments[0].speaker == "Hamza Faran"
    assert [(p.name, p.role) for p in first.participants] == [
        ("Hamza Faran", "sender"),
        ("Harry Potter", "mentioned"),
    ]
    assert first.occurred_at == datetime(2016, 1, 15, 5, 55, 52, 6, tzinfo=UTC)
    texts = [d.text for d in docs]
    assert not any("has joined the channel" in t for t in texts)
    assert not any("added an integration" in t for t in texts)
    # bot messages (GitHub commit notices with empty text) never become documents
    assert all(d.segments[0].speaker != "U0BMQB6JE" for d in docs)
    # links keep their label, entities are unescaped
    link = next(d for d in docs if "example:" in d.text)
    assert link.text == "Here's an example: https://github.com/hfaran/progressive/blob/master/setup.py"
    upload = next(d for d in docs if "uploaded a file" in d.text)
    assert upload.text == "@Hermione Granger uploaded a file: 100 cities"


def test_thread_groups_replies_and_keeps_broadcast_once(samples: Path) -> None:
    (doc,) = read(samples / "slack-threads-zulip" / "thread_with_broadcast_reply.json")
    assert doc.external_id == doc.thread_id == "random/1434139102.000002"
    assert doc.text == "thread message\nfirst reply\neveryone should see this"
    assert [s.speaker for s in doc.segments] == ["U061A5N1G", "U061A1R2R", "U061A1R2R"]
    assert [p.role for p in doc.participants] == ["sender", "speaker"]
    assert json.loads(doc.metadata["segment_ts"]) == [
        "1434139102.000002",
        "1434139103.000002",
        "1434139104.000002",
    ]
    assert doc.occurred_at == datetime.fromtimestamp(1434139104, UTC).replace(microsecond=2)


def test_every_zulip_fixture_ingests(samples: Path) -> None:
    files = sorted((samples / "slack-threads-zulip").glob("*.json"))
    docs = [d for f in files for d in read(f)]
    assert_offsets(docs)
    normal = [d for d in docs if d.origin.endswith("normal_thread.json")]
    assert [d.external_id for d in normal] == ["random/1434139102.000002", "random/1539868294.000007"]
    assert normal[1].text == "another thread message\nanother reply"  # parent first, then replies
    mention = next(d for d in docs if d.origin.endswith("message_with_user_mentions.json"))
    assert mention.text == "@Peter test user mention @U074VRHQ11T"
    assert mention.segments[0].speaker == "Peter"  # from the message's user_profile
    assert ("U074VRHQ11T", "mentioned") in [(p.name, p.role) for p in mention.participants]


def _mini_export(root: Path) -> Path:
    root.mkdir(parents=True)
    users = [
        {"id": "U1", "name": "marco", "real_name": "Marco Rossi", "profile": {"email": "marco@northwind.io"}},
        {"id": "U2", "name": "dana", "profile": {"real_name": "Dana Lee", "email": "dana@acme.com"}},
        {"id": "B1", "name": "deploybot", "is_bot": True, "profile": {"real_name": "Deploy Bot"}},
    ]
    (root / "users.json").write_text(json.dumps(users))
    (root / "channels.json").write_text(json.dumps([{"id": "C1", "name": "acme-deal"}]))
    day1 = [
        {"type": "message", "subtype": "channel_join", "user": "U2", "text": "<@U2> has joined", "ts": "1.0"},
        {
            "type": "message",
            "user": "U2",
            "text": "Can you confirm SSO &amp; SCIM for <#C1|acme-deal>? 🙏 <!here>",
            "ts": "1773064800.000100",
            "thread_ts": "1773064800.000100",
        },
        {
            "type": "message",
            "user": "U1",
            "text": "<@U2> yes — I’ll send the SSO guide by Friday 🚀",
            "ts": "1773068400.000200",
            "thread_ts": "1773064800.000100",
            "parent_user_id": "U2",
            "edited": {"user": "U1", "ts": "1773068500.000000"},
        },
        {
            "type": "message",
            "subtype": "bot_message",
            "bot_id": "B1",
            "text": "deployed",
            "ts": "1773068401.1",
        },
        {"type": "message", "user": "U1", "text": "   ", "ts": "1773068402.000000"},
    ]
    day2 = [
        {
            "type": "message",
            "user": "U2",
            "text": "Thanks <@U1>!",
            "ts": "1773151200.000300",
            "thread_ts": "1773064800.000100",
            "parent_user_id": "U2",
        },
        {"type": "message", "user": "U1", "text": "Standalone note", "ts": "1773151300.000400"},
    ]
    (root / "acme-deal").mkdir()
    (root / "acme-deal" / "2026-03-09.json").write_text(json.dumps(day1, ensure_ascii=False))
    (root / "acme-deal" / "2026-03-10.json").write_text(json.dumps(day2, ensure_ascii=False))
    return root


def test_threads_span_day_files_with_owners_and_emails(tmp_path: Path) -> None:
    root = _mini_export(tmp_path / "export")
    thread, lone = read(root)
    assert thread.external_id == "acme-deal/1773064800.000100"
    assert thread.text == (
        "Can you confirm SSO & SCIM for #acme-deal? 🙏 @here\n"
        "@Dana Lee yes — I’ll send the SSO guide by Friday 🚀\n"
        "Thanks @Marco Rossi!"
    )
    assert [(s.speaker, s.speaker_email) for s in thread.segments] == [
        ("Dana Lee", "dana@acme.com"),
        ("Marco Rossi", "marco@northwind.io"),
        ("Dana Lee", "dana@acme.com"),
    ]
    assert_offsets([thread, lone])  # non-ASCII and emoji keep offsets exact
    promise = thread.text.index("I’ll send")
    seg = thread.speaker_at(promise)
    assert seg is not None and seg.speaker == "Marco Rossi"
    assert thread.sender is not None and thread.sender.email == "dana@acme.com"
    assert thread.occurred_at == datetime.fromtimestamp(1773151200, UTC).replace(microsecond=300)
    assert lone.external_id == "acme-deal/1773151300.000400" and lone.text == "Standalone note"


def test_zip_with_top_folder(tmp_path: Path) -> None:
    root = _mini_export(tmp_path / "export")
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for f in sorted(root.rglob("*")):
            z.write(f, "Acme Slack export/" + f.relative_to(root).as_posix())
    assert SlackConnector.detect(archive)
    assert [d.text for d in read(archive)] == [d.text for d in read(root)]


def test_invalid_day_file_is_reported_and_the_rest_survives(tmp_path: Path, viewer: Path) -> None:
    root = tmp_path / "export"
    shutil.copytree(viewer / "testarchive_unzipped", root)
    broken = root / "enrique" / "2016-01-15.json"
    broken.write_text('[{"type": "message", "user": ')
    errors: list[InputError] = []
    docs = read(root, errors)
    assert len(errors) == 1
    assert errors[0].path == str(broken)
    assert "invalid JSON" in str(errors[0])
    assert len(docs) == len(read(viewer / "testarchive_unzipped")) - 6  # that day's 6 messages
    with pytest.raises(InputError, match="invalid JSON"):
        read(root)  # the default sink stops at the first problem


def test_invalid_day_file_inside_zip_names_the_member(tmp_path: Path) -> None:
    root = _mini_export(tmp_path / "export")
    (root / "acme-deal" / "2026-03-10.json").write_text("{oops")
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for f in sorted(root.rglob("*")):
            z.write(f, f.relative_to(root).as_posix())
    errors: list[InputError] = []
    docs = read(archive, errors)
    assert [e.path for e in errors] == [f"{archive}/acme-deal/2026-03-10.json"]
    assert [d.external_id for d in docs] == ["acme-deal/1773064800.000100"]


def test_corrupt_zip_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "slack.zip"
    bad.write_bytes(b"PK\x03\x04 this is not really a zip")
    assert SlackConnector.detect(bad)  # claimed, so the user hears what is wrong with it
    with pytest.raises(InputError, match="not a valid ZIP archive"):
        read(bad)


def test_message_list_file_and_non_slack_json(tmp_path: Path) -> None:
    other = tmp_path / "config.json"
    other.write_text('{"name": "x", "items": [1, 2]}')
    assert not SlackConnector.detect(other)
    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    assert not SlackConnector.detect(empty)


def test_render_mrkdwn_tokens() -> None:
    out = render_mrkdwn(
        "<@U1> <@U9|ghost> <#C1> <#C2|named> <!channel> <!subteam^S1|@eng> "
        "<!date^1392734382^{date}|Feb 18> <mailto:a@b.io|a@b.io> <https://x.io> &lt;b&gt; &amp;lt;",
        {"U1": "Marco Rossi"},
        {"C1": "general"},
    )
    assert out.text == (
        "@Marco Rossi @ghost #general #named @channel @eng Feb 18 a@b.io https://x.io <b> &lt;"
    )
    assert out.mentions == ["U1", "U9"]


def test_a_day_file_named_alone_uses_its_export_for_names(viewer: Path) -> None:
    day = viewer / "testarchive_unzipped" / "enrique" / "2016-01-14.json"
    assert SlackConnector.detect(day)
    docs = read(day)
    assert [d.external_id for d in docs] == ["enrique/1452837352.000006", "enrique/1452837359.000007"]
    assert docs[0].text.startswith("@Harry Potter:") and docs[0].segments[0].speaker == "Hamza Faran"


def test_registry_routes_slack_inputs(viewer: Path, samples: Path) -> None:
    for path in [viewer / "testarchive.REDACTED.zip", viewer / "testarchive_unzipped"]:
        assert reader_for(path) is SlackConnector
    for path in (samples / "slack-threads-zulip").glob("*.json"):
        assert reader_for(path) is SlackConnector


def test_demo_slack_threads_carry_the_planted_items_with_their_authors() -> None:
    expected_file = DEMO_EXPECTED
    docs = {d.external_id: d for d in read(DEMO / "slack")}
    items = [i for i in json.loads(expected_file.read_text())["items"] if i["source"] == "slack"]
    assert items
    for item in items:
        doc = docs[item["message_id"]]
        at = doc.text.find(item["evidence_contains"])
        assert at >= 0, item
        seg = doc.speaker_at(at)
        assert seg is not None
        author = item["owner_email"] if item["type"] == "commitment" else item.get("requester_email")
        assert seg.speaker_email == author, item


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b'[{"text": "never closed', "invalid JSON: Unterminated string starting at line 1 column 11"),
        (
            b'[{"text": 1,]',
            "invalid JSON: Expecting property name enclosed in double quotes at line 1 column 13",
        ),
        (b"\xff[]", "invalid JSON: not UTF-8 (invalid start byte)"),
    ],
)
def test_a_day_file_that_is_not_json_is_one_plain_line(data: bytes, problem: str) -> None:
    from connectors.slack_export import parse_json  # noqa: PLC0415

    with pytest.raises(InputError) as err:
        parse_json(data, "general/2026-03-12.json")
    assert str(err.value) == f"general/2026-03-12.json: {problem}"
