"""The Slack Web API with a bot token (``xoxb-…``), through ``slack_sdk``'s :class:`WebClient`.

Methods used, with their rate-limit tier (calls per minute per workspace):

    auth.test               tier 4 (100)  the workspace URL, for permalinks
    users.conversations     tier 3 (50)   the channels the bot is a member of (public and private,
                                          archived ones left out), cursor pagination
    users.list              tier 2 (20)   names, emails and time zones (``tz``, ``tz_offset``)
    conversations.history   tier 3 (50)   a channel's top-level messages after ``oldest`` (exclusive),
                                          newest first, cursor pagination (``response_metadata.next_cursor``)
    conversations.replies   tier 3 (50)   one thread: its parent and every reply

Scopes the bot needs: ``channels:read``, ``groups:read``, ``channels:history``,
``groups:history``, ``users:read`` and ``users:read.email`` (without the last,
authors have no email).

Pacing: every method has a token bucket of its tier's size, refilled over a
minute, so bursts pass and a long sync settles at the tier's rate. A ``429``
answer is retried after its ``Retry-After`` seconds (``slack_sdk``'s
:class:`RateLimitErrorRetryHandler`, up to :data:`RATE_LIMIT_RETRIES` times); a
reset connection and a ``500``/``503`` once.

Errors: every ``slack_sdk`` failure becomes a :class:`SlackProblem` whose text
is one line saying what to fix (``invalid_auth``/``token_revoked``: the token;
``missing_scope``: the scope Slack says is ``needed``; ``channel_not_found``:
the channel), never the token.

Messages become documents through :func:`connectors.slack.thread_documents`, the
same conversion an export goes through: a thread read here and the same thread
read from an export give the same document.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from connectors.slack import parse_ts, thread_documents
from connectors.slack_export import Directory, SlackUser, user_from_json
from connectors.tls import certificate_failed, certificate_line
from followthrough.errors import FollowthroughError, InputError
from followthrough.types import SourceDocument

log = logging.getLogger(__name__)

PAGE_SIZE = 200
"""Items per page (Slack advises no more than 200)."""
RATE_LIMIT_RETRIES = 5
"""429 answers retried (each after its ``Retry-After``) before a call fails."""
TIER_PER_MINUTE: Mapping[str, int] = {
    "auth.test": 100,
    "users.conversations": 50,
    "users.list": 20,
    "conversations.history": 50,
    "conversations.replies": 50,
}
"""Calls per minute each method may make (Slack's documented tier)."""

_TOKEN_ERRORS = {
    "invalid_auth": "the bot token is not valid",
    "not_authed": "no bot token was sent",
    "token_revoked": "the bot token was revoked",
    "token_expired": "the bot token has expired",
    "account_inactive": "the bot token belongs to a deleted user or a removed app",
    "not_allowed_token_type": "the token is not a bot token (xoxb-...)",
}
_CHANNEL_ERRORS = frozenset({"channel_not_found", "not_in_channel", "is_archived"})


class SlackProblem(FollowthroughError):
    """A Slack API call failed; ``str()`` is one line saying what to fix. ``error`` is Slack's code
    (``"invalid_auth"``, ``"missing_scope"``, ``"channel_not_found"``…, ``"unreachable"``)."""

    def __init__(self, error: str, line: str) -> None:
        self.error = error
        super().__init__(line)

    @property
    def auth_failed(self) -> bool:
        """Slack refused the token (invalid, revoked, expired, or its account deactivated)."""
        return self.error in _TOKEN_ERRORS

    @property
    def channel_gone(self) -> bool:
        """The channel was deleted or archived, or the bot is no longer in it."""
        return self.error in _CHANNEL_ERRORS


@dataclass(frozen=True)
class Channel:
    """A conversation the bot is a member of: ``id`` (``C…``/``G…``) and ``name`` (no ``#``)."""

    id: str
    name: str


@dataclass
class _Pacer:
    """A token bucket per method: ``per_minute`` calls at once, then one every ``60/per_minute`` s."""

    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    def wait(self, method: str) -> None:
        rate = TIER_PER_MINUTE.get(method, 20)
        now = self.clock()
        tokens, last = self.buckets.get(method, (float(rate), now))
        tokens = min(float(rate), tokens + (now - last) * rate / 60)
        if tokens < 1:
            self.sleep((1 - tokens) * 60 / rate)
            now, tokens = self.clock(), 1.0
        self.buckets[method] = (tokens - 1, now)


class SlackApi:
    """The calls a sync makes, paced and with errors as :class:`SlackProblem`.

    ``token`` is the bot token; ``base_url`` overrides ``https://slack.com/api/`` (tests point it
    at a local server); ``timeout`` is seconds per HTTP request.
    """

    def __init__(self, token: str, *, base_url: str | None = None, timeout: int = 30) -> None:
        handlers = [
            RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
            ConnectionErrorRetryHandler(),
            ServerErrorRetryHandler(),
        ]
        kwargs: dict[str, Any] = {"base_url": base_url} if base_url else {}
        self.client = WebClient(token=token, timeout=timeout, retry_handlers=handlers, **kwargs)
        self.pacer = _Pacer()

    # -- one call, and pages of them --------------------------------------------------
    def call(self, method: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """One ``GET`` of ``method`` with ``params``; the answer's JSON object."""
        self.pacer.wait(method)
        try:
            response = self.client.api_call(method, http_verb="GET", params=dict(params))
        except SlackApiError as e:
            raise problem(method, e.response.data, e.response.status_code) from e
        except (SlackClientError, OSError) as e:  # URLError, timeouts and refused connections are OSError
            where = self.client.base_url
            if certificate_failed(e):
                host = urlsplit(where).hostname or where
                raise SlackProblem("certificate_verify_failed", certificate_line(host)) from e
            raise SlackProblem("unreachable", f"cannot reach the Slack API at {where} ({e})") from e
        data = response.data
        return data if isinstance(data, dict) else {}

    def pages(self, method: str, key: str, params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """Every item of list ``key`` over all pages of ``method`` (``cursor``/``next_cursor``)."""
        cursor = ""
        seen: set[str] = set()
        while True:
            page = self.call(method, {**params, "limit": PAGE_SIZE, **({"cursor": cursor} if cursor else {})})
            for item in page.get(key) or []:
                if isinstance(item, dict):
                    yield item
            meta = page.get("response_metadata")
            cursor = meta.get("next_cursor", "") if isinstance(meta, dict) else ""
            if not cursor or cursor in seen:  # a cursor seen before would loop forever
                return
            seen.add(cursor)

    # -- what a sync asks -------------------------------------------------------------
    def workspace_url(self) -> str | None:
        """``https://team.slack.com/`` (``auth.test``); also checks the token first thing."""
        url = self.call("auth.test", {}).get("url")
        return url if isinstance(url, str) and url else None

    def channels(self) -> list[Channel]:
        """The public and private channels the bot is in (archived ones left out), by name."""
        params = {"types": "public_channel,private_channel", "exclude_archived": "true"}
        found = [
            Channel(id=c["id"], name=c.get("name") or c["id"])
            for c in self.pages("users.conversations", "channels", params)
            if isinstance(c.get("id"), str)
        ]
        return sorted(found, key=lambda c: c.name)

    def directory(self, channels: Sequence[Channel]) -> Directory:
        """Who is who (``users.list``, deleted users kept: old messages name them) and channel names."""
        users: dict[str, SlackUser] = {}
        for obj in self.pages("users.list", "members", {}):
            user = user_from_json(obj)
            if user is not None:
                users[user.id] = user
        return Directory(
            users=users,
            channels={c.id: c.name for c in channels},
            display={uid: u.name for uid, u in users.items()},
        )

    def history(self, channel: Channel, oldest: str | None) -> list[dict[str, Any]]:
        """The channel's top-level messages (and thread broadcasts) after ``oldest``, oldest first."""
        params = {"channel": channel.id, **({"oldest": oldest} if oldest else {})}
        try:
            messages = list(self.pages("conversations.history", "messages", params))
        except SlackProblem as e:
            raise _about(e, channel) from e
        return sorted(messages, key=lambda m: parse_ts(m.get("ts")) or (0, 0))

    def replies(self, channel: Channel, thread_ts: str) -> list[dict[str, Any]]:
        """One thread, its parent first; ``[]`` when the thread is gone (``thread_not_found``)."""
        try:
            return list(
                self.pages("conversations.replies", "messages", {"channel": channel.id, "ts": thread_ts})
            )
        except SlackProblem as e:
            if e.error == "thread_not_found":
                return []
            raise _about(e, channel) from e


def problem(method: str, body: object, status: int | None = None) -> SlackProblem:
    """Slack's error answer to ``method`` as one line saying what to fix.

    ``body`` is the JSON answer (``{"ok": false, "error": "missing_scope", "needed": "channels:history"}``).
    """
    data = body if isinstance(body, dict) else {}
    error = str(data.get("error") or (f"HTTP {status}" if status else "unknown_error"))
    if error in _TOKEN_ERRORS:
        return SlackProblem(
            error, f"{_TOKEN_ERRORS[error]} ({error}): install the app again and set a new token"
        )
    if error == "missing_scope":
        needed = data.get("needed")
        scope = f"scope {needed}" if isinstance(needed, str) and needed else "a scope"
        return SlackProblem(
            error,
            f"the bot token lacks {scope} ({method}): add it under OAuth & Permissions and reinstall the app",
        )
    if error in _CHANNEL_ERRORS:
        return SlackProblem(error, f"{method}: channel not found ({error})")
    if error == "ratelimited" or status == 429:
        return SlackProblem(
            "ratelimited",
            f"{method}: still rate limited after {RATE_LIMIT_RETRIES} retries; sync again later",
        )
    return SlackProblem(error, f"{method} failed: {error}")


def _about(e: SlackProblem, channel: Channel) -> SlackProblem:
    """``e`` naming ``channel`` when the channel itself is the problem."""
    if not e.channel_gone:
        return e
    return SlackProblem(
        e.error,
        f"channel #{channel.name} ({channel.id}) is gone ({e.error}): it was deleted or archived, or the bot "
        "was removed; invite the bot again or drop it from channels",
    )


def with_permalinks(messages: Sequence[dict[str, Any]], workspace_url: str | None, channel: Channel) -> None:
    """Give each message its ``permalink`` (``https://team.slack.com/archives/C1/p1700000000000100``,
    with ``?thread_ts=…&cid=…`` for a reply), as Slack's ``chat.getPermalink`` builds them."""
    if not workspace_url:
        return
    base = workspace_url.rstrip("/")
    for m in messages:
        ts, thread_ts = m.get("ts"), m.get("thread_ts")
        if not isinstance(ts, str) or "permalink" in m:
            continue
        link = f"{base}/archives/{channel.id}/p{ts.replace('.', '')}"
        if isinstance(thread_ts, str) and thread_ts != ts:
            link += f"?thread_ts={thread_ts}&cid={channel.id}"
        m["permalink"] = link


def thread_document(
    channel: Channel, messages: Sequence[dict[str, Any]], directory: Directory, *, origin: str
) -> list[SourceDocument]:
    """One thread's messages → its document (``[]`` when none of them is worth reading).

    A message that cannot be read (a ``ts`` that is not a Slack timestamp) is logged as a warning
    and left out; the rest of the thread is read.
    """
    return list(thread_documents(channel.name, messages, directory, origin=origin, on_error=_warn))


def _warn(error: InputError, /) -> None:
    log.warning("%s", error)


__all__ = [
    "PAGE_SIZE",
    "RATE_LIMIT_RETRIES",
    "TIER_PER_MINUTE",
    "Channel",
    "SlackApi",
    "SlackProblem",
    "problem",
    "thread_document",
    "with_permalinks",
]
