"""Who holds a source's lease, and the one line said when another process holds it.

``sync`` and ``crm push`` take a per-source lease in the store
(:meth:`store.Store.take_source_lease`) so that two processes never pull from, or write tasks to,
one source at the same time; the second skips that source with :func:`busy_line` and goes on with
the others.
"""

from __future__ import annotations

import os
import secrets
import socket
from datetime import UTC

from store import LeaseHeld


def lease_holder() -> str:
    """This process's name as a lease holder: ``host:pid:random`` (unique per call, at most 120 chars)."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"


def held_since(held: LeaseHeld) -> str:
    """When the other process took the lease: ``2026-03-10 09:00:00 UTC``."""
    since = held.since if held.since.tzinfo is not None else held.since.replace(tzinfo=UTC)
    return since.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def busy_line(name: str, doing: str, held: LeaseHeld) -> str:
    """``source 'mail' is being synced by another process since 2026-03-10 09:00:00 UTC; skipped``
    (``doing``: ``synced`` or ``pushed to``)."""
    return f"source {name!r} is being {doing} by another process since {held_since(held)}; skipped"


__all__ = ["busy_line", "held_since", "lease_holder"]
