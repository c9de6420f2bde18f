"""The chat messages of one request: system prompt, few-shot turns, the document chunk, a re-ask.

A :class:`Conversation` is every message after the system message, which is
built per request because it depends on the :class:`OutputMode` in use (JSON
mode and text mode carry the schema in it). The framing the code adds around
the prompt file's templates (:mod:`prompts.loader`) is named here: the header
that precedes each chunk (source and sender, date, subject or title, at most
:data:`MAX_HEADER_PEOPLE` participants, the part number of a long document)
and the per-message overhead used to estimate prompt tokens before sending.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from extractor.chunking import Chunk
from extractor.llm_settings import OutputMode
from extractor.token_count import count_tokens
from extractor.wire import response_format_json_schema, strict_json_schema
from followthrough.types import SourceDocument
from prompts.loader import Prompt

__all__ = [
    "HEADER_SEPARATOR",
    "HEADER_TIME_FORMAT",
    "JSON_OBJECT_FORMAT",
    "MAX_HEADER_PEOPLE",
    "MESSAGE_OVERHEAD_TOKENS",
    "REPLY_PRIMING_TOKENS",
    "Conversation",
    "MessageBuilder",
]

Message = dict[str, str]
"""One chat message: ``{"role": "system" | "user" | "assistant", "content": text}``."""

MAX_HEADER_PEOPLE = 12
"""Participants named in a chunk's header; more are counted ("and 3 more")."""
HEADER_TIME_FORMAT = "%Y-%m-%d %H:%M %Z (%A)"
"""When the document was written, as the header shows it (the weekday helps the model read "Friday")."""
HEADER_SEPARATOR = "; "
"""Between the header's parts: ``email from Marco Rossi; 2026-03-10 09:30 (Tuesday); subject: ...``."""
MESSAGE_OVERHEAD_TOKENS = 4
"""Tokens a server adds per chat message (role and separators), as OpenAI counts them."""
REPLY_PRIMING_TOKENS = 3
"""Tokens a server adds once per request to prime the assistant's reply."""
JSON_OBJECT_FORMAT: dict[str, Any] = {"type": "json_object"}
"""The ``response_format`` of :attr:`OutputMode.JSON_OBJECT`."""


@dataclass(frozen=True)
class Conversation:
    """The messages of one request after the system message: few-shot turns, then the document."""

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

    def for_chunk(self, doc: SourceDocument, chunk: Chunk) -> Conversation:
        """The few-shot turns, then the chunk under its document's header."""
        header = self.header(doc)
        if chunk.total > 1:
            header += f"{HEADER_SEPARATOR}part {chunk.index + 1} of {chunk.total}"
        document = {"role": "user", "content": self.prompt.document_message(header, chunk.text)}
        return Conversation((*self.examples, document))

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
    def header(doc: SourceDocument) -> str:
        """What the model knows of a document besides its text: source, sender, date, title, people."""
        when = doc.occurred_at.strftime(HEADER_TIME_FORMAT).replace("  ", " ")
        people = [
            f"{p.name} <{p.email}>" if p.name and p.email else p.label()
            for p in doc.participants[:MAX_HEADER_PEOPLE]
        ]
        more = len(doc.participants) - MAX_HEADER_PEOPLE
        if more > 0:
            people.append(f"and {more} more")
        sender = doc.sender
        parts = [f"{doc.source} {'from ' + sender.label() if sender else ''}".strip(), when]
        if doc.title:
            parts.append(f"subject: {doc.title}" if doc.source == "email" else f"title: {doc.title}")
        if people:
            parts.append("participants: " + ", ".join(people))
        return HEADER_SEPARATOR.join(parts)

    # -- size ---------------------------------------------------------------------
    def estimate_prompt_tokens(self, conversation: Conversation, mode: OutputMode) -> int:
        """Prompt tokens of a request as the server counts them (messages plus their framing)."""
        fixed = self._fixed_tokens.get(mode)
        if fixed is None:
            fixed = REPLY_PRIMING_TOKENS + self._message_tokens((self.system(mode), *self.examples))
            if mode is OutputMode.JSON_SCHEMA:
                fixed += count_tokens(self.schema_json)
            self._fixed_tokens[mode] = fixed
        rest = conversation.messages[len(self.examples) :]
        return fixed + self._message_tokens(rest)

    @staticmethod
    def _message_tokens(messages: tuple[Message, ...]) -> int:
        return sum(count_tokens(m["content"]) + MESSAGE_OVERHEAD_TOKENS for m in messages)
