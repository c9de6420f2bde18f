"""iter_mbox reads the file in blocks: the same messages whatever the block size.

A block boundary can fall anywhere: inside a From_ line, between the blank line and the "From "
after it, inside a ``>From `` escape, inside the header block that decides a bogus "From " line,
inside the blank line that ends a header block. Each test reads the same file with blocks of a few
bytes and with the default block, and expects the same concrete messages.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import connectors.mail.mbox as mbox
from connectors.mail.mbox import RawMessage, iter_mbox

BLOCKS = (1, 2, 3, 5, 7, 16, 64, 1 << 20)

SEP1 = b"From alice@x.com Mon Mar 16 10:00:00 2026"
SEP2 = b"From bob@y.com Tue Mar 17 11:30:00 +0000 2026"
SEP3 = b"From carol@z.com Wed Mar 18 12:00:00 2026"


@pytest.fixture(params=BLOCKS)
def block(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    size: int = request.param
    monkeypatch.setattr(mbox, "_BLOCK", size)
    return size


def _write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "box.mbox"
    path.write_bytes(data)
    return path


FIRST = (
    b"From: alice@x.com\nSubject: one\n\nHello.\nFrom the archive\n>From deeper\n"
    b"> From not an escape\na >From mid-line\n\nFrom the team on Mar 3 at 10:30 we ship\n"
)
SECOND = b"Subject: two\nDate: Tue, 17 Mar 2026 11:30:00 +0000\n\nSecond body.\n"
THIRD = b"X-Note: folded\n continued\nMessage-ID: <3@z>\n\nThird.\n"
FOURTH = b"Subject: four\n\nLast line without a blank line after it.\n"


def _box(eol: bytes = b"\n") -> bytes:
    lines = [
        SEP1,
        b"From: alice@x.com",
        b"Subject: one",
        b"",
        b"Hello.",
        b">From the archive",
        b">>From deeper",
        b"> From not an escape",
        b"a >From mid-line",
        b"",
        b"From the team on Mar 3 at 10:30 we ship",  # after a blank line, no header block: body
        b"",
        SEP2,
        b"Subject: two",
        b"Date: Tue, 17 Mar 2026 11:30:00 +0000",
        b"",
        b"Second body.",
        b"",
        b"From someone at the office",  # no date, but a header block follows: a message
        b"X-Note: folded",
        b" continued",
        b"Message-ID: <3@z>",
        b"",
        b"Third.",
        b"",
        SEP3,
        b"Subject: four",
        b"",
        b"Last line without a blank line after it.",
    ]
    return eol.join(lines) + eol


def test_messages_are_the_same_for_any_block_size(tmp_path: Path, block: int) -> None:
    raws = list(iter_mbox(_write(tmp_path, _box())))
    assert raws == [
        RawMessage(1, SEP1.decode(), FIRST, len(FIRST)),
        RawMessage(2, SEP2.decode(), SECOND, len(SECOND)),
        RawMessage(3, "From someone at the office", THIRD, len(THIRD)),
        RawMessage(4, SEP3.decode(), FOURTH, len(FOURTH)),
    ]


def test_crlf_messages_for_any_block_size(tmp_path: Path, block: int) -> None:
    raws = list(iter_mbox(_write(tmp_path, _box(b"\r\n"))))
    assert [r.number for r in raws] == [1, 2, 3, 4]
    assert raws[0].from_line == SEP1.decode()
    assert raws[0].data.startswith(b"From: alice@x.com\r\nSubject: one\r\n\r\nHello.\r\nFrom the archive\r\n")
    assert raws[0].data.endswith(b"\r\n\r\nFrom the team on Mar 3 at 10:30 we ship\r\n")
    assert raws[1].data == b"Subject: two\r\nDate: Tue, 17 Mar 2026 11:30:00 +0000\r\n\r\nSecond body.\r\n"
    assert raws[3].data.endswith(b"after it.\r\n")
    assert all(r.size == len(r.data) for r in raws)


def test_headers_only_for_any_block_size(tmp_path: Path, block: int) -> None:
    raws = list(iter_mbox(_write(tmp_path, _box()), headers_only=True))
    expected = [FIRST, SECOND, THIRD, FOURTH]
    assert [(r.number, r.data, r.size) for r in raws] == [
        (n, data.split(b"\n\n")[0] + b"\n", len(data.split(b"\n\n")[0]) + 1)
        for n, data in enumerate(expected, 1)
    ]
    assert raws[0].data == b"From: alice@x.com\nSubject: one\n"


def test_headers_only_crlf_for_any_block_size(tmp_path: Path, block: int) -> None:
    raws = list(iter_mbox(_write(tmp_path, _box(b"\r\n")), headers_only=True))
    assert raws[0].data == b"From: alice@x.com\r\nSubject: one\r\n"
    assert raws[3].data == b"Subject: four\r\n"


def test_max_bytes_counts_and_drops_for_any_block_size(tmp_path: Path, block: int) -> None:
    raws = list(iter_mbox(_write(tmp_path, _box()), max_bytes=60))
    # A message over the limit is counted (with the blank line that follows it), not kept.
    assert [(r.number, r.data, r.size) for r in raws] == [
        (1, b"", len(FIRST) + 1),
        (2, b"", len(SECOND) + 1),
        (3, THIRD, len(THIRD)),
        (4, FOURTH, len(FOURTH)),
    ]
    assert (len(THIRD), len(FOURTH)) == (52, 56)
    headers = list(iter_mbox(_write(tmp_path, _box()), headers_only=True, max_bytes=40))
    assert [(r.data, r.size) for r in headers] == [
        (b"From: alice@x.com\nSubject: one\n", 31),
        (b"", 51),
        (b"", 44),
        (b"Subject: four\n", 14),
    ]


def test_escapes_are_undone_across_block_boundaries(tmp_path: Path, block: int) -> None:
    body = b"".join(b">" * depth + b"From line %d\n" % depth for depth in range(1, 6))
    path = _write(tmp_path, SEP1 + b"\n>From first line\n" + body + b"\n" + SEP2 + b"\n>From x\n")
    raws = list(iter_mbox(path))
    expected = b"From first line\n" + b"".join(b">" * (d - 1) + b"From line %d\n" % d for d in range(1, 6))
    assert [(r.data, r.size) for r in raws] == [(expected, len(expected)), (b"From x\n", 7)]


def test_a_boundary_straddles_every_block_position(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    message = b"Subject: s\n\nbody\n"
    data = SEP1 + b"\n" + message + b"\n" + SEP2 + b"\n" + message + b"\n" + SEP3 + b"\n" + message
    path = _write(tmp_path, data)
    for size in range(1, len(data) + 2):
        monkeypatch.setattr(mbox, "_BLOCK", size)
        raws = list(iter_mbox(path))
        assert [(r.from_line, r.data, r.size) for r in raws] == [
            (SEP1.decode(), message, len(message)),
            (SEP2.decode(), message, len(message)),
            (SEP3.decode(), message, len(message)),
        ], size


def test_blank_first_line_and_text_before_the_first_from_line(tmp_path: Path, block: int) -> None:
    raws = list(iter_mbox(_write(tmp_path, b"\n" + SEP1 + b"\nSubject: a\n\nx\n")))
    assert [(r.number, r.from_line, r.data, r.size) for r in raws] == [
        (1, "", b"", 0),
        (2, SEP1.decode(), b"Subject: a\n\nx\n", 14),
    ]
    raws = list(iter_mbox(_write(tmp_path, b"preamble\n>From q\n\n" + SEP1 + b"\nSubject: a\n")))
    assert [(r.from_line, r.data) for r in raws] == [
        ("", b"preamble\nFrom q\n"),
        (SEP1.decode(), b"Subject: a\n"),
    ]


def test_a_long_line_in_small_pieces_and_small_blocks(
    tmp_path: Path, block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mbox, "_MAX_PIECE", 64)  # From_ lines fit in a piece, the long line does not
    long = b"y" * 200 + b"\n"
    # The newline that ends a long line is no blank line before the "From " line after it.
    body = long + SEP2 + b"\nSubject: not a message\n"
    data = SEP1 + b"\n" + body + b"\n" + SEP3 + b"\nSubject: z\n"
    raws = list(iter_mbox(_write(tmp_path, data)))
    assert [(r.from_line, r.data) for r in raws] == [(SEP1.decode(), body), (SEP3.decode(), b"Subject: z\n")]
    over = list(iter_mbox(_write(tmp_path, data), max_bytes=50))
    assert [(r.data, r.size) for r in over] == [(b"", len(body) + 1), (b"Subject: z\n", 11)]


def test_empty_file_and_no_trailing_newline(tmp_path: Path, block: int) -> None:
    assert list(iter_mbox(_write(tmp_path, b""))) == []
    raws = list(iter_mbox(_write(tmp_path, SEP1 + b"\nSubject: a\n\nno newline")))
    assert raws == [RawMessage(1, SEP1.decode(), b"Subject: a\n\nno newline", 22)]
    raws = list(iter_mbox(_write(tmp_path, SEP1)))
    assert raws == [RawMessage(1, SEP1.decode(), b"", 0)]
