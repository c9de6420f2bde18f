"""Issue 9: wrong-but-decodable charsets and mbox boundaries decided by one line."""

from __future__ import annotations

import mailbox
from email.message import EmailMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path

import pytest

from connectors.email import EmlConnector, MboxConnector
from connectors.mail.mime import decode_text, repair_mojibake
from followthrough.types import SourceDocument

PRICING = "I’ll send the pricing by Friday — café"


def _raw(charset: str | None, payload: bytes, *, subtype: str = "plain", cte: str = "8bit") -> bytes:
    ctype = f"text/{subtype}" + (f"; charset={charset}" if charset else "")
    return (
        b"From: Dana Lee <dana@acme.com>\nTo: marco@northwind.io\nSubject: Pricing\n"
        b"Message-ID: <pricing@acme.com>\nDate: Tue, 10 Mar 2026 09:00:00 +0100\nMIME-Version: 1.0\n"
        b"Content-Type: "
        + ctype.encode()
        + b"\nContent-Transfer-Encoding: "
        + cte.encode()
        + b"\n\n"
        + payload
    )


def _eml(tmp_path: Path, data: bytes | EmailMessage | MIMEMultipart, name: str = "m.eml") -> SourceDocument:
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.as_bytes())
    docs = list(EmlConnector(path).documents())
    assert len(docs) == 1
    return docs[0]


# --- 1. a declared single-byte charset that is wrong -----------------------------


@pytest.mark.parametrize(
    "charset", ["windows-1252", "iso-8859-1", "latin-1", "iso-8859-15", "cp1252", "us-ascii", "koi8-r"]
)
@pytest.mark.parametrize("cte", ["8bit", "quoted-printable", "base64"])
def test_utf8_body_labelled_single_byte_decodes_as_utf8(tmp_path: Path, charset: str, cte: str) -> None:
    msg = EmailMessage()
    msg["From"] = "Dana Lee <dana@acme.com>"
    msg["To"] = "marco@northwind.io"
    msg["Subject"] = "Pricing"
    msg["Message-ID"] = "<pricing@acme.com>"
    msg.set_content(PRICING + "\n", charset="utf-8", cte=cte)
    data = msg.as_bytes().replace(b'charset="utf-8"', f'charset="{charset}"'.encode())
    assert f'charset="{charset}"'.encode() in data
    doc = _eml(tmp_path, data)
    assert doc.text == PRICING
    assert doc.metadata["charset"] == charset
    assert doc.metadata["charset_fallback"] == "utf-8"


def test_utf8_body_without_charset_decodes_as_utf8(tmp_path: Path) -> None:
    doc = _eml(tmp_path, _raw(None, PRICING.encode("utf-8")))
    assert doc.text == PRICING


def test_utf8_html_labelled_windows_1252(tmp_path: Path) -> None:
    html = f"<html><body><p>{PRICING}</p></body></html>".encode()
    doc = _eml(tmp_path, _raw("windows-1252", html, subtype="html"))
    assert doc.text == PRICING and doc.metadata["charset_fallback"] == "utf-8"


def test_utf8_part_of_multipart_labelled_windows_1252(tmp_path: Path) -> None:
    outer = MIMEMultipart("alternative")
    outer["From"] = "dana@acme.com"
    outer["To"] = "marco@northwind.io"
    outer["Subject"] = "Pricing"
    outer["Message-ID"] = "<multi@acme.com>"
    part = MIMEText(PRICING, "plain", "utf-8")
    outer.attach(part)
    data = outer.as_bytes().replace(b'charset="utf-8"', b'charset="windows-1252"')
    doc = _eml(tmp_path, data)
    assert doc.text == PRICING and doc.metadata["charset_fallback"] == "utf-8"


@pytest.mark.parametrize("charset", ["windows-1252", "cp1252"])
def test_real_windows_1252_body_still_decodes_as_windows_1252(tmp_path: Path, charset: str) -> None:
    payload = b"Le caf\xe9\x92 est pr\xeat \x97 merci"  # 0xE9 é, 0x92 ’, 0xEA ê, 0x97 —
    doc = _eml(tmp_path, _raw(charset, payload))
    assert doc.text == "Le café’ est prêt — merci"
    assert "charset_fallback" not in doc.metadata and "mojibake_repaired" not in doc.metadata


def test_real_latin1_body_still_decodes_as_latin1(tmp_path: Path) -> None:
    doc = _eml(tmp_path, _raw("iso-8859-1", "Grüße aus Köln, café à 10h".encode("latin-1")))
    assert doc.text == "Grüße aus Köln, café à 10h" and "charset_fallback" not in doc.metadata


def test_real_single_byte_cyrillic_is_kept(tmp_path: Path) -> None:
    text = "Привет, пришлю договор в пятницу"
    assert _eml(tmp_path, _raw("koi8-r", text.encode("koi8-r")), "k.eml").text == text
    assert _eml(tmp_path, _raw("windows-1251", text.encode("cp1251")), "w.eml").text == text


def test_mojibake_already_in_the_text_is_repaired(tmp_path: Path) -> None:
    # UTF-8 once decoded as windows-1252 and stored again as UTF-8 (double encoding).
    mojibake = PRICING.encode("utf-8").decode("cp1252")
    assert mojibake == "Iâ€™ll send the pricing by Friday â€” cafÃ©"
    doc = _eml(tmp_path, _raw("utf-8", mojibake.encode("utf-8")))
    assert doc.text == PRICING and doc.metadata["mojibake_repaired"] == "true"


def test_mixed_body_utf8_run_inside_windows_1252_is_repaired(tmp_path: Path) -> None:
    payload = "Prix: 10€ — ".encode("cp1252") + "I’ll send it — café".encode()
    doc = _eml(tmp_path, _raw("windows-1252", payload))
    assert doc.text == "Prix: 10€ — I’ll send it — café"


@pytest.mark.parametrize(
    "text",
    ["café naïve résumé", "„Gruß“ aus Köln", "voilà\xa0» merci", "CAFÉ… fermé", "SÃO PAULO", "Ñandú"],
)
def test_genuine_accented_text_is_not_repaired(text: str) -> None:
    assert repair_mojibake(text) == (text, False)


@pytest.mark.parametrize(
    "text",
    [PRICING, "Zażółć gęślą jaźń", "😀 Привет", "€5 ™", "Ελληνικά", "Romanian ș ț", "Việt ơ ư"],
)
def test_every_mojibake_of_common_text_is_repaired(text: str) -> None:
    for charset in ("cp1252", "latin-1"):
        try:
            broken = text.encode("utf-8").decode(charset)
        except UnicodeDecodeError:
            continue  # cp1252 leaves five bytes undefined; latin-1 covers those
        assert repair_mojibake(broken) == (text, True)


@pytest.mark.parametrize("charset", ["windows-1252", "iso-8859-1", "iso-8859-2", "mac-roman", "us-ascii"])
def test_decode_text_prefers_utf8_for_single_byte_labels(charset: str) -> None:
    assert decode_text(PRICING.encode(), charset) == (PRICING, "utf-8")
    assert decode_text(b"plain ascii", charset) == ("plain ascii", None)


def test_decode_text_keeps_multi_byte_labels() -> None:
    assert decode_text("日本語".encode("shift_jis"), "shift_jis") == ("日本語", None)
    assert decode_text(PRICING.encode(), "utf-8") == (PRICING, None)


def test_mojibake_subject_is_repaired(tmp_path: Path) -> None:
    data = _raw("utf-8", b"Body.").replace(b"Subject: Pricing", b"Subject: " + "Iâ€™ll send".encode())
    assert _eml(tmp_path, data).title == "I’ll send"


# --- 2. mbox boundaries are decided by the lines around "From " ---------------------


def _message(body: str, msgid: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Dana Lee <dana@acme.com>"
    msg["To"] = "marco@northwind.io"
    msg["Subject"] = "Launch"
    msg["Message-ID"] = msgid
    msg["Date"] = "Tue, 10 Mar 2026 09:00:00 +0100"
    msg.set_content(body)
    return msg.as_bytes()


def _entry(data: bytes, from_line: bytes = b"From dana@acme.com Tue Mar 10 09:00:00 2026") -> bytes:
    return from_line + b"\n" + data.rstrip(b"\n") + b"\n\n"


def _mbox_docs(tmp_path: Path, *chunks: bytes) -> list[SourceDocument]:
    path = tmp_path / "box.mbox"
    path.write_bytes(b"".join(chunks))
    return list(MboxConnector(path).documents())


BODY_FROM_LINES = [
    "From the team at 10:30 on Mar 3 we will ship",
    "From the team on Mar 3 at 10:30 we will ship",
    "From Monday Mar 3 at 10:30 we ship the build",
    "From dana Tue Mar 3 10:30 we ship",
    "From 9:00 to 10:00 on Mar 3 we have the demo",
    "From the team",
]


@pytest.mark.parametrize("line", BODY_FROM_LINES)
@pytest.mark.parametrize("after_blank", [True, False])
@pytest.mark.parametrize("next_line", ["we will send the notes after.", "Note: bring laptops.", ""])
def test_body_from_lines_do_not_split(tmp_path: Path, line: str, after_blank: bool, next_line: str) -> None:
    body = "Plan below.\n" + ("\n" if after_blank else "") + line + "\n" + next_line + "\n\nThanks, Dana\n"
    docs = _mbox_docs(
        tmp_path, _entry(_message(body, "<plan@acme.com>")), _entry(_message("Next.\n", "<n@x>"))
    )
    assert [d.external_id for d in docs] == ["<plan@acme.com>", "<n@x>"]
    assert line in docs[0].text and "Thanks, Dana" in (docs[0].text + docs[0].signature)
    if next_line:
        assert next_line in docs[0].text


def test_the_issue_sample_yields_two_messages_with_the_full_first_body(tmp_path: Path) -> None:
    body = "Hi Marco,\n\nFrom the team at 10:30 on Mar 3 we will ship the release.\nI’ll send the notes.\n"
    docs = _mbox_docs(tmp_path, _entry(_message(body, "<a@x>")), _entry(_message("Second.\n", "<b@x>")))
    assert len(docs) == 2
    assert docs[0].text == body.strip()
    assert docs[1].text == "Second."


@pytest.mark.parametrize(
    "from_line",
    [
        b"From dana@acme.com Tue Mar 10 09:00:00 2026",
        b"From 1627@xxx Sat Feb 17 08:05:21 +0000 2024",
        b"From - Sat Mar 01 12:00:00 2008",
        b"From MAILER-DAEMON  Sun Nov  2 13:15:17 2026",
        b"From dana@acme.com",  # no date: the header block decides
        b"From dana@acme.com some tool wrote this",
    ],
)
def test_real_separators_split(tmp_path: Path, from_line: bytes) -> None:
    docs = _mbox_docs(
        tmp_path,
        _entry(_message("First.\n", "<a@x>"), from_line),
        _entry(_message("Second.\n", "<b@x>"), from_line),
        _entry(_message("Third.\n", "<c@x>"), from_line),
    )
    assert [(d.external_id, d.text) for d in docs] == [
        ("<a@x>", "First."),
        ("<b@x>", "Second."),
        ("<c@x>", "Third."),
    ]


def test_separator_with_folded_leading_header_and_crlf(tmp_path: Path) -> None:
    second = b"X-Spam-Report: long\r\n  folded value\r\nMessage-ID: <b@x>\r\nFrom: b@x\r\n\r\nSecond.\r\n"
    first = _message("First.\n", "<a@x>").replace(b"\n", b"\r\n")
    data = b"From a@x\r\n" + first.rstrip(b"\r\n") + b"\r\n\r\nFrom b@x\r\n" + second
    docs = _mbox_docs(tmp_path, data)
    assert [(d.external_id, d.text) for d in docs] == [("<a@x>", "First."), ("<b@x>", "Second.")]


def test_escaped_from_is_still_unescaped(tmp_path: Path) -> None:
    body = "Plan.\n\n>From the team on Mar 3 at 10:30 we ship.\n"
    raw = _message(body, "<a@x>").replace(b"\n>From the team", b"\n>>From the team")
    docs = _mbox_docs(tmp_path, _entry(raw), _entry(_message("Second.\n", "<b@x>")))
    assert len(docs) == 2 and docs[0].quoted_text == ">From the team on Mar 3 at 10:30 we ship."


def test_stdlib_mailbox_agrees(tmp_path: Path) -> None:
    path = tmp_path / "std.mbox"
    box = mailbox.mbox(path)
    bodies = [f"Message {i}.\n\n" + "\n".join(BODY_FROM_LINES) + "\n" for i in range(4)]
    for i, body in enumerate(bodies):
        box.add(_message(body, f"<m{i}@x>"))
    box.flush()
    box.close()
    docs = list(MboxConnector(path).documents())
    assert [d.external_id for d in docs] == [f"<m{i}@x>" for i in range(4)]
    assert [d.text for d in docs] == [b.strip() for b in bodies]
