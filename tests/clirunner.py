"""Run the ``followthrough`` command as a user would: in-process by default, in a subprocess for smoke tests.

:func:`followthrough` calls the console entry point :func:`followthrough.cli.main` inside this process
(with ``typer.testing.CliRunner``'s isolation of stdin, stdout, stderr and ``os.environ``), so the exit
code and the one-line error on stderr are exactly what the installed command gives, without starting
a Python interpreter per call (about a second each). :func:`followthrough_process` starts the real
command (``python -m followthrough``) for what needs a process of its own: signals, locks held by
another process, interpreter start-up. Both return a :class:`CliResult` (``returncode``, ``stdout``,
``stderr``, as :class:`subprocess.CompletedProcess` names them).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from followthrough.cli import main
from tests.conftest import REPO

PROG = "followthrough"
_RUNNER = CliRunner()


@dataclass(frozen=True)
class CliResult:
    """What one command printed and how it ended."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str


def _environment(db: Path | str | None, env: dict[str, str] | None) -> dict[str, str]:
    """The variables a call sets: the database URL from ``db`` (a path is a SQLite file), then ``env``."""
    overrides: dict[str, str] = {}
    if db is not None:
        overrides["FOLLOWTHROUGH_DATABASE_URL"] = db if isinstance(db, str) else f"sqlite:///{db}"
    overrides.update(env or {})
    return overrides


@contextmanager
def _as_command(argv: list[str]) -> Iterator[None]:
    """``sys.argv`` and the working directory of ``followthrough ARGS`` run from the repository root."""
    old_argv, old_cwd = sys.argv, Path.cwd()
    sys.argv = argv
    os.chdir(REPO)
    try:
        yield
    finally:
        sys.argv = old_argv
        os.chdir(old_cwd)


def _exit_status(code: object) -> int:
    """The process exit status ``sys.exit(code)`` gives: ``None`` is 0, an int itself, anything else 1."""
    if code is None:
        return 0
    return code if isinstance(code, int) else 1


def followthrough(
    *args: str | Path, db: Path | str | None = None, env: dict[str, str] | None = None
) -> CliResult:
    """``followthrough ARGS`` in this process, through the console entry point; stdin is empty.

    ``db`` sets ``FOLLOWTHROUGH_DATABASE_URL`` (a :class:`~pathlib.Path` is a SQLite file); ``env`` adds
    variables. Both, and every change the command makes to ``os.environ``, are undone afterwards.
    """
    argv = [PROG, *map(str, args)]
    with _RUNNER.isolation(env=_environment(db, env)) as (out, err, _), _as_command(argv):
        try:
            main()
            status = 0
        except SystemExit as e:
            status = _exit_status(e.code)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
        stdout, stderr = out.getvalue().decode(), err.getvalue().decode()
    return CliResult(args=argv, returncode=status, stdout=stdout, stderr=stderr)


def followthrough_process(
    *args: str | Path, db: Path | str | None = None, env: dict[str, str] | None = None, timeout: float = 300
) -> CliResult:
    """``python -m followthrough ARGS`` in a subprocess of its own (same arguments as :func:`followthrough`).

    Raises :class:`subprocess.TimeoutExpired` after ``timeout`` seconds.
    """
    done = subprocess.run(
        [sys.executable, "-m", PROG, *map(str, args)],
        cwd=REPO,
        env={**os.environ, **_environment(db, env)},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    argv = [PROG, *map(str, args)]
    return CliResult(args=argv, returncode=done.returncode, stdout=done.stdout, stderr=done.stderr)
