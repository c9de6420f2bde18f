"""The root command group: commands loaded when run, global options anywhere, readable help.

:class:`RootGroup` is the click group behind ``followthrough`` (``typer.Typer(cls=RootGroup)``):

- **Lazy commands.** A command listed in :data:`LAZY` (``Lazy(name, module, summary)``) is imported
  only when it runs, so ``followthrough --version`` and ``--help`` never load the pipeline, the store
  or SQLAlchemy. ``--help`` lists its one-line ``summary`` (a test keeps it equal to the command's own).
  Its module either has ``register(app)`` (commands added to a Typer app) or, for a command group such as
  ``commitments``, a Typer app in the attribute ``typer_app``. Commands registered the usual way
  (``app.command``, ``app.add_typer``) still work; they are just imported with the CLI.
- **Global options anywhere.** Every command (and every command of a group) also takes the root's
  options (``--as-of``, ``--database``, ``--company-domains``, ``--quiet``), shown in its help under
  "Global options": ``followthrough commitments list --overdue --as-of 2026-03-16`` is
  ``followthrough --as-of 2026-03-16 commitments list --overdue``. They are read before the command's
  own options, so a date phrase (``--due-before friday``) resolves against that ``--as-of``.
- **Readable help.** A value's placeholder is its name in capitals (``--owner OWNER``), never a
  Python type (``<str>``, ``<list[Path]>``); a flag shows none. Options panels are drawn by
  :mod:`followthrough.cli.help_panel`, which never cuts a word (an environment variable's name) at 80
  columns.
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import typer
import typer.main
from typer.core import TyperArgument, TyperGroup, TyperOption

from followthrough.cli import help_panel, params

__all__ = ["GLOBAL_PANEL", "LAZY", "Lazy", "RootGroup", "load"]

GLOBAL_PANEL = "Global options"
"""The help panel a command lists the root's options under."""

_ROOT_ONLY = {"--version", "--help", "--install-completion", "--show-completion"}
"""Root options that stay where they are (not copied onto every command)."""


@dataclass(frozen=True)
class Lazy:
    """A command imported only when it runs.

    ``name``: as typed. ``module``: where it is defined. ``summary``: the one line ``--help`` lists.
    ``typer_app``: the module attribute holding a Typer app of subcommands (a group), or ``None`` when
    the module's ``register(app)`` adds the command (with others: each one gets its own entry).
    """

    name: str
    module: str
    summary: str
    typer_app: str | None = None


LAZY: list[Lazy] = []
"""The lazily loaded commands, in the order ``--help`` lists them (filled by :mod:`followthrough.cli`)."""


def load(entry: Lazy) -> Any:
    """The click command ``entry`` names, its module imported now."""
    module = importlib.import_module(entry.module)
    if entry.typer_app is not None:
        group = typer.main.get_group(getattr(module, entry.typer_app))
        group.name = entry.name
        return group
    holder = typer.Typer(rich_markup_mode="rich")
    module.register(holder)
    return typer.main.get_group(holder).commands[entry.name]


@contextmanager
def _plain_usage_errors() -> Iterator[None]:
    """A usage error (a bad value) raised inside, worded by :func:`params.plain_message` (no pydantic
    "Value error, " nor Python type names); it still exits 2."""
    try:
        yield
    except typer.BadParameter as e:
        e.message = params.plain_message(e.message, e.param, e.__cause__)
        raise


def _walk(command: Any) -> Iterator[Any]:
    yield command
    for sub in getattr(command, "commands", {}).values():
        yield from _walk(sub)


def _lift(name: str) -> Callable[[Any, Any, Any], None]:
    """A callback that hands a global option given after the command to the root's state object."""

    def callback(ctx: Any, _param: Any, value: Any) -> None:
        if value is None or value is False:
            return
        obj = ctx.find_root().obj
        if obj is not None and hasattr(obj, "lift"):
            obj.lift(name, value)

    return callback


def _no_type(ctx: Any) -> None:
    return None


def _drawn_by_help_panel(command: Any) -> Callable[[Any, Any], None]:
    """``command.format_help`` drawing options panels with :mod:`.help_panel`, its description reflowed."""
    format_help = command.format_help

    def wrapped(ctx: Any, formatter: Any) -> None:
        help_panel.install()
        command.help = help_panel.reflow(command.help)
        format_help(ctx, formatter)

    return wrapped


def readable(param: Any) -> None:
    """Give ``param`` a placeholder people read: its name in capitals, nothing on a flag, choices as
    they are; typer's default is the Python type (``<str>``)."""
    if isinstance(param, TyperOption) and param.metavar is None:
        if param.is_flag or param.count:
            param.metavar = ""
        elif getattr(param.type_descriptor, "is_ranged", False) or param.type_descriptor.annotation in (
            int,
            float,
        ):
            param.metavar = "N"  # short: the help column keeps room for whole environment variable names
        elif not getattr(param.type_descriptor, "is_choice", False) or param.multiple:
            param.metavar = (param.name or "value").upper().strip("_")  # <list[a|b]>: the help names them
    elif isinstance(param, TyperArgument):
        # its name already says what it is (typer would add <list[Path]>)
        setattr(param, "display_type_rich", _no_type)  # noqa: B010 - mypy refuses assigning to a method
        if param.metavar is None:
            param.metavar = (param.name or "value").upper().strip("_")
        setattr(param, "_usage_display_name", _usage_name(param))  # noqa: B010 - as above


def _usage_name(param: Any) -> Callable[[], str]:
    """An argument as the usage line shows it: ``ID``, ``[NAME]`` when optional, ``PATH...`` when it
    takes several (typer's own is ``{cid}``, the Python name in braces)."""

    def shown() -> str:
        name = str(param.metavar)
        if param.nargs != 1 and not name.endswith("..."):
            name += "..."
        return name if param.required else f"[{name}]"

    return shown


class RootGroup(TyperGroup):
    """``followthrough``: see the module docstring."""

    _listing = False
    _done: set[int]

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._done = set()
        self._loaded: dict[str, Any] = {}
        for param in self.params:
            readable(param)

    def list_commands(self, ctx: Any) -> list[str]:
        eager = super().list_commands(ctx)
        return [*(e.name for e in LAZY if e.name not in eager), *eager]

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        with _plain_usage_errors():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: Any) -> Any:
        with _plain_usage_errors():
            return super().invoke(ctx)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is None:
            entry = next((e for e in LAZY if e.name == cmd_name), None)
            if entry is None:
                return None
            if self._listing and cmd_name not in self._loaded:
                return typer.core.TyperCommand(cmd_name, help=entry.summary, short_help=entry.summary)
            command = self._loaded.get(cmd_name)
            if command is None:
                command = self._loaded[cmd_name] = load(entry)
        self._prepare(command, ctx)
        return command

    def format_help(self, ctx: Any, formatter: Any) -> None:
        help_panel.install()
        for param in self.get_params(ctx):  # --help and the completion options are added late
            readable(param)
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def _globals(self) -> list[Any]:
        out = []
        for param in self.params:
            if not isinstance(param, TyperOption) or set(param.opts) & _ROOT_ONLY:
                continue
            lifted = copy.copy(param)
            lifted.expose_value = False
            lifted.is_eager = True  # read first: a date phrase resolves against a later --as-of
            lifted.callback = _lift(param.name or "")
            lifted.rich_help_panel = GLOBAL_PANEL
            lifted.envvar = None
            out.append(lifted)
        return out

    def _prepare(self, command: Any, ctx: Any) -> None:
        """Once per command: readable placeholders, and the global options on it and its subcommands."""
        if id(command) in self._done:
            return
        self._done.add(id(command))
        lifted = self._globals()
        for cmd in _walk(command):
            cmd.format_help = _drawn_by_help_panel(cmd)
            for param in [*cmd.params, cmd.get_help_option(ctx)]:
                readable(param)
            taken = {o for p in cmd.params for o in (*p.opts, *p.secondary_opts)}
            cmd.params.extend(p for p in lifted if not (set(p.opts) | set(p.secondary_opts)) & taken)
