"""From a sentence to an action: the assignee of an action-item line, the words after the cue, a
short imperative, and the clause a due date must sit in."""

from __future__ import annotations

import re

from extractor.offline.cues import NOT_NAMES, fluent

AI_INLINE = re.compile(
    r"^\W*(?:action\s*items?|ai|todo|to-do|action)\s*+(?:\((?P<who>[^)]{1,40})\))?"
    r"(?:\s*+[:\-–]\s*|(?<=\s)(?=@\w))",
    re.I,
)
BULLET_LINE = re.compile(r"^\s*(?:[-*•·▪‣–+]|\d{1,2}[.)]|\[[ xX]?\])\s*")
_NAME = r"@?[A-Z][\w'.-]{1,24}(?:\s+[A-Z][\w'.-]{1,24})?"
# The assignee's side or company in brackets after the name: "Dana (Contoso): share the schema".
_AFFILIATION = r"(?:\s*\([^()]{1,40}\))?"
_AI_OWNER_COLON = re.compile(rf"^(?P<name>{_NAME}){_AFFILIATION}\s*(?::|\s[-–—]\s)\s*(?P<rest>.+)$", re.S)
_AI_OWNER_TO = re.compile(
    rf"^(?P<name>{_NAME}){_AFFILIATION}\s+(?:to|will|'ll|should|needs to|is going to|agreed to|owns"
    rf"|takes?)\s+(?P<rest>.+)$",
    re.S,
)
# "@Priya test SCIM in staging": an @mention before the verb names the assignee.
_AI_OWNER_AT = re.compile(r"^(?P<name>@[\w'.-]{1,24}(?:\s+[A-Z][\w'.-]{1,24})?)\s+(?P<rest>[a-z].+)$", re.S)
# Starts only where a run of separators starts, and reads it whole (the name after it starts with no
# separator), so a long run is read once.
_AI_OWNER_TRAIL = re.compile(rf"(?<![\s(\[–—-])[\s(\[–—-]++(?:owner:\s*)?(?P<name>{_NAME})\s*+[)\]]?\s*+\.?$")

COMMIT_LEAD = re.compile(
    r"^.*?\b(?:i|we)(?:'ll|’ll| will| shall|'m going to| am going to|'re going to| are going to| plan to"
    r"| intend to| promise to| commit to| aim to| still plan to| am planning to|'m planning to|'d be happy to"
    r"| would be happy to|'m happy to| am happy to|'re happy to| are happy to|'d be glad to| would be glad to"
    r"| can| could| am willing to| are willing to|'m willing to|'m gonna| am gonna|'re gonna)\s+"
    r"(?:also\s+|then\s+|just\s+|definitely\s+|certainly\s+|gladly\s+|try to\s+|try and\s+|be sure to\s+"
    r"|make sure to\s+|go ahead and\s+|personally\s+|now\s+|still\s+)*",
    re.I | re.S,
)
LET_ME = re.compile(r"^.*?\b(?:let me|lemme|allow me to|happy to|glad to|gonna|going to)\s+", re.I | re.S)
REQUEST_LEAD = re.compile(
    r"^.*?\b(?:(?:can|could|would|will)\s+(?:you|anyone|anybody|someone|somebody|people|everyone|one of you)"
    r"(?:\s+(?:please|kindly|also|possibly|maybe|just))*\s+|please\s+|pls\s+|kindly\s+"
    r"|(?:i|we)\s+(?:need|want|would like|'d like)\s+(?:you|someone|somebody|everyone)\s+to\s+"
    r"|(?:can|could|may)\s+(?:we|i)\s+(?=get\b|have\b|see\b|schedule\b|set\b|book\b)"
    r"|(?:i|we)\s+(?:was|were|am|are|'m|'re)\s+(?:just\s+)?wondering\s+(?:if|whether)\s+(?:you|anyone)\s+"
    r"(?:could|can|would|might)\s+|why\s+(?:don't|do not)\s+you\s+|(?:maybe|perhaps)\s+you\s+(?:could|can)\s+"
    r"|i(?:'d| would) (?:appreciate it|be grateful) if you (?:could |would )?)",
    re.I | re.S,
)
# Where the action's clause ends. A cut starts where a run of white space starts and reads the run whole
# (what follows it is never white space), so a long run is read once: ``\s*`` before alternatives that
# themselves start with ``\s`` retried the run from each of its characters (cubic).
_CLAUSE_CUT = re.compile(
    r"(?<!\s)(?:\s*+(?:[;(]|,\s*(?:but|and then|so|as|since|because|which|if|once|when|unless)\b"
    r"|,\s+(?:and|but)\s+(?:i|we|you|he|she|they)(?:'ll|'d|\s)\b"
    r"|,\s+(?:with|including|plus|broken|ahead of|given|along with|as well as|in case)\b)"
    r"|\s++(?:[-–—]\s|(?:if|so that|so we|so I|because|as soon as|once|when|unless|in case|while)\b"
    r"|(?:and|but)\s+(?:i|we|you|he|she|they)(?:'ll|'d|\s)\b"
    r"|so\s+(?:\w+\s+){0,5}?(?:can|could|will|'ll)\b))",
    re.I,
)
ADDRESS = re.compile(
    r"^\W*(?P<name>@?[A-Z][\w'.-]{1,24}(?:\s+[A-Z][\w'.-]{1,24})?)(?=\s*(?:[,:]|\s[-–—]\s|\s))"
)
_SPACES = re.compile(r"\s+")
_SPACE_PUNCT = re.compile(r"(?<!\s)\s++([,.;:!?])")
_PREAMBLE_END = re.compile(r"[:;](?=\s)")
_DANGLING = re.compile(r"(?<!\s)\s++(?:for|by|on|in|at|before|until|within|no later than)$", re.I)
_TRAIL_POLITE = re.compile(r"(?<![\s,])[\s,]++(?:please|pls|thanks|thank you|thx)\W*+$", re.I)
_TRAIL = re.compile(r"(?<![\s,.;:!?)(\-–—:'\"])[\s,.;:!?)(\-–—:'\"]++$")


def clause_start(sentence: str, action_text: str) -> int:
    """Where the clause holding the action begins (after a ":" or ";" preamble), for due-date scope."""
    at = sentence.find(action_text[:40]) if action_text else -1
    if at <= 0:
        return 0
    cut = 0
    for m in _PREAMBLE_END.finditer(sentence[:at]):
        cut = m.end()
    return cut


def action_item_body(s: str) -> tuple[str, str | None]:
    """The action and its assignee's name from an action-item line."""
    body = BULLET_LINE.sub("", s, count=1).strip()
    m = AI_INLINE.match(body)
    who: str | None = None
    if m:
        who = m.group("who")
        body = body[m.end() :]
    for pat in (_AI_OWNER_COLON, _AI_OWNER_TO, _AI_OWNER_AT):
        mm = pat.match(body)
        if mm and mm.group("name").lstrip("@").split()[0].lower() not in NOT_NAMES:
            return mm.group("rest"), who or mm.group("name")
    mt = _AI_OWNER_TRAIL.search(body)
    if mt and mt.group("name").lstrip("@").split()[0].lower() not in NOT_NAMES and mt.start() > 5:
        return body[: mt.start()], who or mt.group("name")
    return body, who


def make_action(text: str, due_text: str | None = None) -> str:
    """A short imperative from the words that follow the cue ("send the pricing to Dana")."""
    s = fluent(text).strip()
    if due_text:
        idx = s.find(due_text)
        if idx > 0:
            s = (s[:idx] + s[idx + len(due_text) :]).strip()
    prefix = ""
    if s.startswith("Reply: "):
        prefix, s = "Reply: ", s[len("Reply: ") :]
    else:
        m = _CLAUSE_CUT.search(s)
        if m and m.start() > 8:
            s = s[: m.start()]
    s = _SPACES.sub(" ", s)
    s = _SPACE_PUNCT.sub(r"\1", s)
    s = _TRAIL_POLITE.sub("", s)
    s = _TRAIL.sub("", s)
    s = _DANGLING.sub("", s)  # "schedule a call for [next week]": the date was taken out
    if len(s) > 120:
        cut = s.rfind(" ", 0, 117)
        s = s[: cut if cut > 40 else 117] + "…"
    if s and not prefix:
        s = s[0].upper() + s[1:]
    return prefix + s
