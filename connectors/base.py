"""The base classes of every reader of an input, and what each kind yields.

::

    Reader                      detect(path), skip_reason(path), unread_reason(path)
    ├── Connector               yields Yields.DOCUMENTS: documents() -> Iterator[SourceDocument]
    └── CrmReader               yields Yields.CRM: records() -> Iterator[CrmData]

A run plans its inputs with the registry (:mod:`connectors.registry`), then
stores what each reader yields in :class:`Yields` order.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import ClassVar, Protocol

from followthrough.errors import InputError
from followthrough.types import CrmData, CrmRows, SourceDocument


class ErrorSink(Protocol):
    """Receives problems with single records so the rest of a batch goes on."""

    def __call__(self, error: InputError, /) -> None: ...


def raise_error(error: InputError) -> None:
    """The default sink: stop at the first problem."""
    raise error


class Yields(Enum):
    """What a reader yields, declared in the order a run stores it.

    CRM records come first: their account domains tell the internal participants
    of the documents from the external ones.
    """

    CRM = "crm"
    """Accounts, contacts and deals (:class:`~followthrough.types.CrmData`)."""
    DOCUMENTS = "documents"
    """Messages, threads and meetings (:class:`~followthrough.types.SourceDocument`)."""


class Reader(ABC):
    """Reads one input (a file, a folder or an archive); a subclass per kind of output.

    A problem with the whole input raises :class:`InputError`; a problem with one
    record inside it (one bad message in an mbox, one broken CSV row) is passed to
    ``on_error`` and the reader goes on with the next record.

    ``detect(path)`` answers whether this reader reads ``path``; the registry asks
    each reader in turn, in registration order. It opens nothing but regular files
    (a FIFO or a device would block or never end).

    ``follow_symlinks``: a reader of a folder (an unpacked Slack export) stays
    inside it unless this is true; a symlink leading out of it is passed to
    ``on_error`` and not read.
    """

    yields: ClassVar[Yields]

    def __init__(
        self, path: Path, *, on_error: ErrorSink = raise_error, follow_symlinks: bool = False
    ) -> None:
        self.path = path
        self.on_error = on_error
        self.follow_symlinks = follow_symlinks

    @classmethod
    @abstractmethod
    def detect(cls, path: Path) -> bool:
        """True when this reader reads ``path`` (by name and a peek at content)."""

    @classmethod
    def skip_reason(cls, path: Path) -> str | None:
        """Why ``path``, which :meth:`detect` accepts, is skipped all the same; ``None`` to read it.

        For a file named like this reader's inputs whose content says otherwise (a README
        among meeting notes). The line goes to the skipped ones, never to the errors.
        """
        return None

    @classmethod
    def unread_reason(cls, path: Path) -> str | None:
        """Why ``path``, named like this reader's inputs, is not one (:meth:`detect` said no).

        The line a user sees instead of "unsupported file type"; ``None`` when ``path``
        is not named like this reader's inputs.
        """
        return None


class Connector(Reader):
    """Reads one input into documents; ``documents()`` is the one required method."""

    yields = Yields.DOCUMENTS

    @abstractmethod
    def documents(self) -> Iterator[SourceDocument]:
        """Yield every document in the input, in source order."""


class CrmReader(Reader):
    """Reads one CRM export into accounts, contacts and deals; ``records()`` is the one required method."""

    yields = Yields.CRM

    @abstractmethod
    def records(self) -> Iterator[CrmData]:
        """Every record in the export, in chunks of bounded size (a bad row goes to ``on_error`` and is
        left out): a run stores each chunk before reading the next, so memory stays flat."""

    def record_rows(self) -> Iterator[CrmRows]:
        """:meth:`records` as :data:`~followthrough.types.CrmRows` (what a run stores): a reader that
        can build them without a model per record overrides this; by default, each chunk's models."""
        for crm in self.records():
            yield crm.rows()
