"""Tables that fit the terminal: the column people read gets the width, the ids they type are never cut.

A listing is declared as :class:`Column` values and laid out by rich
(:func:`fitted_table`). One column *grows* (rich's ``ratio``): it takes the
width the others leave, at least its ``min_width``, and wraps (the action,
read in full). The others are as wide as their longest cell: never cut
(ids, statuses, dates, numbers), or, given a ``max_width``, at most that
wide and ending in an ellipsis (names). When the terminal is too narrow for
every column at its least, the columns marked ``drop`` are left out, ``1``
first, rather than cutting an id or squeezing the column people read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.console import JustifyMethod
from rich.markup import escape
from rich.table import Table

__all__ = ["NAME_MIN_WIDTH", "Column", "fitted_table"]

NAME_MIN_WIDTH = 16
"""The fewest character cells a growing name column (a deal's, an account's) gets: a name wraps
over a few lines, never one word a line."""

_PADDING = 2
"""Cells each column adds around its text (rich's default padding: one each side)."""
_BORDER = 1
"""Cells each border line between (and around) columns takes."""


@dataclass(frozen=True)
class Column:
    """One column of a listing: its header, its cells (plain text: escaped here), its layout."""

    header: str
    cells: Sequence[str]
    grow: bool = False
    """Takes the width the other columns leave and wraps its text (one column per table)."""
    min_width: int = 1
    """For the growing column: the fewest character cells it gets."""
    max_width: int | None = None
    """For another column: at most this many cells, a longer text ends in an ellipsis; ``None``: never cut."""
    drop: int = 0
    """Left out when the terminal is too narrow for every column: ``1`` first, then ``2``...; ``0`` never."""
    justify: JustifyMethod = "left"

    @property
    def least(self) -> int:
        """Character cells it needs at the least, its padding and one border included."""
        if self.grow:
            text = self.min_width
        else:
            text = max([cell_len(self.header), *(cell_len(c) for c in self.cells)])
            if self.max_width is not None:
                text = min(text, self.max_width)
        return text + _PADDING + _BORDER


def fitted_table(
    title: str, columns: Sequence[Column], width: int, *, row_styles: Sequence[str | None] = ()
) -> Table:
    """A rich table of ``columns`` as wide as ``width`` (the terminal's columns), rows in cell order.

    Columns with a ``drop`` rank are left out, lowest rank first, while the others do not fit at their
    least (:attr:`Column.least`). Every column must hold as many cells as the first. ``row_styles``:
    a rich style per row (``"bold"``; ``None`` for none), or empty for none at all.
    """
    kept = list(columns)
    for rank in sorted({c.drop for c in columns if c.drop}):
        if sum(c.least for c in kept) + _BORDER <= width:
            break
        kept = [c for c in kept if c.drop != rank]
    table = Table(title=title, title_justify="left", expand=True)
    for c in kept:
        if c.grow:
            table.add_column(c.header, ratio=1, min_width=c.min_width, overflow="fold", justify=c.justify)
        elif c.max_width is not None:
            table.add_column(
                c.header, no_wrap=True, max_width=c.max_width, overflow="ellipsis", justify=c.justify
            )
        else:
            table.add_column(
                c.header, no_wrap=True, min_width=c.least - _PADDING - _BORDER, justify=c.justify
            )
    rows = list(zip(*(c.cells for c in kept), strict=True))
    styles = list(row_styles) or [None] * len(rows)
    for row, style in zip(rows, styles, strict=True):
        table.add_row(*map(escape, row), style=style)
    return table
