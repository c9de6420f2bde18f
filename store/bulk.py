"""Bulk writes at the driver's pace: one compiled statement, values converted once per column.

SQLAlchemy's ``executemany`` builds a parameter dictionary per row and runs every column's bind
processor on every value: at a million CRM rows that was a third of an import. :func:`insert_rows`
compiles ``INSERT INTO table (columns) VALUES (...)`` once for the session's dialect, converts each
column's values with that column's own bind processor (the same conversion SQLAlchemy applies: a
UTC datetime, a JSON list, SQLite's date text), a value shared by every row (``created_at``) once,
and hands the rows to the DBAPI's ``executemany`` as they are. :func:`select_in` is a lookup by
key whose ``IN (...)`` list is expanded at execution, so its statement compiles once however many
keys a batch holds.

Internal to :mod:`store`; nothing here knows what the rows mean.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import cache
from operator import itemgetter
from typing import Any, TypeVar

from sqlalchemy import JSON, Column, Dialect, Table, bindparam, insert, select
from sqlalchemy.orm import Session

_Processor = Callable[[Any], Any] | None


IN_SIZE = 500
"""Values per ``IN (...)`` list of a lookup by keys (:func:`chunked`)."""
_T = TypeVar("_T")


def chunked(values: Sequence[_T], size: int = IN_SIZE) -> Iterator[Sequence[_T]]:
    """``values`` in runs of ``size`` (the last one shorter), for ``IN (...)`` lookups."""
    for i in range(0, len(values), size):
        yield values[i : i + size]


def dialect_insert(dialect: str, table: Any) -> Any:
    """``INSERT`` with the ``ON CONFLICT`` clauses of ``dialect`` (``"postgresql"``, else SQLite's):
    the dialect's module is imported here, on first use, not by every process that opens a store."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


@cache
def _compiled_insert(
    table: Table, columns: tuple[str, ...], dialect: Dialect, skip_existing: bool = False
) -> tuple[str, tuple[str, ...] | None]:
    """The SQL of ``INSERT INTO table (columns)`` in ``dialect``'s parameter style, and the order of
    its positional parameters (``None`` for a named style). ``skip_existing``: ``ON CONFLICT DO
    NOTHING`` (SQLite and PostgreSQL), a row whose key is stored already is left as it is."""
    stmt = dialect_insert(dialect.name, table).on_conflict_do_nothing() if skip_existing else insert(table)
    compiled = stmt.compile(dialect=dialect, column_keys=list(columns))
    order = tuple(compiled.positiontup) if compiled.positiontup is not None else None
    return compiled.string, order


@cache
def _processor(column: Column[Any], dialect: Dialect) -> _Processor:
    """What SQLAlchemy does to a value of ``column`` before the driver sees it (``None``: nothing).

    SQLite's JSON is ``json.dumps`` text: a list of plain strings (an account's domains) is written
    directly, the same text in a tenth of the time (:func:`_json_strings`)."""
    proc = column.type.dialect_impl(dialect).bind_processor(dialect)
    if proc is not None and isinstance(column.type, JSON) and dialect.name == "sqlite":
        return _json_strings(proc)
    return proc


_PLAIN_JSON = re.compile(r"[ !#-\[\]-~]*")
"""A string ``json.dumps`` writes as it is between quotes: printable ASCII but ``"`` and ``\\``."""


def _json_strings(dumps: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``dumps`` (SQLAlchemy's JSON bind for SQLite: ``json.dumps``), with a list of plain strings
    (:data:`_PLAIN_JSON`) joined directly, as ``json.dumps`` spells it; anything else goes to ``dumps``."""

    def process(value: Any) -> Any:
        if type(value) is list:
            try:
                if all(map(_PLAIN_JSON.fullmatch, value)):
                    return '["' + '", "'.join(value) + '"]' if value else "[]"
            except TypeError:  # not all strings
                pass
        return dumps(value)

    return process


def _convert(proc: _Processor, value: Any) -> Any:
    return proc(value) if proc is not None else value


def insert_rows(
    s: Session,
    table: Table,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    shared: Mapping[str, Any] | None = None,
    skip_existing: bool = False,
) -> int:
    """Insert ``rows`` (one value per name of ``columns``, in that order) plus ``shared`` (the same
    value in every row) into ``table``, in ``s``'s transaction, with one ``executemany``;
    with ``skip_existing``, a row whose primary or unique key is stored already is skipped.

    Returns the number of rows inserted: all of them, or with ``skip_existing`` as many as the
    driver counts (SQLite's and psycopg's ``executemany`` add up each row's). Values are Python
    values, as for any SQLAlchemy insert.
    """
    dialect = s.get_bind().dialect
    shared = dict(shared or {})
    names = (*columns, *shared)
    sql, order = _compiled_insert(table, names, dialect, skip_existing)
    procs = [_processor(table.c[name], dialect) for name in columns]
    fixed = tuple(
        proc(value) if (proc := _processor(table.c[name], dialect)) else value
        for name, value in shared.items()
    )
    converters = [(i, p) for i, p in enumerate(procs) if p is not None]
    converted: list[tuple[Any, ...]] = []
    for row in rows:
        if converters:
            values = list(row)
            for i, proc in converters:
                values[i] = proc(values[i])
            converted.append((*values, *fixed))
        else:
            converted.append((*row, *fixed))
    if not converted:
        return 0
    params: list[Any]
    if order is None:
        params = [dict(zip(names, values, strict=True)) for values in converted]
    else:
        at = {name: i for i, name in enumerate(names)}
        picks = [at[name] for name in order]
        # in another order only when there are two names or more: itemgetter then gives the tuple, in C
        params = converted if picks == list(range(len(names))) else list(map(itemgetter(*picks), converted))
    result = s.connection().exec_driver_sql(sql, params)
    return result.rowcount if skip_existing else len(converted)


@cache
def _compiled_select(
    table: Table, key: str, columns: tuple[str, ...], n: int, dialect: Dialect
) -> tuple[str, tuple[str, ...] | None]:
    """``SELECT key, columns FROM table WHERE key IN (n parameters)`` in ``dialect``'s style, and
    its positional parameter order (``None``: named)."""
    names = [f"k{i}" for i in range(n)]
    stmt = select(table.c[key], *(table.c[c] for c in columns)).where(
        table.c[key].in_([bindparam(name) for name in names])
    )
    compiled = stmt.compile(dialect=dialect)
    order = tuple(compiled.positiontup) if compiled.positiontup is not None else None
    return compiled.string, order


@cache
def _result_processors(
    table: Table, names: tuple[str, ...], dialect: Dialect, types: tuple[Any, ...]
) -> tuple[_Processor, ...]:
    """What SQLAlchemy does to each column the driver returns (``types``: the driver's type codes)."""
    return tuple(
        table.c[name].type.dialect_impl(dialect).result_processor(dialect, code)
        for name, code in zip(names, types, strict=True)
    )


def select_in(
    s: Session, table: Table, key: str, columns: Sequence[str], keys: Iterable[Any], *, batch: int = 4_096
) -> dict[Any, tuple[Any, ...]]:
    """Stored rows of ``table`` whose ``key`` column is one of ``keys``: ``{key: (key, *columns)}``,
    each value as SQLAlchemy would read it.

    ``batch`` keys per query (SQLite binds at most 32,766 parameters). A query's list is padded to
    a power of two (repeating a key), so a handful of statements, compiled once, serve every batch.
    """
    dialect = s.get_bind().dialect
    wanted = list(dict.fromkeys(keys))
    found: dict[Any, tuple[Any, ...]] = {}
    conn = s.connection()
    names = (key, *columns)
    for i in range(0, len(wanted), batch):
        part = wanted[i : i + batch]
        n = 1 << (len(part) - 1).bit_length()
        sql, order = _compiled_select(table, key, tuple(columns), n, dialect)
        padded = dict(zip((f"k{j}" for j in range(n)), part + [part[0]] * (n - len(part)), strict=True))
        params: Any = padded if order is None else tuple(padded[name] for name in order)
        result = conn.exec_driver_sql(sql, params)
        types = tuple(d[1] for d in result.cursor.description or ())
        processors = _result_processors(table, names, dialect, types)
        for row in result:
            values = tuple(_convert(proc, v) for proc, v in zip(processors, row, strict=True))
            found[values[0]] = values
    return found


__all__ = ["insert_rows", "select_in"]
