"""Reading the files of a Slack workspace export, unpacked or as a ZIP.

An export holds metadata files at its root (``users.json``, ``channels.json``,
``integration_logs.json``, ``dms.json``…) and one folder per conversation with
one file per day: ``<channel>/<YYYY-MM-DD>.json``, each a JSON list of
messages. A ZIP is read in place (never extracted to disk); its files may sit
under one top folder. Both shapes answer the same three questions — who the
users are, what the channels are called, and which day files exist — so the
connector above never knows which one it reads.

The metadata of an export folder is read once per process while its files are
unchanged (:func:`folder_directory`): a run over 20,000 day files named one by
one parses ``users.json`` once, not 20,000 times.
"""

from __future__ import annotations

import errno
import functools
import json
import os
import re
import stat
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from connectors.base import ErrorSink
from followthrough.errors import InputError

METADATA_FILES = frozenset(
    {
        "users.json",
        "channels.json",
        "groups.json",
        "dms.json",
        "mpims.json",
        "integration_logs.json",
        "org_users.json",
        "canvases.json",
        "huddles.json",
        "file_conversations.json",
        "lists.json",
    }
)
_ROOT_MARKERS = ("channels.json", "users.json")
_DAY_FILE = re.compile(r"^\d{4}-\d{2}-\d{2}\.json$")
MAX_MEMBER_BYTES = 64 << 20
"""A file of a zipped export larger than this, uncompressed, is not read, nor a day file of an unpacked
one: a day of even a busy channel is a few MiB, and parsing 200 MiB of JSON took 1.8 GB of memory (a
ZIP bomb, not a day of chat; a 100 MB day file in a folder, 1.5 GB)."""
MAX_EXPANSION = 100
"""A member that says it expands more than this many times its compressed size is not read (JSON of real
chat compresses 5-20x); checked from the archive's directory before any byte is inflated."""
EXPANSION_CHECK_BYTES = 1 << 20
"""Members smaller than this, uncompressed, are read whatever their ratio (tiny files compress wildly)."""


@dataclass(frozen=True)
class SlackUser:
    """One workspace member as ``users.json`` (or a message's ``user_profile``) describes them."""

    id: str
    name: str
    email: str | None = None
    handle: str | None = None
    tz: str | None = None
    tz_offset: int | None = None


@dataclass(frozen=True)
class Directory:
    """Who is who in an export, as its metadata files say: read once, shared, never changed."""

    users: Mapping[str, SlackUser] = field(default_factory=dict)
    channels: Mapping[str, str] = field(default_factory=dict)
    """Channel id → name."""
    display: Mapping[str, str] = field(default_factory=dict)
    """User id → the name an @-mention shows."""
    problems: tuple[InputError, ...] = ()
    """The metadata files that could not be read (each one line)."""


@dataclass(frozen=True)
class DayFile:
    """One ``<channel>/<date>.json`` file: where it is and how to read its bytes."""

    channel: str
    origin: str
    read: Callable[[], bytes]


def user_from_json(obj: dict[str, Any]) -> SlackUser | None:
    """A :class:`SlackUser` from a ``users.json`` entry; ``None`` when it has no id."""
    uid = obj.get("id")
    if not isinstance(uid, str) or not uid:
        return None
    raw_profile = obj.get("profile")
    profile: dict[str, Any] = raw_profile if isinstance(raw_profile, dict) else {}
    name = _first_text(
        obj.get("real_name"), profile.get("real_name"), profile.get("display_name"), obj.get("name")
    )
    email = _first_text(profile.get("email"), obj.get("email"))
    handle = _first_text(obj.get("name"), profile.get("display_name"))
    tz = _first_text(obj.get("tz"), profile.get("tz"))
    raw_offset = obj.get("tz_offset", profile.get("tz_offset"))
    offset = raw_offset if isinstance(raw_offset, int) and not isinstance(raw_offset, bool) else None
    return SlackUser(id=uid, name=name or uid, email=email, handle=handle, tz=tz, tz_offset=offset)


def _first_text(*values: object) -> str | None:
    for v in values:
        if isinstance(v, str) and v.strip():
            return v.strip()
    return None


def parse_json(data: bytes, origin: str) -> Any:
    """Decode a JSON file, turning any failure into an :class:`InputError` naming ``origin``.

    Failures: not UTF-8, not JSON, nested deeper than the parser's recursion limit, a
    number too long to convert (Python's int digit limit).
    """
    try:
        return json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as e:
        raise InputError(origin, f"invalid JSON: not UTF-8 ({e.reason})") from e
    except json.JSONDecodeError as e:
        what = e.msg.removesuffix(" at")  # "Unterminated string starting at" ends with its own "at"
        raise InputError(origin, f"invalid JSON: {what} at line {e.lineno} column {e.colno}") from e
    except RecursionError as e:
        raise InputError(origin, "invalid JSON: nested too deeply to read") from e
    except ValueError as e:  # "Exceeds the limit (4300 digits) for integer string conversion..."
        problem = "a number has too many digits to read" if "digits" in str(e) else first_line(e)
        raise InputError(origin, f"invalid JSON: {problem}") from e


def first_line(e: Exception) -> str:
    """An exception's message as one line (pydantic's span many)."""
    lines = str(e).strip().splitlines()
    return lines[0] if lines else type(e).__name__


def _unreadable(e: OSError) -> str:
    if e.errno == errno.ELOOP:
        return "symlink loop"
    if e.errno == errno.ENOENT:
        return "no such file (a broken symlink?)"
    return f"cannot read file ({e.strerror or e})"


def read_file(path: Path, *, capped: bool = False) -> bytes:
    """A file's bytes; with ``capped`` (a day file) at most :data:`MAX_MEMBER_BYTES`, as a member of
    a zipped export. Raises :class:`InputError` naming it when it cannot be read or is larger."""
    try:
        with path.open("rb") as f:
            data = f.read(MAX_MEMBER_BYTES + 1) if capped else f.read()
    except OSError as e:
        raise InputError(path, _unreadable(e)) from e
    return _within_cap(data, str(path)) if capped else data


def _within_cap(data: bytes, origin: str, how: str = "") -> bytes:
    """``data`` when it is no larger than :data:`MAX_MEMBER_BYTES`; else :class:`InputError`."""
    if len(data) > MAX_MEMBER_BYTES:
        raise InputError(origin, f"larger than {MAX_MEMBER_BYTES >> 20} MiB{how}; not read")
    return data


class Export:
    """The common reading logic; subclasses list files and read bytes."""

    def __init__(self, on_error: ErrorSink) -> None:
        self.on_error = on_error

    # -- what subclasses provide -------------------------------------------------
    def _read_root_file(self, name: str, problems: list[InputError]) -> tuple[bytes, str] | None:
        """The bytes and origin of a metadata file; ``None`` when there is none (or, with a line in
        ``problems``, when it cannot be read)."""
        raise NotImplementedError

    def day_files(self) -> Iterator[DayFile]:
        raise NotImplementedError

    # -- shared ------------------------------------------------------------------
    def load_metadata(self) -> Directory:
        """Users and channel names; a broken metadata file is one line (also kept in ``problems``)."""
        problems: list[InputError] = []
        users: dict[str, SlackUser] = {}
        for obj in self._load_list("users.json", problems):
            user = user_from_json(obj)
            if user is not None:
                users[user.id] = user
        channels: dict[str, str] = {}
        for fname in _DIRECTORY_FILES[1:]:
            for obj in self._load_list(fname, problems):
                cid, name = obj.get("id"), obj.get("name")
                if isinstance(cid, str) and isinstance(name, str):
                    channels[cid] = name
        for problem in problems:
            self.on_error(problem)
        display = {uid: u.name for uid, u in users.items()}
        return Directory(users=users, channels=channels, display=display, problems=tuple(problems))

    def _load_list(self, name: str, problems: list[InputError]) -> list[dict[str, Any]]:
        found = self._read_root_file(name, problems)
        if found is None:
            return []
        data, origin = found
        try:
            value = parse_json(data, origin)
        except InputError as e:
            problems.append(e)
            return []
        if not isinstance(value, list):
            problems.append(InputError(origin, "expected a JSON list"))
            return []
        return [v for v in value if isinstance(v, dict)]


class FolderExport(Export):
    """An unpacked export: a folder holding ``channels.json`` or ``users.json``.

    Reading stays inside ``root``: a symlink whose target lies outside it is
    reported to ``on_error`` and not read, unless ``follow_symlinks``. A day file
    that cannot be read (no permission, a symlink loop, a FIFO or other special
    file, which is never opened) and a channel folder that cannot be listed are
    one ``on_error`` line each.
    """

    def __init__(self, root: Path, on_error: ErrorSink, *, follow_symlinks: bool = False) -> None:
        super().__init__(on_error)
        self.root = root
        self.follow_symlinks = follow_symlinks
        self._real_root = os.path.realpath(root)

    def _confined(self, path: Path, on_error: ErrorSink | None = None) -> bool:
        """True when ``path`` may be read; else one line goes to ``on_error`` (default: the export's)."""
        if self.follow_symlinks or not path.is_symlink():
            return True
        real = os.path.realpath(path)
        if real == self._real_root or real.startswith(self._real_root.rstrip(os.sep) + os.sep):
            return True
        (on_error or self.on_error)(
            InputError(
                path, f"symlink points outside {self.root}; not read (pass --follow-symlinks to read it)"
            )
        )
        return False

    def _read_root_file(self, name: str, problems: list[InputError]) -> tuple[bytes, str] | None:
        path = self.root / name
        try:
            if not path.is_file() or not self._confined(path, problems.append):
                return None
            return read_file(path), str(path)
        except InputError as e:
            problems.append(e)
        except OSError as e:
            problems.append(InputError(path, f"cannot read file ({e.strerror or e})"))
        return None

    def _listing(self, folder: Path) -> list[Path]:
        try:
            return sorted(folder.iterdir())
        except OSError as e:
            self.on_error(InputError(folder, f"cannot list folder ({e.strerror or e})"))
            return []

    def _channel_folder(self, path: Path) -> bool:
        try:
            return path.is_dir() and self._confined(path)
        except OSError as e:
            self.on_error(InputError(path, f"cannot read folder ({e.strerror or e})"))
            return False

    def _day_file(self, path: Path) -> bool:
        """A ``YYYY-MM-DD.json`` regular file to read; anything else with that name is one line."""
        if not _DAY_FILE.match(path.name):
            return False
        try:
            info = path.stat()
        except OSError as e:
            problem = _unreadable(e)
        else:
            if stat.S_ISREG(info.st_mode):
                return self._confined(path)
            if stat.S_ISDIR(info.st_mode):
                return False
            problem = "not a regular file"
        self.on_error(InputError(path, f"{problem}; not read"))
        return False

    def day_files(self) -> Iterator[DayFile]:
        for folder in self._listing(self.root):
            if not self._channel_folder(folder):
                continue
            for file in self._listing(folder):
                if self._day_file(file):
                    yield DayFile(
                        channel=folder.name,
                        origin=str(file),
                        read=functools.partial(read_file, file, capped=True),
                    )


class ZipExport(Export):
    """A zipped export, read member by member without extracting it."""

    def __init__(self, path: Path, archive: zipfile.ZipFile, on_error: ErrorSink) -> None:
        super().__init__(on_error)
        self.path = path
        self.archive = archive
        self.prefix = zip_root(archive.namelist()) or ""

    def _origin(self, member: str) -> str:
        return f"{self.path}/{member}"

    def _read_member(self, member: str) -> bytes:
        """A member's bytes (at most :data:`MAX_MEMBER_BYTES`); raises InputError naming it.

        A broken archive raises ``BadZipFile``, ``EOFError`` or ``zlib.error``; an encrypted
        member ``RuntimeError``; an unknown compression method ``NotImplementedError``.
        """
        try:
            info = self.archive.getinfo(member)
        except KeyError as e:
            raise InputError(self._origin(member), "not in the ZIP archive") from e
        if info.file_size > EXPANSION_CHECK_BYTES and info.file_size > MAX_EXPANSION * max(
            1, info.compress_size
        ):
            raise InputError(
                self._origin(member),
                f"expands {info.file_size // max(1, info.compress_size):,} times its compressed size "
                f"({info.file_size >> 20} MiB; more than {MAX_EXPANSION}x is a ZIP bomb, not chat); not read",
            )
        try:
            with self.archive.open(member) as f:
                data = f.read(MAX_MEMBER_BYTES + 1)  # the directory's sizes can lie: never read past the cap
        except (
            zipfile.BadZipFile,
            OSError,
            EOFError,
            zlib.error,
            RuntimeError,
            NotImplementedError,
            ValueError,
        ) as e:
            raise InputError(self._origin(member), f"cannot read from the ZIP archive ({e})") from e
        return _within_cap(data, self._origin(member), " uncompressed")

    def _read_root_file(self, name: str, problems: list[InputError]) -> tuple[bytes, str] | None:
        member = self.prefix + name
        try:
            self.archive.getinfo(member)
        except KeyError:
            return None
        try:
            return self._read_member(member), self._origin(member)
        except InputError as e:
            problems.append(e)
            return None

    def day_files(self) -> Iterator[DayFile]:
        found: list[tuple[str, str, str]] = []
        for member in self.archive.namelist():
            if not member.startswith(self.prefix) or member.endswith("/"):
                continue
            rel = PurePosixPath(member[len(self.prefix) :])
            if len(rel.parts) == 2 and _DAY_FILE.match(rel.name):
                found.append((rel.parts[0], rel.name, member))
        for channel, _, member in sorted(found):
            yield DayFile(
                channel=channel,
                origin=self._origin(member),
                read=functools.partial(self._read_member, member),
            )


def folder_directory(root: Path, on_error: ErrorSink, *, follow_symlinks: bool = False) -> Directory:
    """The :class:`Directory` of the export folder ``root``; its problems go to ``on_error``.

    Read once per process while the metadata files keep their size, time and inode (a
    reader of one day file of an export asks for it once per file).
    """
    directory = _folder_directory(str(root), follow_symlinks, _signature(root))
    for problem in directory.problems:
        on_error(problem)
    return directory


_DIRECTORY_FILES = ("users.json", "channels.json", "groups.json", "mpims.json")


def _signature(root: Path) -> tuple[tuple[int, int, int, int] | None, ...]:
    """What changes when a metadata file of ``root`` changes: size, mtime, inode and device."""

    def one(name: str) -> tuple[int, int, int, int] | None:
        try:
            info = os.stat(root / name)
        except OSError:
            return None
        return info.st_size, info.st_mtime_ns, info.st_ino, info.st_dev

    return tuple(one(name) for name in _DIRECTORY_FILES)


@functools.lru_cache(maxsize=16)
def _folder_directory(root: str, follow_symlinks: bool, signature: object) -> Directory:
    """``signature`` is only the cache key: a changed metadata file is read again."""
    return FolderExport(Path(root), _ignore, follow_symlinks=follow_symlinks).load_metadata()


def _ignore(error: InputError, /) -> None:
    """Problems reading the metadata are kept in :attr:`Directory.problems`, reported by each caller."""


def zip_root(names: list[str]) -> str | None:
    """The folder prefix (``""`` or ``"top/"``) holding an export's root markers, if any."""
    best: str | None = None
    for name in names:
        if name.startswith("__MACOSX/"):
            continue
        posix = PurePosixPath(name)
        if posix.name in _ROOT_MARKERS and len(posix.parts) <= 2:
            prefix = name[: -len(posix.name)]
            if best is None or len(prefix) < len(best):
                best = prefix
    return best


__all__ = [
    "EXPANSION_CHECK_BYTES",
    "MAX_EXPANSION",
    "MAX_MEMBER_BYTES",
    "METADATA_FILES",
    "DayFile",
    "Directory",
    "Export",
    "FolderExport",
    "SlackUser",
    "ZipExport",
    "first_line",
    "folder_directory",
    "parse_json",
    "read_file",
    "user_from_json",
    "zip_root",
]
