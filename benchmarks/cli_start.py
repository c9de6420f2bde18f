"""How fast the command starts: ``--version`` and ``--help`` (a subcommand's too) against a bare interpreter.

    python benchmarks/cli_start.py [--runs 15] [--max-seconds 0.3]

Runs ``python -c pass`` (the baseline: the interpreter alone), ``python -m followthrough --version``,
``--help`` and a group's subcommand help (``commitments list --help``) ``--runs`` times each,
interleaved, and prints each one's median wall time in seconds and its ratio to the baseline. Exits 1
when a command's median is over ``--max-seconds`` (the target is 0.3 s: commands import the pipeline
and the store only when they run).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CASES = {
    "baseline (python -c pass)": ["-c", "pass"],
    "followthrough --version": ["-m", "followthrough", "--version"],
    "followthrough --help": ["-m", "followthrough", "--help"],
    "commitments list --help": ["-m", "followthrough", "commitments", "list", "--help"],
}


def _once(args: list[str]) -> float:
    env = {**os.environ, "COLUMNS": "100"}
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], cwd=REPO, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--max-seconds", type=float, default=0.3)
    opts = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in CASES}
    for args in CASES.values():
        _once(args)  # warm the file cache and the bytecode
    for _ in range(opts.runs):
        for name, args in CASES.items():
            times[name].append(_once(args))
    base = statistics.median(times["baseline (python -c pass)"])
    failed = False
    print(f"CLI start, median of {opts.runs} runs (target: under {opts.max_seconds:.2f} s)")
    for name, values in times.items():
        median = statistics.median(values)
        over = name != "baseline (python -c pass)" and median > opts.max_seconds
        failed |= over
        print(f"  {name:28} {median:7.3f} s  {median / base:5.1f}x baseline{'  OVER TARGET' if over else ''}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
