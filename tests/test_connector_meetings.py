"""The meeting connectors: notes files and WebVTT transcripts (real Zoom samples, Teams cues)."""

from __future__ import annotations

import json
import os
import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from connectors.meetings import MeetingNotesConnector, VttTranscriptConnector
from connectors.meetings_common import parse_attendees, parse_when
from connectors.registry import reader_for
from followthrough.errors import InputError
from followthrough.types import SourceDocument
from tests.conftest import DEMO, DEMO_EXPECTED

NOTES = """\
# Acme renewal sync
Date: 2026-03-10 15:00 -05:00
Attendees: Marco Rossi <marco@northwind.io>, Dana Lee <dana@acme.com>, Priya Shah

Dana: We need the SOC 2 report before legal signs. Ça va? 🚀
Marco: Understood, I'll get it to you.
  It should be quick.
- Pricing is fine; SSO is the open question.
- Dana: worried about SSO timing

## Action items
- Marco: send the SOC 2 report to Dana by Friday
- [ ] Priya to schedule the follow-up next week
"""


def one(connector: type[MeetingNotesConnector | VttTranscriptConnector], path: Path) -> SourceDocument:
    docs = list(connector(path).documents())
    assert len(docs) == 1
    doc = docs[0]
    for seg in doc.segments:
        assert doc.text[seg.char_start : seg.char_end] == seg.text
    assert doc.source == "meeting" and doc.occurred_at.tzinfo is not None
    return doc


def test_notes_header_speakers_and_action_items(tmp_path: Path) -> None:
    path = tmp_path / "acme-sync.md"
    path.write_text(NOTES, encoding="utf-8")
    assert MeetingNotesConnector.detect(path) and not VttTranscriptConnector.detect(path)
    doc = one(MeetingNotesConnector, path)
    assert doc.title == "Acme renewal sync"
    assert doc.occurred_at == datetime(2026, 3, 10, 15, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert doc.metadata["date_source"] == "header"
    assert doc.external_id == doc.thread_id == "acme-sync.md#acme-renewal-sync-2026-03-10"
    assert doc.text.startswith("Dana: We need")  # the body; title and header are fields
    got = [(s.speaker, s.speaker_email, s.text) for s in doc.segments]
    assert got == [
        ("Dana Lee", "dana@acme.com", "We need the SOC 2 report before legal signs. Ça va? 🚀"),
        ("Marco Rossi", "marco@northwind.io", "Understood, I'll get it to you.\n  It should be quick."),
        (None, None, "Pricing is fine; SSO is the open question."),
        ("Dana Lee", "dana@acme.com", "worried about SSO timing"),
        (None, None, "Marco: send the SOC 2 report to Dana by Friday"),
        (None, None, "Priya to schedule the follow-up next week"),
    ]
    assert json.loads(doc.metadata["action_item_segments"]) == [4, 5]
    assert [(p.name, p.email, p.role) for p in doc.participants] == [
        ("Marco Rossi", "marco@northwind.io", "speaker"),
        ("Dana Lee", "dana@acme.com", "speaker"),
        ("Priya Shah", None, "attendee"),
    ]


def test_plain_text_notes_with_action_items_label_and_date_alone(tmp_path: Path) -> None:
    path = tmp_path / "call.txt"
    path.write_text(
        "Title: Globex kickoff\r\nDate: 2026-03-12\r\nAttendees: sam@globex.com, Lee Chan\r\n\r\n"
        "Sam: Could you share the API limits?\r\nLee: Sure.\r\n\r\nAction Items:\r\n"
        "1. Lee to send API limits\r\n",
        encoding="utf-8",
    )
    assert MeetingNotesConnector.detect(path)
    doc = one(MeetingNotesConnector, path)
    assert doc.title == "Globex kickoff"
    assert doc.occurred_at == datetime(2026, 3, 12, 12, 0, tzinfo=UTC)  # a date alone: noon UTC
    assert [(s.speaker, s.speaker_email) for s in doc.segments] == [
        ("Sam", "sam@globex.com"),
        ("Lee Chan", None),
        (None, None),
    ]
    assert doc.segments[-1].text == "Lee to send API limits"
    assert json.loads(doc.metadata["action_item_segments"]) == [2]


def test_notes_without_date_fall_back_to_mtime(tmp_path: Path) -> None:
    path = tmp_path / "scratch.md"
    path.write_text("Some thoughts about the Initech deal.\n", encoding="utf-8")
    stamp = datetime(2026, 2, 1, 9, 30, tzinfo=UTC).timestamp()
    os.utime(path, (stamp, stamp))
    doc = one(MeetingNotesConnector, path)
    assert doc.title == "scratch"
    assert doc.occurred_at == datetime(2026, 2, 1, 9, 30, tzinfo=UTC)
    assert doc.metadata["date_source"] == "mtime"


def test_date_in_file_name_beats_mtime(tmp_path: Path) -> None:
    path = tmp_path / "2026-03-05-standup.md"
    path.write_text("# Standup\n\nNothing new.\n", encoding="utf-8")
    doc = one(MeetingNotesConnector, path)
    assert doc.occurred_at == datetime(2026, 3, 5, 12, 0, tzinfo=UTC)
    assert doc.metadata["date_source"] == "filename"


def test_txt_detection_keeps_emails_and_chats_out(tmp_path: Path, samples: Path) -> None:
    zoom = samples / "zoom-transcript"
    assert not MeetingNotesConnector.detect(zoom / "GMT20240124-202901_RecordingnewChat.txt")
    assert not MeetingNotesConnector.detect(zoom / "zoomus_recordings__20240124.csv")
    for body in sorted((samples / "email-bodies-mail-parser-reply").glob("*.txt")):
        assert not MeetingNotesConnector.detect(body), body
    dialogue = tmp_path / "dialogue.txt"
    dialogue.write_text("Marco: hi\nDana: hello\nMarco: I'll send it Friday\n", encoding="utf-8")
    assert MeetingNotesConnector.detect(dialogue)
    prose = tmp_path / "prose.txt"
    prose.write_text("Just a shopping list.\nEggs\nMilk\n", encoding="utf-8")
    assert not MeetingNotesConnector.detect(prose)


def test_zoom_readme_is_notes_and_does_not_crash(samples: Path) -> None:
    doc = one(MeetingNotesConnector, samples / "zoom-transcript" / "README.md")
    assert doc.title == "Test Transcript Examples for zoomstudentengagement Package"


def test_zoom_transcript(samples: Path) -> None:
    path = samples / "zoom-transcript" / "GMT20240124-202901_Recording.transcript.vtt"
    doc = one(VttTranscriptConnector, path)
    assert doc.occurred_at == datetime(2024, 1, 24, 20, 29, 1, tzinfo=UTC)
    assert doc.metadata["date_source"] == "filename"
    assert doc.title == "GMT20240124-202901_Recording"
    first, second, third = doc.segments[:3]
    assert (first.speaker, first.text) == ("Srijani Ghosh", "Hi!")
    assert (second.speaker, second.text) == ("Conor Healy", "Get this party started.")
    # consecutive cues of one speaker are one segment
    assert (third.speaker, third.text) == ("Srijani Ghosh", "Hello! Hello! Hello! Why are you so dark? So")
    assert doc.text.startswith("Srijani Ghosh: Hi!\nConor Healy: Get this party started.\n")
    speakers = [s.speaker for s in doc.segments]
    assert all(a != b for a, b in zip(speakers, speakers[1:], strict=False))
    assert {p.name for p in doc.participants} >= {"Srijani Ghosh", "Conor Healy", "Dr. Melissa Ko"}
    assert {p.role for p in doc.participants} == {"speaker"}
    assert len(json.loads(doc.metadata["segment_start"])) == len(doc.segments)


def test_zoom_closed_captions_have_no_speaker(samples: Path) -> None:
    doc = one(VttTranscriptConnector, samples / "zoom-transcript" / "GMT20240124-202901_Recording.cc.vtt")
    assert doc.segments and all(s.speaker is None for s in doc.segments)
    assert doc.participants == []
    assert "\r" not in doc.text and doc.text.startswith("This doesn't. This as a nerd")


def test_voice_tag_sample(samples: Path) -> None:
    doc = one(VttTranscriptConnector, samples / "zoom-transcript" / "intro_statistics_week1.vtt")
    assert doc.segments[0].speaker == "Professor Smith"
    assert doc.segments[0].text.startswith(
        "Good morning everyone, welcome to Introduction to Statistics. Today"
    )
    assert doc.segments[1].speaker == "Student A"
    assert doc.metadata["date_source"] == "mtime"


def test_teams_voice_tags_note_date_and_entities(tmp_path: Path) -> None:
    path = tmp_path / "teams.vtt"
    path.write_text(
        "\ufeffWEBVTT\r\n\r\nNOTE\r\nDate: 2026-03-11T16:00:00Z\r\n\r\n"
        "a1b2/12-0\r\n00:00:01.000 --> 00:00:03.500\r\n<v Dana Lee>Can you send the SOC 2 report?</v>\r\n\r\n"
        "a1b2/13-0\r\n00:00:04.000 --> 00:00:06.000\r\n<v Marco Rossi>Yes &amp; I’ll do it</v>\r\n\r\n"
        "00:00:06.000 --> 00:00:08.000\r\n<v Marco Rossi>by <i>Friday</i> 🚀</v>\r\n\r\n"
        "00:00:08.000 --> 00:00:09.000\r\n<v.loud Dana Lee>Great.</v><v Marco Rossi>Bye!</v>\r\n",
        encoding="utf-8",
    )
    doc = one(VttTranscriptConnector, path)
    assert [(s.speaker, s.text) for s in doc.segments] == [
        ("Dana Lee", "Can you send the SOC 2 report?"),
        ("Marco Rossi", "Yes & I’ll do it by Friday 🚀"),
        ("Dana Lee", "Great."),
        ("Marco Rossi", "Bye!"),
    ]
    assert doc.text.splitlines()[1] == "Marco Rossi: Yes & I’ll do it by Friday 🚀"
    assert doc.occurred_at == datetime(2026, 3, 11, 16, 0, tzinfo=UTC)
    assert doc.metadata["date_source"] == "note"
    assert doc.external_id == f"{path.name}#teams-2026-03-11"


@pytest.mark.parametrize("content", ["WEBVTT\n", "WEBVTT\n\n", "WEBVTT\n\nNOTE nothing said\n\n"])
def test_empty_transcript(tmp_path: Path, content: str) -> None:
    path = tmp_path / "empty.vtt"
    path.write_text(content, encoding="utf-8")
    assert VttTranscriptConnector.detect(path)
    with pytest.raises(InputError, match="empty transcript: no cues") as info:
        list(VttTranscriptConnector(path).documents())
    assert info.value.path == str(path)


def test_not_webvtt(tmp_path: Path) -> None:
    path = tmp_path / "subs.vtt"
    path.write_text("1\n00:00:01,000 --> 00:00:02,000\nHello\n", encoding="utf-8")
    with pytest.raises(InputError, match="not a WebVTT file"):
        list(VttTranscriptConnector(path).documents())


def test_parse_attendees_and_dates() -> None:
    people = parse_attendees('Marco Rossi <Marco@Northwind.io>, "Dana Lee" (dana@acme.com); priya@x.io, Sam')
    assert [(p.name, p.email) for p in people] == [
        ("Marco Rossi", "marco@northwind.io"),
        ("Dana Lee", "dana@acme.com"),
        (None, "priya@x.io"),
        ("Sam", None),
    ]
    assert parse_when("2026-03-10T15:00:00+01:00") == datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
    assert parse_when("March 10, 2026 3pm EST") == datetime(2026, 3, 10, 20, 0, tzinfo=UTC)
    assert parse_when("2026-03-10 09:30") == datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
    assert parse_when("not a date at all") is None


def test_speaker_with_company_in_parentheses_and_stop_words(tmp_path: Path) -> None:
    path = tmp_path / "n.md"
    path.write_text(
        "# Sync\nDate: 2026-03-02\nAttendees: Dana Lee <dana@acme.com>\n\n"
        "Dana (Acme): Can you send the DPA?\nNote: legal is on holiday.\n",
        encoding="utf-8",
    )
    doc = one(MeetingNotesConnector, path)
    assert [(s.speaker, s.speaker_email, s.text) for s in doc.segments] == [
        ("Dana Lee", "dana@acme.com", "Can you send the DPA?"),
        (None, None, "Note: legal is on holiday."),
    ]


def test_registry_routes_meeting_inputs(samples: Path) -> None:
    zoom = samples / "zoom-transcript"
    for name in ("GMT20240124-202901_Recording.transcript.vtt", "intro_statistics_week1.vtt"):
        assert reader_for(zoom / name) is VttTranscriptConnector
    assert reader_for(zoom / "README.md") is MeetingNotesConnector
    assert reader_for(zoom / "GMT20240124-202901_RecordingnewChat.txt") is None
    assert reader_for(zoom / "zoomus_recordings__20240124.csv") is None


def test_demo_meetings_hold_the_planted_evidence() -> None:
    expected_file = DEMO_EXPECTED
    items = [i for i in json.loads(expected_file.read_text())["items"] if i["source"] == "meeting"]
    assert items
    for item in items:
        path = DEMO / item["file"]
        connector = VttTranscriptConnector if path.suffix == ".vtt" else MeetingNotesConnector
        doc = one(connector, path)
        at = doc.text.find(item["evidence_contains"])
        assert at >= 0, item
        seg = doc.speaker_at(at)
        assert seg is not None
        if item["type"] == "request":  # the asker is the speaker
            first = item["requester_email"].split("@")[0].split(".")[0]
            spoken = (
                unicodedata.normalize("NFKD", seg.speaker or "").encode("ascii", "ignore").decode().lower()
            )
            assert seg.speaker_email == item["requester_email"] or first in spoken, item
            continue
        # the owner is the speaker, or named inside an action item
        owner_first = item["owner_email"].split("@")[0].split(".")[0].capitalize()
        assert seg.speaker_email == item["owner_email"] or owner_first in (seg.speaker or seg.text), item
