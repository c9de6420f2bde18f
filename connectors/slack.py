"""Slack: workspace exports (ZIP or folder) and single JSON files of messages.

One :class:`SourceDocument` per **thread**: the parent message first, then its
replies in ``ts`` order, one :class:`Segment` per message (speaker = the
author's real name, ``speaker_email`` from ``users.json``). A message nobody
replied to is a thread of one. So every promise keeps its own author even when
it is the third reply, and the extractor still sees the question it answers.

    text           the messages' plain text joined with "\\n" (no name prefixes;
                   the segments say who wrote what)
    external_id    "<channel>/<thread_ts>" (= "<channel>/<ts>" for a lone message)
    thread_id      the same
    occurred_at    the latest message's ts, UTC; each segment carries its own
                   message's ts as ``occurred_at``, in the author's time zone
                   (``tz`` from users.json, else ``tz_offset``, else UTC), so
                   "by Friday" and "tomorrow" are read from the day it was written
    participants   the thread starter (role "sender"), the other authors
                   ("speaker"), then @-mentioned users who did not write ("mentioned")
    metadata       "channel"; "segment_ts": a JSON list, one ts per segment

A message whose ``text`` is empty, missing or only Slack's fallback ("This
message contains interactive elements.") is read from its Block Kit ``blocks``
(see :mod:`connectors.slack_blocks`); otherwise ``text`` is Slack's own
rendering and is used as it is.

Noise left out: joins/leaves/topic changes and other system subtypes, bot
messages (``bot_message`` or no human ``user``), and messages with no text. A
``thread_broadcast`` reply is kept once, inside its thread. Edited messages use
their current text (what the export holds). Replies are grouped across day
files, one channel at a time, so memory grows with one channel, not the export.

A broken day file (unreadable, not JSON, nested too deeply, not a list) is
passed to ``on_error`` as an :class:`InputError` naming it and the rest of the
export is read; so are a file's entries that are not message objects (one line
per file) and a thread the document model refuses. A symlink leading out of an
export folder is not followed unless the connector was made with
``follow_symlinks``.
"""

from __future__ import annotations

import json
import zipfile
from collections import ChainMap
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from connectors.base import Connector, ErrorSink, raise_error
from connectors.slack_blocks import is_fallback_text, render_blocks
from connectors.slack_export import (
    METADATA_FILES,
    Directory,
    Export,
    FolderExport,
    SlackUser,
    ZipExport,
    first_line,
    folder_directory,
    parse_json,
    zip_root,
)
from connectors.slack_text import Rendered, render_mrkdwn
from followthrough.errors import InputError
from followthrough.limits import MAX_BODY_CHARS, MAX_PART_CHARS
from followthrough.types import Participant, ParticipantRole, Segment, SourceDocument

SKIP_SUBTYPES = frozenset(
    {
        "bot_message",
        "bot_add",
        "bot_remove",
        "bot_enable",
        "bot_disable",
        "channel_join",
        "channel_leave",
        "group_join",
        "group_leave",
        "channel_topic",
        "channel_purpose",
        "channel_name",
        "channel_archive",
        "channel_unarchive",
        "group_topic",
        "group_purpose",
        "group_name",
        "group_archive",
        "group_unarchive",
        "channel_convert_to_private",
        "channel_convert_to_public",
        "pinned_item",
        "unpinned_item",
        "reminder_add",
        "reminder_delete",
        "joiner_notification",
        "tombstone",
        "message_deleted",
        "message_changed",
        "sh_room_created",
        "huddle_thread",
        "slackbot_response",
        "app_conversation_join",
        "ekm_access_denied",
    }
)
_PEEK_BYTES = 64 * 1024


@dataclass
class _Message:
    ts: str
    key: tuple[int, int]
    thread_ts: str
    user: str
    text: str
    mentions: list[str]
    origin: str
    permalink: str | None = None


@dataclass
class _Names:
    """Who is who: the export's :class:`Directory` (shared, never changed) plus what messages'
    ``user_profile`` tell us (this reading's own). Nothing is copied: making one costs the same
    whatever the size of ``users.json``."""

    known: Directory = field(default_factory=Directory)
    learned: dict[str, SlackUser] = field(default_factory=dict)
    display: Mapping[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self._learned_display: dict[str, str] = {}
        # ChainMap only reads the shared directory (its type asks for a mutable one).
        self.display = ChainMap(self._learned_display, cast(dict[str, str], self.known.display))

    @property
    def channels(self) -> Mapping[str, str]:
        return self.known.channels

    def learn(self, msg: dict[str, Any]) -> None:
        uid, profile = msg.get("user"), msg.get("user_profile")
        known = isinstance(uid, str) and (uid in self.known.users or uid in self.learned)
        if isinstance(uid, str) and not known and isinstance(profile, dict):
            name = next(
                (
                    v.strip()
                    for k in ("real_name", "display_name", "name")
                    if isinstance(v := profile.get(k), str) and v.strip()
                ),
                uid,
            )
            handle = profile.get("name") if isinstance(profile.get("name"), str) else None
            self.learned[uid] = SlackUser(id=uid, name=name, handle=handle)
            self._learned_display[uid] = name

    def user(self, uid: str) -> SlackUser:
        return self.known.users.get(uid) or self.learned.get(uid) or SlackUser(id=uid, name=uid)


_MAX_TS = 253_402_214_400  # 9999-12-31 00:00 UTC: later than this no datetime (in any zone) can hold


def parse_ts(ts: object) -> tuple[int, int] | None:
    """``"1434139102.000002"`` → ``(1434139102, 2)``; ``None`` when it is not a Slack ts.

    Only ASCII digits, and seconds a datetime holds in every time zone (before year 9999).
    """
    if not isinstance(ts, str):
        return None
    sec, _, frac = ts.partition(".")
    if not (sec.isascii() and sec.isdigit()) or (frac and not (frac.isascii() and frac.isdigit())):
        return None
    if len(sec) > 12 or int(sec) >= _MAX_TS:
        return None
    return int(sec), int((frac + "000000")[:6])


def ts_datetime(key: tuple[int, int]) -> datetime:
    return datetime.fromtimestamp(key[0], UTC).replace(microsecond=key[1])


def user_zone(user: SlackUser) -> tzinfo:
    """The author's time zone: ``tz`` from users.json, else its ``tz_offset``, else UTC."""
    if user.tz:
        try:
            return ZoneInfo(user.tz)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass  # OSError: a folder of zones ("America") or a name too long for a file name
    if user.tz_offset is not None and abs(user.tz_offset) < 86400:
        return timezone(timedelta(seconds=user.tz_offset))
    return UTC


class SlackConnector(Connector):
    """Reads a Slack export folder or ZIP, or one JSON file holding a message or a list of them."""

    @classmethod
    def detect(cls, path: Path) -> bool:
        if path.is_dir():
            return any((path / m).is_file() for m in ("channels.json", "users.json"))
        suffix = path.suffix.lower()
        if suffix == ".zip":
            return _zip_is_export(path)
        if suffix == ".json":
            return path.name not in METADATA_FILES and _looks_like_messages(path)
        return False

    def documents(self) -> Iterator[SourceDocument]:
        if self.path.is_dir():
            export: Export = FolderExport(self.path, self.on_error, follow_symlinks=self.follow_symlinks)
            yield from self._read_export(export)
        elif self.path.suffix.lower() == ".zip" or zipfile.is_zipfile(self.path):
            try:
                archive = zipfile.ZipFile(self.path)
            except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as e:
                raise InputError(self.path, "not a valid ZIP archive") from e
            with archive:
                yield from self._read_export(ZipExport(self.path, archive, self.on_error))
        else:
            yield from self._read_message_file()

    # -- sources -------------------------------------------------------------------
    def _read_export(self, export: Export) -> Iterator[SourceDocument]:
        names = _Names(export.load_metadata())
        channel: str | None = None
        pending: list[_Message] = []
        for day in export.day_files():
            if day.channel != channel:
                if channel is not None:
                    yield from self._threads(channel, pending, names)
                channel, pending = day.channel, []
            try:
                data = parse_json(day.read(), day.origin)
            except InputError as e:
                self.on_error(e)
                continue
            if not isinstance(data, list):
                self.on_error(
                    InputError(day.origin, f"expected a JSON list of messages, not {_json_kind(data)}")
                )
                continue
            pending.extend(self._messages(data, day.origin, names))
        if channel is not None:
            yield from self._threads(channel, pending, names)

    def _read_message_file(self) -> Iterator[SourceDocument]:
        try:
            raw = self.path.read_bytes()
        except OSError as e:
            raise InputError(self.path, f"cannot read file ({e.strerror or e})") from e
        data = parse_json(raw, str(self.path))
        if isinstance(data, dict) and "ts" in data:
            data = [data]
        if not isinstance(data, list):
            raise InputError(self.path, "expected a Slack message or a JSON list of them")
        root = _export_root_above(self.path)
        names = _Names()
        if root is not None:
            names = _Names(folder_directory(root, self.on_error, follow_symlinks=self.follow_symlinks))
        default_channel = self.path.parent.name if root == self.path.parent.parent else self.path.stem
        _report_non_objects(data, str(self.path), self.on_error)
        by_channel: dict[str, list[dict[str, Any]]] = {}
        for obj in data:
            if isinstance(obj, dict):
                ch = obj.get("channel_name") or obj.get("channel")  # a name, or an id from the API
                ch = names.channels.get(ch, ch) if isinstance(ch, str) and ch else default_channel
                by_channel.setdefault(ch, []).append(obj)
        for ch, objs in by_channel.items():
            yield from self._threads(
                ch, list(self._messages(objs, str(self.path), names, report=False)), names
            )

    # -- messages and threads ------------------------------------------------------
    def _messages(
        self, objs: Sequence[object], origin: str, names: _Names, *, report: bool = True
    ) -> Iterator[_Message]:
        return _read_messages(objs, origin, names, self.on_error, report=report)

    def _threads(self, channel: str, messages: list[_Message], names: _Names) -> Iterator[SourceDocument]:
        return _thread_documents(channel, messages, names, self.on_error)


def thread_documents(
    channel: str,
    messages: Sequence[object],
    directory: Directory,
    *,
    origin: str,
    on_error: ErrorSink = raise_error,
) -> Iterator[SourceDocument]:
    """One channel's messages → one document per thread, exactly as an export of them reads.

    The one home of Slack message → :class:`SourceDocument`: the export reader and the Web API
    source (:mod:`connectors.slack_api`) both call it. ``channel`` is the channel's *name* (the
    export's folder name, so a thread read from the API and from an export get the same
    ``external_id``); ``messages`` are Slack message objects as ``conversations.history`` /
    ``conversations.replies`` return them (a thread's parent and its replies, in any order, repeats
    kept once); ``directory`` says who the users are (``users.list``) and what channels are called;
    ``origin`` names where they came from in error lines. A message that cannot be read goes to
    ``on_error`` and the rest are read.
    """
    names = _Names(directory)
    return _thread_documents(
        channel, list(_read_messages(messages, origin, names, on_error)), names, on_error
    )


def _read_messages(
    objs: Sequence[object], origin: str, names: _Names, on_error: ErrorSink, *, report: bool = True
) -> Iterator[_Message]:
    """The messages worth reading in one file's list; entries that are not objects are one line."""
    if report:
        _report_non_objects(objs, origin, on_error)
    for obj in objs:
        if not isinstance(obj, dict):
            continue
        names.learn(obj)
        try:
            msg = _accept(obj, origin, names)
        except InputError as e:
            on_error(e)
            continue
        if msg is not None:
            yield msg


def _thread_documents(
    channel: str, messages: list[_Message], names: _Names, on_error: ErrorSink
) -> Iterator[SourceDocument]:
    threads: dict[str, dict[str, _Message]] = {}
    for m in messages:
        threads.setdefault(m.thread_ts, {}).setdefault(m.ts, m)

    def start_key(item: tuple[str, dict[str, _Message]]) -> tuple[int, int]:
        return parse_ts(item[0]) or min(m.key for m in item[1].values())

    for thread_ts, by_ts in sorted(threads.items(), key=start_key):
        parent = by_ts.get(thread_ts)
        replies = sorted((m for ts, m in by_ts.items() if ts != thread_ts), key=lambda m: m.key)
        msgs = [parent, *replies] if parent else replies
        try:
            doc = _document(channel, thread_ts, msgs, names)
        except ValueError as e:  # the document model refused it (pydantic's ValidationError)
            where = f"{msgs[0].origin}#{thread_ts}"
            on_error(InputError(where, f"cannot read the thread ({first_line(e)})"))
            continue
        yield doc


def _ts_text(ts: object) -> object:
    """A ``ts`` some exporters write as a JSON number (``1773151926.5``) as Slack's string form."""
    if isinstance(ts, int) and not isinstance(ts, bool):
        return str(ts)
    if isinstance(ts, float) and ts == ts and abs(ts) < 1e15:
        return f"{ts:.6f}"
    return ts


def _accept(obj: dict[str, Any], origin: str, names: _Names) -> _Message | None:
    """A message worth reading, rendered; ``None`` for system noise, bots and empty text.

    Raises :class:`InputError` for a message with text whose ``ts`` is not a Slack timestamp:
    it cannot be placed in time or in its thread, and losing it silently would lose a promise.
    """
    if obj.get("type", "message") != "message" or obj.get("hidden"):
        return None
    subtype = obj.get("subtype")
    if isinstance(subtype, str) and subtype in SKIP_SUBTYPES:
        return None
    user = obj.get("user")
    if not isinstance(user, str) or not user:
        comment = obj.get("comment")
        user = comment.get("user") if isinstance(comment, dict) else None
        if not isinstance(user, str) or not user:
            return None
    ts = _ts_text(obj.get("ts"))
    key = parse_ts(ts)
    if key is None:
        shown = repr(ts)[:40]
        if _render(obj, names).text.strip():
            raise InputError(origin, f"a message by {user} has ts {shown}, not a Slack timestamp; not read")
        return None
    assert isinstance(ts, str)
    rendered = _render(obj, names)
    text = rendered.text.strip()
    if not text:
        return None
    thread_ts = obj.get("thread_ts")
    permalink = obj.get("permalink")
    return _Message(
        ts=ts,
        key=key,
        thread_ts=thread_ts if isinstance(thread_ts, str) and parse_ts(thread_ts) else ts,
        user=user,
        text=text,
        mentions=rendered.mentions,
        origin=origin,
        permalink=permalink if isinstance(permalink, str) else None,
    )


def _render(obj: dict[str, Any], names: _Names) -> Rendered:
    """The message's ``text``, or its ``blocks`` when the text is empty, missing or only a fallback."""
    raw = obj.get("text")
    raw = raw[:MAX_PART_CHARS] if isinstance(raw, str) else ""  # as a mail part: a thread is cut later
    if raw.strip() and not is_fallback_text(raw):
        return render_mrkdwn(raw, names.display, names.channels)
    from_blocks = render_blocks(obj.get("blocks"), names.display, names.channels)
    if from_blocks.text.strip() or not raw.strip():
        return from_blocks
    return render_mrkdwn(raw, names.display, names.channels)


def _document(channel: str, thread_ts: str, msgs: list[_Message], names: _Names) -> SourceDocument:
    """One thread (or a message without replies) as a document, each message a segment; a thread
    longer than :data:`~followthrough.limits.MAX_BODY_CHARS` is cut there, as a mail body is
    (metadata ``truncated``; the messages past the cut are not in it)."""
    parts: list[str] = []
    segments: list[Segment] = []
    pos = 0
    kept: list[_Message] = []
    for m in msgs:
        if pos + bool(parts) >= MAX_BODY_CHARS:
            break
        if parts:
            parts.append("\n")
            pos += 1
        text = m.text[: MAX_BODY_CHARS - pos]
        author = names.user(m.user)
        segments.append(
            Segment(
                speaker=author.name,
                speaker_email=author.email,
                char_start=pos,
                char_end=pos + len(text),
                text=text,
                occurred_at=ts_datetime(m.key).astimezone(user_zone(author)),
            )
        )
        parts.append(text)
        pos += len(text)
        kept.append(m)
    truncated = len(kept) < len(msgs) or len(kept[-1].text) > len(segments[-1].text)
    last = max(m.key for m in msgs)  # the thread's time is its last reply's, kept or not
    msgs = kept

    participants: list[Participant] = []
    seen: set[str] = set()
    for m in msgs:
        if m.user not in seen:
            seen.add(m.user)
            participants.append(
                _participant(
                    names.user(m.user), ParticipantRole.SPEAKER if participants else ParticipantRole.SENDER
                )
            )
    for m in msgs:
        for uid in m.mentions:
            if uid not in seen:
                seen.add(uid)
                participants.append(_participant(names.user(uid), ParticipantRole.MENTIONED))

    ident = f"{channel}/{thread_ts}"
    return SourceDocument(
        source="slack",
        external_id=ident,
        thread_id=ident,
        occurred_at=ts_datetime(last),
        title=f"#{channel}",
        participants=participants,
        segments=segments,
        text="".join(parts),
        url=next((m.permalink for m in msgs if m.permalink), None),
        origin=msgs[0].origin,
        metadata={"channel": channel, "segment_ts": json.dumps([m.ts for m in msgs])}
        | ({"truncated": "true"} if truncated else {}),
    )


def _json_kind(value: object) -> str:
    """``{...}`` → "an object", ``"x"`` → "a string": what a JSON value is, in words."""
    kinds = (
        (dict, "an object"),
        (list, "a list"),
        (str, "a string"),
        (bool, "a boolean"),
        ((int, float), "a number"),
    )
    return next((words for types, words in kinds if isinstance(value, types)), "null")


def _report_non_objects(objs: Sequence[object], origin: str, on_error: ErrorSink) -> None:
    """One ``on_error`` line for the entries of a message list that are not JSON objects."""
    bad = [n for n, obj in enumerate(objs, 1) if not isinstance(obj, dict)]
    if bad:
        first = f"#{bad[0]}, {_json_kind(objs[bad[0] - 1])}"
        what = (
            f"entry {first} is not a message object"
            if len(bad) == 1
            else (f"{len(bad)} entries are not message objects (the first: {first})")
        )
        on_error(InputError(origin, f"{what}; skipped"))


def _participant(user: SlackUser, role: ParticipantRole) -> Participant:
    return Participant(name=user.name, email=user.email, handle=user.handle, role=role)


def _zip_is_export(path: Path) -> bool:
    """A ZIP holding an export; also a broken ``.zip`` (only we read ZIPs), so its error is reported."""
    if not path.is_file():
        return False  # never open a FIFO or a device: it may block or never end
    try:
        with zipfile.ZipFile(path) as archive:
            return zip_root(archive.namelist()) is not None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError):
        return True


def _looks_like_messages(path: Path) -> bool:
    """A cheap peek: a JSON message (or list of them) carrying ``ts`` and ``text``, ``type`` or ``blocks``."""
    if not path.is_file():
        return False  # never open a FIFO or a device: it may block or never end
    try:
        with path.open("rb") as f:
            head = f.read(_PEEK_BYTES).decode("utf-8-sig", errors="ignore").lstrip()
    except OSError:
        return False
    body = head[1:].lstrip() if head.startswith("[") else head
    keys = ('"text"', '"type"', '"blocks"')
    return body.startswith("{") and '"ts"' in head and any(k in head for k in keys)


def _export_root_above(path: Path) -> Path | None:
    """The export folder a message file sits in (its own folder or the one above), if any."""
    for candidate in (path.parent, path.parent.parent):
        if any((candidate / m).is_file() for m in ("users.json", "channels.json")):
            return candidate
    return None


__all__ = ["SKIP_SUBTYPES", "SlackConnector", "parse_ts", "thread_documents", "ts_datetime", "user_zone"]
