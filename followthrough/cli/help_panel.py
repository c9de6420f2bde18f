"""Option tables in ``--help`` that keep every word whole, environment variable names included.

typer draws an options panel in six columns (long names, short names, negative long, negative short,
value, help). At 80 columns that leaves the help about 20 characters, and rich cuts a longer word
with "…" (``FOLLOWTHROUGH_EXTRAC…``). :func:`install` swaps typer's panel for one of three columns:
the option's names (``--prefilter`` with its negative ``--no-prefilter`` on the next line), its value
(``DATE``, ``N [x>=1]``), and the help, which takes the rest of the width. At 80 columns the help keeps
30 characters or more, enough for the longest name we document (``FOLLOWTHROUGH_SLACK_WEBHOOK_URL``);
on a terminal too narrow even for that, a long word folds onto the next line instead of being cut.

Only the layout changes: the help text, default, required mark and styles are typer's own.

:func:`reflow` does the same for a command's description: typer keeps the single line breaks of the
paragraphs after the first, so a docstring wrapped at 110 columns broke mid-sentence on an 80-column
terminal.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["install", "reflow"]

_installed = False
_SENTENCE_END = (".", ":", "!", "?")
_LITERAL = re.compile(r"``(.+?)``", re.DOTALL)


def reflow(text: str | None) -> str | None:
    """``text`` (a command's help) with the line breaks inside its paragraphs taken out, except after
    the end of a sentence (``.``, ``:``, ``!``, ``?``); paragraphs (blank lines) and ``\b`` paragraphs
    (click's "keep as written") are left as they are. A docstring's literal (two backticks on each side)
    is shown as the help quotes a command elsewhere, in single backticks. ``None`` stays ``None``."""
    if not text:
        return text
    text = _LITERAL.sub(r"`\1`", text)
    paragraphs = []
    for paragraph in text.split("\n\n"):
        if paragraph.lstrip().startswith("\b"):
            paragraphs.append(paragraph)
            continue
        lines = [line.strip() for line in paragraph.strip("\n").split("\n")]
        joined = lines[0]
        for line in lines[1:]:
            joined += ("\n" if joined.endswith(_SENTENCE_END) else " ") + line
        paragraphs.append(joined)
    return "\n\n".join(paragraphs)


def _names(param: Any) -> Any:
    """``--database, --db`` (and ``-q``) on one line, the negative form (``--no-wait``) on the next."""
    from typer import rich_utils  # noqa: PLC0415 - help only: keeps rich out of start-up
    from typer.core import TyperArgument  # noqa: PLC0415

    if isinstance(param, TyperArgument):
        shown = param.display_name_raw or ""
        if param.nargs != 1 and not shown.endswith("..."):
            shown += "..."
        return rich_utils.highlighter(shown)
    first = [o for o in param.opts if o.startswith("--")] + [o for o in param.opts if not o.startswith("--")]
    text = rich_utils.highlighter(", ".join(first))
    if param.secondary_opts:
        text.append("\n")
        text.append_text(rich_utils.negative_highlighter(", ".join(param.secondary_opts)))
    return text


def _value(param: Any, ctx: Any) -> Any:
    from rich.text import Text  # noqa: PLC0415
    from typer import rich_utils  # noqa: PLC0415

    text = Text(style=rich_utils.STYLE_TYPES, overflow="fold")
    shown = param.display_type_rich(ctx=ctx)
    if shown is not None:
        text.append(shown)
    ranged = param._get_number_range_help_str()  # noqa: SLF001 - typer's own wording of a range
    if ranged:
        text.append(rich_utils.RANGE_STRING.format(ranged))
    return rich_utils.types_highlighter(text)


def _help(param: Any, ctx: Any, markup_mode: Any) -> Any:
    """typer's help cell (text, env, default, required) as one text that folds rather than cuts."""
    from rich.text import Text  # noqa: PLC0415
    from typer import rich_utils  # noqa: PLC0415

    cell = rich_utils._get_parameter_help(param=param, ctx=ctx, markup_mode=markup_mode)  # noqa: SLF001
    parts = list(getattr(cell, "renderables", [cell]))
    if not all(isinstance(p, Text) for p in parts):
        return cell  # Markdown help: left as typer draws it
    return Text(" ", overflow="fold").join(parts)


def _options_panel(*, name: str, params: list[Any], ctx: Any, markup_mode: Any, console: Any) -> None:
    """typer's ``_print_options_panel`` in three columns: names, value, help (see the module docstring)."""
    from rich import box  # noqa: PLC0415
    from rich.panel import Panel  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415
    from rich.text import Text  # noqa: PLC0415
    from typer import rich_utils  # noqa: PLC0415

    if not params:
        return
    required = any(p.required for p in params)
    table = Table(
        highlight=True,
        show_header=False,
        expand=True,
        box=getattr(box, rich_utils.STYLE_OPTIONS_TABLE_BOX, None),
        show_lines=rich_utils.STYLE_OPTIONS_TABLE_SHOW_LINES,
        leading=rich_utils.STYLE_OPTIONS_TABLE_LEADING,
        border_style=rich_utils.STYLE_OPTIONS_TABLE_BORDER_STYLE,
        row_styles=rich_utils.STYLE_OPTIONS_TABLE_ROW_STYLES,
        pad_edge=rich_utils.STYLE_OPTIONS_TABLE_PAD_EDGE,
        padding=rich_utils.STYLE_OPTIONS_TABLE_PADDING,
    )
    if required:
        table.add_column(no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column(ratio=1, overflow="fold")
    for param in params:
        row = [_names(param), _value(param, ctx), _help(param, ctx, markup_mode)]
        if required:
            mark = rich_utils.REQUIRED_SHORT_STRING if param.required else ""
            row.insert(0, Text(mark, style=rich_utils.STYLE_REQUIRED_SHORT))
        table.add_row(*row)
    console.print(
        Panel(
            table,
            border_style=rich_utils.STYLE_OPTIONS_PANEL_BORDER,
            title=name,
            title_align=rich_utils.ALIGN_OPTIONS_PANEL,
        )
    )


def install() -> None:
    """Draw every command's options panel with :func:`_options_panel` from now on (idempotent)."""
    global _installed
    if _installed:
        return
    from typer import rich_utils  # noqa: PLC0415

    rich_utils._print_options_panel = _options_panel  # noqa: SLF001 - typer has no hook for the layout
    _installed = True
