"""Slack (Web API, bot token) as a live source: what is new in the channels the bot is in.

``[[source]]`` keys::

    kind = "slack"
    token_env = "SLACK_BOT_TOKEN"     # env var holding the xoxb- token (required)
    url = "https://slack.com/api/"    # API base URL (optional; tests point it at loopback)
    channels = ["sales", "C0123"]     # only these (names or ids); default: every channel the bot is in
    since_days = 90                   # first sync: only this far back (default: all history)
    thread_days = 14                  # re-check threads started this recently for new replies (0: never)
    max_threads = 200                 # ... at most this many per channel (the most recent)
    batch_size = 100                  # threads per batch (one transaction each)

Cursor, per channel id (``C123``):

    C123.ts       the newest top-level message ``ts`` read (``conversations.history`` ``oldest`` next time)
    C123.threads  JSON ``{thread_ts: latest_reply_ts}`` of the recent threads read, to spot new replies

Each sync reads a channel's history from ``min(C123.ts, now - thread_days)``: new top-level
messages become documents (a parent with replies is read whole with ``conversations.replies``),
and a recent parent whose ``latest_reply`` moved past the one recorded is read again (its
document replaced). Documents are one per thread, converted exactly as an export's
(:func:`connectors.slack.thread_documents`). Batches go oldest first; each carries the cursor
after it, so an interrupted sync resumes after the last stored batch.

Not seen: edits and deletions of messages already read, and replies to threads older than
``thread_days``. A channel that is gone (deleted, archived, the bot removed) or not found among
the bot's channels is one :class:`SourceError` after the other channels are read.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from connectors.slack import parse_ts
from connectors.slack_api import Channel, SlackApi, SlackProblem, thread_document, with_permalinks
from connectors.slack_export import Directory
from followthrough.sync.base import LiveSource, Pulled, SourceConfig, SourceError, source_error
from followthrough.types import SourceDocument

DEFAULTS: Mapping[str, int] = {"thread_days": 14, "max_threads": 200, "batch_size": 100}


@dataclass(frozen=True)
class _Settings:
    channels: tuple[str, ...]
    since_days: float | None
    thread_days: float
    max_threads: int
    batch_size: int


class SlackSource(LiveSource):
    """Pulls the channels a Slack bot is in, incrementally per channel; see the module docstring."""

    kind: ClassVar[str] = "slack"
    keys: ClassVar[frozenset[str]] = frozenset(
        {"token_env", "channels", "since_days", "thread_days", "max_threads", "batch_size"}
    )

    def __init__(self, config: SourceConfig) -> None:
        super().__init__(config)
        self.settings = _settings(config)

    def pull(self, cursor: Mapping[str, str]) -> Iterator[Pulled]:
        state = dict(cursor)
        gone: list[str] = []
        try:
            api = SlackApi(self.config.secret("token_env"), base_url=self.config.url or None)
            workspace = api.workspace_url()
            member_of = api.channels()
            channels, missing = _chosen(member_of, self.settings.channels)
            gone.extend(f"#{name}" for name in missing)
            directory = api.directory(member_of)
            for channel in channels:
                try:
                    yield from self._channel(api, channel, directory, workspace, state)
                except SlackProblem as e:
                    if not e.channel_gone:
                        raise
                    gone.append(f"#{channel.name} ({channel.id})")
        except SlackProblem as e:
            raise source_error(self.config, e) from e
        if gone:
            raise SourceError(
                f"source {self.config.name!r}: channel {', '.join(gone)} not found (deleted or archived, or "
                "the bot is not a member): invite the bot (/invite @app) or remove it from channels"
            )

    def _channel(
        self,
        api: SlackApi,
        channel: Channel,
        directory: Directory,
        workspace: str | None,
        state: dict[str, str],
    ) -> Iterator[Pulled]:
        """One channel's batches; ``state`` (the whole cursor) moves on with each."""
        s = self.settings
        now = time.time()
        newest = state.get(f"{channel.id}.ts")
        known: dict[str, str] = _load_threads(state.get(f"{channel.id}.threads"))
        window = f"{now - s.thread_days * 86400:.6f}" if s.thread_days > 0 else None
        if newest is None:
            oldest = f"{now - s.since_days * 86400:.6f}" if s.since_days is not None else None
        else:
            oldest = _min_ts(newest, window) if window else newest
        origin = f"slack:{self.config.name}#{channel.name}"
        batch: list[SourceDocument] = []
        done: set[str] = set()
        for m in api.history(channel, oldest):
            ts = m.get("ts")
            if not isinstance(ts, str) or parse_ts(ts) is None:
                continue
            raw_thread = m.get("thread_ts")
            thread_ts = raw_thread if isinstance(raw_thread, str) and parse_ts(raw_thread) else ts
            is_new = newest is None or _after(ts, newest)
            latest = _latest_reply(m)
            changed = latest is not None and _after(latest, known.get(thread_ts, thread_ts))
            if thread_ts not in done and (is_new or changed):
                done.add(thread_ts)
                if latest is not None or thread_ts != ts:
                    messages = api.replies(channel, thread_ts) or [m]
                else:
                    messages = [m]
                with_permalinks(messages, workspace, channel)
                batch.extend(thread_document(channel, messages, directory, origin=origin))
                reply_ts = [
                    r["ts"] for r in messages if isinstance(r.get("ts"), str) and r["ts"] != thread_ts
                ]
                if reply_ts:
                    known[thread_ts] = max(reply_ts, key=lambda t: parse_ts(t) or (0, 0))
            if is_new:
                newest = ts
            if len(batch) >= s.batch_size:
                yield self._batch(batch, channel, newest, known, window, state)
                batch = []
        if batch or (newest is not None and state.get(f"{channel.id}.ts") != newest):
            yield self._batch(batch, channel, newest, known, window, state)

    def _batch(
        self,
        documents: list[SourceDocument],
        channel: Channel,
        newest: str | None,
        known: dict[str, str],
        window: str | None,
        state: dict[str, str],
    ) -> Pulled:
        if newest is not None:
            state[f"{channel.id}.ts"] = newest
        kept = (
            sorted(
                ((t, r) for t, r in known.items() if not _after(window, t)),
                key=lambda item: parse_ts(item[0]) or (0, 0),
            )[-self.settings.max_threads :]
            if window is not None
            else []
        )
        state[f"{channel.id}.threads"] = json.dumps(dict(kept), sort_keys=True)
        return Pulled(documents=list(documents), crm=None, cursor=dict(state))


def _chosen(member_of: Sequence[Channel], wanted: Sequence[str]) -> tuple[list[Channel], list[str]]:
    """The channels to read (all the bot is in, or those ``wanted`` by name or id) and the wanted ones
    it is not in."""
    if not wanted:
        return list(member_of), []
    by_key = {c.id: c for c in member_of} | {c.name: c for c in member_of}
    found = [by_key[w.lstrip("#")] for w in wanted if w.lstrip("#") in by_key]
    missing = [w.lstrip("#") for w in wanted if w.lstrip("#") not in by_key]
    return list(dict.fromkeys(found)), missing


def _latest_reply(m: Mapping[str, Any]) -> str | None:
    """A parent's ``latest_reply`` ts (``None`` for a message nobody replied to)."""
    latest = m.get("latest_reply")
    if isinstance(latest, str) and parse_ts(latest):
        return latest
    count = m.get("reply_count")
    return m["ts"] if isinstance(count, int) and count > 0 else None


def _after(a: str, b: str) -> bool:
    """Whether Slack timestamp ``a`` is later than ``b`` (compared as numbers, not strings)."""
    return (parse_ts(a) or (0, 0)) > (parse_ts(b) or (0, 0))


def _min_ts(a: str, b: str) -> str:
    return b if _after(a, b) else a


def _load_threads(raw: str | None) -> dict[str, str]:
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}


def _settings(config: SourceConfig) -> _Settings:
    """The source's options, checked; a bad one is a :class:`SourceError` naming it."""
    o = config.options

    def number(key: str, default: float | None, *, whole: bool = False) -> float | None:
        value = o.get(key, default)
        if value is None:
            return None
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or value < 0
            or (whole and (not isinstance(value, int) or value < 1))
        ):
            what = "a whole number of at least 1" if whole else "a number of days, 0 or more"
            raise SourceError(f"source {config.name!r}: {key} must be {what}, not {value!r}")
        return float(value)

    channels = o.get("channels", [])
    if not isinstance(channels, list) or not all(isinstance(c, str) and c.strip() for c in channels):
        raise SourceError(f"source {config.name!r}: channels must be a list of channel names or ids")
    return _Settings(
        channels=tuple(c.strip() for c in channels),
        since_days=number("since_days", None),
        thread_days=number("thread_days", DEFAULTS["thread_days"]) or 0.0,
        max_threads=int(number("max_threads", DEFAULTS["max_threads"], whole=True) or 1),
        batch_size=int(number("batch_size", DEFAULTS["batch_size"], whole=True) or 1),
    )


__all__ = ["SlackSource"]
