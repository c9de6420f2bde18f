"""The contract every live source implements (IMAP, Slack Web API, HubSpot, Salesforce).

A *live source* pulls what is new since a saved cursor, in bounded batches,
oldest first. The runner (``followthrough.sync.runner``) stores each batch's
documents and CRM records and saves the batch's cursor in the same
transaction, so a sync killed between batches resumes after the last saved
batch: nothing fetched twice, nothing skipped.

Shapes:

* :class:`SourceConfig` is one ``[[source]]`` table of ``followthrough.toml``.
* :class:`Pulled` is one batch: documents, CRM data, and the source's whole
  cursor *after* the batch (``str`` keys and values, e.g.
  ``{"INBOX.uidvalidity": "1700000000", "INBOX.uid": "42"}``).
* :class:`SourceError` is one line naming the source and what to fix.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from followthrough.errors import FollowthroughError, InputError
from followthrough.types import CrmData, SourceDocument


class SourceError(FollowthroughError):
    """A live source failed: one line naming the source and what to fix.

    Examples: a wrong password, a revoked token, a missing scope, a deleted
    folder or channel, an unreachable server (after retries).
    """


@dataclass(frozen=True)
class SourceConfig:
    """One ``[[source]]`` table of the config file.

    ``name`` is unique in the file; ``kind`` is ``"imap" | "slack" |
    "hubspot" | "salesforce"``; ``url`` is e.g. ``imaps://user@host:993`` or an
    API base URL override (tests point it at loopback); ``options`` is the
    whole TOML table as read (``name``, ``kind`` and ``url`` included).
    """

    name: str
    kind: str
    url: str | None
    options: Mapping[str, Any]

    def secret(self, key: str) -> str:
        """The value of the environment variable named by ``options[key]``.

        ``key`` is e.g. ``"password_env"`` or ``"token_env"``. Raises
        :class:`SourceError` naming the source and the variable when the key
        is missing or the variable is unset or empty. The value itself is
        never put in a message.
        """
        variable = self.options.get(key)
        if not isinstance(variable, str) or not variable:
            raise SourceError(f'source {self.name!r}: set {key} = "ENV_VAR_NAME" in its [[source]] table')
        value = os.environ.get(variable, "")
        if not value:
            raise SourceError(
                f"source {self.name!r}: environment variable {variable} ({key}) is unset or empty"
            )
        return value


def source_error(config: SourceConfig, error: BaseException) -> SourceError:
    """``error`` (a connector's one line) as the :class:`SourceError` of ``config``: ``source 'name':
    LINE``; when the service refused the credentials (``error.auth_failed``), the line ends naming
    the environment variables the source reads them from (``$HUBSPOT_TOKEN (token_env)``)."""
    line = f"source {config.name!r}: {error}"
    if getattr(error, "auth_failed", False):
        named = [
            f"${value} ({key})"
            for key, value in config.options.items()
            if key.endswith("_env") and isinstance(value, str) and value
        ]
        if named:
            line += f"; the credentials are read from {' and '.join(named)}"
    return SourceError(line)


@dataclass(frozen=True)
class Pulled:
    """One batch pulled from a live source.

    ``documents`` are :class:`~followthrough.types.SourceDocument`;
    ``crm`` is accounts/contacts/deals (or ``None``); ``cursor`` is the
    source's whole cursor after this batch (string keys and values); ``problems``
    (optional) one :class:`~followthrough.errors.InputError` per record left out.
    """

    documents: Sequence[SourceDocument]
    crm: CrmData | None
    cursor: Mapping[str, str]
    problems: Sequence[InputError] = ()
    """Records of this batch that could not be read (an unparsable message): one line each, the
    rest of the batch stands; the runner reports them as ``run`` reports a bad record in a file."""


class LiveSource(ABC):
    """A source that pulls what is new since a cursor. Subclasses set ``kind``."""

    kind: ClassVar[str]
    keys: ClassVar[frozenset[str]] = frozenset()
    """The ``[[source]]`` keys this kind reads besides ``name``, ``kind`` and ``url``: any other key
    is a config error (a typo such as ``folder`` must not be silently ignored)."""

    def __init__(self, config: SourceConfig) -> None:
        self.config = config

    @abstractmethod
    def pull(self, cursor: Mapping[str, str]) -> Iterator[Pulled]:
        """What is new since ``cursor`` (empty on first sync), in bounded batches, oldest first.

        The runner stores each batch's documents/CRM records and then saves its cursor in the
        same transaction, so a sync killed between batches resumes after the last saved batch:
        nothing fetched twice, nothing skipped."""

    @classmethod
    def config_problems(cls, config: SourceConfig) -> list[str]:
        """What is wrong with this kind's keys in ``config`` (one phrase each), checked when the
        config file is read; default: nothing beyond the common checks (name, kind, url, secrets)."""
        return []

    def close(self) -> None:  # noqa: B027 - optional hook, default no-op
        """Release connections (default: nothing to release)."""


__all__ = ["LiveSource", "Pulled", "SourceConfig", "SourceError", "source_error"]
