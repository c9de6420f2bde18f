"""IMAP (RFC 3501) mailboxes read with imapclient: folders, UIDVALIDITY + UID, messages as documents.

:class:`ImapMailbox` is one login to one account: TLS (``imaps://``, or STARTTLS on
``imap://`` when the server offers it; required with ``?starttls=required``), a password
or an OAuth 2.0 bearer token (SASL ``XOAUTH2``: Gmail, Microsoft 365). Folders are
opened read-only (``EXAMINE``) and bodies fetched with ``BODY.PEEK[]``, so syncing never
marks mail ``\\Seen``. A dropped connection is reopened and the fetch retried (tenacity,
:data:`FETCH_ATTEMPTS` attempts in all). Each message is parsed by the one RFC 5322 reader,
:func:`connectors.email.documents_from_bytes` (as the mbox connector parses its messages), so
an email synced from IMAP has the same ``external_id`` (its Message-ID) as the same email
read from an mbox or ``.eml`` file: the store keeps it once.

Problems are :class:`ImapError` (one line saying what to fix); connection drops that
outlast the retries are :class:`ImapError` too. This module knows nothing of the store
or of sync state: :mod:`followthrough.sync.imap` keeps the cursor.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import parse_qs, quote, unquote, urlsplit

from imapclient import IMAPClient  # type: ignore[import-untyped]  # no stubs, no py.typed
from imapclient.exceptions import (  # type: ignore[import-untyped]
    IMAPClientAbortError,
    IMAPClientError,
    LoginError,
)
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from connectors.email import _ids, documents_from_bytes, too_large
from connectors.mail.header_block import HeaderBlock
from connectors.mail.threads import ThreadIndex
from connectors.tls import certificate_failed, certificate_line
from followthrough.errors import FollowthroughError, InputError
from followthrough.limits import MAX_MESSAGE_BYTES
from followthrough.types import SourceDocument

log = logging.getLogger("followthrough.connectors.imap")

DEFAULT_PORTS = {"imap": 143, "imaps": 993}
FETCH_ATTEMPTS = 4
"""Tries of one command (the first and three after reconnecting) before a dropped connection is an error."""
TIMEOUT_S = 60.0
"""Seconds a connection waits for the server before it counts as dropped."""
_DROPPED = (IMAPClientAbortError, OSError, EOFError)
"""What a connection that went away raises (``ssl.SSLError`` and socket timeouts are ``OSError``)."""

StartTls = Literal["auto", "required"]
T = TypeVar("T")


class ImapError(FollowthroughError):
    """An IMAP account cannot be read: one line saying what is wrong and what to fix."""


class ImapLoginRefused(ImapError):
    """The server refused the login (wrong password, revoked or expired token)."""


class ImapFolderMissing(ImapError):
    """A configured folder is not on the server (LIST names none such) or cannot be opened there;
    the account's other folders can still be read."""


@dataclass(frozen=True)
class ImapAccount:
    """Where an account lives: ``imap://user@host:143`` or ``imaps://user@host:993`` (RFC 5092 shape).

    ``tls``: ``"imaps"`` (TLS from the first byte) or ``"starttls"`` (plain, upgraded when the
    server offers STARTTLS; ``starttls="required"`` refuses a server that does not).
    """

    host: str
    port: int
    username: str
    implicit_tls: bool
    starttls: StartTls = "auto"

    @classmethod
    def from_url(cls, url: str, *, username: str | None = None) -> ImapAccount:
        """Parse an ``imap://`` / ``imaps://`` URL; ``username`` when the URL names none.

        Raises :class:`ImapError` for another scheme, a missing host or user, a password
        inside the URL (secrets come from the environment), or an unknown ``starttls`` value.
        """
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS:
            raise ImapError(f"url must start with imap:// or imaps:// (got {scheme or 'no scheme'}://)")
        if parts.password is not None:
            raise ImapError(
                "url holds a password (remove it and name an environment variable in password_env)"
            )
        if not parts.hostname:
            raise ImapError("url names no host (imap://user@host:143 or imaps://user@host:993)")
        user = unquote(parts.username) if parts.username else username
        if not user:
            raise ImapError("url names no user (imap://user@host:143) and no username key is set")
        try:
            port = parts.port or DEFAULT_PORTS[scheme]
        except ValueError as e:
            raise ImapError(f"url has an invalid port ({e})") from e
        query = parse_qs(parts.query)
        starttls = (query.get("starttls") or ["auto"])[0].lower()
        if starttls not in ("auto", "required"):
            raise ImapError(f"url ?starttls= must be auto or required (got {starttls!r})")
        return cls(
            parts.hostname, port, user, scheme == "imaps", "required" if starttls == "required" else "auto"
        )

    def folder_url(self, folder: str, uidvalidity: int, uid: int) -> str:
        """The RFC 5092 URL of one message: ``imap://user@host:port/INBOX;UIDVALIDITY=7/;UID=42``."""
        scheme = "imaps" if self.implicit_tls else "imap"
        return (
            f"{scheme}://{quote(self.username, safe='')}@{self.host}:{self.port}/"
            f"{quote(folder, safe='/')};UIDVALIDITY={uidvalidity}/;UID={uid}"
        )


@dataclass(frozen=True)
class Credentials:
    """How to log in: a ``password`` (LOGIN), or an OAuth 2.0 ``token`` (SASL XOAUTH2)."""

    password: str | None = None
    token: str | None = None

    def __repr__(self) -> str:  # never show a secret, even in a traceback
        return (
            f"Credentials(password={'***' if self.password else None}, token={'***' if self.token else None})"
        )


@dataclass(frozen=True)
class Message:
    """One message as fetched: its UID in the folder, its bytes (RFC 822), and INTERNALDATE (when the
    server received it; the date of a message with no usable Date header)."""

    uid: int
    data: bytes
    internal_date: datetime | None


@dataclass(frozen=True)
class Fetched:
    """A batch of a folder: the messages read, and one line for each that could not be."""

    messages: list[Message]
    problems: list[InputError]


class ImapMailbox:
    """One account over one IMAP connection (imapclient), reopened when it drops.

    ``connect_factory`` builds the client (tests hand in one pointed elsewhere); the default is
    :class:`imapclient.IMAPClient` with certificate checks on (``ssl.create_default_context``).
    """

    def __init__(
        self,
        account: ImapAccount,
        credentials: Credentials,
        *,
        timeout: float = TIMEOUT_S,
        attempts: int = FETCH_ATTEMPTS,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.account = account
        self.credentials = credentials
        self.timeout = timeout
        self.attempts = attempts
        self.ssl_context = ssl_context or ssl.create_default_context()
        self._client: IMAPClient | None = None
        self._selected: tuple[str, int] | None = None
        """The folder open on the current connection, with its UIDVALIDITY."""
        self._folders: list[tuple[tuple[bytes, ...], str]] | None = None
        self.reconnects = 0
        """How many times a dropped connection was reopened."""

    # connection ---------------------------------------------------------------------------

    def _where(self) -> str:
        return f"{self.account.host}:{self.account.port}"

    def _open(self) -> IMAPClient:
        account = self.account
        try:
            client = IMAPClient(
                account.host,
                port=account.port,
                ssl=account.implicit_tls,
                ssl_context=self.ssl_context if account.implicit_tls else None,
                timeout=self.timeout,
            )
        except ssl.SSLError as e:
            if certificate_failed(e):
                raise ImapError(certificate_line(account.host)) from e
            raise ImapError(
                f"TLS with {self._where()} failed ({e.reason or e}): check the host and port"
            ) from e
        except (OSError, IMAPClientError) as e:
            if certificate_failed(e):
                raise ImapError(certificate_line(account.host)) from e
            raise ImapError(
                f"cannot connect to {self._where()} ({_reason(e)}): check the host and port"
            ) from e
        client.normalise_times = False  # INTERNALDATE with its zone
        try:
            if not account.implicit_tls:
                if client.has_capability("STARTTLS"):
                    self._starttls(client)
                elif account.starttls == "required":
                    raise ImapError(
                        f"{self._where()} does not offer STARTTLS and the url says ?starttls=required: "
                        "use imaps:// or another server"
                    )
            self._login(client)
        except BaseException:
            _quietly_close(client)
            raise
        return client

    def _starttls(self, client: IMAPClient) -> None:
        try:
            client.starttls(self.ssl_context)
        except ssl.SSLError as e:
            if certificate_failed(e):
                raise ImapError(certificate_line(self.account.host)) from e
            raise ImapError(f"STARTTLS with {self._where()} failed ({e.reason or e})") from e

    def _no_xoauth2(self) -> ImapError:
        return ImapError(
            # worded so that redaction (which masks "auth=VALUE") leaves it whole
            f"{self._where()} does not offer XOAUTH2 (its CAPABILITY lists no XOAUTH2 login): "
            'set auth to "password" with password_env, or use a server that takes OAuth tokens'
        )

    def _login(self, client: IMAPClient) -> None:
        account, creds = self.account, self.credentials
        try:
            if creds.token is not None:
                if not client.has_capability("AUTH=XOAUTH2"):
                    raise self._no_xoauth2()
                client.oauth2_login(account.username, creds.token)
            else:
                client.login(account.username, creds.password or "")
        except (LoginError, IMAPClientError) as e:
            if creds.token is not None and "unsupported authentication mechanism" in str(e).lower():
                raise self._no_xoauth2() from e
            if not isinstance(e, LoginError):
                raise
            how = "OAuth token (expired, revoked or without the IMAP scope)" if creds.token else "password"
            raise ImapLoginRefused(
                f"{self._where()} refused the login of {account.username} ({_reason(e)}): check the {how}"
            ) from e
        except ssl.SSLError as e:
            raise ImapError(f"STARTTLS with {self._where()} failed ({e.reason or e})") from e

    def client(self) -> IMAPClient:
        """The open connection (opened and logged in on first use)."""
        if self._client is None:
            self._client = self._open()
            self._selected = None
        return self._client

    def close(self) -> None:
        """Log out (a connection already gone is simply dropped)."""
        if self._client is not None:
            client, self._client = self._client, None
            try:
                client.logout()
            except (IMAPClientError, *_DROPPED):
                _quietly_close(client)

    def _retrying(self, what: str, call: Callable[[IMAPClient], T]) -> T:
        """``call(client)``, reconnecting and trying again when the connection drops."""

        def reopen(_state: Any) -> None:
            log.info("IMAP connection to %s dropped during %s; reconnecting", self._where(), what)
            if self._client is not None:
                _quietly_close(self._client)
            self._client = None
            self.reconnects += 1

        try:
            for attempt in Retrying(
                retry=retry_if_exception_type(_DROPPED),
                stop=stop_after_attempt(self.attempts),
                wait=wait_exponential(multiplier=0.2, max=5),
                before_sleep=reopen,
                reraise=True,
            ):
                with attempt:
                    return call(self.client())
        except _DROPPED as e:
            raise ImapError(
                f"the connection to {self._where()} kept dropping during {what} "
                f"({self.attempts} tries: {_reason(e)}); run sync again later"
            ) from e
        raise AssertionError("unreachable")  # pragma: no cover - Retrying either returns or raises

    # folders ------------------------------------------------------------------------------

    def folders(self) -> list[tuple[tuple[bytes, ...], str]]:
        """The account's folders as ``(flags, name)`` (LIST), read once per connection object."""
        if self._folders is None:
            listed = self._retrying("LIST", lambda c: c.list_folders())
            self._folders = [(tuple(flags), str(name)) for flags, _delim, name in listed]
        return self._folders

    def resolve(self, name: str) -> str:
        """The server's name for the configured folder ``name``: itself (``INBOX`` in any case), or
        for ``Sent``, the folder flagged ``\\Sent`` (RFC 6154 special use). Raises :class:`ImapError`
        naming the folders there are when none matches."""
        listed = self.folders()
        for _flags, folder in listed:
            if folder == name or (name.upper() == "INBOX" and folder.upper() == "INBOX"):
                return folder
        if name.lower() in ("sent", "\\sent"):
            for flags, folder in listed:
                if any(f.lower() == b"\\sent" for f in flags):
                    return folder
        for _flags, folder in listed:
            if folder.lower() == name.lower():
                return folder
        names = ", ".join(sorted(folder for _f, folder in listed)[:20])
        raise ImapFolderMissing(
            f"folder {name!r} not found on {self._where()} (folders there: {names}): fix `folders`"
        )

    def examine(self, folder: str) -> int:
        """Open ``folder`` read-only (EXAMINE); its UIDVALIDITY."""
        return self._retrying(f"EXAMINE {folder}", lambda client: self._ensure(client, folder))

    def uids_after(self, folder: str, uid: int) -> list[int]:
        """UIDs in ``folder`` greater than ``uid``, ascending (``UID SEARCH UID uid+1:*``)."""

        def call(client: IMAPClient) -> list[int]:
            self._ensure(client, folder)
            found = client.search(["UID", f"{uid + 1}:*"])
            return sorted(u for u in (int(x) for x in found) if u > uid)  # "n:*" always holds the last one

        return self._retrying(f"UID SEARCH in {folder}", call)

    def fetch(self, folder: str, uidvalidity: int, uids: Sequence[int]) -> Fetched:
        """The messages ``uids`` of ``folder`` (one FETCH of sizes, one of ``BODY.PEEK[]`` and
        INTERNALDATE). A message over :data:`~followthrough.limits.MAX_MESSAGE_BYTES` is a problem
        line, not fetched. Raises :class:`ImapError` when the folder's UIDVALIDITY is no longer
        ``uidvalidity`` after a reconnect (its UIDs mean other messages now)."""

        def call(client: IMAPClient) -> Fetched:
            if self._ensure(client, folder) != uidvalidity:
                raise ImapError(
                    f"folder {folder!r} was recreated during the sync (UIDVALIDITY changed): run sync again"
                )
            sizes = client.fetch(list(uids), [b"RFC822.SIZE"])
            problems: list[InputError] = []
            wanted: list[int] = []
            for uid in uids:
                size = int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0))
                if uid not in sizes:
                    continue  # expunged meanwhile
                if size > MAX_MESSAGE_BYTES:
                    problems.append(
                        InputError(self.account.folder_url(folder, uidvalidity, uid), too_large(size))
                    )
                else:
                    wanted.append(uid)
            got = client.fetch(wanted, [b"BODY.PEEK[]", b"INTERNALDATE"]) if wanted else {}
            messages = [
                Message(uid, bytes(got[uid].get(b"BODY[]") or b""), _aware(got[uid].get(b"INTERNALDATE")))
                for uid in wanted
                if uid in got
            ]
            return Fetched(messages, problems)

        return self._retrying(f"FETCH in {folder}", call)

    def _ensure(self, client: IMAPClient, folder: str) -> int:
        """Open ``folder`` read-only on ``client`` unless it is already open there (after a
        reconnect it is not); its UIDVALIDITY."""
        if self._selected is not None and self._selected[0] == folder:
            return self._selected[1]
        try:
            info = client.select_folder(folder, readonly=True)
        except IMAPClientAbortError:
            raise
        except IMAPClientError as e:
            raise ImapFolderMissing(
                f"cannot open folder {folder!r} on {self._where()} ({_reason(e)}): fix `folders`"
            ) from e
        self._selected = (folder, int(info[b"UIDVALIDITY"]))
        return self._selected[1]


def message_documents(
    account: ImapAccount, folder: str, uidvalidity: int, messages: Iterable[Message]
) -> tuple[list[SourceDocument], list[InputError]]:
    """Parse fetched messages into documents, in order, as the mbox connector parses its own
    (:func:`connectors.email.documents_from_bytes`, threads indexed over the batch).

    ``origin`` is the message's RFC 5092 URL; a message without any usable date (no Date nor
    Received header) is dated by its INTERNALDATE (metadata ``date_source=imap_internaldate``).
    Each message that cannot be parsed is one :class:`InputError` naming its URL.
    """
    batch = list(messages)
    index = ThreadIndex()
    for m in batch:
        try:
            own, chain, _ = _ids(HeaderBlock(m.data))
        except (ValueError, LookupError, TypeError, UnicodeError):
            continue
        index.add(own, chain)
    docs: list[SourceDocument] = []
    problems: list[InputError] = []
    for m in batch:
        origin = account.folder_url(folder, uidvalidity, m.uid)
        try:
            parsed = documents_from_bytes(
                m.data, path=Path(origin), origin=origin, number=m.uid, threads=index
            )
        except InputError as e:
            problems.append(e)
            continue
        docs.extend(_dated(d, m.internal_date) for d in parsed)
    return docs, problems


def _dated(doc: SourceDocument, internal_date: datetime | None) -> SourceDocument:
    """``doc`` dated by INTERNALDATE when the message itself gave no date (no file to date it by)."""
    if internal_date is None or doc.metadata.get("date_source") not in ("unknown", "file_mtime"):
        return doc
    metadata = {**doc.metadata, "date_source": "imap_internaldate"}
    return doc.model_copy(update={"occurred_at": internal_date, "metadata": metadata})


def _aware(value: object) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _reason(e: BaseException) -> str:
    """An exception's first line, for a message (never a secret: servers echo no passwords)."""
    text = str(e)
    if isinstance(e, bytes):  # pragma: no cover - defensive
        text = e.decode("utf-8", "replace")
    if text.startswith("b'") or text.startswith('b"'):
        text = text[2:-1]
    line = (text.strip().splitlines() or [type(e).__name__])[0]
    return line[:200]


def _quietly_close(client: IMAPClient) -> None:
    try:
        client.shutdown()
    except (IMAPClientError, *_DROPPED):
        pass


__all__ = [
    "Credentials",
    "Fetched",
    "ImapAccount",
    "ImapError",
    "ImapFolderMissing",
    "ImapLoginRefused",
    "ImapMailbox",
    "Message",
    "message_documents",
]
