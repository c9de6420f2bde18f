"""API bearer tokens: shown once, stored as a SHA-256 hash, checked in constant time.

A token is ``ft_`` followed by 43 URL-safe characters (32 random bytes from
:func:`secrets.token_urlsafe`). The database keeps only its SHA-256 hex digest
and its first :data:`PREFIX_LEN` characters (the *prefix*, so that a listing
can tell tokens apart); the plaintext is returned by :meth:`ApiTokens.create`
once and cannot be recovered. Verifying looks the digest up by its unique
index and compares it with :func:`hmac.compare_digest`. ``last_used_at`` is
refreshed at most once per :data:`TOUCH_INTERVAL` so that a busy client does
not turn every read into a write.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from followthrough.errors import StoreError
from store.models import ApiTokenRow, utcnow
from store.session import transaction
from store.views import ApiTokenView

API_TOKEN_PREFIX = "ft_"
PREFIX_LEN = 10
TOUCH_INTERVAL = timedelta(seconds=60)
MAX_NAME_LEN = 200


class ApiTokenInfo(ApiTokenView):
    """A token as listings show it: never the secret, only its first characters."""

    prefix: str | None = None


@dataclass(frozen=True)
class Principal:
    """Who a verified token belongs to."""

    id: int
    name: str
    read_only: bool


def hash_api_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def _info(r: ApiTokenRow) -> ApiTokenInfo:
    return ApiTokenInfo(
        id=r.id,
        name=r.name,
        prefix=r.prefix,
        read_only=r.read_only,
        created_at=r.created_at,
        revoked_at=r.revoked_at,
        last_used_at=r.last_used_at,
    )


class ApiTokens:
    """Create, list, revoke and verify API bearer tokens in the store's ``api_tokens`` table.

    (Not the LLM's tokens, which a run counts as ``prompt_tokens``/``completion_tokens``.)
    """

    def __init__(self, engine: Engine, *, touch_interval: timedelta = TOUCH_INTERVAL) -> None:
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self.touch_interval = touch_interval

    def _tx(self) -> AbstractContextManager[Session]:
        return transaction(self._sessions)

    def create(self, name: str, *, read_only: bool = False) -> tuple[ApiTokenInfo, str]:
        """A new token called ``name``: its listing and its secret (the only time it is shown)."""
        name = name.strip()
        if not name or len(name) > MAX_NAME_LEN:
            raise StoreError(f"a token name must be 1 to {MAX_NAME_LEN} characters")
        secret = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
        try:
            with self._tx() as s:
                if s.scalars(select(ApiTokenRow.id).where(ApiTokenRow.name == name)).first() is not None:
                    raise StoreError(
                        f"a token named {name!r} already exists: pick another name "
                        "(names stay taken after a token is revoked)"
                    )
                row = ApiTokenRow(
                    name=name,
                    token_hash=hash_api_token(secret),
                    prefix=secret[:PREFIX_LEN],
                    read_only=read_only,
                    created_at=utcnow(),
                )
                s.add(row)
                s.flush()
                return _info(row), secret
        except StoreError as e:
            if isinstance(e.__cause__, IntegrityError):
                raise StoreError(f"a token named {name!r} already exists: pick another name") from e
            raise

    def list(self, *, include_revoked: bool = True) -> list[ApiTokenInfo]:
        stmt = select(ApiTokenRow).order_by(ApiTokenRow.id)
        if not include_revoked:
            stmt = stmt.where(ApiTokenRow.revoked_at.is_(None))
        with self._tx() as s:
            return [_info(r) for r in s.scalars(stmt)]

    def revoke(self, name_or_id: str) -> ApiTokenInfo:
        """Revoke a token by name (or by numeric id); revoking twice is an error that says so."""
        with self._tx() as s:
            row = s.scalars(select(ApiTokenRow).where(ApiTokenRow.name == name_or_id)).first()
            if row is None and name_or_id.isdigit():
                row = s.get(ApiTokenRow, int(name_or_id))
            if row is None:
                raise StoreError(f"no token named {name_or_id!r}: see `followthrough tokens list`")
            if row.revoked_at is not None:
                raise StoreError(f"token {row.name!r} was already revoked on {row.revoked_at:%Y-%m-%d}")
            row.revoked_at = utcnow()
            return _info(row)

    def verify(self, secret: str, *, now: datetime | None = None) -> Principal | None:
        """The live token with this secret, or ``None`` (unknown, revoked, or malformed).

        Recording ``last_used_at`` is best effort: a database busy with a long write (SQLite lets one
        writer in at a time) must not turn a valid token into an error.
        """
        if not secret or len(secret) > 512:
            return None
        digest = hash_api_token(secret)
        with self._tx() as s:
            row = s.scalars(select(ApiTokenRow).where(ApiTokenRow.token_hash == digest)).first()
            if row is None or not hmac.compare_digest(row.token_hash, digest):
                return None
            if row.revoked_at is not None:
                return None
            principal = Principal(id=row.id, name=row.name, read_only=row.read_only)
            last_used = row.last_used_at
        now = now or utcnow()
        if last_used is None or now - _aware(last_used) >= self.touch_interval:
            try:
                with self._tx() as s:
                    s.execute(
                        update(ApiTokenRow).where(ApiTokenRow.id == principal.id).values(last_used_at=now)
                    )
            except StoreError:
                pass  # the next request records it
        return principal


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)


__all__ = ["API_TOKEN_PREFIX", "PREFIX_LEN", "ApiTokenInfo", "ApiTokens", "Principal", "hash_api_token"]
