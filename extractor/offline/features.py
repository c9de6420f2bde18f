"""Features for the sentence detector: word n-grams, sentence shape and cues.

Shared by training (``extractor.train``) and inference (``extractor.offline.model``)
so the two can never drift apart.
"""

from __future__ import annotations

import re

from extractor.offline.cues import Cues, analyze, first_word, strip_lead

_URL = re.compile(r"(?:https?://|www\.)\S+|\$LINK", re.I)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b")
_NUM = re.compile(r"\d+(?:[.,:/-]\d+)*")
_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?|[?!]")


def tokens(sentence: str) -> list[str]:
    s = _URL.sub(" url ", sentence)
    s = _EMAIL.sub(" emailaddr ", s)
    s = _NUM.sub(" num ", s)
    return _TOKEN.findall(s.lower().replace("’", "'"))


def featurize(sentence: str, cues: Cues | None = None) -> list[str]:
    """Sorted, de-duplicated feature names of one sentence."""
    toks = tokens(sentence)
    feats: set[str] = set(toks)
    feats.update(f"{a}_{b}" for a, b in zip(toks, toks[1:], strict=False))
    body = strip_lead(sentence)
    fw = first_word(body)
    if fw:
        feats.add(f"first={fw}")
    n = len(toks)
    feats.add("len<=3" if n <= 3 else "len<=8" if n <= 8 else "len<=25" if n <= 25 else "len>25")
    c = cues if cues is not None else analyze(sentence)
    feats.update(f"cue={name}" for name in c.names())
    return sorted(feats)
