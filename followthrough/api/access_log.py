"""Credentials never reach the access log: request targets are redacted before they are written.

uvicorn logs each request as ``client - "METHOD /path?query HTTP/1.1" status``
on the ``uvicorn.access`` logger. A client that sends a token in the query
string (``?token=...``, ``?api_key=...``) would have it written there.
:class:`RedactTarget`, a filter on that logger, rewrites the target first:
the path and every query parameter pass through
:func:`~followthrough.redaction.redact`, and a parameter that reads as a
credential once percent-decoded (``?to%6Ben=...``) has its value masked too.
:func:`install` attaches it (once); :func:`~followthrough.api.create_app`
calls it, and ``followthrough serve`` names it in uvicorn's logging config.
"""

from __future__ import annotations

import logging
from urllib.parse import unquote_plus

from followthrough.redaction import MASK, redact

ACCESS_LOGGER = "uvicorn.access"


def _secret(text: str) -> bool:
    return redact(text) != text


def redact_target(target: str) -> str:
    """``target`` (a request path with its query) with every credential in it masked."""
    path, sep, query = target.partition("?")
    path = redact(path)
    if not sep:
        return path
    pairs = []
    for pair in query.split("&"):
        name, eq, value = pair.partition("=")
        if _secret(name) or _secret(unquote_plus(name)):
            pairs.append(MASK)
        elif _secret(pair) or _secret(unquote_plus(pair)) or _secret(unquote_plus(value)):
            pairs.append(f"{name}={MASK}" if eq else MASK)
        else:
            pairs.append(pair)
    return f"{path}?{'&'.join(pairs)}"


class RedactTarget(logging.Filter):
    """A logging filter: redacts the request target in uvicorn's access records (and any string arg)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and args:
            # uvicorn: (client_addr, method, full_path, http_version, status_code)
            record.args = tuple(redact_target(a) if isinstance(a, str) else a for a in args)
        elif isinstance(record.msg, str) and not args:
            record.msg = redact(record.msg)
        return True


def install(logger_name: str = ACCESS_LOGGER) -> None:
    """Attach :class:`RedactTarget` to the access logger, unless it is already there."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, RedactTarget) for f in logger.filters):
        logger.addFilter(RedactTarget())
