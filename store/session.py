"""One transaction: commit on success, roll back on error, driver errors as :class:`StoreError`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from followthrough.errors import StoreError


@contextmanager
def transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session inside ``BEGIN … COMMIT``; any database error becomes one clear line."""
    try:
        with sessions() as s, s.begin():
            yield s
    except SQLAlchemyError as e:
        reason = (str(getattr(e, "orig", None) or e).strip().splitlines() or [type(e).__name__])[0]
        raise StoreError(f"database error: {reason}") from e
