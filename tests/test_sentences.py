"""Sentence segmentation with exact offsets, on ASCII and non-ASCII text."""

from __future__ import annotations

from extractor.offline.sentences import sentences, split_sentences


def _check_offsets(text: str) -> list[str]:
    spans = split_sentences(text)
    out = []
    for a, b in spans:
        piece = text[a:b]
        assert piece == piece.strip()
        assert piece
        out.append(piece)
    assert [a for a, _ in spans] == sorted(a for a, _ in spans)
    return out


def test_basic_split_and_abbreviations() -> None:
    text = "Thanks for the call. I'll send the pricing by Friday, e.g. the 3-year option. Mr. Smith agreed!"
    assert _check_offsets(text) == [
        "Thanks for the call.",
        "I'll send the pricing by Friday, e.g. the 3-year option.",
        "Mr. Smith agreed!",
    ]


def test_lines_and_paragraphs() -> None:
    text = "Hi Dana,\n\nCan you confirm the SSO setup? thanks\nRegards,\nMarco"
    assert _check_offsets(text) == [
        "Hi Dana,",
        "Can you confirm the SSO setup?",
        "thanks",
        "Regards,",
        "Marco",
    ]


def test_hard_wrapped_lines_are_joined() -> None:
    text = (
        "This is a long line that was hard-wrapped by the mail client at seventy\n"
        "characters so it continues here. And 3.5 percent is fine."
    )
    got = _check_offsets(text)
    assert got[0].startswith("This is a long line") and got[0].endswith("continues here.")
    assert got[1] == "And 3.5 percent is fine."


def test_bullets_start_new_sentences() -> None:
    text = "Action items:\n- Marco: send the SOC 2 report\n- Priya to schedule the follow-up next week"
    assert _check_offsets(text) == [
        "Action items:",
        "- Marco: send the SOC 2 report",
        "- Priya to schedule the follow-up next week",
    ]


def test_non_ascii_offsets() -> None:
    text = (
        "Zoë Müller: Über die Änderung — wir schicken den Vertrag morgen. Danke! "
        + "会議は金曜日です。資料を送ります。"
    )
    got = _check_offsets(text)
    assert got == [
        "Zoë Müller: Über die Änderung — wir schicken den Vertrag morgen.",
        "Danke!",
        "会議は金曜日です。",
        "資料を送ります。",
    ]
    emoji = "🎉 Great news! I'll send the deck 📎 tomorrow."
    assert _check_offsets(emoji) == ["🎉 Great news!", "I'll send the deck 📎 tomorrow."]


def test_url_line_is_not_joined() -> None:
    text = "Example set: http://www.example.com/wai/wcag/sam1-0.htm\nPlease note that the page will move."
    assert sentences(text) == [
        "Example set: http://www.example.com/wai/wcag/sam1-0.htm",
        "Please note that the page will move.",
    ]


def test_empty() -> None:
    assert split_sentences("") == []
    assert split_sentences("  \n\n ") == []
