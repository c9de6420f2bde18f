"""Grounding: quotes align to the source with offsets right for any script."""

from __future__ import annotations

import pytest

from extractor.grounding import Aligner, align_quote
from followthrough.types import AlignmentStatus

TEXT = (
    "Bonjour Zoë — je vous envoie le devis révisé d’ici vendredi. 😀👩‍💻 "
    "日本語のテキストです。 I’ll send the revised pricing to Dana by Friday.\n"
    "Can  you\nconfirm the SSO setup?"
)


@pytest.mark.parametrize(
    "quote",
    ["je vous envoie le devis révisé", "日本語のテキストです。", "😀👩‍💻", "I’ll send the revised pricing"],
)
def test_exact_offsets_are_str_characters(quote: str) -> None:
    ev = align_quote(quote, TEXT)
    assert ev.alignment is AlignmentStatus.EXACT
    assert ev.char_start is not None and ev.char_end is not None
    assert TEXT[ev.char_start : ev.char_end] == quote == ev.quote


def test_normalized_case_whitespace_quotes_and_accents() -> None:
    # straight apostrophe vs curly, no accents, collapsed whitespace, upper case
    cases = {
        "I'll send the revised pricing to Dana by Friday": "I’ll send the revised pricing to Dana by Friday",
        "JE VOUS ENVOIE  LE DEVIS REVISE": "je vous envoie le devis révisé",
        "Can you confirm the SSO setup?": "Can  you\nconfirm the SSO setup?",
        "\u201cCan you confirm the SSO setup?\u201d": "Can  you\nconfirm the SSO setup?",
    }
    for quote, span in cases.items():
        ev = align_quote(quote, TEXT)
        assert ev.alignment is AlignmentStatus.FUZZY, quote
        assert ev.quote == span
        assert TEXT[ev.char_start : ev.char_end] == span  # type: ignore[misc]


def test_decomposed_accents_in_source() -> None:
    text = "Nous enverrons le devis re\u0301vise\u0301 demain."
    ev = align_quote("le devis révisé", text)
    assert ev.grounded
    assert ev.quote == "le devis re\u0301vise\u0301"


def test_fuzzy_tolerates_a_small_paraphrase() -> None:
    ev = align_quote("I will send the revised pricing to Dana by Friday", TEXT)
    assert ev.alignment is AlignmentStatus.FUZZY
    assert ev.quote == "I’ll send the revised pricing to Dana by Friday"


def test_elided_quote_spans_both_ends() -> None:
    ev = align_quote("I’ll send the revised pricing ... by Friday", TEXT)
    assert ev.grounded
    assert ev.quote == "I’ll send the revised pricing to Dana by Friday"


@pytest.mark.parametrize(
    "quote",
    [
        "I will fly the contract to the moon tomorrow.",
        "We will send the signed MSA to Priya by Monday",
        "ok",
        "",
    ],
)
def test_hallucinated_quotes_do_not_align(quote: str) -> None:
    ev = align_quote(quote, TEXT)
    assert ev.alignment is AlignmentStatus.NONE
    assert ev.char_start is None and not ev.grounded


def test_within_prefers_the_occurrence_in_range() -> None:
    text = "I'll call you. Later: I'll call you."
    aligner = Aligner(text)
    assert aligner.evidence("I'll call you", within=(15, len(text))).char_start == 22
    assert aligner.evidence("I'll call you").char_start == 0


def test_cjk_fuzzy_offsets() -> None:
    text = "会議の後で、私が来週までに見積もりを送ります。よろしくお願いします。"
    ev = align_quote("私が来週までに見積りを送ります", text)
    assert ev.grounded
    assert ev.char_start is not None and text[ev.char_start : ev.char_end].startswith("私が来週")
