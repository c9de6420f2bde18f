"""Slack ``mrkdwn`` message text → plain text a person (and an extractor) reads.

Slack stores message text with angle-bracket tokens and three HTML entities::

    <@U0BMQB6JE>            → @Hamza Faran     (users.json real name; the id if unknown)
    <@U0BMQB6JE|hamza>      → @Hamza Faran     (the label when the user is unknown)
    <#C0JGLMMNX|enrique>    → #enrique
    <!here> <!channel>      → @here @channel
    <!subteam^S1|@eng>      → @eng
    <!date^1392734382^{date}|Feb 18th> → Feb 18th
    <https://x.io|label>    → label
    <https://x.io>          → https://x.io
    &lt; &gt; &amp;         → < > &

The tokens are replaced first and the entities unescaped after, so an escaped
``&lt;@U1&gt;`` stays literal text. A name looked up for a token is cut at
:data:`MAX_NAME_CHARS` (see :func:`shown_name`), so the text never grows past a
bounded multiple of the message, whatever ``users.json`` holds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

_TOKEN = re.compile(r"<([^<>\n]*)>")
MAX_NAME_CHARS = 80
"""Slack's own limit on a user's display name and real name (a channel name is shorter still)."""


def shown_name(name: str) -> str:
    """A user or channel name as a mention shows it: at most :data:`MAX_NAME_CHARS` characters."""
    return name[:MAX_NAME_CHARS]


@dataclass
class Rendered:
    """Plain text plus the user ids it mentioned, in order of first mention."""

    text: str
    mentions: list[str] = field(default_factory=list)


def render_mrkdwn(
    raw: str,
    user_names: Mapping[str, str],
    channel_names: Mapping[str, str] | None = None,
) -> Rendered:
    """Replace Slack tokens in ``raw`` with readable text; see the module docstring."""
    mentions: list[str] = []
    channels = channel_names or {}

    def replace(match: re.Match[str]) -> str:
        body = match.group(1)
        target, _, label = body.partition("|")
        if target.startswith("@"):
            uid = target[1:]
            if uid not in mentions:
                mentions.append(uid)
            return "@" + (shown_name(user_names.get(uid) or "") or label.lstrip("@") or uid)
        if target.startswith("#"):
            cid = target[1:]
            return "#" + (label or shown_name(channels.get(cid) or "") or cid)
        if target.startswith("!"):
            command = target[1:]
            if label:
                return label
            keyword = command.split("^", 1)[0]
            return "@" + keyword
        if label:
            return label
        if target.startswith("mailto:"):
            return target[len("mailto:") :]
        return target

    text = _TOKEN.sub(replace, raw)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return Rendered(text=text, mentions=mentions)


__all__ = ["MAX_NAME_CHARS", "Rendered", "render_mrkdwn", "shown_name"]
