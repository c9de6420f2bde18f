"""The sync config file: ``followthrough.toml`` with one ``[[source]]`` table per live source.

Found at ``$FOLLOWTHROUGH_CONFIG`` when set, else ``followthrough.toml`` in the working
directory. Example::

    [[source]]
    name = "sales-mail"
    kind = "imap"                           # imap | slack | hubspot | salesforce
    url = "imaps://ops@mail.example.com:993"
    password_env = "SALES_MAIL_PASSWORD"    # secrets only by environment variable name
    folders = ["INBOX", "Sent"]

Checked whole when read: each problem is one line naming the file and the source
(:class:`ConfigFileError`, which the CLI prints line by line, exit code 2). A secret
written inline (``password = "..."``, ``token = "..."``, a password inside ``url``) is
refused: name an environment variable in ``password_env`` / ``token_env`` instead. A key the
source's kind does not read (a typo: ``folder``, ``bacth_size``) is refused, naming the keys of
that kind and the likeliest one meant (:data:`~followthrough.sync.base.LiveSource.keys`).

Messages show the values written in the file as they are (``auth = "password"`` is a setting, not
a secret); only a secret key's value and the password in a URL are masked, and a secret key's
value is never shown at all.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from followthrough.errors import ConfigError
from followthrough.sync.base import SourceConfig
from followthrough.sync.registry import SOURCES

CONFIG_ENV = "FOLLOWTHROUGH_CONFIG"
CONFIG_FILE = "followthrough.toml"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_SECRET_WORDS = ("password", "passwd", "token", "secret", "api_key", "apikey", "private_key")
_COMMON_KEYS = frozenset({"name", "kind", "url"})
_URL_PASSWORD = re.compile(
    r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.\-]{0,30}://[^\s/@:'\"<>]{0,256}:)[^\s/@'\"<>]{1,512}@"
)
_URL_SCHEMES: Mapping[str, tuple[str, ...]] = {"imap": ("imap", "imaps")}
"""Accepted ``url`` schemes by kind; every other kind takes an ``http(s)://`` API base URL."""


class ConfigFileError(ConfigError):
    """The config file cannot be used: ``problems`` are its lines (file and source named in each)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class SyncConfig:
    """The sources of one config file, in file order."""

    path: Path
    sources: list[SourceConfig]

    def select(self, names: list[str]) -> list[SourceConfig]:
        """The sources named (all when ``names`` is empty), in file order; :class:`ConfigFileError`
        naming the unknown ones and the configured names."""
        if not names:
            return list(self.sources)
        known = {s.name for s in self.sources}
        unknown = [n for n in names if n not in known]
        if unknown:
            have = ", ".join(sorted(known)) or "none"
            raise ConfigFileError(
                [f"{self.path}: no source named {n!r} (configured: {have})" for n in unknown]
            )
        wanted = set(names)
        return [s for s in self.sources if s.name in wanted]


def config_path() -> Path:
    """``$FOLLOWTHROUGH_CONFIG`` when set, else ``./followthrough.toml``."""
    named = os.environ.get(CONFIG_ENV, "").strip()
    return Path(named).expanduser() if named else Path.cwd() / CONFIG_FILE


def load(path: Path | None = None) -> SyncConfig:
    """Read and check the config file (default :func:`config_path`).

    Raises :class:`ConfigFileError` when it is missing, not TOML, or any source is wrong:
    every problem found, one line each.
    """
    path = path or config_path()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigFileError(
            [
                f"{path}: no config file; create {CONFIG_FILE} here with [[source]] tables "
                f"or set {CONFIG_ENV} to its path"
            ]
        ) from None
    except OSError as e:
        raise ConfigFileError([f"{path}: cannot read it ({e.strerror or e})"]) from e
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigFileError([f"{path}: not valid TOML ({e})"]) from e
    return parse(data, path)


def parse(data: Mapping[str, Any], path: Path) -> SyncConfig:
    """Check the parsed TOML ``data`` of ``path``; see :func:`load`."""
    unknown = [
        f"{path}: unknown table {key!r}{_did_you_mean(key, ['source']).replace('source?', '[[source]]?')}; "
        "this file takes [[source]] tables only"
        for key in data
        if key != "source"
    ]
    if unknown:
        raise ConfigFileError(unknown)
    tables = data.get("source", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ConfigFileError([f"{path}: `source` must be [[source]] tables"])
    if not tables:
        raise ConfigFileError([f"{path}: no [[source]] table; add one per mailbox, workspace or CRM"])
    problems: list[str] = []
    sources: list[SourceConfig] = []
    seen: set[str] = set()
    for n, table in enumerate(tables, 1):
        name = table.get("name")
        label = f"source {name!r}" if isinstance(name, str) and name else f"[[source]] #{n}"
        found = _problems(table, seen)
        problems.extend(f"{path}: {label}: {p}" for p in found)
        if isinstance(name, str):
            seen.add(name)
        if not found:
            sources.append(
                SourceConfig(
                    name=str(name), kind=str(table["kind"]), url=table.get("url"), options=dict(table)
                )
            )
    for config in sources:
        cls = SOURCES[config.kind]
        problems.extend(f"{path}: source {config.name!r}: {p}" for p in cls.config_problems(config))
    if problems:
        raise ConfigFileError([mask_url_passwords(p) for p in problems])
    return SyncConfig(path, sources)


def _problems(table: Mapping[str, Any], seen: set[str]) -> list[str]:
    """The common checks of one ``[[source]]`` table: name, kind, url, secrets."""
    out: list[str] = []
    name = table.get("name")
    if not isinstance(name, str) or not name:
        out.append('name is missing (name = "sales-mail")')
    elif not _NAME.match(name):
        out.append("name may hold letters, digits, '.', '_' and '-' only (at most 100)")
    elif name in seen:
        out.append("name is used by another [[source]]; names must be unique")
    kind = table.get("kind")
    known = isinstance(kind, str) and kind in SOURCES
    if not known:
        shown = kind if isinstance(kind, str) else None
        hint = _did_you_mean(shown, SOURCES) if shown else ""
        out.append(f"kind must be one of {', '.join(sorted(SOURCES))} (got {kind!r}{hint})")
    url = table.get("url")
    if url is not None and known:  # an unknown kind: which url it takes is unknown too
        out.extend(_url_problems(url, str(kind)))
    for key, value in table.items():
        lowered = key.lower()
        if lowered.endswith("_env"):
            if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
                out.append(f'{key} must name an environment variable (e.g. {key} = "MAIL_PASSWORD")')
        elif any(word in lowered for word in _SECRET_WORDS):
            out.append(
                f"{key} is a secret written in the file: remove it, put it in an environment "
                f'variable and name that variable in {key}_env = "VAR"'
            )
            continue
        if known and key not in _COMMON_KEYS | SOURCES[str(kind)].keys:
            out.append(_unknown_key(key, str(kind)))
    return out


def _unknown_key(key: str, kind: str) -> str:
    """``unknown key 'folder' (did you mean folders?); imap sources take: auth, batch_size, ...``."""
    keys = sorted(_COMMON_KEYS | SOURCES[kind].keys)
    return f"unknown key {key!r}{_did_you_mean(key, keys)}; {kind} sources take: {', '.join(keys)}"


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def mask_url_passwords(line: str) -> str:
    """``line`` with the password of every URL in it masked (``imap://ops:***@host``); nothing else."""
    return _URL_PASSWORD.sub(lambda m: f"{m['head']}***@", line)


def _url_problems(url: object, kind: str) -> list[str]:
    if not isinstance(url, str) or not url:
        return ["url must be a string"]
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as e:
        return [f"url is malformed ({e})"]
    out: list[str] = []
    schemes = _URL_SCHEMES.get(kind, ("http", "https"))
    if parts.scheme.lower() not in schemes:
        shown = " or ".join(f"{s}://" for s in schemes)
        out.append(f"url must start with {shown} (got {url.split('://')[0] if '://' in url else url!r})")
    if not parts.hostname:
        out.append("url names no host")
    if parts.password is not None:
        out.append("url holds a password (remove it and name an environment variable in password_env)")
    return out


__all__ = [
    "CONFIG_ENV",
    "CONFIG_FILE",
    "ConfigFileError",
    "SyncConfig",
    "config_path",
    "load",
    "mask_url_passwords",
    "parse",
]
