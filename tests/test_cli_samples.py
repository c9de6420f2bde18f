"""Every real-format sample folder ingests through the CLI with no error."""

from __future__ import annotations

import json
from pathlib import Path

from tests.clirunner import followthrough

FOLDERS = ["email-replies-talon", "slack-export-viewer", "slack-threads-zulip", "zoom-transcript"]


def test_sample_folders_ingest_and_extract_without_errors(tmp_path: Path, samples: Path) -> None:
    res = followthrough("run", *(samples / f for f in FOLDERS), "--json", db=tmp_path / "s.db")
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    report = json.loads(res.stdout)["run"]
    assert report["errors"] == []
    assert report["failed"] == []
    assert report["documents_seen"] >= 60
    skipped = " ".join(report["skipped"])
    assert "LICENSE" not in skipped, "licence files are paperwork, not input"
    assert "_reply_text" in skipped, "expected-output files are listed as skipped, not read"

    again = followthrough("ingest", *(samples / f for f in FOLDERS), "--json", db=tmp_path / "s.db")
    assert json.loads(again.stdout)["documents_new"] == 0, "re-ingesting adds nothing"
