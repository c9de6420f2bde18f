"""Whether a function's time grows at most linearly with the size of its input, as a ratio.

:func:`superlinear` times ``fn(make(n))`` at growing sizes (10 kB, 100 kB, 1 MB by default) and
compares each step with the one before: ten times the input may take at most ``10 * slack`` times
as long. Only ratios measured in the same test are compared, never absolute seconds. Timer noise
on a busy machine is kept out three ways: each time is the best of a few calls, a time under
``floor_s`` counts as ``floor_s`` (a fast function's first steps say nothing), and a step that looks
too slow is measured again, both sizes interleaved, before it fails.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

SIZES = (10_000, 100_000, 1_000_000)
SLACK = 3.0
FLOOR_S = 0.03
"""Under 30 ms a step says nothing: on a machine running other tests, a few ms of noise is a ratio."""


def best_time(fn: Callable[[T], object], arg: T, *, repeat: int = 3, enough_s: float = 1.0) -> float:
    """The best wall time of up to ``repeat`` calls ``fn(arg)``, in seconds (one call once one takes
    ``enough_s``: a slow call is measured well enough by itself)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn(arg)
        best = min(best, time.perf_counter() - start)
        if best >= enough_s:
            break
    return best


def superlinear(
    fn: Callable[[T], object],
    make: Callable[[int], T],
    *,
    sizes: tuple[int, ...] = SIZES,
    slack: float = SLACK,
    floor_s: float = FLOOR_S,
) -> str | None:
    """``None`` when ``fn(make(n))`` grows at most linearly over ``sizes``; else what grew too fast.

    A step from size ``a`` to ``b`` passes when ``t(b) <= (b / a) * slack * max(t(a), floor_s)``.
    """
    first = make(sizes[0])
    fn(first)  # first use: imports, caches and lazy loads are no part of any step
    small, t_small = first, best_time(fn, first)
    for a, b in zip(sizes, sizes[1:], strict=False):
        big = make(b)  # made and timed only once the step before passed: a quadratic function stops early
        t_big = best_time(fn, big)
        allowed = b / a * slack
        if t_big > allowed * max(t_small, floor_s):
            for _ in range(2):  # again, interleaved: a busy machine slows both sizes alike
                t_small = min(t_small, best_time(fn, small))
                t_big = min(t_big, best_time(fn, big, repeat=1))
        if t_big > allowed * max(t_small, floor_s):
            growth = t_big / max(t_small, floor_s)
            return (
                f"{a:,} -> {b:,} characters took {t_small * 1e3:.1f} -> {t_big * 1e3:.1f} ms "
                f"({growth:.0f}x; at most {allowed:.0f}x)"
            )
        small, t_small = big, t_big
    return None
