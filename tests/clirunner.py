"""Run the real ``followthrough`` command in a subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def followthrough(
    *args: str | Path, db: Path | str | None = None, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ)
    if db is not None:
        full_env["FOLLOWTHROUGH_DATABASE_URL"] = db if isinstance(db, str) else f"sqlite:///{db}"
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "followthrough", *map(str, args)],
        cwd=REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
