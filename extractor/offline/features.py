"""Features for the sentence detector: word n-grams, sentence shape and cues.

Shared by training (``extractor.train``) and inference (``extractor.offline.model``)
so the two can never drift apart. A feature is a string; the model is a weight
per string.

* ``w`` words and ``w_w`` word bigrams (URLs, emails and numbers folded to one token);
* ``first=<word>`` the first word after greetings and vocatives, and
  ``subj=<word>`` the first pronoun or name before the first verb-like word:
  the grammatical person of the act;
* ``len<=N`` the length bucket;
* ``act=commissive`` / ``act=directive`` / ``act=modified`` when any cue of
  that group fired: a back-off feature that lets a form rare in training
  share the weight of its group;
* ``cue=<name>`` each fired cue (:mod:`.cues`; the forms of :data:`AS_WE_WILL`
  also fire ``cue=fp_future``, those of :data:`AS_COULD_YOU` ``cue=you_modal``),
  and ``cue=<a>+<b>`` for a
  commissive or directive cue paired with a modifier (a hedge on a promise
  weighs differently from a hedge on a question). A team subject ("Our team
  will", "Legal will") and a known participant's name ("Priya will", when the
  extractor knows Priya takes part) also give ``subj=we``: in training email a
  named third person's future is mostly a report, in a conversation with that
  person it is their side's promise.
"""

from __future__ import annotations

import re

from extractor.offline.cues import COMMISSIVE, DIRECTIVE, Cues, analyze, first_word

_URL = re.compile(r"(?:https?://|www\.)\S+|\$LINK", re.I)
# An address's parts are bounded as real ones are (local part <= 64, domain <= 255): an unbounded
# ``[\w.+-]+@`` is retried from every boundary of a long "a.a.a..." token, which is quadratic.
_EMAIL = re.compile(r"\b[\w.+-]{1,64}@[\w-]{1,255}\.[\w.-]{1,255}\b")
_NUM = re.compile(r"\d+(?:[.,:/-]\d+)*")
_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?|[?!]")
_SUBJECTS = frozenset("i we you they he she it someone anyone everyone this that there".split())
# Commissive forms that bind the speaker's side just as "I/we will" does but are rare in training
# email: "let me", "happy to", "Will do", "On it", "I'm sending", "you'll have it from us", a team or
# role subject, a known participant's name. They also fire ``cue=fp_future``.
AS_WE_WILL = frozenset(
    {
        "let_me",
        "fp_offer",
        "bare_will",
        "take_on",
        "fp_progressive",
        "you_will_have",
        "team_future",
        "known_future",
    }
)
# Directive forms rare in training email that put work on the addressee as "could you" does: suggestions
# ("you should", "we should", "why don't you", "let's"). They also fire ``cue=you_modal``.
AS_COULD_YOU = frozenset({"you_should", "we_should", "suggest", "lets"})
_MODIFIERS = ("hedge", "self_cond", "negated", "past", "state_future", "pleasantry", "rhetorical")


def tokens(sentence: str) -> list[str]:
    s = sentence
    if "://" in s or not s.isascii() or "www." in s.lower() or "$link" in s.lower():  # what _URL needs
        s = _URL.sub(" url ", s)
    if "@" in s:
        s = _EMAIL.sub(" emailaddr ", s)
    s = _NUM.sub(" num ", s)
    return _TOKEN.findall(s.lower().replace("’", "'"))


def featurize(sentence: str, cues: Cues | None = None) -> list[str]:
    """Sorted, de-duplicated feature names of one sentence."""
    c = cues if cues is not None else analyze(sentence)
    toks = tokens(c.text or sentence)
    feats: set[str] = set(toks)
    feats.update(f"{a}_{b}" for a, b in zip(toks, toks[1:], strict=False))
    fw = first_word(c.body)
    if fw:
        feats.add(f"first={fw}")
    body_toks = tokens(c.body)[:4]
    subj = next((t.split("'")[0] for t in body_toks if t.split("'")[0] in _SUBJECTS), "none")
    feats.add(f"subj={subj}")
    n = len(toks)
    feats.add("len<=3" if n <= 3 else "len<=8" if n <= 8 else "len<=25" if n <= 25 else "len>25")
    names = c.names()
    if c.fired & AS_WE_WILL:
        feats.add("cue=fp_future")
    if c.fired & AS_COULD_YOU:
        feats.add("cue=you_modal")
    if c.fired & {"team_future", "known_future"}:
        feats.add("subj=we")
    feats.update(f"cue={name}" for name in names)
    acts = [x for x in names if x in COMMISSIVE or x in DIRECTIVE]
    mods = [x for x in names if x in _MODIFIERS]
    # Back-off features: every form of a group shares one weight, so a form rare in training
    # ("On it!", "Happy to set it up") still counts as what it is.
    if any(x in COMMISSIVE for x in acts):
        feats.add("act=commissive")
    if any(x in DIRECTIVE for x in acts):
        feats.add("act=directive")
    if mods:
        feats.add("act=modified")
    feats.update(f"cue={a}+{m}" for a in acts for m in mods)
    if not acts:
        feats.add("cue=none")
    return sorted(feats)
