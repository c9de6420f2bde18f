"""The email connectors on real replies (talon), the BC3 mailbox and built bad input."""

from __future__ import annotations

import json
import mailbox
import re
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest

from connectors.email import EmlConnector, MboxConnector
from connectors.mail import mime
from connectors.mail.mime import extract_body, parse_bytes
from connectors.mail.quotes import split_reply
from followthrough.errors import InputError
from followthrough.limits import MAX_BODY_CHARS
from followthrough.types import SourceDocument
from tests.conftest import EVAL, require_shared

TALON = "email-replies-talon"
BC3 = EVAL / "bc3-dev.mbox"

TALON_TEXT = {
    "android.eml": "Hello",
    "aol.eml": "Hello",
    "apple_mail.eml": "Hello",
    "apple_mail_2.eml": "Hello",
    "comcast.eml": "Hello",
    "gmail.eml": "Hello",
    "hotmail.eml": "Hello",
    "iphone.eml": "Hello",
    "outlook.eml": "Hello",
    "sparrow.eml": "Hello",
    "thunderbird.eml": "Hello",
    "yahoo.eml": "Hello",
}


def _one(path: Path) -> SourceDocument:
    (doc,) = list(EmlConnector(path).documents())
    return doc


def _squash(s: str) -> str:
    return " ".join(s.split())


def _message(
    body: str = "Hi Dana,\n\nI'll send the SOC 2 report by Friday.\n",
    *,
    subject: str = "SOC 2",
    sender: str = "Marco Rossi <Marco@Northwind.io>",
    to: str = "Dana Lee <dana@acme.com>",
    msgid: str | None = "<soc2-1@northwind.io>",
    date: str | None = "Tue, 10 Mar 2026 15:00:00 -0500",
    **content: str,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    if msgid:
        msg["Message-ID"] = msgid
    if date:
        msg["Date"] = date
    msg.set_content(body, **content)  # type: ignore[arg-type]
    return msg


def _write(tmp_path: Path, name: str, msg: EmailMessage | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(msg if isinstance(msg, bytes) else msg.as_bytes())
    return path


def _mbox(tmp_path: Path, *chunks: bytes, name: str = "box.mbox") -> Path:
    path = tmp_path / name
    path.write_bytes(b"".join(chunks))
    return path


def _entry(msg: EmailMessage | bytes) -> bytes:
    data = msg if isinstance(msg, bytes) else msg.as_bytes()
    return b"From sender@example.com Tue Mar 10 20:00:00 2026\n" + data.rstrip(b"\n") + b"\n\n"


# --- real replies -----------------------------------------------------------


def test_every_talon_sample_ingests(samples: Path) -> None:
    files = sorted((samples / TALON).glob("*.eml"))
    assert len(files) == 13
    for path in files:
        assert EmlConnector.detect(path) and not MboxConnector.detect(path)
        doc = _one(path)
        assert doc.source == "email" and doc.origin == str(path)
        assert doc.occurred_at.tzinfo is not None
        assert doc.text and not any(line.startswith(">") for line in doc.text.splitlines())
        expected = TALON_TEXT.get(path.name)
        if expected is not None:
            assert doc.text == expected, path.name


@pytest.mark.parametrize("name", ["iphone", "sparrow"])
def test_talon_reply_text_matches(samples: Path, name: str) -> None:
    expected = (samples / TALON / f"{name}_reply_text").read_text(encoding="utf-8")
    eml = samples / TALON / f"{name}.eml"
    reply = split_reply(extract_body(parse_bytes(eml.read_bytes())).text).reply
    assert reply.strip() == expected.strip()
    doc = _one(eml)
    assert _squash(f"{doc.text}\n{doc.signature}") == _squash(expected)
    assert doc.signature and doc.text == "Hello"


def test_talon_files_that_are_not_mail_are_not_claimed(samples: Path) -> None:
    for name in ("iphone_reply_text", "sparrow_reply_text", "LICENSE", "COMMIT"):
        path = samples / TALON / name
        assert not EmlConnector.detect(path) and not MboxConnector.detect(path)


def test_talon_headers(samples: Path) -> None:
    doc = _one(samples / TALON / "apple_mail_2.eml")
    assert doc.external_id == "<68001B29-8EA4-444C-A894-0537D2CA5208@tictail.com>"
    assert doc.thread_id == "<CABzQGhkMXDxUt_tSVQcg=43aniUhtsVfCZVzu-PG0kwS_uzqMw@mail.gmail.com>"
    assert doc.title == "Re: Hello there"
    assert doc.occurred_at == datetime(2015, 8, 22, 17, 22, 20, tzinfo=UTC)
    assert [(p.name, p.email, p.role) for p in doc.participants] == [
        ("Adam Renberg", "adam@tictail.com", "sender"),
        ("Adam Renberg", "tgwizard@gmail.com", "recipient"),
    ]
    (seg,) = doc.segments
    assert (seg.speaker, seg.speaker_email, seg.text) == ("Adam Renberg", "adam@tictail.com", "Hello")
    assert "Hi there!" in doc.quoted_text and doc.url is None


def test_talon_html_and_base64_parts(samples: Path) -> None:
    android = _one(samples / TALON / "android.eml")  # base64 text/plain, Russian attribution over 2 lines
    assert android.text == "Hello" and "написал" in android.quoted_text
    share = _one(samples / TALON / "reply-quotations-share-block.eml")
    assert share.text.startswith("Hi Katharine.") and "Joe XXX" in share.text
    assert "New Booking Inquiry" not in share.text
    assert share.metadata["message_id_synthesized"] == "true"


# --- BC3 mailbox -------------------------------------------------------------


@pytest.fixture(scope="module")
def bc3_docs() -> list[SourceDocument]:
    return list(MboxConnector(require_shared(BC3)).documents())


def test_bc3_ingests_every_message_with_thread_roots(bc3_docs: list[SourceDocument]) -> None:
    assert MboxConnector.detect(BC3) and not EmlConnector.detect(BC3)
    assert len(bc3_docs) == 143
    assert len({d.external_id for d in bc3_docs}) == 143
    assert [d.origin for d in bc3_docs[:2]] == [f"{BC3}#1", f"{BC3}#2"]
    threads = {d.thread_id for d in bc3_docs}
    assert len(threads) == 21
    for d in bc3_docs:
        m = re.fullmatch(r"<bc3\.([\w-]+)\.\d+@bc3\.invalid>", d.external_id)
        assert m is not None
        assert d.thread_id == f"<bc3.{m.group(1)}.1@bc3.invalid>"
        assert d.occurred_at.tzinfo is not None and d.metadata["date_source"] == "header"


def test_bc3_quotes_go_to_quoted_text(bc3_docs: list[SourceDocument]) -> None:
    # every message whose body has "> " lines (read here with the stdlib mailbox) has quoted text
    with_quotes = set()
    box = mailbox.mbox(BC3, create=False)
    try:
        for msg in box:
            body = msg.get_payload(decode=True).decode("utf-8")
            if any(line.startswith(">") for line in body.splitlines()):
                with_quotes.add(msg["Message-ID"])
    finally:
        box.close()
    assert len(with_quotes) > 90
    assert {d.external_id for d in bc3_docs if d.quoted_text} >= with_quotes
    for d in bc3_docs:
        assert not any(line.lstrip().startswith(">") for line in d.text.splitlines()), d.origin
    first, reply = bc3_docs[0], bc3_docs[1]
    assert reply.text == "Where in Germany?"
    assert "advanced planning for a F2F" in reply.quoted_text
    assert first.text.endswith("Offers gratefully accepted.")
    assert first.signature.startswith("Cheers,") and "500 Oracle Parkway" in first.signature


def test_bc3_gold_sentences_stay_in_the_new_text(bc3_docs: list[SourceDocument]) -> None:
    by_id = {d.external_id: d for d in bc3_docs}
    gold = [
        json.loads(line) for line in (EVAL / "bc3-dev.gold.jsonl").read_text().splitlines() if line.strip()
    ]
    checked = 0
    for row in gold:
        doc = by_id[row["message_id"]]
        sentence = _squash(row["text"].lstrip("> "))
        if row["quoted"]:
            assert sentence not in _squash(doc.text), row
        elif len(sentence.split()) >= 3:
            assert sentence in _squash(doc.text), row
            checked += 1
    assert checked > 100


# --- MIME --------------------------------------------------------------------


def test_html_only_body_becomes_text(tmp_path: Path) -> None:
    html = (
        "<html><body><p>Hi Dana,</p><p>I&#39;ll send the revised pricing by <b>Friday</b>.</p>"
        '<div class="gmail_quote">On Mon, Mar 9, 2026 at 9:00 AM Dana Lee &lt;dana@acme.com&gt; wrote:'
        "<blockquote>Can you send the revised pricing?</blockquote></div></body></html>"
    )
    doc = _one(_write(tmp_path, "html.eml", _message(html, subtype="html")))
    assert doc.text == "Hi Dana,\n\nI'll send the revised pricing by Friday."
    assert "Can you send" in doc.quoted_text
    assert doc.metadata["content_type"] == "text/html"


def test_alternative_prefers_plain_and_notes_attachments(tmp_path: Path) -> None:
    msg = _message("Plain version of the news.\n")
    msg.add_alternative("<p>HTML version of the news.</p>", subtype="html")
    msg.add_attachment(b"%PDF-1.4 fake", maintype="application", subtype="pdf", filename="quote.pdf")
    doc = _one(_write(tmp_path, "alt.eml", msg))
    assert doc.text == "Plain version of the news."
    assert doc.metadata["attachments"] == "quote.pdf" and doc.metadata["attachment_count"] == "1"


def test_body_split_around_an_inline_image_keeps_both_halves(tmp_path: Path) -> None:
    msg = _message("Here is the dashboard:\n")
    msg.make_mixed()
    msg.attach(_part("image/png", b"\x89PNG fake", filename="dashboard.png", disposition="inline"))
    msg.attach(_part("text/plain", "I'll send the full export by Friday.\n"))
    log = _part("text/plain", "debug line\n" * 3, filename="debug.log", disposition="inline")
    msg.attach(log)
    forwarded = EmailMessage()
    forwarded["Subject"] = "old thread"
    forwarded.set_content("Older conversation.\n")
    msg.attach(_part("message/rfc822", forwarded))
    doc = _one(_write(tmp_path, "split.eml", msg))
    assert doc.text == "Here is the dashboard:\n\nI'll send the full export by Friday."
    assert doc.metadata["attachments"] == "dashboard.png, debug.log, message/rfc822"


def test_empty_plain_alternative_falls_back_to_html(tmp_path: Path) -> None:
    msg = _message(" \n")
    msg.add_alternative("<p>The real text is in the HTML part.</p>", subtype="html")
    doc = _one(_write(tmp_path, "empty-plain.eml", msg))
    assert doc.text == "The real text is in the HTML part." and doc.metadata["content_type"] == "text/html"


def _part(ctype: str, content: object, **params: str) -> EmailMessage:
    part = EmailMessage()
    maintype, subtype = ctype.split("/")
    if maintype == "text":
        part.set_content(content, subtype=subtype, **params)  # type: ignore[arg-type]
    elif maintype == "message":
        part.set_content(content)  # type: ignore[arg-type]
    else:
        part.set_content(content, maintype=maintype, subtype=subtype, **params)  # type: ignore[arg-type]
    return part


@pytest.mark.parametrize("cte", ["quoted-printable", "base64", "8bit"])
@pytest.mark.parametrize("charset", ["utf-8", "latin-1"])
def test_transfer_encodings_and_charsets(tmp_path: Path, cte: str, charset: str) -> None:
    body = "Grüße aus Köln — café at 10:00?\nI'll send the naïve résumé by Friday.\n"
    if charset == "latin-1":
        body = body.replace("—", "-")
    doc = _one(_write(tmp_path, "enc.eml", _message(body, charset=charset, cte=cte)))
    assert doc.text == body.strip()


def _raw(charset: str, payload: bytes, cte: str = "8bit") -> bytes:
    return (
        b"From: Dana Lee <dana@acme.com>\nTo: marco@northwind.io\nSubject: =?utf-8?q?Pr=C3=BCfung?=\n"
        b"Message-ID: <raw@acme.com>\nDate: Tue, 10 Mar 2026 09:00:00 +0100\nMIME-Version: 1.0\n"
        b"Content-Type: text/plain; charset=" + charset.encode() + b"\n"
        b"Content-Transfer-Encoding: " + cte.encode() + b"\n\n" + payload
    )


def test_wrong_and_unknown_charsets_never_crash(tmp_path: Path) -> None:
    french = "Bonjour, nous enverrons le contrat révisé vendredi. Merci de vérifier les données."
    unknown = _one(_write(tmp_path, "unknown.eml", _raw("x-no-such-charset", french.encode("utf-8"))))
    assert unknown.text == french and unknown.title == "Prüfung"
    assert unknown.metadata["charset_fallback"] == "utf-8"
    wrong = _one(_write(tmp_path, "wrong.eml", _raw("us-ascii", french.encode("cp1252"))))
    assert "contrat r" in wrong.text and "vendredi" in wrong.text and "charset_fallback" in wrong.metadata
    broken_b64 = _one(
        _write(tmp_path, "b64.eml", _raw("utf-8", b"SGVsbG8gRGFuYSwgSSdsbCBzZW5kIGl0!!!", "base64"))
    )
    assert broken_b64.text


def test_participants_and_non_ascii_offsets(tmp_path: Path) -> None:
    body = "Zoë here 👋 — I’ll send the naïve résumé to 田中 by Friday.\n\n-- \nZoë Ångström\n"
    msg = _message(
        body,
        sender="=?utf-8?q?Zo=C3=AB_=C3=85ngstr=C3=B6m?= <Zoe@Acme.COM>",
        to='"Lee, Dana" <DANA@acme.com>, marco@northwind.io',
    )
    msg["Cc"] = "Priya Shah <priya@northwind.io>"
    doc = _one(_write(tmp_path, "zoe.eml", msg))
    assert [(p.name, p.email, p.role) for p in doc.participants] == [
        ("Zoë Ångström", "zoe@acme.com", "sender"),
        ("Lee, Dana", "dana@acme.com", "recipient"),
        (None, "marco@northwind.io", "recipient"),
        ("Priya Shah", "priya@northwind.io", "cc"),
    ]
    assert doc.text == "Zoë here 👋 — I’ll send the naïve résumé to 田中 by Friday."
    assert doc.signature == "-- \nZoë Ångström"
    (seg,) = doc.segments
    assert doc.text[seg.char_start : seg.char_end] == seg.text == doc.text
    assert (seg.speaker, seg.speaker_email) == ("Zoë Ångström", "zoe@acme.com")
    start = doc.text.index("naïve")
    assert doc.text[start : start + len("naïve résumé")] == "naïve résumé"


def test_crlf_becomes_lf(tmp_path: Path) -> None:
    headers, _ = _raw("utf-8", b"").split(b"\n\n", 1)
    raw = headers.replace(b"\n", b"\r\n") + b"\r\n\r\nLine one.\r\nLine two.\r\n"
    doc = _one(_write(tmp_path, "crlf.eml", raw))
    assert doc.text == "Line one.\nLine two." and "\r" not in doc.text


def test_missing_message_id_and_dates(tmp_path: Path) -> None:
    path = _write(tmp_path, "noid.eml", _message(msgid=None, date=None))
    first, again = _one(path), _one(path)
    assert first.external_id == again.external_id
    assert re.fullmatch(r"<[0-9a-f]{24}@followthrough\.invalid>", first.external_id)
    assert first.thread_id == first.external_id
    assert first.metadata["message_id_synthesized"] == "true"
    assert first.metadata["date_source"] == "file_mtime" and first.occurred_at.tzinfo is not None
    bad_date = _one(_write(tmp_path, "baddate.eml", _message(date="not a date at all")))
    assert bad_date.metadata["date_source"] == "file_mtime"
    naive = _one(_write(tmp_path, "naive.eml", _message(date="Tue, 10 Mar 2026 15:00:00 -0000")))
    assert naive.occurred_at == datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


def test_date_fallbacks_received_and_from_line(tmp_path: Path) -> None:
    msg = _message(date=None)
    msg["Received"] = "from mx.acme.com by mx.northwind.io; Wed, 11 Mar 2026 08:30:00 +0100"
    doc = _one(_write(tmp_path, "received.eml", msg))
    assert doc.metadata["date_source"] == "received"
    assert doc.occurred_at == datetime(2026, 3, 11, 7, 30, tzinfo=UTC)
    gmail = b"From 1627@xxx Sat Feb 17 08:05:21 +0000 2024\n" + _message(date=None).as_bytes() + b"\n"
    path = _mbox(tmp_path, _entry(_message(date="garbage")), gmail)
    first, second = MboxConnector(path).documents()
    assert (first.metadata["date_source"], first.occurred_at) == (
        "mbox_from_line",
        datetime(2026, 3, 10, 20, 0, tzinfo=UTC),
    )
    assert second.occurred_at == datetime(2024, 2, 17, 8, 5, 21, tzinfo=UTC)


def test_single_eml_thread_id_from_references(tmp_path: Path) -> None:
    msg = _message()
    msg["In-Reply-To"] = "<parent@acme.com>"
    msg["References"] = "<root@acme.com> <parent@acme.com>"
    doc = _one(_write(tmp_path, "reply.eml", msg))
    assert doc.thread_id == "<root@acme.com>" and doc.metadata["in_reply_to"] == "<parent@acme.com>"
    only_parent = _message()
    only_parent["In-Reply-To"] = "<parent@acme.com>"
    assert _one(_write(tmp_path, "reply2.eml", only_parent)).thread_id == "<parent@acme.com>"


def test_huge_body_is_truncated_not_fatal(tmp_path: Path) -> None:
    body = ("I will send the report. " * 40 + "\n") * 1200  # ~1.15 M characters
    doc = _one(_write(tmp_path, "huge.eml", _message(body)))
    assert doc.metadata["truncated"] == "true"
    assert len(doc.text) <= MAX_BODY_CHARS


# --- bad input ---------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10" + bytes(range(256)) * 4,
        bytes((i * 7919) % 256 for i in range(4096)),
    ],
    ids=["png", "random"],
)
def test_binary_eml_is_one_clear_error(tmp_path: Path, content: bytes) -> None:
    path = _write(tmp_path, "photo.eml", content)
    assert EmlConnector.detect(path)
    with pytest.raises(InputError) as err:
        list(EmlConnector(path).documents())
    assert err.value.path == str(path)
    assert err.value.problem == "not an email message (binary content)"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "empty file"),
        (b"  \n\n", "empty file"),
        (b"just some words, no headers\n", "not an email message (no headers found)"),
        (b"From: a@b.c\nSubject: hi\nMessage-ID: <x@b.c>\n", "message has no body"),
        (b"From: a@b.c\nSubject: hi\n\n   \n", "message has no body"),
    ],
    ids=["empty", "blank", "text", "headers-only", "blank-body"],
)
def test_unreadable_eml(tmp_path: Path, content: bytes, problem: str) -> None:
    path = _write(tmp_path, "bad.eml", content)
    with pytest.raises(InputError) as err:
        list(EmlConnector(path).documents())
    assert err.value.problem == problem and str(err.value) == f"{path}: {problem}"


def test_attachment_only_message(tmp_path: Path) -> None:
    msg = EmailMessage()
    msg["From"] = "dana@acme.com"
    msg["Subject"] = "scan"
    msg.add_attachment(b"%PDF", maintype="application", subtype="pdf", filename="scan.pdf")
    with pytest.raises(InputError, match=r"no text body \(only attachments: scan.pdf\)"):
        list(EmlConnector(_write(tmp_path, "scan.eml", msg)).documents())


def test_corrupt_mbox_messages_are_reported_and_the_rest_survive(tmp_path: Path) -> None:
    path = _mbox(
        tmp_path,
        _entry(_message(msgid="<a@x>")),
        _entry(b"\x00\x01\x02garbage\xff\xfe" * 20),
        _entry(b"this is not an email at all\njust text\n"),
        _entry(_message("Second good one.\n", msgid="<b@x>")),
        _entry(b"From: cut@x\nSubject: truncated\nMessage-ID: <c@x>\nTo: someone"),
    )
    errors: list[InputError] = []
    docs = list(MboxConnector(path, on_error=errors.append).documents())
    assert [d.external_id for d in docs] == ["<a@x>", "<b@x>"]
    assert [d.origin for d in docs] == [f"{path}#1", f"{path}#4"]
    assert [(e.path, e.problem) for e in errors] == [
        (f"{path}#2", "not an email message (binary content)"),
        (f"{path}#3", "not an email message (no headers found)"),
        (f"{path}#5", "message has no body"),
    ]


def test_corrupt_mbox_stops_by_default(tmp_path: Path) -> None:
    path = _mbox(tmp_path, _entry(b"garbage only\n"), _entry(_message()))
    with pytest.raises(InputError, match="#1: not an email message"):
        list(MboxConnector(path).documents())


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "empty file"),
        (
            b"garbage that is not a mailbox\nat all\n",
            "not an mbox file (it does not start with a 'From ' line)",
        ),
        (b"\x00\x01binary" * 100, "not an email message (binary content)"),
    ],
)
def test_unreadable_mbox(tmp_path: Path, content: bytes, problem: str) -> None:
    path = _mbox(tmp_path, content)
    with pytest.raises(InputError) as err:
        list(MboxConnector(path).documents())
    assert (err.value.path, err.value.problem) == (str(path), problem)


def test_mbox_threads_across_the_file_and_unescapes_from(tmp_path: Path) -> None:
    root = _message("Can you send the SOC 2 report?\n", msgid="<root@acme.com>")
    child = _message("From now on I'll own it.\n>From the team: yes.\n", msgid="<child@x>")
    child["In-Reply-To"] = "<root@acme.com>"
    grandchild = _message("Thanks!\n", msgid="<grandchild@acme.com>")
    grandchild["In-Reply-To"] = "<child@x>"  # no References: the root is found through the mailbox
    orphan = _message("New topic.\n", msgid=None)
    raw_child = child.as_bytes().replace(b"\n>From the team", b"\n>>From the team")
    path = _mbox(tmp_path, _entry(root), _entry(raw_child), _entry(grandchild), _entry(orphan))
    docs = list(MboxConnector(path).documents())
    assert [d.thread_id for d in docs[:3]] == ["<root@acme.com>"] * 3
    assert docs[3].thread_id == docs[3].external_id and docs[3].metadata["message_id_synthesized"] == "true"
    assert docs[1].text.startswith("From now on I'll own it.")
    assert docs[1].quoted_text == ">From the team: yes."


def test_unescaped_from_lines_in_bodies_do_not_split(tmp_path: Path) -> None:
    body = b"Agenda below.\n\nFrom 9:00 to 10:00 we have the demo.\n\nFrom the team\n"
    raw = _message(msgid="<agenda@x>").as_bytes().split(b"\n\n", 1)[0] + b"\n\n" + body
    path = _mbox(tmp_path, _entry(raw), _entry(_message(msgid="<next@x>")))
    docs = list(MboxConnector(path).documents())
    assert [d.external_id for d in docs] == ["<agenda@x>", "<next@x>"]
    assert "From 9:00 to 10:00 we have the demo." in docs[0].text


def test_mbox_without_suffix_is_detected(tmp_path: Path) -> None:
    path = _mbox(tmp_path, _entry(_message()), name="Inbox")
    assert MboxConnector.detect(path) and not EmlConnector.detect(path)
    maildir_file = _write(tmp_path, "1700000000.M1P2.host:2,S", _message())
    assert EmlConnector.detect(maildir_file) and not MboxConnector.detect(maildir_file)
    notes = tmp_path / "notes.md"
    notes.write_text("From the desk of Marco\nDate: 2026-03-10\n")
    assert not EmlConnector.detect(notes) and not MboxConnector.detect(notes)
    text = tmp_path / "plain"
    text.write_text("Date: 2026-03-10\nAttendees: Marco\n\nnotes\n")
    assert not EmlConnector.detect(text)


def test_mbox_written_by_the_stdlib(tmp_path: Path) -> None:
    path = tmp_path / "std.mbox"
    box = mailbox.mbox(path)
    for i in range(5):
        box.add(_message(f"Message {i}.\n\nFrom the start, this line begins with From.\n", msgid=f"<m{i}@x>"))
    box.flush()
    box.close()
    docs = list(MboxConnector(path).documents())
    assert [d.external_id for d in docs] == [f"<m{i}@x>" for i in range(5)]
    assert all("From the start" in d.text for d in docs)


def test_mbox_streams_many_messages(tmp_path: Path) -> None:
    template = _entry(_message("Reply.\n\nOn Mon, 9 Mar 2026, Dana wrote:\n> earlier\n", msgid="<n@x>"))
    path = _mbox(tmp_path, *(template.replace(b"<n@x>", f"<n{i}@x>".encode()) for i in range(2000)))
    count = 0
    for doc in MboxConnector(path).documents():
        assert doc.external_id == f"<n{count}@x>" and doc.text == "Reply."
        assert doc.quoted_text.endswith("> earlier")
        count += 1
    assert count == 2000


def test_address_headers_read_alike_short_repeated_and_long() -> None:
    """A short address header is parsed once per process and reused; a long one each time. Both
    give the same mailboxes, each call its own list."""
    short = (
        b"From: =?utf-8?q?Ren=C3=A9e?= <Renee@X.org>\r\n"
        b'To: a@b.org, "c@d.org" <c@d.org>, undisclosed:;\r\n\r\nx'
    )
    many = ", ".join(f"Person {i} <p{i}@big.example>" for i in range(200))
    long = f"From: ann@x.org\r\nTo: {many}\r\n\r\nx".encode()
    first = mime.addresses(parse_bytes(short), "from")
    again = mime.addresses(parse_bytes(short), "FROM")
    assert first == again == [("Renée", "renee@x.org")]
    first.append((None, "changed@x.org"))  # a caller's list is its own
    assert mime.addresses(parse_bytes(short), "from") == [("Renée", "renee@x.org")]
    assert mime.addresses(parse_bytes(short), "to") == [(None, "a@b.org"), (None, "c@d.org")]
    before = mime._mailboxes_cached.cache_info().currsize
    to = mime.addresses(parse_bytes(long), "to")
    assert len(many) > mime._CACHED_ADDRESS_CHARS
    assert to[0] == ("Person 0", "p0@big.example") and to[-1] == ("Person 199", "p199@big.example")
    assert len(to) == 200
    assert mime._mailboxes_cached.cache_info().currsize == before
