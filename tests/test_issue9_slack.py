"""Slack messages whose words are only in Block Kit ``blocks`` (``text`` empty, missing or a fallback).

(a) shared/regressions/slack-rich-text-blocks-empty-text, read in place through the CLI;
(b) the block renderer on hand-written blocks, one case per block and element type.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from connectors.slack import SlackConnector
from connectors.slack_blocks import is_fallback_text, render_blocks
from tests.clirunner import followthrough
from tests.conftest import SHARED

CASE = SHARED / "regressions" / "slack-rich-text-blocks-empty-text"
USERS = {"U01": "Marco Bianchi", "U02": "Priya Natarajan"}
CHANNELS = {"C01": "globex-deal"}
MARCO_TEXT = (
    "Pricing tiers for Globex:\n- Starter: 20 seats\n- Growth: 100 seats\n"
    "I'll send the full price sheet by Thursday."
)


# -- (a) the regression input, end to end ---------------------------------------------


def test_regression_blocks_only_message_is_read_and_its_commitment_extracted(tmp_path: Path) -> None:
    assert (CASE / "expected.txt").is_file(), f"regression case missing: {CASE}"
    assert (CASE / "export").is_dir(), f"regression case missing its export: {CASE}"
    db = tmp_path / "x.db"
    run = followthrough("--company-domains", "northwind.example", "--as-of", "2026-03-10", "run", CASE, db=db)
    assert run.returncode == 0, run.stderr

    with sqlite3.connect(db) as conn:
        texts = [row[0] for row in conn.execute("SELECT text FROM documents")]
    marco_docs = [t for t in texts if "Pricing tiers for Globex:" in t]
    assert len(marco_docs) == 1, texts
    doc_text = marco_docs[0]
    assert MARCO_TEXT in doc_text
    assert "I'll send the full price sheet by Thursday." in doc_text

    export = followthrough("export", "--format", "jsonl", db=db)
    assert export.returncode == 0, export.stderr
    rows = [json.loads(line) for line in export.stdout.splitlines() if line.strip()]
    (row,) = [r for r in rows if str(r["evidence"]).startswith("I'll send the full price sheet by Thursday")]
    assert row["type"] == "commitment"
    assert row["owner"] == "marco@northwind.example"
    assert row["owner_name"] == "Marco Bianchi"
    assert row["due"] == "2026-03-12"
    assert row["status"] == "open"
    assert row["source"] == "slack"
    assert doc_text[row["char_start"] : row["char_end"]] == row["evidence"]


def test_regression_connector_gives_marco_his_own_segment() -> None:
    assert CASE.is_dir(), f"regression case missing: {CASE}"
    docs = list(SlackConnector(CASE / "export").documents())
    (doc,) = [d for d in docs if "Pricing tiers" in d.text]
    assert doc.text == MARCO_TEXT
    (seg,) = doc.segments
    assert (seg.speaker, seg.speaker_email, seg.text) == (
        "Marco Bianchi",
        "marco@northwind.example",
        MARCO_TEXT,
    )


# -- the connector picks text or blocks --------------------------------------------------


def _export(tmp_path: Path, messages: list[dict[str, Any]]) -> Path:
    root = tmp_path / "export"
    (root / "general").mkdir(parents=True)
    users = [
        {"id": "U01", "name": "marco", "real_name": "Marco Bianchi", "profile": {"email": "marco@n.example"}},
        {
            "id": "U02",
            "name": "priya",
            "real_name": "Priya Natarajan",
            "profile": {"email": "priya@g.example"},
        },
    ]
    (root / "users.json").write_text(json.dumps(users))
    (root / "channels.json").write_text(json.dumps([{"id": "C01", "name": "general"}]))
    (root / "general" / "2026-03-10.json").write_text(json.dumps(messages))
    return root


def _section(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"type": "rich_text_section", "elements": list(elements)}


def _rich(*parts: dict[str, Any]) -> dict[str, Any]:
    return {"type": "rich_text", "block_id": "b", "elements": list(parts)}


def _t(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "text", "text": text, **extra}


def test_connector_reads_blocks_when_text_is_empty_missing_or_a_fallback(tmp_path: Path) -> None:
    blocks = [
        _rich(_section(_t("Thanks "), {"type": "user", "user_id": "U02"}, _t(", I'll call you Friday.")))
    ]
    messages = [
        {"type": "message", "user": "U01", "ts": "1773158400.000100", "text": "", "blocks": blocks},
        {"type": "message", "user": "U01", "ts": "1773158401.000100", "blocks": blocks},
        {
            "type": "message",
            "user": "U01",
            "ts": "1773158402.000100",
            "text": "This message contains interactive elements.",
            "blocks": blocks,
        },
        {  # a real text wins over its blocks: it is Slack's own rendering
            "type": "message",
            "user": "U01",
            "ts": "1773158403.000100",
            "text": "Plain words from <@U02>",
            "blocks": [_rich(_section(_t("other words")))],
        },
        {  # a fallback text with nothing readable in blocks stays as it is
            "type": "message",
            "user": "U01",
            "ts": "1773158404.000100",
            "text": "This message contains interactive elements.",
            "blocks": [{"type": "divider"}],
        },
        {
            "type": "message",
            "user": "U01",
            "ts": "1773158405.000100",
            "text": "",
            "blocks": [{"type": "divider"}],
        },
        {"type": "message", "user": "U01", "ts": "1773158406.000100", "text": ""},
    ]
    docs = list(SlackConnector(_export(tmp_path, messages)).documents())
    assert [d.text for d in docs] == [
        "Thanks @Priya Natarajan, I'll call you Friday.",
        "Thanks @Priya Natarajan, I'll call you Friday.",
        "Thanks @Priya Natarajan, I'll call you Friday.",
        "Plain words from @Priya Natarajan",
        "This message contains interactive elements.",
    ]
    for doc in docs[:4]:
        assert [(p.name, p.role) for p in doc.participants] == [
            ("Marco Bianchi", "sender"),
            ("Priya Natarajan", "mentioned"),
        ]
        seg = doc.segments[0]
        assert doc.text[seg.char_start : seg.char_end] == seg.text


def test_blocks_only_reply_joins_its_thread(tmp_path: Path) -> None:
    messages = [
        {"type": "message", "user": "U02", "ts": "1773157800.000400", "text": "Can you share the tiers?"},
        {
            "type": "message",
            "user": "U01",
            "ts": "1773158400.000500",
            "thread_ts": "1773157800.000400",
            "text": "",
            "blocks": [_rich(_section(_t("Sending them by Thursday.")))],
        },
    ]
    (doc,) = list(SlackConnector(_export(tmp_path, messages)).documents())
    assert doc.text == "Can you share the tiers?\nSending them by Thursday."
    assert [s.speaker for s in doc.segments] == ["Priya Natarajan", "Marco Bianchi"]


def test_a_single_message_file_with_only_blocks_is_detected(tmp_path: Path) -> None:
    f = tmp_path / "msg.json"
    f.write_text(
        json.dumps({"user": "U01", "ts": "1773158400.000100", "blocks": [_rich(_section(_t("Hello there")))]})
    )
    assert SlackConnector.detect(f)
    (doc,) = list(SlackConnector(f).documents())
    assert doc.text == "Hello there"


@pytest.mark.parametrize(
    ("text", "fallback"),
    [
        ("This message contains interactive elements.", True),
        ("  this message contains interactive elements ", True),
        ("This content can\u2019t be displayed.", True),
        ("I'll send it Thursday.", False),
        ("This message contains interactive elements. I'll send it Thursday.", False),
    ],
)
def test_fallback_texts(text: str, fallback: bool) -> None:
    assert is_fallback_text(text) is fallback


# -- (b) the renderer, block by block and element by element -----------------------------


def render(blocks: list[dict[str, Any]]) -> str:
    return render_blocks(blocks, USERS, CHANNELS).text


def test_rich_text_section_text_style_is_ignored() -> None:
    section = _section(_t("Send the "), _t("deck", style={"bold": True, "italic": True}), _t(" today."))
    assert render([_rich(section)]) == "Send the deck today."


def test_rich_text_sections_each_start_a_line() -> None:
    assert render([_rich(_section(_t("First.\n")), _section(_t("Second.")), _section(_t("Third.")))]) == (
        "First.\nSecond.\nThird."
    )


def test_link_uses_its_text_else_its_url() -> None:
    section = _section(
        _t("See "),
        {"type": "link", "url": "https://x.example/p", "text": "the sheet"},
        _t(" or "),
        {"type": "link", "url": "https://x.example/q"},
        _t(" or "),
        {"type": "link", "url": "mailto:a@b.example"},
    )
    assert render([_rich(section)]) == "See the sheet or https://x.example/q or a@b.example"


def test_user_is_resolved_like_a_text_mention_and_recorded() -> None:
    section = _section(
        {"type": "user", "user_id": "U02"},
        _t(" and "),
        {"type": "user", "user_id": "U09"},
        _t(" and "),
        {"type": "user", "user_id": "U02"},
    )
    out = render_blocks([_rich(section)], USERS, CHANNELS)
    assert out.text == "@Priya Natarajan and @U09 and @Priya Natarajan"
    assert out.mentions == ["U02", "U09"]


def test_user_block_matches_the_text_rendering_through_the_connector(tmp_path: Path) -> None:
    block_msg = {
        "user": "U01",
        "ts": "1773158400.000100",
        "text": "",
        "blocks": [_rich(_section({"type": "user", "user_id": "U02"}, _t(" ok")))],
    }
    text_msg = {"user": "U01", "ts": "1773158401.000100", "text": "<@U02> ok"}
    docs = list(SlackConnector(_export(tmp_path, [block_msg, text_msg])).documents())
    assert docs[0].text == docs[1].text == "@Priya Natarajan ok"


def test_channel_emoji_broadcast_usergroup_color() -> None:
    section = _section(
        {"type": "broadcast", "range": "here"},
        _t(" in "),
        {"type": "channel", "channel_id": "C01"},
        _t(" and "),
        {"type": "channel", "channel_id": "C99"},
        _t(" "),
        {"type": "emoji", "name": "thumbsup", "unicode": "1f44d"},
        {"type": "emoji", "unicode": "1f468-200d-1f4bb"},
        _t(" "),
        {"type": "usergroup", "usergroup_id": "S0123"},
        _t(" "),
        {"type": "broadcast", "range": "channel"},
        _t(" "),
        {"type": "color", "value": "#F405B3"},
    )
    assert render([_rich(section)]) == (
        "@here in #globex-deal and #C99 :thumbsup:\U0001f468\u200d\U0001f4bb @S0123 @channel #F405B3"
    )


def test_date_element() -> None:
    ts = 1773360000  # 2026-03-13 00:00:00 UTC
    section = _section(
        _t("Due "),
        {"type": "date", "timestamp": ts, "format": "{date_num}", "fallback": "Friday"},
        _t(" / "),
        {"type": "date", "timestamp": ts, "format": "{date_long} at {time}"},
        _t(" / "),
        {"type": "date", "timestamp": "not a number", "fallback": "some day"},
        _t(" / "),
        {"type": "date", "timestamp": ts},
    )
    assert (
        render([_rich(section)]) == "Due 2026-03-13 / Friday, March 13, 2026 at 00:00 / some day / 2026-03-13"
    )


def test_bullet_and_ordered_lists_with_indent_and_offset() -> None:
    block = _rich(
        _section(_t("Plan:\n")),
        {
            "type": "rich_text_list",
            "style": "ordered",
            "indent": 0,
            "elements": [_section(_t("Draft")), _section(_t("Review"))],
        },
        {"type": "rich_text_list", "style": "bullet", "indent": 1, "elements": [_section(_t("with legal"))]},
        {
            "type": "rich_text_list",
            "style": "ordered",
            "indent": 0,
            "offset": 2,
            "elements": [_section(_t("Send"))],
        },
        {
            "type": "rich_text_list",
            "style": "bullet",
            "elements": [_section(_t("Starter")), _section(_t(""))],
        },
    )
    assert render([block]) == "Plan:\n1. Draft\n2. Review\n  - with legal\n3. Send\n- Starter"


def test_quote_is_rendered_without_a_quote_marker() -> None:
    block = _rich(
        {"type": "rich_text_quote", "elements": [_t("We need the quote by Friday.")]},
        _section(_t("I'll send it Thursday.")),
    )
    out = render([block])
    assert out == "We need the quote by Friday.\nI'll send it Thursday."
    assert not any(line.startswith(">") for line in out.splitlines())


def test_preformatted_keeps_its_text() -> None:
    block = _rich(
        _section(_t("Run this:")),
        {"type": "rich_text_preformatted", "elements": [_t("make deploy\nmake test")], "border": 0},
    )
    assert render([block]) == "Run this:\nmake deploy\nmake test"


def test_section_mrkdwn_plain_text_and_fields() -> None:
    blocks = [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": "*Renewal* for <@U02> in <#C01> &amp; <https://x.example|the doc>",
            },
        },
        {"type": "section", "text": {"type": "plain_text", "text": "Plain & simple", "emoji": True}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": "*Seats:* 20"},
                {"type": "plain_text", "text": "Tier: Starter"},
            ],
            "accessory": {"type": "button", "text": {"type": "plain_text", "text": "Open"}, "value": "x"},
        },
    ]
    out = render_blocks(blocks, USERS, CHANNELS)
    assert out.text == (
        "*Renewal* for @Priya Natarajan in #globex-deal & the doc\nPlain & simple\n*Seats:* 20\nTier: Starter"
    )
    assert out.mentions == ["U02"]


def test_header_context_and_ignored_blocks() -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Weekly update"}},
        {"type": "divider"},
        {
            "type": "context",
            "elements": [
                {"type": "image", "image_url": "https://x.example/a.png", "alt_text": "logo"},
                {"type": "mrkdwn", "text": "Posted by <@U01>"},
                {"type": "plain_text", "text": "today"},
            ],
        },
        {"type": "image", "image_url": "https://x.example/b.png", "alt_text": "chart"},
        {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Go"}}]},
    ]
    assert render(blocks) == "Weekly update\nPosted by @Marco Bianchi today"


def test_malformed_blocks_render_nothing() -> None:
    assert render_blocks(None, USERS).text == ""
    assert render_blocks("text", USERS).text == ""
    assert render([{"type": "rich_text", "elements": "x"}, {"type": "section"}, {"nope": 1}]) == ""
    assert render([_rich(_section({"type": "user"}, {"type": "emoji", "unicode": "zz"}))]) == ""
