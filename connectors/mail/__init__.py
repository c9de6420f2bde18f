"""Email helpers behind :mod:`connectors.email`.

- :mod:`connectors.mail.mime`: parse a message, pick and decode its text body.
- :mod:`connectors.mail.html_text`: HTML body to text, quotes as ``>`` lines.
- :mod:`connectors.mail.quotes`: :func:`split_reply`, new text vs quoted history.
- :mod:`connectors.mail.signature`: where the signature starts.
- :mod:`connectors.mail.mbox`: stream the messages of an mbox file.
- :mod:`connectors.mail.threads`: thread ids from References / In-Reply-To.
"""

from connectors.mail.html_text import html_to_text
from connectors.mail.quotes import ReplyParts, split_reply

__all__ = ["ReplyParts", "html_to_text", "split_reply"]
