"""What the database can hold: checked for one document or item before it is written.

SQLite and PostgreSQL refuse some values Python holds happily: a timestamp
that leaves the year range once converted to UTC (``Date: Fri, 31 Dec 9999
23:59:59 -1200``), a NUL character (PostgreSQL text and JSONB), a lone UTF-16
surrogate (neither driver encodes it), a string past a column's length, an
integer past 64 bits. One such value must cost its own document, never the
batch, and never a half-written transaction.

- :func:`admit_document` returns the document as it will be stored: NUL and
  lone surrogates become U+FFFD (one code point for one, so every offset
  still points at the same character), names and emails too long for the
  people directory are left out of it. A value that cannot be repaired
  without changing what the document *is* (its date, its identifiers)
  raises :class:`Unstorable`, naming the value.
- :func:`admit_item` does the same for an extracted item: over-long owner,
  counterparty or due text is cut to its column, an impossible email dropped.
- :func:`clamp_count` keeps token counts inside a 32-bit ``INTEGER`` column.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from itertools import chain
from operator import itemgetter
from typing import Any, TypeVar

from pydantic_core import PydanticSerializationError

from followthrough.errors import StoreError
from followthrough.types import Account, Contact, CrmData, CrmRows, Deal, ExtractedItem, SourceDocument
from store.crm_records import AccountRecord, ContactRecord, CrmRecords, DealRecord

IDENTIFIER_MAX = 1000
"""``documents.external_id`` and ``thread_id`` (``String(1000)``)."""
NAME_MAX = 300
"""Person names, owners, counterparties, due text (``String(300)``)."""
EMAIL_MAX = 320
"""RFC 5321: 64 octets of local part, ``@``, 255 of domain (``String(320)``)."""
INT32_MAX = 2**31 - 1

_EARLIEST = datetime.min.replace(tzinfo=UTC) + timedelta(days=2)
_LATEST = datetime.max.replace(tzinfo=UTC) - timedelta(days=2)
"""Two days inside Python's range: a stored time can then be shown in any time zone and a day added."""

_UNSTORABLE_CHARS = re.compile("[\x00\ud800-\udfff]")
"""NUL (PostgreSQL refuses it in text and JSONB) and lone surrogates (no UTF-8 encoding exists)."""

REPLACEMENT = "\ufffd"

T = TypeVar("T")


class Unstorable(StoreError):
    """One document (or item) holds a value the database cannot store; the rest of the batch goes on."""


def clean(text: str) -> str:
    """``text`` with NUL and lone surrogates replaced by U+FFFD (same length, same offsets)."""
    return _UNSTORABLE_CHARS.sub(REPLACEMENT, text) if _UNSTORABLE_CHARS.search(text) else text


def _clean_tree(value: T) -> T:
    if isinstance(value, str):
        return clean(value)  # type: ignore[return-value]
    if isinstance(value, list):
        return [_clean_tree(v) for v in value]  # type: ignore[return-value]
    if isinstance(value, dict):
        return {_clean_tree(k): _clean_tree(v) for k, v in value.items()}  # type: ignore[return-value]
    return value


def storable_time(when: datetime, what: str = "date") -> datetime:
    """``when`` if the database can hold it (and show it in any zone), else :class:`Unstorable`."""
    try:
        utc = when.astimezone(UTC)
    except (OverflowError, ValueError) as e:
        raise Unstorable(f"{what} {when.isoformat()} is outside the years the database holds") from e
    if not (_EARLIEST <= utc <= _LATEST):
        raise Unstorable(f"{what} {when.isoformat()} is outside the years the database holds")
    return when


def _all_storable(doc: SourceDocument) -> bool:
    """True when no text of ``doc`` holds a NUL or a lone surrogate (one serialisation in Rust: a lone
    surrogate in a value cannot be written as UTF-8, a NUL is written ``\\u0000``; a text holding
    those six characters as written only costs the exact check). pydantic writes a dictionary's keys
    lossily instead of failing, so the metadata's keys are searched apart."""
    if any(_UNSTORABLE_CHARS.search(key) for key in doc.metadata):
        return False
    try:
        return "\\u0000" not in doc.model_dump_json()
    except PydanticSerializationError:
        return False


def admit_document(doc: SourceDocument) -> SourceDocument:
    """``doc`` as it will be stored (see the module docstring); :class:`Unstorable` when it cannot be."""
    storable_time(doc.occurred_at)
    for seg in doc.segments:
        if seg.occurred_at is not None:
            storable_time(seg.occurred_at, "segment time")
    for name, value in (("message id", doc.external_id), ("thread id", doc.thread_id or "")):
        if len(value) > IDENTIFIER_MAX:
            raise Unstorable(f"{name} is {len(value):,} characters long (at most {IDENTIFIER_MAX:,})")
    if _all_storable(doc):
        return doc
    data: dict[str, Any] = doc.model_dump()
    cleaned = _clean_tree(data)
    if cleaned == data:
        return doc
    for name in ("external_id", "thread_id"):
        if cleaned[name] != data[name]:
            raise Unstorable(f"{name.replace('_', ' ')} holds a NUL or an unpaired surrogate")
    return SourceDocument.model_validate(cleaned)


def fits_directory(name: str, email: str) -> bool:
    """Whether a name and email pair fits the people directory's columns."""
    return len(name) <= NAME_MAX and len(email) <= EMAIL_MAX


def _cut(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    value = clean(value)
    return value if len(value) <= limit else value[: limit - 1] + "…"


def admit_item(item: ExtractedItem) -> ExtractedItem:
    """``item`` with every column-bound value inside its column (cut, or dropped when it is an email)."""
    update: dict[str, Any] = {
        "owner": _cut(item.owner, NAME_MAX),
        "counterparty": _cut(item.counterparty, NAME_MAX),
        "due_text": _cut(item.due_text, NAME_MAX),
        "owner_email": item.owner_email if item.owner_email and len(item.owner_email) <= EMAIL_MAX else None,
        "counterparty_email": (
            item.counterparty_email
            if item.counterparty_email and len(item.counterparty_email) <= EMAIL_MAX
            else None
        ),
        "action": clean(item.action),
        "evidence": item.evidence.model_copy(update={"quote": clean(item.evidence.quote)}),
    }
    if all(getattr(item, k) == v for k, v in update.items()):
        return item
    return item.model_copy(update=update)


CRM_LIMITS = {"account": 300, "deal_id": 200, "deal_name": 500, "stage": 100, "tier": 50, "role": 200}
AMOUNT_MAX = 1e15
"""A deal amount past a quadrillion is a broken cell, not a deal."""


_Crm = TypeVar("_Crm", CrmData, CrmRecords)


def admit_crm(crm: _Crm) -> tuple[_Crm, list[str]]:
    """``crm`` as it will be stored, and one line per record left out or value cut (as models, or as
    the tuples a CRM reader process hands over: :class:`store.CrmRecords`).

    A record whose key cannot be stored (an account name, contact email or deal id past its
    column) is left out; a value that is only descriptive (a deal name, stage, tier, role, an
    amount that is not a finite number within :data:`AMOUNT_MAX`) is cut or emptied. NUL and
    lone surrogates become U+FFFD. Records that need nothing are kept as they are (no copy), and a
    chunk with no such character anywhere is checked by one search over its text: a chunk of 5,000
    clean rows costs a few milliseconds.
    """
    problems: list[str] = []
    dirty = _unstorable_anywhere(crm)
    accounts: list[Any] = []
    refused: set[str] = set()
    tier_max = CRM_LIMITS["tier"]
    for account in crm.accounts:
        a = _admitted(account) if dirty else account
        if len(a.name) > CRM_LIMITS["account"]:
            if a.name not in refused:
                limit = CRM_LIMITS["account"]
                problems.append(
                    f"account {a.name[:40]!r}…: name longer than {limit}; left out, with its deals"
                )
            refused.add(a.name)
            continue
        if (a.tier is not None and len(a.tier) > tier_max) or (a.crm_id is not None and len(a.crm_id) > 200):
            a = _updated(
                a,
                tier=_cut(a.tier, tier_max),
                crm_id=a.crm_id if a.crm_id is None or len(a.crm_id) <= 200 else None,
            )
        accounts.append(a)
    contacts: list[Any] = []
    account_max, role_max = CRM_LIMITS["account"], CRM_LIMITS["role"]
    for contact in crm.contacts:
        c = _admitted(contact) if dirty else contact
        if len(c.email) > EMAIL_MAX:
            problems.append(f"contact {c.email[:40]!r}…: email longer than {EMAIL_MAX}; left out")
            continue
        too_long = c.account_name is not None and len(c.account_name) > account_max
        if too_long or _longer(c.name, NAME_MAX) or _longer(c.role, role_max):
            c = _updated(
                c,
                name=_cut(c.name, NAME_MAX),
                role=_cut(c.role, role_max),
                account_name=None if too_long else c.account_name,
            )
        contacts.append(c)
    deals: list[Any] = []
    name_max, stage_max = CRM_LIMITS["deal_name"], CRM_LIMITS["stage"]
    for deal in crm.deals:
        d = _admitted(deal) if dirty else deal
        if len(d.crm_id) > CRM_LIMITS["deal_id"] or len(d.account_name) > account_max:
            if d.account_name not in refused:
                problems.append(f"deal {d.crm_id[:40]!r}: id or account name too long; left out")
            continue
        amount = d.amount
        if amount is not None and not (math.isfinite(amount) and abs(amount) <= AMOUNT_MAX):
            problems.append(f"deal {d.crm_id!r}: amount {amount!r} is not a storable number; left empty")
            amount = None
        owner = d.owner_email if d.owner_email is None or len(d.owner_email) <= EMAIL_MAX else None
        if (
            amount != d.amount
            or owner != d.owner_email
            or _longer(d.name, name_max)
            or _longer(d.stage, stage_max)
        ):
            d = _updated(
                d,
                name=_cut(d.name, name_max),
                stage=_cut(d.stage, stage_max),
                amount=amount,
                owner_email=owner,
            )
        deals.append(d)
    if isinstance(crm, CrmRecords):
        return CrmRecords(accounts, contacts, deals), problems
    return CrmData(accounts=accounts, contacts=contacts, deals=deals), problems


def admissible_as_read(rows: CrmRows) -> bool:
    """Whether :func:`admit_crm` keeps every record of ``rows`` (:data:`CrmRows`, as a CRM reader
    builds them) as it is and finds nothing to say: no text past its column, no amount out of
    range, no unstorable character. Known from each column's longest value and the amounts' range,
    taken by position without a Python step per record: a clean chunk (the usual one) then crosses
    from a reader process as read, no record built to be admitted."""
    if any(
        _longest(records, at) > limit
        for records, limits in zip(rows, _ROW_LIMITS, strict=True)
        for at, limit in limits
    ):
        return False
    amounts = list(filter(None, map(_AMOUNT, rows[2])))  # (0.0 needs no look)
    if not all(map(math.isfinite, amounts)) or max(map(abs, amounts), default=0.0) > AMOUNT_MAX:
        return False
    return not _unstorable_text(*rows)


def _longest(records: Sequence[tuple[Any, ...]], at: int) -> int:
    """The longest non-empty value at position ``at`` of ``records`` (0 when none)."""
    return max(map(len, filter(None, map(itemgetter(at), records))), default=0)


_ROW_LIMITS: tuple[tuple[tuple[int, int], ...], ...] = tuple(
    tuple((fields._fields.index(name), limit) for name, limit in limits)
    for fields, limits in (
        (AccountRecord, (("name", CRM_LIMITS["account"]), ("tier", CRM_LIMITS["tier"]), ("crm_id", 200))),
        (
            ContactRecord,
            (("email", EMAIL_MAX), ("name", NAME_MAX), ("account_name", CRM_LIMITS["account"]),
             ("role", CRM_LIMITS["role"])),
        ),
        (
            DealRecord,
            (("crm_id", CRM_LIMITS["deal_id"]), ("name", CRM_LIMITS["deal_name"]),
             ("account_name", CRM_LIMITS["account"]), ("stage", CRM_LIMITS["stage"]),
             ("owner_email", EMAIL_MAX)),
        ),
    )
)  # fmt: skip
"""Per record kind of :data:`CrmRows`, (position, longest value :func:`admit_crm` keeps as it is)."""
_AMOUNT = itemgetter(DealRecord._fields.index("amount"))


def _longer(value: str | None, limit: int) -> bool:
    return value is not None and len(value) > limit


def _unstorable_anywhere(crm: CrmData | CrmRecords) -> bool:
    """Whether any text of any record of ``crm`` may hold NUL or a lone surrogate, from the chunk's
    JSON (serialized in one call, in pydantic's compiled core or the ``json`` module's): a lone
    surrogate cannot be encoded at all, NUL is spelled ``\\u0000``. A false alarm (a value that
    spells it) only sends the chunk through the record-by-record check."""
    if isinstance(crm, CrmRecords):
        return _unstorable_text(crm.accounts, crm.contacts, crm.deals)
    try:
        text = crm.model_dump_json()
    except (PydanticSerializationError, ValueError):
        return True
    return "\\u0000" in text


def _unstorable_text(
    accounts: Sequence[tuple[Any, ...]], contacts: Sequence[tuple[Any, ...]], deals: Sequence[tuple[Any, ...]]
) -> bool:
    """Whether any text of these records (tuples of :data:`CrmRows`, or records) may hold NUL or a
    lone surrogate: their text, joined, then one search in the compiled engine (none when the text
    is ASCII: a string knows that without a look)."""
    text = "\n".join(filter(None, _texts(accounts, contacts, deals)))
    if text.isascii():
        return "\x00" in text
    return _UNSTORABLE_CHARS.search(text) is not None


def _texts(
    accounts: Sequence[tuple[Any, ...]], contacts: Sequence[tuple[Any, ...]], deals: Sequence[tuple[Any, ...]]
) -> Iterator[str | None]:
    """Every text value of these records (``None`` for an empty one), taken from the tuples by
    position (:data:`_ACCOUNT_TEXTS`, :data:`_DEAL_TEXTS`; a contact is all text): no Python-level
    step per value, a million-row import checks its text in a fraction of a second."""
    return chain(
        chain.from_iterable(map(_ACCOUNT_TEXTS, accounts)),
        chain.from_iterable(map(_DOMAINS, accounts)),
        chain.from_iterable(contacts),
        chain.from_iterable(map(_DEAL_TEXTS, deals)),
    )


_DOMAINS = itemgetter(AccountRecord._fields.index("domains"))
_ACCOUNT_TEXTS = itemgetter(*(AccountRecord._fields.index(f) for f in ("name", "tier", "crm_id")))
_DEAL_TEXTS = itemgetter(
    *(DealRecord._fields.index(f) for f in ("crm_id", "name", "account_name", "stage", "owner_email"))
)


_Record = TypeVar("_Record", Account, Contact, Deal, AccountRecord, ContactRecord, DealRecord)


def _admitted(record: _Record) -> _Record:
    """``record`` with NUL and lone surrogates replaced in its text (itself when it holds none)."""
    update: dict[str, Any] = {}
    fields = record._asdict() if isinstance(record, tuple) else vars(record)
    for name, value in fields.items():
        if isinstance(value, str):
            if _UNSTORABLE_CHARS.search(value):
                update[name] = clean(value)
        elif isinstance(value, list) and _clean_tree(value) != value:
            update[name] = _clean_tree(value)
    return _copy(record, update)


def _updated(record: _Record, **values: Any) -> _Record:
    """``record`` with ``values`` set; itself (no copy) when it already holds them."""
    return _copy(record, {k: v for k, v in values.items() if getattr(record, k) != v})


def _copy(record: _Record, update: dict[str, Any]) -> _Record:
    """``record`` with ``update`` (a model's copy, a tuple's ``_replace``); itself when there is none."""
    if not update:
        return record
    if isinstance(record, tuple):
        return record._replace(**update)
    return record.model_copy(update=update)


def clamp_count(n: int) -> int:
    """A token or call count as a 32-bit ``INTEGER`` column holds it (never negative)."""
    return max(0, min(int(n), INT32_MAX))


__all__ = [
    "Unstorable",
    "admissible_as_read",
    "admit_crm",
    "admit_document",
    "admit_item",
    "clamp_count",
    "clean",
    "fits_directory",
    "storable_time",
]
