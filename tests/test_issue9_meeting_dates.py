"""Issue 9, "No silent dates": a meeting's date comes from its file, else the user is told."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from connectors.meetings import MeetingNotesConnector, VttTranscriptConnector
from followthrough import ingest
from tests.clirunner import followthrough
from tests.conftest import SHARED, require_shared

REGRESSION = SHARED / "regressions" / "teams-transcript-no-date"
CUE = "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\n<v Marco Rossi>I'll send the DPA tomorrow.</v>\n"


def _one_vtt(path: Path) -> tuple[datetime, str]:
    (doc,) = list(VttTranscriptConnector(path).documents())
    return doc.occurred_at, doc.metadata["date_source"]


def _one_notes(path: Path) -> tuple[datetime, str]:
    (doc,) = list(MeetingNotesConnector(path).documents())
    return doc.occurred_at, doc.metadata["date_source"]


def test_regression_undated_teams_transcript_is_announced(tmp_path: Path) -> None:
    require_shared(REGRESSION)
    db = tmp_path / "ft.db"
    result = followthrough("ingest", REGRESSION, db=db)
    assert result.returncode == 0, result.stderr
    transcript = REGRESSION / "Contoso weekly sync.vtt"
    mtime = datetime.fromtimestamp(transcript.stat().st_mtime, UTC).date().isoformat()
    notes = [line for line in result.stderr.splitlines() if line.startswith("note:")]
    assert len(notes) == 1, result.stderr
    assert str(transcript) in notes[0]
    assert "no meeting date found" in notes[0]
    assert f"modification time {mtime}" in notes[0]
    assert "--date" in notes[0]


def test_regression_with_date_option(tmp_path: Path) -> None:
    require_shared(REGRESSION)
    result = followthrough(
        "--as-of",
        "2026-03-17",
        "run",
        REGRESSION,
        "--extractor",
        "offline",
        "--date",
        "2026-03-17",
        "--json",
        db=tmp_path / "ft.db",
    )
    assert result.returncode == 0, result.stderr
    assert "note:" not in result.stderr
    out = json.loads(result.stdout)
    assert out["run"]["notes"] == []
    items = [
        i
        for key in ("overdue", "due_soon", "unlinked", "open", "later", "items")
        for i in out["attention"].get(key, [])
        if isinstance(i, dict)
    ]
    dues = {(i["owner"], i["action"]): i["due"] for i in items}
    assert dues[("Marco Rossi", "Send the updated DPA")] == "2026-03-18"
    assert all(i["occurred_at"].startswith("2026-03-17") for i in items)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("GMT20260317-100000_Recording.transcript.vtt", datetime(2026, 3, 17, 10, 0, tzinfo=UTC)),
        ("Meeting Recording 2026-03-17 Contoso.vtt", datetime(2026, 3, 17, 12, 0, tzinfo=UTC)),
        (
            "Contoso weekly sync - 2026_03_17 10_00 CET - Transcript.vtt",
            datetime(2026, 3, 17, 10, 0, tzinfo=timezone(timedelta(hours=1))),
        ),
        (
            "Contoso weekly sync-20260317_100023-Meeting Transcript.vtt",
            datetime(2026, 3, 17, 10, 0, 23, tzinfo=UTC),
        ),
        (
            "sync 2026-03-17T09:30 GMT+2.vtt",
            datetime(2026, 3, 17, 9, 30, tzinfo=timezone(timedelta(hours=2))),
        ),
    ],
)
def test_file_name_patterns(tmp_path: Path, name: str, expected: datetime) -> None:
    path = tmp_path / name
    path.write_text(CUE, encoding="utf-8")
    assert _one_vtt(path) == (expected, "filename")


@pytest.mark.parametrize(
    ("note", "expected"),
    [
        ("NOTE\nDate: 2026-03-17", datetime(2026, 3, 17, 12, 0, tzinfo=UTC)),
        ("NOTE Meeting started 2026-03-17 10:00 UTC", datetime(2026, 3, 17, 10, 0, tzinfo=UTC)),
        ("NOTE Recorded 3/17/2026 10:00 AM", datetime(2026, 3, 17, 10, 0, tzinfo=UTC)),
        ("NOTE Recorded on 17 March 2026", datetime(2026, 3, 17, 12, 0, tzinfo=UTC)),
    ],
)
def test_vtt_note_dates(tmp_path: Path, note: str, expected: datetime) -> None:
    path = tmp_path / "Contoso weekly sync.vtt"
    path.write_text(CUE.replace("WEBVTT\n\n", f"WEBVTT\n\n{note}\n\n"), encoding="utf-8")
    assert _one_vtt(path) == (expected, "note")


@pytest.mark.parametrize(
    "text",
    [
        "---\ndate: 2026-03-17\n---\n# Contoso sync\n\nMarco: I'll send it.\n",
        "# Contoso sync\nDate: 2026-03-17\n\nMarco: I'll send it.\n",
        "# Contoso sync\n\nSome context first.\n\nDate: 2026-03-17\n\n- Marco to send the DPA\n",
        "# Contoso sync\n\n**Date:** 17 March 2026\n\nMarco: I'll send it.\n",
    ],
)
def test_notes_dates(tmp_path: Path, text: str) -> None:
    path = tmp_path / "contoso.md"
    path.write_text(text, encoding="utf-8")
    assert _one_notes(path) == (datetime(2026, 3, 17, 12, 0, tzinfo=UTC), "header")


def test_undated_notes_are_announced_and_dated_by_option(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "contoso.md").write_text("Marco: I'll send it.\nDana: Thanks.\nMarco: Bye.\n", encoding="utf-8")
    result = followthrough("ingest", inputs, "--json", db=tmp_path / "a.db")
    assert result.returncode == 0, result.stderr
    (note,) = json.loads(result.stdout)["notes"]
    assert "contoso.md: no meeting date found" in note and '"Date: YYYY-MM-DD"' in note
    result = followthrough("ingest", inputs, "--date", "2026-03-17", db=tmp_path / "b.db")
    assert result.returncode == 0 and "note:" not in result.stderr, result.stderr


def test_redate_changes_date_and_id(tmp_path: Path) -> None:
    path = tmp_path / "Contoso weekly sync.vtt"
    path.write_text(CUE, encoding="utf-8")
    (doc,) = list(VttTranscriptConnector(path).documents())
    again = ingest.redate(doc, datetime(2026, 3, 17).date())
    assert again.occurred_at == datetime(2026, 3, 17, 12, 0, tzinfo=UTC)
    assert again.external_id == again.thread_id == "Contoso weekly sync.vtt#contoso-weekly-sync-2026-03-17"
    assert again.metadata["date_source"] == "option" and again.content_hash != doc.content_hash


README = """# Project title

Some prose about what this project does and why.

## Installation

Run the installer and follow the prompts.

```
make install
```
"""


def test_readme_is_skipped_not_ingested(tmp_path: Path) -> None:
    path = tmp_path / "README.md"
    path.write_text(README, encoding="utf-8")
    planned = ingest.plan([path])
    assert planned.inputs == [] and planned.errors == []
    (skip,) = planned.skipped
    assert skip.path == str(path) and "not meeting notes" in skip.problem
    other = tmp_path / "folder"
    other.mkdir()
    (other / "design.md").write_text(README, encoding="utf-8")
    (other / "2026-03-17-sync.md").write_text("# Sync\n\nMarco: hi\n", encoding="utf-8")
    result = followthrough("ingest", other, "--json", db=tmp_path / "ft.db")
    out = json.loads(result.stdout)
    assert out["documents_seen"] == 1
    assert any("design.md: not meeting notes" in s for s in out["skipped"]), out


def test_real_notes_are_not_skipped(tmp_path: Path) -> None:
    for name, text in {
        "a.md": "# Sync\n\n## Notes\n\n- Marco: send the DPA\n- Dana: thanks\n- Marco: bye\n",
        "b.md": "# Sync\nAttendees: Marco, Dana\n\n## Notes\n\nText.\n",
        "c.md": "# Sync\n\n## Action items\n\n- Marco to send the DPA\n",
        "d.md": "Some thoughts about the Initech deal.\n",
    }.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        planned = ingest.plan([tmp_path / name])
        assert len(planned.inputs) == 1 and not planned.skipped, name
