"""A TLS certificate that could not be verified, said the same way by every connector that dials out.

Python's clients bury it several wrappers deep (urllib3's ``MaxRetryError`` around an ``SSLError``
around an ``ssl.SSLCertVerificationError``; ``urllib.error.URLError`` around it for Slack; requests'
``SSLError``); :func:`certificate_failed` finds it anywhere in an exception's causes and arguments,
and :func:`certificate_line` is the one line a user reads instead of a truncated ``repr``, naming the
variable the connector's library reads its trusted CAs from: requests (Salesforce) reads
``REQUESTS_CA_BUNDLE``, and ignores ``SSL_CERT_FILE``; Python's ``ssl`` default context (IMAP,
slack_sdk's urllib, HubSpot's urllib3 without ``ca_certs``) reads ``SSL_CERT_FILE``, and ignores
``REQUESTS_CA_BUNDLE``.
"""

from __future__ import annotations

import ssl

SSL_CERT_FILE = "SSL_CERT_FILE"
"""What Python's ``ssl`` default context (and urllib, urllib3, imaplib on it) reads trusted CAs from."""
REQUESTS_CA_BUNDLE = "REQUESTS_CA_BUNDLE"
"""What requests reads trusted CAs from (it never reads ``SSL_CERT_FILE``)."""


def certificate_failed(error: BaseException) -> bool:
    """Whether ``error`` (or anything it wraps: causes, contexts, ``reason``, arguments) is a failed
    certificate verification."""
    seen: set[int] = set()
    todo: list[object] = [error]
    while todo:
        e = todo.pop()
        if not isinstance(e, BaseException) or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(e):
            return True
        todo.extend([e.__cause__, e.__context__, getattr(e, "reason", None), *e.args])
    return False


def certificate_line(host: str, ca_variable: str = SSL_CERT_FILE) -> str:
    """``certificate verify failed for HOST: set SSL_CERT_FILE to the CA file that signed it, or fix the
    server certificate`` (``ca_variable``: the variable the connector's library honours,
    :data:`SSL_CERT_FILE` or :data:`REQUESTS_CA_BUNDLE`)."""
    return (
        f"certificate verify failed for {host}: set {ca_variable} to the CA file that signed it, "
        "or fix the server certificate"
    )


__all__ = ["REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "certificate_failed", "certificate_line"]
