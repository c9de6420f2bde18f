"""Limits that keep one hostile or runaway input from stalling a batch: every one in this one place.

Each limit is hit with one line naming the input (and, inside a mailbox, the message) and the
limit; the rest of the batch goes on. The README's "Limits" paragraph lists them for users.

Sizes are in bytes (files, messages) or characters (text), times in seconds.
"""

from __future__ import annotations

MAX_MESSAGE_BYTES = 25 * 1024 * 1024
"""One email message (an ``.eml`` file, or one message of an mbox), headers and attachments included.

25 MiB is the largest message the common mail services accept; a larger one is refused, not read
(its bytes are never held in memory whole)."""

MAX_BODY_CHARS = 200_000
"""The text of one message's body; a longer body is cut here (metadata ``truncated``). The same size
as the largest document ``POST /v1/documents`` takes."""

MAX_PART_CHARS = 4 * MAX_BODY_CHARS
"""One text part of a message (plain or HTML) is cut here before it is turned into text: HTML is mostly
tags, and plain text may lose line ends and soft breaks on the way."""

MAX_MIME_DEPTH = 30
"""Nesting of MIME parts: multiparts inside multiparts and attached messages (``message/rfc822``)
inside them. Real mail nests a few levels (a chain of ten forwards as attachments, about thirty); a
deeper message is refused."""

MAX_MIME_PARTS = 10_000
"""MIME parts in one message, counted at every depth. A digest of a list's week or a message with
many attached files has tens to a few hundred; a message with more is refused, each part being
decoded and rendered (a message of the size limit could hold half a million empty ones)."""

MAX_PARTICIPANTS = 1_000
"""People one message names (From, To, Cc and the rest, counted together): the first ones are kept,
the sender first. Mail addressed to more is a mass mailing; a header of a quarter of a million
addresses took seconds to parse and tens of MB in every read of the document's people."""

MAX_PROBLEMS_PER_EXPORT = 500
"""Problem lines one CRM export gives (a row without a name, a deal id seen twice): the first are
shown, the rest counted in one line. An export whose every one of a million rows is wrong is one
mistake a user fixes once, not a million lines held and printed. Under the 1,000 lines an input's
record keeps for a re-run (``store.inputs``), so an unchanged export with problems is not read again."""

MAX_FORWARD_DEPTH = 10
"""Messages forwarded as attachments inside forwarded messages: each level down to this one is read
as its own document; deeper ones stay inside the message that carries them."""

MAX_MEETING_FILE_BYTES = 2 * 1024 * 1024
"""One meeting notes file (Markdown or text) or WebVTT transcript. Two MiB is some 300,000 words,
forty hours of talk; a larger file is refused, not read."""

MAX_SENTENCE_CHARS = 2_000
"""The longest stretch of text read as one sentence. Text with no sentence end for longer (a pasted
log, a line with no punctuation) is read in pieces of at most this size, cut at white space, so the
work on each piece is bounded."""

MAX_INPUT_FILES = 100_000
"""Files and folders met while walking the folders named on the command line; past this many the
walk stops with one line, and what was found before is read."""

MAX_FOLDER_DEPTH = 100
"""Folders inside a folder named on the command line: a deeper one is not walked (one line). A mail
archive or an export nests a few levels; the walk is recursive, and 500 levels passed Python's stack."""

MAX_ITEMS_PER_DOCUMENT = 1_000
"""Items kept from one document: the first this many (one line says so). An hour's meeting holds tens;
a file that yields thousands is a list or a generated log, and every item costs the later passes."""
OFFLINE_BUDGET_S = 20.0
"""Seconds the offline extractor may spend on one document (``FOLLOWTHROUGH_OFFLINE_BUDGET``
overrides it); past it the document is recorded as failed with that reason and the batch goes on."""

__all__ = [
    "CRM_READER_PROCESS",
    "GC_THRESHOLDS",
    "MAX_BODY_CHARS",
    "MAX_FOLDER_DEPTH",
    "MAX_FORWARD_DEPTH",
    "MAX_INPUT_FILES",
    "MAX_ITEMS_PER_DOCUMENT",
    "MAX_MEETING_FILE_BYTES",
    "MAX_MESSAGE_BYTES",
    "MAX_MIME_DEPTH",
    "MAX_MIME_PARTS",
    "MAX_PARTICIPANTS",
    "MAX_PART_CHARS",
    "MAX_PROBLEMS_PER_EXPORT",
    "MAX_SENTENCE_CHARS",
    "OFFLINE_BUDGET_S",
]


CRM_READER_PROCESS = "followthrough-crm"
"""The name of the process that reads a large CRM export (:mod:`followthrough.crm_reader`)."""

GC_THRESHOLDS = (10_000, 10, 10)
"""The collector's thresholds in the command's own process (Python's default: 700, 10, 10). A command
allocates in bursts (imports, a page of rows, a batch of documents) and frees most of it by reference
counting; collecting the youngest generation every 700 allocations made the collector walk the same
young objects dozens of times per burst (measured: 7% of a re-run of 10,000 messages, and more of a
first run; half of a CRM reader process's time, which sets them too)."""
