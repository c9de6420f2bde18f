"""Where notifications go: the SMTP server and the Slack destination, read from the environment at call
time (never at import), with every secret registered for redaction as soon as it is read.

==============================  ==========================================================================
environment                     meaning
==============================  ==========================================================================
FOLLOWTHROUGH_SMTP_URL          ``smtp://user:pass@host:port`` (plain, port 25), ``smtp://…?starttls=true``
                                (STARTTLS, port 587), ``smtps://…`` (implicit TLS, port 465); user and
                                password percent-encoded (``%40`` for ``@``); ``?timeout=SECONDS`` (30)
FOLLOWTHROUGH_MAIL_FROM         the ``From`` address (RFC 5322: ``followthrough@example.com`` or
                                ``Followthrough <followthrough@example.com>``); default
                                ``followthrough@localhost``
SLACK_BOT_TOKEN                 a bot token (``xoxb-…``, scopes ``chat:write`` and ``users:read.email``):
                                each owner gets a direct message (found by ``users.lookupByEmail``)
FOLLOWTHROUGH_SLACK_WEBHOOK_URL an incoming webhook: each owner's message goes to its channel
FOLLOWTHROUGH_SLACK_API_URL     the Slack Web API base URL (default ``https://slack.com/api/``)
==============================  ==========================================================================

TLS certificates are verified against the system's trust store (``SSL_CERT_FILE`` names another
bundle, as OpenSSL reads it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.headerregistry import HeaderRegistry as _Headers
from enum import StrEnum
from urllib.parse import parse_qs, unquote, urlsplit

from followthrough.errors import ConfigError
from followthrough.redaction import remember

SMTP_URL_ENV = "FOLLOWTHROUGH_SMTP_URL"
MAIL_FROM_ENV = "FOLLOWTHROUGH_MAIL_FROM"
SLACK_WEBHOOK_ENV = "FOLLOWTHROUGH_SLACK_WEBHOOK_URL"
SLACK_TOKEN_ENV = "SLACK_BOT_TOKEN"
SLACK_API_URL_ENV = "FOLLOWTHROUGH_SLACK_API_URL"
DEFAULT_MAIL_FROM = "followthrough@localhost"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_TIMEOUT_S = 30.0
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ChannelName(StrEnum):
    """Where a digest is delivered: ``email`` or ``slack`` (the ``--send`` values)."""

    EMAIL = "email"
    SLACK = "slack"


@dataclass(frozen=True)
class SmtpSettings:
    """An SMTP submission server. ``tls``: ``implicit`` (``smtps://``), ``starttls`` or ``none``;
    ``timeout`` in seconds (connect and each command). The password never appears in ``repr``."""

    host: str
    port: int
    tls: str
    username: str | None
    password: str | None = field(repr=False)
    sender: Address
    timeout: float = DEFAULT_TIMEOUT_S


@dataclass(frozen=True)
class SlackSettings:
    """A Slack destination: a bot token (direct messages through ``api_url``) or an incoming webhook
    URL; the bot token wins when both are set. Neither appears in ``repr``."""

    bot_token: str | None = field(repr=False)
    webhook_url: str | None = field(repr=False)
    api_url: str = DEFAULT_SLACK_API_URL
    timeout: float = DEFAULT_TIMEOUT_S


def _bool(name: str, value: str) -> bool:
    low = value.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ConfigError(f"{SMTP_URL_ENV}: {name}={value!r} is not true or false")


def parse_smtp_url(url: str, sender: str | None = None) -> SmtpSettings:
    """``smtp://user:pass@host:port?starttls=true`` (see the module docstring) as :class:`SmtpSettings`,
    with ``sender`` (``FOLLOWTHROUGH_MAIL_FROM``) as its ``From``. :class:`ConfigError` (the password
    masked) for a URL that is not one."""
    parts = urlsplit(url.strip())
    if parts.password:
        remember(unquote(parts.password))
        remember(parts.password)
    if parts.scheme not in ("smtp", "smtps"):
        got = f" (got {parts.scheme}://...)" if parts.scheme else ""
        raise ConfigError(f"{SMTP_URL_ENV} must start with smtp:// or smtps://{got}")
    if not parts.hostname:
        raise ConfigError(f"{SMTP_URL_ENV} names no host: use smtp://user:password@host:port")
    if not _port_ok(parts):
        raise ConfigError(f"{SMTP_URL_ENV} has a port that is not a number from 1 to 65535")
    query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    unknown = sorted(set(query) - {"starttls", "timeout"})
    if unknown:
        names = ", ".join(unknown)
        raise ConfigError(f"{SMTP_URL_ENV}: unknown option(s) {names} (known: starttls, timeout)")
    starttls = _bool("starttls", query.get("starttls", "false"))
    if starttls and parts.scheme == "smtps":
        raise ConfigError(f"{SMTP_URL_ENV}: smtps:// is TLS from the start; starttls=true is for smtp://")
    try:
        timeout = float(query.get("timeout", DEFAULT_TIMEOUT_S))
    except ValueError:
        timeout = -1.0
    if not 0 < timeout <= 600:
        raise ConfigError(f"{SMTP_URL_ENV}: timeout must be seconds from 0 to 600")
    tls = "implicit" if parts.scheme == "smtps" else "starttls" if starttls else "none"
    port = parts.port or {"implicit": 465, "starttls": 587}.get(tls, 25)
    return SmtpSettings(
        host=parts.hostname,
        port=port,
        tls=tls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        sender=parse_sender(sender),
        timeout=timeout,
    )


def _port_ok(parts: object) -> bool:
    try:
        port = parts.port  # type: ignore[attr-defined]
    except ValueError:
        return False
    return port is None or 0 < int(port) < 65536


def parse_sender(value: str | None) -> Address:
    """``FOLLOWTHROUGH_MAIL_FROM`` (an RFC 5322 mailbox, with or without a display name) as an
    :class:`~email.headerregistry.Address`; ``followthrough@localhost`` when unset."""
    text = (value or "").strip() or DEFAULT_MAIL_FROM
    header = _Headers()("From", text)
    addresses: tuple[Address, ...] = tuple(getattr(header, "addresses", ()))
    if len(addresses) != 1 or not addresses[0].domain or header.defects:
        raise ConfigError(
            f"{MAIL_FROM_ENV}={text!r} is not one email address (e.g. followthrough@example.com)"
        )
    return addresses[0]


def smtp_settings() -> SmtpSettings | None:
    """The SMTP server from ``FOLLOWTHROUGH_SMTP_URL`` (``None`` when unset)."""
    url = os.environ.get(SMTP_URL_ENV, "").strip()
    if not url:
        return None
    return parse_smtp_url(url, os.environ.get(MAIL_FROM_ENV))


def slack_settings() -> SlackSettings | None:
    """The Slack destination from ``SLACK_BOT_TOKEN`` / ``FOLLOWTHROUGH_SLACK_WEBHOOK_URL`` (``None``
    when neither is set)."""
    token = os.environ.get(SLACK_TOKEN_ENV, "").strip() or None
    webhook = os.environ.get(SLACK_WEBHOOK_ENV, "").strip() or None
    if token is None and webhook is None:
        return None
    remember(token)
    if webhook is not None:
        parts = urlsplit(webhook)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"{SLACK_WEBHOOK_ENV} is not an http(s) URL")
        remember(webhook)
        remember(parts.path.strip("/"))  # the secret part: /services/T…/B…/…
    api_url = os.environ.get(SLACK_API_URL_ENV, "").strip() or DEFAULT_SLACK_API_URL
    if urlsplit(api_url).scheme not in ("http", "https"):
        raise ConfigError(f"{SLACK_API_URL_ENV}={api_url!r} is not an http(s) URL")
    return SlackSettings(
        bot_token=token,
        webhook_url=webhook,
        api_url=api_url if api_url.endswith("/") else api_url + "/",
    )


NOT_CONFIGURED = {
    ChannelName.EMAIL: f"email is not configured: set {SMTP_URL_ENV} (e.g. smtp://user:password@host:587"
    f"?starttls=true) and {MAIL_FROM_ENV}",
    ChannelName.SLACK: f"Slack is not configured: set {SLACK_WEBHOOK_ENV} (an incoming webhook) or "
    f"{SLACK_TOKEN_ENV} (a bot token)",
}
"""The one line said when a channel asked for has no settings."""


def configured() -> list[ChannelName]:
    """The channels that have settings, email first (what ``run --notify`` delivers on)."""
    found = []
    if os.environ.get(SMTP_URL_ENV, "").strip():
        found.append(ChannelName.EMAIL)
    if os.environ.get(SLACK_TOKEN_ENV, "").strip() or os.environ.get(SLACK_WEBHOOK_ENV, "").strip():
        found.append(ChannelName.SLACK)
    return found
