"""Issue 13, bounded on any input: every text function's time grows at most linearly.

Each function that reads text a user (or a sender) controls is fed inputs of 10 kB, 100 kB and 1 MB
in several hostile shapes (one long line, long runs of one character, no spaces, deep nesting, many
lines), and the time of each step is compared with the one before, in the same test
(:func:`tests.linear.superlinear`): ten times the input may take at most thirty times as long.
Shapes that once were quadratic or worse are here on purpose: nested ``<blockquote>`` (each line
repeated every mark above it), a long run-on unit in the LLM chunker (the rest of the text recounted
at each cut), a long quote to ground (every window of it compared with the whole), a long run of
spaces before a letter in the token counter (tiktoken's stack overflowed: a panic, not an error).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import Message
from pathlib import Path

import pytest

from connectors import crm
from connectors.email import EmlConnector
from connectors.mail.html_text import html_to_text
from connectors.mail.mbox import iter_mbox
from connectors.mail.mime import addresses, extract_body, header_text, parse_bytes, repair_mojibake, unflow
from connectors.mail.quotes import split_reply
from connectors.meetings import MeetingNotesConnector, VttTranscriptConnector
from connectors.meetings_vtt import parse_vtt
from connectors.slack_blocks import render_blocks
from connectors.slack_text import render_mrkdwn
from extractor.chunking import chunk_text
from extractor.grounding import align_quote
from extractor.injection import instruction_cues
from extractor.offline import OfflineExtractor, find_due, split_sentences
from extractor.token_count import count_tokens
from followthrough.types import Participant, ParticipantRole, Segment, SourceDocument
from tests.linear import superlinear

pytestmark = pytest.mark.timeout(300)

MONDAY = datetime(2026, 3, 16, 10, tzinfo=UTC)
PROSE = "The rollout plan and the pricing sheet were on the agenda today, then the weather. "
"""Prose with no word a promise or an ask is made of: the extractor's cheap gate reads it."""
ASKS = PROSE * 20 + "I'll send the deck by Friday, and could you check item 7 of the plan? "
"""Mostly prose, and every 1,800 characters or so a promise and a request."""


def rep(unit: str) -> Callable[[int], str]:
    """``unit`` repeated to ``n`` characters."""
    return lambda n: (unit * (n // len(unit) + 1))[:n]


def run_then(unit: str, tail: str) -> Callable[[int], str]:
    """A run of ``unit`` to ``n`` characters, then ``tail``."""
    return lambda n: unit * (n - len(tail)) + tail


SHAPES: dict[str, Callable[[int], str]] = {
    "one-line": rep(PROSE),
    "lines": rep("We went over the rollout plan today.\n"),
    "no-spaces": rep("abcdefghij"),
    "run-of-a": rep("a"),
    "spaces-then-x": run_then(" ", "x"),
    "quote-marks": run_then(">", " hi"),
    "dots": rep("."),
}


def _check(fn: Callable[[str], object], shape: str) -> None:
    slow = superlinear(fn, SHAPES[shape])
    assert slow is None, f"{shape}: {slow}"


# --------------------------------------------------------------------------- mail


@pytest.mark.parametrize("shape", ["one-line", "lines", "run-of-a", "quote-marks", "dots"])
def test_split_reply(shape: str) -> None:
    _check(split_reply, shape)


@pytest.mark.parametrize(
    "make",
    [
        rep("On Mon, 9 Mar 2026, Dana wrote:\n"),
        rep("> old\nnew\n"),
        rep("Thanks,\n\n"),
        rep("From: a\nSent: b\n"),
    ],
    ids=["attributions", "interleaved-quotes", "sign-offs", "header-lines"],
)
def test_split_reply_on_many_marker_lines(make: Callable[[int], str]) -> None:
    assert superlinear(split_reply, make) is None


@pytest.mark.parametrize(
    "make",
    [
        rep(PROSE),
        rep("<blockquote>a"),
        rep("<div>a"),
        rep("<p>x</p>"),
        rep("<a href='x' "),
        rep("<!-- x "),
        rep("</a "),
        rep("<?x "),
        rep("<![CDATA[x "),
        rep("<!x "),
    ],
    ids=[
        "prose",
        "nested-blockquote",
        "nested-div",
        "paragraphs",
        "unterminated-tags",
        "unterminated-comments",
        "unterminated-end-tags",
        "unterminated-instructions",
        "unterminated-cdata",
        "unterminated-declarations",
    ],
)
def test_html_to_text(make: Callable[[int], str]) -> None:
    assert superlinear(html_to_text, make) is None


def _message(body: str, extra: str = "") -> bytes:
    head = (
        f"From: a@ourco.com\nTo: b@customer.com\nSubject: s\nDate: Mon, 16 Mar 2026 10:00:00 +0000\n{extra}\n"
    )
    return (head + body).encode()


@pytest.mark.parametrize(
    "headers",
    ["Content-Type: text/plain\n", "Content-Type: text/plain; format=flowed\n", "Content-Type: text/html\n"],
    ids=["plain", "flowed", "html"],
)
def test_mime_body(headers: str) -> None:
    make = rep("I will send it Friday \n")
    assert superlinear(lambda b: extract_body(parse_bytes(b)), lambda n: _message(make(n), headers)) is None


def _many_parts(n: int) -> bytes:
    """A multipart/mixed message of about ``n`` bytes: one tiny text part every 40 or so."""
    part = "--b\nContent-Type: text/plain\n\npart\n"
    body = "MIME-Version: 1.0\n" + 'Content-Type: multipart/mixed; boundary="b"\n\n'
    return _message(part * (n // len(part)) + "--b--\n", body)


def test_mime_with_many_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every part is rendered and its attachments listed once: finding whether a part was shown
    scanned the shown parts for each (20,000 parts: a minute)."""
    import connectors.mail.mime as mime  # noqa: PLC0415 - its limit patched for this test

    monkeypatch.setattr(mime, "MAX_MIME_PARTS", 1_000_000)  # 1 MB holds ~30,000: the limit is 10,000
    assert superlinear(lambda b: extract_body(parse_bytes(b)), _many_parts) is None


def test_unflow_and_mojibake() -> None:
    assert superlinear(unflow, rep("soft line \n")) is None
    assert superlinear(unflow, rep("> so \n")) is None  # a quoted paragraph
    assert superlinear(repair_mojibake, rep("cafÃ© Iâ€™ll ")) is None


@pytest.mark.parametrize(
    ("name", "unit", "read"),
    [
        ("Keywords", "=?utf-8?b?SSB3aWxs?= ", header_text),
        ("To", "Dana Lee <dana@customer.com>, ", addresses),
    ],
    ids=["encoded-words", "many-mailboxes"],
)
def test_a_long_header(name: str, unit: str, read: Callable[[Message, str], object]) -> None:
    """The standard library's RFC 2047 decoder pops its list from the front: quadratic in the words
    of one value (200,000 of them took a minute); past the first 16,000 characters they stay as
    written. An address header is parsed in its first 100,000 characters."""
    make = rep(unit)
    assert (
        superlinear(lambda b: read(parse_bytes(b), name), lambda n: _message("hi\n", f"{name}: {make(n)}x\n"))
        is None
    )


def test_eml_file_with_one_long_line(tmp_path: Path) -> None:
    def make(n: int) -> Path:
        path = tmp_path / f"{n}.eml"
        path.write_bytes(_message(rep(PROSE)(n) + "\n"))
        return path

    assert superlinear(lambda p: list(EmlConnector(p).documents()), make) is None


def test_mbox_with_one_long_line(tmp_path: Path) -> None:
    def make(n: int) -> Path:
        path = tmp_path / f"{n}.mbox"
        path.write_bytes(b"From a@ourco.com Mon Mar 16 10:00:00 2026\n" + _message("a" * n + "\n"))
        return path

    assert superlinear(lambda p: list(iter_mbox(p)), make) is None


# --------------------------------------------------------------------------- extractor


@pytest.mark.parametrize("shape", ["one-line", "lines", "no-spaces", "spaces-then-x", "dots"])
def test_split_sentences(shape: str) -> None:
    _check(split_sentences, shape)


EXTRACTOR = OfflineExtractor(company_domains={"ourco.com"}, budget_s=3_600)
"""No time budget to speak of: these tests measure how time grows, and a 1 MB meeting on a machine
busy with other tests may take longer than the 20 s default (tested in test_issue13_bounded_limits)."""


def _email(text: str) -> SourceDocument:
    return SourceDocument(
        source="email",
        external_id="<x@ourco.com>",
        occurred_at=MONDAY,
        participants=[
            Participant(name="Priya", email="priya@ourco.com", role=ParticipantRole.SENDER),
            Participant(name="Dana", email="dana@customer.com", role=ParticipantRole.RECIPIENT),
        ],
        text=text,
    )


@pytest.mark.parametrize("shape", ["one-line", "no-spaces", "run-of-a", "spaces-then-x", "quote-marks"])
def test_offline_extractor(shape: str) -> None:
    _check(lambda t: EXTRACTOR.extract(_email(t)), shape)


def test_offline_extractor_on_promises_and_asks() -> None:
    for make in (rep(ASKS), rep(ASKS.replace(". ", ".\n"))):
        assert superlinear(lambda t: EXTRACTOR.extract(_email(t)), make) is None


def _meeting(n: int) -> SourceDocument:
    """A meeting of ``n`` characters: the customer asks, one of ours answers, turn after turn."""
    text, segments, k = "", [], 0
    while len(text) < n:
        k += 1
        name, mail, said = (
            ("Dana Lee", "dana@customer.com", f"Could you send item {k} of the plan?")
            if k % 2
            else ("Priya Shah", "priya@ourco.com", "Sure. " + PROSE)
        )
        start = len(text) + len(name) + 2
        segments.append(
            Segment(speaker=name, speaker_email=mail, char_start=start, char_end=start + len(said), text=said)
        )
        text += f"{name}: {said}\n"
    people = [("Dana Lee", "dana@customer.com"), ("Priya Shah", "priya@ourco.com")]
    return SourceDocument(
        source="meeting",
        external_id="sync",
        occurred_at=MONDAY,
        participants=[Participant(name=n, email=m, role=ParticipantRole.SPEAKER) for n, m in people],
        segments=segments,
        text=text,
    )


def test_offline_extractor_on_a_long_meeting() -> None:
    """Each question is put to whoever speaks next, found from where it is said (not by a search)."""
    assert superlinear(EXTRACTOR.extract, _meeting) is None


def test_offline_extractor_on_promises_without_punctuation() -> None:
    """A line with a promise every few words and no sentence end: read in bounded pieces."""
    make = rep("and I will send the deck ")
    assert superlinear(lambda t: EXTRACTOR.extract(_email(t)), make, sizes=(2_000, 20_000, 200_000)) is None


@pytest.mark.parametrize("shape", ["run-of-a", "spaces-then-x", "dots"])
def test_due_dates(shape: str) -> None:
    _check(lambda t: find_due(t, MONDAY), shape)


@pytest.mark.parametrize("shape", ["one-line", "no-spaces", "spaces-then-x"])
def test_grounding(shape: str) -> None:
    _check(lambda t: align_quote("I will send the quarterly review deck to Dana", t), shape)


def test_grounding_a_long_quote() -> None:
    """A long quote the model changed a little: found by its head and tail, not window by window."""
    text = rep("the plan review send deck friday customer pricing sheet security questionnaire ")(40_000)

    def quote(n: int) -> str:
        return "".join("x" if k % 17 == 0 else c for k, c in enumerate(text[5_000 : 5_000 + n]))

    assert superlinear(lambda q: align_quote(q, text), quote, sizes=(200, 2_000, 20_000)) is None


@pytest.mark.parametrize("shape", ["one-line", "no-spaces", "run-of-a", "spaces-then-x"])
def test_llm_chunking_and_token_counts(shape: str) -> None:
    # Chunks small enough that every size is cut (one that fits is counted once, not cut and recounted).
    _check(lambda t: chunk_text(t, max_tokens=50, overlap_tokens=5), shape)
    _check(count_tokens, shape)


def test_instruction_cues() -> None:
    assert superlinear(instruction_cues, rep("Ignore the previous plan and the earlier notes. ")) is None


# --------------------------------------------------------------------------- meetings and Slack


def _cues(n: int) -> str:
    cue = "00:00:01.000 --> 00:00:02.000\nPriya: I will send it\n\n"
    return "WEBVTT\n\n" + cue * (n // len(cue))


def test_vtt(tmp_path: Path) -> None:
    assert superlinear(parse_vtt, _cues) is None

    def one_speaker(n: int) -> Path:
        path = tmp_path / f"{n}.vtt"
        path.write_text(_cues(n))
        return path

    assert superlinear(lambda p: list(VttTranscriptConnector(p).documents()), one_speaker) is None


@pytest.mark.parametrize(
    "make",
    [rep("- Priya: I will send item by Friday\n"), rep(PROSE), rep("**Dana:** ok\n"), rep("#")],
    ids=["speaker-bullets", "one-line", "bold-speakers", "hashes"],
)
def test_meeting_notes(make: Callable[[int], str], tmp_path: Path) -> None:
    def notes(n: int) -> Path:
        path = tmp_path / f"{n}.md"
        path.write_text("# Sync\nDate: 2026-03-16\n\n" + make(n))
        return path

    assert superlinear(lambda p: list(MeetingNotesConnector(p).documents()), notes) is None


@pytest.mark.parametrize(
    "make",
    [rep("<@U1> "), rep("<"), rep("&lt;@U1&gt;"), rep(PROSE)],
    ids=["mentions", "brackets", "entities", "prose"],
)
def test_slack_text(make: Callable[[int], str]) -> None:
    names = {"U1": "Priya Shah"}
    assert superlinear(lambda t: render_mrkdwn(t, names), make) is None

    def blocks(n: int) -> list[dict[str, object]]:
        section = {"type": "rich_text_section", "elements": [{"type": "text", "text": make(n)}]}
        return [{"type": "rich_text", "elements": [section]}]

    assert superlinear(lambda b: render_blocks(b, names), blocks) is None


def test_a_mention_never_repeats_more_than_a_name_of_its_own() -> None:
    """A hostile ``users.json`` name repeated by every mention would make a message grow by its length."""
    rendered = render_mrkdwn("<@U1> " * 1_000, {"U1": "P" * 1_000_000})
    assert len(rendered.text) < 100_000


@pytest.mark.parametrize(
    ("unit", "close"),
    [
        ("x" * 40, '"'),  # a quoted field, one long line
        ('say ""yes"" ' * 4, '"'),  # doubled quotes all along
        ("a,\nb\r\n" * 6, '"'),  # line ends and delimiters inside the quotes
        ("x" * 40, '"x'),  # a quote gone astray: closed, then text
        ("x" * 40, ""),  # a quote never closed
    ],
)
def test_following_an_over_long_csv_record(unit: str, close: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past MAX_RECORD_CHARS (made small here) a record is followed to its end a block at a time."""
    monkeypatch.setattr(crm, "MAX_RECORD_CHARS", 1_000)
    monkeypatch.setattr(crm, "MAX_SKIP_CHARS", 10**9)
    monkeypatch.setattr(crm, "_BLOCK_BYTES", 4_096)

    def make(n: int) -> str:
        return f'a,b\n1,"{unit * (n // len(unit))}{close}\n2,z\n'

    def cut(text: str) -> list[tuple[int, str]]:
        return list(crm.records(io.StringIO(text, newline=""), ","))

    assert isinstance(cut(make(10_000))[1][1], crm.CutRecord)
    assert superlinear(cut, make) is None


def test_following_an_over_long_line_of_many_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(crm, "MAX_RECORD_CHARS", 1_000)
    monkeypatch.setattr(crm, "_BLOCK_BYTES", 4_096)
    make = rep("x,")
    text = lambda t: io.StringIO(f"a\n{t}\nz\n", newline="")  # noqa: E731
    assert superlinear(lambda t: list(crm.records(text(t), ",")), make) is None
