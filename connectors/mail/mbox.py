"""Stream the messages of an mbox file, one at a time, without loading the file.

A message boundary is decided by the lines around a "From " line, never by that
line alone (as Python's ``mailbox`` and mutt read mboxrd/mboxo files). A "From "
line starts a message only when it is the file's first line, or when the line
before it is blank and either

- it is a complete From_ line, ``From sender Sun Nov 22 13:15:17 2026`` (an
  asctime date, optionally with a zone: ``From 1234@xxx Sat Feb 17 08:05:21 +0000
  2024``), or
- it is followed by a header block: ``Name: value`` lines (with folded
  continuations) that include a header every message has (From, Date, Subject,
  Message-ID, Received...).

Any other "From " line is body text, so an unescaped line such as "From the team
on Mar 3 at 10:30 we ship" or "From 9:00 to 10:00" does not split a message.
mboxrd/mboxo escaping (``>From ``) is undone.

Memory stays bounded whatever the file holds: the file is read in blocks of
:data:`_BLOCK` bytes, and a message larger than the ``max_bytes`` given to
:func:`iter_mbox` is counted, not kept (its ``data`` is empty, its ``size`` says why).
The rules see a line as pieces of at most :data:`_MAX_PIECE` bytes (as a line read
with ``readline(_MAX_PIECE)``): a From_ line is judged by its first piece, the header
block after it by at most :data:`_MAX_HEADER_LOOKAHEAD` pieces, an escape only in a
line's first piece. Boundaries are found with ``bytes.find`` over a block; only a
"From " line after a blank line is looked at more closely.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

# "From sender Sun Nov 22 13:15:17 2026", "From 1234@xxx Sat Feb 17 08:05:21 +0000 2024",
# "From - Sat Mar 01 12:00:00 2008": a month name and a time after the sender.
_FROM_LINE = re.compile(
    rb"^From \S+ .*\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b.*\b\d{1,2}:\d{2}", re.IGNORECASE
)
_HEADER_NAME = rb"[!-9;-~]+:"
_HEADER_LINE = re.compile(rb"^" + _HEADER_NAME)
_HEADER_AT = re.compile(_HEADER_NAME)  # for match(data, pos, endpos): "^" matches only at 0
_DAY = rb"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_MONTH = rb"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
# A complete From_ line: sender, then an asctime date with an optional numeric or named zone.
_SEPARATOR_BODY = (
    rb"From \S+ +(?:" + _DAY + rb",? +)?" + _MONTH + rb" +\d{1,2},? +\d{1,2}:\d{2}(?::\d{2})?"
    rb"(?: +(?:[+-]\d{4}|[A-Z]{1,5}))? +\d{4}(?: +(?:[+-]\d{4}|[A-Z]{1,5}))?[ \t]*\r?\n?$"
)
_SEPARATOR = re.compile(rb"^" + _SEPARATOR_BODY, re.IGNORECASE)
_SEPARATOR_AT = re.compile(_SEPARATOR_BODY, re.IGNORECASE)  # for match(data, pos, endpos)
# Headers that every real message starts with some of; "Note: bring laptops" is not one.
_KEY_HEADERS = frozenset(
    {
        b"from",
        b"to",
        b"cc",
        b"subject",
        b"date",
        b"message-id",
        b"received",
        b"return-path",
        b"delivered-to",
        b"mime-version",
        b"in-reply-to",
        b"references",
        b"reply-to",
        b"sender",
        b"content-type",
    }
)
_MAX_HEADER_LOOKAHEAD = 64  # header pieces read ahead to decide whether a "From " line starts a message
_MAX_PIECE = 1 << 20  # a longer line is judged in pieces of this many bytes
_BLOCK = 1 << 20  # bytes read from the file at a time
_NL = 0x0A
_CR = 0x0D


@dataclass(frozen=True)
class RawMessage:
    """One message of an mbox: its 1-based position, the From_ line, the bytes and their number.

    ``data`` is empty when ``size`` (the message's bytes) is over the ``max_bytes`` it was read with.
    """

    number: int
    from_line: str
    data: bytes
    size: int


def is_from_line(line: bytes) -> bool:
    return line.startswith(b"From ") and _FROM_LINE.match(line) is not None


def looks_like_mbox(head: bytes) -> bool:
    """The first line is a dated From_ line and the second a header."""
    lines = head.split(b"\n", 2)
    return len(lines) >= 2 and is_from_line(lines[0]) and bool(_HEADER_LINE.match(lines[1]))


def _escape_pattern(piece: int) -> re.Pattern[bytes] | None:
    """mboxrd/mboxo escapes after a newline: ``>From `` (any number of ``>``) within a line's first
    piece of ``piece`` bytes; None when no escape fits in a piece."""
    if piece < 6:
        return None
    return re.compile(rb"\n>(>{0,%d}From )" % (piece - 6))


class _Buffer:
    """The bytes of a file from the absolute offset ``start`` on; :meth:`fill` reads more, dropping
    what lies before ``keep``."""

    __slots__ = ("f", "data", "start", "end", "eof", "keep")

    def __init__(self, f: BinaryIO) -> None:
        self.f = f
        self.data = b""
        self.start = 0
        self.end = 0
        self.eof = False
        self.keep = 0

    def fill(self) -> bool:
        """Read another block (at least as much as is held, so that a growing buffer costs linear
        time); False at the end of the file."""
        if self.eof:
            return False
        live = self.data
        if self.keep > self.start:
            live = live[self.keep - self.start :]
            self.start = self.keep
        block = self.f.read(max(_BLOCK, len(live)))
        if not block:
            self.eof = True
            self.data = live
            return False
        self.data = live + block
        self.end = self.start + len(self.data)
        return True

    def piece_end(self, pos: int, piece: int) -> int:
        """Where the piece read from ``pos`` ends: after a newline, ``piece`` bytes on, or at the end
        of the file (``pos`` itself there)."""
        while True:
            limit = pos + piece
            i = self.data.find(b"\n", pos - self.start, min(limit, self.end) - self.start)
            if i >= 0:
                return i + 1 + self.start
            if self.end >= limit:
                return limit
            if not self.fill():
                return self.end


def _blank_before(buf: _Buffer, pos: int) -> bool:
    """The line before ``pos`` (a line start, not 0) is blank: ``\\n`` or ``\\r\\n``."""
    if pos == 1:
        return True
    data, at = buf.data, pos - buf.start
    before = data[at - 2]
    if before == _NL:
        return True
    return before == _CR and (pos == 2 or data[at - 3] == _NL)


def _header_block_follows(buf: _Buffer, pos: int, piece: int) -> bool:
    """The pieces from ``pos`` on are RFC 5322 headers, and one of them is a header real messages
    have."""
    for index in range(_MAX_HEADER_LOOKAHEAD):
        end = buf.piece_end(pos, piece)
        if end == pos:
            return False
        at = pos - buf.start
        match = _HEADER_AT.match(buf.data, at, end - buf.start)
        if match:
            if buf.data[at : match.end() - 1].lower() in _KEY_HEADERS:
                return True
        elif not (index and buf.data[at] in (0x20, 0x09)):  # a folded header line continues the block
            return False
        pos = end
    return False


class _Message:
    """The kept bytes of one message, fed as runs of lines (a run ends at a line start, or inside a
    line past its first piece)."""

    __slots__ = (
        "headers_only",
        "max_bytes",
        "piece",
        "escapes",
        "parts",
        "size",
        "over",
        "done",
        "cur",
        "last",
    )

    def __init__(
        self,
        headers_only: bool,
        max_bytes: int | None,
        piece: int,
        escapes: re.Pattern[bytes] | None,
        line_so_far: int,
    ) -> None:
        self.headers_only = headers_only
        self.max_bytes = max_bytes
        self.piece = piece
        self.escapes = escapes
        self.parts: list[bytes] = []
        self.size = 0
        self.over = False  # over max_bytes: counted, not kept
        self.done = False  # with headers_only: the header block has ended
        self.cur = line_so_far  # bytes of the last kept line, which has no newline yet
        self.last = 0  # bytes of the last kept complete line

    def feed(self, data: bytes, a: int, b: int, line_start: bool) -> None:
        """Keep ``data[a:b]``; ``line_start``: ``a`` starts a line."""
        if self.done:
            return
        if self.headers_only:  # the header block ends at its first blank line, which is not kept
            if line_start and (data.startswith(b"\n", a, b) or data.startswith(b"\r\n", a, b)):
                self.done = True
                return
            blank = data.find(b"\n\n", a, b)
            crlf = data.find(b"\n\r\n", a, b if blank < 0 else blank + 2)
            if crlf >= 0:
                blank = crlf
            if blank >= 0:
                b = blank + 1
                self.done = True
        size = b - a
        chunk = b""
        unescaped = False
        if self.escapes is not None and data.find(b">From ", a, b) >= 0:
            # mboxrd: ">From " was "From ", ">>From " was ">From "
            if line_start:
                chunk = self.escapes.sub(rb"\n\1", b"\n" + data[a:b])[1:]
            else:
                chunk = self.escapes.sub(rb"\n\1", data[a:b])
            size = len(chunk)
            unescaped = True
        self.size += size
        if self.over:
            return
        if self.max_bytes is not None and self.size > self.max_bytes:
            self.over = True  # too large: counted, not kept
            self.parts.clear()
            return
        self.parts.append(chunk if unescaped else data[a:b])
        i = data.rfind(b"\n", a, b)
        if i < 0:
            self.cur += b - a
            return
        h = data.rfind(b"\n", a, i)
        self.last = i - h if h >= 0 else self.cur + i + 1 - a
        self.cur = b - 1 - i

    def finish(self, number: int, from_line: bytes) -> RawMessage:
        line = from_line.decode("latin-1").rstrip("\r\n")
        if self.over:
            return RawMessage(number, line, b"", self.size)
        data = b"".join(self.parts)
        size = self.size
        if self.cur == 0 and self.last:  # drop the blank line (piece) that separates messages
            tail = (self.last - 1) % self.piece + 1  # the last piece of the last line
            if (tail == 1 and data.endswith(b"\n")) or (tail == 2 and data.endswith(b"\r\n")):
                data = data[:-tail]
                size -= tail
        return RawMessage(number, line, data, size)


def _messages(f: BinaryIO, headers_only: bool, max_bytes: int | None) -> Iterator[RawMessage]:
    piece = _MAX_PIECE
    escapes = _escape_pattern(piece)
    separator = _SEPARATOR_AT.match
    buf = _Buffer(f)
    if not buf.fill():
        return
    number = 0
    start = 0  # where the current message's first line starts
    end = buf.piece_end(start, piece)  # where the first piece of that line ends
    while True:
        number += 1
        data, base = buf.data, buf.start  # again after whatever may read more: fill, piece_end...
        if data.startswith(b"From ", start - base, end - base):
            from_line = data[start - base : end - base]
            kept = end
        else:  # text before the first From_ line: not an mbox; the caller checked the first line
            from_line = b""
            kept = start
        # kept: where the message's kept bytes go on; kept_line: where the line holding it starts
        kept_line = kept if kept == start or data[kept - 1 - base] == _NL else start
        message = _Message(headers_only, max_bytes, piece, escapes, kept - kept_line)
        buf.keep = max(kept - 3, 0)  # the bytes before a line tell whether it follows a blank line
        scan = max(start, kept - 1)  # where to look for the newline before the next "From "
        while True:
            j = data.find(b"\nFrom ", scan - base)
            if j < 0:
                if buf.eof:
                    at = kept - base
                    message.feed(data, at, buf.end - base, kept == 0 or data[at - 1] == _NL)
                    yield message.finish(number, from_line)
                    return
                # Keep what cannot hold a boundary: up to a line start, or into a long line past its
                # first piece (a "From " line may still start in the last 4 bytes).
                limit = buf.end - 4
                scan = max(scan, limit - 1)
                if limit > kept:
                    i = data.rfind(b"\n", kept - base, limit - base)
                    line = i + 1 + base if i >= 0 else kept_line
                    cut = limit if limit - line >= piece else line if i >= 0 else kept
                    if cut > kept:
                        at = kept - base
                        message.feed(data, at, cut - base, kept == 0 or data[at - 1] == _NL)
                        kept, kept_line = cut, line
                        buf.keep = kept - 3
                buf.fill()
                data, base = buf.data, buf.start
                continue
            candidate = j + 1 + base
            scan = candidate
            if not _blank_before(buf, candidate):
                continue
            if candidate > kept:
                at = kept - base
                message.feed(data, at, j + 1, kept == 0 or data[at - 1] == _NL)
                kept = kept_line = candidate
                buf.keep = kept - 3
            i = data.find(b"\n", j + 1, j + 1 + piece)  # the first piece of the "From " line
            end = i + 1 + base if i >= 0 else buf.piece_end(candidate, piece)
            if separator(
                buf.data, candidate - buf.start, end - buf.start
            ) is not None or _header_block_follows(buf, end, piece):
                yield message.finish(number, from_line)
                start = candidate
                break
            data, base = buf.data, buf.start


def iter_mbox(
    path: Path, *, headers_only: bool = False, max_bytes: int | None = None
) -> Iterator[RawMessage]:
    """Yield each message; with ``headers_only`` just the header block of each.

    A message of more than ``max_bytes`` (what is kept: its header block with ``headers_only``) is
    yielded with empty ``data`` and its ``size``: its bytes are never held.
    """
    with path.open("rb") as f:
        yield from _messages(f, headers_only, max_bytes)
