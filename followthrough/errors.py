"""The exception tree. Every error this project raises on purpose is one of these.

    FollowthroughError            root: the CLI prints it as one line, exit 1
     ├── ConfigError              bad or missing configuration (URL, key, domains)
     ├── InputError               a file or record a user gave us cannot be read
     ├── ExtractionError          an extractor backend failed on a document
     └── StoreError               the database refused or is unreachable

SDK and driver errors are wrapped at the boundary (``raise ... from e``) so
that nothing raw reaches a user.
"""

from __future__ import annotations

from pathlib import Path


class FollowthroughError(Exception):
    """Root of every deliberate error in followthrough."""


class ConfigError(FollowthroughError):
    """Configuration is missing or invalid; the message says how to fix it."""


class InputError(FollowthroughError):
    """An input file (or one record in it) cannot be read.

    ``path`` names the file; ``problem`` says what is wrong in words a user
    understands. ``str(err)`` is the one line the CLI prints.
    """

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path.translate(_ONE_LINE)}: {problem}")


_ONE_LINE = {
    0x0A: "\\n",
    0x0D: "\\r",
    0x0B: "\\v",
    0x0C: "\\f",
    0x85: "\\x85",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}
"""Line breaks a file name may hold, written as escapes in the one line that names it."""


class ExtractionError(FollowthroughError):
    """An extraction backend failed on a document (after its retries).

    ``budget_s``: for a failure that spent a time budget (the offline extractor's, in seconds), that
    budget: the same content would spend it again, so a later run under a budget no larger does not
    try the document again unless asked (``--retry-failed``). ``None`` (the default: a timeout, a
    refused request) means the next run tries it again.
    """

    budget_s: float | None = None


class StoreError(FollowthroughError):
    """The store could not read or write."""


__all__ = [
    "ConfigError",
    "ExtractionError",
    "FollowthroughError",
    "InputError",
    "StoreError",
]
