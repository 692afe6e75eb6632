"""`make bench`: every benchmark, each measuring its own baseline in the same run.

Prints one line per figure: `name: value unit (ratio× baseline)`; JSON with machine facts
goes to var/bench/. Loads are bounded in count and time and stay on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import importlib
import sys

from bench.harness import report

BENCHMARKS = ["hot_lot", "many_lots", "snapshot", "fanout", "stats", "disclosure", "contract"]


def main(names: list[str]) -> int:
    failed = 0
    for name in names or BENCHMARKS:
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError as exc:
            print(f"{name}: not available ({exc})", flush=True)
            continue
        print(f"# {name}", flush=True)
        try:
            report(asyncio.run(module.main()), name)
        except Exception as exc:  # one broken benchmark does not hide the others
            failed += 1
            print(f"{name}: failed: {exc!r}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
