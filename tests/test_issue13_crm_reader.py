"""Issue 13: a large CRM export is read in a second process while this one stores it
(:mod:`followthrough.crm_reader`), and the store holds exactly what reading it here stores.

The size at which the reader process starts is lowered so that a small export takes that path:
the chunks, the records, the problem lines and the stored rows must be those of the export read
in this process; a reader process that cannot start, fails or dies hands over to reading here,
from where it stopped: nothing lost, nothing stored twice, never a hang.
"""

from __future__ import annotations

import csv
import gc
import multiprocessing
import multiprocessing.context
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from connectors.base import CrmReader
from connectors.crm import CHUNK_ROWS, CrmCsvReader
from followthrough import crm_reader, ingest, pipeline
from followthrough.limits import GC_THRESHOLDS
from followthrough.types import CrmData, CrmRows, Deal
from store import Store, admissible_as_read, admit_crm
from store.crm_records import CrmRecords
from store.models import AccountRow, ContactRow, DealRow
from tests.conftest import REPO

HEADER = ["deal_id", "deal_name", "account_name", "account_domain", "stage", "amount", "close_date",
          "owner_email", "owner_name", "contact_email", "contact_name"]  # fmt: skip


def _export(path: Path, rows: int, *, clean: bool = False) -> Path:
    """A deals export over several chunks, with bad rows and values to cut among good ones (none
    with ``clean``: each chunk crosses over as read, not rebuilt)."""
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(HEADER)
        for i in range(rows):
            a = i % 97
            row = [f"D-{i}", f"Account {a} - Deal {i}", f"Account {a}", f"acct{a}.com", "Demo",
                   str(1000 + i), f"2026-{1 + i % 12:02d}-15", f"owner{i % 7}@northwind.io",
                   f"Owner {i % 7}", f"buyer{i}@acct{a}.com", f"Buyer {i}"]  # fmt: skip
            if clean:
                pass
            elif i % 1009 == 5:
                row[0] = ""  # a row without its deal id: one line, the others stored
            elif i % 1013 == 7:
                row[5] = "1e400"  # an amount no column holds: emptied, one line
            elif i % 2027 == 9:
                row[9] = "not an email"
            out.writerow(row)
    return path


def _item(path: Path) -> ingest.Input:
    return ingest.Input(path, CrmCsvReader)


def _chunks(chunks: Iterator[crm_reader.Chunk]) -> list[tuple[object, list[str]]]:
    out: list[tuple[object, list[str]]] = []
    for crm, problems in chunks:
        records = crm if isinstance(crm, CrmRecords) else CrmRecords.of(crm)
        out.append((records.rows(), [str(p) for p in problems]))
    return out


def _stored(url: str) -> tuple[list[tuple[Any, ...]], ...]:
    store = Store(url)
    with store._tx() as s:
        return tuple(
            sorted(tuple(r) for r in s.execute(select(*cols)))
            for cols in (
                (AccountRow.name, AccountRow.domains, AccountRow.tier),
                (ContactRow.email, ContactRow.name, ContactRow.role),
                (DealRow.crm_id, DealRow.name, DealRow.stage, DealRow.amount, DealRow.close_date),
            )
        )


@pytest.fixture
def export(tmp_path: Path) -> Path:
    return _export(tmp_path / "deals.csv", 2 * CHUNK_ROWS + 321)


def test_the_reader_process_hands_over_what_reading_here_reads(
    export: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = _chunks(crm_reader.read_here(_item(export)))
    assert len(here) == 3 and any(problems for _, problems in here)
    monkeypatch.setattr(crm_reader, "PROCESS_BYTES", 1)
    assert crm_reader._worth_a_process(_item(export)) == (len(os.sched_getaffinity(0)) > 1)
    elsewhere = _chunks(crm_reader._read_elsewhere(_item(export)))
    assert elsewhere == here


def test_a_clean_export_is_handed_over_as_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clean = _export(tmp_path / "clean.csv", CHUNK_ROWS + 17, clean=True)
    here = _chunks(crm_reader.read_here(_item(clean)))
    assert len(here) == 2 and not any(problems for _, problems in here)
    monkeypatch.setattr(crm_reader, "PROCESS_BYTES", 1)
    assert _chunks(crm_reader._read_elsewhere(_item(clean))) == here


def test_admitting_a_clean_chunk_keeps_its_records_and_a_dirty_one_does_not() -> None:
    rows: CrmRows = (
        [("Acme", ["acme.com"], None, None)],
        [("ann@acme.com", "Ann", "Acme", None)],
        [("D-1", "Renewal", "Acme", "Demo", 10.0, None, None)],
    )
    read = CrmRecords.from_rows(rows)
    admitted, problems = admit_crm(read)
    assert admitted.same_as(read) and not problems
    dirty = CrmRecords.from_rows(
        (rows[0], rows[1], [("D-1", "Renewal", "Acme", "Demo", float("inf"), None, None)])
    )
    admitted, problems = admit_crm(dirty)
    assert not admitted.same_as(dirty) and problems
    assert not CrmRecords.from_rows(rows).same_as(read)  # equal records, other objects


_CLEAN: CrmRows = (
    [("Acme", ["acme.com"], "Enterprise", None), ("Ünïcode", [], None, "7")],
    [("ann@acme.com", "Ann", "Acme", "Buyer"), ("owner@us.com", None, None, None)],
    [("D-1", "Renewal", "Acme", "Demo", 10.0, None, "owner@us.com"),
     ("D-2", "New", "Ünïcode", None, None, None, None)],
)  # fmt: skip
_BREAKS = [  # (kind, record, position, value): one value admit_crm changes, or says something of
    (0, 0, 0, "A" * 301), (0, 0, 2, "T" * 51), (0, 0, 3, "9" * 201), (0, 0, 1, ["acme.com\x00"]),
    (0, 1, 0, "Ünï\ud800"), (1, 0, 0, "a" * 321), (1, 0, 1, "N" * 301), (1, 0, 2, "A" * 301),
    (1, 0, 3, "R" * 201), (1, 1, 1, "nul\x00"), (2, 0, 0, "D" * 201), (2, 0, 1, "P" * 501),
    (2, 0, 2, "A" * 301), (2, 0, 3, "S" * 101), (2, 0, 4, float("inf")), (2, 0, 4, float("nan")),
    (2, 0, 4, -2e15), (2, 0, 6, "o" * 321), (2, 1, 1, "é\x00"),
]  # fmt: skip


def _with(rows: CrmRows, kind: int, record: int, at: int, value: object) -> CrmRows:
    changed = [list(map(tuple, records)) for records in rows]
    row = list(changed[kind][record])
    row[at] = value
    changed[kind][record] = tuple(row)
    return changed[0], changed[1], changed[2]


@pytest.mark.parametrize("brk", _BREAKS, ids=[f"{k}-{r}-{a}" for k, r, a, _ in _BREAKS])
def test_a_chunk_is_admissible_as_read_only_when_admitting_it_changes_nothing(brk: tuple[Any, ...]) -> None:
    assert admissible_as_read(_CLEAN)
    admitted, problems = admit_crm(read := CrmRecords.from_rows(_CLEAN))
    assert admitted.same_as(read) and not problems
    broken = _with(_CLEAN, *brk)
    admitted, problems = admit_crm(read := CrmRecords.from_rows(broken))
    assert not admitted.same_as(read) or problems  # admitting it does something
    assert not admissible_as_read(broken)


def test_a_run_stores_the_same_rows_and_lines_either_way(
    export: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = []
    for name, threshold in (("here", 10**12), ("elsewhere", 1)):
        monkeypatch.setattr(crm_reader, "PROCESS_BYTES", threshold)
        monkeypatch.setattr(crm_reader, "_worth_a_process", lambda item, t=threshold: t == 1)
        url = f"sqlite:///{tmp_path / name}.db"
        report = pipeline.RunReport()
        pipeline._store_crm(Store(url), [_item(export)], report)
        results.append((_stored(url), [str(e) for e in report.errors], report.crm))
    assert results[0] == results[1]
    stored, errors, counts = results[0]
    assert counts["deals_added"] == len(stored[2]) > 2 * CHUNK_ROWS
    assert any("deal_id" in e for e in errors) and any("amount" in e for e in errors)
    assert all(e.startswith(str(export)) for e in errors)


class _Broken(CrmReader):
    """A reader with a bug: it fails after its first chunk."""

    @classmethod
    def detect(cls, path: Path) -> bool:
        return True

    def records(self) -> Iterator[CrmData]:
        yield CrmData(deals=[Deal(crm_id="D-1", name="First", account_name="Acme")])
        raise ZeroDivisionError("a bug")


class _Killed(_Broken):
    """A reader process killed after its first chunk (as the kernel does when memory runs out);
    read here, the same export reads to its end."""

    def records(self) -> Iterator[CrmData]:
        yield CrmData(deals=[Deal(crm_id="D-1", name="First", account_name="Acme")])
        if multiprocessing.parent_process() is not None:
            os._exit(9)
        yield CrmData(deals=[Deal(crm_id="D-2", name="Second", account_name="Acme")])


def test_a_reader_process_that_fails_or_dies_hands_over_to_reading_here(tmp_path: Path) -> None:
    path = tmp_path / "deals.csv"
    path.write_text("deal_id\n")
    broken = crm_reader._read_elsewhere(ingest.Input(path, _Broken))
    (first, _) = next(broken)
    assert [d.crm_id for d in first.deals] == ["D-1"]
    with pytest.raises(ZeroDivisionError, match="a bug"):  # the bug, as reading here raises it
        next(broken)
    chunks = list(crm_reader._read_elsewhere(ingest.Input(path, _Killed)))
    assert [[d.crm_id for d in crm.deals] for crm, _ in chunks] == [["D-1"], ["D-2"]]  # each once


def test_a_reader_process_that_cannot_start_reads_here(export: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    here = _chunks(crm_reader.read_here(_item(export)))

    def refuse(self: object) -> None:
        raise OSError("no more processes")

    monkeypatch.setattr(multiprocessing.context.SpawnProcess, "start", refuse)
    assert _chunks(crm_reader._read_elsewhere(_item(export))) == here


def test_a_script_without_a_main_guard_imports_once_through_the_reader_process(
    export: Path, tmp_path: Path
) -> None:
    """``spawn`` runs the main script again in the reader process: the command it calls does nothing
    there, so the export is read there and stored here, once, with no error line."""
    db = tmp_path / "script.db"
    script = tmp_path / "embed.py"
    script.write_text(
        "import sys\n"
        "import followthrough.crm_reader\n"
        "from followthrough.cli import console\n"
        "followthrough.crm_reader.PROCESS_BYTES = 1  # this small export is read in a process of its own\n"
        "print('script ran', flush=True)\n"
        f"sys.argv = ['followthrough', '-q', '--db', 'sqlite:///{db}', 'ingest', '{export}']\n"
        "console()\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=REPO
    )
    assert "internal error" not in done.stderr, done.stderr
    if len(os.sched_getaffinity(0)) > 1:
        assert done.stdout.count("script ran") == 2  # here, and again in the reader process
    stored = _stored(f"sqlite:///{db}")
    here = tmp_path / "here.db"
    report = pipeline.RunReport()
    pipeline._store_crm(Store(f"sqlite:///{here}"), [_item(export)], report)
    assert stored == _stored(f"sqlite:///{here}")


class _Collected:
    """What a reader process puts on its queue, kept in a list (``put`` is all it calls)."""

    def __init__(self) -> None:
        self.items: list[tuple[Any, ...]] = []

    def put(self, item: tuple[Any, ...]) -> None:
        self.items.append(item)


def test_the_reader_process_collects_garbage_as_the_command_does(export: Path) -> None:
    """With Python's thresholds (700, 10, 10) the collector took half a reader process's time."""
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    queue = _Collected()
    try:
        crm_reader._reader(_item(export), queue)  # type: ignore[arg-type]
        assert gc.get_threshold() == GC_THRESHOLDS != (700, 10, 10)
    finally:
        gc.set_threshold(*before)
    assert queue.items[-1] == ("done",)
    assert sum(len(item[1][2]) for item in queue.items if item[0] == "chunk") > 0  # deals handed over
