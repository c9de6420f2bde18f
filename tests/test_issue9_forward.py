"""Issue 9: a customer's mail forwarded as a message/rfc822 attachment is read as its own document."""

from __future__ import annotations

import json
import mailbox
from email.message import EmailMessage
from pathlib import Path

from connectors.email import EmlConnector, MboxConnector
from followthrough.types import SourceDocument
from tests.clirunner import followthrough

CASE = Path("/work/shared/regressions/forward-as-attachment-rfc822")
REQUEST = "Can you confirm the SSO setup for our 40 users by Thursday?"


def test_regression_forward_reaches_the_store(tmp_path: Path) -> None:
    assert CASE.is_dir(), f"regression input missing: {CASE}"
    expected = (CASE / "expected.txt").read_text()
    assert REQUEST in expected and "2026-03-12" in expected
    assert "Dana (internal)" in expected and b"dana@northwind.example" in (CASE / "input.eml").read_bytes()
    db = tmp_path / "fwd.db"
    env = {"FOLLOWTHROUGH_COMPANY_DOMAINS": "northwind.example"}
    run = followthrough("-q", "--as-of", "2026-03-09", "run", CASE, "--json", db=db, env=env)
    assert run.returncode == 0, run.stderr
    out = followthrough("-q", "export", "--format", "jsonl", db=db, env=env)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    hits = [r for r in rows if REQUEST in r["evidence"]]
    assert hits, rows
    row = hits[0]
    assert row["message_id"] == "<case10-inner@globex.example>"
    assert row["counterparty_email"] == "priya@globex.example"
    assert row["due"] == "2026-03-12"


def test_regression_documents_are_linked() -> None:
    docs = list(EmlConnector(CASE / "input.eml").documents())
    assert [d.external_id for d in docs] == [
        "<case10-outer@northwind.example>",
        "<case10-inner@globex.example>",
    ]
    outer, inner = docs
    assert outer.text == "Marco, forwarding Priya's message (attached)."
    assert outer.metadata["forwarded_messages"] == "<case10-inner@globex.example>"
    assert inner.metadata["forwarded_in"] == "<case10-outer@northwind.example>"
    assert inner.sender is not None and inner.sender.email == "priya@globex.example"
    assert inner.title == "SSO rollout"
    assert inner.occurred_at.isoformat() == "2026-03-09T08:30:00+00:00"
    assert REQUEST in inner.text


def _mail(sender: str, subject: str, text: str, msgid: str | None, charset: str = "utf-8") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "Dana <dana@northwind.example>"
    msg["Subject"] = subject
    msg["Date"] = "Mon, 09 Mar 2026 08:30:00 +0000"
    if msgid:
        msg["Message-ID"] = msgid
    msg.set_content(text, charset=charset)
    return msg


def _forward(inner: EmailMessage, msgid: str, cover: str = "FYI, see attached.\n") -> EmailMessage:
    outer = _mail("Dana <dana@northwind.example>", "Fwd: " + str(inner["Subject"]), cover, msgid)
    outer.add_attachment(inner)  # message/rfc822
    return outer


def _eml(tmp_path: Path, msg: EmailMessage) -> list[SourceDocument]:
    path = tmp_path / "f.eml"
    path.write_bytes(msg.as_bytes())
    return list(EmlConnector(path).documents())


BODY = (
    "Hi Dana,\n\nCan you send the contract by Friday?\n\n"
    "> On Monday you wrote:\n> old words\n\n-- \nPriya\nGlobex\n"
)


def test_forwarded_message_is_split_like_any_message(tmp_path: Path) -> None:
    inner = _mail("Priya <priya@globex.example>", "Contract", BODY, "<c1@globex.example>")
    docs = _eml(tmp_path, _forward(inner, "<f1@northwind.example>"))
    assert len(docs) == 2
    doc = docs[1]
    assert doc.text == "Hi Dana,\n\nCan you send the contract by Friday?"
    assert "old words" in doc.quoted_text and "old words" not in doc.text
    assert "Globex" in doc.signature


def test_nested_forward_inside_a_forward(tmp_path: Path) -> None:
    inner = _mail("Priya <priya@globex.example>", "Contract", BODY, "<c1@globex.example>")
    middle = _forward(inner, "<m1@globex.example>", "Dana, see Priya's note.\n")
    middle.replace_header("From", "Ravi <ravi@globex.example>")
    outer = _forward(middle, "<o1@northwind.example>")
    docs = _eml(tmp_path, outer)
    ids = [d.external_id for d in docs]
    assert ids == ["<o1@northwind.example>", "<m1@globex.example>", "<c1@globex.example>"]
    assert docs[0].metadata["forwarded_messages"] == "<m1@globex.example>"
    assert docs[1].metadata["forwarded_in"] == "<o1@northwind.example>"
    assert docs[1].metadata["forwarded_messages"] == "<c1@globex.example>"
    assert docs[2].metadata["forwarded_in"] == "<m1@globex.example>"
    assert docs[2].sender is not None and docs[2].sender.email == "priya@globex.example"


def test_forwarded_message_with_non_utf8_charset(tmp_path: Path) -> None:
    text = "Pouvez-vous envoyer le devis à Hélène d'ici vendredi ?\n"
    inner = _mail("Léa <lea@client.example>", "Devis", text, "<d1@client.example>", charset="iso-8859-1")
    outer = _forward(inner, "<f2@northwind.example>")
    raw = outer.as_bytes()
    assert "à Hélène".encode("iso-8859-1") in raw or b"=E0 H=E9l=E8ne" in raw
    docs = _eml(tmp_path, outer)
    assert docs[1].text == text.strip()
    assert docs[1].metadata["charset"] == "iso-8859-1"


def test_forwarded_message_without_message_id_gets_a_stable_id(tmp_path: Path) -> None:
    inner = _mail("Priya <priya@globex.example>", "Contract", BODY, None)
    first = _eml(tmp_path, _forward(inner, "<f3@northwind.example>"))
    again = _eml(tmp_path, _forward(inner, "<f4@northwind.example>"))
    assert first[1].metadata["message_id_synthesized"] == "true"
    assert first[1].external_id == again[1].external_id
    assert first[1].external_id.endswith("@followthrough.invalid>")


def test_forward_with_only_the_attachment_keeps_both_documents(tmp_path: Path) -> None:
    inner = _mail("Priya <priya@globex.example>", "Contract", BODY, "<c2@globex.example>")
    outer = _mail("Dana <dana@northwind.example>", "Fwd: Contract", "x", "<f5@northwind.example>")
    outer.clear_content()
    outer.make_mixed()
    outer.attach(_part(inner))
    docs = _eml(tmp_path, outer)
    assert [d.external_id for d in docs] == ["<f5@northwind.example>", "<c2@globex.example>"]
    assert docs[0].text == ""


def _part(inner: EmailMessage) -> EmailMessage:
    part = EmailMessage()
    part.set_content(inner)
    part.add_header("Content-Disposition", "attachment")
    return part


def test_forward_in_an_mbox(tmp_path: Path) -> None:
    path = tmp_path / "box.mbox"
    box = mailbox.mbox(str(path))
    inner = _mail("Priya <priya@globex.example>", "Contract", BODY, "<c3@globex.example>")
    box.add(_mail("Ravi <ravi@globex.example>", "Hello", "Hello there.\n", "<r1@globex.example>"))
    box.add(_forward(inner, "<f6@northwind.example>"))
    box.flush()
    box.close()
    docs = list(MboxConnector(path).documents())
    assert [d.external_id for d in docs] == [
        "<r1@globex.example>",
        "<f6@northwind.example>",
        "<c3@globex.example>",
    ]
    assert docs[2].metadata["forwarded_in"] == "<f6@northwind.example>"
    assert docs[2].origin.endswith("#2#forwarded-1")
