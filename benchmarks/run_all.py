"""Run every benchmark, one after the other: ``make bench``.

    python benchmarks/run_all.py [--quick]

``--quick`` uses small sizes (a smoke run, not numbers to report). Each
benchmark prints its own figures and the baseline it measured in the same run;
this script only sequences them and reports which ones missed their target.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

FULL = [
    ["crm_import.py"],
    ["api.py"],
    ["end_to_end.py", "--sizes", "1000,10000,100000"],
    ["meetings.py", "--meetings", "75", "--max-seconds", "120"],
    ["offline_throughput.py", "--min-rate", "500"],
    ["llm_throughput.py"],
    ["llm_prefilter.py"],
    ["query.py"],
    ["generalization.py"],
    ["cli_start.py"],
]
QUICK = [
    ["crm_import.py", "--rows", "10000"],
    ["api.py", "--quick", "--only", "sqlite"],
    ["end_to_end.py", "--quick", "--min-rate", "0", "--max-rerun", "1"],
    ["meetings.py", "--quick"],
    ["offline_throughput.py", "--messages", "500"],
    ["llm_throughput.py", "--n", "100", "--no-langextract"],
    ["llm_prefilter.py"],
    ["query.py", "--rows", "20000", "--deals", "500", "--repeat", "5", "--only", "sqlite"],
    ["generalization.py", "--quick"],
    ["cli_start.py", "--runs", "5"],
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    args = ap.parse_args()
    failed = []
    for cmd in QUICK if args.quick else FULL:
        print(f"\n=== {' '.join(cmd)}", flush=True)
        rc = subprocess.call([sys.executable, str(HERE / cmd[0]), *cmd[1:]])
        if rc != 0:
            failed.append(f"{cmd[0]} (exit {rc})")
    print("\n=== " + ("all benchmarks met their targets" if not failed else "missed: " + ", ".join(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
