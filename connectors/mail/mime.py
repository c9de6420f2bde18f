"""Read one RFC 5322 message: headers, the body as text, attachments, the date.

Parsing uses the standard ``email`` package. Its ``compat32`` policy is used
rather than ``policy.default``: the modern header objects made parsing about
ten times slower (under 300 messages a second on real mail), and every header
this connector needs is decoded here explicitly (RFC 2047 words, 8-bit bytes,
addresses with ``email.utils``). Text is decoded from its declared charset; a
wrong or unknown charset falls back to UTF-8 and then to charset-normalizer's
guess, so decoding never fails. A declared single-byte charset never fails, so
it is checked for plausibility (see :func:`decode_text`), and mojibake already
in the text is repaired (see :func:`repair_mojibake`). A problem that makes the message unreadable
raises :class:`MessageProblem` with words for the user; the connector turns it
into an ``InputError``.
"""

from __future__ import annotations

import codecs
import email.utils
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from functools import lru_cache
from typing import Protocol

from connectors.mail.html_text import html_to_text
from connectors.mail.quotes import normalize_newlines
from followthrough.limits import (
    MAX_BODY_CHARS,
    MAX_MIME_DEPTH,
    MAX_MIME_PARTS,
    MAX_PART_CHARS,
    MAX_PARTICIPANTS,
)

_KEY_HEADERS = ("from", "to", "subject", "date", "message-id", "received", "mime-version", "return-path")
_SURROGATE = re.compile("[\udc80-\udcff]")
_MSGID = re.compile(r"<[^<>\s]+>")
_PARSER = BytesParser(policy=compat32)


class RawHeaders(Protocol):
    """What header lookups need: a ``Message``, or a :class:`~connectors.mail.header_block.HeaderBlock`."""

    def raw_items(self) -> Iterable[tuple[str, object]]: ...


class MessageProblem(Exception):
    """A message cannot be read; ``str()`` says why in a user's words."""


@dataclass
class Body:
    """The text body chosen from a message and what was learnt on the way."""

    text: str
    content_type: str
    charset: str | None = None
    charset_fallback: str | None = None
    mojibake_repaired: bool = False
    truncated: bool = False
    attachments: list[str] = field(default_factory=list)


def parse_bytes(data: bytes) -> Message:
    """Parse raw message bytes; bad mail becomes defects, not errors.

    Raises :class:`MessageProblem` for parts nested deeper than
    :data:`~followthrough.limits.MAX_MIME_DEPTH` (multiparts and attached messages alike) or more
    than :data:`~followthrough.limits.MAX_MIME_PARTS` of them, and ``RecursionError`` when they
    nest too deep for the parser itself.
    """
    msg = _PARSER.parsebytes(data)
    problem = _over_limits(msg, MAX_MIME_DEPTH, MAX_MIME_PARTS)
    if problem is not None:
        raise MessageProblem(problem)
    return msg


def too_deep() -> str:
    """What the user is told about a message whose parts nest past the limit."""
    return f"MIME parts nested more than {MAX_MIME_DEPTH} levels deep (the limit); not read"


def too_many_parts() -> str:
    """What the user is told about a message with more parts than the limit."""
    return f"more than {MAX_MIME_PARTS:,} MIME parts (the limit); not read"


def _over_limits(msg: Message, depth_limit: int, parts_limit: int) -> str | None:
    """Why ``msg`` is refused: its parts (sub-parts of multiparts, messages attached as
    ``message/*``) nest more than ``depth_limit`` levels below it, or number more than
    ``parts_limit``; ``None`` when neither. Walks each part once, without recursion."""
    stack: list[tuple[Message, int]] = [(msg, 0)]
    parts = 0
    while stack:
        part, depth = stack.pop()
        if depth > depth_limit:
            return too_deep()
        parts += 1
        if parts > parts_limit:
            return too_many_parts()
        payload = part.get_payload()
        if isinstance(payload, list):
            stack.extend((child, depth + 1) for child in payload if isinstance(child, Message))
    return None


def looks_binary(head: bytes) -> bool:
    """True when a file's first bytes are not text: NUL bytes in more than 1 in 100 of them
    (images, archives, UTF-16), or many control bytes.

    A stray NUL in a text message is no reason to lose the message: it is read, and its
    body drops the NUL (see ``_part_text``; no mail client shows one, no database keeps one).
    """
    if not head:
        return False
    if head.count(b"\x00") * 100 > len(head):
        return True
    controls = len(head.translate(None, _NOT_CONTROL))  # the control bytes that are left
    return controls > len(head) // 20


_NOT_CONTROL = bytes(b for b in range(256) if not (b < 32 and b not in (9, 10, 12, 13, 27)))
"""Every byte but the control bytes that text does not hold (tab, newlines, form feed, escape are text)."""


def has_headers(msg: Message) -> bool:
    """True when the message carries at least one header a real email has."""
    return any(k.lower() in _KEY_HEADERS for k in msg.keys())


def _raw_header(msg: RawHeaders, name: str) -> str | None:
    lname = name.lower()
    for key, value in msg.raw_items():
        if key.lower() == lname:
            return str(value)
    return None


def _undo_surrogates(raw: str) -> str:
    """Header bytes that were not ASCII come through as surrogate escapes: decode them."""
    if not _SURROGATE.search(raw):
        return raw
    return decode_text(raw.encode("ascii", "surrogateescape"), None)[0]


def decode_words(raw: str) -> str:
    """Decode RFC 2047 encoded words; a broken word is kept as written, and so is what follows the
    first :data:`ENCODED_CHARS` characters of a value that has any (cut at white space)."""
    raw = _undo_surrogates(raw)
    if "=?" not in raw:
        return repair_mojibake(raw)[0]
    rest = ""
    if len(raw) > ENCODED_CHARS:
        cut = max(raw.rfind(" ", 0, ENCODED_CHARS), raw.rfind("\t", 0, ENCODED_CHARS))
        cut = cut if cut > 0 else ENCODED_CHARS
        raw, rest = raw[:cut], raw[cut:]
    try:
        return repair_mojibake(str(make_header(decode_header(raw))))[0] + rest
    except (LookupError, UnicodeError, ValueError, HeaderParseError):
        return raw + rest


ENCODED_CHARS = 16_000
"""Encoded words are decoded in a header's first this many characters. The standard library's
decoder is quadratic in the words of one value (a list popped from its front): 200,000 of them took
a minute; a subject or a name is read in the first few hundred characters."""


def header_text(msg: RawHeaders, name: str) -> str | None:
    """A header's decoded text with whitespace folded, or ``None`` if absent."""
    raw = _raw_header(msg, name)
    if raw is None:
        return None
    return " ".join(decode_words(raw).split())


def addresses(msg: Message, name: str) -> list[tuple[str | None, str | None]]:
    """(display name, lowercased address) for every mailbox in an address header."""
    lname = name.lower()
    raws = _within(tuple(str(v) for k, v in msg.raw_items() if k.lower() == lname))
    if not raws:
        return []
    if sum(map(len, raws)) <= _CACHED_ADDRESS_CHARS:
        return list(_mailboxes_cached(raws))
    return list(_mailboxes(raws))


ADDRESS_CHARS = 100 * MAX_PARTICIPANTS
"""An address header is parsed up to here, cut after the last comma before it: room for more mailboxes
than a message keeps (:data:`~followthrough.limits.MAX_PARTICIPANTS`) at 100 characters each."""


def _within(raws: tuple[str, ...]) -> tuple[str, ...]:
    """The raw values of one header up to :data:`ADDRESS_CHARS` in all, the last cut after its last
    comma before the limit (a mailbox cut in two is no mailbox)."""
    if sum(map(len, raws)) <= ADDRESS_CHARS:
        return raws
    kept: list[str] = []
    room = ADDRESS_CHARS
    for raw in raws:
        if len(raw) > room:
            cut = raw.rfind(",", 0, room)
            if cut > 0:
                kept.append(raw[:cut])
            break
        kept.append(raw)
        room -= len(raw)
    return tuple(kept)


_CACHED_ADDRESS_CHARS = 2_000
"""Address headers up to this many characters are parsed once per process and reused: a mailbox
names the same few people again and again; a longer value is parsed each time (no cache holds it)."""


def _mailboxes(raws: tuple[str, ...]) -> tuple[tuple[str | None, str | None], ...]:
    """What :func:`addresses` gives for the raw values of one header."""
    out: list[tuple[str | None, str | None]] = []
    for display, addr in email.utils.getaddresses([_undo_surrogates(r) for r in raws]):
        name_text: str | None = " ".join(decode_words(display).split()).strip("'\" ") or None
        addr_text: str | None = addr.strip().strip("<>").lower() or None
        if addr_text is None and name_text is None:
            continue
        if addr_text is not None and "@" not in addr_text and name_text is None:
            continue  # a group's name ("undisclosed-recipients:;") or other debris
        if name_text is not None and addr_text is not None and name_text.lower() == addr_text:
            name_text = None  # "bob@x.org" <bob@x.org>
        out.append((name_text, addr_text))
    return tuple(out)


_mailboxes_cached = lru_cache(maxsize=4096)(_mailboxes)


def message_ids(value: str | None) -> list[str]:
    """Every ``<id>`` in a References / In-Reply-To value, in order."""
    return _MSGID.findall(value) if value else []


def parse_date(value: str | None) -> datetime | None:
    """A timezone-aware datetime from an RFC 5322 date, or ``None`` if unreadable."""
    if not value:
        return None
    try:
        dt = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if dt is None:
        return None
    if dt.tzinfo is None or dt.utcoffset() is None:
        dt = dt.replace(tzinfo=UTC)  # "-0000": the zone is unknown; read it as UTC
    return dt


def received_date(msg: Message) -> datetime | None:
    """The date the first hop stamped on the message (the last Received header)."""
    received = [str(v) for k, v in msg.raw_items() if k.lower() == "received"]
    for value in reversed(received):
        if ";" in value:
            dt = parse_date(value.rsplit(";", 1)[1].strip())
            if dt is not None:
                return dt
    return None


@lru_cache(maxsize=128)
def _single_byte(charset: str) -> bool:
    """True for a charset that maps every byte to one character (cp1252, iso-8859-*, koi8-r, ascii).

    Such a charset decodes any bytes (almost) without error, so a wrong label is never noticed.
    """
    try:
        name = codecs.lookup(charset).name
    except LookupError:
        return False
    if name.startswith("utf"):
        return False
    try:
        return len(bytes(range(0x80, 0x100)).decode(name, errors="replace")) == 0x80
    except (LookupError, UnicodeError, ValueError, TypeError):
        return False


def _is_utf8_multibyte(data: bytes) -> bool:
    """True when ``data`` is valid UTF-8 with at least one multi-byte sequence."""
    if data.isascii():
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def decode_text(data: bytes, declared: str | None) -> tuple[str, str | None]:
    """Decode ``data``; returns the text and the charset used when ``declared`` was wrong.

    A single-byte ``declared`` charset (windows-1252, iso-8859-1, us-ascii...) is only
    trusted when the bytes are not valid UTF-8 with multi-byte sequences: UTF-8 read as
    windows-1252 never raises, it turns "I’ll" into "Iâ€™ll". Real windows-1252 or
    latin-1 text (a lone 0x92 or 0xE9 between ASCII letters) is never valid UTF-8, so
    it keeps its charset. The check uses the standard library (``codecs`` and a strict
    UTF-8 decode); charset-normalizer only guesses when neither the declared charset
    nor UTF-8 decodes the bytes.
    """
    if declared:
        try:
            codecs.lookup(declared)
            text = data.decode(declared)
        except (LookupError, UnicodeDecodeError, ValueError):
            pass
        else:
            if _single_byte(declared) and _is_utf8_multibyte(data):
                return data.decode("utf-8"), "utf-8"
            return text, None
    try:
        text = data.decode("utf-8")
        return text, (None if declared is None else "utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes  # here: most mail never needs a guess (14 ms to import)

    best = from_bytes(data[: 1 << 20]).best()
    encoding = best.encoding if best is not None else "cp1252"
    try:
        return data.decode(encoding, errors="replace"), encoding
    except LookupError:
        return data.decode("cp1252", errors="replace"), "cp1252"


def _mojibake_tables() -> tuple[re.Pattern[str], dict[str, int]]:
    """A pattern for UTF-8 sequences shown as windows-1252 / latin-1 text, and char -> byte."""
    to_byte: dict[str, int] = {}
    for b in range(0x80, 0x100):
        raw = bytes([b])
        for charset in ("cp1252", "latin-1"):  # bytes cp1252 leaves undefined show as latin-1 controls
            try:
                to_byte.setdefault(raw.decode(charset), b)
            except UnicodeDecodeError:
                continue
    cont = "".join(re.escape(c) for c, b in to_byte.items() if 0x80 <= b <= 0xBF)
    pattern = re.compile(f"[\xc2-\xdf][{cont}]|[\xe0-\xef][{cont}]{{2}}|[\xf0-\xf4][{cont}]{{3}}")
    return pattern, to_byte


_MOJIBAKE, _MOJIBAKE_BYTES = _mojibake_tables()


# What mojibake usually hides: Latin-1, Latin Extended-A, Romanian letters, Greek and Cyrillic
# (2 bytes), Vietnamese letters, punctuation, currency and letterlike symbols such as ’ — € ™
# (3 bytes), emoji (4 bytes). Other characters are more likely genuine text ("Gruß“",
# "voilà\xa0»", "CAFÉ…") than mojibake.
_MOJIBAKE_TARGETS = (
    (0x80, 0x17F),
    (0x1A0, 0x1B0),
    (0x218, 0x21B),
    (0x370, 0x4FF),
    (0x1E00, 0x1EFF),
    (0x2000, 0x206F),
    (0x20A0, 0x20CF),
    (0x2100, 0x215F),
    (0x1F000, 0x1FAFF),
)


def _unmojibake(match: re.Match[str]) -> str:
    seq = match.group(0)
    try:
        char = bytes(_MOJIBAKE_BYTES[c] for c in seq).decode("utf-8")
    except (KeyError, UnicodeDecodeError):
        return seq
    if any(lo <= ord(char) <= hi for lo, hi in _MOJIBAKE_TARGETS):
        return char
    return seq


def repair_mojibake(text: str) -> tuple[str, bool]:
    """Undo UTF-8 that was decoded as windows-1252 or latin-1 ("Iâ€™ll" -> "I’ll", "cafÃ©" -> "café").

    Only a run of characters whose windows-1252 / latin-1 bytes form one valid
    multi-byte UTF-8 sequence for a character mojibake usually hides is replaced,
    so genuine accented text ("café", "naïve", "Gruß“") is left alone and mixed
    text is repaired where it is broken. Done with
    the standard library (``re`` and ``codecs``). Returns the text and whether
    anything changed.
    """
    if text.isascii():
        return text, False
    fixed = _MOJIBAKE.sub(_unmojibake, text)
    return fixed, fixed != text


def _part_text(part: Message) -> tuple[str, str | None, str | None]:
    """A text part's decoded text (NUL characters, which no mail client shows, dropped)."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        payload = str(part.get_payload()).encode("utf-8", "replace")
    declared = part.get_content_charset()
    text, fallback = decode_text(payload, declared)
    return text.replace("\x00", ""), declared, fallback


@dataclass
class _Render:
    """What rendering the displayed parts learnt on the way."""

    shown: list[Message] = field(default_factory=list)
    charset: str | None = None  # of the first part shown
    charset_fallback: str | None = None
    mojibake_repaired: bool = False
    truncated: bool = False

    def show(self, part: Message, charset: str | None, fallback: str | None) -> None:
        if not self.shown:
            self.charset, self.charset_fallback = charset, fallback
        self.shown.append(part)


def _attached(part: Message) -> bool:
    return part.get_content_disposition() == "attachment"


def _leaf_text(part: Message, state: _Render) -> str:
    """Decode one text part; record it as shown when it has text."""
    raw, charset, fallback = _part_text(part)
    if len(raw) > MAX_PART_CHARS:
        raw, state.truncated = raw[:MAX_PART_CHARS], True
    if part.get_content_type() == "text/html":
        text = html_to_text(raw)
    else:
        text = normalize_newlines(raw)
        if part.get_param("format") == "flowed":
            text = unflow(text, delsp=str(part.get_param("delsp", "no")).lower() == "yes")
    text, repaired = repair_mojibake(text)
    if text.strip():
        state.show(part, charset, fallback)
        state.mojibake_repaired = state.mojibake_repaired or repaired
    return text


def _render(part: Message, state: _Render, depth: int = 0) -> list[str]:
    """The texts a mail client shows for ``part``, in order.

    multipart/alternative shows one child: the text/plain one, else the last
    (richest) one that has text; other multiparts show every inline child, so
    a body split around an inline image keeps both halves. Attachments and
    attached messages (message/rfc822) are not shown.
    """
    if _attached(part) or depth > MAX_MIME_DEPTH:
        return []
    if part.get_content_maintype() == "message":
        return []
    if not part.is_multipart():
        if part.get_content_type() not in ("text/plain", "text/html"):
            return []
        if state.shown and part.get_filename():
            return []  # a named text file after the body is an attachment shown inline
        text = _leaf_text(part, state)
        return [text] if text.strip() else []
    payload = part.get_payload()
    children = [c for c in payload if isinstance(c, Message)] if isinstance(payload, list) else []
    if part.get_content_subtype() == "alternative":
        plain = [c for c in children if c.get_content_type() == "text/plain"]
        others = [c for c in reversed(children) if c.get_content_type() != "text/plain"]
        for child in plain + others:
            texts = _render(child, state, depth + 1)
            if texts:
                return texts
        return []
    out: list[str] = []
    for child in children:
        out.extend(_render(child, state, depth + 1))
    return out


def _attachments(msg: Message, shown: list[Message]) -> list[str]:
    """Names (or content types) of the attached files and messages."""
    names: list[str] = []
    seen = {id(s) for s in shown}  # by identity: a list scan per part was quadratic in the parts
    stack = [msg]
    while stack:
        part = stack.pop()
        ctype = part.get_content_type()
        if part.is_multipart() and part.get_content_maintype() != "message":
            payload = part.get_payload()
            if isinstance(payload, list):
                stack.extend(reversed([c for c in payload if isinstance(c, Message)]))
            continue
        if id(part) in seen:
            continue
        filename = part.get_filename()
        if filename or _attached(part) or part.get_content_maintype() not in ("text", "multipart"):
            names.append(str(filename) if filename else ctype)
    return names


def extract_body(msg: Message) -> Body:
    """The message's text: text/plain preferred, else HTML turned into text.

    Raises :class:`MessageProblem` when there is no text body at all.
    """
    state = _Render()
    if not msg.is_multipart() and msg.get_content_maintype() == "text" and not _attached(msg):
        texts = [_leaf_text(msg, state)]  # text/enriched and friends: still text
    else:
        texts = _render(msg, state)
    attachments = _attachments(msg, state.shown)
    text = "\n\n".join(t.strip("\n") for t in texts)
    if not text.strip():
        if attachments:
            raise MessageProblem(f"message has no text body (only attachments: {', '.join(attachments)})")
        if state.truncated:
            raise MessageProblem(
                f"no text in the first {MAX_PART_CHARS:,} characters of its body (the limit)"
            )
        raise MessageProblem("message has no body")
    if len(text) > MAX_BODY_CHARS:
        text, state.truncated = text[:MAX_BODY_CHARS], True
    return Body(
        text=text,
        content_type=state.shown[0].get_content_type(),
        charset=state.charset,
        charset_fallback=state.charset_fallback,
        mojibake_repaired=state.mojibake_repaired,
        truncated=state.truncated,
        attachments=attachments,
    )


def unflow(text: str, *, delsp: bool = False) -> str:
    """Join RFC 3676 format=flowed soft line breaks (a line ending in a space).

    Linear in ``text``: a paragraph being joined is a list of pieces with its quote depth beside
    it (growing one string line by line, and measuring its depth each time, is quadratic on a
    megabyte of soft breaks).
    """
    out: list[str] = []
    pieces: list[str] = []  # the paragraph being joined
    joined_depth = 0  # its quote depth ("> > " counts 2)
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line
        if pieces and joined_depth != depth:
            out.append("".join(pieces))
            pieces = []
        if pieces:
            content = line[depth:]
            if content.startswith(" "):
                content = content[1:]  # space-stuffing
        if line.endswith(" ") and line.rstrip() != "--" and line.strip():
            if not pieces:
                joined_depth = depth
            pieces.append(content[:-1] if delsp else content)
        else:
            pieces.append(content)
            out.append("".join(pieces))
            pieces = []
    if pieces:
        out.append("".join(pieces))
    return "\n".join(out)


_MESSAGE_TYPES = frozenset({"message/rfc822", "message/global"})


def _reparse(part: Message) -> Message | None:
    """The message inside a ``message/rfc822`` part sent with a base64 / quoted-printable encoding.

    The ``email`` package parses such a part's encoded text as if it were the message itself
    (no headers, a body of base64): decode that body and parse it again.
    """
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else None
    if not isinstance(inner, Message) or inner.keys():
        return inner if isinstance(inner, Message) else None
    encoded = inner.get_payload()
    if not isinstance(encoded, str):
        return None
    carrier = Message()
    carrier["Content-Transfer-Encoding"] = str(part.get("Content-Transfer-Encoding", ""))
    carrier.set_payload(encoded)
    data = carrier.get_payload(decode=True)
    return parse_bytes(data) if isinstance(data, bytes) and data.strip() else None


def attached_messages(msg: Message) -> list[Message]:
    """The messages attached to ``msg`` (forwarded as attachments), in order.

    A ``message/rfc822`` (or RFC 6532 ``message/global``) part, and a file named ``*.eml``
    whose bytes are a message. Messages attached inside an attached message are not
    included: they belong to that message (call this again on it).
    """
    found: list[Message] = []
    stack: list[tuple[Message, int]] = [(msg, 0)]
    while stack:
        part, depth = stack.pop()
        if depth > MAX_MIME_DEPTH:
            continue
        ctype = part.get_content_type()
        if part is not msg and ctype in _MESSAGE_TYPES:
            cte = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
            if cte in ("base64", "quoted-printable"):
                inner = _reparse(part)
            else:
                payload = part.get_payload()
                first = payload[0] if isinstance(payload, list) and payload else None
                inner = first if isinstance(first, Message) else None
            if inner is not None:
                found.append(inner)
            continue
        if part.is_multipart() and part.get_content_maintype() != "message":
            payload = part.get_payload()
            if isinstance(payload, list):
                children = [c for c in payload if isinstance(c, Message)]
                stack.extend((c, depth + 1) for c in reversed(children))
            continue
        if part is msg:  # a message is not attached to itself, whatever its file name
            continue
        if str(part.get_filename() or "").lower().endswith(".eml"):
            data = part.get_payload(decode=True)
            if isinstance(data, bytes) and data.strip() and not looks_binary(data[:4096]):
                inner = parse_bytes(data)
                if has_headers(inner):
                    found.append(inner)
    return found
