"""Turn the paths a user names into inputs, and inputs into documents and CRM records.

``plan(paths)`` walks files, folders and archives and decides, per input,
which registered reader reads it (:func:`connectors.registry.reader_for`). A
folder that a reader reads as a whole (an unpacked Slack export) is one input;
any other folder is walked. ``records(input)`` and ``documents(input)`` read
one input, by what its reader yields (:class:`connectors.base.Yields`).
Problems never stop the batch: each becomes one :class:`InputError` line and
the rest goes on.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from itertools import islice
from pathlib import Path

from connectors.base import Connector, CrmReader, Reader, Yields
from connectors.meetings_common import meeting_id
from connectors.registry import reader_for, registered
from followthrough.errors import InputError
from followthrough.limits import MAX_FOLDER_DEPTH, MAX_INPUT_FILES
from followthrough.types import CrmData, CrmRows, SourceDocument

_IGNORED_NAMES = {"COMMIT", "ORIGIN", "Thumbs.db"}
_PAPERWORK = re.compile(r"(README|LICEN[CS]E|NOTICE|CHANGELOG|COPYING|CONTRIBUTING|SOURCES)\b", re.IGNORECASE)
"""Project paperwork met while walking a folder is not customer data (named explicitly, it is read)."""


def _ignored(path: Path) -> bool:
    return path.name.startswith(".") or path.name in _IGNORED_NAMES or bool(_PAPERWORK.match(path.name))


@dataclass
class Input:
    """One thing to read: a path and the reader for it.

    ``follow_symlinks``: whether the reader may follow symlinks out of a folder it reads.
    """

    path: Path
    reader: type[Reader]
    follow_symlinks: bool = False


@dataclass
class Plan:
    """The inputs to read, in the order met, and one line per path that is not read."""

    inputs: list[Input] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    skipped: list[InputError] = field(default_factory=list)

    def yielding(self, yields: Yields) -> list[Input]:
        """The inputs whose reader yields ``yields``, in the order met."""
        return [i for i in self.inputs if i.reader.yields is yields]


def plan(paths: list[Path], *, follow_symlinks: bool = False) -> Plan:
    """Decide how to read every path; unknown files named explicitly are errors.

    A path named here is read even when it is a symlink. A folder's walk stays
    inside that folder: a symlink in it whose target lies outside is skipped with
    one line, unless ``follow_symlinks`` (symlink loops are never followed). A
    symlink loop, a broken link, an entry that cannot be read, and anything that
    is not a regular file or a folder (FIFO, socket, device) is one line each,
    and the walk goes on. Never opens anything but regular files. A walk stops
    after :data:`~followthrough.limits.MAX_INPUT_FILES` files and folders met,
    with one line; what it found before is read.
    """
    result = Plan()
    walk = _Walk(result, follow_symlinks)
    for path in paths:
        walk.top(path)
    return result


def _inside(child: Path, folder: Path) -> bool:
    real_child, real_folder = os.path.realpath(child), os.path.realpath(folder)
    return _within(real_child, real_folder) or _within(os.path.abspath(child), os.path.abspath(folder))


def _within(path: str, folder: str) -> bool:
    """``path`` is ``folder`` or below it (both absolute, normalized)."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


_NOT_REGULAR = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def _what(mode: int) -> str:
    """What a non-regular, non-folder entry is, in words."""
    return next((words for test, words in _NOT_REGULAR if test(mode)), "a special file")


_SYSTEM_FOLDERS = ("/proc", "/sys", "/dev")
"""Pseudo file systems a link inside a folder is never followed into (endless or blocking files)."""


def _stat_problem(path: Path, e: OSError) -> str:
    """Why ``path`` cannot be looked at: a symlink loop, a broken link, no permission..."""
    if e.errno == errno.ELOOP:
        return "symlink loop (the link leads back to itself); not read"
    if e.errno in (errno.ENOENT, errno.ENOTDIR):
        try:
            target = os.readlink(path)
        except (OSError, ValueError):
            return "no such file or directory"
        return f"broken symlink: its target {target} does not exist"
    if e.errno in (errno.EACCES, errno.EPERM):
        return "cannot read: permission denied"
    return f"cannot read: {e.strerror or e}"


def _stat(path: Path) -> os.stat_result:
    """``path``'s status, following symlinks; raises InputError saying why it cannot be had."""
    try:
        return path.stat()
    except OSError as e:
        raise InputError(path, _stat_problem(path, e)) from e
    except ValueError as e:  # an embedded NUL byte
        raise InputError(path, f"not a valid path ({e})") from e


def _check_readable(path: Path) -> None:
    """Open a regular file once, so that one we may not read is reported before any connector peeks."""
    try:
        with path.open("rb"):
            pass
    except OSError as e:
        raise InputError(path, _stat_problem(path, e)) from e


@dataclass
class _Walk:
    """One ``plan()``: the inputs found so far and the real paths already seen."""

    result: Plan
    follow_symlinks: bool
    seen: set[str] = field(default_factory=set)
    met: int = 0
    """Entries met while walking folders, counted against :data:`MAX_INPUT_FILES`."""

    def top(self, path: Path) -> None:
        """A path named by the user: read whatever it is (even a symlink), or say why not."""
        try:
            info = _stat(path)
        except InputError as e:
            self.result.errors.append(e)
            return
        if os.path.realpath(path) in self.seen:
            return  # named twice, or already read inside a folder named before
        before = len(self.result.inputs) + len(self.result.errors) + len(self.result.skipped)
        self._visit(path, info, top=path, explicit=True)
        after = len(self.result.inputs) + len(self.result.errors) + len(self.result.skipped)
        if stat.S_ISDIR(info.st_mode) and after == before:
            if not any(_inside(i.path, path) for i in self.result.inputs):
                self.result.errors.append(
                    InputError(path, "nothing to read here (no files followthrough reads)")
                )

    def _problem(self, error: InputError, *, explicit: bool, skip: bool = False) -> None:
        (self.result.skipped if skip and not explicit else self.result.errors).append(error)

    def _visit(self, path: Path, info: os.stat_result, *, top: Path, explicit: bool, depth: int = 0) -> None:
        real = os.path.realpath(path)
        if real in self.seen:
            return
        self.seen.add(real)
        mode = info.st_mode
        if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
            problem = f"{_what(mode)}, not a regular file; not read"
            self._problem(InputError(path, problem), explicit=explicit, skip=True)
            return
        if stat.S_ISREG(mode):
            try:
                _check_readable(path)
            except InputError as e:
                self._problem(e, explicit=explicit)
                return
        try:
            reader = reader_for(path)
        except InputError as e:
            self.result.errors.append(e)
            return
        except OSError as e:
            self.result.errors.append(InputError(path, _stat_problem(path, e)))
            return
        if reader is not None and (reason := reader.skip_reason(path)) is not None:
            self.result.skipped.append(InputError(path, reason))
            return
        if reader is not None:
            self.result.inputs.append(Input(path, reader, follow_symlinks=self.follow_symlinks))
            return
        if stat.S_ISDIR(mode):
            if depth > MAX_FOLDER_DEPTH:
                problem = f"folders nested more than {MAX_FOLDER_DEPTH} levels deep (the limit); not read"
                self.result.errors.append(InputError(path, problem))
                return
            self._walk_folder(path, top, depth)
            return
        self._problem(InputError(path, _unread_reason(path)), explicit=explicit, skip=True)

    def _walk_folder(self, folder: Path, top: Path, depth: int) -> None:
        try:
            # Never more names than the limit leaves room for (and one, to know it is hit).
            children = sorted(islice(folder.iterdir(), max(0, MAX_INPUT_FILES - self.met) + 1))
        except OSError as e:
            denied = e.errno in (errno.EACCES, errno.EPERM)
            problem = "permission denied" if denied else str(e.strerror or e)
            self.result.errors.append(InputError(folder, f"cannot read folder: {problem}"))
            return
        for child in children:
            if not self._room(top):
                return
            if not _ignored(child):
                self._child(child, top, depth + 1)

    def _room(self, top: Path) -> bool:
        """Count one more entry met; False (with one line, said once) past :data:`MAX_INPUT_FILES`."""
        self.met += 1
        if self.met == MAX_INPUT_FILES + 1:
            problem = (
                f"more than {MAX_INPUT_FILES:,} files and folders to read (the limit); the rest is not read"
            )
            self.result.errors.append(InputError(top, problem))
        return self.met <= MAX_INPUT_FILES

    def _child(self, child: Path, top: Path, depth: int) -> None:
        """One entry met while walking ``top``: confined to it unless ``follow_symlinks``."""
        try:
            is_link = stat.S_ISLNK(child.lstat().st_mode)
        except OSError as e:
            self.result.errors.append(InputError(child, _stat_problem(child, e)))
            return
        try:
            info = _stat(child)  # a loop or a dangling link is that, wherever it points
        except InputError as e:
            self.result.errors.append(e)
            return
        if is_link:
            real = os.path.realpath(child)
            system = next((f for f in _SYSTEM_FOLDERS if _within(real, f)), None)
            if system is not None:
                self.result.skipped.append(InputError(child, f"symlink points into {system}; not read"))
                return
            top_real = os.path.realpath(top)
            if stat.S_ISDIR(info.st_mode) and real != top_real and _within(top_real, real):
                problem = f"symlink loop: it points to {real}, which holds {top}; not read"
                self.result.errors.append(InputError(child, problem))
                return
            if not self.follow_symlinks and not _within(real, os.path.realpath(top)):
                problem = f"symlink points outside {top}; not read (pass --follow-symlinks to read it)"
                self.result.skipped.append(InputError(child, problem))
                return
        self._visit(child, info, top=top, explicit=False, depth=depth)


def _unread_reason(path: Path) -> str:
    """Why no reader reads the file ``path``: a registered reader's reason, else its file type."""
    for reader in registered().values():
        reason = reader.unread_reason(path)
        if reason is not None:
            return reason
    return "unsupported file type" + (f" ({path.suffix})" if path.suffix else "")


def records(item: Input, errors: list[InputError]) -> Iterator[CrmData]:
    """The CRM records of one input whose reader yields ``Yields.CRM``, in chunks; problems go to ``errors``.

    A bad row is one line and the other rows are read; an export that cannot be read
    at all is one line and no more chunks. Raises TypeError (at once) for an input of another kind.
    """
    reader = _crm_reader(item, errors)

    def chunks() -> Iterator[CrmData]:
        with _reading(item, errors):
            yield from reader.records()

    return chunks()


def record_rows(item: Input, errors: list[InputError]) -> Iterator[CrmRows]:
    """:func:`records` as :data:`~followthrough.types.CrmRows` (:meth:`CrmReader.record_rows`)."""
    reader = _crm_reader(item, errors)

    def chunks() -> Iterator[CrmRows]:
        with _reading(item, errors):
            yield from reader.record_rows()

    return chunks()


def _crm_reader(item: Input, errors: list[InputError]) -> CrmReader:
    reader = _open(item, errors)
    if not isinstance(reader, CrmReader):
        raise _other_kind(item, Yields.CRM)
    return reader


def documents(item: Input, errors: list[InputError], undated: date | None = None) -> Iterator[SourceDocument]:
    """Documents of one input whose reader yields ``Yields.DOCUMENTS``; problems go to ``errors``.

    Reading goes on past a bad record; a problem with the whole input ends it with one line.
    ``undated``: the day for meetings whose file says no date (else they carry the file's mtime).
    Raises TypeError for an input of another kind.
    """
    connector = _open(item, errors)
    if not isinstance(connector, Connector):
        raise _other_kind(item, Yields.DOCUMENTS)
    with _reading(item, errors):
        for doc in connector.documents():
            yield redate(doc, undated) if undated is not None and undated_meeting(doc) else doc


def _open(item: Input, errors: list[InputError]) -> Reader:
    """``item``'s reader, sending the problems with single records to ``errors``."""
    return item.reader(item.path, on_error=errors.append, follow_symlinks=item.follow_symlinks)


def _other_kind(item: Input, wanted: Yields) -> TypeError:
    got = item.reader.yields.value
    return TypeError(f"{item.path}: {item.reader.__name__} yields {got}, not {wanted.value}")


@contextmanager
def _reading(item: Input, errors: list[InputError]) -> Iterator[None]:
    """Turn a problem with the whole of ``item`` into one line in ``errors`` (and end its reading)."""
    try:
        yield
    except InputError as e:
        errors.append(e)
    except RecursionError:
        errors.append(InputError(item.path, "cannot read: structure nested too deeply"))
    except (OSError, UnicodeError, ValueError, RuntimeError, EOFError, zipfile.BadZipFile) as e:
        # RuntimeError: zipfile's answer to an encrypted archive. One line: pydantic's message has many.
        lines = str(e).strip().splitlines()
        errors.append(InputError(item.path, f"cannot read: {lines[0] if lines else type(e).__name__}"))


def undated_meeting(doc: SourceDocument) -> bool:
    """A meeting whose date came from nothing but the file's modification time."""
    return doc.source == "meeting" and doc.metadata.get("date_source") == "mtime"


def redate(doc: SourceDocument, day: date) -> SourceDocument:
    """``doc`` held on ``day`` (noon UTC), as the user said (``--date``): new date, new id."""
    when = datetime.combine(day, time(12, 0), UTC)
    ident = meeting_id(Path(doc.origin or doc.external_id.split("#", 1)[0]), doc.title or "", when)
    data = doc.model_dump()
    data.update(
        occurred_at=when,
        external_id=ident,
        thread_id=ident,
        content_hash="",
        metadata={**doc.metadata, "date_source": "option"},
    )
    return SourceDocument.model_validate(data)
