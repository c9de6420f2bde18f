"""An RFC 5322 header block's fields, as the ``email`` package's ``compat32`` parser stores them.

The mbox connector's first pass reads every message's Message-ID, In-Reply-To
and References to build the thread index (:mod:`connectors.mail.threads`).
``BytesHeaderParser(policy=compat32)`` builds a ``Message`` for that through
the feed parser, a generator per line; it was a seventh of reading a mailbox.
:func:`header_fields` gives the same ``(name, value)`` list that
``parsebytes(data).raw_items()`` gives, from one pass over the lines, with the
feed parser's rules (CPython ``email/feedparser.py``, ``_parsegen`` and
``_parse_headers``; ``Compat32.header_source_parse``):

- bytes are read as ASCII with ``surrogateescape`` (as ``BytesParser`` does);
  lines end at ``\\r\\n``, ``\\r`` or ``\\n``;
- the block ends at the first line that is neither a field (``name:``, the
  name printable ASCII without a space or colon, possibly empty), a
  continuation (starting with a space or tab) nor a ``From `` line;
- a ``From `` line (the envelope on the first line, misplaced elsewhere) is
  no field; a continuation with no field before it, and a field with an empty name, are
  skipped (with what continues them);
- a value is the rest of its first line without leading blanks, then its
  continuation lines as written, without the final line break.

``tests/test_header_block.py`` compares it with the parser on generated and
sample header blocks.
"""

from __future__ import annotations

import re

_LINES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
_FIELD = re.compile(r"From |[\041-\071\073-\176]*:|[\t ]")


class HeaderBlock:
    """The fields of one header block; ``raw_items()`` as ``email.message.Message`` has it."""

    __slots__ = ("_fields",)

    def __init__(self, data: bytes) -> None:
        self._fields = header_fields(data)

    def raw_items(self) -> list[tuple[str, str]]:
        """``(name, value)`` of every field in order, names as written, values unfolded as stored."""
        return list(self._fields)


def header_fields(data: bytes) -> list[tuple[str, str]]:
    """``BytesHeaderParser(policy=compat32).parsebytes(data).raw_items()`` as a list."""
    fields: list[tuple[str, str]] = []
    name = ""
    value: list[str] = []
    for match in _LINES.finditer(data.decode("ascii", "surrogateescape")):
        line = match.group()
        if not _FIELD.match(line):
            break
        if line[0] in " \t":
            if name:
                value.append(line)
            continue
        if name:
            fields.append((name, "".join(value).rstrip("\r\n")))
            name, value = "", []
        if line.startswith("From "):  # the envelope, or misplaced: not a field either way
            continue
        colon = line.find(":")
        if colon == 0:
            continue
        name = line[:colon]
        value = [line[colon + 1 :].lstrip(" \t")]
    if name:
        fields.append((name, "".join(value).rstrip("\r\n")))
    return fields
