"""The userinfo of an LLM base URL (``https://user:pw@host/v1``): never shown, sent as credentials.

A proxy in front of the model may take HTTP basic auth in the base URL. The
SDK and httpx print the URL they were given in logs and errors, so the URL
shown anywhere is :func:`safe_url` (no userinfo, redacted), and the client is
built from :func:`split_userinfo`'s URL with the user and password handed to
the HTTP client as credentials. This module imports no HTTP client.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit, urlunsplit

from followthrough.redaction import redact

__all__ = ["safe_url", "split_userinfo"]


def safe_url(url: object) -> str:
    """``url`` without its userinfo (``https://user:pw@host/v1`` -> ``https://host/v1``), redacted."""
    text = str(url)
    try:
        parts = urlsplit(text)
    except ValueError:
        return redact(text)
    if "@" in parts.netloc:
        parts = parts._replace(netloc=parts.netloc.rsplit("@", 1)[1])
        text = urlunsplit(parts)
    return redact(text)


def split_userinfo(url: str) -> tuple[str, tuple[str, str] | None]:
    """``url`` without its userinfo, and the (user, password) it held (percent-decoded), if any."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, host = parts.netloc.rsplit("@", 1)
    user, _, password = userinfo.partition(":")
    return urlunsplit(parts._replace(netloc=host)), (unquote(user), unquote(password))
