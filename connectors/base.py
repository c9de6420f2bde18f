"""The base class every document connector derives from."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar, Protocol

from followthrough.errors import InputError
from followthrough.types import SourceDocument


class ErrorSink(Protocol):
    """Receives problems with single records so the rest of a batch goes on."""

    def __call__(self, error: InputError, /) -> None: ...


def raise_error(error: InputError) -> None:
    """The default sink: stop at the first problem."""
    raise error


class Connector(ABC):
    """Reads one input (a file, a folder or an archive) into documents.

    ``documents()`` is the one required method. A problem with the whole input
    raises :class:`InputError`; a problem with one record inside it (one bad
    message in an mbox, one broken day file in a Slack export) is passed to
    ``on_error`` and the connector goes on with the next record.

    ``detect(path)`` answers whether this connector reads ``path``; the
    registry asks each connector in turn, cheapest checks first. It opens
    nothing but regular files (a FIFO or a device would block or never end).

    ``follow_symlinks``: a connector that reads a folder (an unpacked Slack
    export) stays inside it unless this is true; a symlink leading out of it is
    passed to ``on_error`` and not read.
    """

    name: ClassVar[str]

    def __init__(
        self, path: Path, *, on_error: ErrorSink = raise_error, follow_symlinks: bool = False
    ) -> None:
        self.path = path
        self.on_error = on_error
        self.follow_symlinks = follow_symlinks

    @classmethod
    @abstractmethod
    def detect(cls, path: Path) -> bool:
        """True when this connector reads ``path`` (by name and a peek at content)."""

    @abstractmethod
    def documents(self) -> Iterator[SourceDocument]:
        """Yield every document in the input, in source order."""
