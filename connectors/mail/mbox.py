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

Memory stays bounded whatever the file holds: a line is read in pieces of at most
:data:`_MAX_PIECE` bytes, and a message larger than the ``max_bytes`` given to
:func:`iter_mbox` is counted, not kept (its ``data`` is empty, its ``size`` says why).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

# "From sender Sun Nov 22 13:15:17 2026", "From 1234@xxx Sat Feb 17 08:05:21 +0000 2024",
# "From - Sat Mar 01 12:00:00 2008": a month name and a time after the sender.
_FROM_LINE = re.compile(
    rb"^From \S+ .*\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b.*\b\d{1,2}:\d{2}", re.IGNORECASE
)
_HEADER_LINE = re.compile(rb"^[!-9;-~]+:")
_DAY = rb"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_MONTH = rb"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
# A complete From_ line: sender, then an asctime date with an optional numeric or named zone.
_SEPARATOR = re.compile(
    rb"^From \S+ +(?:" + _DAY + rb",? +)?" + _MONTH + rb" +\d{1,2},? +\d{1,2}:\d{2}(?::\d{2})?"
    rb"(?: +(?:[+-]\d{4}|[A-Z]{1,5}))? +\d{4}(?: +(?:[+-]\d{4}|[A-Z]{1,5}))?[ \t]*\r?\n?$",
    re.IGNORECASE,
)
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
_MAX_HEADER_LOOKAHEAD = 64  # header lines read ahead to decide whether a "From " line starts a message
_ESCAPED_FROM = re.compile(rb"^>+From ")
_MAX_PIECE = 1 << 20  # a longer line is read in pieces of this many bytes


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


def _is_blank(line: bytes) -> bool:
    return line in (b"\n", b"\r\n")


def _peek(source: Iterator[bytes], ahead: deque[bytes], index: int) -> bytes | None:
    """The line ``index`` lines after the current one (read ahead into ``ahead``), or None at the end."""
    while len(ahead) <= index:
        line = next(source, None)
        if line is None:
            return None
        ahead.append(line)
    return ahead[index]


def _header_block_follows(source: Iterator[bytes], ahead: deque[bytes]) -> bool:
    """The next lines are RFC 5322 headers, and one of them is a header real messages have."""
    for index in range(_MAX_HEADER_LOOKAHEAD):
        line = _peek(source, ahead, index)
        if line is None:
            return False
        if _HEADER_LINE.match(line):
            if line.split(b":", 1)[0].lower() in _KEY_HEADERS:
                return True
        elif not (index and line[:1] in (b" ", b"\t")):  # a folded header line continues the block
            return False
    return False


def _pieces(f: BinaryIO) -> Iterator[bytes]:
    """The file's lines; a line longer than :data:`_MAX_PIECE` bytes comes in pieces (the last one
    ends in the newline)."""
    while piece := f.readline(_MAX_PIECE):
        yield piece


def _marked_lines(lines: Iterable[bytes]) -> Iterator[tuple[bytes, bool, bool]]:
    """Each line (or piece of a long line) with whether it starts a message (see the module docstring
    for the rule) and whether it starts a line (a piece after the first of a long line does not)."""
    source = iter(lines)
    ahead: deque[bytes] = deque()
    first, after_blank, line_start = True, False, True
    while True:
        line = ahead.popleft() if ahead else next(source, None)
        if line is None:
            return
        starts = first or (
            after_blank
            and line_start
            and line.startswith(b"From ")
            and (_SEPARATOR.match(line) is not None or _header_block_follows(source, ahead))
        )
        yield line, starts, line_start
        first, after_blank = False, line_start and _is_blank(line)
        line_start = line.endswith(b"\n")


def _finish(number: int, from_line: bytes, lines: list[bytes], size: int) -> RawMessage:
    if lines and _is_blank(lines[-1]):
        size -= len(lines.pop())  # the blank line that separates messages
    return RawMessage(number, from_line.decode("latin-1").rstrip("\r\n"), b"".join(lines), size)


def iter_mbox(
    path: Path, *, headers_only: bool = False, max_bytes: int | None = None
) -> Iterator[RawMessage]:
    """Yield each message; with ``headers_only`` just the header block of each.

    A message of more than ``max_bytes`` (what is kept: its header block with ``headers_only``) is
    yielded with empty ``data`` and its ``size``: its bytes are never held.
    """
    number = 0
    from_line = b""
    lines: list[bytes] = []
    size = 0
    in_headers = True
    started = False
    with path.open("rb") as f:
        for line, starts, line_start in _marked_lines(_pieces(f)):
            if starts:
                if started:
                    yield _finish(number, from_line, lines, size)
                started = True
                number += 1
                size = 0
                if line.startswith(b"From "):
                    from_line, lines, in_headers = line, [], True
                    continue
                # Text before the first From_ line: not an mbox; the caller checked the first line.
                from_line, lines, in_headers = b"", [], True
            if headers_only and not in_headers:
                continue
            if in_headers and line_start and line in (b"\n", b"\r\n"):
                in_headers = False
                if headers_only:
                    continue
            if line_start and line.startswith(b">") and _ESCAPED_FROM.match(line):
                line = line[1:]  # mboxrd: ">From " was "From ", ">>From " was ">From "
            size += len(line)
            if max_bytes is not None and size > max_bytes:
                lines.clear()  # too large: counted, not kept
                continue
            lines.append(line)
    if started:
        yield _finish(number, from_line, lines, size)
