"""Versioned prompt files, loaded into a strict model and checked at load time.

A prompt is a JSON file in this folder (``extract_v2.json``): the system
instructions, the definitions of commitment / request / neither, the templates
for one document of a request, JSON mode and the re-ask, and few-shot examples
as data. A request holds one or more documents, each rendered by
``document_template`` as ``<document id="2" from="Dana Lee" to="Marco Rossi">``,
its text, ``</document>``; every item the model returns names its document by
that id (``message``). Loading it checks that

* no field is unknown or missing (``extra="forbid"``),
* every template names exactly the placeholders the code fills in,
* every example's document ids are distinct, every example item names one of
  them, and its ``evidence`` occurs verbatim in *that* document's ``text``
  (examples that do not ground teach the model to invent quotes).

Untrusted text cannot break out of its document: ``<document`` and
``</document`` inside a text are defused (:func:`neutralize_tags`), and header
values (names, subjects) lose quotes, angle brackets and line breaks
(:func:`attribute_value`).

``Prompt.version`` is ``<name>@<first 12 hex of the file's sha256>``: any edit
to the file gives a new version, so cached extractions made with the old
prompt are not reused. The version is stored with every extraction.
"""

from __future__ import annotations

import hashlib
import json
import re
import string
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from followthrough.errors import ConfigError

__all__ = [
    "DEFAULT_PROMPT",
    "MAX_ATTRIBUTE_CHARS",
    "PROMPTS_DIR",
    "ExampleDocument",
    "ExampleItem",
    "Prompt",
    "PromptExample",
    "attribute_value",
    "load_prompt",
    "neutralize_tags",
]

PROMPTS_DIR = Path(__file__).resolve().parent
DEFAULT_PROMPT = "extract_v2"
MAX_ATTRIBUTE_CHARS = 120
"""A header value (a name list, a subject) is cut to this many characters."""

_TEMPLATE_FIELDS = {
    "system": {"definitions"},
    "json_mode_instruction": {"schema"},
    "document_template": {"id", "attributes", "text"},
    "reask_template": {"error"},
}
_DOC_TAG = re.compile(r"<(/?)document\b", re.IGNORECASE)
_ATTRIBUTE_NAME = re.compile(r"[a-z]{1,20}")
_UNSAFE_IN_ATTRIBUTE = str.maketrans({'"': "'", "<": "\u2039", ">": "\u203a"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExampleItem(_Strict):
    """An expected item in a few-shot example: the wire shape (see ``extractor.wire``)."""

    message: str
    """The id of the example document that states it."""
    type: Literal["commitment", "request"]
    owner: str | None
    counterparty: str | None
    action: str
    due: str | None
    evidence: str


class ExampleDocument(_Strict):
    """One document of a few-shot request: its id, its header (tag attributes, as rendered), its text."""

    id: str
    header: dict[str, str] = Field(default_factory=dict)
    text: str

    @model_validator(mode="after")
    def _names(self) -> ExampleDocument:
        for name in self.header:
            if not _ATTRIBUTE_NAME.fullmatch(name):
                raise ValueError(f"header attribute {name!r} is not 1-20 lowercase letters")
        return self


class PromptExample(_Strict):
    """A few-shot request (one or more documents) and the items a good reply names, each with its document."""

    documents: list[ExampleDocument] = Field(min_length=1)
    items: list[ExampleItem]

    @model_validator(mode="after")
    def _grounded(self) -> PromptExample:
        texts = {doc.id: doc.text for doc in self.documents}
        if len(texts) != len(self.documents):
            raise ValueError("example document ids must be distinct")
        for item in self.items:
            if item.message not in texts:
                raise ValueError(f"example item names document {item.message!r}, which the example lacks")
            if item.evidence not in texts[item.message]:
                raise ValueError(
                    f"example evidence {item.evidence!r} does not occur in example document {item.message!r}"
                )
        return self


class Definitions(_Strict):
    commitment: str
    request: str
    neither: str


class Prompt(_Strict):
    name: str
    description: str
    system: str
    definitions: Definitions
    json_mode_instruction: str
    document_template: str
    reask_template: str
    examples: list[PromptExample] = Field(default_factory=list)
    version: str = ""
    """Filled by :func:`load_prompt`: name and content hash."""

    @model_validator(mode="after")
    def _templates(self) -> Prompt:
        for field, expected in _TEMPLATE_FIELDS.items():
            template: str = getattr(self, field)
            try:
                names = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
            except ValueError as e:
                raise ValueError(f"{field}: bad template ({e})") from e
            if names != expected:
                raise ValueError(f"{field}: placeholders {sorted(names)} but expected {sorted(expected)}")
        return self

    # -- rendering ----------------------------------------------------------
    def system_message(self, *, schema_json: str | None = None) -> str:
        """The system prompt; with ``schema_json`` (JSON mode) the schema is appended."""
        d = self.definitions
        definitions = (
            f"Definitions:\n- commitment: {d.commitment}\n- request: {d.request}\n- neither: {d.neither}"
        )
        text = self.system.format(definitions=definitions)
        if schema_json is not None:
            text += "\n\n" + self.json_mode_instruction.format(schema=schema_json)
        return text

    def document_message(self, doc_id: str, attributes: Mapping[str, str], text: str) -> str:
        """One document of a request: ``<document id="2" from="Dana Lee">``, the text, ``</document>``.

        ``attributes`` (name → value; an empty value is left out) are made safe by
        :func:`attribute_value`, the text by :func:`neutralize_tags`.
        """
        rendered = "".join(f' {name}="{attribute_value(v)}"' for name, v in attributes.items() if v.strip())
        return self.document_template.format(
            id=attribute_value(doc_id), attributes=rendered, text=neutralize_tags(text)
        )

    def request_message(self, documents: Iterable[tuple[str, Mapping[str, str], str]]) -> str:
        """The user message of one request: each ``(id, attributes, text)`` as a document, one per line."""
        return "\n".join(self.document_message(i, attributes, text) for i, attributes, text in documents)

    def example_messages(self) -> list[dict[str, str]]:
        """Few-shot examples as alternating user/assistant chat messages."""
        messages: list[dict[str, str]] = []
        for ex in self.examples:
            request = self.request_message((d.id, d.header, d.text) for d in ex.documents)
            messages.append({"role": "user", "content": request})
            reply = {"items": [item.model_dump() for item in ex.items]}
            messages.append(
                {"role": "assistant", "content": json.dumps(reply, ensure_ascii=False, separators=(",", ":"))}
            )
        return messages

    def reask_message(self, error: str) -> str:
        return self.reask_template.format(error=error)


def neutralize_tags(text: str) -> str:
    """Keep untrusted text from closing (or opening) the ``<document>`` delimiter."""
    return _DOC_TAG.sub(lambda m: f"<{m.group(1)}\u200bdocument", text)


def attribute_value(value: str) -> str:
    """A header value that cannot leave its quotes or its tag: ``"`` becomes ``'``, ``<``/``>`` become
    ``‹``/``›``, white space runs (line breaks included) one space; at most :data:`MAX_ATTRIBUTE_CHARS`."""
    return " ".join(value.translate(_UNSAFE_IN_ATTRIBUTE).split())[:MAX_ATTRIBUTE_CHARS]


def load_prompt(name_or_path: str | Path = DEFAULT_PROMPT) -> Prompt:
    """Load and check a prompt by name (a file in this folder) or by path."""
    path = Path(name_or_path)
    if path.suffix != ".json":
        path = PROMPTS_DIR / f"{name_or_path}.json"
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"prompt file {path} cannot be read: {e.strerror or e}") from e
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as e:
        raise ConfigError(f"prompt file {path} is not valid JSON: {e}") from e
    if not isinstance(data, dict):
        raise ConfigError(f"prompt file {path} must hold a JSON object")
    data["version"] = f"{data.get('name', path.stem)}@{hashlib.sha256(raw).hexdigest()[:12]}"
    try:
        return Prompt.model_validate(data)
    except ValidationError as e:
        raise ConfigError(f"prompt file {path} is invalid: {e}") from e
