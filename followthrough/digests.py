"""Digests of inputs: what tells a re-run that an input is unchanged before anything is parsed.

An input's digest is SHA-256 over how it is read (the reader, the connector
code, the options and company domains that shape its documents) and over its
bytes: a file's content, or for a folder read whole (an unpacked Slack export)
each regular file's path relative to the folder and content, in name order.
Reading the bytes is the only work: a 100 MB mailbox hashes in well under a
second, against minutes to parse it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from datetime import date
from functools import cache
from pathlib import Path

from followthrough import ingest

_CHUNK = 1 << 20


@cache
def _connector_code() -> str:
    """SHA-256 of the source of the connectors and of :mod:`followthrough.ingest` (an upgrade that
    changes how inputs are read reads them again)."""
    import connectors

    h = hashlib.sha256()
    roots = [Path(connectors.__file__).parent]
    files = sorted(p for root in roots for p in root.rglob("*.py")) + [Path(ingest.__file__)]
    for p in files:
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def reading(domains: Iterable[str], undated: date | None) -> str:
    """What, besides an input's bytes, shapes the documents read from it: a string for :func:`digest`."""
    return "|".join([_connector_code(), ",".join(sorted(domains)), undated.isoformat() if undated else ""])


def digest(item: ingest.Input, how: str) -> str | None:
    """The digest of ``item`` read as ``how`` says (:func:`reading`); ``None`` when it cannot be read
    here (the reader then reports why, as it would have)."""
    h = hashlib.sha256()
    h.update(f"{item.reader.__module__}.{item.reader.__qualname__}|{item.follow_symlinks}|{how}".encode())
    try:
        if item.path.is_dir():
            for path in _files(item.path, item.follow_symlinks):
                h.update(b"\0" + os.fsencode(path.relative_to(item.path)) + b"\0")
                _update(h, path)
        else:
            _update(h, item.path)
    except OSError:
        return None
    return h.hexdigest()


def _files(root: Path, follow_symlinks: bool) -> list[Path]:
    """The regular files under ``root``, in name order (symlinks followed only when asked)."""
    found: list[Path] = []
    for top, dirs, files in os.walk(root, followlinks=follow_symlinks):
        dirs.sort()
        for name in sorted(files):
            path = Path(top, name)
            if path.is_file() and (follow_symlinks or not path.is_symlink()):
                found.append(path)
    return found


def _update(h: hashlib._Hash, path: Path) -> None:
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)


def combined(digest: str, state: str) -> str:
    """``digest`` bound to what the store held when it was recorded (a CRM export's: the CRM tables'
    :meth:`~store.Store.crm_state` after it was imported)."""
    return hashlib.sha256(f"{digest}|{state}".encode()).hexdigest()
