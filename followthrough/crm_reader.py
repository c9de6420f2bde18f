"""CRM exports read a chunk at a time, as the store will hold them; a large one in a second process.

Reading a large deals export (cutting CSV records, parsing values, building the records) costs
about as much as storing it. With more than one CPU, an export of :data:`PROCESS_BYTES` or more
is read and admitted (:func:`store.admit_crm`) in a process of its own (``multiprocessing``,
started by ``spawn``: nothing of this process's threads or connections is inherited) while this
one stores the chunks already read: a 1,000,000-row export imports in about two thirds of the
time. The chunks cross over as tuples of built-in values (:class:`store.crm_records.CrmRecords`), at most
:data:`IN_FLIGHT` at a time, so memory stays flat in both processes; what the reader finds wrong
with a record comes with the chunk it belongs to, as when it is read here. A reader process that
cannot start, fails or dies hands over to reading here (from where it stopped): never a lost
export, never a hang.
"""

from __future__ import annotations

import gc
import os
import queue
from collections.abc import Iterator
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from connectors.base import Yields
from followthrough import ingest
from followthrough.errors import InputError
from followthrough.limits import CRM_READER_PROCESS, GC_THRESHOLDS
from followthrough.types import CrmRows
from store import CrmRecords, admissible_as_read, admit_crm

if TYPE_CHECKING:
    import multiprocessing

PROCESS_BYTES = 16 * 2**20
"""Exports of this many bytes or more (about 90,000 deal rows) are read in a process of their own."""
IN_FLIGHT = 4
"""Chunks read ahead of the store (each :data:`connectors.crm.CHUNK_ROWS` rows)."""
_WAIT_S = 1.0
"""How often the wait for a chunk checks that the reader process is still alive."""

Chunk = tuple[CrmRecords, list[InputError]]


class _Message(StrEnum):
    """What the reader process puts on its queue: a chunk, the end, or a failure."""

    CHUNK = "chunk"
    DONE = "done"
    FAILED = "failed"


def admitted_chunks(item: ingest.Input) -> Iterator[Chunk]:
    """Each chunk of a CRM export as the store will hold it, with the problems found reading and
    admitting it (in the file's order); read in a second process when that pays (module docstring)."""
    if _worth_a_process(item):
        return _read_elsewhere(item)
    return read_here(item)


def read_here(item: ingest.Input) -> Iterator[Chunk]:
    """:func:`admitted_chunks`, read in this process."""
    for rows, problems in _read(item):
        yield _admitted(CrmRecords.from_rows(rows), problems, item)


def _read(item: ingest.Input) -> Iterator[tuple[CrmRows, list[InputError]]]:
    """Each chunk of the export as read (:data:`CrmRows`), not yet admitted, with the problems
    reading it found; then, when the file could not be read to its end, no records and that problem."""
    problems: list[InputError] = []
    for chunk in ingest.record_rows(item, problems):
        yield chunk, problems[:]
        problems.clear()
    if problems:
        yield ([], [], []), problems[:]


def _admitted(chunk: CrmRecords, problems: list[InputError], item: ingest.Input) -> Chunk:
    """``chunk`` as the store will hold it; the problems reading it found, then what admitting it cut."""
    admitted, cut = admit_crm(chunk)
    return admitted, [*problems, *(InputError(item.path, p) for p in cut)]


def _worth_a_process(item: ingest.Input) -> bool:
    if item.reader.yields is not Yields.CRM or len(os.sched_getaffinity(0)) < 2:
        return False
    try:
        return item.path.is_file() and item.path.stat().st_size >= PROCESS_BYTES
    except OSError:
        return False  # read here: the reader says what is wrong with the path


def _read_elsewhere(item: ingest.Input) -> Iterator[Chunk]:
    """:func:`read_here` in a reader process; where that process cannot start, fails or dies, the
    export is read here instead from where it stopped (the chunks it handed over are not stored
    twice), so nothing is lost and a bug shows as it would here."""
    import multiprocessing  # noqa: PLC0415 - only for a large export (a re-run never loads it)

    context = multiprocessing.get_context("spawn")
    chunks: multiprocessing.Queue[tuple[Any, ...]] = context.Queue(IN_FLIGHT)
    reader = context.Process(target=_reader, args=(item, chunks), name=CRM_READER_PROCESS, daemon=True)
    handed = 0  # chunks the reader process handed over
    try:
        reader.start()
        while True:
            try:
                kind, *rest = chunks.get(timeout=_WAIT_S)
            except queue.Empty:
                if reader.is_alive():
                    continue
                break  # died (killed, or it could not even import: a script without a main guard)
            if kind == _Message.DONE:
                return
            if kind == _Message.FAILED:
                break
            rows, problems = rest
            handed += 1
            # admitted there (reading builds tuples, no models: the reader process is the one with time)
            yield CrmRecords.from_rows(rows), [InputError(path, problem) for path, problem in problems]
    except OSError:
        pass  # no process could start: read here
    finally:
        if reader.is_alive():  # the store stopped early (an exception, Ctrl-C), or the reader failed
            reader.terminate()
        if reader.pid is not None:
            reader.join()
        chunks.close()
    for n, chunk in enumerate(read_here(item)):
        if n >= handed:
            yield chunk


def _reader(item: ingest.Input, chunks: multiprocessing.Queue[tuple[Any, ...]]) -> None:
    """The reader process: every chunk of ``item`` onto ``chunks``, then :attr:`_Message.DONE`."""
    gc.set_threshold(*GC_THRESHOLDS)  # the command's own (half this process's time with Python's)
    try:
        for rows, problems in _read(item):
            sent, lines = rows, problems  # the usual chunk: as read, no record built to be admitted
            if not admissible_as_read(rows):  # something to cut, clean or say: admitted record by record
                admitted, lines = _admitted(CrmRecords.from_rows(rows), problems, item)
                sent = admitted.rows()
            chunks.put((_Message.CHUNK, sent, [(e.path, e.problem) for e in lines]))
    except Exception as e:  # a bug, not a bad record (those are problems): read again, and raised, there
        chunks.put((_Message.FAILED, f"{type(e).__name__}: {e}"))
        return
    chunks.put((_Message.DONE,))
