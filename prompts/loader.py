"""Versioned prompt files, loaded into a strict model and checked at load time.

A prompt is a JSON file in this folder (``extract_v1.json``): the system
instructions, the definitions of commitment / request / neither, the templates
for the document message, JSON mode and the re-ask, and few-shot examples as
data. Loading it checks that

* no field is unknown or missing (``extra="forbid"``),
* every template names exactly the placeholders the code fills in,
* every example's ``evidence`` occurs verbatim in that example's ``text``
  (examples that do not ground teach the model to invent quotes).

``Prompt.version`` is ``<name>@<first 12 hex of the file's sha256>``: any edit
to the file gives a new version, so cached extractions made with the old
prompt are not reused. The version is stored with every extraction.
"""

from __future__ import annotations

import hashlib
import json
import re
import string
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from followthrough.errors import ConfigError

__all__ = ["Prompt", "PromptExample", "ExampleItem", "load_prompt", "PROMPTS_DIR", "DEFAULT_PROMPT"]

PROMPTS_DIR = Path(__file__).resolve().parent
DEFAULT_PROMPT = "extract_v1"

_TEMPLATE_FIELDS = {
    "system": {"definitions"},
    "json_mode_instruction": {"schema"},
    "document_template": {"header", "text"},
    "reask_template": {"error"},
}
_DOC_TAG = re.compile(r"<(/?)document\b", re.IGNORECASE)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExampleItem(_Strict):
    """An expected item in a few-shot example: the wire shape (see ``extractor.wire``)."""

    type: Literal["commitment", "request"]
    owner: str | None
    counterparty: str | None
    action: str
    due: str | None
    evidence: str


class PromptExample(_Strict):
    header: str
    text: str
    items: list[ExampleItem]

    @model_validator(mode="after")
    def _grounded(self) -> PromptExample:
        for item in self.items:
            if item.evidence not in self.text:
                raise ValueError(f"example evidence {item.evidence!r} does not occur in its example text")
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

    def document_message(self, header: str, text: str) -> str:
        """The user message for one document (or chunk): header, then the delimited text."""
        return self.document_template.format(header=header, text=neutralize_tags(text))

    def example_messages(self) -> list[dict[str, str]]:
        """Few-shot examples as alternating user/assistant chat messages."""
        messages: list[dict[str, str]] = []
        for ex in self.examples:
            messages.append({"role": "user", "content": self.document_message(ex.header, ex.text)})
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
