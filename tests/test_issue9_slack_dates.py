"""Slack due dates are resolved per message, on the author's own local day.

(a) shared/regressions/slack-thread-reply-later-day, read in place through the CLI: a
    late thread reply no longer moves "by Friday" said a week earlier;
(b) a hand-built export: "tomorrow" written at 23:35 in New York is the next New York
    day (not the next UTC day), and a late reply leaves an earlier message's due date alone;
(c) ``Segment.occurred_at`` must be timezone-aware.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from connectors.slack import SlackConnector
from extractor.offline import OfflineExtractor
from followthrough.types import ExtractedItem, Segment, SourceDocument
from tests.clirunner import followthrough
from tests.conftest import SHARED

CASE = SHARED / "regressions" / "slack-thread-reply-later-day"
NEW_YORK = ZoneInfo("America/New_York")


# -- (a) the regression input, end to end ---------------------------------------------


def test_regression_thread_reply_on_a_later_day_keeps_each_messages_due_date(tmp_path: Path) -> None:
    assert (CASE / "expected.txt").is_file(), f"regression case missing: {CASE}"
    assert (CASE / "export").is_dir(), f"regression case missing its export: {CASE}"
    db = tmp_path / "x.db"
    run = followthrough("--company-domains", "northwind.example", "--as-of", "2026-03-12", "run", CASE, db=db)
    assert run.returncode == 0, run.stderr

    with sqlite3.connect(db) as conn:
        docs = [(t, json.loads(s)) for t, s in conn.execute("SELECT text, segments FROM documents")]
    assert len(docs) == 2, [t for t, _ in docs]
    (thread,) = [(t, s) for t, s in docs if t.startswith("Can you send the security questionnaire")]
    text, segments = thread
    assert [s["speaker"] for s in segments] == ["Priya Natarajan", "Marco Bianchi", "Marco Bianchi"]
    assert text.count("Quick update for everyone") == 1  # the broadcast is not duplicated
    times = [datetime.fromisoformat(s["occurred_at"]) for s in segments]
    assert times == sorted(times)
    assert times[0] == datetime(2026, 3, 2, 15, 0, 0, 100, tzinfo=UTC)
    assert times[0].utcoffset() == timedelta(hours=-6)  # Priya's America/Chicago
    assert times[1].utcoffset() == timedelta(hours=-5)  # Marco's America/New_York (EST)

    export = followthrough("export", "--format", "jsonl", db=db)
    assert export.returncode == 0, export.stderr
    rows = [json.loads(line) for line in export.stdout.splitlines() if line.strip()]
    (request,) = [r for r in rows if r["evidence"].startswith("Can you send the security questionnaire")]
    (promise,) = [r for r in rows if "I'll send them by Friday" in r["evidence"]]
    assert request["type"] == "request"
    assert promise["type"] == "commitment"
    assert promise["owner"] == "marco@northwind.example"
    assert request["due"] == "2026-03-06"
    assert promise["due"] == "2026-03-06"
    for r in (request, promise):
        assert text[r["char_start"] : r["char_end"]] == r["evidence"]


# -- (b) a hand-built export ---------------------------------------------------------------


def _ts(when: datetime, seq: int) -> str:
    return f"{int(when.timestamp())}.{seq:06d}"


def _export(root: Path, messages: list[dict[str, Any]], users: list[dict[str, Any]] | None = None) -> Path:
    root.mkdir()
    users = users or [
        {
            "id": "U01MARCO",
            "name": "marco",
            "real_name": "Marco Bianchi",
            "tz": "America/New_York",
            "tz_offset": -18000,
            "profile": {"real_name": "Marco Bianchi", "email": "marco@northwind.example"},
        },
        {
            "id": "U02PRIYA",
            "name": "priya",
            "real_name": "Priya Natarajan",
            "tz": "Europe/Berlin",
            "tz_offset": 3600,
            "profile": {"real_name": "Priya Natarajan", "email": "priya@globex.example"},
        },
    ]
    (root / "users.json").write_text(json.dumps(users), encoding="utf-8")
    (root / "channels.json").write_text(
        json.dumps([{"id": "C01", "name": "globex-deal", "members": [u["id"] for u in users]}]),
        encoding="utf-8",
    )
    by_day: dict[str, list[dict[str, Any]]] = {}
    for m in messages:
        day = datetime.fromtimestamp(float(m["ts"]), UTC).date().isoformat()
        by_day.setdefault(day, []).append({"type": "message", **m})
    (root / "globex-deal").mkdir()
    for day, msgs in by_day.items():
        (root / "globex-deal" / f"{day}.json").write_text(json.dumps(msgs), encoding="utf-8")
    return root


def _items(root: Path) -> tuple[list[SourceDocument], list[ExtractedItem]]:
    docs = list(SlackConnector(root).documents())
    extractor = OfflineExtractor()
    return docs, [item for doc in docs for item in extractor.extract(doc)]


def test_tomorrow_late_at_night_in_new_york_is_the_next_new_york_day(tmp_path: Path) -> None:
    written = datetime(2026, 3, 5, 23, 35, tzinfo=NEW_YORK)  # Thu 23:35 EST = Fri 04:35 UTC
    assert written.astimezone(UTC) == datetime(2026, 3, 6, 4, 35, tzinfo=UTC)
    root = _export(
        tmp_path / "export", [{"user": "U01MARCO", "text": "I'll send it tomorrow.", "ts": _ts(written, 1)}]
    )

    docs, items = _items(root)
    (doc,) = docs
    (seg,) = doc.segments
    assert seg.occurred_at is not None and seg.occurred_at.replace(microsecond=0) == written
    assert seg.occurred_at.utcoffset() == timedelta(hours=-5)
    (item,) = items
    assert item.type == "commitment"
    assert item.due == date(2026, 3, 6)  # the next New York day, not 2026-03-07 (the next UTC day)


def test_tomorrow_through_the_cli_uses_the_authors_day(tmp_path: Path) -> None:
    written = datetime(2026, 3, 5, 23, 35, tzinfo=NEW_YORK)
    root = _export(
        tmp_path / "export", [{"user": "U01MARCO", "text": "I'll send it tomorrow.", "ts": _ts(written, 1)}]
    )
    db = tmp_path / "x.db"
    run = followthrough("--company-domains", "northwind.example", "--as-of", "2026-03-06", "run", root, db=db)
    assert run.returncode == 0, run.stderr
    export = followthrough("export", "--format", "jsonl", db=db)
    assert export.returncode == 0, export.stderr
    rows = [json.loads(line) for line in export.stdout.splitlines() if line.strip()]
    (row,) = [r for r in rows if r["evidence"] == "I'll send it tomorrow."]
    assert row["due"] == "2026-03-06"


def test_a_late_reply_does_not_move_an_earlier_messages_due_date(tmp_path: Path) -> None:
    asked = datetime(2026, 3, 2, 10, 0, tzinfo=NEW_YORK)  # Monday
    late = datetime(2026, 3, 10, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))  # Tuesday of the next week
    parent_ts = _ts(asked, 100)
    messages = [
        {"user": "U01MARCO", "text": "I'll send the signed contract by Friday.", "ts": parent_ts,
         "thread_ts": parent_ts},
        {"user": "U02PRIYA", "text": "Any news on this?", "ts": _ts(late, 200), "thread_ts": parent_ts},
    ]  # fmt: skip
    root = _export(tmp_path / "export", messages)

    docs, items = _items(root)
    (doc,) = docs
    assert doc.occurred_at.replace(microsecond=0) == late  # the thread is still dated by its newest reply
    times = [s.occurred_at.replace(microsecond=0) for s in doc.segments if s.occurred_at is not None]
    assert times == [asked, late]
    (promise,) = [i for i in items if i.type == "commitment"]
    assert promise.due == date(2026, 3, 6)  # Friday of the week it was said, not 2026-03-13


def test_segment_time_falls_back_to_tz_offset_then_utc(tmp_path: Path) -> None:
    when = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)
    users = [
        {"id": "U01", "name": "a", "real_name": "Ann", "tz_offset": 19800, "profile": {}},
        {"id": "U02", "name": "b", "real_name": "Bob", "tz": "Not/AZone", "profile": {}},
    ]
    messages = [
        {"user": "U01", "text": "Hello there.", "ts": _ts(when, 1)},
        {"user": "U02", "text": "Hi.", "ts": _ts(when, 2)},
    ]
    root = _export(tmp_path / "export", messages, users)
    docs = list(SlackConnector(root).documents())
    offsets = [s.occurred_at.utcoffset() for d in docs for s in d.segments if s.occurred_at is not None]
    assert offsets == [timedelta(hours=5, minutes=30), timedelta(0)]


# -- (c) the shared type ------------------------------------------------------------------------


def test_segment_occurred_at_is_optional_and_must_be_aware() -> None:
    assert Segment(char_start=0, char_end=2, text="hi").occurred_at is None
    aware = datetime(2026, 3, 2, 9, 0, tzinfo=timezone(timedelta(hours=-6)))
    assert Segment(char_start=0, char_end=2, text="hi", occurred_at=aware).occurred_at == aware
    with pytest.raises(ValidationError, match="timezone-aware"):
        Segment(char_start=0, char_end=2, text="hi", occurred_at=datetime(2026, 3, 2, 9, 0))
