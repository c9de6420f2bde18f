"""Reply markers glued to other text (shared/regressions/reply-marker-glued-inline, read in place)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors.mail.quotes import split_reply
from tests.clirunner import followthrough
from tests.conftest import SHARED

CASE = SHARED / "regressions" / "reply-marker-glued-inline"


def test_the_glued_original_message_is_quoted_and_nothing_is_extracted(tmp_path: Path) -> None:
    assert (CASE / "expected.txt").is_file(), f"regression case missing: {CASE}"
    db = tmp_path / "r.db"
    assert (
        followthrough("--company-domains", "northwind.example", "run", CASE / "input.eml", db=db).returncode
        == 0
    )
    export = followthrough("export", "--format", "jsonl", db=db).stdout
    assert [json.loads(x) for x in export.splitlines() if x.strip()] == []


@pytest.mark.parametrize(
    ("body", "text", "quoted_starts"),
    [
        (
            "Sounds good, thanks!Sent from my Galaxy\n-------- Original message --------From: A <a@x.io> "
            "Date: 3/9/26 To: b@y.io Subject: Pilot\n\nCan you send the pilot agreement by Friday?",
            "Sounds good, thanks!",
            "-------- Original message --------",
        ),
        (
            "Will do.-----Original Message-----\nFrom: A <a@x.io>\nSent: Monday\nTo: b@y.io\n\n"
            "Please send it.",
            "Will do.",
            "-----Original Message-----",
        ),
        (
            "On my way, see you there. Get Outlook for iOS\n",
            "On my way, see you there.",
            "",
        ),
    ],
)
def test_glued_markers_of_every_client(body: str, text: str, quoted_starts: str) -> None:
    parts = split_reply(body)
    assert parts.text == text
    assert parts.quoted.startswith(quoted_starts)
    assert "send" not in parts.text.lower()
