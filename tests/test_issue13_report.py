"""The run's attention report streams the open items (issue 13): each section keeps its count and its
first rows, ranked exactly as ranking every item would, and memory does not grow with the store."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from benchmarks.end_to_end import generate
from followthrough.cli import report
from followthrough.types import CommitmentStatus
from store import CommitmentFilter, Store
from tests.clirunner import followthrough

AS_OF = date(2026, 12, 1)


def test_sections_hold_their_first_rows_and_count_all(tmp_path: Path) -> None:
    ws = generate(tmp_path / "ws", 400).root
    db = tmp_path / "ft.db"
    result = followthrough("--as-of", AS_OF.isoformat(), "run", ws, "--json", db=db)
    attention = json.loads(result.stdout)["attention"]
    with Store(f"sqlite:///{db}") as store:
        every = report.all_items(
            store, CommitmentFilter(status=CommitmentStatus.OPEN, as_of=AS_OF, limit=500)
        )
    overdue = report.ranked([c for c in every if c.type == "commitment" and c.due and c.due < AS_OF])
    unlinked = report.ranked([c for c in every if c.deal is None])
    requests = [c for c in every if c.type == "request"]
    assert len(overdue) > 50  # the section is cut: the test means something
    assert attention["open_total"] == len(every)
    assert attention["totals"]["overdue"] == len(overdue)
    assert attention["totals"]["unlinked"] == len(unlinked)
    assert attention["totals"]["unanswered_requests"] == len(requests)
    assert [r["id"] for r in attention["overdue"]] == [c.id for c in overdue[:50]]
    assert [r["id"] for r in attention["unlinked"]] == [c.id for c in unlinked[:50]]
    by_age = sorted(requests, key=lambda c: (not c.overdue_response, -c.priority, -(c.age_hours or 0), c.id))
    assert [r["id"] for r in attention["unanswered_requests"]] == [c.id for c in by_age[:50]]
    # full items (with evidence) for the rows shown
    assert all(r["evidence"] for r in attention["overdue"])
    owners = sum(v["open"] for v in attention["by_owner"].values())
    assert owners == len(every)
