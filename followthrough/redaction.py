"""Keep credentials out of every error, log line and stored message.

``redact(text)`` replaces what reads as a credential with ``***``:

- the password (and user) in a URL's userinfo: ``https://user:pw@host`` → ``https://***@host``;
- a bearer or basic token after ``Authorization:`` or ``Bearer``;
- the value of a query or form parameter named like a secret (``token``, ``api_key``, ``key``,
  ``access_token``, ``password``, ``secret``, ``signature``...);
- API keys of the common shapes (``sk-...``, ``xox[bpas]-...`` Slack tokens, ``ft_...`` followthrough API
  tokens);
- the literal values of the secrets this process was given: ``OPENAI_API_KEY`` and the other variables
  in :data:`SECRET_VARIABLES`, the user and password in ``OPENAI_BASE_URL`` and
  ``FOLLOWTHROUGH_DATABASE_URL`` (also as the Basic-auth base64 a client sends), and any value passed
  to :func:`remember`.

Every pattern is linear (no nested quantifiers), so redacting a long hostile string costs O(n).
This module imports nothing of the project: connectors, extractor, store and application all use it.
"""

from __future__ import annotations

import base64
import os
import re
from threading import Lock
from urllib.parse import unquote

MASK = "***"

SECRET_VARIABLES = (
    "OPENAI_API_KEY",
    "FOLLOWTHROUGH_API_TOKEN",
    "FOLLOWTHROUGH_TOKEN",
    "SLACK_TOKEN",
    "SLACK_BOT_TOKEN",
    "IMAP_PASSWORD",
    "SMTP_PASSWORD",
)
"""Environment variables whose values are secrets wherever they appear."""

_MIN_SECRET = 6
"""Shorter literal values are not redacted (they would mask ordinary words)."""

_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.\-]{0,30}://)[^\s/@'\"<>]{1,512}@")
_AUTH_HEADER = re.compile(
    r"(?P<name>\b(?:proxy-)?authorization\b['\"]?\s{0,4}[:=]\s{0,4}['\"]?)(?:(?P<scheme>bearer|basic|token)\s{1,4})?"
    r"[^\s'\",}]{1,4096}",
    re.IGNORECASE,
)
_BEARER = re.compile(r"\b(?P<scheme>bearer|basic)\s{1,4}[A-Za-z0-9\-._~+/=:]{8,4096}", re.IGNORECASE)
_SECRET_PARAM = re.compile(
    r"(?P<name>\b(?:access_token|refresh_token|id_token|api[_-]?key|apikey|token|key|password|passwd|pwd"
    r"|secret|client_secret|signature|sig|auth)\b['\"]?\s{0,4}[=:]\s{0,4}['\"]?)[^\s&'\",;}]{1,4096}",
    re.IGNORECASE,
)
_KEY_SHAPES = re.compile(
    r"\b(?:sk-[A-Za-z0-9_\-]{8,512}|xox[abposr]-[A-Za-z0-9\-]{8,512}|ft_[A-Za-z0-9_\-]{16,512})"
)

_lock = Lock()
_remembered: set[str] = set()


def remember(secret: str | None) -> None:
    """Treat ``secret``'s literal value as a credential from now on (ignored when short or empty)."""
    if secret and len(secret.strip()) >= _MIN_SECRET:
        with _lock:
            _remembered.add(secret.strip())


def _literals() -> list[str]:
    values = {v.strip() for v in (os.environ.get(name) for name in SECRET_VARIABLES) if v}
    for name in ("OPENAI_BASE_URL", "FOLLOWTHROUGH_DATABASE_URL"):
        url = os.environ.get(name) or ""
        match = re.match(r"[a-zA-Z][a-zA-Z0-9+.\-]*://([^/@\s]*)@", url)
        if match:
            userinfo = unquote(match.group(1))
            values.update(part for part in userinfo.split(":") if part)
            # HTTP clients send URL credentials as Basic auth: an upstream that echoes the header
            # without its "Basic" prefix must not leak them either.
            values.add(base64.b64encode(userinfo.encode()).decode())
    with _lock:
        values |= _remembered
    return sorted((v for v in values if len(v) >= _MIN_SECRET), key=len, reverse=True)


def redact(text: str) -> str:
    """``text`` with every credential replaced by ``***`` (see the module docstring)."""
    if not text:
        return text
    for literal in _literals():
        if literal in text:
            text = text.replace(literal, MASK)
    text = _USERINFO.sub(lambda m: f"{m.group('scheme')}{MASK}@", text)
    text = _AUTH_HEADER.sub(
        lambda m: f"{m.group('name')}{m.group('scheme') + ' ' if m.group('scheme') else ''}{MASK}", text
    )
    text = _BEARER.sub(lambda m: f"{m.group('scheme')} {MASK}", text)
    text = _SECRET_PARAM.sub(lambda m: f"{m.group('name')}{MASK}", text)
    return _KEY_SHAPES.sub(MASK, text)


__all__ = ["MASK", "SECRET_VARIABLES", "redact", "remember"]
