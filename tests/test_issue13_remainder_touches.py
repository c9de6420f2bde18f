"""Issue 13 (remainder): last touches read a thread's documents with the same participants once.

``store.accounts._last_touches`` groups the non-Slack documents by their participants (in SQL)
and counts each group at its latest time; these tests hold it to the definition — every stored
document counted by :class:`store.touches.TouchLog` — on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from followthrough.errors import StoreError
from followthrough.types import Participant, ParticipantRole, Segment, SourceDocument
from store import Store, touch_log
from store.accounts import _last_touches
from store.models import AccountRow, DocumentRow
from store.touch_log import people_touches
from store.touches import TouchLog
from tests.store_fixtures import store, store_url  # noqa: F401

T0 = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
OURS = {"northwind.io"}


def _p(name: str, email: str | None, role: ParticipantRole) -> Participant:
    return Participant(name=name, email=email, role=role)


def _documents() -> list[SourceDocument]:
    """Threads where the same two people write back and forth, a meeting, a Slack thread, a
    message from a stranger only, and one dated after the day asked about."""
    docs: list[SourceDocument] = []
    for t, (them, dom) in enumerate([("Dana", "acme.com"), ("Raj", "globex.com"), ("Ines", "initech.com")]):
        us = _p("Marco Rossi", "marco@northwind.io", ParticipantRole.SENDER)
        other = _p(them, f"{them.lower()}@{dom}", ParticipantRole.RECIPIENT)
        for i in range(5):
            sender, to = (us, other) if i % 2 == 0 else (other, us)
            docs.append(
                SourceDocument(
                    source="email",
                    external_id=f"<t{t}.m{i}@x>",
                    thread_id=f"<t{t}.m0@x>",
                    occurred_at=T0 + timedelta(days=t, hours=5 * i),
                    participants=[
                        sender.model_copy(update={"role": ParticipantRole.SENDER}),
                        to.model_copy(update={"role": ParticipantRole.RECIPIENT}),
                    ],
                    text=f"Message {i} of thread {t}.",
                )
            )
    docs.append(
        SourceDocument(
            source="meeting",
            external_id="meeting-1",
            occurred_at=T0 + timedelta(days=9),
            participants=[
                _p("Priya Shah", "priya@northwind.io", ParticipantRole.ATTENDEE),
                _p("Tom Berg", "tom@acme.com", ParticipantRole.ATTENDEE),
            ],
            text="Priya: hello. Tom: hi.",
        )
    )
    docs.append(
        SourceDocument(
            source="slack",
            external_id="C1/1.0",
            thread_id="C1/1.0",
            occurred_at=T0 + timedelta(days=3),
            participants=[
                _p("Lena Park", "lena@northwind.io", ParticipantRole.SENDER),
                _p("Raj", "raj@globex.com", ParticipantRole.RECIPIENT),
            ],
            segments=[
                Segment(
                    speaker="Raj",
                    speaker_email="raj@globex.com",
                    char_start=0,
                    char_end=5,
                    text="hey!!",
                    occurred_at=T0 + timedelta(days=3, hours=1),
                ),
                Segment(
                    speaker="Lena Park",
                    speaker_email="lena@northwind.io",
                    char_start=6,
                    char_end=11,
                    text="sure.",
                    occurred_at=T0 + timedelta(days=4),
                ),
            ],
            text="hey!! sure.",
        )
    )
    docs.append(
        SourceDocument(
            source="email",
            external_id="<late@x>",
            occurred_at=T0 + timedelta(days=200),
            participants=[
                _p("Dana", "dana@acme.com", ParticipantRole.SENDER),
                _p("Marco Rossi", "marco@northwind.io", ParticipantRole.RECIPIENT),
            ],
            text="After the day asked about.",
        )
    )
    return docs


def _by_definition(db: Store, as_of: date) -> tuple[dict[str, datetime], dict[str, datetime]]:
    """Every document up to the end of ``as_of`` through :class:`TouchLog`, one by one."""
    log = TouchLog(frozenset(OURS), db.directory())
    end = datetime.combine(as_of + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    with db._tx() as s:
        for d in s.scalars(select(DocumentRow).where(DocumentRow.occurred_at < end)):
            log.add(
                d.source, d.occurred_at, d.participants or [], d.segments if d.source == "slack" else None
            )
    return log.by_us, log.by_them


def test_grouped_touches_are_the_touches_of_every_document(store: Store) -> None:  # noqa: F811
    from followthrough.types import Account, CrmData

    store.upsert_crm(
        CrmData(
            accounts=[
                Account(crm_id="A1", name="Acme", domains=["acme.com"]),
                Account(crm_id="A2", name="Globex", domains=["globex.com"]),
                Account(crm_id="A3", name="Initech", domains=["initech.com"]),
            ]
        )
    )
    store.add_documents(_documents())
    as_of = date(2026, 10, 1)
    by_us, by_them = _by_definition(store, as_of)
    assert by_us and by_them
    with store._tx() as s:
        accounts = list(s.scalars(select(AccountRow)))
        ids = {a.name: a.id for a in accounts}
        last_us, last_them = _last_touches(s, as_of, OURS, store.directory())
    domain_of = {"acme.com": "Acme", "globex.com": "Globex", "initech.com": "Initech"}
    want_us: dict[int, datetime] = {}
    want_them: dict[int, datetime] = {}
    for source, want in ((by_us, want_us), (by_them, want_them)):
        for email, at in source.items():
            account = ids[domain_of[email.split("@")[1]]]
            want[account] = max(at, want.get(account, at))
    assert last_us == want_us
    assert last_them == want_them
    # Raj's last word came in Slack (its own message time), after the thread's email.
    assert last_them[ids["Globex"]] == T0 + timedelta(days=3, hours=1)
    # The document after the day asked about is not counted.
    assert last_them[ids["Acme"]] < T0 + timedelta(days=200)


def _counting_adds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every :meth:`TouchLog.add` from now on, by source: reading the documents, not the stored log."""
    calls: list[str] = []
    real = TouchLog.add

    def add(self: TouchLog, source: str, *args: Any, **kwargs: Any) -> None:
        calls.append(source)
        real(self, source, *args, **kwargs)

    monkeypatch.setattr(TouchLog, "add", add)
    return calls


def _marco_to_dana(external_id: str, at: datetime) -> SourceDocument:
    """An email from one of ours to Dana (acme.com) at ``at``: a touch by us."""
    return SourceDocument(
        source="email",
        external_id=external_id,
        occurred_at=at,
        participants=[
            _p("Marco Rossi", "marco@northwind.io", ParticipantRole.SENDER),
            _p("Dana", "dana@acme.com", ParticipantRole.RECIPIENT),
        ],
        text=f"Message {external_id}.",
    )


def _with_crm_and_documents(db: Store) -> None:
    from followthrough.types import Account, CrmData

    db.upsert_crm(CrmData(accounts=[Account(crm_id="A1", name="Acme", domains=["acme.com"])]))
    db.add_documents(_documents())


def test_a_stored_touch_log_is_the_log_of_every_document_until_a_document_changes(
    store: Store,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What ``run`` stores before its report (:meth:`Store.refresh_touches`) is what reading every
    document gives; a report reads it instead while nothing changed, and reads the documents again
    once one is added, for another day or for other domains of ours."""
    _with_crm_and_documents(store)
    as_of = date(2026, 10, 1)
    expected = _by_definition(store, as_of)
    assert store.refresh_touches(as_of, OURS) is True
    assert store.refresh_touches(as_of, OURS) is False  # current: not written again
    calls = _counting_adds(monkeypatch)
    with store._tx() as s:
        assert people_touches(s, as_of, OURS, store.directory()) == expected
    assert calls == []  # the stored log, not the documents
    for day, ours in ((as_of + timedelta(days=1), OURS), (as_of, {"northwind.io", "acme.com"})):
        with store._tx() as s:
            people_touches(s, day, ours, store.directory())
        assert calls, (day, ours)  # another day or other domains: not what was stored
        calls.clear()
    later = T0 + timedelta(days=20)
    store.add_documents([_marco_to_dana("<new@x>", later)])
    with store._tx() as s:
        by_us, _ = people_touches(s, as_of, OURS, store.directory())
    assert calls and by_us["dana@acme.com"] == later  # read again: the new message counts
    assert store.refresh_touches(as_of, OURS) is True
    expected = _by_definition(store, as_of)
    calls.clear()
    with store._tx() as s:
        assert people_touches(s, as_of, OURS, store.directory()) == expected
    assert calls == []


def test_a_touch_log_that_looked_names_up_is_read_again_when_the_directory_changes(
    store: Store,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A meeting speaker known by name only is found in the name directory: a contact added later
    can change whom that name is, so such a log is current only while the directory is unchanged."""
    from followthrough.types import Contact, CrmData

    _with_crm_and_documents(store)
    store.add_documents(
        [
            SourceDocument(
                source="meeting",
                external_id="meeting-by-name",
                occurred_at=T0 + timedelta(days=12),
                participants=[
                    _p("Priya Shah", "priya@northwind.io", ParticipantRole.ATTENDEE),
                    _p("Olga Berg", None, ParticipantRole.ATTENDEE),
                ],
                text="Priya: hello. Olga: hi.",
            )
        ]
    )
    as_of = date(2026, 10, 1)
    assert store.refresh_touches(as_of, OURS)
    assert "olga@acme.com" not in _by_definition(store, as_of)[0]
    store.upsert_crm(
        CrmData(contacts=[Contact(email="olga@acme.com", name="Olga Berg", account_name="Acme")])
    )
    calls = _counting_adds(monkeypatch)
    with store._tx() as s:
        by_us, _ = people_touches(s, as_of, OURS, store.directory())
    assert calls  # the directory changed: read again
    assert by_us["olga@acme.com"] == T0 + timedelta(days=12)
    assert (by_us, _) == _by_definition(store, as_of)


def test_a_document_stored_while_the_log_is_read_is_never_missed(
    store: Store,  # noqa: F811
    store_url: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another process stores a message while a run reads the documents for its log: the log's
    basis was taken before, so the next report finds it changed and counts the new message."""
    _with_crm_and_documents(store)
    as_of, later = date(2026, 10, 1), T0 + timedelta(days=20)
    other = Store(store_url)
    real = touch_log.read_touches

    def while_reading(*args: Any, **kwargs: Any) -> TouchLog:
        found = real(*args, **kwargs)
        other.add_documents([_marco_to_dana("<meanwhile@x>", later)])
        return found

    monkeypatch.setattr(touch_log, "read_touches", while_reading)
    try:
        assert store.refresh_touches(as_of, OURS)
    finally:
        other.close()
    monkeypatch.setattr(touch_log, "read_touches", real)
    with store._tx() as s:
        by_us, _ = people_touches(s, as_of, OURS, store.directory())
    assert by_us["dana@acme.com"] == later


def test_a_log_that_cannot_be_stored_leaves_the_report_to_read_the_documents(
    store: Store,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another writer holding the database (or any store error) while the log is written: one
    warning, ``False``, and the report reads the documents as it would without a log."""
    _with_crm_and_documents(store)

    def busy(*args: Any, **kwargs: Any) -> bool:
        raise StoreError("database error: database is locked")

    monkeypatch.setattr(touch_log, "refresh", busy)
    as_of = date(2026, 10, 1)
    assert store.refresh_touches(as_of, OURS) is False
    with store._tx() as s:
        assert people_touches(s, as_of, OURS, store.directory()) == _by_definition(store, as_of)
