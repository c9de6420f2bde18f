"""Turn the paths a user names into inputs, and inputs into documents.

``plan(paths)`` walks files, folders and archives and decides, per input,
which connector reads it (or that it is a CRM export). A folder that a
connector reads as a whole (an unpacked Slack export) is one input; any other
folder is walked. Problems never stop the batch: each becomes one
:class:`InputError` line and the rest goes on.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path

from connectors.base import Connector
from connectors.crm import is_crm_csv, read_crm_csv
from connectors.meetings import MeetingNotesConnector, not_meeting_notes
from connectors.meetings_common import meeting_id
from connectors.registry import connector_for
from followthrough.errors import InputError
from followthrough.types import CrmData, SourceDocument

_IGNORED_NAMES = {"COMMIT", "ORIGIN", "Thumbs.db"}
_PAPERWORK = re.compile(r"(README|LICEN[CS]E|NOTICE|CHANGELOG|COPYING|CONTRIBUTING|SOURCES)\b", re.IGNORECASE)
"""Project paperwork met while walking a folder is not customer data (named explicitly, it is read)."""


def _ignored(path: Path) -> bool:
    return path.name.startswith(".") or path.name in _IGNORED_NAMES or bool(_PAPERWORK.match(path.name))


@dataclass
class Input:
    """One thing to read: a CRM CSV, or a path and the connector for it."""

    path: Path
    connector: type[Connector] | None = None
    crm: bool = False


@dataclass
class Plan:
    inputs: list[Input] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    skipped: list[InputError] = field(default_factory=list)

    @property
    def crm_inputs(self) -> list[Input]:
        return [i for i in self.inputs if i.crm]

    @property
    def document_inputs(self) -> list[Input]:
        return [i for i in self.inputs if not i.crm]


def plan(paths: list[Path]) -> Plan:
    """Decide how to read every path; unknown files named explicitly are errors."""
    result = Plan()
    seen: set[Path] = set()
    for path in paths:
        if not path.exists():
            result.errors.append(InputError(path, "no such file or directory"))
            continue
        _visit(path, result, seen, explicit=True)
        if path.is_dir() and not any(_inside(i.path, path) for i in result.inputs):
            if not any(_inside(Path(e.path), path) for e in result.errors + result.skipped):
                result.errors.append(InputError(path, "nothing to read here (no files followthrough reads)"))
    return result


def _inside(child: Path, folder: Path) -> bool:
    try:
        child.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def _visit(path: Path, result: Plan, seen: set[Path], *, explicit: bool) -> None:
    real = path.resolve()
    if real in seen:
        return
    seen.add(real)
    if path.is_file() and path.suffix.lower() == ".csv":
        try:
            if is_crm_csv(path):
                result.inputs.append(Input(path, crm=True))
                return
        except InputError as e:
            result.errors.append(e)
            return
    try:
        cls = connector_for(path)
    except InputError as e:
        result.errors.append(e)
        return
    except OSError as e:
        result.errors.append(InputError(path, f"cannot read: {e.strerror or e}"))
        return
    if cls is MeetingNotesConnector and (reason := not_meeting_notes(path)) is not None:
        result.skipped.append(InputError(path, reason))
        return
    if cls is not None:
        result.inputs.append(Input(path, connector=cls))
        return
    if path.is_dir():
        for child in sorted(path.iterdir()):
            if _ignored(child):
                continue
            _visit(child, result, seen, explicit=False)
        return
    if path.suffix.lower() == ".csv":
        problem = "not a CRM export: no deal or contact columns (see README, CRM CSV)"
    else:
        problem = "unsupported file type" + (f" ({path.suffix})" if path.suffix else "")
    if explicit:
        result.errors.append(InputError(path, problem))
    else:
        result.skipped.append(InputError(path, problem))


def read_crm(inputs: list[Input], errors: list[InputError]) -> CrmData:
    """Read every CRM CSV; a broken one becomes an error line, the rest still counts."""
    crm = CrmData()
    for item in inputs:
        try:
            crm = crm.merge(read_crm_csv(item.path, on_error=errors.append))
        except InputError as e:
            errors.append(e)
    return crm


def documents(item: Input, errors: list[InputError], undated: date | None = None) -> Iterator[SourceDocument]:
    """Documents of one input; problems go to ``errors`` and reading goes on.

    ``undated``: the day for meetings whose file says no date (else they carry the file's mtime).
    """
    assert item.connector is not None
    connector = item.connector(item.path, on_error=errors.append)
    try:
        for doc in connector.documents():
            yield redate(doc, undated) if undated is not None and undated_meeting(doc) else doc
    except InputError as e:
        errors.append(e)
    except RecursionError:
        errors.append(InputError(item.path, "cannot read: structure nested too deeply"))
    except (OSError, UnicodeError, ValueError, RuntimeError, EOFError, zipfile.BadZipFile) as e:
        # RuntimeError: zipfile's answer to an encrypted archive.
        errors.append(InputError(item.path, f"cannot read: {e}"))


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
