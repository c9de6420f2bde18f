"""The chat messages of one request: system prompt, few-shot turns, the documents, a re-ask.

A request is laid out stable part first, so that a provider's automatic prompt
cache can reuse it from one request to the next: the system message (the same
for every request in one :class:`OutputMode`), the few-shot turns (the same
always), then one user message with the request's documents, each a
:class:`Part` under a short per-request id::

    <document id="1" from="Marco Rossi" to="Dana Lee" subject="Pricing">
    ...text...
    </document>
    <document id="2" from="Dana Lee" to="Marco Rossi">
    ...

The header is the document's tag (:meth:`MessageBuilder.attributes`): who wrote
it, to whom (at most :data:`MAX_HEADER_PEOPLE` names, then "and 3 more"), the
subject or title only when it changes from the previous document of the
request, the source when it is not email, and the part of a long document. No
date: the model copies due phrases as written and they are resolved against
``occurred_at`` afterwards. :data:`LAYOUT_VERSION` names this layout; it is part
of the backend's prompt version, hence of the cache key.

A :class:`Conversation` is every message after the system message, which is
built per request because it depends on the :class:`OutputMode` in use (JSON
mode and text mode carry the schema in it). Prompt tokens are estimated before
sending with the per-message overhead servers add.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from extractor.chunking import Chunk
from extractor.llm_settings import OutputMode
from extractor.token_count import count_tokens
from extractor.wire import response_format_json_schema, strict_json_schema
from followthrough.types import Participant, ParticipantRole, SourceDocument
from prompts.loader import Prompt, attribute_value

__all__ = [
    "JSON_OBJECT_FORMAT",
    "LAYOUT_VERSION",
    "MAX_HEADER_PEOPLE",
    "MESSAGE_OVERHEAD_TOKENS",
    "REPLY_PRIMING_TOKENS",
    "Conversation",
    "MessageBuilder",
    "Part",
]

Message = dict[str, str]
"""One chat message: ``{"role": "system" | "user" | "assistant", "content": text}``."""

LAYOUT_VERSION = "2"
"""The request layout this module builds (documents with ids, the header as tag attributes). Change it
whenever the code changes what a request says, so cached extractions made with the old one are redone."""
MAX_HEADER_PEOPLE = 6
"""Names in a document's ``to`` or ``people``; more are counted ("and 3 more")."""
MESSAGE_OVERHEAD_TOKENS = 4
"""Tokens a server adds per chat message (role and separators), as OpenAI counts them."""
REPLY_PRIMING_TOKENS = 3
"""Tokens a server adds once per request to prime the assistant's reply."""
JSON_OBJECT_FORMAT: dict[str, Any] = {"type": "json_object"}
"""The ``response_format`` of :attr:`OutputMode.JSON_OBJECT`."""

_REPLY_PREFIXES = frozenset({"re", "fw", "fwd", "aw", "wg", "sv", "vs", "tr", "rif"})
"""Subject prefixes of replies and forwards ("Re:", "Fwd:", "AW:"), ignored when subjects are compared."""
_RECIPIENT_ROLES = (ParticipantRole.RECIPIENT, ParticipantRole.CC)


@dataclass(frozen=True)
class Part:
    """One document's text in a request: ``chunk`` of ``doc``, under the request's id ``id`` ("1", "2")."""

    id: str
    doc: SourceDocument
    chunk: Chunk


@dataclass(frozen=True)
class Conversation:
    """The messages of one request after the system message: few-shot turns, then the documents."""

    messages: tuple[Message, ...]


class MessageBuilder:
    """Builds the messages for one prompt file; shared by threads (the caches only ever fill)."""

    def __init__(self, prompt: Prompt) -> None:
        self.prompt = prompt
        self.examples: tuple[Message, ...] = tuple(prompt.example_messages())
        self.schema_json = json.dumps(strict_json_schema(), separators=(",", ":"))
        self._json_schema_format = response_format_json_schema()
        self._fixed_tokens: dict[OutputMode, int] = {}

    # -- the request's parts ------------------------------------------------------
    def system(self, mode: OutputMode) -> Message:
        """The system message; in JSON and text mode the schema travels in it."""
        schema = None if mode is OutputMode.JSON_SCHEMA else self.schema_json
        return {"role": "system", "content": self.prompt.system_message(schema_json=schema)}

    def response_format(self, mode: OutputMode) -> dict[str, Any] | None:
        """The request's ``response_format`` for ``mode`` (``None`` in text mode)."""
        if mode is OutputMode.JSON_SCHEMA:
            return self._json_schema_format
        if mode is OutputMode.JSON_OBJECT:
            return JSON_OBJECT_FORMAT
        return None

    def for_parts(self, parts: Sequence[Part]) -> Conversation:
        """The few-shot turns, then one user message with every part under its id and header."""
        documents = (
            (part.id, self.attributes(part, parts[i - 1] if i else None), part.chunk.text)
            for i, part in enumerate(parts)
        )
        return Conversation(
            (*self.examples, {"role": "user", "content": self.prompt.request_message(documents)})
        )

    def for_chunk(self, doc: SourceDocument, chunk: Chunk) -> Conversation:
        """The request for one chunk of one document (its id is ``"1"``)."""
        return self.for_parts([Part("1", doc, chunk)])

    def reask(self, conversation: Conversation, reply: str | None, error: str) -> Conversation:
        """``conversation`` continued with the model's invalid ``reply`` and the validation ``error``."""
        return Conversation(
            (
                *conversation.messages,
                {"role": "assistant", "content": reply or ""},
                {"role": "user", "content": self.prompt.reask_message(error)},
            )
        )

    @staticmethod
    def attributes(part: Part, previous: Part | None = None) -> dict[str, str]:
        """A document's header, as its tag's attributes (name → value), in the order they are shown.

        ``source`` (unless email), ``from`` (the sender), ``to`` (an email's recipients and cc) or
        ``people`` (everyone else named), ``subject`` (email) or ``title`` when it differs from the
        ``previous`` part's (replies' "Re:" ignored), ``part`` ("2 of 5") for a chunk of a long document.
        """
        doc = part.doc
        email = doc.source == "email"
        attributes: dict[str, str] = {}
        if not email:
            attributes["source"] = doc.source
        sender = doc.sender
        if sender is not None:
            attributes["from"] = sender.label()
        others = [
            p
            for p in doc.participants
            if p.role != ParticipantRole.SENDER and (not email or p.role in _RECIPIENT_ROLES)
        ]
        if others:
            attributes["to" if email else "people"] = _names(others)
        if doc.title and (previous is None or _topic(previous.doc.title) != _topic(doc.title)):
            attributes["subject" if email else "title"] = doc.title
        if part.chunk.total > 1:
            attributes["part"] = f"{part.chunk.index + 1} of {part.chunk.total}"
        return attributes

    # -- size ---------------------------------------------------------------------
    def fixed_prompt_tokens(self, mode: OutputMode) -> int:
        """Prompt tokens every request in ``mode`` starts with: system, few-shot turns, schema, priming."""
        fixed = self._fixed_tokens.get(mode)
        if fixed is None:
            fixed = REPLY_PRIMING_TOKENS + self._message_tokens((self.system(mode), *self.examples))
            if mode is OutputMode.JSON_SCHEMA:
                fixed += count_tokens(self.schema_json)
            self._fixed_tokens[mode] = fixed
        return fixed

    def estimate_prompt_tokens(self, conversation: Conversation, mode: OutputMode) -> int:
        """Prompt tokens of a request as the server counts them (messages plus their framing)."""
        rest = conversation.messages[len(self.examples) :]
        return self.fixed_prompt_tokens(mode) + self._message_tokens(rest)

    @staticmethod
    def _message_tokens(messages: tuple[Message, ...]) -> int:
        return sum(count_tokens(m["content"]) + MESSAGE_OVERHEAD_TOKENS for m in messages)


def _names(people: list[Participant]) -> str:
    """``"Dana Lee, Priya Shah and 3 more"``: distinct labels, at most :data:`MAX_HEADER_PEOPLE` named."""
    labels = list(dict.fromkeys(p.label() for p in people))
    shown = ", ".join(labels[:MAX_HEADER_PEOPLE])
    more = len(labels) - MAX_HEADER_PEOPLE
    return f"{shown} and {more} more" if more > 0 else shown


def _topic(title: str | None) -> str:
    """A subject without its reply and forward prefixes, case and spacing folded (linear in the title)."""
    text = attribute_value(title or "").lower()
    pos = 0
    while True:
        colon = text.find(":", pos, pos + 6)
        if colon == -1 or text[pos:colon].strip() not in _REPLY_PREFIXES:
            return text[pos:].strip()
        pos = colon + 1
