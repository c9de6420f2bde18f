"""What every delivery channel is: one :class:`Channel` per way of reaching people, one required method.

A channel is used as a context manager around one digest run (an email channel keeps one SMTP
connection for every owner); :meth:`Channel.fit` cuts a digest to what one message can hold (the
items left out wait for the next digest); :meth:`Channel.send` delivers one owner's message or raises
:class:`DeliveryFailed` with one line that names no secret. :class:`Preview` is a channel that sends
nothing: what ``digest --send … --dry-run`` builds its messages with (no server needed).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from followthrough.errors import FollowthroughError
from followthrough.notify.digest import OwnerDigest
from followthrough.notify.settings import ChannelName
from followthrough.redaction import redact


class DeliveryFailed(FollowthroughError):
    """One message could not be delivered; ``str(err)`` is its one line, credentials masked."""

    def __init__(self, line: str) -> None:
        super().__init__(redact(" ".join(line.split()))[:500])


class Channel(ABC):
    """A way to reach an owner. ``name`` is what deliveries are recorded under."""

    name: ChannelName

    @abstractmethod
    def send(self, digest: OwnerDigest) -> None:
        """Deliver ``digest`` to its owner; :class:`DeliveryFailed` when it was not delivered."""

    def fit(self, digest: OwnerDigest) -> OwnerDigest:
        """``digest`` as one message on this channel can hold it (the items that do not fit left out
        and counted in :attr:`OwnerDigest.more`); every item, by default."""
        return digest

    def close(self) -> None:  # noqa: B027 - most channels hold nothing
        """Release what the channel holds (a connection); sending again reopens it."""

    def __enter__(self) -> Channel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Preview(Channel):
    """A channel that sends nothing (``digest --send … --dry-run``): it fits digests as the channel
    ``name`` would, so the preview shows what would be sent; :meth:`send` always fails."""

    def __init__(self, name: ChannelName) -> None:
        self.name = name

    def fit(self, digest: OwnerDigest) -> OwnerDigest:
        if self.name is ChannelName.SLACK:
            from followthrough.notify import blocks  # noqa: PLC0415 - not while notify is loading

            return blocks.fit(digest)
        return digest

    def send(self, digest: OwnerDigest) -> None:
        raise DeliveryFailed("a preview sends nothing")
