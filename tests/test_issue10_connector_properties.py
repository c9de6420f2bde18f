"""Property tests (Hypothesis, derandomized) over the connectors' parsing entry points.

Whatever bytes or text a connector is given, the only exception that may leave it is
:class:`~followthrough.errors.InputError` (or the parser's own documented error, such
as :class:`~connectors.meetings_vtt.NotWebVTT`); every problem with one record goes to
``on_error`` and reading goes on. Each test also bounds its work: no example may hang.

Entry points (read from ``connectors/*.py``): ``documents_from_bytes`` and the eml / mbox
connectors, ``iter_mbox``; ``parse_vtt`` and the VTT connector; ``parse_notes``,
``parse_when``, ``not_meeting_notes`` and the notes connector; ``render_mrkdwn``,
``render_blocks``, ``parse_json`` and the Slack connector on a message file, an export
folder and a ZIP export; ``records``/``parse_record``, ``is_crm_csv`` and
``read_crm_csv`` for CRM CSVs; and :func:`followthrough.ingest.plan` + ``documents``
over any of them.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from connectors import crm as crm_connector
from connectors.base import Yields
from connectors.crm import (
    MAX_RECORD_CHARS,
    is_crm_csv,
    parse_amount,
    parse_date,
    parse_record,
    read_crm_csv,
    records,
)
from connectors.email import EmlConnector, MboxConnector, documents_from_bytes
from connectors.mail.mbox import iter_mbox
from connectors.meetings import MeetingNotesConnector, VttTranscriptConnector, not_meeting_notes
from connectors.meetings_common import parse_when
from connectors.meetings_notes import parse_notes
from connectors.meetings_vtt import NotWebVTT, parse_vtt
from connectors.slack import SlackConnector
from connectors.slack_blocks import render_blocks
from connectors.slack_export import parse_json
from connectors.slack_text import render_mrkdwn
from followthrough import ingest
from followthrough.errors import InputError
from followthrough.types import SourceDocument

FAST = settings(
    derandomize=True,
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@contextmanager
def _file(name: str, data: bytes) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / name
        path.write_bytes(data)
        yield path


def _read(connector: Any, errors: list[InputError]) -> list[SourceDocument]:
    """All documents, with InputError (the whole input refused) collected like a record's."""
    try:
        return list(connector.documents())
    except InputError as e:
        errors.append(e)
        return []


def _through_ingest(path: Path) -> tuple[list[SourceDocument], list[InputError]]:
    """What ``followthrough run`` does with ``path``: plan it, then read every input."""
    planned = ingest.plan([path])
    errors = planned.errors + planned.skipped
    for item in planned.yielding(Yields.CRM):
        for _ in ingest.records(item, errors):
            pass
    docs = [doc for item in planned.yielding(Yields.DOCUMENTS) for doc in ingest.documents(item, errors)]
    return docs, errors


def _names_the_input(errors: list[InputError], path: Path) -> None:
    for e in errors:
        assert isinstance(e, InputError)
        assert str(path.name) in e.path or str(path.parent) in e.path, e


# ---------------------------------------------------------------------- email

_HEADER_NAMES = st.sampled_from(
    [
        "From",
        "To",
        "Cc",
        "Subject",
        "Date",
        "Message-ID",
        "In-Reply-To",
        "References",
        "Received",
        "MIME-Version",
        "Content-Type",
        "Content-Transfer-Encoding",
        "Content-Disposition",
        "Precedence",
        "Auto-Submitted",
        "X-Junk",
    ]
)
_HEADER_VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "Dana <dana@customer.com>",
            "=?utf-8?b?w6k=?= <a@b.c>",
            "=?x-unknown?q?=FF?=",
            "=?utf-8?q?broken",
            '"unterminated <x@y',
            "undisclosed-recipients:;",
            "text/plain; charset=utf-8",
            "text/plain; charset=bogus-42",
            'text/plain; charset="utf-7"',
            "text/html; charset=iso-8859-1",
            "text/plain; format=flowed; delsp=yes",
            'multipart/mixed; boundary="b1"',
            'multipart/alternative; boundary="b1"',
            "multipart/mixed",
            "message/rfc822",
            "base64",
            "quoted-printable",
            "x-uuencode",
            "attachment; filename=fwd.eml",
            "Tue, 03 Mar 2026 09:14:00 -0500",
            "Tue, 03 Mar 99999 09:14:00 -9999",
            "Mon, 31 Feb 2026 25:61:61 +2400",
            "from a by b; Tue, 03 Mar 2026 09:14:00 +0000",
            "<a@b> <c@d>",
            "bulk",
        ]
    ),
)
_HEADER = st.tuples(_HEADER_NAMES, _HEADER_VALUES).map(lambda kv: f"{kv[0]}: {kv[1]}")
_BODY_LINES = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        [
            "--b1",
            "--b1--",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Type: message/rfc822",
            "Content-Type: text/html",
            "Content-Transfer-Encoding: base64",
            "Content-Disposition: attachment; filename=a.eml",
            "From: Priya <priya@ourco.com>",
            "On Tue, Dana wrote:",
            "> quoted",
            "-- ",
            "<p>I'll send it <b>Friday</b></p>",
            "=E9=",
            "SSdsbCBzZW5kIGl0Lg==",
            "",
        ]
    ),
)


@st.composite
def email_bytes(draw: st.DrawFn) -> bytes:
    headers = draw(st.lists(_HEADER, max_size=10))
    body = draw(st.lists(_BODY_LINES, max_size=15))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    text = newline.join([*headers, "", *body])
    encoding = draw(st.sampled_from(["utf-8", "latin-1", "utf-16"]))
    return text.encode(encoding, "replace")


@FAST
@given(st.one_of(st.binary(max_size=400), email_bytes()))
def test_an_email_of_any_bytes_is_documents_or_one_input_error(data: bytes) -> None:
    try:
        docs = documents_from_bytes(data, path=Path("x.eml"), origin="x.eml", number=1)
    except InputError as e:
        assert e.path == "x.eml"
        return
    for doc in docs:
        assert isinstance(doc, SourceDocument)


@FAST
@given(email_bytes())
def test_eml_file_through_ingest_never_raises(data: bytes) -> None:
    with _file("m.eml", data) as path:
        errors: list[InputError] = []
        _read(EmlConnector(path, on_error=errors.append), errors)
        _, errors = _through_ingest(path)
        _names_the_input(errors, path)


@st.composite
def mbox_bytes(draw: st.DrawFn) -> bytes:
    parts: list[bytes] = []
    for _ in range(draw(st.integers(1, 4))):
        sep = draw(
            st.sampled_from(
                [
                    b"From a@b Tue Mar  3 09:14:00 2026\n",
                    b"From - Sat Mar 01 12:00:00 2008\n",
                    b"From the team on Mar 3 at 10:30 we ship\n",
                    b"From \n",
                    b"",
                ]
            )
        )
        parts.append(sep + draw(st.one_of(email_bytes(), st.binary(max_size=80))) + b"\n\n")
    return b"".join(parts)


@FAST
@given(mbox_bytes())
def test_an_mbox_of_any_bytes_reports_each_bad_message_and_goes_on(data: bytes) -> None:
    with _file("box.mbox", data) as path:
        for headers_only in (False, True):
            for raw in iter_mbox(path, headers_only=headers_only):
                assert raw.number >= 1
        errors: list[InputError] = []
        _read(MboxConnector(path, on_error=errors.append), errors)
        _names_the_input(errors, path)


# ------------------------------------------------------------------- meetings

_VTT_LINES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "WEBVTT",
            "WEBVTT - title",
            "",
            "   ",
            "NOTE Meeting started 3/17/2026 10:00 AM",
            "NOTE date: 2026-99-99",
            "NOTE start: 99999-01-01",
            "00:00:01.000 --> 00:00:02.000",
            "1:00:00,5 --> x",
            "-->",
            "<v Dana Lee>I'll send it by Friday.</v>",
            "<v.loud>",
            "<v >",
            "Dana: I'll send it.",
            "&amp;&#xFFFFFFF;&#0;",
            "STYLE",
            "REGION",
            "12",
        ]
    ),
)


@FAST
@given(st.lists(_VTT_LINES, max_size=30), st.sampled_from(["\n", "\r\n", "\r"]))
def test_vtt_text_parses_or_says_not_webvtt(lines: list[str], newline: str) -> None:
    text = newline.join(lines)
    try:
        transcript = parse_vtt(text)
    except NotWebVTT:
        return
    for cue in transcript.cues:
        assert cue.text


@FAST
@given(st.lists(_VTT_LINES, max_size=30), st.sampled_from(["meeting.vtt", "Sync GMT20269999-999999.vtt"]))
def test_vtt_file_through_the_connector_and_ingest(lines: list[str], name: str) -> None:
    with _file(name, "\n".join(lines).encode("utf-8", "surrogatepass")) as path:
        errors: list[InputError] = []
        _read(VttTranscriptConnector(path, on_error=errors.append), errors)
        _, errors = _through_ingest(path)
        _names_the_input(errors, path)


_NOTES_LINES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "---",
            "# Acme sync",
            "## Action items",
            "Date: 2026-03-10 15:00 -05:00",
            "Date: 99999-99-99",
            "Date: next Tuesday 3pm",
            "Date: 2026-03-10 25:99 +99:99",
            "Date: 9999999999999999999999999999999999999999m",  # dateutil: decimal.InvalidOperation
            "When: 10 mars 2026",
            "Time: 10:00 PST",
            "Title: Sync",
            "Attendees: Marco Rossi <marco@northwind.io>, Dana Lee (dana@acme.com), , ;, Sam",
            "Dana: We need the SOC 2 report.",
            "- Marco: send the report by Friday",
            "- [ ] Priya to schedule the follow-up",
            "**Dana:** ok",
            "   continued",
            "```",
            "",
        ]
    ),
)


@FAST
@given(st.lists(_NOTES_LINES, max_size=30))
def test_notes_text_parses_into_segments_inside_the_body(lines: list[str]) -> None:
    notes = parse_notes("\n".join(lines))
    for seg in notes.segments:
        assert 0 <= seg.start <= seg.end <= len(notes.body)


_DATE_TOKENS = st.sampled_from(
    ["2026", "0", "99999999999999999999", "-", "/", ".", ":", " ", "T", "Z", "+99:99", "Mar", "31", "60"]
    + ["am", "pm", "PST", "GMT+1", "next", "Tuesday", "noon", "1e308", "k", "m", "月", "١٢", "𝟚𝟘𝟚𝟞"]
)


@FAST
@given(
    st.one_of(
        st.text(max_size=40),
        _NOTES_LINES.map(lambda line: line.partition(":")[2]),
        st.lists(_DATE_TOKENS, max_size=10).map("".join),
    )
)
@example("9999999999999999999999999999999999999999m")
def test_parse_when_is_a_datetime_or_none(value: str) -> None:
    parsed = parse_when(value)
    assert parsed is None or parsed.tzinfo is not None


@FAST
@given(
    st.lists(_NOTES_LINES, max_size=30),
    st.sampled_from(["notes.md", "2026-03-10-sync.md", "sync.txt", "2026_99_99 25_99 ZZZ.md"]),
    st.sampled_from(["utf-8", "utf-16", "latin-1"]),
)
def test_notes_file_through_the_connector_and_ingest(lines: list[str], name: str, encoding: str) -> None:
    with _file(name, "\n".join(lines).encode(encoding, "replace")) as path:
        not_meeting_notes(path)
        errors: list[InputError] = []
        if MeetingNotesConnector.detect(path):
            _read(MeetingNotesConnector(path, on_error=errors.append), errors)
        _, errors = _through_ingest(path)
        _names_the_input(errors, path)


# ---------------------------------------------------------------------- slack

_SLACK_KEYS = st.sampled_from(
    [
        "type",
        "subtype",
        "text",
        "ts",
        "thread_ts",
        "user",
        "user_profile",
        "real_name",
        "display_name",
        "name",
        "blocks",
        "elements",
        "fields",
        "style",
        "indent",
        "offset",
        "url",
        "user_id",
        "channel_id",
        "usergroup_id",
        "range",
        "timestamp",
        "format",
        "fallback",
        "unicode",
        "value",
        "comment",
        "permalink",
        "hidden",
        "channel",
        "channel_name",
        "id",
        "profile",
        "email",
        "tz",
        "tz_offset",
    ]
)
_SLACK_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.from_regex(r"\A\d{1,14}(\.\d{1,8})?\Z"),
    st.sampled_from(
        [
            "message",
            "rich_text",
            "rich_text_section",
            "rich_text_list",
            "rich_text_quote",
            "rich_text_preformatted",
            "section",
            "header",
            "context",
            "markdown",
            "mrkdwn",
            "plain_text",
            "link",
            "emoji",
            "date",
            "broadcast",
            "usergroup",
            "color",
            "ordered",
            "U01",
            "C01",
            "1f600-zz",
            "110000",
            "{date_long} {time} {ago}",
            "<@U01|dana> <#C01> <!here> <!date^1^{date}|x> <https://x.io|x> &lt;",
            "This message contains interactive elements.",
            "channel_join",
            "America/New_York",
            "America",
            "../../etc/passwd",
            "",
        ]
    ),
)
_SLACK_JSON = st.recursive(
    _SLACK_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(_SLACK_KEYS | st.text(max_size=4), inner, max_size=6)
    ),
    max_leaves=30,
)


def _message() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"type": st.just("message"), "user": st.sampled_from(["U01", "U02"]), "ts": _SLACK_SCALARS},
        optional={"text": _SLACK_SCALARS, "blocks": _SLACK_JSON, "thread_ts": _SLACK_SCALARS},
    )


_MESSAGE_LIST = st.lists(st.one_of(_message(), _SLACK_JSON), max_size=5)


@FAST
@given(st.text(max_size=80))
def test_mrkdwn_renders_any_text(raw: str) -> None:
    rendered = render_mrkdwn(raw, {"U01": "Dana"}, {"C01": "general"})
    assert isinstance(rendered.text, str)


@FAST
@given(_SLACK_JSON)
def test_blocks_render_any_json(blocks: Any) -> None:
    rendered = render_blocks(blocks, {"U01": "Dana"}, {"C01": "general"})
    assert isinstance(rendered.text, str)


def _nested_lists(depth: int) -> list[dict[str, Any]]:
    inner: dict[str, Any] = {"type": "rich_text_section", "elements": [{"type": "text", "text": "Deep."}]}
    for _ in range(depth):
        inner = {"type": "rich_text_list", "elements": [inner]}
    return [{"type": "rich_text", "elements": [inner]}]


def test_blocks_nested_deeper_than_the_stack_render_without_recursion_error() -> None:
    assert render_blocks(_nested_lists(3), {}).text == "- - - Deep."
    assert isinstance(render_blocks(_nested_lists(5000), {}).text, str)


@FAST
@given(st.binary(max_size=200) | _SLACK_JSON.map(lambda v: json.dumps(v).encode()))
def test_parse_json_returns_a_value_or_one_input_error(data: bytes) -> None:
    try:
        parse_json(data, "f.json")
    except InputError as e:
        assert e.path == "f.json"


def test_parse_json_refuses_deep_nesting_and_huge_numbers_with_one_input_error() -> None:
    for data in (b"[" * 100_000 + b"]" * 100_000, b"[" + b"9" * 5000 + b"]"):
        try:
            parse_json(data, "f.json")
        except InputError as e:
            assert e.path == "f.json"
        else:
            raise AssertionError("accepted")


@FAST
@given(_MESSAGE_LIST)
def test_slack_message_file_through_the_connector_and_ingest(messages: list[Any]) -> None:
    data = json.dumps(messages).encode()
    with _file("messages.json", data) as path:
        errors: list[InputError] = []
        _read(SlackConnector(path, on_error=errors.append), errors)
        _names_the_input(errors, path)
        _through_ingest(path)


_USERS = st.lists(
    st.fixed_dictionaries(
        {"id": st.sampled_from(["U01", "U02"])},
        optional={
            "real_name": _SLACK_SCALARS,
            "tz": _SLACK_SCALARS,
            "tz_offset": _SLACK_SCALARS,
            "profile": _SLACK_JSON,
        },
    ),
    max_size=2,
)


@FAST
@given(_USERS, st.lists(_MESSAGE_LIST | _SLACK_JSON, min_size=1, max_size=3))
@example(  # a tz naming a folder of zones: ZoneInfo raises IsADirectoryError
    [{"id": "U01", "tz": "America"}, {"id": "U02", "tz": "x" * 300}],
    [
        [
            {"type": "message", "user": "U01", "ts": "1.1", "text": "hi"},
            {"type": "message", "user": "U02", "ts": "2", "text": "yo"},
        ]
    ],
)
def test_slack_export_folder_and_zip_read_every_day_file(users: list[Any], days: list[Any]) -> None:
    with tempfile.TemporaryDirectory() as d:
        root = Path(d) / "export"
        (root / "general").mkdir(parents=True)
        (root / "users.json").write_text(json.dumps(users))
        (root / "channels.json").write_text('[{"id": "C01", "name": "general"}]')
        members = {"users.json": json.dumps(users), "channels.json": '[{"id": "C01", "name": "general"}]'}
        for n, day in enumerate(days, 1):
            (root / "general" / f"2026-03-0{n}.json").write_text(json.dumps(day))
            members[f"general/2026-03-0{n}.json"] = json.dumps(day)
        archive = Path(d) / "export.zip"
        with zipfile.ZipFile(archive, "w") as z:
            for name, text in members.items():
                z.writestr(name, text)
        for path in (root, archive):
            errors: list[InputError] = []
            docs = _read(SlackConnector(path, on_error=errors.append), errors)
            assert all(e.path.startswith(str(path)) for e in errors), errors
            assert all(doc.source == "slack" for doc in docs)


# ------------------------------------------------------------------------ CRM

_CSV_PIECES = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8"), max_size=12),
    st.sampled_from(
        ['"', '""', ",", ";", "\t", "\n", "\r", "\r\n", "\x00", "$12,500.00", "2026-13-45", "@", " "]
    ),
)
_CRM_HEADERS = st.sampled_from(
    [
        "deal_id,deal_name,account_name,amount,close_date,owner,website,contact_email",
        "Record ID;Deal Name;Associated Company;Amount;Close Date;Deal Owner",
        "email,name,company,title",
        "deal_id,deal_name",
        "",
    ]
)


def _csv_reads(text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """What ``csv.reader`` reads of ``text``: each row with the line it starts on."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    out: list[tuple[int, list[str]]] = []
    start = 1
    for row in reader:
        out.append((start, row))
        start = reader.line_num + 1
    return out


def _our_reads(text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """What :func:`records` and :func:`parse_record` read of ``text``, in :func:`_csv_reads`'s shape."""
    return [(line, parse_record(record, delimiter)) for line, record in records(text, delimiter)]


@FAST
@given(st.lists(_CSV_PIECES, max_size=40).map("".join), st.sampled_from([",", ";", "\t"]))
def test_records_cut_text_exactly_as_the_csv_module_reads_it(text: str, delimiter: str) -> None:
    """The record splitter agrees with ``csv.reader``: same rows, same starting line numbers."""
    assert _our_reads(text, delimiter) == _csv_reads(text, delimiter)


@FAST
@given(
    st.lists(st.lists(_CSV_PIECES, max_size=6).map("".join), min_size=1, max_size=6),
    st.sampled_from([",", ";", "\t"]),
    st.sampled_from([csv.QUOTE_ALL, csv.QUOTE_MINIMAL]),
)
def test_quoted_records_read_as_the_csv_module_reads_them(
    rows: list[str], delimiter: str, quoting: int
) -> None:
    """Every field quoted (how Salesforce and HubSpot export): the quick split agrees with ``csv``."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, quoting=quoting)
    for row in rows:
        writer.writerow(row.split("|"))
    text = out.getvalue()
    assert _our_reads(text, delimiter) == _csv_reads(text, delimiter)


@pytest.mark.parametrize(
    ("record", "fields"),
    [
        ('"Acme, Inc","Demo","12,500"\r\n', ["Acme, Inc", "Demo", "12,500"]),
        ('"line one\nline two","x"\n', ["line one\nline two", "x"]),
        ('"say ""hi""","x"\n', ['say "hi"', "x"]),  # a quote inside: read by csv
        ('"a",b,"c"\n', ["a", "b", "c"]),  # not every field quoted: read by csv
        ('"a"x,"b"\n', ["ax", "b"]),  # text after a closing quote: read by csv
        ('""\n', [""]),
    ],
)
def test_quoted_record_fields(record: str, fields: list[str]) -> None:
    assert parse_record(record, ",") == fields


@FAST
@given(
    _CRM_HEADERS,
    st.lists(st.lists(_CSV_PIECES, max_size=10).map("".join), max_size=8),
    st.sampled_from(["utf-8", "utf-16", "cp1252"]),
)
@example(
    "deal_id,deal_name,account_name", ["1,A\u0a41B,x"], "utf-16"
)  # a 0x0A byte inside a UTF-16 character
def test_crm_csv_reads_or_reports_every_row(header: str, rows: list[str], encoding: str) -> None:
    data = "\n".join([header, *rows]).encode(encoding, "replace")
    with _file("crm.csv", data) as path:
        is_crm_csv(path)
        errors: list[InputError] = []
        try:
            read_crm_csv(path, on_error=errors.append)
        except InputError as e:
            errors.append(e)
        _names_the_input(errors, path)
        _through_ingest(path)


@FAST
@given(st.one_of(st.text(max_size=30), st.lists(_DATE_TOKENS, max_size=10).map("".join)))
@example("9999999999999999999999999999999999999999mmm")
def test_crm_values_parse_or_raise_the_value_error_a_row_reports(raw: str) -> None:
    """``parse_amount`` / ``parse_date`` raise only ValueError: ``read_crm_csv`` makes it one row's line."""
    for parse in (parse_amount, parse_date):
        try:
            parse(raw)
        except ValueError:
            pass


def test_crm_csv_field_over_the_limit_is_one_bad_row_wherever_it_is() -> None:
    big = "x" * (csv.field_size_limit() + 1)
    for bad in (f'2,"{big}",Acme', f'2,"line one\n{big}\nline three",Acme', f"2,{big},Acme"):
        text = f"deal_id,deal_name,account_name\n1,A,Acme\n{bad}\n3,C,Acme\n"
        with _file("crm.csv", text.encode()) as path:
            errors: list[InputError] = []
            crm = read_crm_csv(path, on_error=errors.append)
            assert sorted(d.crm_id for d in crm.deals) == ["1", "3"]
            assert [e.path for e in errors] == [f"{path}:3"]


def test_an_unterminated_quote_costs_its_line_not_the_rest_of_the_export() -> None:
    """Past MAX_RECORD_CHARS an open quote is one line: the rows after it are read, with true lines."""
    rows = [f"{i},Deal {i},Acme" for i in range(MAX_RECORD_CHARS // 20)]
    rows[2] = '2,"Deal 2,Acme'  # the quote never closes
    rows[5] = "5," + "x" * (MAX_RECORD_CHARS + 10) + ",Acme"  # a line longer than a record may be
    rows[-1] = "oops,,Acme"  # a bad row far after both: its own line number
    text = "deal_id,deal_name,account_name\n" + "\n".join(rows) + "\n"
    with _file("crm.csv", text.encode()) as path:
        errors: list[InputError] = []
        crm = read_crm_csv(path, on_error=errors.append)
        assert len(crm.deals) == len(rows) - 3
        assert [e.path for e in errors] == [f"{path}:4", f"{path}:7", f"{path}:{len(rows) + 1}"]
        assert "line 4 skipped, reading goes on at line 5" in errors[0].problem


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_a_quoted_field_longer_than_a_record_is_skipped_whole_not_read_as_rows(newline: str) -> None:
    """A notes column of 3 MiB over many lines (quotes doubled inside, a CR LF across a block's end)
    is one skipped record: none of its lines becomes a deal, and the rows after it keep their lines."""
    notes = newline.join(f'call {j}, said ""yes"", next step: demo' for j in range(80_000))
    assert len(notes) > 2 * MAX_RECORD_CHARS
    rows = [f"{i},Deal {i},Acme," for i in range(10)]
    rows[3] = f'3,Deal 3,Acme,"{notes}"'
    rows[-1] = "oops,,Acme,"  # a bad row after it: its own line number
    text = "deal_id,deal_name,account_name,notes" + newline + newline.join(rows) + newline
    with _file("crm.csv", text.encode()) as path:
        errors: list[InputError] = []
        crm = read_crm_csv(path, on_error=errors.append)
        assert sorted(int(d.crm_id) for d in crm.deals) == [0, 1, 2, 4, 5, 6, 7, 8]
        assert {d.account_name for d in crm.deals} == {"Acme"}
        last = 5 + 80_000 - 1
        assert [e.path for e in errors] == [f"{path}:5", f"{path}:{last + 6}"]
        assert f"lines 5-{last} read as one quoted field" in errors[0].problem


def test_records_after_a_skipped_long_record_are_cut_as_csv_cuts_them() -> None:
    """The record boundaries after a long quoted field are csv's own, at the end of the text too."""
    long = '"' + "a,\nb" * MAX_RECORD_CHARS + '"'
    for tail in ("x,y\n", "x,y", '"p\nq",r\r\n', ""):
        text = f"h1,h2\n1,{long}\n2,z\n{tail}"
        got = list(records(io.StringIO(text, newline=""), ","))
        assert got[1] == (2, '1,"a,') and got[1][1].__class__.__name__ == "CutRecord"
        old = csv.field_size_limit(len(text))
        try:  # csv's own cut of the whole text, the long field included
            rest = list(csv.reader(io.StringIO(text, newline="")))[2:]
        finally:
            csv.field_size_limit(old)
        assert [next(csv.reader([r])) if r.strip() else [] for _, r in got[2:]] == rest
        assert got[2][0] == 2 + MAX_RECORD_CHARS + 1  # its line ends: one per "a,\\nb"


def test_a_quote_gone_astray_far_before_the_next_quote_costs_one_line() -> None:
    """An opening quote that a later field's quote would close (``"Deal 2`` ... ``,"Acme, Inc"``) is
    a quote gone astray, not a long field: one line is lost, not every row up to that field."""
    rows = [f"{i},Deal {i},Acme" for i in range(MAX_RECORD_CHARS // 10)]
    rows[2] = '2,"Deal 2,Acme'
    rows[-2] = f'{len(rows) - 2},Deal,"Acme, Inc"'
    text = "deal_id,deal_name,account_name\n" + "\n".join(rows) + "\n"
    with _file("crm.csv", text.encode()) as path:
        errors: list[InputError] = []
        crm = read_crm_csv(path, on_error=errors.append)
        assert len(crm.deals) == len(rows) - 1
        assert [e.path for e in errors] == [f"{path}:4"]


def test_from_a_stream_that_cannot_seek_a_long_record_costs_its_first_line() -> None:
    class Pipe(io.StringIO):
        def seekable(self) -> bool:
            return False

    long = '"' + "a\n" * MAX_RECORD_CHARS + '"'
    got = list(records(Pipe(f"h\n{long}\nz\n", newline=""), ","))
    assert got[1][1].__class__.__name__ == "CutRecord" and got[1][1].last is None  # type: ignore[attr-defined]
    assert got[2] == (3, "a\n")  # read on from its second line


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet='ab,"\n\r', max_size=200))
def test_records_start_where_csv_starts_them_until_a_line_is_cut(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With records over 8 characters followed to their end (a block of 16 at a time), every record
    starts on the line csv starts it on, up to a record cut at its first line (a quote gone astray)."""
    monkeypatch.setattr(crm_connector, "MAX_RECORD_CHARS", 8)
    monkeypatch.setattr(crm_connector, "MAX_SKIP_CHARS", 10**6)
    monkeypatch.setattr(crm_connector, "_BLOCK_BYTES", 16)
    got = list(records(io.StringIO(text, newline=""), ","))
    reader, starts = csv.reader(io.StringIO(text, newline="")), []
    try:
        while True:
            start = reader.line_num + 1
            next(reader)
            starts.append(start)
    except (StopIteration, csv.Error):
        pass
    for k, (line, record) in enumerate(got):
        if k >= len(starts):
            break
        assert line == starts[k]
        if isinstance(record, crm_connector.CutRecord) and record.last is None:
            break


def test_after_a_stray_quote_a_later_long_field_is_still_skipped_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only the text a record was followed over in vain is not followed again: a genuine notes field
    later in the same export is one skipped record, none of its lines a deal."""
    monkeypatch.setattr(crm_connector, "MAX_RECORD_CHARS", 200)
    monkeypatch.setattr(crm_connector, "_BLOCK_BYTES", 64)
    notes = "\n".join(f"n{j},Deal n{j},Junk" for j in range(100))
    rows = [f"{i},Deal {i},Acme" for i in range(60)]
    rows[2] = '2,"Deal 2,Acme'  # a stray quote ...
    rows[20] = '20,Deal 20,"Acme, Inc"'  # ... that this field's quote would close: one line lost
    rows[40] = f'40,"{notes}",Acme'  # a genuine long field, after it
    text = "deal_id,deal_name,account_name\n" + "\n".join(rows) + "\n"
    with _file("crm.csv", text.encode()) as path:
        errors: list[InputError] = []
        crm = read_crm_csv(path, on_error=errors.append)
        assert sorted(int(d.crm_id) for d in crm.deals) == [i for i in range(60) if i not in (2, 40)]
        assert [e.path for e in errors] == [f"{path}:4", f"{path}:42"]
        assert "lines 42-141 read as one quoted field" in errors[1].problem
