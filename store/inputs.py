"""Inputs read whole into the store: what a re-run on unchanged input skips.

A run records, for each input it read to the end, a digest of the input's
content and of how it was read (computed by the pipeline, never here), how many
documents it gave and the problem lines its reading reported. The next run
compares digests before reading anything: an input whose digest is the same
is not read again, and its problem lines are reported as they were.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.admission import clean
from store.base import StoreCore, _retry_conflicts
from store.bulk import chunked
from store.models import InputFileRow, utcnow


@dataclass(frozen=True)
class InputFile:
    """One input as last read: ``path`` (as the run named it, resolved), ``digest`` (64 hex
    characters), the ``documents`` it gave, and its ``problems`` as ``(kind, where, problem)``
    with kind ``errors``, ``skipped`` or ``notes`` (the :class:`~followthrough.pipeline.RunReport`
    list it went to)."""

    path: str
    digest: str
    documents: int = 0
    problems: list[tuple[str, str, str]] = field(default_factory=list)


_PROBLEMS_KEPT = 1000
"""Problem lines kept per input (an input with more is read again on every run)."""


class InputStore(StoreCore):
    """Digests of the inputs read whole, by path."""

    def input_files(self, paths: Collection[str]) -> dict[str, InputFile]:
        """The inputs of ``paths`` as last read, by path (those never read to the end are absent)."""
        if not paths:
            return {}
        with self._tx() as s:
            rows = _rows(s, paths)
            return {
                path: InputFile(path, r.digest, r.documents, [(k, w, p) for k, w, p in r.problems or []])
                for path in paths
                if (r := rows.get(_path_key(path))) is not None
            }

    @_retry_conflicts
    def remember_inputs(self, inputs: Sequence[InputFile]) -> None:
        """Record that each of ``inputs`` was read to the end (replacing what was recorded for its path).
        An input with more than 1,000 problem lines is forgotten instead: it is read again next time."""
        if not inputs:
            return
        with self._tx() as s:
            rows = _rows(s, [i.path for i in inputs])
            for i in inputs:
                row = rows.get(_path_key(i.path))
                if len(i.problems) > _PROBLEMS_KEPT:
                    if row is not None:
                        s.delete(row)
                    continue
                if row is None:
                    row = rows[_path_key(i.path)] = InputFileRow(path=_path_key(i.path))
                    s.add(row)
                row.digest = i.digest
                row.documents = i.documents
                row.problems = [[k, clean(w), clean(p)] for k, w, p in i.problems]
                row.read_at = utcnow()


def _rows(s: Session, paths: Collection[str]) -> dict[str, InputFileRow]:
    """The recorded rows of ``paths`` by their stored path (:func:`_path_key`), in chunks: a run over
    70,000 files named more than PostgreSQL's 65,535 parameters in one statement."""
    stored = sorted({_path_key(p) for p in paths})
    return {
        r.path: r
        for chunk in chunked(stored)
        for r in s.scalars(select(InputFileRow).where(InputFileRow.path.in_(chunk)))
    }


def _path_key(path: str) -> str:
    """How ``path`` is stored: itself, or for a name no driver takes (bytes that are not UTF-8, held
    as lone surrogates, or a NUL) :func:`~store.admission.clean` of it (U+FFFD for each) followed by
    `` #`` and a digest of its exact characters, so that two names differing only in such bytes are
    two inputs, not one."""
    cleaned = clean(path)
    if cleaned == path:
        return path
    exact = path.encode("utf-8", "surrogatepass")
    return f"{cleaned} #{hashlib.blake2b(exact, digest_size=8).hexdigest()}"
