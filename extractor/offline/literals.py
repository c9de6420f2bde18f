"""Literal prefilters for regular expressions: the substrings any match must contain.

Python's :mod:`re` tries a pattern at every position of a sentence; most cue patterns of
:mod:`.cues` match few sentences, and most sentences hold none of the words a pattern is made of.
:func:`required_literals` reads a pattern's syntax tree once and returns a set of lower-case
strings such that every match contains at least one of them (the classic "prefilter" of RE2 and of
code-search engines), or ``None`` when no such set is known. :class:`Prefiltered` then skips the
search when the (lower-cased) text holds none of them.

The test is exact, never a heuristic: a text the prefilter rejects cannot match. It is applied only
to ASCII text, where lower-casing and :data:`re.IGNORECASE` agree (case folding pairs a few
non-ASCII letters with ASCII ones — the Kelvin sign with ``k``, the long s with ``s``, the dotless
i with ``i`` — which a plain substring test would miss); other text is always searched.

The syntax tree comes from :mod:`re._parser`, the parser :func:`re.compile` itself uses. Should it
ever read a pattern differently (another Python), :func:`required_literals` returns ``None`` for
what it does not know and the pattern is simply searched every time.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Collection, Iterable, Iterator, Sequence
from itertools import product
from typing import Any

_c: Any = None
_p: Any = None
try:  # the parser behind re.compile (Python 3.11+; private, so typeshed has no stubs for it)
    _c = importlib.import_module("re._constants")
    _p = importlib.import_module("re._parser")
except ImportError:  # pragma: no cover - another Python: no prefilters, every text searched
    pass

_MAX_SET = 64
"""Most alternatives a literal set keeps (a bigger one is read as "unknown")."""
_MAX_KEYS = 96
"""Most alternatives a prefilter keeps (testing more costs about what the search it saves does)."""
_MAX_CLASS = 12
"""Most characters a character class may list to be read as alternatives."""

_Strings = frozenset[str]


def _chars(items: Sequence[tuple[Any, Any]]) -> _Strings | None:
    """The characters a class ``[...]`` lists, lower-cased, when it lists only a few ASCII ones."""
    out: set[str] = set()
    for op, arg in items:
        if op is _c.LITERAL and arg < 128:
            out.add(chr(arg).lower())
        elif op is _c.RANGE and arg[1] < 128 and arg[1] - arg[0] < _MAX_CLASS:
            out.update(chr(i).lower() for i in range(arg[0], arg[1] + 1))
        else:
            return None  # a negation, a category (\w, \s) or a non-ASCII character: unknown
    return frozenset(out) if 0 < len(out) <= _MAX_CLASS else None


def _concat(sets: Iterable[_Strings]) -> _Strings | None:
    """Every concatenation of one string of each set in turn (``None`` past :data:`_MAX_SET`)."""
    out: _Strings = frozenset({""})
    for s in sets:
        if len(out) * len(s) > _MAX_SET:
            return None
        out = frozenset(a + b for a, b in product(out, s))
    return out


_LONG_ENOUGH = 6
"""An alternative this long is rare enough: past it, fewer alternatives make the better prefilter."""


def _score(s: _Strings) -> tuple[int, int]:
    """Better prefilters first: the shortest alternative longest (up to :data:`_LONG_ENOUGH`), then
    the fewest alternatives."""
    return (min(_LONG_ENOUGH, min(len(x) for x in s)), -len(s))


def _minimal(s: _Strings) -> _Strings:
    """``s`` without the strings that contain another of its strings (that one is in the text too)."""
    return frozenset(x for x in s if not any(y != x and y in x for y in s))


def _best(candidates: Iterable[_Strings | None]) -> _Strings | None:
    usable = [c for c in candidates if c and "" not in c]
    return _minimal(max(usable, key=_score)) if usable else None


class _Node:
    """What one piece of a pattern says: ``exact``, every string it can match (when few and known),
    and ``required``, a set one of which each of its matches contains (``None``: unknown)."""

    __slots__ = ("exact", "required")

    def __init__(self, exact: _Strings | None, required: _Strings | None) -> None:
        self.exact = exact
        self.required = required if required is not None else _best([exact])


def _runs(exact: Sequence[_Strings | None]) -> Iterator[_Strings]:
    """Stretches of consecutive pieces of known strings, as the strings each matches (while few).

    A stretch is yielded only when it is a better prefilter than the shorter one it extends (its
    shortest string is longer; extending never lowers the number of alternatives)."""
    shortest = [min(len(x) for x in s) if s else 0 for s in exact]
    for i in range(len(exact)):
        if not shortest[i]:
            continue  # a stretch starting here is no better than one starting at the next piece
        out: _Strings = frozenset({""})
        length = 0
        for j in range(i, len(exact)):
            s = exact[j]
            if s is None or len(out) * len(s) > _MAX_SET:
                break
            out = frozenset(a + b for a, b in product(out, s))
            if shortest[j]:
                length += shortest[j]
                yield out
            if length >= _LONG_ENOUGH:
                break  # longer stretches only add alternatives


def _sequence(items: Sequence[tuple[Any, Any]]) -> _Node:
    nodes = [_item(op, arg) for op, arg in items]
    candidates: list[_Strings | None] = [n.required for n in nodes]
    candidates.extend(_runs([n.exact for n in nodes]))
    known = [n.exact for n in nodes if n.exact is not None]
    exact = _concat(known) if len(known) == len(nodes) else None
    return _Node(exact, _best([exact, *candidates]))


def _item(op: Any, arg: Any) -> _Node:
    if op is _c.LITERAL:
        return _Node(frozenset({chr(arg).lower()}) if arg < 128 else None, None)
    if op is _c.IN:
        return _Node(_chars(arg), None)
    if op in (_c.AT, _c.ASSERT, _c.ASSERT_NOT):
        return _Node(frozenset({""}), None)  # zero-width: adds nothing to the text matched
    if op is _c.SUBPATTERN:
        return _sequence(arg[-1])
    if op is _c.ATOMIC_GROUP:
        return _sequence(arg)
    if op is _c.BRANCH:
        branches = [_sequence(b) for b in arg[1]]
        exact: _Strings | None = None
        if all(b.exact is not None for b in branches):
            exact = frozenset().union(*(b.exact for b in branches if b.exact is not None))
            exact = exact if len(exact) <= _MAX_SET else None
        required: _Strings | None = None
        if all(b.required is not None for b in branches):
            required = _minimal(frozenset().union(*(b.required for b in branches if b.required is not None)))
            required = required if len(required) <= _MAX_KEYS else None
        return _Node(exact, required)
    if op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT):
        low, high, sub = arg
        inner = _sequence(sub)
        if low == 0:
            optional = inner.exact | {""} if high == 1 and inner.exact is not None else None
            return _Node(optional, None)
        return _Node(inner.exact if low == high == 1 else None, inner.required)
    return _Node(None, None)  # any character, a back reference, a conditional: unknown


def required_literals(rx: re.Pattern[str]) -> frozenset[str] | None:
    """Lower-case strings one of which every match of ``rx`` contains, or ``None`` when unknown.

    Sound for :data:`re.IGNORECASE` patterns and plain ones alike when the text is ASCII and is
    compared lower-cased (see the module docstring)."""
    if _p is None or rx.flags & re.VERBOSE:
        return None
    try:
        tree = _p.parse(rx.pattern, rx.flags)
    except Exception:  # pragma: no cover - a parser that reads the pattern otherwise: no prefilter
        return None
    return _sequence(list(tree)).required


class Prefiltered:
    """``rx`` with its :func:`required_literals`: :meth:`possible` says whether it can match a text.

    The literals are worked out on first use (a process that never reads a sentence pays nothing)."""

    __slots__ = ("rx", "_keys")

    def __init__(self, rx: re.Pattern[str]) -> None:
        self.rx = rx
        self._keys: frozenset[str] | None = None

    @property
    def keyset(self) -> frozenset[str]:
        """The required literals; empty when none are known (every text is searched)."""
        if self._keys is None:
            self._keys = required_literals(self.rx) or frozenset()
        return self._keys

    @property
    def keys(self) -> tuple[str, ...]:
        """:attr:`keyset`, sorted."""
        return tuple(sorted(self.keyset))

    def possible(self, text: str, low: str) -> bool:
        """False only when ``rx`` cannot match ``text`` (``low``: ``text`` lower-cased)."""
        keys = self.keyset
        if not keys or not text.isascii():
            return True
        for k in keys:
            if k in low:
                return True
        return False


def _trie_pattern(keys: Collection[str]) -> str:
    """One pattern that matches, at a position, the longest of ``keys`` that starts there.

    The keys are laid out as a trie (``ab(?:c|d)?``): a position is read once down one branch, not
    once per key, and an optional tail is tried before the shorter key that ends where it begins."""
    trie: dict[str, Any] = {}
    for k in keys:
        node = trie
        for ch in k:
            node = node.setdefault(ch, {})
        node[""] = {}

    def render(node: dict[str, Any]) -> str:
        ends = "" in node
        branches = [re.escape(ch) + render(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if ends:
            return f"(?:{body})?" if len(branches) > 1 or len(branches[0]) > 1 else body + "?"
        return body

    return render(trie)


class KeyScan:
    """Which of many literal keys occur in a text, found in one pass.

    Every position's longest key is found (:func:`_trie_pattern` inside a lookahead, so keys may
    overlap); a key occurs exactly when it is a prefix of a key found at the same position, so each
    found key stands for all of its prefixes among the keys."""

    def __init__(self, keys: Iterable[str]) -> None:
        known = sorted({k for k in keys if k})
        self._rx = re.compile("(?=(" + _trie_pattern(known) + "))") if known else None
        self._closure = {k: frozenset(p for p in known if k.startswith(p)) for k in known}

    def present(self, low: str) -> frozenset[str]:
        """The keys that occur in ``low`` (compared as is: the caller lower-cases)."""
        if self._rx is None:
            return frozenset()
        found = {m.group(1) for m in self._rx.finditer(low)}
        found.discard("")
        if not found:
            return frozenset()
        return frozenset().union(*(self._closure[k] for k in found))
