"""An :class:`~followthrough.notify.digest.OwnerDigest` as a Slack message: Block Kit blocks and the
plain ``text`` fallback (shown in notifications and where blocks cannot be).

Within Slack's limits (https://api.slack.com/reference/block-kit/blocks): at most
:data:`MAX_BLOCKS` blocks (Slack's 50), and every ``mrkdwn`` text at most :data:`MAX_TEXT` characters
(Slack's 3,000). A digest with more items than fit (:func:`fit`) is cut: the items left out are
*not* announced: they stay new for the next digest, and the message's last block says so ("…and 12
more in your next digest") with a link to the owner's My items page, where all are listed now.
User text is escaped for ``mrkdwn`` (``&``, ``<``, ``>``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from followthrough.notify.digest import Entry, OwnerDigest
from followthrough.notify.render import details

MAX_BLOCKS = 50
MAX_TEXT = 3000
MAX_HEADER = 150
"""Slack's limit on a header block's plain text."""
_QUOTE_MAX = 600

Block = dict[str, Any]


def escape(text: str) -> str:
    """``text`` safe inside Slack ``mrkdwn`` (control characters ``&``, ``<``, ``>`` escaped)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(text, MAX_TEXT)}}


def _entry(entry: Entry) -> Block:
    item = entry.item
    tag = "changed" if entry.changed else "new"
    lines = [f"*<{entry.url}|{escape(_clip(item.action, 300)).replace('|', '¦')}>*  _{tag}_"]
    lines += [escape(line) for line in details(entry)]
    for q in item.quotes[:1]:
        quote = escape(_clip(" ".join(q.quote.split()), _QUOTE_MAX))
        lines.append(f"> “{quote}” _({q.source}, {q.occurred_at.date().isoformat()})_")
    return _section("\n".join(lines))


def fallback(digest: OwnerDigest) -> str:
    """The message's ``text``: who it is for and what it holds (:func:`fit` first), in one line."""
    digest = fit(digest)
    more = f" (and {digest.more} more in your next digest)" if digest.more else ""
    return f"followthrough for {digest.name}: {digest.summary()}{more}"


_FRAME = 3
"""Blocks every message has besides its sections: the header, the summary and the last line."""


def fit(digest: OwnerDigest) -> OwnerDigest:
    """``digest`` cut to what one message holds within :data:`MAX_BLOCKS` (a section's title and
    each item are one block each; sections in order, items in order): the items left out are
    counted in :attr:`OwnerDigest.more` (with any it already had), and the summary counts only
    those shown. ``digest`` itself when all fit."""
    room = MAX_BLOCKS - _FRAME
    kept: list[tuple[str, tuple[Entry, ...]]] = []
    for title, entries in digest.sections:
        if room < 2:  # a section's title and at least one of its items
            break
        take = entries[: room - 1]
        kept.append((title, take))
        room -= 1 + len(take)
    shown = sum(len(e) for _, e in kept)
    left = len(digest.entries) - shown
    if not left:
        return digest
    return replace(digest, sections=tuple(kept), more=digest.more + left)


def blocks(digest: OwnerDigest, *, mention: str | None = None) -> list[Block]:
    """The Block Kit blocks of ``digest`` (:func:`fit` first); ``mention``: how to name the owner at
    the top (a webhook posts to a shared channel: ``<@U123>`` or their name), ``None`` in a direct
    message."""
    digest = fit(digest)
    who = f" for {mention}" if mention else ""
    out: list[Block] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _clip(f"Your follow-ups{who}", MAX_HEADER)},
        },
        _section(f"*{escape(digest.summary())}* (as of {digest.as_of.isoformat()})"),
    ]
    for title, entries in digest.sections:
        out.append(_section(f"*{escape(title)}* ({len(entries)})"))
        out += [_entry(entry) for entry in entries]
    if digest.more:
        out.append(
            _section(
                f"…and {digest.more} more in your next digest: "
                f"<{digest.mine_url}|all your open items>, listed now"
            )
        )
    else:
        out.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"<{digest.mine_url}|All your open items>"}],
            }
        )
    return out
