"""A TLS certificate that could not be verified, said the same way by every connector that dials out.

Python's clients bury it several wrappers deep (urllib3's ``MaxRetryError`` around an ``SSLError``
around an ``ssl.SSLCertVerificationError``; ``urllib.error.URLError`` around it for Slack; requests'
``SSLError``); :func:`certificate_failed` finds it anywhere in an exception's causes and arguments,
and :func:`certificate_line` is the one line a user reads instead of a truncated ``repr``.
"""

from __future__ import annotations

import ssl

CA_HINT = "set REQUESTS_CA_BUNDLE/SSL_CERT_FILE or fix the server certificate"


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


def certificate_line(host: str) -> str:
    """``certificate verify failed for HOST: set REQUESTS_CA_BUNDLE/SSL_CERT_FILE or fix the server
    certificate``."""
    return f"certificate verify failed for {host}: {CA_HINT}"


__all__ = ["CA_HINT", "certificate_failed", "certificate_line"]
