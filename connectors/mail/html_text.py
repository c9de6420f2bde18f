"""Turn an HTML email body into plain text that the quote splitter understands.

A streaming pass over the tags with the standard library's ``HTMLParser``
(no tree is built, so a large body stays cheap): block elements and ``<br>``
end lines, ``<blockquote>`` content is prefixed with ``> `` per level so that
quoted history looks as it does in plain-text mail, ``<hr>`` becomes a
separator line, and ``<head>``, ``<style>`` and ``<script>`` are dropped.

The text is never much longer than the HTML: a quote nested deeper than
:data:`_MAX_QUOTE_MARKS` levels keeps that many ``> `` marks (otherwise each line
of thousands of nested ``<blockquote>`` would repeat thousands of marks).

Markup that never ends is text before the parser sees it (:func:`closed_markup`): the standard
library's parser (3.11, before CVE-2025-6069's fix) tried each unterminated tag, comment or
declaration again over the rest of the body, quadratic in it (200 KB of ``<a href='x' `` took
two minutes), and a ``<![`` of no known kind raised ``AssertionError``.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCK = frozenset(
    "address article aside center dd div dl dt fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 "
    "header li main nav ol p pre section table tbody td tfoot th thead tr ul".split()
)
_SKIP = frozenset({"head", "style", "script", "title", "xml"})
_SPACES = re.compile(r"[ \t\n\r\f\v\xa0\u200b]+")
_MAX_QUOTE_MARKS = 10
_MARKED = re.compile(r"<!\[([a-zA-Z][-_.a-zA-Z0-9]*)")
"""A marked section's kind, as the parser scans it (``_markupbase``: a name right after ``<![``)."""
_COMMENT_END = re.compile(r"--\s*>")
_MARKED_ENDS = {
    **dict.fromkeys(("if", "else", "endif"), re.compile(r"]\s*>")),
    **dict.fromkeys(("temp", "cdata", "ignore", "include", "rcdata"), re.compile(r"]\s*]\s*>")),
}


class _Next:
    """The first match of a pattern at or after a position, for positions that only grow: searched
    again only once the last match is behind (linear in the text over all calls)."""

    def __init__(self, text: str, find: re.Pattern[str] | str) -> None:
        self._text, self._find, self._at = text, find, -1
        self._none_after = len(text) + 1  # no match at or after this position

    def after(self, pos: int) -> int:
        """Where the first match at or after ``pos`` starts, or -1."""
        if pos >= self._none_after:
            return -1
        if self._at < pos:
            if isinstance(self._find, str):
                self._at = self._text.find(self._find, pos)
            else:
                found = self._find.search(self._text, pos)
                self._at = found.start() if found else -1
            if self._at < 0:
                self._none_after = pos
                return -1
        return self._at


def closed_markup(html: str) -> str:
    """``html`` with each ``<`` that opens markup the parser would never see end written as
    ``&lt;`` (text, as a browser shows it): a tag, end tag, declaration or processing instruction
    with no ``>`` before the next ``<``, a comment with no ``-->`` after it, a marked section of no
    known kind or with no end. Linear: each end is looked for once per stretch of text it ends."""
    if "<" not in html:
        return html
    gt, lt, comment = _Next(html, ">"), _Next(html, "<"), _Next(html, _COMMENT_END)
    marked = {pattern: _Next(html, pattern) for pattern in set(_MARKED_ENDS.values())}
    out: list[str] = []
    start = 0
    i = html.find("<")
    while i >= 0:
        if html.startswith("<!--", i):
            closed = comment.after(i + 4) >= 0
        elif html.startswith("<![", i):
            kind = _MARKED.match(html, i)
            ends = _MARKED_ENDS.get(kind.group(1).lower()) if kind else None
            closed = ends is not None and marked[ends].after(i + 3) >= 0
        else:
            end, following = gt.after(i + 1), lt.after(i + 1)
            closed = end >= 0 and (following < 0 or end < following)
        if not closed:
            out.append(html[start:i])
            out.append("&lt;")
            start = i + 1
        i = lt.after(i + 1)
    out.append(html[start:])
    return "".join(out)


class _TextBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._parts: list[str] = []
        self._depth = 0  # blockquote nesting (see _prefix)
        self._skip = 0
        self._pre = 0

    def _prefix(self) -> str:
        """The quote marks of the current nesting, at most :data:`_MAX_QUOTE_MARKS` of them."""
        return "> " * min(self._depth, _MAX_QUOTE_MARKS)

    def _flush(self) -> None:
        line = "".join(self._parts).strip(" ")
        self._parts = []
        prefix = self._prefix()
        if line:
            self.lines.append(prefix + line)
        elif self.lines and self.lines[-1].strip("> "):
            # one empty line between blocks, kept inside the quote level
            self.lines.append(prefix.rstrip())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skip += 1
        elif tag == "br":
            self._flush_line_break()
        elif tag == "blockquote":
            self._flush()
            self._depth += 1
        elif tag == "hr":
            self._flush()
            self.lines.append(self._prefix() + "_" * 32)
        elif tag in _BLOCK:
            if tag == "pre":
                self._pre += 1
            if self._parts:
                self._flush()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in ("br", "hr"):
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag == "blockquote":
            self._flush()
            self._depth = max(0, self._depth - 1)
        elif tag in _BLOCK:
            if tag == "pre":
                self._pre = max(0, self._pre - 1)
            if self._parts:
                self._flush()
            if tag in ("p", "table", "ul", "ol") or tag[0] == "h" and tag[1:].isdigit():
                self._flush()

    def _flush_line_break(self) -> None:
        line = "".join(self._parts).strip(" ")
        self._parts = []
        prefix = self._prefix()
        self.lines.append(prefix + line if line else prefix.rstrip())

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._pre:
            chunks = data.replace("\xa0", " ").split("\n")
            for chunk in chunks[:-1]:
                self._parts.append(chunk)
                self._flush_line_break()
            self._parts.append(chunks[-1])
            return
        text = _SPACES.sub(" ", data)
        if text == " " and (not self._parts or self._parts[-1].endswith(" ")):
            return
        self._parts.append(text)

    def text(self) -> str:
        self._flush()
        out: list[str] = []
        for line in self.lines:
            blank = not line.strip("> ")
            if blank and (not out or not out[-1].strip("> ")):
                continue  # no runs of empty lines, none at the start
            out.append(line.rstrip())
        while out and not out[-1].strip("> "):
            out.pop()
        return "\n".join(out)


def html_to_text(html: str) -> str:
    """The readable text of ``html``, one line per block, quotes as ``> `` lines."""
    builder = _TextBuilder()
    try:
        builder.feed(closed_markup(html))
        builder.close()
    except AssertionError:  # the parser's own complaint about markup it cannot place: read it as text
        builder = _TextBuilder()
        builder.feed(html.replace("<", "&lt;"))
        builder.close()
    return builder.text()
