"""API bearer tokens: shown once, stored as a SHA-256 hash, checked in constant time.

A token is ``ft_`` followed by 43 URL-safe characters (32 random bytes from
:func:`secrets.token_urlsafe`). The database keeps only its SHA-256 hex digest
and its first :data:`PREFIX_LEN` characters (the *prefix*, so that a listing
can tell tokens apart); the plaintext is returned by :meth:`ApiTokens.create`
once and cannot be recovered. Verifying looks the digest up by its unique
index and compares it with :func:`hmac.compare_digest`. ``last_used_at`` is
refreshed at most once per :data:`TOUCH_INTERVAL` so that a busy client does
not turn every read into a write.

A token may speak for one person (``person_email``, the dashboard's "My items"). The dashboard keeps
only a token's id in its session and asks :meth:`ApiTokens.principal` on every request, so a token
revoked while someone is signed in stops working on their next click.

Dashboard sessions are rows too (``web_sessions``): :meth:`ApiTokens.start_session` at sign-in,
:meth:`ApiTokens.session_principal` on every request, :meth:`ApiTokens.end_session` at sign-out. A
session's id is random (the signed cookie holds it) and stored as its SHA-256 digest; once its row is
deleted (sign-out, the token revoked, or past ``expires_at``) a copy of the cookie is worth nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from followthrough.errors import StoreError
from store.models import ApiTokenRow, WebSessionRow, utcnow
from store.session import transaction
from store.views import ApiTokenView

API_TOKEN_PREFIX = "ft_"
PREFIX_LEN = 10
TOUCH_INTERVAL = timedelta(seconds=60)
MAX_NAME_LEN = 200


class ApiTokenInfo(ApiTokenView):
    """A token as listings show it: never the secret, only its first characters."""

    prefix: str | None = None
    person_email: str | None = None


@dataclass(frozen=True)
class Principal:
    """Who a verified token belongs to. ``person_email``: the person it speaks for, if any."""

    id: int
    name: str
    read_only: bool
    person_email: str | None = None


MAX_EMAIL_LEN = 320


def _person(email: str | None) -> str | None:
    """``email`` trimmed and lower-cased; :class:`StoreError` when it is not an address."""
    if email is None:
        return None
    email = email.strip().lower()
    local, at, domain = email.partition("@")
    if (
        not at
        or not local
        or "." not in domain
        or len(email) > MAX_EMAIL_LEN
        or any(c.isspace() for c in email)
    ):
        raise StoreError(f"--person must be an email address like dana@example.com, not {email!r}")
    return email


def _principal(r: ApiTokenRow) -> Principal:
    return Principal(id=r.id, name=r.name, read_only=r.read_only, person_email=r.person_email)


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
        person_email=r.person_email,
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

    def create(
        self, name: str, *, read_only: bool = False, person_email: str | None = None
    ) -> tuple[ApiTokenInfo, str]:
        """A new token called ``name``: its listing and its secret (the only time it is shown).

        ``person_email``: the person the token speaks for (an email address), else ``None``.
        """
        name = name.strip()
        person = _person(person_email)
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
                    person_email=person,
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
            s.execute(delete(WebSessionRow).where(WebSessionRow.token_id == row.id))
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
            principal = _principal(row)
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

    def principal(self, token_id: int) -> Principal | None:
        """The live token with this id, or ``None`` (unknown or revoked): what a signed session holds."""
        with self._tx() as s:
            row = s.get(ApiTokenRow, token_id)
            if row is None or row.revoked_at is not None:
                return None
            return _principal(row)

    def start_session(
        self, token_id: int, session_id: str, *, lifetime: timedelta, now: datetime | None = None
    ) -> None:
        """Record a new dashboard session ``session_id`` (random, 32+ characters) of token ``token_id``,
        ending ``lifetime`` from now; sessions already past their end are deleted on the way."""
        if len(session_id) < MIN_SESSION_ID:
            raise ValueError(f"a session id must be at least {MIN_SESSION_ID} characters")
        now = now or utcnow()
        with self._tx() as s:
            s.execute(delete(WebSessionRow).where(WebSessionRow.expires_at < now))
            s.add(
                WebSessionRow(
                    id=hash_api_token(session_id),
                    token_id=token_id,
                    created_at=now,
                    expires_at=now + lifetime,
                )
            )

    def session_principal(self, session_id: str, *, now: datetime | None = None) -> Principal | None:
        """The live token of the live session ``session_id``, or ``None`` (signed out, expired, its
        token revoked, or never started)."""
        if not session_id or len(session_id) > 512:
            return None
        now = now or utcnow()
        stmt = (
            select(ApiTokenRow)
            .join(WebSessionRow, WebSessionRow.token_id == ApiTokenRow.id)
            .where(
                WebSessionRow.id == hash_api_token(session_id),
                WebSessionRow.expires_at > now,
                ApiTokenRow.revoked_at.is_(None),
            )
        )
        with self._tx() as s:
            row = s.scalars(stmt).first()
            return None if row is None else _principal(row)

    def end_session(self, session_id: str) -> bool:
        """Sign a session out for good; whether there was one to end."""
        with self._tx() as s:
            gone = s.execute(delete(WebSessionRow).where(WebSessionRow.id == hash_api_token(session_id)))
            return bool(getattr(gone, "rowcount", 0))


MIN_SESSION_ID = 32
"""The shortest session id :meth:`ApiTokens.start_session` takes (characters)."""


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)


__all__ = ["API_TOKEN_PREFIX", "PREFIX_LEN", "ApiTokenInfo", "ApiTokens", "Principal", "hash_api_token"]
