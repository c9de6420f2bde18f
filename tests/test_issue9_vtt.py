"""WebVTT: only a truly empty line ends a cue; a line of spaces inside a cue does not (issue 9)."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.meetings import VttTranscriptConnector
from connectors.meetings_vtt import parse_vtt

BLANKISH = ["   ", "\t", " \t  "]
ENDINGS = ["\n", "\r\n", "\r"]


def voice_file(blank: str, nl: str, bom: bool) -> str:
    lines = [
        "WEBVTT - Teams export",
        "",
        "STYLE",
        "::cue(.loud) { color: red }",
        "",
        "REGION",
        "id:speaker width:40%",
        "",
        "NOTE exported by a test",
        "",
        "intro-1",
        "00:00:01.000 --> 00:00:04.000 align:start position:10%",
        "<v.loud Dana Lee>I'll send the SOC 2 report",
        blank,
        "to legal by Friday.</v>",
        "",
        "intro-2",
        "00:00:05.000 --> 00:00:06.000 line:0 size:80%",
        "<v Marco Rossi>Thanks, that works.</v>",
        "",
    ]
    return ("\ufeff" if bom else "") + nl.join(lines)


def zoom_file(blank: str, nl: str) -> str:
    lines = [
        "WEBVTT",
        "",
        "1",
        "00:00:01,000 --> 00:00:04,000",
        "Dana Lee: I'll send the SOC 2 report",
        blank,
        "to legal by Friday.",
        "",
        "2",
        "00:00:05,000 --> 00:00:06,000",
        "Marco Rossi: Thanks, that works.",
        "",
        "3",
        "00:00:07,000 --> 00:00:08,000",
        "Dana Lee: Bye.",
        "",
    ]
    return nl.join(lines)


EXPECTED = [
    ("00:00:01.000", "Dana Lee", "I'll send the SOC 2 report to legal by Friday."),
    ("00:00:05.000", "Marco Rossi", "Thanks, that works."),
]


@pytest.mark.parametrize("blank", BLANKISH)
@pytest.mark.parametrize("nl", ENDINGS)
@pytest.mark.parametrize("bom", [False, True])
def test_whitespace_line_inside_voice_cue(blank: str, nl: str, bom: bool) -> None:
    t = parse_vtt(voice_file(blank, nl, bom))
    assert [(u.start, u.speaker, u.text) for u in t.cues] == EXPECTED
    assert t.notes == ["exported by a test"]


@pytest.mark.parametrize("blank", BLANKISH)
@pytest.mark.parametrize("nl", ENDINGS)
def test_whitespace_line_inside_name_prefixed_cue(blank: str, nl: str) -> None:
    t = parse_vtt(zoom_file(blank, nl))
    assert [(u.start, u.speaker, u.text) for u in t.cues] == [
        *EXPECTED,
        ("00:00:07.000", "Dana Lee", "Bye."),
    ]


@pytest.mark.parametrize("nl", ENDINGS)
def test_connector_keeps_the_whole_cue(tmp_path: Path, nl: str) -> None:
    path = tmp_path / "teams.vtt"
    path.write_bytes(voice_file("    ", nl, bom=True).encode("utf-8"))
    docs = list(VttTranscriptConnector(path).documents())
    assert len(docs) == 1
    doc = docs[0]
    assert [(s.speaker, s.text) for s in doc.segments] == [(who, said) for _, who, said in EXPECTED]
    for seg in doc.segments:
        assert doc.text[seg.char_start : seg.char_end] == seg.text


def test_whitespace_only_separators_still_split_cues() -> None:
    # Some exports put spaces on the separator line; a "-->" line where payload is expected starts a new cue.
    text = (
        "WEBVTT\n \n1\n00:00:01.000 --> 00:00:02.000\nAnn: one\n  \n2\n00:00:03.000 --> 00:00:04.000\n"
        "Bob: two\n\t\n00:00:05.000 --> 00:00:06.000\nAnn: three\n"
    )
    t = parse_vtt(text)
    assert [(u.start, u.speaker, u.text) for u in t.cues] == [
        ("00:00:01.000", "Ann", "one"),
        ("00:00:03.000", "Bob", "two"),
        ("00:00:05.000", "Ann", "three"),
    ]


def test_header_without_empty_line_and_stray_blank_runs() -> None:
    text = (
        "WEBVTT\r\n1\r\n00:00:01.000 --> 00:00:02.000\r\n<v Ann>one</v>\r\n\r\n\r\n\r\n"
        "2\r\n00:00:03.000 --> 00:00:04.000\r\n<v Bob>two</v>"
    )
    t = parse_vtt(text)
    assert [(u.speaker, u.text) for u in t.cues] == [("Ann", "one"), ("Bob", "two")]


def test_note_with_whitespace_line_stays_one_note() -> None:
    t = parse_vtt("WEBVTT\n\nNOTE first\n   \nsecond\n\n00:00:01.000 --> 00:00:02.000\nhello\n")
    assert t.notes == ["first\nsecond"]
    assert [(u.speaker, u.text) for u in t.cues] == [(None, "hello")]
