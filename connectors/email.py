"""Email connectors: single ``.eml`` files (``eml``) and mbox mailboxes (``mbox``).

Each message becomes one :class:`SourceDocument` whose ``text`` is only what
the sender wrote new: quoted replies go to ``quoted_text`` and the signature to
``signature`` (see :func:`connectors.mail.split_reply`). Bodies are decoded
with the standard ``email`` package (see :mod:`connectors.mail.mime`);
HTML-only bodies are turned into text. An mbox is streamed: one pass reads
only headers to thread the messages, a second parses them one at a time.

Problems: an unreadable file (empty, binary, not a message) raises
:class:`InputError`; one bad message inside an mbox is passed to ``on_error``
as ``InputError("path#N", ...)`` and the rest goes on. A message over
:data:`~followthrough.limits.MAX_MESSAGE_BYTES`, or whose parts nest deeper than
:data:`~followthrough.limits.MAX_MIME_DEPTH`, is such a problem: refused with one
line naming the limit, its bytes never held whole.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import Message
from pathlib import Path

from connectors.base import Connector
from connectors.mail.header_block import HeaderBlock
from connectors.mail.mbox import iter_mbox, looks_like_mbox
from connectors.mail.mime import (
    Body,
    MessageProblem,
    RawHeaders,
    addresses,
    attached_messages,
    extract_body,
    has_headers,
    header_text,
    looks_binary,
    message_ids,
    parse_bytes,
    parse_date,
    received_date,
    too_deep,
)
from connectors.mail.quotes import split_reply
from connectors.mail.threads import ThreadIndex, reference_chain, single_thread_id
from followthrough.errors import InputError
from followthrough.limits import MAX_FORWARD_DEPTH, MAX_MESSAGE_BYTES, MAX_PARTICIPANTS
from followthrough.types import Participant, ParticipantRole, Segment, SourceDocument

_PEEK = 8192
_ROLES = (("From", ParticipantRole.SENDER), ("To", ParticipantRole.RECIPIENT), ("Cc", ParticipantRole.CC))
# Suffixes another connector owns or that are never a single message.
_NOT_EML = frozenset({".mbox", ".md", ".markdown", ".vtt", ".srt", ".json", ".csv", ".zip", ".html", ".htm"})


def _peek(path: Path) -> bytes:
    try:
        with path.open("rb") as f:
            return f.read(_PEEK)
    except OSError:
        return b""


def _looks_like_message(head: bytes) -> bool:
    """RFC 5322 headers on the first lines, with a From and one more key field."""
    if looks_binary(head):
        return False
    block = head.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
    names = {
        line.split(b":", 1)[0].strip().lower()
        for line in block.splitlines()
        if b":" in line and not line[:1].isspace()
    }
    first = head.split(b"\n", 1)[0]
    return (
        b":" in first
        and b" " not in first.split(b":", 1)[0]
        and b"from" in names
        and bool(names & {b"to", b"subject", b"date", b"message-id", b"received"})
    )


def _synthetic_id(msg: Message, text: str) -> str:
    """A stable id for a message without Message-ID: from what it says, not where the file lies.

    The same message read from a copy, a moved folder or another mailbox gets the same id.
    """
    h = hashlib.sha256()
    for name in ("From", "To", "Cc", "Date", "Subject"):
        h.update(str(msg.get(name, "")).strip().encode("utf-8", "replace") + b"\x00")
    h.update(text.encode("utf-8", "replace"))
    return f"<{h.hexdigest()[:24]}@followthrough.invalid>"


def _from_line_date(from_line: str) -> datetime | None:
    """The date of an mbox From_ line: asctime in UTC by convention, or with a zone (Gmail)."""
    parts = from_line.split()
    for start in (2, 3):
        for fmt, width in (("%a %b %d %H:%M:%S %Y", 5), ("%a %b %d %H:%M:%S %z %Y", 6)):
            try:
                dt = datetime.strptime(" ".join(parts[start : start + width]), fmt)
            except ValueError:
                continue
            return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)
    return None


def _occurred_at(msg: Message, path: Path, from_line: str) -> tuple[datetime, str]:
    dt = parse_date(header_text(msg, "Date"))
    if dt is not None:
        return dt, "header"
    dt = received_date(msg)
    if dt is not None:
        return dt, "received"
    dt = _from_line_date(from_line) if from_line else None
    if dt is not None:
        return dt, "mbox_from_line"
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC), "file_mtime"
    except OSError:
        return datetime.fromtimestamp(0, tz=UTC), "unknown"


def _participants(msg: Message) -> tuple[list[Participant], bool]:
    """The people ``msg`` names, by role (sender first), each once; at most
    :data:`~followthrough.limits.MAX_PARTICIPANTS`, and whether there were more."""
    out: list[Participant] = []
    seen: set[tuple[str | None, str | None, str]] = set()
    for header, role in _ROLES:
        for name, addr in addresses(msg, header):
            key = (name if addr is None else None, addr, role)
            if key in seen:
                continue
            if len(out) == MAX_PARTICIPANTS:
                return out, True
            seen.add(key)
            out.append(Participant(name=name, email=addr, role=role))
    return out, False


def _ids(msg: RawHeaders) -> tuple[str | None, list[str], list[str]]:
    """Own Message-ID (as written), ancestors from root to parent, In-Reply-To ids."""
    own = (header_text(msg, "Message-ID") or "").strip() or None
    in_reply_to = message_ids(header_text(msg, "In-Reply-To"))
    return own, reference_chain(message_ids(header_text(msg, "References")), in_reply_to), in_reply_to


def _bulk(msg: Message) -> str | None:
    """Why a message is bulk mail (RFC 2076 ``Precedence: bulk|junk``, RFC 3834 ``Auto-Submitted``), or None.

    Mailing-list discussion (``Precedence: list``) is a conversation and stays.
    """
    precedence = str(msg.get("Precedence", "") or "").strip().lower()
    if precedence in ("bulk", "junk"):
        return f"Precedence: {precedence}"
    auto = str(msg.get("Auto-Submitted", "") or "").strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    return None


def message_document(
    msg: Message,
    *,
    path: Path,
    origin: str,
    number: int,
    threads: ThreadIndex | None = None,
    from_line: str = "",
) -> SourceDocument:
    """Build the document for one parsed message; raises :class:`MessageProblem`.

    ``threads`` (the whole mailbox's links) finds the thread root; without it
    the first References id, the In-Reply-To id or the message's own id is used.
    Messages attached to it are not read here: see :func:`message_documents`.
    """
    return message_documents(
        msg, path=path, origin=origin, number=number, threads=threads, from_line=from_line
    )[0]


def message_documents(
    msg: Message,
    *,
    path: Path,
    origin: str,
    number: int,
    threads: ThreadIndex | None = None,
    from_line: str = "",
) -> list[SourceDocument]:
    """The message's document, then one per message forwarded in it as an attachment.

    A ``message/rfc822`` attachment with a sender is read as its own document (its own
    sender, date, Message-ID, subject, reply / quote / signature split), with metadata
    ``forwarded_in`` (the forwarding message's id); the forwarding document lists them in
    ``forwarded_messages``. Forwards inside forwards are read too. An attached message
    without a sender is kept as context: its text goes to the forwarding ``quoted_text``.
    Raises :class:`MessageProblem` when the message itself cannot be read.
    """
    out: list[SourceDocument] = []
    _collect(msg, out, path=path, origin=origin, threads=threads, from_line=from_line)
    return out


def _collect(
    msg: Message,
    out: list[SourceDocument],
    *,
    path: Path,
    origin: str,
    threads: ThreadIndex | None,
    from_line: str,
    forwarded_in: SourceDocument | None = None,
    depth: int = 0,
) -> SourceDocument:
    """Append the document for ``msg`` and those of its attached messages to ``out``."""
    if not has_headers(msg):
        raise MessageProblem("not an email message (no headers found)")
    attached = attached_messages(msg) if depth < MAX_FORWARD_DEPTH else []
    try:
        body = extract_body(msg)
    except MessageProblem:
        if not attached:
            raise
        body = Body(text="", content_type="none")  # only forwarded messages: they carry the words
    doc = _build(
        msg, body, path=path, origin=origin, threads=threads, from_line=from_line, parent=forwarded_in
    )
    index = len(out)
    out.append(doc)
    ids: list[str] = []
    context: list[str] = []
    unreadable = 0
    for n, inner in enumerate(attached, 1):
        if not addresses(inner, "From"):
            try:
                text = extract_body(inner).text.strip()
            except MessageProblem:
                unreadable += 1
                continue
            if text:
                context.append(text)
            continue
        try:
            child = _collect(
                inner,
                out,
                path=path,
                origin=f"{origin}#forwarded-{n}",
                threads=threads,
                from_line="",
                forwarded_in=doc,
                depth=depth + 1,
            )
        except (MessageProblem, ValueError, LookupError, TypeError, IndexError, AttributeError, UnicodeError):
            unreadable += 1  # one unreadable forwarded message: the forwarding document stays
            continue
        if child.external_id != doc.external_id and child.external_id not in ids:
            ids.append(child.external_id)
    metadata = dict(doc.metadata)
    if ids:
        metadata["forwarded_messages"] = ", ".join(ids)
        metadata["forwarded_count"] = str(len(ids))
    if unreadable:
        metadata["forwarded_unreadable"] = str(unreadable)
    quoted = "\n\n".join(t for t in (doc.quoted_text, *context) if t.strip())
    if metadata != doc.metadata or quoted != doc.quoted_text:
        doc = doc.model_copy(update={"metadata": metadata, "quoted_text": quoted})
        out[index] = doc
    # A forward that repeats its own forwarding message's id (or one read twice) is one document.
    seen: set[str] = set()
    kept = []
    for d in out:
        if d.external_id in seen:
            continue
        seen.add(d.external_id)
        kept.append(d)
    out[:] = kept
    return doc


def _build(
    msg: Message,
    body: Body,
    *,
    path: Path,
    origin: str,
    threads: ThreadIndex | None,
    from_line: str,
    parent: SourceDocument | None,
) -> SourceDocument:
    """The document for ``msg`` with ``body`` as its text (split into reply, quote, signature)."""
    parts = split_reply(body.text)
    metadata: dict[str, str] = {"content_type": body.content_type}

    own_id, chain, in_reply_to = _ids(msg)
    if own_id is None:
        own_id = _synthetic_id(msg, body.text)
        metadata["message_id_synthesized"] = "true"
    thread_id = threads.thread_id(own_id, chain) if threads else single_thread_id(own_id, chain)
    if parent is None:
        occurred_at, date_source = _occurred_at(msg, path, from_line)
    else:
        metadata["forwarded_in"] = parent.external_id
        occurred_at, date_source = _forwarded_date(msg, parent)
    metadata["date_source"] = date_source
    if in_reply_to:
        metadata["in_reply_to"] = in_reply_to[0]
    if body.charset:
        metadata["charset"] = body.charset
    if body.charset_fallback:
        metadata["charset_fallback"] = body.charset_fallback
    if body.mojibake_repaired:
        metadata["mojibake_repaired"] = "true"
    if body.truncated:
        metadata["truncated"] = "true"
    bulk = _bulk(msg)
    if bulk:
        metadata["bulk"] = bulk
    if body.attachments:
        metadata["attachments"] = ", ".join(body.attachments)
        metadata["attachment_count"] = str(len(body.attachments))

    participants, cut = _participants(msg)
    if cut:
        metadata["participants_cut"] = "true"
    sender = next((p for p in participants if p.role is ParticipantRole.SENDER), None)
    segments = []
    if parts.text:
        segments.append(
            Segment(
                speaker=(sender.name or sender.email) if sender else None,
                speaker_email=sender.email if sender else None,
                char_start=0,
                char_end=len(parts.text),
                text=parts.text,
            )
        )
    return SourceDocument(
        source="email",
        external_id=own_id,
        thread_id=thread_id,
        occurred_at=occurred_at,
        title=header_text(msg, "Subject"),
        participants=participants,
        segments=segments,
        text=parts.text,
        quoted_text=parts.quoted,
        signature=parts.signature,
        url=None,
        origin=origin,
        metadata=metadata,
    )


def _forwarded_date(msg: Message, parent: SourceDocument) -> tuple[datetime, str]:
    """A forwarded message's own date; without one, the forwarding message's."""
    dt = parse_date(header_text(msg, "Date")) or received_date(msg)
    if dt is not None:
        return dt, "header" if parse_date(header_text(msg, "Date")) else "received"
    return parent.occurred_at, "forwarding_message"


def documents_from_bytes(
    data: bytes,
    *,
    path: Path,
    origin: str,
    number: int,
    threads: ThreadIndex | None = None,
    from_line: str = "",
) -> list[SourceDocument]:
    """Parse one message's bytes into its documents (see :func:`message_documents`).

    Problems raise ``InputError(origin, ...)``; so does a message over
    :data:`~followthrough.limits.MAX_MESSAGE_BYTES`.
    """
    if len(data) > MAX_MESSAGE_BYTES:
        raise InputError(origin, too_large(len(data)))
    if not data.strip():
        raise InputError(origin, "empty message")
    if looks_binary(data[: 1 << 16]):
        raise InputError(origin, "not an email message (binary content)")
    try:
        msg = parse_bytes(data)
        return message_documents(
            msg, path=path, origin=origin, number=number, threads=threads, from_line=from_line
        )
    except MessageProblem as e:
        raise InputError(origin, str(e)) from e
    except (ValueError, LookupError, TypeError, IndexError, AttributeError, UnicodeError) as e:
        # The email package can still trip over pathological input: report this message only.
        raise InputError(origin, f"cannot parse message ({type(e).__name__}: {e})") from e
    except RecursionError as e:
        raise InputError(origin, too_deep()) from e


def too_large(size: int) -> str:
    """What the user is told about a message of ``size`` bytes."""
    mib = 1024 * 1024
    limit = MAX_MESSAGE_BYTES / mib
    return f"message is {size / mib:.1f} MiB, over the limit of {limit:g} MiB for one message; not read"


def _size(path: Path, at_least: int) -> int:
    """The file's size in bytes (``at_least`` when it cannot be had)."""
    try:
        return max(path.stat().st_size, at_least)
    except OSError:
        return at_least


def _head(path: Path) -> bytes:
    """The file's first bytes; raises InputError for an unreadable or empty file."""
    try:
        with path.open("rb") as f:
            head = f.read(_PEEK)
    except OSError as e:
        raise InputError(path, f"cannot read file: {e.strerror or e}") from e
    if not head.strip():
        raise InputError(path, "empty file")
    return head


class EmlConnector(Connector):
    """One RFC 5322 message in a file (``.eml``, or a suffix-less Maildir file)."""

    @classmethod
    def detect(cls, path: Path) -> bool:
        if not path.is_file():
            return False
        suffix = path.suffix.lower()
        if suffix == ".eml":
            return True
        if suffix in _NOT_EML:
            return False
        return _looks_like_message(_peek(path))

    def documents(self) -> Iterator[SourceDocument]:
        _head(self.path)
        try:
            with self.path.open("rb") as f:
                data = f.read(MAX_MESSAGE_BYTES + 1)  # never more than the limit allows, whatever the file
        except OSError as e:
            raise InputError(self.path, f"cannot read file: {e.strerror or e}") from e
        if len(data) > MAX_MESSAGE_BYTES:
            raise InputError(self.path, too_large(_size(self.path, len(data))))
        yield from documents_from_bytes(data, path=self.path, origin=str(self.path), number=1)


class MboxConnector(Connector):
    """An mbox mailbox: ``.mbox`` files and files that start with a From_ line."""

    @classmethod
    def detect(cls, path: Path) -> bool:
        if not path.is_file():
            return False
        if path.suffix.lower() == ".mbox":
            return True
        if path.suffix.lower() in _NOT_EML or path.suffix.lower() == ".eml":
            return False
        head = _peek(path)
        return looks_like_mbox(head) and not looks_binary(head[:1024])

    def _thread_index(self) -> ThreadIndex:
        """First pass: every message's thread links, from its headers only."""
        index = ThreadIndex()
        for raw in iter_mbox(self.path, headers_only=True, max_bytes=MAX_MESSAGE_BYTES):
            own, chain, _ = _ids(HeaderBlock(raw.data))
            index.add(own, chain)
        return index

    def documents(self) -> Iterator[SourceDocument]:
        head = _head(self.path)
        if not head.startswith(b"From "):
            if looks_binary(head):
                raise InputError(self.path, "not an email message (binary content)")
            raise InputError(self.path, "not an mbox file (it does not start with a 'From ' line)")
        index = self._thread_index()
        for raw in iter_mbox(self.path, max_bytes=MAX_MESSAGE_BYTES):
            if raw.size > MAX_MESSAGE_BYTES:
                self.on_error(InputError(f"{self.path}#{raw.number}", too_large(raw.size)))
                continue
            try:
                docs = documents_from_bytes(
                    raw.data,
                    path=self.path,
                    origin=f"{self.path}#{raw.number}",
                    number=raw.number,
                    threads=index,
                    from_line=raw.from_line,
                )
            except InputError as e:
                self.on_error(e)
                continue
            yield from docs


__all__ = ["EmlConnector", "MboxConnector", "documents_from_bytes", "message_document", "message_documents"]
