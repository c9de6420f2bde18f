"""Split an email body into the new text, the quoted history and the signature.

Each line is marked ``e`` (empty), ``q`` (quoted with ``>``), ``s`` (part of a
splitter: an attribution such as "On <date>, <someone> wrote:" in one to three
lines and many languages, "-----Original Message-----", a forwarded-message
marker, or an Outlook "From: / Sent: / To:" header block) or ``t`` (text).

- Quoted lines always go to ``quoted``.
- A splitter followed by unquoted text (Outlook, forwards) starts the history:
  it and everything after it is quoted.
- A splitter followed by a ``>`` block is that block's attribution. Unquoted
  text after the block is new (inline answers, a signature below the quote),
  unless another splitter of the first kind comes later: then the whole tail is
  an older conversation pasted under the reply and is quoted from the first
  attribution on.
- An Outlook header block on the very first lines (nothing written above it) is
  kept as text: it is a pasted header, not a reply boundary.

The signature is then taken off the end of the new text (see
:mod:`connectors.mail.signature`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from connectors.mail.signature import signature_start

_QUOTE = re.compile(r"^[ \t]{0,3}>")

# Verbs that end an attribution line ("... wrote:"), in many languages.
_VERBS = (
    r"wrote|writes|a écrit|a ecrit|escribió|escribio|escreveu|schrieb|schreef|skrev|kirjoitti"
    r"|napisał\(a\)|napisała|napisał|napsal\(a\)|napsal|написал\(а\)|написала|написал|написав"
    r"|pisze|ha scritto|scrisse|írta|yazdı|写道|寫道|님이 작성"
)
# The verb, then perhaps the sender ("skrev Peter <p@x>", "schrieb John <j@x>"), then a colon.
_ATTRIBUTION = re.compile(
    r"(?:^|[\s>\"')])(?:" + _VERBS + r")(?:\s[^:：]{0,150})?\s*[:：]\s*$", re.IGNORECASE
)
# "2022年1月1日(金) 9:00 田中太郎 <t@example.com>:", "Thu, 26 Jun 2014 14:00 +0400 Bob <b@x>:".
_DATE_ADDRESS = re.compile(
    r"^(?:\d|[^\W\d_]{2,9}\.?,? \d).{0,200}[\w.+-]+@[\w-]+(?:\.[\w-]+)+>?\s*[:：]\s*$", re.IGNORECASE
)
# How a multi-line attribution may begin: "On", "Am", "Le", ..., a date or a weekday.
_ATTRIBUTION_START = re.compile(
    r"^(?:-+\s*)?(?:(?:On|Am|Le|Op|El|Il|Em|Den|Der|På|W dniu|Dnia|Dne)\b|\d|[^\W\d_]{2,9}\.?,? \d)",
    re.IGNORECASE,
)
_ORIGINAL = re.compile(
    r"^[\s>]*[-_=*]{2,}\s*(?:original message|reply message|forwarded message|weitergeleitete nachricht"
    r"|ursprüngliche nachricht|originalnachricht|oprindelig meddelelse|videresendt meddelelse"
    r"|message d'origine|message transféré|mensaje original|mensaje reenviado|messaggio originale"
    r"|messaggio inoltrato|originalmeddelande|vidarebefordrat meddelande|opprinnelig melding"
    r"|oorspronkelijk bericht|doorgestuurd bericht|wiadomość oryginalna|oryginalna wiadomość"
    r"|původní zpráva|alkuperäinen viesti|mensagem original|mensagem encaminhada"
    r"|исходное сообщение|пересылаемое сообщение)\s*[-_=*]{2,}\s*$",
    re.IGNORECASE,
)
_FORWARD = re.compile(
    r"^(?:begin forwarded message|anfang der weitergeleiteten nachricht|début du message réexpédié"
    r"|inicio del mensaje reenviado|início da mensagem reencaminhada|inizio messaggio inoltrato)\s*:?\s*$",
    re.IGNORECASE,
)
_HDR_FROM = re.compile(
    r"^\*{0,2}(?:From|Von|De|Van|Fra|Från|Od|Da|От|Lähettäjä|Feladó|Kimden|Remitente|发件人|寄件者|差出人"
    r"|보낸 사람)\*{0,2}\s?[:：]",
    re.IGNORECASE,
)
_HDR_OTHER = re.compile(
    r"^\*{0,2}(?:Sent|Date|To|Subject|Cc|Bcc|Reply-To|Gesendet|Datum|An|Betreff|Envoyé|Objet|À|Enviado"
    r"|Fecha|Para|Asunto|Verzonden|Aan|Onderwerp|Sendt|Til|Emne|Dato|Kopi|Skickat|Till|Ämne|Kopia"
    r"|Wysłano|Data|Do|Temat|DW|Inviato|Oggetto|A|Odesláno|Komu|Předmět|Kopie|Отправлено|Кому|Тема"
    r"|Дата|发送时间|收件人|主题|抄送|送信日時|宛先|件名)\*{0,2}\s?[:：]",
    re.IGNORECASE,
)
_SEPARATOR = re.compile(r"^[-_=\u2012-\u2015]{5,}$")

_MAX_SPLITTER_CHARS = 400  # attribution and header lines are short; skip the rest cheaply
_BLANK = str.maketrans("", "", "\ufeff\u200b\u200c\u200d\u2060")


@dataclass(frozen=True)
class ReplyParts:
    """An email body split in three.

    ``reply`` is the body without the quoted parts, as written (``text``, the
    whitespace between, then ``signature``); ``text`` is ``reply`` without the
    signature. All newlines are ``\\n``.
    """

    text: str
    signature: str
    quoted: str
    reply: str


def normalize_newlines(s: str) -> str:
    """``\\r\\n`` and lone ``\\r`` become ``\\n``."""
    if "\r" not in s:
        return s
    return s.replace("\r\n", "\n").replace("\r", "\n")


def _is_blank(line: str) -> bool:
    if not line.strip():
        return True
    return not line.isascii() and not line.translate(_BLANK).strip()  # ASCII holds no zero-width marks


_COLONS = (":", "：")


def _attribution_len(lines: list[str], kinds: list[str], i: int) -> int:
    """How many lines from ``i`` form an attribution ("On ... wrote:"), or 0."""
    if not any(ln.rstrip().endswith(_COLONS) for ln in lines[i : i + 3]):
        return 0  # an attribution's last line ends with a colon
    for k in (1, 2, 3):
        end = i + k
        if end > len(lines) or any(kinds[j] != "t" for j in range(i, end)):
            return 0
        last = lines[end - 1].rstrip()
        if not last.endswith((":", "：")):
            continue
        # A quoted-printable soft break may split the verb ("w=\nrote:") in bodies
        # that were never decoded; join such windows too.
        window = " ".join(ln.strip() for ln in lines[i:end]).replace("= ", "")
        if len(window) > _MAX_SPLITTER_CHARS:
            return 0
        if not (_ATTRIBUTION.search(window) or _DATE_ADDRESS.match(window)):
            continue
        if k == 1:
            return 1
        # Several lines: the first must open an attribution and no later line may.
        if _ATTRIBUTION_START.match(lines[i].strip()) and not any(
            _ATTRIBUTION_START.match(lines[j].strip()) and lines[j].strip()[:2].isalpha()
            for j in range(i + 1, end)
        ):
            return k
    return 0


def _header_block_len(lines: list[str], kinds: list[str], i: int) -> int:
    """Lines of an Outlook-style "From: / Sent: / To: / Subject:" block at ``i``, or 0."""
    first = lines[i].strip()
    if not _HDR_FROM.match(first) and not _HDR_OTHER.match(first):
        return 0
    has_from = bool(_HDR_FROM.match(first))
    fields = 1
    end = i + 1
    while end < len(lines) and end - i < 12 and kinds[end] == "t":
        s = lines[end].strip()
        if _HDR_FROM.match(s):
            has_from = True
            fields += 1
        elif _HDR_OTHER.match(s):
            fields += 1
        elif fields < 2 and end - i > 2:
            break
        end += 1
    if has_from and fields >= 2:
        return end - i
    return 0


def _mark(lines: list[str]) -> tuple[list[str], list[tuple[int, int]]]:
    kinds = ["e" if _is_blank(ln) else "q" if _QUOTE.match(ln) else "t" for ln in lines]
    # A scrap of a hard-wrapped quoted line ("om>", ",") between two quoted lines is quoted too.
    for i in range(1, len(lines) - 1):
        if kinds[i] == "t" and kinds[i - 1] == "q" and kinds[i + 1] == "q" and len(lines[i].strip()) <= 3:
            kinds[i] = "q"
    spans: list[tuple[int, int]] = []
    seen_text = False
    i = 0
    n = len(lines)
    while i < n:
        if kinds[i] != "t":
            i += 1
            continue
        s = lines[i].strip()
        size = 0
        if len(s) <= _MAX_SPLITTER_CHARS:
            if _ORIGINAL.match(s) or _FORWARD.match(s):
                size = 1
            elif ":" in s[:25] or "：" in s[:25]:
                size = _header_block_len(lines, kinds, i)
                if size and not seen_text:
                    # A pasted header on the first lines is not a reply boundary.
                    i += size
                    seen_text = True
                    continue
            if not size:
                size = _attribution_len(lines, kinds, i)
        if size:
            start = i
            # A separator line ("_____", "-----") just above an Outlook block belongs to it.
            j = i - 1
            while j >= 0 and kinds[j] == "e":
                j -= 1
            if j >= 0 and kinds[j] == "t" and _SEPARATOR.match(lines[j].strip()):
                start = j
            for k in range(start, i + size):
                kinds[k] = "s"
            spans.append((start, i + size))
            i += size
            continue
        seen_text = True
        i += 1
    return kinds, spans


def _next_kind(kinds: list[str], i: int) -> str:
    while i < len(kinds) and kinds[i] == "e":
        i += 1
    return kinds[i] if i < len(kinds) else ""


# Markers mobile clients glue to the text around them: "thanks!Sent from my Galaxy",
# "-------- Original message --------From: ...". Each gets a line of its own before splitting.
_MARKER = (
    r"(?:sent from my\b|get outlook for\b|[-_=]{4,}\s*(?:original message|forwarded message|reply message"
    r"|message d'origine|mensaje original|ursprüngliche nachricht|messaggio originale)\s*[-_=]{4,})"
)
_GLUED_BEFORE = re.compile(r"(?<=[^\s\-_=>])[ \t]*(?=" + _MARKER + r")", re.IGNORECASE)
_GLUED_AFTER = re.compile(r"(?<=[-_=]{4})[ \t]*(?=(?:From|De|Von|Da|Van|Fra|Från|Od)\s*:)", re.IGNORECASE)
_HEADER_RUN = re.compile(r"(?<=\S)[ \t]+(?=(?:Date|Sent|To|Cc|Subject)\s*:\s)")
_MAYBE_GLUED = re.compile(r"sent from my|get outlook for|[-_=]{4}", re.IGNORECASE)
"""What every glued marker holds (:data:`_MARKER`, :data:`_GLUED_AFTER`): one scan that rules out
most bodies, cheaper than the two lookbehind patterns tried at every position."""


def unglue_markers(body: str) -> str:
    """``body`` with each reply marker glued to other text put on a line of its own.

    An Outlook-style header run on that marker's line ("From: A Date: 3/9/26 To: b Subject: x")
    is opened into one header per line, so the splitter sees a header block.
    """
    if not _MAYBE_GLUED.search(body) or (not _GLUED_BEFORE.search(body) and not _GLUED_AFTER.search(body)):
        return body
    out: list[str] = []
    for line in _GLUED_AFTER.sub("\n", _GLUED_BEFORE.sub("\n", body)).split("\n"):
        if _HDR_FROM.match(line.strip()):
            line = _HEADER_RUN.sub("\n", line)
        out.append(line)
    return "\n".join(out)


def split_reply(body: str) -> ReplyParts:
    """Split ``body`` (plain text) into new text, quoted history and signature.

    Never raises; a body with nothing quoted comes back whole in ``reply``.
    """
    lines = unglue_markers(normalize_newlines(body)).split("\n")
    kinds, spans = _mark(lines)

    # The first splitter that is not followed by a quote block, or that has such a
    # splitter after it, starts the history.
    cut = len(lines)
    rest_quote_only = True
    for a, b in reversed(spans):
        quote_only = _next_kind(kinds, b) == "q"
        if not quote_only or not rest_quote_only:
            cut = a
        rest_quote_only = rest_quote_only and quote_only

    kept: list[str] = []
    quoted: list[str] = []
    gap = False
    last_quoted = -2
    for i, line in enumerate(lines):
        kind = kinds[i]
        if i >= cut or kind in "qs":
            if last_quoted != i - 1 and quoted:
                quoted.append("")
            quoted.append(line)
            last_quoted = i
            gap = bool(kept)
            continue
        if gap:
            if kind == "e":
                continue
            if not _is_blank(kept[-1]):
                kept.append("")
            gap = False
        kept.append(line)

    first = next((i for i, ln in enumerate(kept) if not _is_blank(ln)), len(kept))
    last = next((i for i in range(len(kept) - 1, -1, -1) if not _is_blank(kept[i])), -1)
    kept = kept[first : last + 1]
    sig = signature_start(kept)
    body_lines = kept if sig is None else kept[:sig]
    text = "\n".join(body_lines).strip()
    signature = "" if sig is None else "\n".join(kept[sig:]).strip()
    return ReplyParts(
        text=text,
        signature=signature,
        quoted="\n".join(quoted).strip("\n"),
        reply="\n".join(kept).strip(),
    )
