"""Digests by email: one RFC 5322 ``multipart/alternative`` message per owner (plain text, then HTML),
built with :class:`email.message.EmailMessage` and submitted with :mod:`smtplib` (the standard
library's SMTP client: plain, STARTTLS or implicit TLS, AUTH), over one connection per run.

A server that cannot be reached, refuses the login or the TLS handshake fails every message of the
run with the same line (tried once, not once per owner); a recipient the server refuses fails that
message only.
"""

from __future__ import annotations

import smtplib
import ssl
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from followthrough.notify import render
from followthrough.notify.base import Channel, DeliveryFailed
from followthrough.notify.digest import OwnerDigest
from followthrough.notify.settings import ChannelName, SmtpSettings


def message(digest: OwnerDigest, sender: Address) -> EmailMessage:
    """``digest`` as an email from ``sender`` to its owner: text and HTML alternatives, a ``Date``,
    a ``Message-ID`` at the sender's domain, and ``Auto-Submitted: auto-generated`` (RFC 3834)."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = Address(display_name=digest.person.name or "", addr_spec=digest.email)
    msg["Subject"] = render.subject(digest)
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid("followthrough", domain=sender.domain or None)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(render.text_body(digest))
    msg.add_alternative(render.html_body(digest), subtype="html")
    return msg


class EmailChannel(Channel):
    """Sends each owner's digest to their email address through the SMTP server of ``settings``."""

    name = ChannelName.EMAIL

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None
        self._broken: str | None = None

    def _where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    def _connect(self) -> smtplib.SMTP:
        if self._smtp is not None:
            return self._smtp
        if self._broken is not None:
            raise DeliveryFailed(self._broken)
        cfg = self.settings
        context = ssl.create_default_context()
        smtp: smtplib.SMTP | None = None
        try:
            if cfg.tls == "implicit":
                smtp = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout, context=context)
            else:
                smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
            smtp.ehlo_or_helo_if_needed()
            if cfg.tls == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if cfg.username:
                smtp.login(cfg.username, cfg.password or "")
        except smtplib.SMTPAuthenticationError as e:
            self._broken = f"SMTP server {self._where()} refused the login ({e.smtp_code})"
        except smtplib.SMTPNotSupportedError as e:
            self._broken = f"SMTP server {self._where()}: {e} (check ?starttls= in the URL)"
        except (smtplib.SMTPException, ssl.SSLError, OSError) as e:
            self._broken = f"cannot reach SMTP server {self._where()}: {_reason(e)}"
        if self._broken is not None:
            if smtp is not None:
                _quietly_close(smtp)
            raise DeliveryFailed(self._broken)
        assert smtp is not None
        self._smtp = smtp
        return smtp

    def send(self, digest: OwnerDigest) -> None:
        """Submit ``digest``'s message; :class:`DeliveryFailed` when the server did not accept it."""
        smtp = self._connect()
        msg = message(digest, self.settings.sender)
        try:
            refused = smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as e:
            code, why = next(iter(e.recipients.values()), (0, b""))
            raise DeliveryFailed(f"SMTP server refused {digest.email}: {code} {_text(why)}") from e
        except smtplib.SMTPResponseException as e:
            answer = f"{e.smtp_code} {_text(e.smtp_error)}"
            raise DeliveryFailed(f"SMTP server {self._where()} answered {answer}") from e
        except (smtplib.SMTPException, OSError) as e:
            self._smtp = None
            _quietly_close(smtp)
            self._broken = f"SMTP server {self._where()} failed: {_reason(e)}"
            raise DeliveryFailed(self._broken) from e
        if refused:
            raise DeliveryFailed(f"SMTP server refused {digest.email}")

    def close(self) -> None:
        if self._smtp is not None:
            smtp, self._smtp = self._smtp, None
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                _quietly_close(smtp)
        self._broken = None


def _text(raw: bytes | str) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def _reason(e: BaseException) -> str:
    text = str(e).strip() or type(e).__name__
    if isinstance(e, smtplib.SMTPResponseException):
        text = f"{e.smtp_code} {_text(e.smtp_error)}"
    return text.splitlines()[0]


def _quietly_close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.close()
    except OSError:
        pass
