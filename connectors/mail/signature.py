"""Find where the signature starts in the new text of an email.

A signature is a tail of the reply: the RFC 3676 delimiter ``-- `` and what
follows, a "Sent from my iPhone" line, a sign-off block ("Thanks,\\nName\\n
Title\\nPhone"), a "-Name" or "/Name" line, a separator line followed by a
contact block or a mailing-list footer, or a disclaimer. Each kind of start
only counts when what follows it looks like a signature (few, short lines), so
"Thank you, Sonya." at the top of a message or "Sent from my desk, is much
easier" stay in the text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# RFC 3676 "-- " and the common bare "--".
_DELIMITER = re.compile(r"^--\s*$")

# Mobile and mail-app footers, in several languages.
_MOBILE = re.compile(
    r"^(?:"
    r"sent from (?:my |a |an |the )?[\w .'&-]{1,40}"
    r"|sent from my [\w .'&-]{1,30}, (?:samsung|galaxy|apple|iphone|ipad|android|motorola|google|pixel|huawei"
    r"|xiaomi|oneplus|nokia|blackberry|sony|lg)[\w .'&-]{0,40}"
    r"|sent with [\w .'-]{1,30}(?:\s*\(\S+\))?"
    r"|sent via [\w .'-]{1,30}"
    r"|get outlook for [\w .'-]{1,20}(?:<\S+>)?"
    r"|(?:gesendet|envoyé|enviado|inviato|verzonden|sendt|skickat|wysłano|odesláno|enviada|отправлено)"
    r" (?:von|de|desde|da|vanaf|fra|från|z|z mého|с)\b[\w .'-]{1,40}"
    r"|von meinem [\w .'-]{1,30} gesendet"
    r"|(?:iphone|ipad|android)から送信"
    r")$",
    re.IGNORECASE,
)

_SIGN_OFF_PHRASES = (
    # English
    "thanks",
    "thanks again",
    "thanks so much",
    "thanks a lot",
    "thanks in advance",
    "many thanks",
    "thank you",
    "thank you very much",
    "thank you so much",
    "thx",
    "cheers",
    "best",
    "best regards",
    "best wishes",
    "kind regards",
    "kindest regards",
    "warm regards",
    "warmest regards",
    "regards",
    "with regards",
    "all the best",
    "sincerely",
    "yours sincerely",
    "sincerely yours",
    "yours truly",
    "yours",
    "respectfully",
    "cordially",
    "br",
    "rgds",
    "talk soon",
    "take care",
    # German
    "mit freundlichen grüßen",
    "mit freundlichen grüssen",
    "freundliche grüße",
    "viele grüße",
    "viele grüsse",
    "beste grüße",
    "liebe grüße",
    "herzliche grüße",
    "grüße",
    "gruß",
    "gruss",
    "mfg",
    "lg",
    # French
    "cordialement",
    "bien cordialement",
    "bien à vous",
    "salutations",
    "amicalement",
    "merci",
    "merci beaucoup",
    # Spanish, Portuguese, Italian
    "saludos",
    "un saludo",
    "atentamente",
    "cordialmente",
    "gracias",
    "muchas gracias",
    "un abrazo",
    "atenciosamente",
    "obrigado",
    "obrigada",
    "abraços",
    "cumprimentos",
    "cordiali saluti",
    "distinti saluti",
    "saluti",
    "grazie",
    # Dutch
    "met vriendelijke groet",
    "met vriendelijke groeten",
    "vriendelijke groet",
    "hartelijke groeten",
    "groeten",
    "groet",
    "mvg",
    "bedankt",
    "dank u",
    "dank je",
    # Nordic
    "med venlig hilsen",
    "venlig hilsen",
    "med vennlig hilsen",
    "vennlig hilsen",
    "hilsen",
    "bedste hilsner",
    "de bedste hilsner",
    "mvh",
    "vh",
    "kh",
    "knus",
    "tak",
    "med vänliga hälsningar",
    "med vänlig hälsning",
    "vänliga hälsningar",
    "vänlig hälsning",
    "bästa hälsningar",
    "hälsningar",
    "tack",
    # Polish, Czech, Russian
    "pozdrawiam",
    "serdecznie pozdrawiam",
    "z poważaniem",
    "z powazaniem",
    "s pozdravem",
    "děkuji",
    "с уважением",
    "спасибо",
    # Japanese, Chinese
    "以上、よろしくお願いいたします",
    "よろしくお願いいたします",
    "よろしくお願いします",
    "此致",
    "谢谢",
    "祝好",
)
# The phrase is matched case-insensitively; an optional name after it ("Cheers,
# Martin.") must be capitalised so that "Thanks for everything" is no sign-off.
_PHRASE = r"(?i:" + "|".join(re.escape(p) for p in sorted(_SIGN_OFF_PHRASES, key=len, reverse=True)) + r")"
# "Viele Grüße / best regards," counts too.
_SIGN_OFF = re.compile(
    r"^" + _PHRASE + r"(?:[,.!]?\s*/\s*" + _PHRASE + r")?[,.!:;。、]*(?:\s+[A-Z][\w.'-]*){0,3}[,.!]?$"
)

# "-Abhishek Kona", "--Barb", "/John", "- Maarten de Jong".
_DASH_NAME = re.compile(
    r"^(?:-{1,2}\s?|/)[A-Z][\w.'-]*"
    r"(?:\s+(?:[A-Z][\w.'-]*|de|van|der|den|von|da|di|le|la|du|dos|del)){0,3}\s*$"
)
# "_____", "-----", "=====", "~~~~" lines.
_SEPARATOR = re.compile(r"^[-_=~*]{4,}$")
_DISCLAIMER = re.compile(
    r"^[*\s]*(?:disclaimer|confidentiality notice|confidential(?:ity)? note|legal notice|privileged"
    r"(?: and|/) confidential|haftungsausschluss|avertissement)\b[*:\s]*$",
    re.IGNORECASE,
)

_MAX_SIG_LINE = 100
_MAX_TAIL = 40  # the longest tail any kind of signature start accepts
_MAX_SIG_WORDS = 12


# Lines a signature block never holds: a postscript, a promise or an ask.
_NOT_SIGNATURE = re.compile(
    r"^p\.?\s?p?\.?\s?s\b|\b(?:i'll|i will|we'll|we will|i'm going to|let me|can you|could you|please)\b",
    re.IGNORECASE,
)


def _sigish(line: str) -> bool:
    """A line that could sit in a signature block: short, no question, no promise."""
    s = line.strip().replace("\u2019", "'")
    return (
        len(s) <= _MAX_SIG_LINE
        and len(s.split()) <= _MAX_SIG_WORDS
        and not s.endswith("?")
        and not _NOT_SIGNATURE.search(s)
    )


def _tail_ok(lines: Sequence[str], start: int, max_lines: int, check: bool = True) -> bool:
    tail = [ln for ln in lines[start + 1 :] if ln.strip()]
    if len(tail) > max_lines:
        return False
    return not check or all(_sigish(ln) for ln in tail)


def signature_start(lines: Sequence[str]) -> int | None:
    """Index of the first line of the signature in ``lines``, or ``None``.

    The earliest line that starts a plausible signature wins, so a sign-off
    ("Thanks,") before a separator and a contact block takes the whole block.
    A signature never starts on the first non-empty line: a message that is
    only "Thanks!" keeps it as its text.
    """
    first = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if first is None:
        return None
    # No signature is longer than _MAX_TAIL non-empty lines: look only at the end.
    start, seen = len(lines), 0
    while start > first + 1 and seen <= _MAX_TAIL:
        start -= 1
        seen += bool(lines[start].strip())
    for i in range(start, len(lines)):
        s = lines[i].strip()
        if not s or len(s) > _MAX_SIG_LINE:
            continue
        if _DELIMITER.match(s):
            if _tail_ok(lines, i, 30, check=False):
                return i
        elif _MOBILE.match(s):
            if _tail_ok(lines, i, 3):
                return i
        elif _SIGN_OFF.match(s):
            if _tail_ok(lines, i, 8):
                return i
        elif _DASH_NAME.match(s):
            if _tail_ok(lines, i, 12):
                return i
        elif _SEPARATOR.match(s):
            if i + 1 < len(lines) and _tail_ok(lines, i, 12):
                return i
        elif _DISCLAIMER.match(s) and _tail_ok(lines, i, 40, check=False):
            return i
    return None
