"""The LLM wire schema: what the model is asked to return, and how it is read.

These pydantic models are the one source of the JSON schema sent to the model
(``response_format`` json_schema, strict) and of the validation applied to its
reply. They are *not* :class:`followthrough.types.ExtractedItem`: the wire item
carries what the model says (names and dates as written); the backend turns it
into an ``ExtractedItem`` after grounding, owner resolution and date
normalization.

The shape is fixed by DESIGN.md, with one extra field, ``message``: the id of
the document of the request that states the item (a request may carry several
documents, each ``<document id="...">``; :mod:`extractor.llm_messages`)::

    {"items": [{"message": "2", "type": "commitment", "owner": "Marco", "counterparty": "Dana",
                "action": "Send the revised pricing", "due": "Friday",
                "evidence": "I'll send the revised pricing to Dana by Friday"}]}

The schema sent requires ``message``; a reply without it still validates
(``""``: no document named), so a one-document request never fails on it.

Validation is lenient where models commonly wobble (``"Commitment"``, ``""``
for null, a bare list instead of ``{"items": [...]}``, code fences around the
JSON) and strict where it matters (type, action and evidence are required).
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

__all__ = [
    "WireItem",
    "WireResponse",
    "WireParseError",
    "parse_reply",
    "strict_json_schema",
    "response_format_json_schema",
]

_NULLISH = {"", "null", "none", "n/a", "na", "unknown", "-"}


def _nullable_text(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in _NULLISH:
        return None
    if isinstance(value, str):
        return value.strip()
    return value


class WireItem(BaseModel):
    """One commitment or request as the model reports it."""

    # Extra optional fields from the model are tolerated (DESIGN: "extra
    # optional fields are allowed"); the schema sent still forbids them.
    model_config = ConfigDict(extra="ignore")

    message: str = Field(default="", description="The id of the document that states it.")
    type: Literal["commitment", "request"] = Field(
        description="commitment: the speaker/sender (or their team) promises to do something; "
        "request: someone asks a person or team to do something."
    )
    owner: str | None = Field(description="Who must do it, as named in the text; null if unknown.")
    counterparty: str | None = Field(description="To whom it is promised, or who asked; null if unknown.")
    action: str = Field(description="Short imperative, e.g. 'Send the revised pricing'.")
    due: str | None = Field(description="The deadline exactly as written, e.g. 'by Friday'; null if none.")
    evidence: str = Field(description="Verbatim quote from the document that states it.")

    @field_validator("message", mode="before")
    @classmethod
    def _message(cls, value: Any) -> Any:
        """An id as the model wrote it: ``2`` or ``" 2 "`` is ``"2"``; ``null`` is ``""`` (none named)."""
        if value is None:
            return ""
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value.strip() if isinstance(value, str) else value

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("owner", "counterparty", "due", mode="before")
    @classmethod
    def _nullable(cls, value: Any) -> Any:
        return _nullable_text(value)

    @field_validator("action", "evidence")
    @classmethod
    def _non_empty(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be empty")
        return value


class WireResponse(BaseModel):
    """The whole reply: every item found in the document (possibly none)."""

    model_config = ConfigDict(extra="ignore")

    items: list[WireItem]


class WireParseError(ValueError):
    """The model's reply is not valid JSON in the wire shape.

    ``str(err)`` is short enough to send back to the model in a re-ask.
    """


_FENCE = re.compile(r"^\s*+```(?:json|JSON)?\s*+\n?(.*?)\n?```\s*+$", re.DOTALL)  # possessive: linear


def parse_reply(content: str | None) -> WireResponse:
    """Validate a reply's text, raising :class:`WireParseError` with a short reason."""
    if content is None or not content.strip():
        raise WireParseError("the reply was empty; expected a JSON object with an 'items' array")
    text = content.strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1).strip()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        # Some JSON-mode models wrap the object in prose: take the outermost object.
        start, end = text.find("{"), text.rfind("}")
        if start == -1 or end <= start:
            raise WireParseError(f"the reply is not valid JSON ({e.msg} at position {e.pos})") from e
        try:
            data = json.loads(text[start : end + 1])
        except json.JSONDecodeError as e2:
            raise WireParseError(f"the reply is not valid JSON ({e2.msg} at position {e2.pos})") from e2
    if isinstance(data, list):
        data = {"items": data}
    try:
        return WireResponse.model_validate(data)
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'reply'}: {err['msg']}" for err in e.errors()[:5]
        )
        raise WireParseError(f"the reply does not match the schema ({problems})") from e


def _strictify(node: Any, defs: dict[str, Any]) -> Any:
    """Inline ``$ref``s and apply OpenAI strict-mode rules to a pydantic schema."""
    if isinstance(node, list):
        return [_strictify(n, defs) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return _strictify(defs[name], defs)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("title", "default", "$defs", "description"):
            continue
        out[key] = _strictify(value, defs)
    if out.get("type") == "object" and "properties" in out:
        out["required"] = list(out["properties"])  # strict: every property required
        out["additionalProperties"] = False
    return out


def strict_json_schema() -> dict[str, Any]:
    """The wire schema in OpenAI strict form.

    Every property is required, ``additionalProperties`` is false at every
    level, nullable fields are ``anyOf [..., {"type": "null"}]``, references are
    inlined (servers that compile schemas to grammars, such as vLLM and
    llama.cpp, handle inline schemas best) and titles/defaults are dropped.
    """
    schema = WireResponse.model_json_schema()
    defs = schema.get("$defs", {})
    result = _strictify(schema, defs)
    assert isinstance(result, dict)
    return result


def response_format_json_schema() -> dict[str, Any]:
    """The ``response_format`` argument for structured outputs."""
    return {
        "type": "json_schema",
        "json_schema": {"name": "extraction", "strict": True, "schema": strict_json_schema()},
    }
