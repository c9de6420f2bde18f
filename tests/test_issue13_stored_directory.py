"""Issue 13: the name directory is looked up where it is stored, never read whole for a run.

:class:`store.directory.StoredDirectory` must give, name by name, the answers of the directory
``dict`` that earlier versions read whole (some 350 MB per million contacts): the rules are in
:mod:`store.directory`. :func:`_reference` is that reading, kept here as the oracle, and a property
test compares the two on random CRMs full of the cases the rules are about: names two contacts
share, single-word names, people seen in documents under a CRM name, deal owners with and without a
name, white space and case. The extractor's first-name question
(:meth:`~followthrough.types.NameIndex.sole_email_of_first_name`) is checked against
:func:`followthrough.types.first_name_emails` over the oracle, as the extractor answers it for a
plain ``dict``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, inspect, select

from extractor.people import Directory
from followthrough.types import (
    Account,
    Contact,
    CrmData,
    Deal,
    Participant,
    ParticipantRole,
    SourceDocument,
    first_name_emails,
    person_key,
)
from store import Store
from store.directory import StoredDirectory
from store.migrate import alembic_config
from store.models import AccountRow, ContactRow, DealRow, DocumentRow, PersonRow
from tests.store_fixtures import store, store_url  # noqa: F401

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
_SHARED = object()


def _one_or_shared(names: dict[str, object], key: str, email: str) -> None:
    known = names.get(key)
    names[key] = email if known is None or known == email else _SHARED


def _reference(db: Store) -> dict[str, str]:
    """The directory as the store read it whole before (the oracle): from the rows' own names."""
    full_crm: dict[str, object] = {}
    full_seen: dict[str, object] = {}
    first: dict[str, object] = {}
    with db._tx() as s:
        owners = set(s.scalars(select(DealRow.owner_email).where(DealRow.owner_email.is_not(None))))
        named: set[str] = set()
        sources = (
            (full_crm, select(ContactRow.name, ContactRow.email).where(ContactRow.name.is_not(None))),
            (full_seen, select(PersonRow.name, PersonRow.email)),
        )
        for full, query in sources:
            for name, email in s.execute(query):
                key = " ".join((name or "").lower().split())
                if not key or "@" in key:
                    continue
                if email in owners:
                    named.add(email)
                if full is full_seen and key in full_crm:
                    continue
                _one_or_shared(full, key, email)
                _one_or_shared(first, key.split()[0], email)
    for owner in owners:
        if owner and owner not in named:
            local = owner.split("@", 1)[0].lower()
            if local.isalpha():
                _one_or_shared(first, local, owner)
    out = {k: v for k, v in first.items() if isinstance(v, str)}
    out.update((k, v) for full in (full_crm, full_seen) for k, v in full.items() if isinstance(v, str))
    return out


def _clear(db: Store) -> None:
    with db._tx() as s:
        for row in (DocumentRow, PersonRow, DealRow, ContactRow, AccountRow):
            s.execute(delete(row))


_WORDS = ("dana", "Dana", "lee", "raj", "patel", "the", "marco", "o'neil", "ana-maria")
_EMAILS = [f"{local}@{domain}" for local in ("dana", "raj", "x1", "marco") for domain in ("acme.com", "b.io")]
_words = st.lists(st.sampled_from(_WORDS), min_size=1, max_size=3)
_spaced = st.tuples(_words, st.sampled_from((" ", "  ", "\t"))).map(lambda t: t[1].join(t[0]))
_name = st.one_of(st.none(), _spaced, st.just("dana@acme.com"))
_crm = st.lists(st.tuples(st.sampled_from(_EMAILS), _name), max_size=8)
_people = st.lists(st.tuples(st.sampled_from(_EMAILS), _spaced), max_size=5)
_owners = st.lists(st.sampled_from([*_EMAILS, "owner7@northwind.io", "marco@northwind.io"]), max_size=3)


def _fill(
    db: Store, contacts: list[tuple[str, str | None]], people: list[tuple[str, str]], owners: list[str]
) -> None:
    db.upsert_crm(
        CrmData(
            accounts=[Account(name="Acme", domains=["acme.com"])],
            contacts=[Contact(email=e, name=n, account_name="Acme") for e, n in contacts],
            deals=[
                Deal(crm_id=f"D-{i}", name=f"Deal {i}", account_name="Acme", owner_email=o)
                for i, o in enumerate(owners)
            ],
        )
    )
    for i, (email, name) in enumerate(people):  # one document each: a fuller name replaces a shorter one
        sender = Participant(name=name, email=email, role=ParticipantRole.SENDER)
        db.add_documents(
            [
                SourceDocument(
                    source="email", external_id=f"<m{i}@x>", occurred_at=T0, participants=[sender], text="Hi."
                )
            ]
        )


def _questions(expected: dict[str, str]) -> set[str]:
    words = {w.lower() for w in _WORDS} | {"owner", "x", "nobody", ""}
    return (
        set(expected)
        | words
        | {f"{a} {b}" for a in words for b in words}
        | {"dana  lee", "Dana Lee", " dana"}
    )


@given(contacts=_crm, people=_people, owners=_owners)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_each_answer_is_the_whole_directorys(
    store: Store,  # noqa: F811
    contacts: list[tuple[str, str | None]],
    people: list[tuple[str, str]],
    owners: list[str],
) -> None:
    _clear(store)
    _fill(store, contacts, people, owners)
    expected = _reference(store)
    looked_up = StoredDirectory(store)  # never iterated: every answer below is a lookup
    for key in _questions(expected):
        assert looked_up.get(key) == expected.get(key), key
    firsts = first_name_emails(expected)
    for word in {k.split()[0] for k in _questions(expected) if k.strip()}:
        assert looked_up.sole_email_of_first_name(word) == firsts.get(word), word
    assert dict(StoredDirectory(store)) == expected  # read whole (a cluster's copy)


def test_the_extractor_answers_alike_from_a_stored_directory_and_from_its_dict(store: Store) -> None:  # noqa: F811
    _fill(
        store,
        [("dana@acme.com", "Dana Lee"), ("raj@acme.com", "Raj Patel"), ("x1@acme.com", "Raj Kumar")],
        [("marco@b.io", "Marco Rossi")],
        ["owner7@northwind.io"],
    )
    stored = store.directory()
    plain = Directory(None, dict(StoredDirectory(store)))
    world = Directory(None, stored)
    for name in ("dana", "dana lee", "raj", "marco", "the", "owner", "owner7", "nobody", "marco rossi"):
        assert world.email_of(name) == plain.email_of(name), name
    assert world.email_of("dana") == "dana@acme.com" and world.email_of("raj") is None
    assert world.email_of("marco") == "marco@b.io"


def test_a_contacts_name_keys_follow_its_name(store: Store) -> None:  # noqa: F811
    store.upsert_crm(CrmData(contacts=[Contact(email="dana@acme.com", name="  Dana   LEE ")]))
    store.upsert_crm(CrmData(contacts=[Contact(email="raj@acme.com", name="raj@acme.com")]))
    with store._tx() as s:
        keys = {
            e: (f, k)
            for e, f, k in s.execute(select(ContactRow.email, ContactRow.first_name_key, ContactRow.name_key))
        }
    assert keys == {"dana@acme.com": ("dana", "dana lee"), "raj@acme.com": (None, None)}
    store.upsert_crm(CrmData(contacts=[Contact(email="dana@acme.com", name="Dana Smith")]))
    assert store.directory()["dana smith"] == "dana@acme.com" and "dana lee" not in store.directory()
    assert person_key(" Dana\tLee ") == "dana lee"


def test_a_run_reads_no_contact_whole(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """Looking names up never reads the directory whole (only iterating it does)."""
    store.upsert_crm(
        CrmData(contacts=[Contact(email=f"c{i}@acme.com", name=f"Person{i} Lee") for i in range(50)])
    )
    whole: list[int] = []
    real = StoredDirectory._read_whole
    monkeypatch.setattr(StoredDirectory, "_read_whole", lambda self: whole.append(1) or real(self))
    names = store.directory()
    world = Directory({"northwind.io"}, names)
    assert world.email_of("person7 lee") == "c7@acme.com" and world.email_of("person7") == "c7@acme.com"
    assert "person8 lee" in names and names.get("nobody") is None
    assert whole == []
    assert len(names) == 100 and whole == [1]  # 50 full names, 50 unique first names


def test_migration_0017_keys_the_contacts_already_stored(tmp_path: Path) -> None:
    """A database from before the name keys answers by name after the upgrade: every stored contact
    is keyed (more than one batch of them), a name with ``@`` is not."""
    url = f"sqlite:///{tmp_path / 'ft.db'}"
    with Store(url) as old:
        people = [Contact(email=f"c{i}@acme.com", name=f" Person{i}  LEE") for i in range(2_500)]
        old.upsert_crm(CrmData(contacts=[*people, Contact(email="odd@acme.com", name="odd@acme.com")]))
        with old.engine.begin() as conn:  # back to a database from before the columns
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0016")
        assert "name_key" not in {c["name"] for c in inspect(old.engine).get_columns("contacts")}
    with Store(url) as new:  # opening applies 0017
        names = new.directory()
        assert names.get("person2499 lee") == "c2499@acme.com" and names.get("person7") == "c7@acme.com"
        with new._tx() as s:
            unkeyed = s.scalars(select(ContactRow.email).where(ContactRow.name_key.is_(None))).all()
        assert unkeyed == ["odd@acme.com"]
        assert len(names) == 5_000


def test_a_name_whose_key_is_longer_than_the_name_is_stored_and_found(store: Store) -> None:  # noqa: F811
    """Lower-casing "İ" gives two characters: a 300-character name's key is longer than 300."""
    name = "İ" * 150 + " " + "x" * 149
    store.upsert_crm(CrmData(contacts=[Contact(email="long@acme.com", name=name)]))
    assert store.directory().get(person_key(name)) == "long@acme.com"
    assert store.directory().get(5) is None  # type: ignore[call-overload]  # no key, as in a dict
