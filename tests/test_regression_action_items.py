"""shared/regressions/meeting-checkbox-action-items: task-list action items with @mentions, read in place."""

from __future__ import annotations

import json
from pathlib import Path

from tests.clirunner import followthrough
from tests.conftest import SHARED

CASE = SHARED / "regressions" / "meeting-checkbox-action-items"


def test_checkbox_action_items_with_mentions(tmp_path: Path) -> None:
    assert (CASE / "expected.txt").is_file(), f"regression case missing: {CASE}"
    db = tmp_path / "r.db"
    run = followthrough("--company-domains", "northwind.io", "--as-of", "2026-03-18", "run", CASE, db=db)
    assert run.returncode == 0, run.stderr
    export = followthrough("export", "--format", "jsonl", db=db).stdout
    rows = [json.loads(line) for line in export.splitlines() if line.strip()]
    by_quote = {r["evidence"]: r for r in rows}

    def find(start: str) -> dict[str, object]:
        (row,) = [r for q, r in by_quote.items() if q.startswith(start)]
        return row

    scim = find("@Priya test Azure AD SCIM")
    assert (scim["owner"], scim["due"], scim["status"]) == ("priya@northwind.io", "2026-03-20", "open")
    assert not str(scim["action"]).startswith("@")
    quote = find("@Marco send the multi-year quote")
    assert (quote["owner"], quote["due"]) == ("marco@northwind.io", "2026-03-31")
    assert find("@Priya share the sandbox link")["status"] == "done"  # ticked: never open
    jordan = find("@Jordan send over the list")
    assert jordan["status"] == "waiting" and "customer_promise" in jordan["flags"]  # the customer owes us
    assert jordan["due"] == "2026-03-24"
    qbr = find("@Marco Rossi book the QBR")
    assert (qbr["owner"], qbr["due"]) == ("marco@northwind.io", "2026-03-31")
    tom = find("Tom: draft the success plan")
    assert tom["due"] == "2026-03-31" and "owner_not_participant" in tom["flags"]
    listed = followthrough("--as-of", "2026-03-18", "commitments", "list", "--json", db=db)
    open_quotes = " ".join(str(c) for c in json.loads(listed.stdout))
    assert "sandbox link" not in open_quotes and "Contoso admins" not in open_quotes
