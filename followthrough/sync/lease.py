"""Who holds a source's lease, and the one line said when another process holds it.

``sync`` and ``crm push`` take a per-source lease in the store
(:meth:`store.Store.take_source_lease`) so that two processes never pull from, or write tasks to,
one source at the same time; the second skips that source with :func:`busy_line` and goes on with
the others. A lease whose holder was on this host and is dead (``kill -9``, a crash: its pid no
longer exists) is taken over at once by :func:`take_lease` rather than left to expire.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from datetime import UTC

from store import LeaseHeld, LeasePurpose, Store


def lease_holder() -> str:
    """This process's name as a lease holder: ``host:pid:random`` (unique per call, at most 120 chars)."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"


def dead_holder_pid(holder: str) -> int | None:
    """The pid of ``holder`` (``host:pid:random``) when it ran on this host and that process no longer
    exists (``os.kill(pid, 0)`` raises :class:`ProcessLookupError`); ``None`` when it may be alive, ran
    on another host, or is not a name :func:`lease_holder` gave."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname()[:80] or not pid_text.isdigit():
        return None
    pid = int(pid_text)
    if pid <= 0 or pid == os.getpid():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return pid
    except OSError:  # PermissionError: it exists, another user's
        return None
    return None


@dataclass(frozen=True)
class LeaseTaken:
    """What :func:`take_lease` did: ``held`` who holds the lease (``None``: taken), ``note`` the line
    ``took over the lease of dead process PID`` when it was taken from a dead holder."""

    held: LeaseHeld | None
    note: str | None = None


def take_lease(store: Store, name: str, kind: str, purpose: LeasePurpose, holder: str) -> LeaseTaken:
    """Take ``name``'s ``purpose`` lease for ``holder``; when another process on this host holds it and
    is dead (:func:`dead_holder_pid`), take it over at once (only if nobody took it in between)."""
    held = store.take_source_lease(name, kind, purpose, holder)
    if held is None:
        return LeaseTaken(None)
    pid = dead_holder_pid(held.holder)
    if pid is None:
        return LeaseTaken(held)
    again = store.take_source_lease(name, kind, purpose, holder, take_from=held.holder)
    if again is not None:
        return LeaseTaken(again)
    return LeaseTaken(None, f"source {name!r}: took over the lease of dead process {pid}")


def held_since(held: LeaseHeld) -> str:
    """When the other process took the lease: ``2026-03-10 09:00:00 UTC``."""
    since = held.since if held.since.tzinfo is not None else held.since.replace(tzinfo=UTC)
    return since.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def busy_line(name: str, doing: str, held: LeaseHeld) -> str:
    """``source 'mail' is being synced by another process since 2026-03-10 09:00:00 UTC; skipped``
    (``doing``: ``synced`` or ``pushed to``)."""
    return f"source {name!r} is being {doing} by another process since {held_since(held)}; skipped"


__all__ = ["LeaseTaken", "busy_line", "dead_holder_pid", "held_since", "lease_holder", "take_lease"]
