"""The thread index's header reader gives exactly what ``BytesHeaderParser(policy=compat32)`` gives.

``connectors.mail.header_block`` replaced the parser in the mbox and IMAP connectors' first pass
(Message-ID, In-Reply-To, References for the thread index); the fields must be the parser's to the
byte, on real mail and on any bytes at all.
"""

from __future__ import annotations

from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.email import _ids
from connectors.mail.header_block import HeaderBlock, header_fields
from connectors.mail.mbox import iter_mbox

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
_PARSER = BytesHeaderParser(policy=compat32)


def _parsed(data: bytes) -> list[tuple[str, str]]:
    return list(_PARSER.parsebytes(data).raw_items())


def _sample_messages() -> list[tuple[str, bytes]]:
    out: list[tuple[str, bytes]] = []
    for raw in iter_mbox(REPO / "fixtures" / "demo" / "email" / "customers.mbox"):
        out.append((f"customers.mbox#{raw.number}", raw.data))
    for raw in iter_mbox(REPO / "fixtures" / "demo" / "email" / "customers.mbox", headers_only=True):
        out.append((f"customers.mbox#{raw.number} headers", raw.data))
    for folder in ("samples", "regressions"):
        for path in sorted((SHARED / folder).rglob("*.eml")):
            out.append((str(path), path.read_bytes()))
    return out


def test_same_fields_as_the_parser_on_real_mail() -> None:
    messages = _sample_messages()
    assert len(messages) >= 30, "the demo mailbox and the shared .eml samples are missing"
    for where, data in messages:
        assert header_fields(data) == _parsed(data), where
        assert _ids(HeaderBlock(data)) == _ids(_PARSER.parsebytes(data)), where


# Pieces that exercise every rule: fields, empty names, continuations, envelopes, each line ending,
# 8-bit bytes (surrogate escapes), characters str.splitlines would split on but email does not.
_PIECES = [
    b"From ",
    b"From a@b Mon Jan 1 00:00:00 2024",
    b"Message-ID: <a@b>",
    b"References: <a@b>\n <c@d>",
    b"In-Reply-To:<x@y>",
    b"X-Y",
    b"a",
    b":",
    b" ",
    b"\t",
    b"\r",
    b"\n",
    b"\r\n",
    b"\xff\xe9",
    b"=?utf-8?q?x?=",
    b"\x00",
    b"\x0b",
    b"\x0c",
    b"\x1c",
    b"\x85",
    b"Bad Name: x",
]


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=40))
def test_same_fields_as_the_parser_on_any_bytes(pieces: list[bytes]) -> None:
    data = b"".join(pieces)
    assert header_fields(data) == _parsed(data)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300))
def test_same_fields_as_the_parser_on_random_bytes(data: bytes) -> None:
    assert header_fields(data) == _parsed(data)


def test_a_long_block_crossing_the_parsers_read_size() -> None:
    """The parser reads 8,192 characters at a time: a CR LF cut by that boundary is still one end."""
    head = b"Subject: " + b"x" * (8192 - len(b"Subject: ") - 1) + b"\r\n References: <a@b>\r\n"
    data = head + b"Message-ID: <m@n>\r\n\r\nbody\r\n"
    assert header_fields(data) == _parsed(data)
    assert [name for name, _ in header_fields(data)] == ["Subject", "Message-ID"]
