"""The dashboard's signed session cookie and its CSRF tokens.

A session is a cookie, ``followthrough_session``, holding ``{"sid": RANDOM, "csrf": RANDOM}`` signed
with :class:`itsdangerous.URLSafeTimedSerializer` (HMAC-SHA1 over a key derived from the secret, with
a timestamp): a random session id, never the token, so a stolen cookie file or a log line holds no
credential. The session itself is a row in the store (``web_sessions``, keyed by the id's SHA-256):
started at sign-in (:meth:`store.ApiTokens.start_session`), looked up with its token on every request
(:meth:`store.ApiTokens.session_principal`) and deleted at sign-out (:meth:`store.ApiTokens.end_session`),
so a copy of the cookie replayed after signing out is refused, and a token revoked while someone is
signed in stops working on their next click. A session lasts :data:`MAX_AGE_S`.

The cookie is ``HttpOnly``, ``SameSite=Lax``, ``Path=/``, and ``Secure`` when the request came over
HTTPS (``request.url.scheme``; behind a TLS-terminating proxy run uvicorn with ``--proxy-headers``).

CSRF: every form carries the session's ``csrf`` value and every POST compares it in constant time
(:func:`csrf_ok`), and a POST whose ``Origin`` (or, without one, ``Referer``) names another site is
refused (:func:`same_origin`). The login form has no session yet, so it uses a *pre-session* token:
``GET /login`` sets a short-lived signed cookie ``followthrough_login`` with a random value and puts
the same value in the form (double submit); when a ``POST /login`` sends the field, both must match.
A script (``curl -d "token=$TOKEN" .../login``) sends neither the field nor an ``Origin``: it is let in
on its token alone. A browser always sends ``Origin`` with a cross-site POST, so a forged sign-in
(login CSRF: a page signing its visitor in as the attacker) is refused by the origin check.

The secret (:func:`session_secret`), first to last: ``FOLLOWTHROUGH_SESSION_SECRET`` (give every
worker and host the same one, 32+ characters), else a random one created once in
``$FOLLOWTHROUGH_HOME/session-secret`` (mode 0600) and read back by every later process and worker on
this machine, so sessions survive a restart. It is deliberately not kept in the database: whoever
can read the database (a read replica, a backup) must not be able to forge a session, as the tokens
there are stored hashed for the same reason.
"""

from __future__ import annotations

import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from followthrough.config import home_dir
from followthrough.errors import ConfigError

SESSION_COOKIE = "followthrough_session"
LOGIN_COOKIE = "followthrough_login"
SECRET_ENV = "FOLLOWTHROUGH_SESSION_SECRET"
SECRET_FILE = "session-secret"
MAX_AGE_S = 12 * 3600
"""How long a session lasts after sign-in (seconds)."""
LOGIN_MAX_AGE_S = 3600
"""How long a login form stays valid (seconds)."""
MIN_SECRET_LEN = 32


def session_secret(explicit: str | None = None) -> str:
    """The key sessions are signed with (see the module docstring for the order).

    :class:`ConfigError` for a ``FOLLOWTHROUGH_SESSION_SECRET`` shorter than :data:`MIN_SECRET_LEN`
    or a home folder where the secret file cannot be written or read.
    """
    value = explicit or os.environ.get(SECRET_ENV)
    if value:
        if len(value) < MIN_SECRET_LEN:
            raise ConfigError(
                f"{SECRET_ENV} must be at least {MIN_SECRET_LEN} characters "
                '(e.g. python -c "import secrets; print(secrets.token_urlsafe(32))")'
            )
        return value
    return _secret_file(home_dir() / SECRET_FILE)


def _secret_file(path: Path) -> str:
    """The secret in ``path``, created (0600, atomically: the first process to get there wins) if
    missing."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write(secrets.token_urlsafe(48))
        value = path.read_text(encoding="ascii").strip()
    except OSError as e:
        # No "secret: VALUE" shape in this line: redaction would mask the OS error's first word.
        folder = path.parent
        why = (
            f"{e.strerror or e}: {folder} is not a folder"
            if folder.exists() and not folder.is_dir()
            else None
        )
        raise ConfigError(
            f"cannot keep the dashboard's session key in {path} ({why or e.strerror or e}); "
            f"set {SECRET_ENV} (32+ characters) or point FOLLOWTHROUGH_HOME at a writable folder"
        ) from e
    if len(value) < MIN_SECRET_LEN:  # a file being written by another process this very moment
        raise ConfigError(f"the session secret in {path} is too short: delete the file and start again")
    return value


@dataclass(frozen=True)
class Session:
    """A signed-in browser as its cookie says: the random session id (``sid``, looked up in the store)
    and the session's CSRF token."""

    sid: str
    csrf: str


class Sessions:
    """Sign, read and clear the session and login cookies with one secret."""

    def __init__(self, secret: str) -> None:
        self._session = URLSafeTimedSerializer(secret, salt="followthrough.session")
        self._login = URLSafeTimedSerializer(secret, salt="followthrough.login")

    def read(self, request: Request) -> Session | None:
        """The request's session, or ``None`` (no cookie, a bad signature, expired, or malformed)."""
        raw = request.cookies.get(SESSION_COOKIE)
        if not raw:
            return None
        try:
            data = self._session.loads(raw, max_age=MAX_AGE_S)
        except BadSignature:
            return None
        if not isinstance(data, dict):
            return None
        sid, csrf = data.get("sid"), data.get("csrf")
        if not isinstance(sid, str) or not sid or not isinstance(csrf, str) or not csrf:
            return None
        return Session(sid=sid, csrf=csrf)

    @staticmethod
    def new() -> Session:
        """A new session: a random id (record it with :meth:`store.ApiTokens.start_session`) and CSRF
        token."""
        return Session(sid=secrets.token_urlsafe(32), csrf=secrets.token_urlsafe(32))

    def start(self, request: Request, response: Response, session: Session) -> None:
        """Sign in: ``session`` (from :meth:`new`, recorded in the store) set as the cookie on
        ``response``, the login form's cookie cleared."""
        value = self._session.dumps({"sid": session.sid, "csrf": session.csrf})
        _set(request, response, SESSION_COOKIE, value, MAX_AGE_S)
        response.delete_cookie(LOGIN_COOKIE, path="/")

    def end(self, response: Response) -> None:
        """Sign out in the browser: the session cookie is cleared (end the stored session too)."""
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")

    @staticmethod
    def new_login_csrf() -> str:
        """A fresh pre-session CSRF value for a login form (then :meth:`set_login_csrf` on its page)."""
        return secrets.token_urlsafe(32)

    def set_login_csrf(self, request: Request, response: Response, value: str) -> None:
        """Set the signed twin of the login form's CSRF ``value`` as a cookie on ``response``."""
        _set(request, response, LOGIN_COOKIE, self._login.dumps(value), LOGIN_MAX_AGE_S)

    def login_csrf_ok(self, request: Request, submitted: str | None) -> bool:
        """The login form's CSRF value matches its signed cookie (and the cookie is not too old)."""
        raw = request.cookies.get(LOGIN_COOKIE)
        if not raw or not submitted:
            return False
        try:
            value = self._login.loads(raw, max_age=LOGIN_MAX_AGE_S)
        except BadSignature:
            return False
        return isinstance(value, str) and hmac.compare_digest(value, submitted)


def login_form_ok(sessions: Sessions, request: Request, submitted: str | None) -> bool:
    """A sign-in POST passes the CSRF checks: from this site or no page (:func:`same_origin`), and,
    when it sent the form's ``csrf_token`` field (a browser's form), one matching its signed cookie."""
    if not same_origin(request):
        return False
    return submitted is None or sessions.login_csrf_ok(request, submitted)


def csrf_ok(session: Session, submitted: str | None) -> bool:
    """The form's ``csrf_token`` is the session's (compared in constant time)."""
    return bool(submitted) and hmac.compare_digest(session.csrf, submitted or "")


def same_origin(request: Request) -> bool:
    """The POST came from this site or from no page at all: an ``Origin`` header naming this very host
    and port, or none and a ``Referer`` on this host, or neither (a script, ``curl``). ``Origin: null``
    (a sandboxed or file page, a cross-site redirect) is refused."""
    origin = request.headers.get("origin")
    if origin is None:
        referer = request.headers.get("referer")
        return referer is None or _this_host(request, referer)
    return origin != "null" and _this_host(request, origin)


def _this_host(request: Request, url: str) -> bool:
    parts = urlsplit(url)
    host = request.headers.get("host", "")
    return parts.scheme in {"http", "https"} and parts.netloc.lower() == host.lower()


def _set(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
