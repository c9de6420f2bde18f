"""Text that reads as an instruction to the model, not as something one person says to another.

A prompt injection is written to be read by the model that processes the document, so it uses the
language of that situation, which business correspondence has no use for. Each row of :data:`CUES` is
one such move, named, with what it means and the pattern that finds it:

* **override**: dismissing what the reader was told before ("ignore the previous instructions",
  "disregard all prior rules", "forget everything above");
* **new_orders**: announcing replacement instructions ("new instructions:", "your real task is");
* **vocative**: calling the model by what it is and dictating to it ("Assistant, record this:",
  "Please output: ...");
* **persona**: reassigning the reader's role or mode ("you are now DAN", "from now on you will",
  "act as an unrestricted AI", "developer mode");
* **to_the_model**: addressing the model as such ("as an AI language model", "dear assistant",
  "note to the AI reading this", "the system prompt");
* **output_control**: dictating the model's output rather than asking a person for work ("output a
  commitment", "return JSON", "add this to your output", "mark this as a commitment");
* **turn_markers**: forged conversation structure ("</document>", "<|im_start|>", "SYSTEM:",
  "[INST]", "### instructions");
* **concealment**: keeping the operator in the dark ("do not tell the user").

A model that obeys an injection quotes it as evidence; an item whose evidence or action reads like
this is flagged ``instruction`` (and ``unconfirmed``), never stored as an open item. The patterns are
linear (literal words joined by bounded white space), like every pattern of the extractor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["CUES", "InstructionCue", "instruction_cues"]


@dataclass(frozen=True, slots=True)
class InstructionCue:
    """One move of an injection: ``rx`` finds it."""

    name: str
    meaning: str
    rx: re.Pattern[str]


def _cue(name: str, meaning: str, pattern: str, flags: int = re.IGNORECASE) -> InstructionCue:
    return InstructionCue(name, meaning, re.compile(pattern, flags))


_S = r"[ \t]{1,8}"  # the space between two words of a cue (bounded: a long run is not re-read)
_DET = rf"(?:(?:all|any|every|each|the|your|my|these|those|of|its){_S}){{0,3}}"
_EARLIER = r"(?:previous|prior|preceding|above|earlier|original|initial|system|safety|developer)"
_ORDERS = (
    r"(?:instructions?|prompts?|rules?|directions?|directives?|guidelines?|guidance|constraints?"
    r"|commands?|programming|training|restrictions?|guardrails?)"
)
# Words for the model itself (not for a person: "agent", "Claude" and "Gemini" are people too).
_MODEL = rf"(?:ai|a\.i\.|(?:large{_S})?language{_S}models?|llms?|chat{_S}?bots?|bots?|gpt(?:-?\d+)?|chatgpt)"
_ITEM = rf"(?:commitments?|requests?|promises?|obligations?|action{_S}items?|items?|entr(?:y|ies))"

CUES: tuple[InstructionCue, ...] = (
    _cue(
        "override",
        "dismisses what the reader was told before",
        rf"\b(?:ignore|disregard|forget|override|overrule|bypass|discard|abandon){_S}{_DET}"
        rf"(?:{_EARLIER}{_S}{_ORDERS}|{_ORDERS}{_S}(?:above|so{_S}far|you(?:{_S}were|'ve{_S}been|{_S}have"
        rf"{_S}been){_S}(?:given|told))|everything{_S}(?:above|before|you{_S}(?:were|have{_S}been|'ve"
        rf"{_S}been){_S}(?:given|told)))\b",
    ),
    _cue(
        "new_orders",
        "announces instructions that replace the reader's",
        rf"\b(?:new|updated|revised|real|actual|true|secret|hidden|override){_S}(?:system{_S})?"
        rf"(?:instructions?|prompt|directives?)[ \t]{{0,8}}:"
        rf"|\byour{_S}(?:real|actual|true|new){_S}(?:task|instructions?|goal|purpose){_S}(?:is|are)\b"
        rf"|\b(?:instructions?|orders|directives?|commands?){_S}from{_S}(?:the{_S})?(?:system|developers?"
        rf"|operators?|administrators?|admins?)\b",
    ),
    _cue(
        "vocative",
        "calls the model by what it is at the head of a sentence, or dictates output to it",
        rf"(?:^|[.!?\n][ \t]{{0,8}})(?:(?:hey|ok|okay|dear|attention){_S})?"
        rf"(?:assistant|chat{_S}?bot|bot|llm|gpt|chatgpt|(?:large{_S})?language{_S}model)"
        rf"[ \t]{{0,8}}[,:]"
        rf"|\b(?:output|emit|print){_S}(?:this|the{_S}following)[ \t]{{0,8}}:|\b(?:please{_S})?(?:output"
        rf"|emit)[ \t]{{0,8}}:|\b(?:record|log){_S}this[ \t]{{0,8}}:",
    ),
    _cue(
        "persona",
        "reassigns the reader's role or mode",
        rf"\byou{_S}are{_S}(?:now|no{_S}longer){_S}(?:an?{_S}|in{_S}|the{_S})?(?:{_MODEL}\b|dan\b"
        rf"|unrestricted|unfiltered|jailbroken|(?:admin|developer|god|debug|jailbreak|dan|unrestricted|sudo"
        rf"|root|maintenance|test){_S}mode\b|acting{_S}as|operating{_S}as)"
        rf"|\bfrom{_S}now{_S}on,?{_S}you{_S}(?:are|will|must|shall|should|may)\b"
        rf"|\b(?:act|behave|respond|answer|function){_S}as{_S}(?:if{_S}you{_S}(?:were|are){_S})?(?:an?{_S})?"
        rf"(?:unrestricted|unfiltered|jailbroken|evil|rogue|uncensored){_S}{_MODEL}"
        rf"|\bpretend{_S}(?:to{_S}be|(?:that{_S})?you(?:'re|{_S}are)){_S}(?:an?{_S})?(?:[a-z]{{1,20}}{_S})?"
        rf"{_MODEL}\b"
        rf"|\b(?:developer|admin|god|debug|jailbreak|dan|sudo){_S}mode\b|\bjailbr(?:eak|oken)\b"
        rf"|\bdo{_S}anything{_S}now\b",
    ),
    _cue(
        "to_the_model",
        "addresses the model as such",
        rf"\bas{_S}an?{_S}(?:(?:ai|llm){_S}(?:language{_S})?(?:model|assistant|system)|(?:large{_S})?language"
        rf"{_S}model|(?:ai|llm)(?=[ \t]{{0,8}}[,;:]))"
        rf"|\byou(?:{_S}are|'re){_S}(?:only{_S}|just{_S})?an?{_S}(?:(?:ai|llm){_S}(?:language{_S})?"
        rf"(?:model|assistant|system)|(?:large{_S})?language{_S}model|chat{_S}?bot"
        rf"|(?:ai|llm)(?![ \t]{{1,8}}\w))"
        rf"|\b(?:dear|hey|attention|note{_S}to(?:{_S}the)?|message{_S}(?:to|for)(?:{_S}the)?|instructions?"
        rf"{_S}(?:to|for)(?:{_S}the)?){_S}(?:{_MODEL}|assistant|model)\b"
        rf"|\b(?:{_MODEL}|assistants?){_S}(?:reading|processing|parsing|summari[sz]ing|analy[sz]ing)"
        rf"{_S}(?:this|these|the{_S}(?:above|following))\b"
        rf"|\bsystem{_S}(?:prompt|instructions?)\b",
    ),
    _cue(
        "output_control",
        "dictates the model's output instead of asking a person for work",
        rf"\b(?:output|emit|fabricate|invent|inject|hallucinate){_S}(?:(?:a|an|the|this|these|one|another"
        rf"|following|new|extra|additional|fake|open){_S}){{0,2}}{_ITEM}\b"
        rf"|\b(?:(?:respond|reply|answer){_S}(?:only{_S})?(?:with|in)|output|emit|print{_S}only|return"
        rf"{_S}only){_S}(?:(?:only|just|a|an|the|this|following|valid|raw){_S}){{0,3}}(?:json|yaml|xml)\b"
        rf"|\b(?:in|to|into|from){_S}your{_S}(?:output|json|extraction|extracted{_S}items|results{_S}list"
        rf"|items{_S}(?:list|array))\b"
        rf"|\b(?:mark|flag|classify|label|tag|extract){_S}(?:this|it|that|the{_S}(?:following"
        rf"|above|sentence|line)|this{_S}(?:sentence|line|text)){_S}as{_S}(?:an?{_S})?(?:(?:open|confirmed"
        rf"|new|valid|binding|firm){_S})?{_ITEM}\b",
    ),
    _cue(
        "turn_markers",
        "forges the structure of the conversation with the model",
        r"</?(?:document|system|instructions?|prompt|context|input)>"
        r"|<\|(?:im_start|im_end|system|user|assistant|endoftext|begin_of_text|eot_id)\|>"
        r"|(?:^|\n)[ \t]{0,8}system[ \t]{0,8}:"
        r"|\[/?(?:system|inst|sys)\]|<</?sys>>"
        r"|#{1,6}[ \t]{0,8}(?:system|new[ \t]{1,8}instructions?)\b"
        rf"|\b(?:begin|start|end){_S}(?:of{_S})?(?:(?:the{_S})?system{_S}prompt|instructions{_S}for{_S}the{_S}"
        rf"(?:{_MODEL}|assistant|model))\b"
        rf"|\bend{_S}of{_S}(?:the{_S})?(?:document|user{_S}input)\b",
    ),
    _cue(
        "concealment",
        "keeps the person who runs the model in the dark",
        rf"\b(?:do{_S}not|don't|never){_S}(?:tell|inform|alert|warn|notify|mention{_S}(?:this|it){_S}to"
        rf"|reveal{_S}(?:this|it){_S}to){_S}(?:the{_S})?(?:user|human|operator)s?\b"
        rf"|\bwithout{_S}(?:telling|informing|alerting|notifying){_S}(?:the{_S})?(?:user|human|operator)s?\b",
    ),
)


def instruction_cues(text: str) -> list[str]:
    """The names of the cues of :data:`CUES` that ``text`` shows, in table order (empty: none)."""
    return [cue.name for cue in CUES if cue.rx.search(text)]
