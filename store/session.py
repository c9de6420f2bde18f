"""One transaction: commit on success, roll back on error, driver errors as :class:`StoreError`.

A value the database refuses (out of range, too long, not encodable: SQLAlchemy's
``DataError``, or the driver's ``OverflowError``/``UnicodeError`` raised before the
statement runs) becomes :class:`store.admission.Unstorable`, so the caller can
fail that one document and go on; anything else (a lost connection, a locked
file) is a plain :class:`StoreError`. Messages are one line, credentials masked.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DataError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from followthrough.errors import StoreError
from followthrough.redaction import redact
from store.admission import Unstorable


def _first_line(e: BaseException) -> str:
    return redact((str(getattr(e, "orig", None) or e).strip().splitlines() or [type(e).__name__])[0])


@contextmanager
def transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session inside ``BEGIN … COMMIT``; any database error becomes one clear line."""
    try:
        with sessions() as s, s.begin():
            yield s
    except DataError as e:
        raise Unstorable(f"the database cannot hold a value: {_first_line(e)}") from e
    except SQLAlchemyError as e:
        raise StoreError(f"database error: {_first_line(e)}") from e
    except (OverflowError, UnicodeError) as e:
        raise Unstorable(f"the database cannot hold a value: {_first_line(e)}") from e
