"""Issue 13 (remainder): the cue table's literal prefilters skip searches, never change a cue.

The offline extractor searched every cue pattern in every sentence (1.9M ``re.search`` calls for
10,000 messages). :mod:`extractor.offline.literals` works out, from each pattern's syntax tree, the
words any match must contain, and one scan per sentence finds which of them occur. These tests
hold the prefilters to what they claim: a pattern a prefilter rules out does not match, and the
cues of every sentence are the ones the unfiltered table gives.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from extractor.offline import cues
from extractor.offline.literals import KeyScan, Prefiltered, required_literals
from extractor.offline.sentences import sentences

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "cases"
DEMO = ROOT / "fixtures" / "demo"

_HOSTILE = [
    "",
    "?",
    "??!!",
    "-- ",
    "__",
    "==",
    "I'll I'll I'll send it",
    "the the the the",
    "I’ll send it, uh, tomorrow",
    "We We will will share it",
    "Thanks, Dana! I'll send the deck by Friday.",
    "ſend it? İ will. The Kelvin sign: K, the long s: ſ, dotless ı'll do it",  # case-folding pairs
    "I WILL SEND THE REPORT BY FRIDAY, IF I CAN.",
    "Could you, please, confirm whether we'll get it?",
    "From: Dana <dana@acme.com>",
    "On Mon, Mar 2, 2026 at 10:00 AM Dana Lee wrote:",
    "This email and any attachments is confidential and intended for the recipient only.",
]


def _corpus() -> list[str]:
    """Sentences from the case files and the demo workspace, and hostile and case-folded variants."""
    texts: list[str] = []
    files = sorted(CASES.glob("*.jsonl"))
    assert files, "tests/cases is missing"
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts += sentences(json.loads(line)["text"])
    demo = sorted(p for p in DEMO.rglob("*") if p.is_file() and p.suffix in (".mbox", ".md", ".vtt", ".json"))
    assert demo, "fixtures/demo is missing"
    for path in demo:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            texts += sentences(line)
    base = [t for t in texts if t.strip()] + _HOSTILE
    variants = [t.upper() for t in base] + [t.replace("'", "’") for t in base]
    variants += [t.replace("i", "ı").replace("s", "ſ") for t in base[:300]]
    return base + variants


def _patterns() -> list[re.Pattern[str]]:
    """Every pattern the cue table filters: prefiltered ones and hand-gated ones."""
    from extractor.offline.cues import _FILTERS, _GATES

    return [f.rx for f in _FILTERS] + [g.rx for g in _GATES]


def _fuzz(keys: list[str], rng: random.Random, n: int) -> list[str]:
    """Strings made of pieces of the keys, letters, marks and white space."""
    pieces = [k[i:j] for k in keys for i in range(len(k)) for j in range(i + 1, len(k) + 1)][:400]
    pieces += list("abcdefghijklmnopqrstuvwxyz ,.?!'-:") + ["I", "We", "you"]
    return ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 12))) for _ in range(n)]


@pytest.fixture(scope="module")
def corpus() -> list[str]:
    return _corpus()


def test_every_heavy_cue_pattern_has_a_prefilter() -> None:
    """The patterns that no hand-written gate covered now have one (most of the searches saved)."""
    for name in ("_BOILERPLATE", "_CLOSING", "_FLOOR", "_RHETORICAL", "_PLEASANTRY", "_PAST", "_HEDGE"):
        keys = required_literals(re.compile(getattr(cues, name), re.IGNORECASE))
        assert keys, name
        assert all(k and k == k.lower() for k in keys), (name, keys)


def test_a_pattern_ruled_out_never_matches(corpus: list[str]) -> None:
    """Soundness on real sentences and on strings built from the keys' own pieces."""
    rng = random.Random(13)
    checked = 0
    for rx in _patterns():
        f = Prefiltered(rx)
        texts = corpus + _fuzz(sorted(f.keyset), rng, 300)
        for text in texts:
            low = text.lower()
            if rx.search(text) is not None:
                assert f.possible(text, low), (rx.pattern[:80], text)
                checked += 1
    assert checked > 500


@pytest.mark.parametrize(
    "pattern, text",
    [
        (r"\bkelvin\b", "KELVIN"),
        (r"ask", "ASK"),  # the Kelvin sign folds to k under IGNORECASE: such text is always searched
        (r"(?:yes|no)+ thanks", "nonoyes thanks"),
        (r"a(?=bc)bcd", "xabcd"),
        (r"\bwill\s+be\s+sent\b", "It will be sent."),
    ],
)
def test_prefilter_admits_what_matches(pattern: str, text: str) -> None:
    f = Prefiltered(re.compile(pattern, re.IGNORECASE))
    assert f.rx.search(text)
    assert f.possible(text, text.lower())
    folded = text.replace("K", "\u212a").replace("k", "\u212a")
    if f.rx.search(folded):  # non-ASCII text is never ruled out
        assert f.possible(folded, folded.lower())


def test_key_scan_finds_exactly_the_keys_that_occur() -> None:
    rng = random.Random(7)
    alphabet = "ab c'."
    for _ in range(1500):
        keys = {
            "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 5))) for _ in range(rng.randint(1, 12))
        }
        scan = KeyScan(keys)
        for _ in range(10):
            text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
            assert scan.present(text) == frozenset(k for k in keys if k in text), (keys, text)


def test_cues_are_those_of_the_unfiltered_table(corpus: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Every sentence fires the same cues (and reads the same body) with and without the prefilters."""
    fast = [cues.analyze(t) for t in corpus]
    every_key = [k for g in cues._GATES for k in g.keys]

    def naive_keys(v: cues.View) -> frozenset[str]:
        return frozenset(k for k in every_key if k in v.low)

    monkeypatch.setattr(cues, "_keys_in", naive_keys)  # the hand-written gates as they were
    monkeypatch.setattr(cues, "_possible", lambda f, v: True)  # every pattern searched
    monkeypatch.setattr(cues, "_may_repeat", lambda s: True)
    # every cue's test called (analyze's own gate check off)
    monkeypatch.setattr(cues, "_plan", lambda: tuple((c.name, c.test, frozenset(), False) for c in cues.CUES))
    cues.view.cache_clear()
    try:
        slow = [cues.analyze(t) for t in corpus]
    finally:
        cues.view.cache_clear()
    assert sum(bool(c.fired) for c in slow) > 200
    for text, a, b in zip(corpus, fast, slow, strict=True):
        assert (a.fired, a.body, a.text) == (b.fired, b.body, b.text), text


def test_repeat_prefilter_is_sound() -> None:
    """:func:`cues.fluent`'s repeat check is skipped only where its pattern cannot match."""
    rng = random.Random(3)
    words = ["I", "i", "we", "We", "I'll", "send", "it", "the", "uh", "ok", "Ok", "'ll", "x"]
    seps = [" ", "  ", ", ", ",", "\t", "-", "'", ". "]
    for _ in range(20000):
        s = "".join(rng.choice(words) + rng.choice(seps) for _ in range(rng.randint(1, 9)))
        if cues._REPEAT.search(s):
            assert cues._may_repeat(s), s


def test_filler_prefilter_is_sound() -> None:
    """:func:`cues.fluent` skips the filler substitution only where its pattern cannot match."""
    rng = random.Random(4)
    words = ["uh", "Uhh", "um", "umm", "uhm", "er", "Erm", "ah", "hmm", "mm", "after", "her", "-er", "err"]
    words += ["I", "send", "it", "x-um", "sum", "ahead", "ERR", "Mm,", "uh.", "ok"]
    seps = [" ", "  ", ", ", ",", "\t", "-", "'", ". ", ""]
    for _ in range(20000):
        s = "".join(rng.choice(words) + rng.choice(seps) for _ in range(rng.randint(1, 9)))
        if cues._FILLER.search(s):
            assert cues._FILLER_AT.search(s), s
