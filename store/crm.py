"""CRM data in the store: accounts, contacts and deals, and the name directory.

:meth:`CrmStore.upsert_crm` writes one chunk of an export in bulk: per table, one
``SELECT ... WHERE key IN (...)`` for the keys the chunk names, one ``executemany``
``INSERT`` for the new ones (:func:`store.bulk.insert_rows`: values converted once per
column, no parameter dictionary per row) and one ``executemany`` ``UPDATE`` for the
changed ones, inside one transaction. Its cost grows with the chunk, never with what
the store already holds. On SQLite, while an import's chunks mostly add rows (a first
import), each table's rows are inserted first (``ON CONFLICT DO NOTHING``) and only the
keys a chunk found stored are looked up (:func:`_add_new`). On SQLite the transaction
first gives its connection a page cache of :data:`IMPORT_CACHE_KIB` (the default 2 MiB
held a tenth of a million-row export's email index, so every insert read pages back from
the file).

A first import (the contacts or deals table empty when its first chunk comes) on SQLite
drops that table's secondary indexes (:data:`DEFERRABLE_INDEXES`: none enforces anything)
and makes them again, by one sort each, when the import ends: keeping them up to date row
by row was a third of a million-row import's time. Opening the store makes again any of
them that is missing (:func:`restore_indexes`), so an import killed half way loses none.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import Connection, Engine, Index, Table, func, literal, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import InstrumentedAttribute, Session

from followthrough.types import Contact, CrmData, Deal, domain_of, person_key
from store.base import StoreCore, _retry_conflicts, log
from store.bulk import chunked, insert_rows, select_in
from store.crm_records import ContactRecord, CrmRecords, DealRecord
from store.directory import StoredDirectory
from store.models import AccountDomainRow, AccountRow, Base, ContactRow, DealRow, PersonRow, utcnow

IN_BATCH = 5_000
"""Keys per ``IN (...)`` lookup: well under SQLite's 32,766 bound parameters."""
IMPORT_CACHE_KIB = 64 * 1024
"""SQLite page cache (KiB) of a connection that has stored CRM records: the indexes a large export
fills (contact emails, deal ids, account names) stay in memory while it is written."""
IMPORT_WAL_PAGES = 16_384
"""SQLite write-ahead log pages after which such a connection's commit copies the log into the
database (the default, 1,000, checkpoints every few chunks of an export, each with an ``fsync``):
a million-row import spends a tenth less time, its log up to 64 MiB on disk meanwhile."""


def crm_company_domains(s: Session) -> set[str]:
    """Our own company's domains, guessed from the CRM deal owners' emails (one ``DISTINCT`` scan)."""
    emails = s.scalars(select(DealRow.owner_email).where(DealRow.owner_email.is_not(None)).distinct())
    return {d for d in (domain_of(e) for e in emails if e) if d}


class _AccountIn:
    """What one call says about an account: its records merged in order."""

    __slots__ = ("crm_id", "domains", "name", "tier")

    def __init__(self, name: str) -> None:
        self.name = name
        self.domains: set[str] = set()
        self.tier: str | None = None
        self.crm_id: str | None = None


@dataclass
class _Counts:
    """``{accounts,contacts,deals}_{added,updated}`` as :meth:`CrmStore.upsert_crm` returns them.

    A row counts as updated when it changed, was there before ``since`` and was not already
    changed since then (by an earlier chunk of the same import): each row is counted once.
    """

    since: datetime
    values: dict[str, int] = field(
        default_factory=lambda: {
            f"{k}_{v}": 0 for k in ("accounts", "contacts", "deals") for v in ("added", "updated")
        }
    )

    def added(self, table: str) -> None:
        self.values[f"{table}_added"] += 1

    def updated(self, table: str, created_at: datetime, updated_at: datetime) -> None:
        if created_at < self.since and updated_at < self.since:
            self.values[f"{table}_updated"] += 1


KNOWN_ACCOUNTS = 200_000
"""Accounts a :class:`CrmImport` remembers at most (more than any real CRM's; an export of a new
account on every row forgets and starts again, at about 80 MB)."""


class _Known(NamedTuple):
    """An account as this import last stored or read it."""

    id: int
    domains: frozenset[str]
    tier: str | None
    crm_id: str | None


class CrmImport:
    """One import of CRM records, a chunk at a time (:meth:`CrmStore.crm_import`).

    Every chunk names most of the export's accounts again (a deal's account is on every deal row):
    the accounts this import has stored or read are remembered while it lasts, so a chunk reads
    and writes only the accounts it adds to. Another writer changing one of those accounts during
    the import is not seen by it; ids never change, and merged values are only ever added to
    (domains) or given (tier, CRM id). On SQLite each chunk's connection gets a page cache of
    :data:`IMPORT_CACHE_KIB` (the indexes a large export fills stay in memory), given back when
    the import ends. Counts are as :meth:`CrmStore.upsert_crm`'s with ``since`` = when it began.
    """

    def __init__(self, store: CrmStore) -> None:
        self.store = store
        self.since = utcnow()
        self.known: dict[str, _Known] = {}
        self.novelty = _novelty()
        self.chunks = 0
        self.deferred: list[Index] = []
        """The secondary indexes this import dropped (:func:`defer_indexes`), made again by :meth:`close`."""

    def upsert(self, crm: CrmData | CrmRecords) -> dict[str, int]:
        """Store one chunk in one transaction; its ``{accounts,contacts,deals}_{added,updated}``.

        ``crm``: the records, as models or (from a reader process) as validated tuples."""
        self.chunks += 1
        if self.chunks == 1 and self.store.engine.dialect.name == "sqlite":
            with self.store.engine.begin() as conn:
                self.deferred = defer_indexes(conn)
        return self.store._upsert(crm, since=self.since, known=self.known, novelty=self.novelty)

    def close(self, *, rebuild: bool = True) -> None:
        """End the import: the indexes it dropped are made again (``rebuild``; else, and when that
        fails, the next opening of the store makes them: :func:`restore_indexes`); on SQLite, the
        pooled connections (their page caches, their longer log) are closed (a database in memory
        lives in its one connection, and is left alone)."""
        if self.deferred and rebuild:
            _make_indexes(self.store.engine, self.deferred)
        self.deferred = []
        url = self.store.engine.url
        in_memory = url.database in (None, "", ":memory:") or "mode=memory" in str(url)
        if self.chunks and url.get_backend_name() == "sqlite" and not in_memory:
            self.store.engine.dispose()


class CrmStore(StoreCore):
    """Accounts, contacts and deals from the CRM; who is who by name."""

    def crm_state(self) -> str:
        """What the CRM tables hold, in a few words: each table's row count and newest change. Equal
        states mean no import changed anything in between (what lets a re-run skip an unchanged
        export: :mod:`followthrough.digests`)."""
        with self._tx() as s:
            parts = [
                s.execute(select(func.count(), func.max(row.updated_at))).one()
                for row in (AccountRow, ContactRow, DealRow)
            ]
        return "|".join(f"{n}@{when.isoformat() if when else '-'}" for n, when in parts)

    @contextmanager
    def crm_import(self) -> Iterator[CrmImport]:
        """An import of one or more CRM exports, stored a chunk at a time (:class:`CrmImport`)::

        with store.crm_import() as importing:
            for chunk in chunks:
                counts = importing.upsert(chunk)
        """
        importing = CrmImport(self)
        try:
            yield importing
        except BaseException as e:
            # interrupted (Ctrl-C): stop now, the indexes are made when the store is next opened
            importing.close(rebuild=isinstance(e, Exception))
            raise
        importing.close()

    def upsert_crm(self, crm: CrmData, *, since: datetime | None = None) -> dict[str, int]:
        """Add or update accounts, contacts and deals in bulk, in one transaction. Idempotent: a second
        call changes nothing (and writes nothing).

        Accounts are matched by name (case-insensitive), contacts by email, deals by CRM id.
        Records later in ``crm`` win over earlier ones and over the store, except that an
        account's domains add up and an empty value (tier, a contact's name, role or account)
        keeps the one known. ``since``: when an import that stores an export in several calls
        (one per chunk) began, so that a row is counted once (see :class:`_Counts`); default now
        (:meth:`crm_import` keeps it, and more, for such an import). Returns
        ``{accounts,contacts,deals}_{added,updated}`` counts.
        """
        return self._upsert(crm, since=since, known={}, novelty=None)

    @_retry_conflicts
    def _upsert(
        self,
        crm: CrmData | CrmRecords,
        *,
        since: datetime | None,
        known: dict[str, _Known],
        novelty: dict[str, bool] | None,
    ) -> dict[str, int]:
        now = utcnow()
        counts = _Counts(since or now)
        learned: dict[str, _Known] = {}
        with self._tx() as s:
            if novelty is not None and s.get_bind().dialect.name == "sqlite":  # an import
                s.execute(text(f"PRAGMA cache_size = -{IMPORT_CACHE_KIB}"))
                s.execute(text(f"PRAGMA wal_autocheckpoint = {IMPORT_WAL_PAGES}"))
            upsert_records(s, crm, now, counts, known, learned, novelty)
        if len(known) + len(learned) > KNOWN_ACCOUNTS:
            known.clear()  # an export of ever new accounts: remembering them all would only cost memory
        known.update(learned)  # committed: what the next chunk of this import may take as stored
        return counts.values

    def company_domains_from_crm(self) -> set[str]:
        """Our own company's domains, guessed from the deal owners' emails."""
        with self._tx() as s:
            return crm_company_domains(s)

    _directory_memo: tuple[tuple[Any, ...], StoredDirectory] | None = None
    """The last :meth:`directory` made by this store, with the :func:`directory_key` it was made at."""

    def directory(self) -> StoredDirectory:
        """Lowercased person name → email, from CRM contacts, deal owners and people seen in documents
        (:class:`store.directory.StoredDirectory`: the rules, and how a million contacts are looked
        up rather than read).

        Made once per state of what it is built from: while the contacts, the people and the deals
        keep their :func:`directory_key` (row counts, newest id, newest change), this store hands
        out the directory it last made (a run asks three times), with the answers it has kept.
        """
        with self._tx() as s:
            key = directory_key(s)
        memo = self._directory_memo
        if memo is None or memo[0] != key:
            # Made after the key: a change landing in between makes the next key differ (made again),
            # never a stale directory kept.
            memo = self._directory_memo = (key, StoredDirectory(self))
        return memo[1]


def directory_key(s: Session) -> tuple[Any, ...]:
    """What :meth:`CrmStore.directory` is read from, in a few values: per table (contacts, people,
    deals) its row count, newest id and newest ``updated_at``. Every write to them adds a row (count,
    id) or stamps the row it changes with the time (an import's rows, a fuller name seen in a
    document); one scan of each table, no row read into Python."""
    return tuple(
        tuple(s.execute(select(func.count(), func.max(row.id), func.max(row.updated_at))).one())
        for row in (ContactRow, PersonRow, DealRow)
    )


_QUOTED = re.compile(r'"([^"\\]*)"')


def stored_domains(listed: str | None) -> list[str]:
    """An account's domains from the JSON text of its ``domains`` column (``["acme.com", "acme.io"]``):
    the strings as they stand, decoded as JSON only when one holds an escape (a million accounts'
    domains are read in a tenth of the time of ``json.loads``)."""
    if not listed:
        return []
    if "\\" in listed:
        return [str(d) for d in json.loads(listed)]
    return _QUOTED.findall(listed)


def domain_accounts(s: Session, domains: Collection[str], *, last: bool = False) -> dict[str, int]:
    """Lowercased domain → the first account (by id; the last with ``last``) that lists it, for
    ``domains`` (lower-cased) only: a few lookups in ``account_domains``' index."""
    ad = AccountDomainRow
    pick = func.max(ad.account_id) if last else func.min(ad.account_id)
    out: dict[str, int] = {}
    for chunk in chunked(sorted(domains)):
        query = select(ad.domain, pick).where(ad.domain.in_(chunk)).group_by(ad.domain)
        out.update((domain, account_id) for domain, account_id in s.execute(query))
    return out


def _consecutive_ids(s: Session, keys: Sequence[str]) -> list[int] | None:
    """The ids SQLite gave the accounts just inserted with ``keys`` (``name_key``, in insertion order)
    without reading them back: in one write transaction SQLite numbers new rows one past the largest
    id, so they are ``last_insert_rowid() - len(keys) + 1`` onwards. Checked (the first and last
    rows' keys, and that the range holds that many rows); ``None`` when not SQLite or not so."""
    if not keys or s.get_bind().dialect.name != "sqlite":
        return None
    conn = s.connection()
    last = conn.exec_driver_sql("SELECT last_insert_rowid()").scalar_one()
    first = last - len(keys) + 1
    found = conn.exec_driver_sql(
        "SELECT count(*), min(CASE WHEN id = ? THEN name_key END), min(CASE WHEN id = ? THEN name_key END) "
        "FROM accounts WHERE id BETWEEN ? AND ?",
        (first, last, first, last),
    ).one()
    if tuple(found) != (len(keys), keys[0], keys[-1]):
        return None
    return list(range(first, last + 1))


MAX_DOMAIN = 253
"""The longest domain name DNS allows: an account's longer "domain" is kept in its list but is no
email's domain, so ``account_domains`` (``String(300)``) does not list it."""


def _listable(domains: Iterable[str]) -> set[str]:
    """What ``account_domains`` lists of an account's ``domains``: each lower-cased, once, up to
    :data:`MAX_DOMAIN` characters (migration 0018 lists stored accounts' domains the same way)."""
    return {key for d in domains if len(key := d.lower()) <= MAX_DOMAIN}


def _table(row: type[Base]) -> Table:
    """The table of an ORM row class, for Core bulk inserts (a fifth of the ORM's cost per row)."""
    return cast(Table, row.__table__)


def _stamped(now: datetime) -> dict[str, datetime]:
    """The timestamps of a row added ``now``."""
    return {"created_at": now, "updated_at": now}


def _key(name: str) -> str:
    return name.strip().casefold()


def _domain(domain: str) -> str:
    return domain.lower().strip()


def _existing(
    s: Session,
    columns: Sequence[InstrumentedAttribute[Any]],
    key: InstrumentedAttribute[str],
    keys: Iterable[str],
) -> dict[str, tuple[Any, ...]]:
    """Stored rows (the key, then ``columns``) whose ``key`` is one of ``keys``, by key."""
    table = cast(Table, key.class_.__table__)
    return select_in(s, table, key.key, [c.key for c in columns], keys, batch=IN_BATCH)


def upsert_records(
    s: Session,
    crm: CrmData | CrmRecords,
    now: datetime,
    counts: _Counts,
    known: dict[str, _Known] | None = None,
    learned: dict[str, _Known] | None = None,
    novelty: dict[str, bool] | None = None,
) -> None:
    """Write ``crm``'s accounts, contacts and deals in ``s``'s transaction (see
    :meth:`CrmStore.upsert_crm`; ``known`` and ``learned`` as :func:`_upsert_accounts` takes them,
    ``novelty`` as :func:`_add_new`)."""
    learned = {} if learned is None else learned
    accounts = _upsert_accounts(s, crm, now, counts, known or {}, learned, novelty)
    _upsert_contacts(s, crm.contacts, accounts, now, counts, novelty)
    _upsert_deals(s, crm.deals, accounts, now, counts, novelty)


DEFERRABLE_INDEXES: tuple[Index, ...] = tuple(
    index
    for row in (ContactRow, DealRow)
    for index in sorted(_table(row).indexes, key=lambda i: str(i.name))
    if not index.unique
)
"""The CRM indexes an import may drop while it fills an empty table: the contacts' by account and
by name, the deals' by account. Only lookups use them; the unique ones (emails, CRM ids, account
names) stay, as every chunk's insert relies on them to find what is already stored."""


def defer_indexes(conn: Connection) -> list[Index]:
    """Drop the :data:`DEFERRABLE_INDEXES` of each of the contacts and deals tables that holds no
    row yet, in ``conn``'s transaction (SQLite); the indexes dropped, for the caller to make again
    (:meth:`CrmImport.close`). Building an index once from a million rows sorts them (about a second
    each); keeping it while they are inserted costs a B-tree insert per row in random order."""
    dropped: list[Index] = []
    for index in DEFERRABLE_INDEXES:
        table = cast(Table, index.table)
        if conn.execute(select(literal(1)).select_from(table).limit(1)).first() is None:
            index.drop(conn, checkfirst=True)
            dropped.append(index)
    return dropped


def restore_indexes(engine: Engine) -> None:
    """Make any of the :data:`DEFERRABLE_INDEXES` that the database lacks (SQLite): an import that
    dropped them and was killed before making them again (:func:`defer_indexes`). One read of the
    schema when none is missing; called whenever the store is opened."""
    with engine.connect() as conn:
        names = set(conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'index'")).scalars())
    missing = [index for index in DEFERRABLE_INDEXES if index.name not in names]
    if missing:
        _make_indexes(engine, missing)


def _make_indexes(engine: Engine, indexes: Iterable[Index]) -> None:
    """Make ``indexes`` where missing; a failure (a database opened read-only, another writer
    holding it past the busy timeout) is logged: lookups work without them, only slower, and the
    next opening of the store tries again."""
    try:
        with engine.begin() as conn:
            for index in indexes:
                index.create(conn, checkfirst=True)
    except SQLAlchemyError as e:
        log.warning("CRM lookup indexes not made now (%s); the next opening of the store makes them", e)


def _novelty() -> dict[str, bool]:
    """An import's start: every table taken to be mostly new (:func:`_add_new`)."""
    return dict.fromkeys(("accounts", "contacts", "deals"), True)


def _add_new(
    s: Session,
    row: type[Base],
    key: InstrumentedAttribute[str],
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    look: Sequence[InstrumentedAttribute[Any]],
    now: datetime,
    novelty: dict[str, bool] | None,
) -> tuple[list[str], dict[str, tuple[Any, ...]]]:
    """Insert those of ``rows`` (values of ``columns``, each key once) whose ``key`` is not stored.

    Returns the keys inserted, in ``rows``' order, and the stored rows of the others (the key,
    then ``look``) by key. The keys are looked up first and the new rows inserted; or, on SQLite
    while ``novelty`` says this import's chunks of the table mostly add rows, every row is
    inserted first (``ON CONFLICT DO NOTHING``) and only the keys it skipped are looked up: a
    first import of a large export looks up nothing but the few keys each chunk repeats (a deal
    owner). ``novelty`` (``None``: not an import, look up first) learns from this chunk.
    """
    table = _table(row)
    at = columns.index(key.key)
    keys = [r[at] for r in rows]
    stored: dict[str, tuple[Any, ...]]
    if novelty is None or not novelty[table.name] or s.get_bind().dialect.name != "sqlite":
        stored = _existing(s, look, key, keys)
        new = [r for r in rows if r[at] not in stored]
        if new:
            insert_rows(s, table, columns, new, shared=_stamped(now))
        added = [r[at] for r in new]
    else:
        n = insert_rows(s, table, columns, rows, shared=_stamped(now), skip_existing=True)
        if n == len(rows):
            added, stored = keys, {}
        else:
            ours = _last_keys(s, table, key.key, n, keys, now)
            added = [k for k in keys if k in ours]
            stored = _existing(s, look, key, [k for k in keys if k not in ours])
    if novelty is not None:
        novelty[table.name] = 2 * len(added) >= len(rows)
    return added, stored


def _last_keys(s: Session, table: Table, key: str, n: int, keys: Sequence[str], now: datetime) -> set[str]:
    """The ``key`` of the ``n`` rows of ``keys`` just inserted into ``table`` (SQLite, in this write
    transaction): the last ``n`` ids given, as SQLite numbers a new row one past the largest id
    (checked: the range holds ``n`` rows of ``keys``); else those of ``keys`` stamped ``now``."""
    if not n:
        return set()
    conn = s.connection()
    last = conn.exec_driver_sql("SELECT last_insert_rowid()").scalar_one()
    found = set(conn.execute(select(table.c[key]).where(table.c.id.between(last - n + 1, last))).scalars())
    if len(found) == n and found.issubset(keys):
        return found
    stamped = select_in(s, table, key, ["created_at"], keys, batch=IN_BATCH)
    return {k for k, (_, created_at) in stamped.items() if created_at == now}


def _upsert_accounts(
    s: Session,
    crm: CrmData | CrmRecords,
    now: datetime,
    counts: _Counts,
    known: dict[str, _Known],
    learned: dict[str, _Known],
    novelty: dict[str, bool] | None,
) -> dict[str, int]:
    """Write the accounts ``crm`` holds or names (by its contacts and deals); their ids by name key.

    ``known``: accounts as this import already stored them (not read again when ``crm`` adds
    nothing to them); ``learned`` gets every account this call stores or reads.
    """
    wanted: dict[str, _AccountIn] = {}
    for acc in crm.accounts:
        key = _key(acc.name)
        a = wanted.get(key)
        if a is None:
            a = wanted[key] = _AccountIn(acc.name.strip())
        if acc.domains:
            a.domains.update(d for d in map(_domain, acc.domains) if d)
        a.tier = acc.tier or a.tier
        a.crm_id = acc.crm_id or a.crm_id
    named = dict.fromkeys(c.account_name for c in crm.contacts if c.account_name)  # in order, once each
    named.update(dict.fromkeys(d.account_name for d in crm.deals))
    for name in named:
        key = _key(name)
        if key not in wanted:
            wanted[key] = _AccountIn(name.strip())
    ids: dict[str, int] = {}
    unsure: list[str] = []
    for key, a in wanted.items():
        k = known.get(key)
        if (
            k is not None
            and (a.domains <= k.domains)
            and a.tier in (None, k.tier)
            and a.crm_id in (None, k.crm_id)
        ):
            ids[key] = k.id  # nothing new for it
        else:
            unsure.append(key)
    a_ = AccountRow
    rows = [(a.name, key, sorted(a.domains), a.tier, a.crm_id) for key in unsure for a in (wanted[key],)]
    look = (a_.id, a_.domains, a_.tier, a_.crm_id, a_.created_at, a_.updated_at)
    added, stored = _add_new(s, AccountRow, a_.name_key, _ACCOUNT_COLUMNS, rows, look, now, novelty)
    counts.values["accounts_added"] += len(added)
    changed: list[dict[str, Any]] = []
    listed: list[tuple[str, int]] = []  # (domain, account id) rows of account_domains to add
    for key, row in stored.items():
        a = wanted[key]
        _, id_, domains, tier, crm_id, created_at, updated_at = row
        ids[key] = id_
        merged = (sorted({*(domains or []), *a.domains}), a.tier or tier, a.crm_id or crm_id)
        learned[key] = _Known(id_, frozenset(merged[0]), merged[1], merged[2])
        if merged != (domains, tier, crm_id):
            listed += [(d, id_) for d in sorted(_listable(merged[0]) - _listable(domains or []))]
            changed.append(
                {"id": id_, "domains": merged[0], "tier": merged[1], "crm_id": merged[2], "updated_at": now}
            )
            counts.updated("accounts", created_at, updated_at)
    if added:
        given = _consecutive_ids(s, added)
        if given is None:
            found = _existing(s, (a_.id,), a_.name_key, added)
            given = [found[key][1] for key in added]
        new = {row[1]: row for row in rows}
        for key, id_ in zip(added, given, strict=True):
            _, _, domains, tier, crm_id = new[key]
            ids[key] = id_
            learned[key] = _Known(id_, frozenset(domains), tier, crm_id)
        # ``domains``: lower-cased, once each (``_AccountIn``)
        listed.extend(
            (d, id_)
            for key, id_ in zip(added, given, strict=True)
            for d in new[key][2]
            if len(d) <= MAX_DOMAIN
        )
    if changed:
        s.execute(update(AccountRow), changed)
    if listed:
        listed.sort()  # in index order
        # skip_existing: a row another writer or an edit of ``accounts.domains`` left is kept
        insert_rows(s, _table(AccountDomainRow), ("domain", "account_id"), listed, skip_existing=True)
    return ids


def _upsert_contacts(
    s: Session,
    contacts: Sequence[Contact | ContactRecord],
    accounts: dict[str, int],
    now: datetime,
    counts: _Counts,
    novelty: dict[str, bool] | None,
) -> None:
    """Write ``contacts`` (by email; a later record's name, role and account win when not empty)."""
    wanted: dict[str, tuple[str | None, str | None, int | None]] = {}
    keys: dict[str, str] = {}
    for con in contacts:
        email = con.email.strip().lower()
        account_id = None
        if con.account_name:
            key = keys.get(con.account_name)
            if key is None:
                key = keys[con.account_name] = _key(con.account_name)
            account_id = accounts[key]
        before = wanted.get(email)
        if before is None:
            wanted[email] = (con.name, con.role, account_id)
        else:
            wanted[email] = (con.name or before[0], con.role or before[1], account_id or before[2])
    c_ = ContactRow
    # in index order: each chunk's inserts walk the email index once, not at random
    rows = sorted(
        (email, name, *_name_keys(name), role, account) for email, (name, role, account) in wanted.items()
    )
    look = (c_.id, c_.name, c_.role, c_.account_id, c_.created_at, c_.updated_at)
    added, stored = _add_new(s, ContactRow, c_.email, _CONTACT_COLUMNS, rows, look, now, novelty)
    counts.values["contacts_added"] += len(added)
    changed: list[dict[str, Any]] = []
    for email, row in stored.items():
        said_name, said_role, said_account = wanted[email]
        _, id_, name, role, account_id, created_at, updated_at = row
        values = (said_name or name, said_role or role, said_account or account_id)
        if values != (name, role, account_id):
            name_key, first_name_key = _name_keys(values[0])
            changed.append(
                {
                    "id": id_,
                    "name": values[0],
                    "name_key": name_key,
                    "first_name_key": first_name_key,
                    "role": values[1],
                    "account_id": values[2],
                    "updated_at": now,
                }
            )
            counts.updated("contacts", created_at, updated_at)
    if changed:
        s.execute(update(ContactRow), changed)


_DEAL_VALUES = ("name", "account_id", "stage", "amount", "close_date", "owner_email")
_ACCOUNT_COLUMNS = ("name", "name_key", "domains", "tier", "crm_id")
_CONTACT_COLUMNS = ("email", "name", "name_key", "first_name_key", "role", "account_id")


def _name_keys(name: str | None) -> tuple[str | None, str | None]:
    """A contact's ``name_key`` and ``first_name_key`` (:class:`store.models.ContactRow`)."""
    key = person_key(name)
    if not key or "@" in key:
        return None, None
    return key, key.split(" ", 1)[0]


def _upsert_deals(
    s: Session,
    deals: Sequence[Deal | DealRecord],
    accounts: dict[str, int],
    now: datetime,
    counts: _Counts,
    novelty: dict[str, bool] | None,
) -> None:
    """Write ``deals`` (by CRM id; a later record wins whole)."""
    keys: dict[str, str] = {}
    wanted: dict[str, tuple[Any, ...]] = {}
    for deal in deals:
        key = keys.get(deal.account_name)
        if key is None:
            key = keys[deal.account_name] = _key(deal.account_name)
        owner = deal.owner_email.lower() if deal.owner_email else None
        wanted[deal.crm_id] = (deal.name, accounts[key], deal.stage, deal.amount, deal.close_date, owner)
    d_ = DealRow
    columns = (d_.id, d_.name, d_.account_id, d_.stage, d_.amount, d_.close_date, d_.owner_email)
    rows = [(crm_id, *values) for crm_id, values in wanted.items()]
    look = (*columns, d_.created_at, d_.updated_at)
    added, stored = _add_new(s, DealRow, d_.crm_id, ("crm_id", *_DEAL_VALUES), rows, look, now, novelty)
    counts.values["deals_added"] += len(added)
    changed: list[dict[str, Any]] = []
    for crm_id, row in stored.items():
        values = wanted[crm_id]
        if values != tuple(row[2:8]):
            changed.append({"id": row[1], **dict(zip(_DEAL_VALUES, values, strict=True)), "updated_at": now})
            counts.updated("deals", row[8], row[9])
    if changed:
        s.execute(update(DealRow), changed)
