"""Slack Block Kit ``blocks`` → plain text, for messages whose words are only there.

A message posted from a modern Slack client (or an app) carries its words in
``blocks``; its ``text`` is Slack's own plain rendering of them, but it may be
empty, missing, or only a fallback such as "This message contains interactive
elements.". Then the blocks are read instead:

    rich_text                 its parts, one after another, each on its own line
      rich_text_section       the inline elements, joined
      rich_text_list          one line per item, "- item" or "1. item" ("offset" honoured),
                              indented two spaces per ``indent`` level
      rich_text_quote         the quoted words as plain lines (no "> ": quoted-mail
                              lines are skipped by the extractor, a Slack quote is not mail)
      rich_text_preformatted  the text as written
    section                   ``text`` (mrkdwn or plain_text), then each of ``fields`` on its own line
    header                    its plain_text
    context                   its text elements joined with " " (images left out)
    markdown                  its text as written
    anything else             nothing (divider, image, actions, input, file...)

Inline elements: ``text`` (style ignored), ``link`` (its text, else the url),
``user`` (``@`` + the display name, the same names ``<@U1>`` gets in ``text``),
``channel`` (``#name``), ``emoji`` (``:name:``, else the unicode character),
``broadcast`` (``@here``/``@channel``/``@everyone``), ``date`` (rendered from its
timestamp and format in UTC, else its fallback), ``usergroup`` (``@`` + its id),
``color`` (its value).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from connectors.slack_text import Rendered, render_mrkdwn, shown_name

# Slack's placeholder ``text`` for messages it renders from blocks only (compared casefolded, no final ".").
FALLBACK_TEXTS = frozenset(
    {
        "this message contains interactive elements",
        "this content can't be displayed",
        "this message can't be displayed",
        "this message could not be displayed",
        "this message has no text",
    }
)


def is_fallback_text(text: str) -> bool:
    """Whether ``text`` is only Slack's placeholder for a message shown from its blocks."""
    norm = " ".join(text.replace("\u2019", "'").split()).casefold().rstrip(".")
    return norm in FALLBACK_TEXTS


_MAX_LIST_DEPTH = 20
"""Lists inside lists deeper than this are not read (hostile input; Slack itself nests far less)."""


class _Renderer:
    def __init__(self, user_names: Mapping[str, str], channel_names: Mapping[str, str]) -> None:
        self.users = user_names
        self.channels = channel_names
        self.mentions: list[str] = []

    def _mention(self, uid: str) -> None:
        if uid not in self.mentions:
            self.mentions.append(uid)

    # -- text objects and inline elements -------------------------------------------
    def text_object(self, obj: object) -> str:
        """A composition ``text`` object: ``{"type": "mrkdwn"|"plain_text", "text": ...}``."""
        if not isinstance(obj, dict):
            return ""
        raw = obj.get("text")
        if not isinstance(raw, str):
            return ""
        if obj.get("type") == "mrkdwn":
            rendered = render_mrkdwn(raw, self.users, self.channels)
            for uid in rendered.mentions:
                self._mention(uid)
            return rendered.text
        return raw

    def inline(self, el: object) -> str:
        if not isinstance(el, dict):
            return ""
        kind = el.get("type")
        if kind == "text":
            return _str(el.get("text"))
        if kind == "link":
            url = _str(el.get("url"))
            label = _str(el.get("text"))
            if label.strip():
                return label
            return url[len("mailto:") :] if url.startswith("mailto:") else url
        if kind == "user":
            uid = _str(el.get("user_id"))
            if not uid:
                return ""
            self._mention(uid)
            return "@" + (shown_name(self.users.get(uid) or "") or uid)
        if kind == "channel":
            cid = _str(el.get("channel_id"))
            return "#" + (shown_name(self.channels.get(cid) or "") or cid) if cid else ""
        if kind == "emoji":
            return _emoji(el)
        if kind == "broadcast":
            return "@" + (_str(el.get("range")) or "here")
        if kind == "date":
            return _date(el)
        if kind == "usergroup":
            gid = _str(el.get("usergroup_id"))
            return "@" + gid if gid else ""
        if kind == "color":
            return _str(el.get("value"))
        return _str(el.get("text"))

    def inlines(self, elements: object) -> str:
        return "".join(self.inline(el) for el in _list(elements))

    # -- rich text -------------------------------------------------------------------
    def rich_part(self, part: object, depth: int = 0) -> str:
        """One element of a ``rich_text`` block; lists nested deeper than ``_MAX_LIST_DEPTH`` are dropped."""
        if not isinstance(part, dict):
            return ""
        kind = part.get("type")
        if kind == "rich_text_list":
            return self.rich_list(part, depth) if depth < _MAX_LIST_DEPTH else ""
        if kind in ("rich_text_section", "rich_text_quote", "rich_text_preformatted"):
            return self.inlines(part.get("elements"))
        return self.inline(part)

    def rich_list(self, lst: dict[str, Any], depth: int = 0) -> str:
        indent = lst.get("indent")
        pad = "  " * indent if isinstance(indent, int) and 0 < indent < 20 else ""
        offset = lst.get("offset")
        start = offset if isinstance(offset, int) and offset >= 0 else 0
        ordered = lst.get("style") == "ordered"
        lines: list[str] = []
        for n, item in enumerate(_list(lst.get("elements")), start=start + 1):
            words = " ".join(self.rich_part(item, depth + 1).split())
            if words:
                lines.append(f"{pad}{n}. {words}" if ordered else f"{pad}- {words}")
        return "\n".join(lines)

    # -- blocks ----------------------------------------------------------------------
    def block(self, block: object) -> str:
        if not isinstance(block, dict):
            return ""
        kind = block.get("type")
        if kind == "rich_text":
            return _lines(self.rich_part(p) for p in _list(block.get("elements")))
        if kind == "section":
            texts = [self.text_object(block.get("text"))]
            texts.extend(self.text_object(f) for f in _list(block.get("fields")))
            return _lines(texts)
        if kind == "header":
            return self.text_object(block.get("text"))
        if kind == "context":
            words = (self.text_object(el) for el in _list(block.get("elements")))
            return " ".join(w.strip() for w in words if w.strip())
        if kind == "markdown":
            return _str(block.get("text"))
        return ""


def render_blocks(
    blocks: object,
    user_names: Mapping[str, str],
    channel_names: Mapping[str, str] | None = None,
) -> Rendered:
    """Plain text of a message's ``blocks`` plus the users they mention; see the module docstring."""
    r = _Renderer(user_names, channel_names or {})
    text = _lines(r.block(b) for b in _list(blocks))
    text = "\n".join(line.rstrip() for line in text.splitlines()).strip("\n")
    return Rendered(text=text, mentions=r.mentions)


def _lines(pieces: Any) -> str:
    """Join block-level pieces so each starts on its own line (a piece's own final "\\n" suffices)."""
    out = ""
    for piece in pieces:
        if not piece or not piece.strip():
            continue
        if out and not out.endswith("\n"):
            out += "\n"
        out += piece
    return out


def _emoji(el: dict[str, Any]) -> str:
    name = _str(el.get("name"))
    if name:
        return f":{name}:"
    code = _str(el.get("unicode"))
    try:
        return "".join(chr(int(cp, 16)) for cp in code.split("-") if cp)
    except (ValueError, OverflowError):
        return ""


_DATE_TOKENS = {
    "{date_num}": "%Y-%m-%d",
    "{date_slash}": "%m/%d/%Y",
    "{date_long}": "%A, %B {day}, %Y",
    "{date_long_full}": "%A, %B {day}, %Y",
    "{date_long_pretty}": "%A, %B {day}, %Y",
    "{date}": "%B {day}, %Y",
    "{date_pretty}": "%B {day}, %Y",
    "{date_short}": "%b {day}, %Y",
    "{date_short_pretty}": "%b {day}, %Y",
    "{time}": "%H:%M",
    "{time_secs}": "%H:%M:%S",
    "{ago}": "%B {day}, %Y",
    "{day_divider_pretty}": "%A, %B {day}",
}


def _date(el: dict[str, Any]) -> str:
    ts = el.get("timestamp")
    fmt = _str(el.get("format")) or "{date_num}"
    fallback = _str(el.get("fallback"))
    if isinstance(ts, str) and ts.strip().isdigit():
        ts = int(ts)
    if isinstance(ts, bool) or not isinstance(ts, int | float):
        return fallback
    try:
        when = datetime.fromtimestamp(ts, UTC)
    except (OverflowError, OSError, ValueError):
        return fallback
    out = fmt
    for token, pattern in _DATE_TOKENS.items():
        if token in out:
            out = out.replace(token, when.strftime(pattern).replace("{day}", str(when.day)))
    return out if "{" not in out else (fallback or when.strftime("%Y-%m-%d"))


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


__all__ = ["FALLBACK_TEXTS", "is_fallback_text", "render_blocks"]
