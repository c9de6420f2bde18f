"""IMAP accounts as a live source: new mail per folder since the last sync, by UIDVALIDITY + UID.

``[[source]]`` keys (``kind = "imap"``):

- ``url``: ``imaps://user@host:993`` or ``imap://user@host:143`` (STARTTLS when the server
  offers it; ``?starttls=required`` refuses one that does not). ``username`` when the url names none.
- ``password_env``: the environment variable holding the password; or ``auth = "xoauth2"`` with
  ``token_env``: the variable holding an OAuth 2.0 access token (Gmail, Microsoft 365).
- ``folders``: default ``["INBOX"]``; ``"Sent"`` finds the folder flagged ``\\Sent`` (RFC 6154)
  when none is named so (``"[Gmail]/Sent Mail"``, ``"Sent Items"``). A folder the server does not
  have is one error line once the others are read, whatever its place in the list.
- ``batch_size``: UIDs per FETCH (default :data:`BATCH_SIZE`).

The cursor holds, per configured folder name, ``"<folder>.uidvalidity"`` and ``"<folder>.uid"``
(the highest UID stored). A UIDVALIDITY other than the stored one means the folder was recreated
and its UIDs renumbered: it is read again from the start; the store keeps each message once by
Message-ID, so the re-scan stores nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import ClassVar

from connectors.imap import (
    Credentials,
    ImapAccount,
    ImapError,
    ImapFolderMissing,
    ImapLoginRefused,
    ImapMailbox,
    message_documents,
)
from followthrough.sync.base import LiveSource, Pulled, SourceConfig, SourceError

log = logging.getLogger("followthrough.sync.imap")

BATCH_SIZE = 200
"""UIDs fetched (and stored, with the cursor after them) at a time."""
MAX_BATCH_SIZE = 5000


def options_problems(config: SourceConfig) -> list[str]:
    """What is wrong with an ``imap`` source's keys (one phrase each; empty when nothing is)."""
    problems: list[str] = []
    if not config.url:
        problems.append("url is missing (imaps://user@host:993 or imap://user@host:143)")
    else:
        try:
            ImapAccount.from_url(config.url, username=_username(config))
        except ImapError as e:
            problems.append(str(e))
    auth = config.options.get("auth", "password")
    if auth not in ("password", "xoauth2"):
        problems.append(f'auth must be "password" or "xoauth2" (got {auth!r})')
    needed = "token_env" if auth == "xoauth2" else "password_env"
    if not isinstance(config.options.get(needed), str) or not config.options.get(needed):
        problems.append(f'{needed} = "ENV_VAR_NAME" is missing (auth = "{auth}")')
    folders = config.options.get("folders", ["INBOX"])
    if not isinstance(folders, list) or not folders or not all(isinstance(f, str) and f for f in folders):
        problems.append('folders must be a list of folder names, e.g. ["INBOX", "Sent"]')
    size = config.options.get("batch_size", BATCH_SIZE)
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_BATCH_SIZE:
        problems.append(f"batch_size must be a whole number from 1 to {MAX_BATCH_SIZE}")
    return problems


def _username(config: SourceConfig) -> str | None:
    user = config.options.get("username")
    return user if isinstance(user, str) and user else None


class ImapSource(LiveSource):
    """Pulls an IMAP account's folders incrementally by UIDVALIDITY + UID (see the module docstring)."""

    kind: ClassVar[str] = "imap"
    keys: ClassVar[frozenset[str]] = frozenset(
        {"username", "auth", "password_env", "token_env", "folders", "batch_size"}
    )

    @classmethod
    def config_problems(cls, config: SourceConfig) -> list[str]:
        return options_problems(config)

    def __init__(self, config: SourceConfig) -> None:
        super().__init__(config)
        self._mailbox: ImapMailbox | None = None

    @property
    def folders(self) -> list[str]:
        folders = self.config.options.get("folders", ["INBOX"])
        return [str(f) for f in folders] if isinstance(folders, list) and folders else ["INBOX"]

    @property
    def batch_size(self) -> int:
        size = self.config.options.get("batch_size", BATCH_SIZE)
        return size if isinstance(size, int) and 1 <= size <= MAX_BATCH_SIZE else BATCH_SIZE

    def _error(self, e: ImapError) -> SourceError:
        message = str(e)
        if isinstance(e, ImapLoginRefused):
            key = "token_env" if self.config.options.get("auth") == "xoauth2" else "password_env"
            message += f" in ${self.config.options.get(key)} ({key})"
        return SourceError(f"source {self.config.name!r}: {message}")

    def mailbox(self) -> ImapMailbox:
        """The account's connection (made on first use; secrets read from the environment now)."""
        if self._mailbox is None:
            try:
                account = ImapAccount.from_url(self.config.url or "", username=_username(self.config))
            except ImapError as e:
                raise self._error(e) from e
            if self.config.options.get("auth") == "xoauth2":
                credentials = Credentials(token=self.config.secret("token_env"))
            else:
                credentials = Credentials(password=self.config.secret("password_env"))
            self._mailbox = ImapMailbox(account, credentials)
        return self._mailbox

    def pull(self, cursor: Mapping[str, str]) -> Iterator[Pulled]:
        """New messages of each folder in turn, :attr:`batch_size` UIDs a batch, in UID order.

        Raises :class:`SourceError` naming the source: login refused, server unreachable, connection
        dropping past the retries; or, after the other folders were read, a configured folder missing
        (one line naming each such folder).
        """
        try:
            yield from self._pull(dict(cursor))
        except ImapError as e:
            raise self._error(e) from e

    def _pull(self, state: dict[str, str]) -> Iterator[Pulled]:
        mailbox = self.mailbox()
        missing: list[str] = []
        for name in self.folders:
            try:
                folder = mailbox.resolve(name)
                validity = mailbox.examine(folder)
            except ImapFolderMissing as e:  # the other folders still sync; this one fails the source
                missing.append(str(e))
                continue
            key_validity, key_uid = f"{name}.uidvalidity", f"{name}.uid"
            known = state.get(key_validity)
            last = _int(state.get(key_uid)) if known == str(validity) else 0
            if known is not None and known != str(validity):
                log.info(
                    "%s: folder %s has a new UIDVALIDITY (%s, was %s): reading it again",
                    self.config.name,
                    folder,
                    validity,
                    known,
                )
            uids = mailbox.uids_after(folder, last)
            if not uids and known != str(validity):  # first sight of an empty (or emptied) folder
                state[key_validity], state[key_uid] = str(validity), str(last)
                yield Pulled([], None, dict(state))
            for chunk in _chunks(uids, self.batch_size):
                fetched = mailbox.fetch(folder, validity, chunk)
                docs, unreadable = message_documents(mailbox.account, folder, validity, fetched.messages)
                state[key_validity], state[key_uid] = str(validity), str(chunk[-1])
                yield Pulled(docs, None, dict(state), problems=[*fetched.problems, *unreadable])
        if missing:
            raise ImapFolderMissing("; ".join(missing))

    def close(self) -> None:
        if self._mailbox is not None:
            self._mailbox.close()
            self._mailbox = None


def _int(value: str | None) -> int:
    try:
        return max(0, int(value or 0))
    except ValueError:
        return 0


def _chunks(uids: Sequence[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(uids), size):
        yield list(uids[start : start + size])


__all__ = ["BATCH_SIZE", "ImapSource", "options_problems"]
