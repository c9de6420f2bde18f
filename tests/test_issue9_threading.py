"""Email threads resolved over the whole store (shared/regressions/threading-in-reply-to-only, in place)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.clirunner import followthrough
from tests.conftest import SHARED

CASE = SHARED / "regressions" / "threading-in-reply-to-only"
ARGS = ("--company-domains", "northwind.example", "--as-of", "2026-03-16")


def _threads(db: Path) -> set[str]:
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as c:
        rows = c.execute(text("SELECT thread_id FROM documents WHERE source = 'email'")).scalars().all()
    engine.dispose()
    return set(rows)


def _commitment(db: Path) -> dict[str, object]:
    rows = [
        json.loads(x) for x in followthrough("export", "--format", "jsonl", db=db).stdout.splitlines() if x
    ]
    (row,) = [r for r in rows if r["type"] == "commitment"]
    return row


def test_in_reply_to_only_joins_the_thread_and_closes_the_promise(tmp_path: Path) -> None:
    assert (CASE / "expected.txt").is_file(), f"regression case missing: {CASE}"
    db = tmp_path / "t.db"
    assert followthrough(*ARGS, "run", CASE / "thread", db=db).returncode == 0
    assert _threads(db) == {"<case09-a@northwind.example>"}
    row = _commitment(db)
    assert row["status"] == "done" and row["thread_id"] == "<case09-a@northwind.example>"


@pytest.mark.parametrize("order", [("c", "b", "a"), ("b", "c", "a"), ("a", "c", "b")])
def test_messages_arriving_in_any_order_and_in_later_runs_join_one_thread(
    tmp_path: Path, order: tuple[str, ...]
) -> None:
    db = tmp_path / "t.db"
    for name in order:  # one run per message, in this order
        one = tmp_path / name
        one.mkdir()
        shutil.copy(CASE / "thread" / f"{name}.eml", one / f"{name}.eml")
        assert followthrough(*ARGS, "run", one, db=db).returncode == 0
    assert _threads(db) == {"<case09-a@northwind.example>"}
    row = _commitment(db)
    assert row["thread_id"] == "<case09-a@northwind.example>" and row["status"] == "done"
