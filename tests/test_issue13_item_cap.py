"""One document yields at most MAX_ITEMS_PER_DOCUMENT items (issue 13): a meeting file of thousands of
short promises finishes, keeps the first ones, and says so in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from followthrough import pipeline
from tests.clirunner import followthrough


def test_a_document_keeps_its_first_items_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "MAX_ITEMS_PER_DOCUMENT", 40)
    lines = ["# Acme sync", "Date: 2026-03-10", "Attendees: Marco Rossi, Dana Lee", ""]
    for i in range(60):
        lines += [f"Marco: I'll send the report number {i} tomorrow.", f"Dana: Could you check item {i}?"]
    notes = tmp_path / "in" / "acme-sync.md"
    notes.parent.mkdir()
    notes.write_text("\n".join(lines) + "\n")
    result = followthrough(
        "--as-of",
        "2026-03-16",
        "--company-domains",
        "northwind.io",
        "run",
        notes.parent,
        "--json",
        db=tmp_path / "ft.db",
    )
    run = json.loads(result.stdout)["run"]
    assert run["items"] > 40  # what the extractor found
    capped = [n for n in run["notes"] if "kept the first 40" in n]
    assert len(capped) == 1 and str(notes) in capped[0]
    listed = followthrough("export", "--format", "jsonl", db=tmp_path / "ft.db")
    assert len(listed.stdout.splitlines()) == 40
