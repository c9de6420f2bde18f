"""The last touches by us and by them (:mod:`store.touches`), kept in the store as a run leaves them.

Reading them means reading every document's participants (one pass over all documents up to the
end of a day): the larger part of a report on a store that nothing has changed. So a run, before
its report, stores them (:func:`refresh`, one row of table ``touch_log``) with the **basis** they
were read from: the documents' count, newest id and newest change (``documents.updated_at``, an
index lookup), the day and our domains, and, when a participant known by name only was looked up
in the name directory, that directory's own state (:func:`store.crm.directory_key`). A reader
(:func:`people_touches`) takes the stored log while its basis is the current one, else reads the
documents as before; nothing but a run writes the log.

Every write to a document adds a row (count, id) or stamps its ``updated_at``; a stored log whose
basis matches was read from the same documents. One case escapes the basis: a document rewritten
with a clock set back before the newest change, with no document added since; the next document
stored makes the log be read again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Text, cast, delete, func, select
from sqlalchemy.orm import Session

from store.crm import directory_key
from store.models import DocumentRow, TouchLogRow, utcnow
from store.touches import TouchLog

Touches = tuple[dict[str, datetime], dict[str, datetime]]
"""Per outside email (lower-cased): the last touch by us, and the last touch by them (UTC)."""

_ROW = 1
"""The id of the one ``touch_log`` row."""
LOCK = "touch-log"
"""What writers of the log serialize on (:meth:`store.base.StoreCore._lock`)."""


def people_touches(s: Session, as_of: date, domains: set[str], directory: Mapping[str, str]) -> Touches:
    """Per outside person, the last touch by us and by them up to the end of ``as_of``: the stored
    log when its basis is the current one (module docstring), else read from every document."""
    stored = _current(s, as_of, domains)
    if stored is not None:
        return _decoded(stored.log)
    log = read_touches(s, as_of, domains, directory)
    return log.by_us, log.by_them


def refresh(s: Session, as_of: date, domains: set[str], directory: Mapping[str, str]) -> bool:
    """Store the log :func:`people_touches` reads for ``as_of`` and ``domains`` (in ``s``'s
    transaction, which the caller serializes with other writers of the log), unless the stored one
    is current; whether it was written.

    The basis is taken before the documents are read: a document stored meanwhile by another
    process may or may not be in the log, but it is not in the basis, so the next check finds the
    basis changed and reads the documents again, never a log that misses it taken as current."""
    if _current(s, as_of, domains) is not None:
        return False
    plain, named = _basis(s, as_of, domains), _basis(s, as_of, domains, directory_key(s))
    log = read_touches(s, as_of, domains, directory)
    s.execute(delete(TouchLogRow))
    s.add(
        TouchLogRow(
            id=_ROW,
            basis=named if log.consulted else plain,
            named=log.consulted,
            log={"by_us": _encoded(log.by_us), "by_them": _encoded(log.by_them)},
            written_at=utcnow(),
        )
    )
    return True


def _current(s: Session, as_of: date, domains: set[str]) -> TouchLogRow | None:
    """The stored log when its basis is the current one for ``as_of`` and ``domains``."""
    stored = s.get(TouchLogRow, _ROW)
    if stored is None:
        return None
    names = directory_key(s) if stored.named else None
    return stored if stored.basis == _basis(s, as_of, domains, names) else None


def read_touches(s: Session, as_of: date, domains: set[str], directory: Mapping[str, str]) -> TouchLog:
    """The touch log of every document up to the end of ``as_of``, read from the documents.

    Outside Slack a document's touches follow from its participants alone, at its time, and only
    the latest touch counts: documents with the same participants (a thread's replies) are read
    once, at their latest time. A Slack document's touches are its messages' (its segments)."""
    log = TouchLog(frozenset(domains), directory)
    end = _end(as_of)
    d = DocumentRow
    same = cast(d.participants, Text)
    groups = s.execute(
        select(d.source, func.max(d.occurred_at), same)
        .where(d.occurred_at < end, d.source != "slack")
        .group_by(d.source, same)
        .execution_options(yield_per=1000)
    )
    for source, occurred_at, participants in groups:
        log.add(source, occurred_at, json.loads(participants) if participants else [])
    slack = s.execute(
        select(d.occurred_at, d.participants, d.segments)
        .where(d.occurred_at < end, d.source == "slack")
        .execution_options(yield_per=1000)
    )
    for occurred_at, participants, segments in slack:
        log.add("slack", occurred_at, participants or [], segments)
    return log


def _basis(s: Session, as_of: date, domains: set[str], names: tuple[object, ...] | None = None) -> str:
    """What the log of ``as_of`` and ``domains`` is read from, in one line of JSON (module
    docstring); ``names``: the name directory's state, when the log looked names up."""
    d = DocumentRow
    count, newest_id = s.execute(select(func.count(), func.max(d.id))).one()
    changed = s.scalar(select(func.max(d.updated_at)))
    parts: list[object] = [_end(as_of).isoformat(), sorted(domains), count, newest_id, str(changed)]
    if names is not None:
        parts.append(repr(names))
    return json.dumps(parts)


def _end(as_of: date) -> datetime:
    return datetime.combine(as_of + timedelta(days=1), time.min, tzinfo=UTC)


def _encoded(last: dict[str, datetime]) -> dict[str, str]:
    return {email: at.astimezone(UTC).isoformat() for email, at in last.items()}


def _decoded(log: Mapping[str, Mapping[str, str]]) -> Touches:
    by_us, by_them = log.get("by_us", {}), log.get("by_them", {})
    return (
        {email: datetime.fromisoformat(at) for email, at in by_us.items()},
        {email: datetime.fromisoformat(at) for email, at in by_them.items()},
    )
