"""CRM CSV exports → :class:`~followthrough.types.CrmData` (accounts, contacts, deals).

A CSV is a **deals** export when it has a deal id, a deal name and an account
column, and a **contacts** export when it has an email column and a name or
company column (and no deal columns). Deals and contacts may come in one file
set or in separate files; a deals file may also carry one contact per row
(``contact_email``, ``contact_name``, ``contact_role``, or plain ``email``,
``name``/first and last name, ``title`` columns). Header names are
matched case-insensitively, ignoring ``_``/``-``/extra spaces, through this
one table (our own names first, then HubSpot's and Salesforce's):

==================  ===========================================================================
field               accepted column names
==================  ===========================================================================
deal_id             deal_id, deal id, record id, opportunity id, opportunity id 18
deal_name           deal_name, deal name, opportunity name
account_name        account_name, account name, associated company, company name, company
account_domain      account_domain, account domain, company domain name, company domain,
                    domain, website
stage               stage, deal stage, stage name, pipeline stage
amount              amount, deal amount, amount (usd), amount in company currency
close_date          close_date, close date, expected close date
owner_email         owner_email, owner email, deal owner email, opportunity owner email,
                    owner email address
owner_name          owner_name, owner name, deal owner name, opportunity owner name
owner (either)      deal owner, opportunity owner, owner  (an email, a name, or "Name <email>")
tier                tier, account tier, customer tier, segment
contact_email       contact_email, contact email
contact_name        contact_name, contact name
contact_role        contact_role, contact role, contact title
email               email, email address, e-mail, work email
name                name, full name, contact name
first_name          first_name, first name, firstname
last_name           last_name, last name, lastname
(contact) account   account_name, account name, company name, company, associated company
role                role, title, job title
==================  ===========================================================================

Values: amounts like ``120000``, ``$12,500.00``, ``12.500,00 €``,
``USD 1,200`` or ``12.5k`` (a lone ``12.500`` is read as twelve thousand five
hundred); dates as ISO (``2026-03-31``, ``2026-03-31 00:00``,
``2026-03-31T00:00:00Z``), US ``3/31/2026`` or ``03/31/26``, ``31.03.2026``,
or ``Mar 31, 2026``. A website like ``https://www.acme.com/`` becomes the
domain ``acme.com``; HubSpot's ``Acme Corp (1234567)`` becomes ``Acme Corp``.
Deal owners with a name become contacts with no account (role ``deal owner``)
so that names resolve to their emails.

Files may be UTF-8 (with or without a BOM), UTF-16 with a BOM (Excel's
"Unicode text"), or a legacy encoding (detected with charset-normalizer,
falling back to Latin-1); the delimiter may be ``,``, ``;`` or a tab.

A file without the required columns raises ``InputError(path, "not a CRM
export: missing columns ...")``. A bad row (no id, an unreadable amount or
date, an email without ``@``, a deal id already read earlier in the file, a
record the ``csv`` module refuses such as a field over
:func:`csv.field_size_limit`) is passed to ``on_error`` as
``InputError("path:line", problem)`` (the record's first line) and skipped;
the rows after it are still read.

An export is read as a stream, in chunks of :data:`CHUNK_ROWS` rows
(:func:`read_crm_chunks`): memory holds one chunk and the deal ids seen so
far, whatever the file's size. A contact named on rows of several chunks comes
once in each; an account comes in the first chunk that names it and again only
in a chunk that adds a domain or its first tier (the file's first tier wins).

:class:`CrmCsvReader` is the registered reader (``crm-csv``): it takes a
``.csv`` file when :func:`is_crm_csv` says its header is a CRM export's.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterator
from datetime import date, datetime
from functools import cache
from operator import itemgetter
from pathlib import Path
from typing import Any, TextIO, TypeVar, cast

from dateutil import parser as dateparser

from connectors.base import CrmReader, ErrorSink, raise_error
from followthrough.errors import InputError
from followthrough.types import CrmData, CrmRows

# field -> accepted header names (normalized: lowercase, single spaces, no _ or -)
COLUMNS: dict[str, tuple[str, ...]] = {
    "deal_id": ("deal id", "record id", "opportunity id", "opportunity id 18"),
    "deal_name": ("deal name", "opportunity name"),
    "account_name": ("account name", "associated company", "company name", "company"),
    "account_domain": ("account domain", "company domain name", "company domain", "domain", "website"),
    "stage": ("stage", "deal stage", "stage name", "pipeline stage"),
    "amount": ("amount", "deal amount", "amount (usd)", "amount in company currency"),
    "close_date": ("close date", "expected close date"),
    "owner_email": ("owner email", "deal owner email", "opportunity owner email", "owner email address"),
    "owner_name": ("owner name", "deal owner name", "opportunity owner name"),
    "owner": ("deal owner", "opportunity owner", "owner"),
    "tier": ("tier", "account tier", "customer tier", "segment"),
    "contact_email": ("contact email",),
    "contact_name": ("contact name",),
    "contact_role": ("contact role", "contact title"),
    "email": ("email", "email address", "e mail", "work email"),
    "name": ("name", "full name", "contact name"),
    "first_name": ("first name", "firstname"),
    "last_name": ("last name", "lastname"),
    "role": ("role", "title", "job title"),
}

DEAL_REQUIRED = ("deal_id", "deal_name", "account_name")
CHUNK_ROWS = 5_000
"""Rows per chunk that :func:`read_crm_chunks` yields: one chunk is one transaction in the store."""
_PEEK_BYTES = 64 * 1024
_BLOCK_BYTES = 1 << 20
"""Bytes read (and characters decoded) at a time while streaming an export."""


def _norm_header(h: str) -> str:
    h = h.replace("\ufeff", "").strip().lower()
    h = re.sub(r"[_\-]+", " ", h)
    return re.sub(r"\s+", " ", h).strip()


def map_headers(headers: list[str]) -> dict[str, str]:
    """Field → the header that holds it (the first matching header wins)."""
    found: dict[str, str] = {}
    normalized = [(_norm_header(h), h) for h in headers]
    for fld, names in COLUMNS.items():
        for name in names:
            hit = next((orig for norm, orig in normalized if norm == name), None)
            if hit is not None:
                found[fld] = hit
                break
    return found


def _kind(fields: dict[str, str]) -> str | None:
    if all(f in fields for f in DEAL_REQUIRED):
        return "deals"
    if "deal_id" in fields or "deal_name" in fields:
        return None
    if "email" in fields and any(f in fields for f in ("name", "first_name", "last_name", "account_name")):
        return "contacts"
    return None


def _missing(fields: dict[str, str]) -> str:
    if "deal_id" in fields or "deal_name" in fields or "email" not in fields:
        need = [f for f in DEAL_REQUIRED if f not in fields]
        return "missing columns " + ", ".join(need) + " (or, for contacts: email and name)"
    return "missing columns name or account_name (a contacts export needs email and a name)"


def decode(data: bytes) -> str:
    """UTF-8 (BOM or not), UTF-16 with BOM, else the detected encoding, else Latin-1.

    Never raises: a broken UTF-16 sequence (an odd byte at the end, a lone surrogate) becomes U+FFFD.
    """
    codec, errors = _choose_encoding(data, lambda codec: _decodes(data, codec))
    return data.decode(codec, errors)


def _choose_encoding(head: bytes, decodes: Callable[[str], bool]) -> tuple[str, str]:
    """``(codec, errors)`` for text starting with ``head``; ``decodes(codec)``: whether all of it decodes.

    UTF-16 with a BOM (errors replaced), else UTF-8 (a BOM dropped), else the encoding
    charset-normalizer detects in ``head``, else Latin-1 (which decodes any byte).
    """
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16", "replace"
    if decodes("utf-8-sig"):
        return "utf-8-sig", "strict"
    from charset_normalizer import from_bytes  # here: most exports are UTF-8 (14 ms to import)

    best = from_bytes(head[:_BLOCK_BYTES]).best()
    if best is not None and best.encoding not in ("utf_8", "utf-8") and decodes(best.encoding):
        return best.encoding, "strict"
    return "latin-1", "strict"


def _decodes(data: bytes, codec: str) -> bool:
    try:
        data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def _file_decodes(path: Path, codec: str) -> bool:
    """Whether all of ``path`` decodes with ``codec``, read a block at a time (memory flat)."""
    try:
        decoder = codecs.getincrementaldecoder(codec)()
        with path.open("rb") as f:
            while block := f.read(_BLOCK_BYTES):
                decoder.decode(block)
            decoder.decode(b"", final=True)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def _open_text(path: Path) -> TextIO:
    """``path`` open for reading as text in the encoding :func:`decode` would choose, line ends kept."""
    with path.open("rb") as f:
        head = f.read(_BLOCK_BYTES)
    codec, errors = _choose_encoding(head, lambda codec: _file_decodes(path, codec))
    return path.open("r", encoding=codec, errors=errors, newline="")


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def _header(text: str) -> list[str]:
    """The header names on the first line of ``text``; ``[]`` when there are none (or they are broken)."""
    first = text.lstrip("\ufeff").splitlines()[0] if text.strip() else ""
    if not first:
        return []
    try:
        return next(csv.reader([first], delimiter=_delimiter(first)), [])
    except csv.Error:
        return []


def is_crm_csv(path: Path) -> bool:
    """True when ``path`` is a CSV whose header looks like a deals or contacts export."""
    if path.suffix.lower() not in (".csv", ".tsv", ".txt") or not path.is_file():
        return False
    try:
        with path.open("rb") as f:
            data = f.read(_PEEK_BYTES)
    except OSError:
        return False
    # Cut at the last newline so a multi-byte character is not split, then decode.
    cut = data.rfind(b"\n")
    text = decode(data[: cut if cut > 0 else len(data)])
    fields = map_headers(_header(text))
    # A file with deal columns counts even when some are missing, so that reading it
    # says which ones ("not a CRM export: missing columns ...") instead of skipping it.
    return _kind(fields) is not None or "deal_id" in fields or "deal_name" in fields


# ----------------------------------------------------------------- values


_MULT = {"k": 1_000.0, "m": 1_000_000.0, "b": 1_000_000_000.0}
_SUFFIXED = re.compile(r"(.*?\d)\s*([kmb])", re.IGNORECASE)
_AROUND_DIGITS = re.compile(r"^[^\d]+|[^\d]+$")
_NUMBER = re.compile(r"[\d.,]+")
_COMMA_THOUSANDS = re.compile(r"\d{1,3}(,\d{3})+")
_DOT_THOUSANDS = re.compile(r"\d{1,3}(\.\d{3})+")


def parse_amount(raw: str) -> float | None:
    """``$12,500.00`` → 12500.0; ``12.500,00 €`` → 12500.0; ``12.5k`` → 12500.0; empty → None."""
    s = raw.strip()
    if s.isascii() and s.isdigit():  # most cells: 120000
        return float(s)
    if not s or s in ("-", "—"):
        return None
    negative = (s.startswith("(") and s.endswith(")")) or s.startswith("-")
    s = s.strip("()").lstrip("-").strip()
    mult = 1.0
    m = _SUFFIXED.fullmatch(s)
    if m:
        s, mult = m.group(1), _MULT[m.group(2).lower()]
    s = _AROUND_DIGITS.sub("", s)  # currency symbols and codes on either side
    s = s.replace(" ", "").replace("\u00a0", "").replace("'", "")
    if not _NUMBER.fullmatch(s):
        raise ValueError(f"cannot read the amount {raw!r}")
    if "," in s and "." in s:
        decimal = "," if s.rfind(",") > s.rfind(".") else "."
        thousands = "." if decimal == "," else ","
        s = s.replace(thousands, "").replace(decimal, ".")
    elif "," in s:
        s = s.replace(",", "") if _COMMA_THOUSANDS.fullmatch(s) else s.replace(",", ".")
    elif mult == 1.0 and _DOT_THOUSANDS.fullmatch(s):  # 12.500 = twelve thousand five hundred
        s = s.replace(".", "")
    try:
        value = float(s) * mult
    except ValueError as e:
        raise ValueError(f"cannot read the amount {raw!r}") from e
    return -value if negative else value


_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?")
_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})(?:\s.*)?")
_DOTTED_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})(?:\s.*)?")
_WORD = re.compile(r"[A-Za-z]{3}")


def parse_date(raw: str) -> date | None:
    """ISO (with or without a time), US m/d/Y, d.m.Y, or month names; empty → None."""
    s = raw.strip()
    if not s:
        return None
    try:
        if m := _ISO_DATE.fullmatch(s):
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if m := _US_DATE.fullmatch(s):
            year = int(m.group(3))
            year = year + 2000 if year < 100 else year
            return date(year, int(m.group(1)), int(m.group(2)))
        if m := _DOTTED_DATE.fullmatch(s):
            return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    except ValueError as e:  # a day or month out of range: the value said, with why
        raise ValueError(f"cannot read the date {raw!r}: {e}") from e
    if not _WORD.search(s):
        raise ValueError(f"cannot read the date {raw!r}")
    try:
        parsed: datetime = dateparser.parse(s, default=datetime(2000, 1, 1))
    except (ValueError, ArithmeticError) as e:  # OverflowError, decimal.InvalidOperation (dateutil)
        raise ValueError(f"cannot read the date {raw!r}") from e
    return parsed.date()


_DOMAIN_SEPARATORS = re.compile(r"[;,\s]+")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://")


def parse_domains(raw: str) -> list[str]:
    """``https://www.acme.com/about; acme.co.uk`` → ``["acme.com", "acme.co.uk"]``."""
    out: list[str] = []
    for part in _DOMAIN_SEPARATORS.split(raw.strip()):
        d = part.strip().lower()
        if not d:
            continue
        if "@" in d:
            d = d.rsplit("@", 1)[1]
        d = _SCHEME.sub("", d)
        d = d.split("/", 1)[0].split("?", 1)[0].split(":", 1)[0]
        d = d.removeprefix("www.").strip(".")
        if "." in d and d not in out:
            out.append(d)
    return out


_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")


def parse_person(raw: str) -> tuple[str | None, str | None]:
    """``Marco Rossi <marco@x.io>`` / ``Marco Rossi (marco@x.io)`` / an email / a name → (name, email)."""
    s = raw.strip()
    if not s:
        return None, None
    if _EMAIL.fullmatch(s):  # most cells: an address alone
        return None, s.lower()
    m = _EMAIL.search(s)
    if not m:
        return s, None
    name = (s[: m.start()] + s[m.end() :]).strip(" <>()[]\"',;")
    return (name or None), m.group(0).lower()


_RECORD_NUMBER = re.compile(r"\s*\(\d+\)$")


def _company(raw: str) -> str:
    """HubSpot writes ``Acme Corp (1234567)`` and ``A;B`` for several associations: take the first name."""
    first = raw.split(";")[0].strip()
    return _RECORD_NUMBER.sub("", first).strip()


# ------------------------------------------------------------------ reader


_QUOTED_TEXT = '[^"]*+(?:""[^"]*+)*+'
"""A quoted field's text up to its closing quote (``""`` is a quote inside it); possessive."""


def _record_pattern(delimiter: str) -> re.Pattern[str]:
    """One CSV record as Python's ``csv`` module (default dialect) cuts it, up to its line end.

    A field that starts with ``"`` is quoted: it runs to the closing quote (``""`` is a quote
    inside it) over any line breaks, or to the end of the text when the quote is never closed;
    characters after the closing quote belong to the field. Any other field ends at the
    delimiter or the line end. Possessive quantifiers: no backtracking, linear time.
    """
    d = re.escape(delimiter)
    quoted = '"' + _QUOTED_TEXT + '(?:"[^' + d + "\\r\\n]*+)?"
    plain = "[^" + d + "\\r\\n]*+"
    field = f"(?>{quoted}|{plain})"
    return re.compile(f"{field}(?:{d}{field})*+(?:\\r\\n|\\r|\\n|\\Z)")


def _line_breaks(text: str) -> int:
    """How many line ends (CR LF, CR or LF) ``text`` holds."""
    return text.count("\n") + text.count("\r") - text.count("\r\n")


MAX_RECORD_CHARS = 8 * 131_072
"""Characters one CSV record may take (eight fields at ``csv``'s default size limit). A longer
record is skipped whole when it ends within :data:`MAX_SKIP_CHARS` (a quoted field that long: its
lines are never read as rows of their own), else cut at its first line end (an unterminated
quote loses one line, not the rest of the file); memory holds at most this much of a record."""
MAX_SKIP_CHARS = 1 << 30
"""How far past its start an over-long record is followed, a block at a time, to find its end."""


class CutRecord(str):
    """The first line of a record that ran past :data:`MAX_RECORD_CHARS`, at most that many
    characters of it. ``last``: the record's last line when it was skipped whole, else ``None``
    (an unterminated quote, or a line that long: reading goes on at the next line)."""

    last: int | None = None


def records(source: str | TextIO, delimiter: str) -> Iterator[tuple[int, str]]:
    """``(first line number, raw text)`` of every CSV record in ``source``, blank lines included.

    ``source``: the text, or a stream of it (read a block at a time: memory holds one block,
    or one record when a record is longer, up to :data:`MAX_RECORD_CHARS`). Cutting records
    apart before parsing them means a record ``csv`` refuses (a field over its size limit,
    :func:`csv.field_size_limit`) is one bad record: the records after it are cut at the right
    place and keep their true line numbers. A record longer than :data:`MAX_RECORD_CHARS` comes
    as a :class:`CutRecord` of its first line; the next record starts after the record's end
    when a seekable ``source`` shows one within :data:`MAX_SKIP_CHARS`, else on the line after
    the first. Text a record was followed over in vain is not followed again (a long record that
    starts in it is cut at its first line): each character is scanned at most twice.
    """
    stream = io.StringIO(source, newline="") if isinstance(source, str) else source
    pattern = _record_pattern(delimiter)
    seekable = stream.seekable()
    buf, pos, line, eof = "", 0, 1, False
    followed_to = 0  # the line the last record followed in vain was followed to
    while not (eof and pos >= len(buf)):
        m = pattern.match(buf, pos)
        if not eof and (m is None or m.end() >= len(buf)):
            if len(buf) - pos > MAX_RECORD_CHARS:
                first = _first_line_of(buf, pos)
                if seekable and line >= followed_to:
                    mark = stream.tell()
                    found = _record_end(stream, buf, pos, delimiter)
                    if not isinstance(found, int):
                        buf, pos, eof, inner, ended = found
                        yield line, _cut_record(first, line + inner)
                        line += inner + ended
                        continue
                    stream.seek(mark)  # no end in sight: an unterminated quote, read on from its next line
                    followed_to = line + found
                yield line, _cut_record(first, None)
                buf, pos, eof = _past_line(stream, buf, pos)
                line += 1
                continue
            # The record may go on in the text not read yet. Reading at least as much as is
            # pending keeps a long record's rescans linear in its length.
            more = stream.read(max(_BLOCK_BYTES, len(buf) - pos))
            buf, pos, eof = buf[pos:] + more, 0, not more
            continue
        if m is None or m.end() == pos:  # cannot happen: every position starts a (maybe empty) record
            yield line, buf[pos:]
            return
        record = m.group(0)
        yield line, record
        line += _line_breaks(record)
        pos = m.end()


_LINE_END = re.compile(r"\r\n?|\n")


def _first_line_of(buf: str, pos: int) -> str:
    end = _LINE_END.search(buf, pos, pos + MAX_RECORD_CHARS)
    return buf[pos : end.start() if end else pos + MAX_RECORD_CHARS]


def _cut_record(text: str, last: int | None) -> CutRecord:
    cut = CutRecord(text)
    cut.last = last
    return cut


def _past_line(stream: TextIO, buf: str, pos: int) -> tuple[str, int, bool]:
    """The text after the line at ``pos`` as ``(buf, pos, eof)``, skipping (a block at a time) to
    that line's end."""
    end = _LINE_END.search(buf, pos)
    while end is None:
        buf = stream.read(_BLOCK_BYTES)
        if not buf:
            return "", 0, True
        end = _LINE_END.search(buf)
        if end is not None and end.end() == len(buf) and buf.endswith("\r"):
            buf += stream.read(1)  # a CR LF cut between two blocks is one line end
            end = _LINE_END.search(buf, end.start())
    return buf[end.end() :], 0, False


_START, _FIELD, _QUOTED, _CLOSED = range(4)
"""Where a scan is in a record (:func:`_record_end`): at a field's start, in an unquoted field, in
a quoted field, just past a quoted field's closing quote."""


@cache
def _scan_patterns(delimiter: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Unquoted fields up to a line end or a field that opens with a quote; a quoted field's text up
    to its closing quote (``""`` is a quote inside it). Possessive: linear, no backtracking."""
    d = re.escape(delimiter)
    unquoted = re.compile(f'[^{d}\\r\\n]*+(?:{d}(?!")[^{d}\\r\\n]*+)*+')
    return unquoted, re.compile(_QUOTED_TEXT)


def _record_end(stream: TextIO, buf: str, pos: int, delimiter: str) -> tuple[str, int, bool, int, int] | int:
    """The end of the record that starts at ``buf[pos]``, as Python's ``csv`` cuts it
    (:func:`_record_pattern`), reading on from ``stream`` a block at a time and keeping only the
    text not yet scanned: ``(buf, pos, eof)`` after the record, the line ends inside it, and 1 when
    a line end closes it (0: the text ends). When the text ends inside a quoted field, a
    quoted field's closing quote is followed by more text (the quote that opened it was one gone
    astray: ``csv`` would run on to the next field's quote) or the record runs past
    :data:`MAX_SKIP_CHARS`: the line ends it was followed over (an ``int``). Linear, by regular
    expressions over runs of fields."""
    unquoted, quoted = _scan_patterns(delimiter)
    state, i, breaks, seen, eof = _START, pos, 0, 0, False
    while True:
        if len(buf) - i < 2 and not eof:  # one character of look-ahead: a doubled quote, a CR LF
            done = i - 1 if i > pos and buf[i - 1] == "\r" else i  # a CR is counted with its LF
            breaks += _line_breaks(buf[pos:done])
            seen += done - pos
            if seen > MAX_SKIP_CHARS:
                return breaks
            more = stream.read(_BLOCK_BYTES)
            buf, i, pos, eof = buf[done:] + more, i - done, 0, not more
            continue
        if i >= len(buf):  # the text ends
            if state == _QUOTED:
                return breaks + _line_breaks(buf[pos:])
            return "", 0, True, breaks + _line_breaks(buf[pos:]), 0
        if state == _QUOTED:
            i = cast(re.Match[str], quoted.match(buf, i)).end()
            if i < len(buf) - 1 or (eof and i == len(buf) - 1):
                i, state = i + 1, _CLOSED  # past the closing quote (not the first of a pair)
            continue
        if state == _CLOSED and buf[i] not in (delimiter, "\r", "\n"):
            return breaks + _line_breaks(buf[pos:i])  # text after the closing quote: a quote gone astray
        if state == _START and buf[i] == '"':
            i, state = i + 1, _QUOTED
            continue
        e = cast(re.Match[str], unquoted.match(buf, i)).end()
        if e > i:
            state = _START if buf[e - 1] == delimiter else _FIELD
        if e < len(buf) and buf[e] == delimiter:  # the next field opens with a quote
            i, state = e + 1, _START
            continue
        if e >= len(buf):
            i = e
            continue
        end = e + 1  # a line end
        if buf[e] == "\r" and end == len(buf) and not eof:
            i, state = e, _FIELD  # read on: is it CR LF?
            continue
        if buf[e] == "\r" and buf.startswith("\n", end):
            end += 1
        return buf, end, eof and end >= len(buf), breaks + _line_breaks(buf[pos:e]), 1


def parse_record(record: str, delimiter: str) -> list[str]:
    """The fields of one record cut by :func:`records`; raises ``csv.Error`` (e.g. a field too large).

    A record without quotes is split on the delimiter (what ``csv`` does with it, a fifth of the time),
    and so is one whose every field is quoted with no quote inside (``"Acme, Inc","Demo"``: how
    Salesforce and HubSpot write exports); any other goes to ``csv``.
    """
    if len(record) <= csv.field_size_limit():
        line = record.rstrip("\r\n")
        if '"' not in line:
            return line.split(delimiter) if line else []
        if len(line) >= 2 and line[0] == line[-1] == '"':
            fields = line[1:-1].split(f'"{delimiter}"')
            if not any('"' in f for f in fields):
                return fields
    rows = list(csv.reader(io.StringIO(record, newline=""), delimiter=delimiter))
    return [value for row in rows for value in row]


def _csv_problem(e: csv.Error) -> str:
    if "field limit" in str(e):
        return f"broken CSV record: a field is longer than {csv.field_size_limit()} characters; row skipped"
    return f"broken CSV record: {e}; row skipped"


def _first_line(path: Path, stream: TextIO) -> str:
    """The export's first line (the header), read from the start of ``stream``; rewinds it.

    Raises ``InputError`` for a file that holds nothing but white space.
    """
    head = stream.read(_BLOCK_BYTES).lstrip("\ufeff")
    if not head.strip():
        while block := stream.read(_BLOCK_BYTES):
            if block.strip():
                break
        else:
            raise InputError(path, "not a CRM export: the file is empty")
    stream.seek(0)
    return head.splitlines()[0] if head.strip() else ""


def _rows(
    path: Path, stream: TextIO, on_error: ErrorSink
) -> tuple[dict[str, str], _Columns, Iterator[tuple[int, list[str]]]]:
    """The export's field → header map, where each field's value sits in a row, and the non-empty
    rows as ``(line, cells)`` (each cell stripped).

    A record that cannot be parsed is passed to ``on_error`` as ``InputError("path:line", ...)``
    (its first line) and the rows after it are still read; an unreadable header raises.
    """
    delimiter = _delimiter(_first_line(path, stream))
    cut = records(stream, delimiter)
    first_line, header = next(cut)
    try:
        headers = parse_record(header.lstrip("\ufeff"), delimiter)
    except csv.Error as e:
        raise InputError(f"{path}:{first_line}", "not a CRM export: " + _csv_problem(e)) from e
    fields = map_headers(headers)
    width = len(headers)

    def rows() -> Iterator[tuple[int, list[str]]]:
        for line, record in cut:
            if isinstance(record, CutRecord):
                on_error(
                    InputError(
                        f"{path}:{line}",
                        f"a record longer than {MAX_RECORD_CHARS:,} characters "
                        + (
                            f"(lines {line}-{record.last} read as one quoted field: a field that long, "
                            f"or a stray quote on line {line}); record skipped"
                            if record.last is not None
                            else "(a field that long, or an unterminated quote); "
                            f"line {line} skipped, reading goes on at line {line + 1}"
                        ),
                    )
                )
                continue
            try:
                row = parse_record(record, delimiter)
            except csv.Error as e:
                on_error(InputError(f"{path}:{line}", _csv_problem(e)))
                continue
            last = line + _line_breaks(record.rstrip("\r\n"))
            if last > line and (record.count('"') % 2 or len(row) > width):
                on_error(
                    InputError(
                        f"{path}:{line}",
                        f"unterminated quote: lines {line}-{last} read as one record; rows skipped "
                        "(close the quote and read the file again)",
                    )
                )
                continue
            cells = list(map(str.strip, row[:width]))
            if len(row) > width and any(extra.strip() for extra in row[width:]):
                # its values may sit under the wrong columns: skipped whole, as one line
                problem = f"{len(row)} fields where the header names {width}; row skipped"
                on_error(InputError(f"{path}:{line}", problem + " (a comma inside a value needs quotes)"))
                continue
            if any(cells):
                yield line, cells

    return fields, _Columns(headers, fields), rows()


class _Columns:
    """Where each field's value sits in a row's cells (a header named twice: its last column, as a
    row read into a dictionary keeps it). :meth:`picker` reads several fields of a row at once."""

    def __init__(self, headers: list[str], fields: dict[str, str]) -> None:
        last = {h: i for i, h in enumerate(headers)}
        self.width = len(headers)
        self.at = {f: last[h] for f, h in fields.items()}

    def picker(self, names: tuple[str, ...]) -> Callable[[list[str]], tuple[str, ...]]:
        """A function of a row's cells: the values of ``names`` (``""`` for a field the export
        lacks, or past a short row's end)."""
        width = self.width
        get = itemgetter(*(self.at.get(name, width) for name in names))
        pad = [""] * (width + 1)  # one more: where a field the export lacks points

        def pick(cells: list[str]) -> tuple[str, ...]:
            return get(cells + pad[len(cells) :])  # type: ignore[no-any-return]

        return pick


def read_crm_chunks(
    path: Path, *, on_error: ErrorSink = raise_error, rows: int = CHUNK_ROWS
) -> Iterator[CrmData]:
    """Read a deals or contacts CSV export as a stream: one :class:`CrmData` per ``rows`` rows read.

    See the module docstring for the columns and for what a chunk holds. Raises ``InputError``
    (on the first ``next``) for a file that cannot be read or is not a CRM export.
    """
    return map(CrmData.from_rows, read_crm_rows(path, on_error=on_error, rows=rows))


def read_crm_rows(
    path: Path, *, on_error: ErrorSink = raise_error, rows: int = CHUNK_ROWS
) -> Iterator[CrmRows]:
    """:func:`read_crm_chunks` as :data:`CrmRows`: the same records, in the same chunks, as tuples."""
    try:
        with _open_text(path) as stream:
            fields, columns, cells = _rows(path, stream, on_error)
            kind = _kind(fields)
            if kind is None:
                raise InputError(path, "not a CRM export: " + _missing(fields))
            builder, read = _Builder(), 0
            pick_deal, pick_contact = columns.picker(_DEAL_FIELDS), columns.picker(_CONTACT_FIELDS)
            for line, row in cells:
                try:
                    if kind == "deals":
                        builder.deal_row(pick_deal(row))
                    else:
                        builder.contact_row(pick_contact(row))
                except ValueError as e:
                    on_error(InputError(f"{path}:{line}", str(e)))
                read += 1
                if read == rows:
                    yield builder.chunk()
                    read = 0
            if read:
                yield builder.chunk()
    except OSError as e:
        raise InputError(path, f"cannot read: {e.strerror or e}") from e


def read_crm_csv(path: Path, *, on_error: ErrorSink = raise_error) -> CrmData:
    """The whole export as one :class:`CrmData`: every chunk of :func:`read_crm_chunks` in turn.

    For an export that fits in memory (tools, tests); a run stores the chunks as they come.
    """
    crm = CrmData()
    for chunk in read_crm_chunks(path, on_error=on_error):
        crm = crm.merge(chunk)
    return crm


_DEAL_FIELDS = (
    "deal_id", "deal_name", "account_name", "account_domain", "stage", "amount", "close_date",
    "owner_email", "owner_name", "owner", "tier", "contact_email", "contact_name", "contact_role",
    "email", "name", "first_name", "last_name", "role",
)  # fmt: skip
"""What :meth:`_Builder.deal_row` reads of a row, in this order."""
_CONTACT_FIELDS = ("email", "name", "first_name", "last_name", "account_name", "role")
"""What :meth:`_Builder.contact_row` reads of a row, in this order."""
_CELLS_KEPT = 250_000
"""Cells of one kind (companies, domains, owners) :meth:`_Builder.read` remembers: more than the
accounts of any real export (a fuller cache is emptied and refilled, never grown)."""
_UNSEEN = object()
T = TypeVar("T")


_ContactRow = tuple[str, str | None, str | None, str | None]


def _adds(known: _ContactRow, name: str | None, account: str | None, role: str | None) -> bool:
    """Whether a row's ``name``, ``account`` or ``role`` says something ``known`` (a contact's row of
    :data:`CrmRows`) does not: a later non-empty value wins, an empty one keeps the known."""
    _, old_name, old_account, old_role = known
    return bool(
        (name and name != old_name) or (account and account != old_account) or (role and role != old_role)
    )


def _merged(known: _ContactRow, name: str | None, account: str | None, role: str | None) -> _ContactRow:
    email, old_name, old_account, old_role = known
    return (email, name or old_name, account or old_account, role or old_role)


class _AccountRow:
    """An account as a chunk gathers it (rows add domains, the file's first tier wins)."""

    __slots__ = ("domains", "name", "tier")

    def __init__(self, name: str) -> None:
        self.name = name
        self.domains: list[str] = []
        self.tier: str | None = None


class _Builder:
    """The records of one chunk of rows, and what the file's later chunks must know of earlier ones."""

    def __init__(self) -> None:
        self.accounts: dict[str, _AccountRow] = {}
        self.contacts: dict[str, _ContactRow] = {}
        """Email → ``(email, name, account_name, role)``: a contact's row of :data:`CrmRows`."""
        self.deals: dict[str, tuple[Any, ...]] = {}
        """Deal id → the deal's row of :data:`CrmRows`."""
        self.deal_ids: set[str] = set()
        """Every deal id read from the file so far (a later row with one is a duplicate)."""
        self.tiered: set[str] = set()
        """Accounts (casefolded names) the file has given a tier (its first tier wins)."""
        self.sent: dict[str, frozenset[str]] = {}
        """Accounts (casefolded names) earlier chunks carried, with the domains they carried."""
        self.recurring: dict[str, _ContactRow] = {}
        """Contacts that came on more than one row of a chunk (a deal owner), by email, as the last
        chunk that carried them did: a later chunk carries one again only when a row adds to it."""
        self.repeated: set[str] = set()
        """Emails of this chunk's contacts that came on more than one of its rows."""
        self.cells: dict[str, dict[str, object]] = {}
        """Per kind, cells read so far → what they were read as (owners, companies, domains: the
        same values recur on many rows), at most :data:`_CELLS_KEPT` of each kind."""

    def read(self, kind: str, raw: str, parse: Callable[[str], T]) -> T:
        """``parse(raw)``, remembered: the same owner, company or domain recurs on many rows."""
        seen = self.cells.setdefault(kind, {})
        found = seen.get(raw, _UNSEEN)
        if found is _UNSEEN:
            if len(seen) >= _CELLS_KEPT:
                seen.clear()
            found = seen[raw] = parse(raw)
        return found  # type: ignore[return-value]

    def account(self, name: str, domains: list[str] | None = None, tier: str | None = None) -> None:
        """The account ``name`` in this chunk, with ``domains`` and (the file's first) ``tier``; an
        account an earlier chunk carried comes again only when this row adds to it (the deal rows
        that name it are enough for the store to find it)."""
        key = name.casefold()
        acc = self.accounts.get(key)
        if acc is None:
            sent = self.sent.get(key)
            new_tier = bool(tier) and key not in self.tiered
            if sent is not None and not new_tier and (not domains or sent.issuperset(domains)):
                return
            acc = self.accounts[key] = _AccountRow(name)
        for d in domains or []:
            if d not in acc.domains:
                acc.domains.append(d)
        if tier and key not in self.tiered:
            acc.tier = tier
            self.tiered.add(key)

    def contact(self, email: str, name: str | None, account: str | None, role: str | None) -> None:
        email = email.strip().lower()
        if "@" not in email:
            raise ValueError(f"not an email address: {email!r}")
        old = self.contacts.get(email)
        if old is None:
            sent = self.recurring.get(email)
            if sent is None:
                self.contacts[email] = (email, name, account, role)
            elif _adds(sent, name, account, role):
                self.contacts[email] = _merged(sent, name, account, role)
            return
        # A deal owner recurs on many rows: the record is rebuilt only when a row says something new.
        self.repeated.add(email)
        if _adds(old, name, account, role):
            self.contacts[email] = _merged(old, name, account, role)

    def deal_row(self, values: tuple[str, ...]) -> None:
        """One row of a deals export: the values of :data:`_DEAL_FIELDS`, in that order."""
        (
            crm_id, name, account_raw, domain, stage, amount_raw, close_raw, owner_email_raw, owner_name,
            owner_raw, tier, contact_email, contact_name, contact_role, email, plain_name, first, last, role,
        ) = values  # fmt: skip
        account = self.read("company", account_raw, _company)
        if not (crm_id and name and account):
            missing = (
                f for f, v in (("deal_id", crm_id), ("deal_name", name), ("account_name", account)) if not v
            )
            raise ValueError("missing " + ", ".join(missing))
        if crm_id in self.deal_ids:
            raise ValueError(f"deal id {crm_id!r} appears twice; kept the first row")
        amount = parse_amount(amount_raw)
        close = self.read("date", close_raw, parse_date) if close_raw else None
        named, owner_email = self.read("person", owner_raw, parse_person)
        if owner_email_raw:
            _, owner_email = self.read("person", owner_email_raw, parse_person)
            if owner_email is None:
                raise ValueError(f"owner email is not an email address: {owner_email_raw!r}")
        owner = owner_name or named
        self.account(account, self.read("domains", domain, parse_domains) if domain else None, tier or None)
        self.deal_ids.add(crm_id)
        self.deals[crm_id] = (crm_id, name, account, stage or None, amount, close, owner_email)
        if owner_email and owner:
            self.contact(owner_email, owner, None, "deal owner")
        # one contact per row: contact_* columns, or plain email/name/title columns in a deals export
        contact_email = contact_email or email
        if contact_email:
            _, address = parse_person(contact_email)
            if address is None:
                raise ValueError(f"contact email is not an email address: {contact_email!r}")
            named = contact_name or plain_name or (f"{first} {last}".strip() if first or last else None)
            self.contact(address, named or None, account, contact_role or role or None)

    def contact_row(self, values: tuple[str, ...]) -> None:
        """One row of a contacts export: the values of :data:`_CONTACT_FIELDS`, in that order."""
        raw_email, plain_name, first, last, account_raw, role = values
        if not raw_email:
            raise ValueError("missing email")
        _, email = parse_person(raw_email)
        if email is None:
            raise ValueError(f"not an email address: {raw_email!r}")
        name = plain_name or " ".join(p for p in (first, last) if p) or None
        account = _company(account_raw) or None
        if account:
            self.account(account)
        self.contact(email, name, account, role or None)

    def chunk(self) -> CrmRows:
        """The records of the rows read since the last chunk (:data:`CrmRows`, no model per record:
        a million-row export is read in a sixth less time); the next chunk starts empty."""
        if len(self.sent) + len(self.accounts) > _CELLS_KEPT:
            self.sent.clear()  # a file of ever new accounts: later rows that name one send it again
        for key, acc in self.accounts.items():
            before = self.sent.get(key)
            self.sent[key] = frozenset(acc.domains) if before is None else before.union(acc.domains)
        if len(self.recurring) + len(self.repeated) > _CELLS_KEPT:
            self.recurring.clear()
        for email in self.repeated:
            self.recurring[email] = self.contacts[email]
        for email in self.recurring.keys() & self.contacts.keys():
            self.recurring[email] = self.contacts[email]  # carried again, with what it added
        rows = (
            [(a.name, a.domains, a.tier, None) for a in self.accounts.values()],
            list(self.contacts.values()),
            list(self.deals.values()),
        )
        self.accounts, self.contacts, self.deals, self.repeated = {}, {}, {}, set()
        return rows


class CrmCsvReader(CrmReader):
    """A deals or contacts CSV export (``.csv``) read by :func:`read_crm_chunks`."""

    @classmethod
    def detect(cls, path: Path) -> bool:
        return path.suffix.lower() == ".csv" and is_crm_csv(path)

    @classmethod
    def unread_reason(cls, path: Path) -> str | None:
        if path.suffix.lower() != ".csv":
            return None
        return "not a CRM export: no deal or contact columns (see README, CRM CSV)"

    def records(self) -> Iterator[CrmData]:
        return read_crm_chunks(self.path, on_error=self.on_error, rows=CHUNK_ROWS)

    def record_rows(self) -> Iterator[CrmRows]:
        return read_crm_rows(self.path, on_error=self.on_error, rows=CHUNK_ROWS)


__all__ = [
    "CHUNK_ROWS",
    "COLUMNS",
    "CrmCsvReader",
    "decode",
    "is_crm_csv",
    "map_headers",
    "parse_amount",
    "parse_date",
    "parse_record",
    "read_crm_chunks",
    "read_crm_rows",
    "read_crm_csv",
    "records",
]
