"""Apply the Alembic migrations in ``store/migrations`` to a database.

Alembic is imported only when a database is not at the newest revision: opening
an up-to-date database reads ``alembic_version`` and compares it with the newest
revision file (the chain is linear and numbered: ``NNNN_name.py`` holds revision
``NNNN``, which a test checks), so a command that opens the store does not pay
for loading Alembic and every migration script.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import SQLAlchemyError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config() -> Config:
    """An ini-less Alembic configuration pointing at the packaged migrations."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    return cfg


# An arbitrary key for PostgreSQL's advisory lock, so that two processes opening
# the same fresh database (the API server and a CLI run) do not migrate it twice.
_PG_LOCK_KEY = 0x46_54_48_52  # "FTHR"


class UnknownRevision(Exception):
    """The database is at a revision these migrations do not know (a newer followthrough wrote it)."""


@cache
def head_revision() -> str:
    """The newest revision: the highest ``NNNN`` of the files ``NNNN_name.py`` in ``migrations/versions``."""
    numbers = [m.group(1) for p in (MIGRATIONS / "versions").glob("*.py") if (m := _NUMBERED.match(p.name))]
    return max(numbers)


_NUMBERED = re.compile(r"(\d{4})_\w+\.py$")


def _at_head(engine: Engine) -> bool:
    """Whether the database already is at :func:`head_revision` (one query; ``False`` when unsure)."""
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except SQLAlchemyError:
        return False
    return rows == [head_revision()]


def _version(conn: Connection) -> list[str]:
    """The revisions ``alembic_version`` holds; none when the table does not exist yet (asked without
    failing a statement: on PostgreSQL that would end the transaction the lock belongs to)."""
    if not inspect(conn).has_table("alembic_version"):
        return []
    return list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema of ``engine``'s database to ``revision`` (default: the newest)."""
    if revision == "head" and _at_head(engine):
        return
    from alembic import command
    from alembic.util import CommandError

    cfg = alembic_config()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
        elif conn.dialect.name == "sqlite":
            # The write lock first: a second process opening the same fresh database waits here (its busy
            # timeout) instead of creating the tables the first is creating ("table ... already exists").
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        if revision == "head" and _version(conn) == [head_revision()]:
            return  # migrated by the process that held the lock before us
        cfg.attributes["connection"] = conn
        try:
            command.upgrade(cfg, revision)
        except CommandError as e:
            raise UnknownRevision(str(e)) from e


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (``None`` for an empty database)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
