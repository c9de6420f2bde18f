"""Stream the messages of an mbox file, one at a time, without loading the file.

A message starts at a "From " line that carries a date (``From sender Sun
Nov 22 13:15:17 2026``: a month name and a time), so an unescaped body line
such as "From the team" or "From 9:00 to 10:00" does not split a message; the
first line of the file always starts one.
mboxrd/mboxo escaping (``>From ``) is undone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# "From sender Sun Nov 22 13:15:17 2026", "From 1234@xxx Sat Feb 17 08:05:21 +0000 2024",
# "From - Sat Mar 01 12:00:00 2008": a month name and a time after the sender.
_FROM_LINE = re.compile(
    rb"^From \S+ .*\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b.*\b\d{1,2}:\d{2}", re.IGNORECASE
)
_HEADER_LINE = re.compile(rb"^[!-9;-~]+:")
_ESCAPED_FROM = re.compile(rb"^>+From ")


@dataclass(frozen=True)
class RawMessage:
    """One message of an mbox: its 1-based position, the From_ line and the bytes."""

    number: int
    from_line: str
    data: bytes


def is_from_line(line: bytes) -> bool:
    return line.startswith(b"From ") and _FROM_LINE.match(line) is not None


def looks_like_mbox(head: bytes) -> bool:
    """The first line is a dated From_ line and the second a header."""
    lines = head.split(b"\n", 2)
    return len(lines) >= 2 and is_from_line(lines[0]) and bool(_HEADER_LINE.match(lines[1]))


def _finish(number: int, from_line: bytes, lines: list[bytes]) -> RawMessage:
    if lines and lines[-1] in (b"\n", b"\r\n"):
        lines.pop()  # the blank line that separates messages
    return RawMessage(number, from_line.decode("latin-1").rstrip("\r\n"), b"".join(lines))


def iter_mbox(path: Path, *, headers_only: bool = False) -> Iterator[RawMessage]:
    """Yield each message; with ``headers_only`` just the header block of each."""
    number = 0
    from_line = b""
    lines: list[bytes] = []
    in_headers = True
    started = False
    with path.open("rb") as f:
        for line in f:
            if line.startswith(b"From ") and (not started or _FROM_LINE.match(line)):
                if started:
                    yield _finish(number, from_line, lines)
                started = True
                number += 1
                from_line, lines, in_headers = line, [], True
                continue
            if not started:
                # Text before the first From_ line: not an mbox; the caller checked the first line.
                started = True
                number += 1
                from_line, lines, in_headers = b"", [], True
            if headers_only and not in_headers:
                continue
            if in_headers and line in (b"\n", b"\r\n"):
                in_headers = False
                if headers_only:
                    continue
            if line.startswith(b">") and _ESCAPED_FROM.match(line):
                line = line[1:]  # mboxrd: ">From " was "From ", ">>From " was ">From "
            lines.append(line)
    if started:
        yield _finish(number, from_line, lines)
